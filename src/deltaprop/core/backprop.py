"""Forward pass and backpropagation over a DAG of dense blocks: the heart of deltaprop.

Notation (UFLDL's, rows are samples): block j has net input ``z[j]`` and activation
``a[j] = f_j(z[j])``, both of shape (m, units_j); ``a[0]`` is the input X. An edge
k -> j carries ``W`` of shape (units_j, units_k), so ``W[i, p]`` is the weight from
unit p of block k into unit i of block j.

Backprop is written once, in AIMA's form, where a unit's error sums over every
unit it feeds:

    delta_j = f_j'(z_j) * sum over successors s of (delta_s @ W_{j->s})

With one successor that is UFLDL's delta(l) = (W(l)^T delta(l+1)) .* f'(z(l)),
transposed because rows are samples.

These functions take the network's :class:`~deltaprop.core.layout.Layout`, its ``W``
and ``b`` (views into the flat parameter vector) and a :class:`Workspace`, and nothing
else: the :class:`~deltaprop.Network` composes them. Every array is written into the
workspace, allocated once per batch size, so a training step allocates nothing in
proportion to the network.

The input X may also be a SciPy sparse CSR matrix (rows are samples): the first layer's
products are then sparse times dense, z = X W^T and dW = delta^T X computed as (X^T delta)^T,
so X is never densified. Every other array stays dense.

The matrix products go to NumPy's BLAS. The elementwise work around them (bias and
activation, delta and its scaling, the output's loss and delta) goes, where Numba is
installed and the activation or cost carries a kernel code, to the fused kernels of
:mod:`deltaprop.core.compiled`: the same arithmetic in fewer passes (one for most kernels; the
bias and activation take two or three where f needs e^x or tanh, computed by NumPy's vectorised
functions).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import compiled
from .costs import Cost
from .layout import Layout

__all__ = ["Workspace", "forward", "loss_and_output_delta", "backward", "regularization",
           "add_regularization_gradient"]

# Workspace memory per chunk of rows when m is large. 8 MiB leaves room in a 32 MiB L3 for two
# processes (Dask workers, say) and the weights: at 24 MiB two concurrent 400k-row evaluations of
# a 100-64-10 network each ran 6-10% slower than alone, at 8 MiB 1%; one process alone was as fast
# (W4: 507 vs 515 ms; the 100-64-10 network: 356 vs 363 ms). See benchmarks/RESULTS.md, issue 15.
CHUNK_BYTES = 8 * 2**20


class Workspace:
    """Buffers for one batch size m: z, a, delta per block, and two scratch arrays."""

    def __init__(self, layout: Layout, m: int, dtype):
        self.m = m
        shape = [(m, b.units) for b in layout.blocks]
        empty = lambda: [None] + [np.empty(s, dtype=dtype) for s in shape[1:]]  # noqa: E731
        self.z, self.a, self.delta, self.g, self.scratch = empty(), empty(), empty(), empty(), empty()
        self.ones = np.ones(m, dtype=dtype)  # sum over examples as a matrix-vector product
        self.losses = np.empty(m, dtype=dtype)  # each example's loss

    def view(self, m: int) -> "Workspace":
        """The first m rows of every buffer (contiguous), for a smaller batch: no new memory."""
        ws = object.__new__(Workspace)
        ws.m = m
        for name in ("z", "a", "delta", "g", "scratch"):
            setattr(ws, name, [None if b is None else b[:m] for b in getattr(self, name)])
        ws.ones = self.ones[:m]
        ws.losses = self.losses[:m]
        return ws

    @staticmethod
    def rows_per_chunk(layout: Layout, dtype) -> int:
        """How many rows keep one workspace within CHUNK_BYTES."""
        per_row = np.dtype(dtype).itemsize * layout.workspace_floats_per_row()
        return max(256, CHUNK_BYTES // max(per_row, 1))


def forward(layout: Layout, W: list, b: list, X: np.ndarray, ws: Workspace) -> tuple[list, list]:
    """Net inputs z and activations a of every block, for a batch X of shape (m, n_inputs)
    (an ndarray, or a SciPy CSR matrix whose first-layer products stay sparse).

    Returns lists indexed by block: ``z[0]`` is None and ``a[0]`` is X.
    """
    a = ws.a
    a[0] = X
    sparse = sp.issparse(X)
    fused = compiled.available()
    for j in range(1, len(layout.blocks)):
        zj = ws.z[j]
        for n, (e, k) in enumerate(layout.predecessors[j]):
            if k == 0 and sparse:  # sparse X times dense W^T: a new (m, units_j) array, X stays sparse
                if n == 0:
                    zj[...] = X @ W[e].T  # z_i = sum_p W_ip x_p over the stored x_p only
                else:
                    zj += X @ W[e].T
            elif n == 0:
                np.matmul(a[k], W[e].T, out=zj)  # z_i = sum_p W_ip a_p  (one incoming edge's share)
            else:
                zj += np.matmul(a[k], W[e].T, out=ws.g[j])
        act = layout.activations[j]
        if fused and act.kernel_code is not None:
            compiled.bias_activate(act.kernel_code, zj, b[j - 1], a[j])  # z_i += b_i; a = f(z), fused
        else:
            zj += b[j - 1]  # + b_i
            act.forward_into(zj, a[j])  # a = f(z)
    return ws.z, a


def loss_and_output_delta(layout: Layout, cost: Cost, ws: Workspace, Y: np.ndarray) -> np.ndarray:
    """Each example's loss, shape (m,), summed over the output blocks; writes each output
    block's delta(nl) (per example, not yet averaged) into ``ws.delta``."""
    if len(layout.outputs) == 1 and compiled.available():
        (j, cols), = layout.outputs
        act = layout.activations[j]
        kind = cost.kernel_kind(act)
        if kind is not None and act.kernel_code is not None:  # the cost's loss and delta(nl), one pass
            compiled.loss_and_delta(kind, act.kernel_code, ws.z[j], ws.a[j], Y[:, cols], ws.delta[j], ws.losses)
            return ws.losses
    L = None
    for j, cols in layout.outputs:
        Lj = cost.loss_and_delta_into(ws.z[j], ws.a[j], Y[:, cols], layout.activations[j], ws.delta[j],
                                      ws.scratch[j])
        L = Lj if L is None else L + Lj
    return L


