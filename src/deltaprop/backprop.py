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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = ["forward", "example_losses", "backward"]


def forward(net: "Network", X: np.ndarray) -> tuple[list, list]:
    """Net inputs z and activations a of every block, for a batch X of shape (m, n_inputs).

    Returns lists indexed by block: ``z[0]`` is None and ``a[0]`` is X.
    """
    n = len(net.blocks)
    z: list = [None] * n
    a: list = [None] * n
    a[0] = X
    for j in range(1, n):
        zj = None
        for e, k in net._pred[j]:
            t = a[k] @ net.W[e].T  # z_i = sum_p W_ip a_p  (one incoming edge's share)
            if zj is None:
                zj = t
            else:
                zj += t
        zj += net.b[j - 1]  # + b_i
        z[j] = zj
        a[j] = net._acts[j].f(zj)  # a = f(z)
    return z, a


def example_losses(net: "Network", z: list, a: list, Y: np.ndarray) -> np.ndarray:
    """The loss of each example, summed over every output block: shape (m,)."""
    L = None
    for j, cols in net._outputs:
        Lj = net.cost.loss(z[j], a[j], Y[:, cols], net._acts[j])
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


def backward(
    net: "Network",
    z: list,
    a: list,
    Y: np.ndarray,
    weights: np.ndarray | None,
    grad: np.ndarray,
) -> list:
    """Fill ``grad`` (flat, the layout of ``net.params``) with dJ/dparams; return the deltas.

    ``weights`` are the per-example factors of the mean (1/m each when None, else
    normalised sample weights). The returned ``delta[j]`` are per example, dJ_i/dz_j,
    not yet averaged: exactly the seed's delta.
    """
    n = len(net.blocks)
    m = a[0].shape[0]
    dW, db = net._views(grad)
    delta: list = [None] * n
    out_cols = dict(net._outputs)
    for j in range(n - 1, 0, -1):
        act = net._acts[j]
        g = None
        for e, s in net._succ[j]:
            t = delta[s] @ net.W[e]  # sum_s delta_s W_{j->s}: seed 001's sum over units fed
            if g is None:
                g = t
            else:
                g += t
        if j in out_cols:
            d = net.cost.output_delta(z[j], a[j], Y[:, out_cols[j]], act)  # delta(nl)
            if g is not None:  # an output block that also feeds others
                d += act.backward(z[j], a[j], g)
        else:
            d = act.backward(z[j], a[j], g)  # delta(l) = (W(l)^T delta(l+1)) .* f'(z(l))
        delta[j] = d

        # dJ/dW_{k->j} = (1/m) sum_i delta_j a_k^T, dJ/db_j = (1/m) sum_i delta_j
        dw = d if weights is None else d * weights[:, None]
        for e, k in net._pred[j]:
            np.matmul(dw.T, a[k], out=dW[e])
            if weights is None:
                dW[e] *= 1.0 / m
            mask = net.edges[e].mask
            if mask is not None:
                dW[e] *= mask  # absent edges: gradient exactly zero
            if net.weight_decay:
                dW[e] += net.weight_decay * net.W[e]  # + lambda W (never the biases)
            if net.l1:
                dW[e] += net.l1 * np.sign(net.W[e])
        if weights is None:
            np.sum(d, axis=0, out=db[j - 1])
            db[j - 1] *= 1.0 / m
        else:
            np.matmul(weights, d, out=db[j - 1])
        bias = net.blocks[j].bias
        if bias is not None:
            db[j - 1] *= bias
    return delta
