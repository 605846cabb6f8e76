"""Reading data: CSV with a header, NumPy .npz, MNIST's IDX (also gzipped), and built-in sets.

Every reader returns a :class:`Dataset` of real features and a target column, or
raises ValueError naming the file, the row (as numbered in the file, header = 1) and
the column of the first problem.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import struct
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "read_data", "read_csv", "read_npz", "read_idx", "load_builtin", "builtin_datasets"]

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}


@dataclass
class Dataset:
    """Features and (optionally) a target.

    Attributes
    ----------
    X : ndarray of shape (m, n_features), float64
    y : ndarray of shape (m,) or None
        Labels (ints or strings) or real values, as read.
    feature_names : list of str or None
    target_name : str or None
    source : str
        The file or built-in name it came from.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list | None
    target_name: str | None
    source: str


_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_INT64 = (-(2**63), 2**63 - 1)


def target_column(values: list[str], *, where=None) -> np.ndarray:
    """A target column read from text, keeping labels exactly as written.

    * int64 when every cell is an integer written plainly (``str(int(v)) == v``) that fits int64;
    * text, exactly as written, when any cell is an integer-looking label that would not survive a
      round trip (``"007"``, ``"+7"``, a 20-digit ID), or any cell is not a number;
    * float64 when every cell is a number, all of them finite.

    ``where(i)`` names cell i in messages (file, row, column).

    Raises
    ------
    ValueError
        For a non-finite number (``inf``, ``nan``) among numbers: a regression target must be finite,
        and ``inf`` must not silently become a class of its own.
    """
    ints = []
    for v in values:
        try:
            i = int(v)
        except ValueError:
            break
        if str(i) != v or not _INT64[0] <= i <= _INT64[1]:
            break
        ints.append(i)
    else:
        return np.array(ints, dtype=np.int64)
    if any(_LEADING_ZERO.match(v) for v in values):
        return np.array(values, dtype=object)
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)
    if all(v.lstrip("+-").isdigit() for v in values):  # integers beyond int64: IDs, kept as text
        return np.array(values, dtype=object)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        name = where(i) if where is not None else f"value {i + 1}"
        raise ValueError(f"{name}: {values[i]!r} is not a finite number; a numeric target must be finite")
    return arr


def read_csv(path, target: str | None = None, *, drop_missing: bool = False, columns: list | None = None,
             target_as_text: bool = False) -> Dataset:
    """Read a CSV file with a header row.

    Parameters
    ----------
    path : str
    target : str, optional
        Name of the target column; every other column is a feature.
    drop_missing : bool, default False
        Skip rows with a missing cell (empty, NA, N/A, nan, null, none, ?) instead of
        refusing the file.
    columns : list of str, optional
        Take exactly these feature columns, by name, in this order (the others are
        ignored); a missing one is an error.
    """
    path = os.fspath(path)
    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "rt", newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
        else:
            with open(path, newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except (csv.Error, EOFError, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: not readable as CSV ({exc})") from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise ValueError(f"{path}: the file is empty; expected a header row and data rows")
    header_line, header = numbered[0]
    header = [h.strip() for h in header]
    for c, h in enumerate(header):
        if not h:
            raise ValueError(f"{path}: column {c + 1} of the header has no name")
    seen = {}
    for c, h in enumerate(header):
        if h in seen:
            raise ValueError(f"{path}: duplicate column name {h!r} (columns {seen[h] + 1} and {c + 1})")
        seen[h] = c
    body = numbered[1:]
    if not body:
        raise ValueError(f"{path}: no data rows after the header")
    for line, r in body:
        if len(r) != len(header):
            raise ValueError(f"{path}: row {line} has {len(r)} cells but the header has {len(header)} columns")
    if target is not None and target not in seen:
        raise ValueError(f"{path}: no column named {target!r}; the columns are {', '.join(header)}")
    if columns is not None:
        absent = [c for c in columns if c not in seen or c == target]
        if absent:
            raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, absent))} that the model needs")
        feat = [seen[c] for c in columns]
    else:
        feat = [c for c in range(len(header)) if header[c] != target]
    if not feat:
        raise ValueError(f"{path}: no feature columns besides the target {target!r}")
    used = feat + ([seen[target]] if target is not None else [])
    kept = []
    for line, r in body:
        gaps = [c for c in used if r[c].strip().lower() in MISSING]
        if gaps:
            if drop_missing:
                continue
            raise ValueError(
                f"{path}: row {line}, column {header[gaps[0]]!r}: missing value; "
                "pass --drop-missing (drop_missing=True) to skip rows with missing values"
            )
        kept.append((line, r))
    if not kept:
        raise ValueError(f"{path}: every row has a missing value")
    cells = [[r[c].strip() for c in feat] for _, r in kept]
    try:
        X = np.array(cells, dtype=np.float64)
    except ValueError:
        for (line, _), row in zip(kept, cells):
            for c, v in zip(feat, row):
                try:
                    float(v)
                except ValueError:
                    raise ValueError(f"{path}: row {line}, column {header[c]!r}: {v!r} is not a number") from None
        raise
    if not np.isfinite(X).all():
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{path}: row {kept[i][0]}, column {header[feat[j]]!r}: {cells[i][j]!r} is not a finite number")
    y = None
    if target is not None:
        cells = [r[seen[target]].strip() for _, r in kept]
        y = np.array(cells, dtype=object) if target_as_text else target_column(
            cells, where=lambda i: f"{path}: row {kept[i][0]}, column {target!r}")
    return Dataset(X, y, [header[c] for c in feat], target, path)


