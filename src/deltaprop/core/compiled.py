"""AIMA's online rule, compiled: one example at a time, w_ik := w_ik + eta a_i Delta_k.

With batch size 1, NumPy spends microseconds per call on arrays of a few dozen numbers, so
an epoch is all call overhead. deltaprop depends on Numba, and ``dp.train(optimizer="sgd",
batch_size=1)`` on a layered network runs each epoch through this kernel instead: the same
forward pass, output delta, backward pass and update as :mod:`deltaprop.core.backprop`,
written out per unit in loops and compiled. It is used only where it is exactly the same
algorithm (plain SGD, a layered chain without masks, activations and a cost that carry a
kernel code, no sample weights, no per-step callbacks); everything else takes the NumPy path.

Where Numba cannot be imported (a platform without wheels, say), every network trains on the
NumPy path; the first time that path is taken where the kernel would have run, a
:class:`PerformanceWarning` says so. :func:`describe` says which path is in use, for a command
line or a bug report to print.
"""

from __future__ import annotations

import warnings

import numpy as np

try:  # a core dependency; the NumPy path remains for platforms where it cannot be imported
    from numba import __version__ as NUMBA_VERSION, njit
    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised where numba is missing
    njit, NUMBA_VERSION, IMPORT_ERROR = None, None, str(exc)

__all__ = ["PerformanceWarning", "available", "describe", "eligible", "run_epoch"]


class PerformanceWarning(UserWarning):
    """A slower path is being taken than the default install would take (Numba is missing)."""


def available() -> bool:
    """True when Numba could be imported, so the compiled kernels can run."""
    return njit is not None


def describe() -> str:
    """Which path training takes, in one line: ``"compiled kernels (Numba 0.61.0)"`` or
    ``"NumPy only (Numba could not be imported: ...)"``."""
    if available():
        return f"compiled kernels (Numba {NUMBA_VERSION})"
    return f"NumPy only (Numba could not be imported: {IMPORT_ERROR})"


def eligible(net, *, plain_sgd: bool, batch_size, weights, batch_hooks, max_time) -> bool:
    """Whether the compiled online epoch computes exactly what the NumPy loop would, and can run.

    Where it would but Numba is missing, warns once (a :class:`PerformanceWarning`) and returns False.
    """
    if batch_size != 1 or not plain_sgd or weights is not None or batch_hooks:
        return False
    layout = net.layout
    if max_time is not None or net.l1 or not layout.is_chain or net.graph_spec is not None:
        return False
    if any(b.bias is not None for b in layout.blocks):
        return False
    acts = layout.activations[1:]
    if any(a.kernel_code is None for a in acts) or any(not a.elementwise for a in acts[:-1]):
        return False
    if net.cost.kernel_kind(acts[-1]) is None:
        return False
    if not available():
        warnings.warn(f"deltaprop is training on its NumPy path, which is much slower for batch size 1: {describe()}. "
                      "Install Numba (pip install numba) for the compiled kernel.", PerformanceWarning, stacklevel=3)
        return False
    return True


def run_epoch(net, X, Y, order, lr) -> tuple[float, int]:
    """One online epoch over the rows of X in ``order``; updates ``net.params`` in place.

    Returns (sum of the per-step costs J, -1) or (NaN, step) if J became non-finite at that step.
    """
    # Each W(l) and b(l) goes in as its own view into net.params (a tuple of 2-D arrays), so the
    # compiled loops see fixed strides and contiguous rows; the updates land in net.params.
    layout = net.layout
    sizes = [b.units for b in layout.blocks]
    z, a, d = (tuple(np.zeros(n, dtype=net.dtype) for n in sizes) for _ in range(3))
    acts = layout.activations[1:]
    codes = np.array([act.kernel_code for act in acts], dtype=np.int64)
    kind = net.cost.kernel_kind(acts[-1])
    return _epoch(tuple(net.W), tuple(net.b), X, Y, order.astype(np.int64), codes, kind,
                  net.dtype.type(lr), net.dtype.type(net.weight_decay), z, a, d)


