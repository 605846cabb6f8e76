"""Plain SGD compiled: AIMA's online rule and the minibatch steps of small networks.

With batch size 1, NumPy spends microseconds per call on arrays of a few dozen numbers, so an
epoch is all call overhead; a small network with small batches (the digits, 64-32-10 with
batches of 32) is much the same. deltaprop depends on Numba, and ``dp.train(optimizer="sgd")``
runs such an epoch through one compiled kernel instead: for each step it gathers the step's
examples, then does the forward pass, the output delta, the backward pass and the update of
:mod:`deltaprop.core.backprop` and :class:`deltaprop.train.optimizers.SGD`, written out per
unit in loops. Batch size 1 is AIMA's rule w_ik := w_ik + eta a_i Delta_k; any other batch
size is UFLDL's W := W - alpha ((1/m) sum delta a^T + lambda W) on each minibatch.

It is used only where it computes exactly what the NumPy loop computes (plain SGD, dense X, a
layered chain without masks, activations and a cost that carry a kernel code, no sample weights, no
per-step callbacks or time limit), and, for batches of more than one example, only where a
step is small enough (:data:`MAX_STEP_FLOPS`) that NumPy's call overhead, not BLAS, would set
its pace; larger networks take the NumPy path and its matrix products. Tested equal to the
NumPy loop to 1e-12 in float64.

The engine's NumPy path (:mod:`deltaprop.core.backprop`) also calls three fused elementwise
kernels from here, each fewer passes than NumPy's two to eight: :func:`bias_activate`
(z += b, a = f(z): one pass, or two to three where f needs e^x or tanh, which NumPy's vectorised
functions compute faster than a compiled loop), :func:`delta_into` (delta = g .* f'(z), its scaled copy and the bias
gradient's column sums) and :func:`loss_and_delta` (the output's loss and delta(nl), softmax
and cross-entropy in one pass). The matrix products stay with NumPy's BLAS.

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

__all__ = ["MAX_STEP_FLOPS", "PerformanceWarning", "available", "bias_activate", "delta_into", "describe", "eligible",
           "loss_and_delta", "run_epoch", "step_flops", "tanh"]

# Above this many flops of matrix products per minibatch step, NumPy's BLAS (two cores, wide
# vector kernels) beats the kernel's plain loops; below it the NumPy path's per-call overhead
# (about 40-60 us per step) dominates. Measured on 2 cores: 64-32-10 with batches of 32 (0.3
# Mflop) trains 3-5x faster compiled; 784-64-32-10 with batches of 128 (28 Mflop) 1.5x slower.
MAX_STEP_FLOPS = 2e6


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


def step_flops(layout, batch_size: int) -> int:
    """Flops of the matrix products of one step: forward, dW and the deltas' propagation."""
    sizes = [blk.units for blk in layout.blocks]
    forward = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    propagate = sum(2 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return batch_size * (2 * forward + propagate)


def eligible(net, *, plain_sgd: bool, batch_size, weights, batch_hooks, max_time, sparse: bool = False) -> bool:
    """Whether the compiled epoch computes exactly what the NumPy loop would, is the faster of
    the two (batch size 1, or a step of at most MAX_STEP_FLOPS), and can run.

    Sparse X (``sparse=True``) is never eligible: the kernel reads dense rows, and the NumPy
    path's sparse products are the right tool; that is no loss to warn about.
    Where it would but Numba is missing, warns once (a :class:`PerformanceWarning`) and returns False.
    """
    if sparse or not plain_sgd or weights is not None or batch_hooks:
        return False
    if batch_size != 1 and step_flops(net.layout, batch_size) > MAX_STEP_FLOPS:
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
        warnings.warn(f"deltaprop is training on its NumPy path, much slower for batch size 1 and small networks: "
                      f"{describe()}. Install Numba (pip install numba) for the compiled kernel.", PerformanceWarning,
                      stacklevel=3)
        return False
    return True


def run_epoch(net, X, Y, order, lr, batch_size=1) -> tuple[float, int]:
    """One epoch of plain SGD over the rows of X in ``order``, ``batch_size`` rows per step;
    updates ``net.params`` in place.

    Returns (sum over the steps of J times the step's rows, -1), or (NaN, step) if J became
    non-finite at that step (0-based), before its update.
    """
    # Each W(l) and b(l) goes in as its own view into net.params (a tuple of 2-D arrays), so the
    # compiled loops see fixed strides and contiguous rows; the updates land in net.params.
    layout = net.layout
    bs = int(min(batch_size, len(order)))
    sizes = [blk.units for blk in layout.blocks]
    z, a, d = (tuple(np.zeros((bs, n), dtype=net.dtype) for n in sizes) for _ in range(3))
    acc = np.zeros(max(sizes), dtype=net.dtype)
    acts = layout.activations[1:]
    codes = np.array([act.kernel_code for act in acts], dtype=np.int64)
    kind = net.cost.kernel_kind(acts[-1])
    last = len(order) - (len(order) - 1) // bs * bs  # rows in the last step
    # eta lambda, eta/bs and eta/last, each rounded once to the network's dtype (as the NumPy path's scalars are)
    rates = np.array([lr * net.weight_decay, 1.0 / bs * lr, 1.0 / last * lr], dtype=net.dtype)
    if bs == 1:
        return _online(tuple(net.W), tuple(net.b), X, Y, order.astype(np.int64), codes, kind, rates,
                       float(net.weight_decay), z, a, d)
    return _epoch(tuple(net.W), tuple(net.b), X, Y, order.astype(np.int64), bs, codes, kind, rates,
                  float(net.weight_decay), z, a, d, acc)


if njit is not None:
    # Reassociation and fused multiply-add let LLVM vectorise the short sums; no 'nnan'/'ninf',
    # so a non-finite J is still seen and reported as divergence. Arrays are indexed [row, unit]
    # throughout: a row view would cost a reference count per view, per example.
    _FAST = {"reassoc", "contract", "arcp", "nsz"}

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _sigmoid(x):
        """1 / (1 + e^-x) for any x: for x below about -709, e^-x is inf and the quotient exactly 0
        (no exception is raised in compiled code); no branch, so the loop stays straight."""
        return 1.0 / (1.0 + np.exp(-x))

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def tanh(x):
        """tanh(x) to a few ulp in float64, without libm's tanh (which costs three of its exps).

        tanh is odd; for u = |x| below 1/2, the 8th convergent A/B of Lambert's continued fraction
        u/(1 + u^2/(3 + u^2/(5 + ...))) (truncation error < 1e-18 relative; no cancellation);
        above, 1 - 2/(e^2u + 1), one exp (e^2u overflows to inf for large u: exactly 1).
        """
        u = abs(x)
        if u < 0.5:
            u2 = u * u
            A0, B0, A1, B1 = 0.0, 1.0, u, 1.0  # convergents 0 and 1: 0/1 and u/1
            for k in range(2, 9):  # A_k = (2k-1) A_k-1 + u^2 A_k-2, the same for B
                A0, A1 = A1, (2 * k - 1) * A1 + u2 * A0
                B0, B1 = B1, (2 * k - 1) * B1 + u2 * B0
            t = A1 / B1
        else:
            t = 1.0 - 2.0 / (np.exp(2.0 * u) + 1.0)
        return t if x >= 0 else -t

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _activate(code, z, a, r):
        """a[r] = f(z[r]) over one example's block; one branch per block, not per unit."""
        n = z.shape[1]
        if code == 1:
            for i in range(n):
                a[r, i] = _sigmoid(z[r, i])
        elif code == 2:
            for i in range(n):
                a[r, i] = tanh(z[r, i])
        elif code == 3:
            for i in range(n):
                a[r, i] = z[r, i] if z[r, i] > 0 else 0.0 * z[r, i]
        elif code == 4:
            for i in range(n):
                a[r, i] = z[r, i] if z[r, i] > 0 else 0.01 * z[r, i]
        elif code == 5:  # softplus: log(1 + e^z), stable
            for i in range(n):
                a[r, i] = max(z[r, i], 0.0) + np.log1p(np.exp(-abs(z[r, i])))
        elif code == 6:
            for i in range(n):
                a[r, i] = z[r, i] if z[r, i] > 0 else np.expm1(z[r, i])
        elif code == 7:  # softmax over the block
            zmax = z[r, 0]
            for i in range(1, n):
                zmax = max(zmax, z[r, i])
            den = 0.0
            for i in range(n):
                a[r, i] = np.exp(z[r, i] - zmax)
                den += a[r, i]
            for i in range(n):
                a[r, i] /= den
        else:
            for i in range(n):
                a[r, i] = z[r, i]

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _times_fprime(code, z, a, d, r):
        """d[r] *= f'(z[r]), from z or from a = f(z), whichever the derivative is cheaper in."""
        n = z.shape[1]
        if code == 1:
            for i in range(n):
                d[r, i] *= a[r, i] * (1.0 - a[r, i])  # f'(z) = f(z)(1 - f(z))
        elif code == 2:
            for i in range(n):
                d[r, i] *= 1.0 - a[r, i] * a[r, i]  # f'(z) = 1 - f(z)^2
        elif code == 3:
            for i in range(n):
                if not z[r, i] > 0:
                    d[r, i] = 0.0 * d[r, i]
        elif code == 4:
            for i in range(n):
                if not z[r, i] > 0:
                    d[r, i] *= 0.01
        elif code == 5:  # softplus' = sigmoid
            for i in range(n):
                d[r, i] *= _sigmoid(z[r, i])
        elif code == 6:
            for i in range(n):
                if not z[r, i] > 0:
                    d[r, i] *= a[r, i] + 1.0

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _loss_and_delta(kind, code, z, a, Y, n, d, r):
        """Example r's loss (its target is row n of Y) and its delta(nl), not yet averaged."""
        no = z.shape[1]
        J = 0.0
        if kind == 0:
            for i in range(no):
                e = a[r, i] - Y[n, i]
                J += 0.5 * e * e  # 1/2 ||h - y||^2
                d[r, i] = e
            _times_fprime(code, z, a, d, r)  # delta(nl) = -(y - a) f'(z)
        elif kind == 1:
            for i in range(no):
                J += max(z[r, i], 0.0) + np.log1p(np.exp(-abs(z[r, i]))) - Y[n, i] * z[r, i]
                d[r, i] = a[r, i] - Y[n, i]  # sigmoid + cross-entropy: h - y exactly
        else:
            zmax = z[r, 0]
            for i in range(1, no):
                zmax = max(zmax, z[r, i])
            den = 0.0
            for i in range(no):
                den += np.exp(z[r, i] - zmax)
            lse = zmax + np.log(den)
            for i in range(no):
                J += Y[n, i] * (lse - z[r, i])
                d[r, i] = a[r, i] - Y[n, i]  # softmax + cross-entropy: h - y exactly
        return J

    @njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
    def _sum_of_squares(W):
        """sum over l, i, p of W(l)[i, p]^2: weight decay's part of J."""
        reg = 0.0
        for l in range(len(W)):
            Wl = W[l]
            for i in range(Wl.shape[0]):
                for p in range(Wl.shape[1]):
                    reg += Wl[i, p] * Wl[i, p]
        return reg

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _epoch(W, b, X, Y, order, bs, codes, kind, rates, lam, z, a, d, acc):
        """Minibatch SGD over the rows of X in ``order``, bs rows per step; ``rates`` holds
        (eta lambda, eta/bs, eta/last batch size) in the network's dtype; lam is lambda (for J)."""
        L = len(W)
        m = order.shape[0]
        decay = rates[0]
        total = 0.0
        step = 0
        for start in range(0, m, bs):
            k = min(bs, m - start)
            s = rates[1] if k == bs else rates[2]  # eta/k: the mean's 1/k and the learning rate in one factor
            x = a[0]
            for r in range(k):  # the step's examples, gathered into a(1)
                n = order[start + r]
                for p in range(x.shape[1]):
                    x[r, p] = X[n, p]
            # forward: z(l+1) = W(l) a(l) + b(l), a(l+1) = f(z(l+1)), example by example
            for l in range(L):
                Wl, bl, al, zn, an = W[l], b[l], a[l], z[l + 1], a[l + 1]
                for r in range(k):
                    for i in range(Wl.shape[0]):
                        t = bl[i]
                        for p in range(Wl.shape[1]):
                            t += Wl[i, p] * al[r, p]
                        zn[r, i] = t
                    _activate(codes[l], zn, an, r)
            # the cost J of the step (the mean over its k examples) and each example's delta(nl)
            J = 0.0
            for r in range(k):
                J += _loss_and_delta(kind, codes[L - 1], z[L], a[L], Y, order[start + r], d[L], r)
            J /= k
            if lam != 0:
                J += 0.5 * lam * _sum_of_squares(W)  # + (lambda/2) sum W^2
            if not np.isfinite(J):
                return np.nan, step
            total += J * k
            # backward from the top: delta(l) = (W(l)^T delta(l+1)) .* f'(z(l)) with the old W(l), then
            # W(l) := W(l) - eta ((1/k) sum_x delta(l+1) a(l)^T + lambda W(l)), b(l) := b(l) - eta (1/k) sum_x delta(l+1)
            for l in range(L - 1, -1, -1):
                Wl, bl, al, dn = W[l], b[l], a[l], d[l + 1]
                if l > 0:
                    dl = d[l]
                    for r in range(k):
                        for p in range(Wl.shape[1]):
                            dl[r, p] = 0.0
                        for i in range(Wl.shape[0]):
                            di = dn[r, i]
                            for p in range(Wl.shape[1]):
                                dl[r, p] += Wl[i, p] * di
                        _times_fprime(codes[l - 1], z[l], a[l], dl, r)
                if k == 1:  # AIMA's online rule: w_ik := w_ik + eta a_i Delta_k, in one pass
                    for i in range(Wl.shape[0]):
                        g = s * dn[0, i]
                        for p in range(Wl.shape[1]):
                            Wl[i, p] -= g * al[0, p] + decay * Wl[i, p]
                        bl[i] -= g
                    continue
                for i in range(Wl.shape[0]):
                    gb = 0.0
                    for p in range(Wl.shape[1]):
                        acc[p] = 0.0
                    for r in range(k):
                        g = s * dn[r, i]
                        gb += g
                        for p in range(Wl.shape[1]):
                            acc[p] += g * al[r, p]
                    for p in range(Wl.shape[1]):
                        Wl[i, p] -= acc[p] + decay * Wl[i, p]
                    bl[i] -= gb
            step += 1
        return total, -1

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _online(W, b, X, Y, order, codes, kind, rates, lam, z, a, d):
        """AIMA's online rule over the rows of X in ``order``: the minibatch epoch with k = 1
        written without the loops over a step's examples (row 0 of each workspace)."""
        L = len(W)
        decay, eta = rates[0], rates[1]
        total = 0.0
        for t in range(order.shape[0]):
            n = order[t]
            x = a[0]
            for p in range(x.shape[1]):
                x[0, p] = X[n, p]
            for l in range(L):  # z(l+1) = W(l) a(l) + b(l), a(l+1) = f(z(l+1))
                Wl, bl, al, zn = W[l], b[l], a[l], z[l + 1]
                for i in range(Wl.shape[0]):
                    s = bl[i]
                    for p in range(Wl.shape[1]):
                        s += Wl[i, p] * al[0, p]
                    zn[0, i] = s
                _activate(codes[l], zn, a[l + 1], 0)
            J = _loss_and_delta(kind, codes[L - 1], z[L], a[L], Y, n, d[L], 0)
            if lam != 0:
                J += 0.5 * lam * _sum_of_squares(W)  # + (lambda/2) sum W^2
            if not np.isfinite(J):
                return np.nan, t
            total += J
            for l in range(L - 1, -1, -1):  # delta(l) = (W(l)^T delta(l+1)) .* f'(z(l)) with the old W(l)
                Wl, bl, al, dn = W[l], b[l], a[l], d[l + 1]
                if l > 0:
                    dl = d[l]
                    for p in range(Wl.shape[1]):
                        dl[0, p] = 0.0
                    for i in range(Wl.shape[0]):
                        di = dn[0, i]
                        for p in range(Wl.shape[1]):
                            dl[0, p] += Wl[i, p] * di
                    _times_fprime(codes[l - 1], z[l], a[l], dl, 0)
                for i in range(Wl.shape[0]):  # w_ik := w_ik + eta a_i Delta_k
                    g = eta * dn[0, i]
                    for p in range(Wl.shape[1]):
                        Wl[i, p] -= g * al[0, p] + decay * Wl[i, p]
                    bl[i] -= g
        return total, -1

    # --- fused elementwise kernels for the NumPy path, over the rows of a workspace ------------------

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _bias_activate_loop(code, z, b, a):
        """z += b and a = f(z), one pass, f computed value by value."""
        for r in range(z.shape[0]):
            for i in range(z.shape[1]):
                z[r, i] += b[i]
            _activate(code, z, a, r)

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _bias_negate(z, b, a):
        """z += b and a = -z, one pass."""
        for r in range(z.shape[0]):
            for i in range(z.shape[1]):
                z[r, i] += b[i]
                a[r, i] = -z[r, i]

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _bias_add(z, b):
        for r in range(z.shape[0]):
            for i in range(z.shape[1]):
                z[r, i] += b[i]

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def _reciprocal_1p(a):
        """a = 1 / (1 + a), one pass (a = inf gives exactly 0)."""
        for r in range(a.shape[0]):
            for i in range(a.shape[1]):
                a[r, i] = 1.0 / (1.0 + a[r, i])

    def bias_activate(code, z, b, a):
        """z += b and a = f(z) for a block's (m, units) net inputs (code: the activation's ``kernel_code``).

        One compiled pass, except where f needs e^x or tanh: the compiled loop calls libm's one value
        at a time, NumPy's are vectorised (2.3-13x faster per element, measured on AVX-512), so sigmoid
        takes three passes (z += b with a = -z; a = e^a; a = 1 / (1 + a)) and tanh two.
        """
        if code == 1:  # sigmoid: 1 / (1 + e^-z); e^-z = inf (z below about -88 in float32, -709 in float64) gives 0
            _bias_negate(z, b, a)
            with np.errstate(over="ignore"):
                np.exp(a, out=a)
            _reciprocal_1p(a)
        elif code == 2:
            _bias_add(z, b)
            np.tanh(z, out=a)
        else:
            _bias_activate_loop(code, z, b, a)

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def delta_into(code, z, a, g, s, delta, d, db):
        """delta = g .* f'(z) (code -1: g is delta already), d = s delta and db = sum over rows of d,
        in one pass. ``d`` may be ``g``; ``s`` is the 1/m of the mean (times eta for plain SGD)."""
        n = db.shape[0]
        for i in range(n):
            db[i] = 0.0
        for r in range(z.shape[0]):
            if code >= 0:
                for i in range(n):
                    delta[r, i] = g[r, i]
                _times_fprime(code, z, a, delta, r)  # delta(l) = (W(l)^T delta(l+1)) .* f'(z(l))
            for i in range(n):
                v = s * delta[r, i]
                d[r, i] = v
                db[i] += v

    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def loss_and_delta(kind, code, z, a, y, delta, losses):
        """Each example's loss into ``losses`` and delta(nl) into ``delta``, for an output block whose
        cost has kernel kind ``kind`` (0 squared, 1 sigmoid + cross-entropy, 2 softmax + cross-entropy)."""
        for r in range(z.shape[0]):
            losses[r] = _loss_and_delta(kind, code, z, a, y, r, delta, r)
