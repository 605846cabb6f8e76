"""The compiled SGD epoch (Numba) computes what the NumPy loop computes, online and in
minibatches, and is used only where it is the same algorithm and the faster path."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.core import compiled as online
from conftest import HIDDEN

needs_numba = pytest.mark.skipif(not online.available(), reason="Numba is not installed")

PAIRS = [(act, "squared") for act in HIDDEN] + [("sigmoid", "cross_entropy"), ("softmax", "cross_entropy")]


def _numpy_only(monkeypatch):
    monkeypatch.setattr(online, "eligible", lambda *a, **k: False)


@needs_numba
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


@needs_numba
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

    big = dp.Network.layered([3, 400, 400, 2], output="identity", seed=0)  # a step above MAX_STEP_FLOPS: NumPy's BLAS
    assert online.step_flops(big.layout, 8) > online.MAX_STEP_FLOPS
    dp.train(big, X, Y, optimizer="sgd", batch_size=8, epochs=1)
    dp.train(net(), X, Y, optimizer="adam", batch_size=1, epochs=1)  # another rule
    dp.train(net(), X, Y, optimizer="sgd", batch_size=1, epochs=1, sample_weight=np.ones(20))
    dp.train(net(), X, Y, optimizer="sgd", batch_size=1, epochs=1, callbacks=[Hook()])
    g = dp.Graph()
    x = g.input()
    o = g.unit("identity")
    g.connect(x, o)
    g.output(o)
    dp.train(g.compile(seed=0), X[:, :1], Y[:, :1], optimizer="sgd", batch_size=1, epochs=1)  # a unit graph


@needs_numba
def _data(rng, m, n_out, output, cost):
    if cost == "cross_entropy" and output == "softmax":
        return np.eye(n_out)[rng.integers(0, n_out, m)]
    if cost == "cross_entropy":
        return rng.integers(0, 2, size=(m, n_out)).astype(float)
    return rng.normal(size=(m, n_out))


@needs_numba
@pytest.mark.parametrize("output,cost", PAIRS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_compiled_minibatch_epoch_equals_the_numpy_loop(hidden, output, cost, monkeypatch):
    """Minibatches of 7 (the last step has 4 rows), shuffled: the kernel and the NumPy loop agree."""
    rng = np.random.default_rng(len(hidden) * 5 + len(output))
    X = rng.normal(size=(60, 4))
    Y = _data(rng, 60, 3, output, cost)
    a = dp.Network.layered([4, 5, 6, 3], hidden=hidden, output=output, cost=cost, weight_decay=0.01, seed=2)
    b = a.copy()
    assert online.eligible(a, plain_sgd=True, batch_size=7, weights=None, batch_hooks=[], max_time=None)
    ha = dp.train(a, X, Y, optimizer="sgd", learning_rate=0.05, batch_size=7, epochs=3, seed=4, metric=None)
    _numpy_only(monkeypatch)
    hb = dp.train(b, X, Y, optimizer="sgd", learning_rate=0.05, batch_size=7, epochs=3, seed=4, metric=None)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ha["cost"], hb["cost"], rtol=1e-12)
    assert a.training_state.optimizer.t == b.training_state.optimizer.t == 3 * 9


@needs_numba
@pytest.mark.parametrize("batch_size,shuffle", [(None, False), (16, False), (25, True)])
def test_compiled_epoch_full_batch_and_in_order(batch_size, shuffle, monkeypatch):
    """UFLDL's full-batch gradient descent and unshuffled minibatches take the kernel too, and agree."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    a = dp.Network.layered([3, 8, 2], hidden="tanh", output="identity", weight_decay=1e-3, seed=1)
    b = a.copy()
    kw = dict(optimizer="sgd", learning_rate=0.1, batch_size=batch_size, shuffle=shuffle, epochs=20, seed=0, metric=None)
    ha = dp.train(a, X, Y, **kw)
    _numpy_only(monkeypatch)
    hb = dp.train(b, X, Y, **kw)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ha["cost"], hb["cost"], rtol=1e-12)


@needs_numba
def test_float32_compiled_epoch_is_reproducible_and_close():
    """float32: the kernel gives the same bits on every run, within float32 rounding of the NumPy loop."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 16)).astype(np.float32)
    Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 300)]
    runs = []
    for _ in range(2):
        net = dp.Network.layered([16, 12, 4], hidden="relu", output="softmax", cost="cross_entropy", dtype="float32",
                                 seed=0)
        dp.train(net, X, Y, optimizer="sgd", learning_rate=0.1, batch_size=32, epochs=3, seed=1, metric=None)
        runs.append(net.params.copy())
    assert np.array_equal(runs[0], runs[1])


@needs_numba
def test_tanh_in_the_kernel_is_tanh():
    """The kernel's tanh (one exponential, a series near 0) agrees with NumPy's to a few ulp."""
    z = np.concatenate([np.linspace(-30, 30, 20001), np.geomspace(1e-300, 1, 2000), -np.geomspace(1e-300, 1, 2000),
                        [0.0, 0.03125, -0.03125, np.nextafter(0.03125, 0), 710.0, -710.0, 1e308, -1e308]])
    got = np.array([online.tanh(x) for x in z])
    np.testing.assert_allclose(got, np.tanh(z), rtol=4 * np.finfo(float).eps, atol=0)
    z32 = np.clip(z, -1e30, 1e30).astype(np.float32)
    got32 = np.array([online.tanh(x) for x in z32], dtype=np.float32)
    np.testing.assert_allclose(got32, np.tanh(z32), rtol=2 * np.finfo(np.float32).eps, atol=0)


@needs_numba
def test_divergence_inside_the_kernel():
    rng = np.random.default_rng(1)
    net = dp.Network.layered([5, 8, 1], hidden="relu", output="identity", seed=0)
    with pytest.raises(dp.DivergenceError, match=r"diverged at epoch 1, step \d+"):
        dp.train(net, rng.normal(size=(200, 5)) * 10, rng.normal(size=200) * 1e3, optimizer="sgd",
                 learning_rate=10.0, batch_size=1, epochs=1)
    assert np.isfinite(net.params).all()


def test_without_numba_the_numpy_path_runs_and_says_so_once():
    """Where Numba cannot be imported, training falls back to NumPy and warns once which path it takes."""
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "sys.modules['numba'] = None  # import numba now raises ImportError\n"
        "import numpy as np, deltaprop as dp\n"
        "from deltaprop.core import compiled\n"
        "assert not compiled.available() and compiled.describe().startswith('NumPy only'), compiled.describe()\n"
        "rng = np.random.default_rng(0)\n"
        "X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 1))\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('default')\n"
        "    for _ in range(3):\n"
        "        net = dp.Network.layered([3, 4, 1], output='identity', seed=0)\n"
        "        dp.train(net, X, Y, optimizer='sgd', batch_size=1, epochs=2, metric=None)\n"
        "notes = [w for w in seen if issubclass(w.category, compiled.PerformanceWarning)]\n"
        "assert len(notes) == 1, [str(w.message) for w in seen]\n"
        "assert 'NumPy path' in str(notes[0].message) and 'pip install numba' in str(notes[0].message)\n"
        "assert np.isfinite(net.params).all()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@needs_numba
def test_describe_names_the_path():
    assert online.describe().startswith("compiled kernels (Numba ")
