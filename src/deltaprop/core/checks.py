"""Checks at the public boundary: one place that turns bad input into a clear ValueError.

Inside the core, arrays are trusted; every public entry point passes its inputs
through these helpers once.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
import scipy.sparse as sp

__all__ = ["as_matrix", "as_targets", "as_sample_weight", "as_dtype", "as_rng", "check_nonneg_float",
           "available_memory", "check_memory", "is_sparse"]

_DTYPES = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype) -> np.dtype:
    """The network dtype: 'float32' or 'float64' (or the NumPy types)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def as_rng(seed) -> np.random.Generator:
    """A numpy Generator from a seed (int), a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be a non-negative int, a numpy.random.Generator or None, got {seed!r}")


def check_nonneg_float(value, name: str) -> float:
    """A finite float >= 0, or a ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def is_sparse(values) -> bool:
    """True for a SciPy sparse matrix or sparse array (any format)."""
    return sp.issparse(values)


def _numeric_array(values, name: str) -> np.ndarray:
    if values is None:
        raise ValueError(f"{name} is None; expected an array of numbers")
    if sp.issparse(values):
        raise ValueError(f"{name} is a sparse {values.format.upper()} matrix; a dense array is expected here "
                         f"(convert it with {name}.toarray())")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} could not be read as a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind in "biuf":
        return arr
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has complex dtype {arr.dtype}; expected real numbers")
    if arr.dtype.kind == "O":
        nones = np.argwhere(np.equal(arr, None))
        if nones.size:
            where = ", ".join(str(int(i)) for i in nones[0])
            raise ValueError(f"{name} contains None at [{where}]; expected real numbers")
        try:
            return arr.astype(np.float64)
        except (ValueError, TypeError):
            raise ValueError(f"{name} has dtype object with non-numeric entries; expected real numbers") from None
    raise ValueError(f"{name} has dtype {arr.dtype} ({arr.dtype.kind!r}); expected real numbers")


def _all_finite(arr: np.ndarray) -> bool:
    """True when no NaN or infinity, allocating nothing.

    One pass first: a NaN or an infinity anywhere makes the sum NaN or infinite, so a finite sum
    means finite entries. Only a non-finite sum (or finite values whose sum overflows) pays for
    a second look, with min and max, which propagate NaN and infinity without overflowing.
    """
    if arr.size == 0 or arr.dtype.kind != "f":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum()):
            return True
    return bool(np.isfinite(arr.min()) and np.isfinite(arr.max()))


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not _all_finite(arr):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name} contains {float(arr[tuple(bad)])} at [{where}]; expected finite numbers")


def as_matrix(values, *, name: str, n_cols: int | None, dtype, what: str = "features",
              sparse: bool = False) -> np.ndarray | sp.csr_matrix | sp.csr_array:
    """A 2-D, finite, C-contiguous array of ``dtype`` with ``n_cols`` columns.

    With ``sparse=True`` a SciPy sparse matrix or array (any format) is also taken and
    returned as CSR of ``dtype`` (rows are samples: CSR slices and gathers rows cheaply),
    never densified; only its stored values are checked. Without it, sparse input is
    refused in words.

    Raises ValueError naming ``name`` with what was expected and what came.
    """
    if sparse and sp.issparse(values):
        return _as_sparse_rows(values, name=name, n_cols=n_cols, dtype=dtype, what=what)
    arr = _numeric_array(values, name)
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = " (for one example use x.reshape(1, -1))"
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_{what}), got {arr.ndim}-D shape {arr.shape}{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples; expected at least one row")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ValueError(f"{name} has {arr.shape[1]} {what}, but the network was built for {n_cols}")
    _check_finite(arr, name)
    with np.errstate(over="ignore"):  # reported just below, in words
        out = np.ascontiguousarray(arr, dtype=dtype)
    if out.dtype.itemsize < arr.dtype.itemsize and not _all_finite(out):  # e.g. 1e300 overflows float32
        raise ValueError(f"{name} has values too large for {np.dtype(dtype).name}")
    return out


def _as_sparse_rows(values, *, name: str, n_cols: int | None, dtype, what: str):
    """``as_matrix`` for SciPy sparse input: CSR of ``dtype``, checked on its stored values only."""
    if values.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_{what}), got a {values.ndim}-D sparse array "
                         f"of shape {values.shape}")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} is a sparse matrix of dtype {values.dtype}; expected real numbers")
    if values.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples; expected at least one row")
    if n_cols is not None and values.shape[1] != n_cols:
        raise ValueError(f"{name} has {values.shape[1]} {what}, but the network was built for {n_cols}")
    X = values.tocsr()  # no copy when it is CSR already; CSC, COO, ... are converted in O(nnz)
    if not _all_finite(X.data):
        i = int(np.flatnonzero(~np.isfinite(X.data))[0])
        row = int(np.searchsorted(X.indptr, i, side="right")) - 1
        raise ValueError(f"{name} contains {float(X.data[i])} at [{row}, {int(X.indices[i])}]; expected finite numbers")
    if X.dtype != dtype:
        with np.errstate(over="ignore"):  # reported just below, in words
            X = X.astype(dtype)
        if X.dtype.itemsize < values.dtype.itemsize and not _all_finite(X.data):
            raise ValueError(f"{name} has values too large for {np.dtype(dtype).name}")
    return X


def as_targets(values, *, name: str, n_rows: int, n_cols: int, dtype) -> np.ndarray:
    """Targets Y of shape (n_rows, n_cols); a 1-D vector is accepted when n_cols == 1."""
    arr = _numeric_array(values, name)
    if arr.ndim == 1 and n_cols == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_cols:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_cols}) to match the network's {n_cols} outputs, "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows but X has {n_rows}; expected one target row per example")
    return as_matrix(arr, name=name, n_cols=n_cols, dtype=dtype, what="outputs")


def as_sample_weight(values, *, n_rows: int, dtype, name: str = "sample_weight") -> np.ndarray | None:
    """Non-negative per-example weights of shape (n_rows,), not all zero; None stays None."""
    if values is None:
        return None
    arr = _numeric_array(values, name)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ValueError(f"{name} must have shape ({n_rows},), one weight per example, got shape {arr.shape}")
    _check_finite(arr, name)
    if (arr < 0).any():
        i = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name} must be >= 0, got {float(arr[i])} at [{i}]")
    if not arr.any():
        raise ValueError(f"{name} is all zeros; at least one example must carry weight")
    return np.ascontiguousarray(arr, dtype=dtype)


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_memory(needed: float, what: str) -> None:
    """Refuse, before allocating, work whose estimated memory exceeds what the machine has.

    Raises
    ------
    MemoryError
        Saying what needs how much, and how much is available.
    """
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(f"{what} needs about {_gib(needed)}, but this machine has {_gib(available)} available")
