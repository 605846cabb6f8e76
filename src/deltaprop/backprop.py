"""Forward pass and backpropagation over a DAG of dense blocks: the heart of deltaprop.

Notation (seed 000, rows are samples): block j has net input ``z[j]`` and activation
``a[j] = f_j(z[j])``, both of shape (m, units_j); ``a[0]`` is the input X. An edge
k -> j carries ``W`` of shape (units_j, units_k), so ``W[i, p]`` is the weight from
unit p of block k into unit i of block j.

Backprop is written once, in seed 001's form, where a unit's error sums over every
unit it feeds:

    delta_j = f_j'(z_j) * sum over successors s of (delta_s @ W_{j->s})

With one successor that is seed 000's delta(l) = (W(l)^T delta(l+1)) .* f'(z(l)),
transposed because rows are samples.

Every array is written into a :class:`Workspace` allocated once per batch size, so a
training step allocates nothing in proportion to the network; ``net.backprop`` uses a
fresh workspace so its trace owns its arrays. Large batches are evaluated in chunks of
rows and summed, which bounds the memory of a full-batch J for any m.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = ["Workspace", "forward", "loss_and_output_delta", "backward", "evaluate", "regularization"]

CHUNK_BYTES = 24 * 2**20  # workspace memory per chunk of rows when m is large


class Workspace:
    """Buffers for one batch size m: z, a, delta per block, and two scratch arrays."""

    def __init__(self, net: "Network", m: int):
        self.m = m
        shape = [(m, b.units) for b in net.blocks]
        empty = lambda: [None] + [np.empty(s, dtype=net.dtype) for s in shape[1:]]  # noqa: E731
        self.z, self.a, self.delta, self.g, self.scratch = empty(), empty(), empty(), empty(), empty()
        self.ones = np.ones(m, dtype=net.dtype)  # sum over examples as a matrix-vector product

    def view(self, m: int) -> "Workspace":
        """The first m rows of every buffer (contiguous), for a smaller batch: no new memory."""
        ws = object.__new__(Workspace)
        ws.m = m
        for name in ("z", "a", "delta", "g", "scratch"):
            setattr(ws, name, [None if b is None else b[:m] for b in getattr(self, name)])
        ws.ones = self.ones[:m]
        return ws

    @staticmethod
    def rows_per_chunk(net: "Network") -> int:
        """How many rows keep one workspace within CHUNK_BYTES."""
        per_row = 5 * net.dtype.itemsize * sum(b.units for b in net.blocks[1:])
        return max(256, CHUNK_BYTES // max(per_row, 1))


def forward(net: "Network", X: np.ndarray, ws: Workspace | None = None) -> tuple[list, list]:
    """Net inputs z and activations a of every block, for a batch X of shape (m, n_inputs).

    Returns lists indexed by block: ``z[0]`` is None and ``a[0]`` is X.
    """
    ws = ws or Workspace(net, X.shape[0])
    a = ws.a
    a[0] = X
    for j in range(1, len(net.blocks)):
        zj = ws.z[j]
        for n, (e, k) in enumerate(net._pred[j]):
            if n == 0:
                np.matmul(a[k], net.W[e].T, out=zj)  # z_i = sum_p W_ip a_p  (one incoming edge's share)
            else:
                zj += np.matmul(a[k], net.W[e].T, out=ws.g[j])
        zj += net.b[j - 1]  # + b_i
        net._acts[j].forward_into(zj, a[j])  # a = f(z)
    return ws.z, a


def loss_and_output_delta(net: "Network", ws: Workspace, Y: np.ndarray) -> np.ndarray:
    """Each example's loss, shape (m,), summed over the output blocks; writes each output
    block's delta(nl) (per example, not yet averaged) into ``ws.delta``."""
    L = None
    for j, cols in net._outputs:
        Lj = net.cost.loss_and_delta_into(ws.z[j], ws.a[j], Y[:, cols], net._acts[j], ws.delta[j], ws.scratch[j])
        L = Lj if L is None else L + Lj
    return L