def read_npz(path, target: str | None = None, *, columns: list | None = None) -> Dataset:
    """Read arrays ``X`` and ``y`` (or the name given as ``target``) from a .npz file; no pickles."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as exc:
        raise ValueError(f"{path}: cannot be read without pickle, or is not an .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    xkey = "X" if "X" in arrays else ("x" if "x" in arrays else None)
    if xkey is None:
        raise ValueError(f"{path}: no array named 'X'; the arrays are {', '.join(arrays) or 'none'}")
    X = arrays[xkey]
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: X must be a 2-D array of numbers, got {X.ndim}-D {X.dtype}")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{path}: X[{i}, {j}] is {X[i, j]}; expected finite numbers")
    if columns is not None and len(columns) != X.shape[1]:
        raise ValueError(f"{path}: X has {X.shape[1]} columns but the model needs {len(columns)}")
    y = None
    tkey = target or ("y" if "y" in arrays else ("Y" if "Y" in arrays else None))
    if target is not None and target not in arrays:
        raise ValueError(f"{path}: no array named {target!r}; the arrays are {', '.join(arrays)}")
    if tkey is not None and tkey in arrays:
        y = arrays[tkey]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{path}: {tkey} must have one value per row of X ({X.shape[0]}), got shape {y.shape}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise ValueError(f"{path}: {tkey}[{i}] is {y[i]}; a numeric target must be finite")
    return Dataset(X, y, columns, tkey if y is not None else None, path)


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_idx_array(path) -> np.ndarray:
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header is truncated")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - 4 - 4 * ndim != need:
        raise ValueError(f"{path}: IDX header promises {dims} ({need} bytes) but the file holds "
                         f"{len(data) - 4 - 4 * ndim} bytes")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)


def read_idx(path, labels: str | None = None) -> Dataset:
    """MNIST-style IDX images (rows become flattened pixels) and, if found, their labels.

    ``labels`` defaults to the MNIST naming convention: ``*-images-idx3-ubyte[.gz]`` pairs
    with ``*-labels-idx1-ubyte[.gz]`` in the same folder.
    """
    path = os.fspath(path)
    images = _read_idx_array(path)
    X = images.reshape(images.shape[0], -1).astype(np.float64)
    if labels is None:
        guess = path.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
        labels = guess if guess != path and os.path.exists(guess) else None
    y = None
    if labels is not None:
        y = _read_idx_array(labels)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{labels}: {y.shape[0]} labels for {X.shape[0]} images")
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.array_equal(y, np.round(y))):
            bad = int(np.flatnonzero(~(np.isfinite(y) & (y == np.round(y))))[0])
            raise ValueError(f"{labels}: label {bad + 1} is {float(y[bad])!r}; IDX labels must be whole numbers")
        y = y.astype(np.int64)
    return Dataset(X, y, None, "label" if y is not None else None, path)


def read_data(path, target: str | None = None, *, drop_missing: bool = False, columns: list | None = None,
              labels: str | None = None, target_as_text: bool = False) -> Dataset:
    """Read any supported file, chosen by its name: ``.npz``, IDX (``idx`` in the name), else CSV.

    ``target_as_text``: a CSV target column is returned as its cells' text, exactly as written
    (for a model whose classes are text: a test file holding only ``7`` and ``8`` of the
    classes ``007``, ``7``, ``8`` must not read them as numbers).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, expected a data file")
    name = os.path.basename(path).lower()
    if name.endswith(".npz"):
        return read_npz(path, target, columns=columns)
    if "idx" in name or name.endswith("-ubyte") or name.endswith("-ubyte.gz"):
        return read_idx(path, labels)
    return read_csv(path, target, drop_missing=drop_missing, columns=columns, target_as_text=target_as_text)


# --- built-in data sets ------------------------------------------------------------------------------------

_BUILTIN = {
    "xor": ("XOR of two bits (4 rows): UFLDL's and AIMA's toy problem", "classification"),
    "iris": ("Fisher's iris flowers (150 x 4, 3 classes), scikit-learn's copy", "classification"),
    "digits": ("8x8 handwritten digits (1797 x 64, 10 classes), scikit-learn's copy", "classification"),
    "breast-cancer": ("Wisconsin breast cancer (569 x 30, 2 classes), scikit-learn's copy", "classification"),
    "wine": ("wine cultivars (178 x 13, 3 classes), scikit-learn's copy", "classification"),
    "diabetes": ("diabetes progression (442 x 10, regression), scikit-learn's copy", "regression"),
}


def builtin_datasets() -> dict:
    """Name -> (description, task) of every built-in data set."""
    return dict(_BUILTIN)


def load_builtin(name: str) -> Dataset:
    """A built-in data set by name (see :func:`builtin_datasets`)."""
    key = name.strip().lower().replace("_", "-")
    if key not in _BUILTIN:
        raise ValueError(f"unknown data set {name!r}; built in: {', '.join(_BUILTIN)}")
    if key == "xor":
        X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return Dataset(X, np.array([0, 1, 1, 0]), ["x1", "x2"], "xor", "xor")
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(
            f"the built-in data set {key!r} is scikit-learn's bundled copy; install it with "
            "pip install 'deltaprop[datasets]' (or pip install scikit-learn)"
        ) from None
    loader = {"iris": datasets.load_iris, "digits": datasets.load_digits, "wine": datasets.load_wine,
              "breast-cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}[key]
    bunch = loader()
    names = [str(n) for n in bunch.feature_names] if getattr(bunch, "feature_names", None) is not None else None
    target = bunch.target
    if key in ("iris", "wine", "breast-cancer"):
        target = np.asarray(bunch.target_names, dtype=object)[bunch.target]
        target = np.array([str(t) for t in target], dtype=object)
    return Dataset(np.asarray(bunch.data, dtype=np.float64), target, names, "target", key)
