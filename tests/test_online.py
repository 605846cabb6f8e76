"""The compiled online epoch (Numba) computes what the NumPy loop computes, and is used only
where it is the same algorithm."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.core import compiled as online
from conftest import HIDDEN

pytestmark = pytest.mark.skipif(not online.available(), reason="Numba is not installed")

PAIRS = [(act, "squared") for act in HIDDEN] + [("sigmoid", "cross_entropy"), ("softmax", "cross_entropy")]


def _numpy_only(monkeypatch):
    monkeypatch.setattr(online, "eligible", lambda *a, **k: False)


@pytest.mark.parametrize("output,cost", PAIRS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_compiled_epoch_equals_the_numpy_loop(hidden, output, cost, monkeypatch):
    rng = np.random.default_rng(len(hidden) * 7 + len(output))
    X = rng.normal(size=(60, 4))
    if cost == "cross_entropy" and output == "softmax":
        Y = np.eye(3)[rng.integers(0, 3, 60)]
    elif cost == "cross_entropy":
        Y = rng.integers(0, 2, size=(60, 3)).astype(float)
    else:
        Y = rng.normal(size=(60, 3))
    a = dp.Network.layered([4, 5, 6, 3], hidden=hidden, output=output, cost=cost, weight_decay=0.01, seed=2)
    b = a.copy()
    assert online.eligible(a, plain_sgd=True, batch_size=1, weights=None, batch_hooks=[], max_time=None)
    ha = dp.train(a, X, Y, optimizer="sgd", learning_rate=0.02, batch_size=1, epochs=3, seed=4, metric=None)
    _numpy_only(monkeypatch)
    hb = dp.train(b, X, Y, optimizer="sgd", learning_rate=0.02, batch_size=1, epochs=3, seed=4, metric=None)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ha["cost"], hb["cost"], rtol=1e-12)
    assert a.training_state.optimizer.t == b.training_state.optimizer.t == 180


def test_not_used_where_it_would_differ(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the compiled kernel ran")

    monkeypatch.setattr(online, "run_epoch", refuse)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    net = lambda: dp.Network.layered([3, 4, 2], output="identity", seed=0)  # noqa: E731

    class Hook(dp.Callback):
        def on_batch_end(self, run, epoch, step, cost):
            pass

    dp.train(net(), X, Y, optimizer="sgd", batch_size=2, epochs=1)  # minibatches
    dp.train(net(), X, Y, optimizer="adam", batch_size=1, epochs=1)  # another rule
    dp.train(net(), X, Y, optimizer="sgd", batch_size=1, epochs=1, sample_weight=np.ones(20))
    dp.train(net(), X, Y, optimizer="sgd", batch_size=1, epochs=1, callbacks=[Hook()])
    g = dp.Graph()
    x = g.input()
    o = g.unit("identity")
    g.connect(x, o)
    g.output(o)
    dp.train(g.compile(seed=0), X[:, :1], Y[:, :1], optimizer="sgd", batch_size=1, epochs=1)  # a unit graph


def test_divergence_inside_the_kernel():
    rng = np.random.default_rng(1)
    net = dp.Network.layered([5, 8, 1], hidden="relu", output="identity", seed=0)
    with pytest.raises(dp.DivergenceError, match=r"diverged at epoch 1, step \d+"):
        dp.train(net, rng.normal(size=(200, 5)) * 10, rng.normal(size=200) * 1e3, optimizer="sgd",
                 learning_rate=10.0, batch_size=1, epochs=1)
    assert np.isfinite(net.params).all()