def regularization(net: "Network") -> float:
    """lambda/2 sum W^2 + l1 sum |W| over every weight; biases are never decayed."""
    r = 0.0
    if net.weight_decay:
        r += 0.5 * net.weight_decay * sum(float(np.vdot(W, W)) for W in net.W)
    if net.l1:
        r += net.l1 * sum(float(np.abs(W).sum()) for W in net.W)
    return r


def backward(net: "Network", ws: Workspace, scale, grad: np.ndarray) -> list:
    """Backpropagate from the output deltas in ``ws.delta``; write dJ/dparams (without the
    regularization terms) into ``grad``, in the layout of ``net.params``.

    ``scale`` is the factor of each example in the mean: 1/m (a float) or normalised
    sample weights, shape (m,). The deltas stay per example, as in the seed; the
    gradient uses them scaled. Returns the list of deltas.
    """
    dW, db = net._views(grad)
    z, a, delta = ws.z, ws.a, ws.delta
    out_blocks = net._output_blocks
    for j in range(len(net.blocks) - 1, 0, -1):
        act = net._acts[j]
        succ = net._succ[j]
        if succ:
            g = ws.g[j]
            for n, (e, s) in enumerate(succ):
                if n == 0:
                    np.matmul(delta[s], net.W[e], out=g)  # sum_s delta_s W_{j->s}: seed 001's sum over units fed
                else:
                    g += np.matmul(delta[s], net.W[e], out=ws.scratch[j])
            if j in out_blocks:  # an output block that also feeds others: its cost's delta plus the sum
                delta[j] += act.backward(z[j], a[j], g)
            else:
                act.backward_into(z[j], a[j], g, delta[j], ws.scratch[j])  # delta(l) = (W(l)^T delta(l+1)) .* f'(z(l))

        # dJ/dW_{k->j} = (1/m) sum_x delta_j a_k^T,  dJ/db_j = (1/m) sum_x delta_j
        d = ws.g[j]
        np.multiply(delta[j], scale if np.isscalar(scale) else scale[:, None], out=d)
        for e, k in net._pred[j]:
            np.matmul(d.T, a[k], out=dW[e])
            mask = net.edges[e].mask
            if mask is not None:
                dW[e] *= mask  # absent edges: gradient exactly zero
        np.matmul(ws.ones, d, out=db[j - 1])  # sum over the examples
        bias = net.blocks[j].bias
        if bias is not None:
            db[j - 1] *= bias
    return delta


def _add_regularization_gradient(net: "Network", grad: np.ndarray, grad_scale: float = 1.0) -> None:
    if net.weight_decay:
        lam = net._decay_vector() if grad_scale == 1.0 else grad_scale * net._decay_vector()
        grad += lam * net.params  # + lambda W (zero for the biases)
    if net.l1:
        grad += (grad_scale * net.l1) * np.sign(net.params) * net.weight_mask


def evaluate(net: "Network", X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None,
             grad: np.ndarray | None = None, grad_scale: float = 1.0) -> float:
    """J on (X, Y) and, if ``grad`` is given, its gradient written into ``grad``.

    ``weights`` are normalised sample weights (summing to 1) or None for 1/m each. The
    examples are taken in chunks of rows when m is large; the sums are accumulated.
    ``grad_scale`` multiplies the gradient written (not J): plain SGD asks for eta dJ/dparams,
    folded into the 1/m that scales every delta anyway, so its update is one pass.
    """
    m = X.shape[0]
    rows = Workspace.rows_per_chunk(net)
    total = 0.0
    partial = None
    for start in range(0, m, rows):
        end = min(start + rows, m)
        ws = net._workspace(end - start)
        forward(net, X[start:end], ws)
        L = loss_and_output_delta(net, ws, Y[start:end])
        s = 1.0 / m if weights is None else weights[start:end]
        total += float(L.sum()) / m if weights is None else float(s @ L)
        if grad is not None:
            if grad_scale != 1.0:
                s = s * grad_scale
            if start == 0:
                backward(net, ws, s, grad)
            else:
                if partial is None:
                    partial = np.empty_like(grad)
                backward(net, ws, s, partial)
                grad += partial
    if grad is not None:
        _add_regularization_gradient(net, grad, grad_scale)
    return total + regularization(net)