def regularization(W: list, weight_decay: float, l1: float) -> float:
    """lambda/2 sum W^2 + l1 sum |W| over every weight; biases are never decayed."""
    r = 0.0
    if weight_decay:
        r += 0.5 * weight_decay * sum(float(np.vdot(Wl, Wl)) for Wl in W)
    if l1:
        r += l1 * sum(float(np.abs(Wl).sum()) for Wl in W)
    return r


def add_regularization_gradient(grad: np.ndarray, params: np.ndarray, decay: np.ndarray | None, l1: float,
                                weight_mask: np.ndarray, grad_scale: float = 1.0) -> None:
    """grad += lambda W (+ l1 sign(W)), times ``grad_scale``; ``decay`` is lambda at every
    weight and 0 at every bias (None when lambda is 0)."""
    if decay is not None:
        lam = decay if grad_scale == 1.0 else grad_scale * decay
        grad += lam * params  # + lambda W (zero for the biases)
    if l1:
        grad += (grad_scale * l1) * np.sign(params) * weight_mask


def backward(layout: Layout, W: list, ws: Workspace, scale, dW: list, db: list) -> list:
    """Backpropagate from the output deltas in ``ws.delta``; write dJ/dW and dJ/db (without
    the regularization terms) into ``dW`` and ``db`` (views into one flat gradient).

    ``scale`` is the factor of each example in the mean: 1/m (a float) or normalised
    sample weights, shape (m,). The deltas stay per example, as in UFLDL's tutorial; the
    gradient uses them scaled. Returns the list of deltas.
    """
    z, a, delta = ws.z, ws.a, ws.delta
    out_blocks = layout.output_blocks
    scalar = np.isscalar(scale)
    fused = scalar and compiled.available()
    for j in range(len(layout.blocks) - 1, 0, -1):
        act = layout.activations[j]
        succ = layout.successors[j]
        d = ws.g[j]  # delta scaled by the mean's weights: what the gradient is made of
        code = None  # a fused kernel's code: delta(l) from g (the activation's code), or -1: delta(l) is ready
        if succ:
            g = ws.g[j]
            for n, (e, s) in enumerate(succ):
                if n == 0:
                    np.matmul(delta[s], W[e], out=g)  # sum_s delta_s W_{j->s}: AIMA's sum over units fed
                else:
                    g += np.matmul(delta[s], W[e], out=ws.scratch[j])
            if j in out_blocks:  # an output block that also feeds others: its cost's delta plus the sum
                delta[j] += act.backward(z[j], a[j], g)
                code = -1
            elif fused and act.kernel_code is not None and act.elementwise:
                code = act.kernel_code
            else:
                act.backward_into(z[j], a[j], g, delta[j], ws.scratch[j])  # delta(l) = (W(l)^T delta(l+1)) .* f'(z(l))
                code = -1
        else:
            code = -1

        # dJ/dW_{k->j} = (1/m) sum_x delta_j a_k^T,  dJ/db_j = (1/m) sum_x delta_j
        if fused:  # delta (when code >= 0), d = scale delta and db = sum over the examples of d, in one pass
            compiled.delta_into(code, z[j], a[j], ws.g[j], d.dtype.type(scale), delta[j], d, db[j - 1])
        else:
            np.multiply(delta[j], scale if scalar else scale[:, None], out=d)
            np.matmul(ws.ones, d, out=db[j - 1])  # sum over the examples
        for e, k in layout.predecessors[j]:
            if k == 0 and sp.issparse(a[0]):
                dW[e][...] = (a[0].T @ d).T  # dW = delta^T X as (X^T delta)^T: sparse times dense
            else:
                np.matmul(d.T, a[k], out=dW[e])
            mask = layout.edges[e].mask
            if mask is not None:
                dW[e] *= mask  # absent edges: gradient exactly zero
        bias = layout.blocks[j].bias
        if bias is not None:
            db[j - 1] *= bias
    return delta
