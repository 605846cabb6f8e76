"""Regression tests for bugs that came from the old design, and for the seams that replaced it:
pickled networks train, optimizer state never leaks between runs, one metric definition, explain's
checks survive ``python -O``, and a new activation or cost plugs in from outside the package."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltaprop as dp


def _data(seed=0, m=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    Y = np.eye(3)[rng.integers(0, 3, m)]
    return X, Y


def _net():
    return dp.Network.layered([4, 6, 3], hidden="tanh", output="softmax", cost="cross_entropy", weight_decay=1e-3,
                              seed=1)


# --- a pickled or deep-copied network trains ------------------------------------------------------


@pytest.mark.parametrize("clone", [lambda n: pickle.loads(pickle.dumps(n)), copy.deepcopy, lambda n: n.copy()],
                         ids=["pickle", "deepcopy", "copy"])
def test_a_cloned_network_trains_bit_identically(clone):
    X, Y = _data()
    original = _net()
    twin = clone(original)
    assert all(np.shares_memory(W, twin.params) for W in twin.W)  # views into params, not copies
    assert all(np.shares_memory(b, twin.params) for b in twin.b)
    ha = dp.train(original, X, Y, optimizer="adam", learning_rate=0.05, epochs=5, seed=3, metric=None)
    hb = dp.train(twin, X, Y, optimizer="adam", learning_rate=0.05, epochs=5, seed=3, metric=None)
    assert hb["cost"][-1] < hb["cost"][0]  # it learned (the old bug: the cost stayed flat)
    np.testing.assert_array_equal(original.params, twin.params)
    assert ha["cost"] == hb["cost"]


def test_a_network_pickled_mid_training_continues_like_the_original():
    X, Y = _data()
    a = _net()
    dp.train(a, X, Y, optimizer="adam", learning_rate=0.05, epochs=3, seed=3, metric=None)
    b = pickle.loads(pickle.dumps(a))
    dp.train(a, X, Y, optimizer="adam", epochs=3, metric=None)
    dp.train(b, X, Y, optimizer="adam", epochs=3, metric=None)
    np.testing.assert_array_equal(a.params, b.params)


def test_a_pickled_estimator_keeps_learning_with_partial_fit():
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import DeltaClassifier

    X, Y = _data(m=60)
    y = Y.argmax(axis=1)
    clf = DeltaClassifier(hidden=(8,), epochs=2, learning_rate=0.05, random_state=0).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    before = clone.network_.params.copy()
    clone.partial_fit(X, y)
    clf.partial_fit(X, y)
    assert not np.array_equal(before, clone.network_.params)
    np.testing.assert_array_equal(clf.network_.params, clone.network_.params)


# --- optimizer state never leaks from one run into another -------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: dp.optimizers.Adam(0.05),
    lambda: dp.optimizers.AdamW(0.05, weight_decay=0.1),
    lambda: dp.optimizers.Momentum(0.05),
    lambda: dp.optimizers.Rprop(0.01),
], ids=["adam", "adamw", "momentum", "rprop"])
def test_the_same_optimizer_object_reused_equals_a_fresh_one(make):
    X, Y = _data()
    batch = None if make().full_batch else 8
    shared = make()
    first, second, fresh = _net(), _net(), _net()
    dp.train(first, X, Y, optimizer=shared, batch_size=batch, epochs=4, seed=0, metric=None)
    dp.train(second, X, Y, optimizer=shared, batch_size=batch, epochs=4, seed=0, metric=None)
    dp.train(fresh, X, Y, optimizer=make(), batch_size=batch, epochs=4, seed=0, metric=None)
    np.testing.assert_array_equal(second.params, fresh.params)
    np.testing.assert_array_equal(first.params, fresh.params)
    assert shared.t == 0 and not shared.initialized  # the caller's object carries no state


def test_warm_start_false_resets_the_optimizer():
    X, Y = _data()
    a, b = _net(), _net()
    dp.train(a, X, Y, optimizer="adam", epochs=3, seed=0, metric=None)
    a.set_params(b.params)
    dp.train(a, X, Y, optimizer="adam", epochs=3, seed=0, metric=None, warm_start=False)
    dp.train(b, X, Y, optimizer="adam", epochs=3, seed=0, metric=None)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.training_state.optimizer.t == b.training_state.optimizer.t


def test_adamw_reused_on_another_layout_decays_its_own_weights():
    X, Y = _data()
    opt = dp.optimizers.AdamW(0.05, weight_decay=0.5)
    small = dp.Network.layered([4, 3], output="softmax", cost="cross_entropy", seed=0)
    big = dp.Network.layered([4, 9, 3], output="softmax", cost="cross_entropy", seed=0)
    dp.train(small, X, Y, optimizer=opt, batch_size=None, epochs=2, metric=None)
    dp.train(big, X, Y, optimizer=opt, batch_size=None, epochs=2, metric=None)  # old: IndexError
    ref = dp.Network.layered([4, 9, 3], output="softmax", cost="cross_entropy", seed=0)
    dp.train(ref, X, Y, optimizer=dp.optimizers.AdamW(0.05, weight_decay=0.5), batch_size=None, epochs=2, metric=None)
    np.testing.assert_array_equal(big.params, ref.params)
    np.testing.assert_array_equal(big.training_state.optimizer.decay_mask, big.weight_mask)


def test_estimator_refit_with_an_optimizer_object_is_reproducible():
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import DeltaRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, -2.0, 0.5]
    reg = DeltaRegressor(hidden=(5,), optimizer=dp.optimizers.Adam(0.01), epochs=5, random_state=0)
    first = reg.fit(X, y).network_.params.copy()
    second = reg.fit(X, y).network_.params.copy()
    np.testing.assert_array_equal(first, second)


# --- one definition of each metric -------------------------------------------------------------------


def test_training_and_model_agree_on_r2_and_accuracy_edge_cases():
    from deltaprop.model import Model
    from deltaprop.train import metrics

    # a constant target fitted exactly: R^2 = 1 (scikit-learn's r2_score says the same)
    net = dp.Network.layered([1, 1], output="identity", seed=0)
    net.W[0][...] = 0.0
    net.b[0][...] = 2.0
    X = np.arange(5.0).reshape(-1, 1)
    y = np.full(5, 2.0)
    history = dp.train(net, X, y, optimizer="sgd", learning_rate=1e-12, batch_size=None, epochs=1, metric="r2")
    assert history["metric"][-1] == 1.0
    assert Model(net, "regression").evaluate(X, y)["r2"] == 1.0
    assert metrics.r2(np.full((5, 1), 3.0), y.reshape(-1, 1)) == 0.0  # constant target, not fitted
    from sklearn.metrics import r2_score

    h = np.array([[1.0], [2.5], [2.9]])
    Y = np.array([[1.2], [2.0], [3.1]])
    assert metrics.r2(h, Y) == pytest.approx(r2_score(Y, h), rel=1e-12)
    with warnings.catch_warnings():  # no rows: both metrics are undefined, said as nan, without a warning
        warnings.simplefilter("error")
        assert np.isnan(metrics.r2(np.zeros((0, 2)), np.zeros((0, 2))))
        assert np.isnan(metrics.accuracy(np.zeros((0, 2)), np.zeros((0, 2)), single_label=True))


# --- explain's checks are exceptions, not asserts ------------------------------------------------------


def test_explain_checks_survive_python_minus_O():
    code = (
        "import numpy as np, deltaprop as dp\n"
        "from deltaprop.core import network\n"
        "real = network.Network.backprop\n"
        "def broken(self, *a, **k):\n"
        "    tr = real(self, *a, **k)\n"
        "    tr.z[1][...] += 0.5\n"
        "    return tr\n"
        "network.Network.backprop = broken\n"
        "from deltaprop.explain.core import ExplainCheckError\n"
        "net = dp.Network.layered([2, 2, 1], seed=0)\n"
        "try:\n"
        "    dp.explain(net, [1.0, 2.0], [1.0])\n"
        "except ExplainCheckError as exc:\n"
        "    print('refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: explain: z of unit 1 of layer 2 rebuilt from its sum differs" in out.stdout


# --- a new activation and a new cost, registered from outside the package ------------------------------


def test_a_new_activation_plugs_into_every_face(tmp_path):
    act = dp.register_activation("cube_root_ish", lambda z: z / np.sqrt(1 + z * z),
                                 lambda z, a: (1 + z * z) ** -1.5, overwrite=True,
                                 formula="z / sqrt(1 + z^2)", derivative="(1 + z^2)^(-3/2)")
    assert act.init == "glorot" and act.onnx is None and act.kernel_code is None
    X, Y = _data()
    net = dp.Network.layered([4, 5, 3], hidden="cube_root_ish", output="softmax", cost="cross_entropy", seed=0)
    assert dp.gradcheck(net, X[:5], Y[:5]).passed
    history = dp.train(net, X, Y, optimizer="sgd", learning_rate=0.5, batch_size=1, epochs=3, seed=0)
    assert history["cost"][-1] < history["cost"][0]  # trained (the NumPy path: no kernel code)
    path = tmp_path / "net.safetensors"
    dp.save(net, path)
    np.testing.assert_array_equal(dp.load(path).params, net.params)
    assert "cube_root_ish" in dp.explain(net, X[:1], Y[:1]).to_text()
    pytest.importorskip("onnx")
    with pytest.raises(ValueError, match="activation 'cube_root_ish' has no ONNX operator"):
        dp.export_onnx(net, tmp_path / "net.onnx")


class AbsoluteError(dp.Cost):
    """J = (1/m) sum |h - y|: a cost the package does not ship."""

    name = "absolute"
    label = "absolute error"
    formula = "(1/m) sum_x |h(x) - y|"

    def loss_and_delta_into(self, z, a, y, act, delta, scratch):
        np.subtract(a, y, out=delta)
        L = np.abs(delta).sum(axis=1)
        np.sign(delta, out=delta)  # dJ/dh
        act.backward_into(z, a, delta, delta, scratch)  # delta(nl) = dJ/dh .* f'(z)
        return L


def test_a_new_cost_plugs_into_every_face(tmp_path):
    from deltaprop.core import register_cost

    register_cost(AbsoluteError(), overwrite=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    Y = rng.normal(size=(30, 2)) + 0.37  # away from the kink of |h - y|
    net = dp.Network.layered([3, 4, 2], hidden="tanh", output="identity", cost="absolute", seed=0)
    assert dp.gradcheck(net, X, Y).passed
    history = dp.train(net, X, Y, optimizer="adam", learning_rate=0.05, epochs=5, seed=0)
    assert history.metric_name == "r2"  # the cost's default metric
    assert history["cost"][-1] < history["cost"][0]
    path = tmp_path / "net.safetensors"
    dp.save(net, path)
    assert dp.load(path).cost == net.cost
    with pytest.raises(ValueError, match="explain writes out the output deltas of the built-in costs"):
        dp.explain(net, X[:1], Y[:1])
    with pytest.raises(ValueError, match="cost 'squared' is built in"):
        register_cost(type("Fake", (dp.Cost,), {"name": "squared"})())


def test_a_file_naming_an_unregistered_activation_is_refused(tmp_path):
    dp.register_activation("only_here", np.tanh, lambda z, a: 1 - a * a, overwrite=True)
    net = dp.Network.layered([2, 2, 1], hidden="only_here", seed=0)
    path = tmp_path / "net.safetensors"
    dp.save(net, path)
    code = f"import deltaprop as dp\ntry:\n    dp.load({str(path)!r})\nexcept dp.FileFormatError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "unknown activation 'only_here'" in out.stdout, out.stderr
    assert "a user-defined activation must be registered" in out.stdout


def test_a_checkpoint_cannot_name_any_bit_generator():
    from deltaprop.train import capture_state, restore_state

    X, Y = _data()
    net = _net()
    dp.train(net, X, Y, epochs=1, seed=0, metric=None)
    captured = capture_state(net)
    captured["meta"]["rng_type"] = "test"  # numpy.random.test would run pytest
    with pytest.raises(ValueError, match="unknown random bit generator 'test'"):
        restore_state(_net(), captured)


def test_one_network_predicts_and_evaluates_from_many_threads_as_from_one():
    """A network's scratch buffers are lent one set per call: threads sharing one network (a threaded Dask
    worker mapping predict over partitions of equal size, a web server) get exactly what one thread gets.
    With one shared workspace per batch size, the threads overwrote each other's activations."""
    from concurrent.futures import ThreadPoolExecutor

    net = dp.Network.layered([6, 64, 32, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=0)
    rng = np.random.default_rng(0)
    Xs = [rng.normal(size=(3000, 6)) for _ in range(12)]
    Ys = [np.eye(3)[rng.integers(0, 3, 3000)] for _ in range(12)]
    want = [net.predict(X) for X in Xs]
    want_lg = [(J, g.copy()) for J, g in (net.loss_and_grad(X, Y) for X, Y in zip(Xs, Ys))]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            got = list(pool.map(net.predict, Xs))
            assert all(np.array_equal(g, w) for g, w in zip(got, want))
            got_lg = list(pool.map(lambda i: net.loss_and_grad(Xs[i], Ys[i]), range(12)))
            assert all(J == J0 and np.array_equal(g, g0) for (J, g), (J0, g0) in zip(got_lg, want_lg))


def test_scratch_memory_follows_the_calls_running_at_once_not_the_threads():
    """Eight live threads predicting one after another keep one set of buffers, not eight (a Dask
    worker with many threads would otherwise hold a workspace per thread for the whole run)."""
    import threading
    import tracemalloc

    net = dp.Network.layered([6, 256, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(4000, 6))
    want = net.predict(X)
    turn, done, results = threading.Lock(), threading.Event(), []

    def worker():
        with turn:
            results.append(np.array_equal(net.predict(X), want))
        done.wait()  # the thread stays alive, as a worker's pool threads do

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        while len(results) < 8:
            threading.Event().wait(0.01)
        grown = tracemalloc.get_traced_memory()[0] - before
        done.set()
        for t in threads:
            t.join()
    finally:
        tracemalloc.stop()
    one_set = 4000 * (256 + 3) * 2 * X.itemsize  # z and a of the hidden and output blocks
    assert all(results) and grown < 1.5 * one_set, (grown, one_set)


class Elsewhere:
    """Data 'held elsewhere': a toy source whose opener predates validation_split and metrics."""

    def __init__(self, X):
        self.X = X


def test_a_source_registered_with_the_older_opener_signature_still_trains(monkeypatch):
    """register_source's contract as first published: opener(net, X, Y, w, *, validation, client),
    objectives without metric(). "auto" then records no metric, an explicit metric and a
    validation_split are refused in one line, and the data is released each time."""
    from deltaprop.train import objective as objective_module

    monkeypatch.setattr(objective_module, "SOURCES", [])
    closed = []

    def opener(net, X, Y, sample_weight, *, validation, client):
        obj = objective_module.InProcess(net, *net.check_data(X.X, Y, sample_weight))
        return objective_module.OpenedData(obj, None, lambda: closed.append(True))

    objective_module.register_source(lambda X: isinstance(X, Elsewhere), opener)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40).astype(float)
    net = dp.Network.layered([3, 4, 1], seed=0)
    ref = net.copy()
    h0 = dp.train(ref, X, Y, optimizer="lbfgs", epochs=5, metric=None)
    h = dp.train(net, Elsewhere(X), Y, optimizer="lbfgs", epochs=5)
    assert h.metric_name is None and h["cost"] == h0["cost"] and np.array_equal(net.params, ref.params)
    assert closed == [True]
    with pytest.raises(ValueError, match=r"metric='accuracy': InProcess does not compute metrics .* use metric=None"):
        dp.train(net, Elsewhere(X), Y, optimizer="lbfgs", epochs=1, metric="accuracy")
    assert closed == [True, True]
    with pytest.raises(ValueError, match="validation_split: this data source does not hold out rows itself"):
        dp.train(net, Elsewhere(X), Y, optimizer="lbfgs", epochs=1, validation_split=0.2)
