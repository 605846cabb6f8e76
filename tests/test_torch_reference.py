"""Gradients against an independent autodiff: torch.autograd in float64 (skipped without PyTorch)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from conftest import HIDDEN, OUTPUT_COST, data_for, random_dag, random_layered

torch = pytest.importorskip("torch")

TORCH_ACTS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "softplus": torch.nn.functional.softplus,
    "elu": torch.nn.functional.elu,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def torch_cost_and_grad(net, X, Y, sample_weight=None):
    """The same J built from net.blocks/net.edges with torch ops; its gradient by autograd."""
    p = torch.tensor(net.params, dtype=torch.float64, requires_grad=True)
    Ws, bs = net.views(p)
    a = [torch.tensor(X)]
    z = [None]
    for j in range(1, len(net.blocks)):
        zj = bs[j - 1].clone()
        for e, edge in enumerate(net.edges):
            if edge.target == j:
                zj = zj + a[edge.source] @ Ws[e].T
        z.append(zj)
        a.append(TORCH_ACTS[net.blocks[j].activation](zj))
    Yt = torch.tensor(Y)
    loss = 0
    for j, cols in net.layout.outputs:
        y = Yt[:, cols]
        if net.cost.name == "squared":
            loss = loss + 0.5 * ((a[j] - y) ** 2).sum(dim=1)
        elif net.blocks[j].activation == "softmax":
            loss = loss - (y * torch.log_softmax(z[j], dim=1)).sum(dim=1)
        else:
            loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(z[j], y, reduction="none").sum(dim=1)
    if sample_weight is None:
        J = loss.mean()
    else:
        w = torch.tensor(sample_weight)
        J = (w * loss).sum() / w.sum()
    J = J + 0.5 * net.weight_decay * sum((W**2).sum() for W in Ws)
    J.backward()
    return J.item(), p.grad.numpy()


def _check(net, X, Y, w=None):
    J, g = net.cost_and_gradient(X, Y, sample_weight=w)
    Jt, gt = torch_cost_and_grad(net, X, Y, w)
    assert J == pytest.approx(Jt, rel=1e-12)
    free = net.free  # autograd also differentiates masked-out weights; they are not parameters
    scale = max(np.abs(gt[free]).max(), 1e-300)
    assert np.abs(g[free] - gt[free]).max() / scale < 1e-10
    assert np.all(g[~free] == 0)


@pytest.mark.parametrize("output,cost", OUTPUT_COST)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_layered_matches_autograd(hidden, output, cost):
    rng = np.random.default_rng(zlib.crc32(f"torch/{hidden}/{output}/{cost}".encode()))
    net = random_layered(rng, hidden, output, cost, weight_decay=0.02)
    X, Y = data_for(net, rng, 9, output, cost)
    _check(net, X, Y)


@pytest.mark.parametrize("output,cost", OUTPUT_COST)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_dag_matches_autograd(hidden, output, cost):
    rng = np.random.default_rng(zlib.crc32(f"torch-dag/{hidden}/{output}/{cost}".encode()))
    net = random_dag(rng, hidden, output, cost, weight_decay=0.02, two_outputs=bool(rng.random() < 0.5))
    X, Y = data_for(net, rng, 9, output, cost)
    _check(net, X, Y, w=rng.uniform(0.1, 3, size=9))
