"""Seed 001's online rule, compiled: one example at a time, w_ik := w_ik + eta a_i Delta_k.

With batch size 1, NumPy spends microseconds per call on arrays of a few dozen numbers, so
an epoch is all call overhead. When Numba is installed (``pip install 'deltaprop[fast]'``),
``dp.train(optimizer="sgd", batch_size=1)`` on a layered network runs each epoch through
this kernel instead: the same forward pass, output delta, backward pass and update as
``backprop.py``, written out per unit in loops and compiled. It is used only where it is
exactly the same algorithm (plain SGD, a layered chain without masks, built-in activations,
no sample weights, no per-step callbacks); everything else takes the NumPy path.
"""

from __future__ import annotations

import numpy as np

try:  # optional: the 'fast' extra
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is missing
    njit = None

__all__ = ["available", "eligible", "run_epoch"]

_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "softplus": 5, "elu": 6, "softmax": 7}


def available() -> bool:
    """True when Numba can be imported."""
    return njit is not None


def eligible(net, optimizer, batch_size, weights, batch_hooks, max_time) -> bool:
    """Whether the compiled online epoch computes exactly what the NumPy loop would."""
    if njit is None or batch_size != 1 or optimizer.name != "sgd" or weights is not None or batch_hooks:
        return False
    if max_time is not None or net.l1 or net._units is not None:
        return False
    chain = len(net.edges) == len(net.blocks) - 1 and all(
        e.source + 1 == e.target and e.mask is None for e in net.edges)
    if not chain or any(b.bias is not None for b in net.blocks) or len(net._outputs) != 1:
        return False
    acts = net.activations
    if any(a not in _CODES for a in acts) or "softmax" in acts[:-1]:
        return False
    if net.cost.name == "squared" and acts[-1] == "softmax":
        return False
    return True


def run_epoch(net, X, Y, order, lr) -> tuple[float, int]:
    """One online epoch over the rows of X in ``order``; updates ``net.params`` in place.

    Returns (sum of the per-step costs J, -1) or (NaN, step) if J became non-finite at that step.
    """
    sizes = np.array([b.units for b in net.blocks], dtype=np.int64)
    w_off = np.array([o for o, _ in net._w_spans], dtype=np.int64)
    b_off = np.array([o for o, _ in net._b_spans], dtype=np.int64)
    codes = np.array([_CODES[a] for a in net.activations], dtype=np.int64)
    kind = 0 if net.cost.name == "squared" else (2 if net.activations[-1] == "softmax" else 1)
    width = int(sizes.sum())
    z, a, d = (np.zeros(width, dtype=net.dtype) for _ in range(3))  # separate, so each is contiguous
    return _epoch(net.params, X, Y, order.astype(np.int64), sizes, w_off, b_off, codes, kind,
                  net.dtype.type(lr), net.dtype.type(net.weight_decay), z, a, d)


