"""The fused elementwise kernels (bias + activation, delta + its scaling + the bias gradient, the
output's loss + delta) compute what the NumPy operations they replace compute, and the engine
falls back to those operations where a kernel does not apply."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.core import compiled
from deltaprop.core.backprop import Workspace
from conftest import HIDDEN, OUTPUT_COST, data_for, random_dag, random_layered

pytestmark = pytest.mark.skipif(not compiled.available(), reason="Numba is not installed")


def _both_paths(monkeypatch, compute):
    """compute() with the fused kernels, then with NumPy only."""
    fused = compute()
    with monkeypatch.context() as patch:
        patch.setattr(compiled, "available", lambda: False)
        plain = compute()
    return fused, plain


def _trace(net, X, Y, w=None):
    tr = net.backprop(X, Y, sample_weight=w)
    return tr.cost, [x for x in tr.z[1:]], [x for x in tr.a[1:]], [x for x in tr.delta[1:]], tr.grad, tr.losses


def _assert_same(fused, plain):
    (Jf, zf, af, df, gf, Lf), (Jp, zp, ap, dp_, gp, Lp) = fused, plain
    np.testing.assert_allclose(Jf, Jp, rtol=1e-12)
    for x, y in zip(zf + af + df, zp + ap + dp_):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gf, gp, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(Lf, Lp, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("output,cost", OUTPUT_COST)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_fused_backprop_equals_numpy_on_layered_networks(hidden, output, cost, monkeypatch):
    rng = np.random.default_rng(len(hidden) * 11 + len(output) * 3 + len(cost))
    net = random_layered(rng, hidden, output, cost, weight_decay=0.01)
    X, Y = data_for(net, rng, 9, output, cost)
    _assert_same(*_both_paths(monkeypatch, lambda: _trace(net, X, Y)))


@pytest.mark.parametrize("two_outputs", [False, True])
@pytest.mark.parametrize("hidden", ["tanh", "relu", "sigmoid"])
def test_fused_backprop_equals_numpy_on_dags_with_weights(hidden, two_outputs, monkeypatch):
    """Skip edges, masks, absent biases, an output block feeding another, sample weights: every
    fallback beside every kernel."""
    rng = np.random.default_rng(7 + two_outputs)
    for _ in range(5):
        net = random_dag(rng, hidden, "softmax", "cross_entropy", weight_decay=0.01, two_outputs=two_outputs)
        X, Y = data_for(net, rng, 8, "softmax", "cross_entropy")
        w = rng.uniform(0.1, 2, size=8)
        _assert_same(*_both_paths(monkeypatch, lambda: _trace(net, X, Y)))
        _assert_same(*_both_paths(monkeypatch, lambda: _trace(net, X, Y, w)))


def test_fused_minibatch_training_equals_numpy(monkeypatch):
    """A network too big for the compiled epoch trains on the NumPy path with the fused kernels."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 60))
    Y = np.eye(5)[rng.integers(0, 5, 200)]
    net = dp.Network.layered([60, 300, 200, 5], hidden="relu", output="softmax", cost="cross_entropy", seed=0)
    assert compiled.step_flops(net.layout, 32) > compiled.MAX_STEP_FLOPS  # not the compiled epoch

    def run():
        n = net.copy()
        h = dp.train(n, X, Y, optimizer="sgd", learning_rate=0.05, batch_size=32, epochs=2, seed=1, metric=None)
        return n.params, h["cost"]

    (pf, cf), (pp, cp) = _both_paths(monkeypatch, run)
    np.testing.assert_allclose(pf, pp, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf, cp, rtol=1e-12)


def test_large_batches_in_chunks_agree(monkeypatch):
    """A full batch larger than one workspace chunk: the chunks' fused sums agree with NumPy's."""
    rng = np.random.default_rng(4)
    net = dp.Network.layered([30, 40, 3], hidden="sigmoid", output="sigmoid", weight_decay=1e-3, seed=0)
    m = 3 * Workspace.rows_per_chunk(net.layout, net.dtype) + 17
    X, Y = rng.normal(size=(m, 30)), rng.uniform(size=(m, 3))
    (Jf, gf), (Jp, gp) = _both_paths(monkeypatch, lambda: net.loss_and_grad(X, Y))
    np.testing.assert_allclose(Jf, Jp, rtol=1e-12)
    np.testing.assert_allclose(gf, gp, rtol=1e-10, atol=1e-14)


def test_sigmoid_is_exact_far_out():
    """The kernel's branch-free sigmoid: 0 and 1 far out, no warning, no NaN."""
    net = dp.Network.layered([1, 1], output="sigmoid", seed=0)
    net.W[0][...] = 1.0
    z = np.array([[-1e4], [-745.0], [-50.0], [0.0], [50.0], [1e4]])
    h = net.predict(z)
    np.testing.assert_allclose(h[:, 0], 1 / (1 + np.exp(-np.clip(z[:, 0], -700, 700))), rtol=1e-15, atol=1e-300)
    assert h[0, 0] == 0.0 and h[-1, 0] == 1.0