if njit is not None:
    # Reassociation and fused multiply-add let LLVM vectorise the short sums; no 'nnan'/'ninf',
    # so a non-finite J is still seen and reported as divergence.
    _FAST = {"reassoc", "contract", "arcp", "nsz"}

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _sigmoid(x):
        """1 / (1 + e^-x) without overflow for any x."""
        if x >= 0:
            return 1.0 / (1.0 + np.exp(-x))
        e = np.exp(x)
        return e / (1.0 + e)

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _activate(code, z, a):
        """a = f(z) over one block; one branch per block, not per unit."""
        n = z.shape[0]
        if code == 1:
            for i in range(n):
                a[i] = _sigmoid(z[i])
        elif code == 2:
            for i in range(n):
                a[i] = np.tanh(z[i])
        elif code == 3:
            for i in range(n):
                a[i] = z[i] if z[i] > 0 else 0.0 * z[i]
        elif code == 4:
            for i in range(n):
                a[i] = z[i] if z[i] > 0 else 0.01 * z[i]
        elif code == 5:  # softplus: log(1 + e^z), stable
            for i in range(n):
                a[i] = max(z[i], 0.0) + np.log1p(np.exp(-abs(z[i])))
        elif code == 6:
            for i in range(n):
                a[i] = z[i] if z[i] > 0 else np.expm1(z[i])
        elif code == 7:  # softmax over the block
            zmax = z[0]
            for i in range(1, n):
                zmax = max(zmax, z[i])
            den = 0.0
            for i in range(n):
                a[i] = np.exp(z[i] - zmax)
                den += a[i]
            for i in range(n):
                a[i] /= den
        else:
            for i in range(n):
                a[i] = z[i]

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _times_fprime(code, z, a, d):
        """d *= f'(z), from z or from a = f(z), whichever the derivative is cheaper in."""
        n = z.shape[0]
        if code == 1:
            for i in range(n):
                d[i] *= a[i] * (1.0 - a[i])  # f'(z) = f(z)(1 - f(z))
        elif code == 2:
            for i in range(n):
                d[i] *= 1.0 - a[i] * a[i]
        elif code == 3:
            for i in range(n):
                if not z[i] > 0:
                    d[i] = 0.0 * d[i]
        elif code == 4:
            for i in range(n):
                if not z[i] > 0:
                    d[i] *= 0.01
        elif code == 5:  # softplus' = sigmoid
            for i in range(n):
                d[i] *= _sigmoid(z[i])
        elif code == 6:
            for i in range(n):
                if not z[i] > 0:
                    d[i] *= a[i] + 1.0

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _epoch(W, b, X, Y, order, codes, kind, lr, lam, z, a, d):
        L = len(W)
        total = 0.0
        decay = lr * lam
        for t in range(order.shape[0]):
            n = order[t]
            x = a[0]
            for p in range(x.shape[0]):
                x[p] = X[n, p]
            # forward: z(l+1) = W(l) a(l) + b(l), a(l+1) = f(z(l+1))
            for l in range(L):
                Wl, bl, al, zn = W[l], b[l], a[l], z[l + 1]
                for i in range(Wl.shape[0]):
                    s = bl[i]
                    for p in range(Wl.shape[1]):
                        s += Wl[i, p] * al[p]
                    zn[i] = s
                _activate(codes[l], zn, a[l + 1])
            # the cost J and delta(nl)
            zo, ao, do = z[L], a[L], d[L]
            no = zo.shape[0]
            J = 0.0
            if kind == 0:
                for i in range(no):
                    r = ao[i] - Y[n, i]
                    J += 0.5 * r * r  # 1/2 ||h - y||^2
                    do[i] = r
                _times_fprime(codes[L - 1], zo, ao, do)  # delta(nl) = -(y - a) f'(z)
            elif kind == 1:
                for i in range(no):
                    y = Y[n, i]
                    J += max(zo[i], 0.0) + np.log1p(np.exp(-abs(zo[i]))) - y * zo[i]
                    do[i] = ao[i] - y  # sigmoid + cross-entropy: h - y exactly
            else:
                zmax = zo[0]
                for i in range(1, no):
                    zmax = max(zmax, zo[i])
                den = 0.0
                for i in range(no):
                    den += np.exp(zo[i] - zmax)
                lse = zmax + np.log(den)
                for i in range(no):
                    y = Y[n, i]
                    J += y * (lse - zo[i])
                    do[i] = ao[i] - y  # softmax + cross-entropy: h - y exactly
            if lam != 0:
                reg = 0.0
                for l in range(L):
                    Wl = W[l]
                    for i in range(Wl.shape[0]):
                        for p in range(Wl.shape[1]):
                            reg += Wl[i, p] * Wl[i, p]
                J += 0.5 * lam * reg
            if not np.isfinite(J):
                return np.nan, t
            total += J
            # backward: delta(l) = (W(l)^T delta(l+1)) * f'(z(l)), every delta before any update
            for l in range(L - 1, 0, -1):
                Wl, dn, dl = W[l], d[l + 1], d[l]
                for p in range(Wl.shape[1]):
                    dl[p] = 0.0
                for i in range(Wl.shape[0]):
                    di = dn[i]
                    for p in range(Wl.shape[1]):
                        dl[p] += Wl[i, p] * di
                _times_fprime(codes[l - 1], z[l], a[l], dl)
            # update: W := W - eta (delta a^T + lambda W), b := b - eta delta  (AIMA: w += eta a Delta)
            for l in range(L):
                Wl, bl, al, dn = W[l], b[l], a[l], d[l + 1]
                for i in range(Wl.shape[0]):
                    g = lr * dn[i]
                    for p in range(Wl.shape[1]):
                        Wl[i, p] -= g * al[p] + decay * Wl[i, p]
                    bl[i] -= g
        return total, -1