if njit is not None:

    @njit(cache=True, error_model="numpy")
    def _f(code, z):
        if code == 1:  # sigmoid, without overflow
            if z >= 0:
                return 1.0 / (1.0 + np.exp(-z))
            e = np.exp(z)
            return e / (1.0 + e)
        if code == 2:
            return np.tanh(z)
        if code == 3:
            return z if z > 0 else 0.0 * z
        if code == 4:
            return z if z > 0 else 0.01 * z
        if code == 5:  # softplus: log(1 + e^z), stable
            return max(z, 0.0) + np.log1p(np.exp(-abs(z)))
        if code == 6:
            return z if z > 0 else np.expm1(z)
        return z

    @njit(cache=True, error_model="numpy")
    def _fprime(code, z, a):
        if code == 1:
            return a * (1.0 - a)  # f'(z) = f(z)(1 - f(z))
        if code == 2:
            return 1.0 - a * a
        if code == 3:
            return 1.0 if z > 0 else 0.0
        if code == 4:
            return 1.0 if z > 0 else 0.01
        if code == 5:
            return _f(1, z)
        if code == 6:
            return 1.0 if z > 0 else a + 1.0
        return 1.0

    # reassociation and fused multiply-add let LLVM vectorise the short sums; no 'nnan'/'ninf',
    # so a non-finite J is still seen and reported as divergence
    @njit(cache=True, fastmath={"reassoc", "contract", "arcp", "nsz"}, error_model="numpy")
    def _epoch(params, X, Y, order, sizes, w_off, b_off, codes, kind, lr, lam, z, a, d):
        L = sizes.shape[0] - 1
        u_off = np.zeros(L + 2, dtype=np.int64)
        for l in range(L + 1):
            u_off[l + 1] = u_off[l] + sizes[l]
        total = 0.0
        for t in range(order.shape[0]):
            n = order[t]
            for p in range(sizes[0]):
                a[p] = X[n, p]
            # forward: z_i = sum_p W_ip a_p + b_i, a = f(z)
            for l in range(L):
                k0, j0, nk, nj = u_off[l], u_off[l + 1], sizes[l], sizes[l + 1]
                for i in range(nj):
                    s = params[b_off[l] + i]
                    row = w_off[l] + i * nk
                    for p in range(nk):
                        s += params[row + p] * a[k0 + p]
                    z[j0 + i] = s
                    if codes[l] != 7:
                        a[j0 + i] = _f(codes[l], s)
                if codes[l] == 7:  # softmax over the output block
                    zmax = z[j0]
                    for i in range(1, nj):
                        zmax = max(zmax, z[j0 + i])
                    den = 0.0
                    for i in range(nj):
                        a[j0 + i] = np.exp(z[j0 + i] - zmax)
                        den += a[j0 + i]
                    for i in range(nj):
                        a[j0 + i] /= den
            # the cost and delta(nl)
            o0, no = u_off[L], sizes[L]
            J = 0.0
            if kind == 2:
                zmax = z[o0]
                for i in range(1, no):
                    zmax = max(zmax, z[o0 + i])
                den = 0.0
                for i in range(no):
                    den += np.exp(z[o0 + i] - zmax)
                lse = zmax + np.log(den)
            for i in range(no):
                y = Y[n, i]
                if kind == 0:
                    r = a[o0 + i] - y
                    J += 0.5 * r * r  # 1/2 ||h - y||^2
                    d[o0 + i] = r * _fprime(codes[L - 1], z[o0 + i], a[o0 + i])  # -(y - a) f'(z)
                elif kind == 1:
                    J += max(z[o0 + i], 0.0) + np.log1p(np.exp(-abs(z[o0 + i]))) - y * z[o0 + i]
                    d[o0 + i] = a[o0 + i] - y  # sigmoid + cross-entropy: h - y exactly
                else:
                    J += y * (lse - z[o0 + i])
                    d[o0 + i] = a[o0 + i] - y  # softmax + cross-entropy: h - y exactly
            if lam != 0:
                reg = 0.0
                for l in range(L):
                    for q in range(sizes[l] * sizes[l + 1]):
                        w = params[w_off[l] + q]
                        reg += w * w
                J += 0.5 * lam * reg
            if not np.isfinite(J):
                return np.nan, t
            total += J
            # backward: delta(l)_p = f'(z_p) sum_i W_ip delta(l+1)_i, every delta before any update
            for l in range(L - 1, 0, -1):
                k0, j0, nk, nj = u_off[l], u_off[l + 1], sizes[l], sizes[l + 1]
                for p in range(nk):
                    s = 0.0
                    for i in range(nj):
                        s += params[w_off[l] + i * nk + p] * d[j0 + i]
                    d[k0 + p] = s * _fprime(codes[l - 1], z[k0 + p], a[k0 + p])
            # update: W := W - eta (delta a^T + lambda W), b := b - eta delta  (seed 001: w += eta a Delta)
            for l in range(L):
                k0, j0, nk, nj = u_off[l], u_off[l + 1], sizes[l], sizes[l + 1]
                for i in range(nj):
                    row = w_off[l] + i * nk
                    di = d[j0 + i]
                    for p in range(nk):
                        params[row + p] -= lr * (di * a[k0 + p] + lam * params[row + p])
                    params[b_off[l] + i] -= lr * di
        return total, -1
