"""Factories shared by the tests: random layered networks, random block DAGs, targets."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu"]
# every (output activation, cost) pair the engine accepts
OUTPUT_COST = [(act, "squared") for act in HIDDEN + ["softmax"]] + [
    ("sigmoid", "cross_entropy"),
    ("softmax", "cross_entropy"),
]


def targets(rng, m, n_out, output, cost, n_blocks_out=1):
    """Targets that are legal for the cost: probability rows for softmax + CE, [0, 1] for CE."""
    if cost == "cross_entropy" and output == "softmax":
        width = n_out // n_blocks_out
        parts = [rng.dirichlet(np.ones(width), size=m) for _ in range(n_blocks_out)]
        return np.concatenate(parts, axis=1)
    if cost == "cross_entropy":
        return rng.uniform(0, 1, size=(m, n_out))
    return rng.normal(size=(m, n_out))


def random_layered(rng, hidden, output, cost, *, weight_decay=0.0, l1=0.0, dtype="float64"):
    depth = int(rng.integers(1, 3))
    sizes = [int(rng.integers(2, 5)) for _ in range(depth + 2)]
    net = dp.Network.layered(
        sizes, hidden=hidden, output=output, cost=cost, weight_decay=weight_decay, l1=l1,
        dtype=dtype, seed=int(rng.integers(1 << 30)),
    )
    return generic_point(net, rng)


def generic_point(net, rng):
    """Random weights and biases: no z sits exactly on relu's kink (zero biases would put it there)."""
    net.params = rng.normal(scale=0.7, size=net.n_params)
    return net


def random_dag(rng, hidden, output, cost, *, weight_decay=0.0, l1=0.0, two_outputs=False, dtype="float64"):
    """Random block DAG: chain edges, random skip edges, random masks, optional second output."""
    n_hidden = int(rng.integers(2, 4))
    n_out = int(rng.integers(2, 4))
    blocks = [dp.Block(int(rng.integers(2, 5)))]
    for _ in range(n_hidden):
        units = int(rng.integers(2, 5))
        bias = rng.random(units) < 0.7 if rng.random() < 0.5 else None
        blocks.append(dp.Block(units, hidden, bias=bias))
    outputs = [len(blocks)]
    if two_outputs:  # an output block that also feeds the last block
        blocks.append(dp.Block(n_out, output))
        outputs = [len(blocks) - 1, len(blocks)]
    blocks.append(dp.Block(n_out, output))
    n = len(blocks)
    edges = []
    for j in range(1, n):
        for k in range(j):
            if k == j - 1 or rng.random() < 0.5:
                mask = None
                if rng.random() < 0.5:
                    mask = rng.random((blocks[j].units, blocks[k].units)) < 0.7
                edges.append(dp.Edge(k, j, mask))
    net = dp.Network(
        blocks, edges, outputs, cost=cost, weight_decay=weight_decay, l1=l1,
        dtype=dtype, seed=int(rng.integers(1 << 30)),
    )
    return generic_point(net, rng)


def data_for(net, rng, m, output, cost):
    X = rng.normal(size=(m, net.n_inputs))
    Y = targets(rng, m, net.n_outputs, output, cost, n_blocks_out=len(net.layout.outputs))
    return X, Y


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
