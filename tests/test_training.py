"""The training loop: both seeds' update rules exactly, L-BFGS, digits, early stopping,
divergence, warm start and checkpoints, schedules, callbacks, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deltaprop as dp
from conftest import random_dag

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def g(x):
    return 1 / (1 + math.exp(-x))


def test_online_epoch_equals_seed_001_rule_by_hand():
    """One epoch with batch_size=1, shuffle=False is AIMA's update, unit by unit:
    in_k = sum_i w_ik a_i (+ w_0k a_0 with a_0 = 1), a_k = g(in_k),
    Delta_k = g'(in_k) (t_k - a_k) at the output, Delta_j = g'(in_j) sum_k w_jk Delta_k,
    w_ik := w_ik + eta a_i Delta_k."""
    net = dp.Network.layered([2, 2, 1], seed=3)  # sigmoid everywhere, squared cost
    eta = 0.7
    # w[(i, k)]: weight from unit i into unit k; units: x1, x2 (inputs), h1, h2, o; "1" is a_0
    w = {}
    for k, hk in enumerate(("h1", "h2")):
        for i, xi in enumerate(("x1", "x2")):
            w[(xi, hk)] = net.W[0][k, i]
        w[("1", hk)] = net.b[0][k]
    for i, hi in enumerate(("h1", "h2")):
        w[(hi, "o")] = net.W[1][0, i]
    w[("1", "o")] = net.b[1][0]

    for (x1, x2), (t,) in zip(XOR_X, XOR_Y):
        a = {"1": 1.0, "x1": x1, "x2": x2}
        inp = {}
        for k in ("h1", "h2"):
            inp[k] = w[("x1", k)] * a["x1"] + w[("x2", k)] * a["x2"] + w[("1", k)] * a["1"]
            a[k] = g(inp[k])
        inp["o"] = w[("h1", "o")] * a["h1"] + w[("h2", "o")] * a["h2"] + w[("1", "o")] * a["1"]
        a["o"] = g(inp["o"])
        Delta = {"o": a["o"] * (1 - a["o"]) * (t - a["o"])}  # g'(in_k) (t_k - a_k)
        for j in ("h1", "h2"):
            Delta[j] = a[j] * (1 - a[j]) * w[(j, "o")] * Delta["o"]  # g'(in_j) sum_k w_jk Delta_k
        for (i, k) in list(w):
            w[(i, k)] += eta * a[i] * Delta[k]  # w_ik := w_ik + eta a_i Delta_k

    dp.train(net, XOR_X, XOR_Y, optimizer="sgd", learning_rate=eta, batch_size=1, shuffle=False, epochs=1,
             metric=None)
    assert net.W[0][0, 0] == pytest.approx(w[("x1", "h1")], abs=1e-12)
    assert net.W[0][1, 1] == pytest.approx(w[("x2", "h2")], abs=1e-12)
    assert net.b[0] == pytest.approx([w[("1", "h1")], w[("1", "h2")]], abs=1e-12)
    assert net.W[1][0] == pytest.approx([w[("h1", "o")], w[("h2", "o")]], abs=1e-12)
    assert net.b[1][0] == pytest.approx(w[("1", "o")], abs=1e-12)


def test_full_batch_step_is_W_minus_alpha_dJdW_with_weight_decay():
    rng = np.random.default_rng(0)
    net = dp.Network.layered([4, 5, 3], hidden="tanh", output="identity", weight_decay=0.3, seed=1)
    X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    alpha = 0.05
    W0 = [W.copy() for W in net.W]
    b0 = [b.copy() for b in net.b]
    tr = net.backprop(X, Y)
    dp.train(net, X, Y, optimizer="sgd", learning_rate=alpha, batch_size=None, epochs=1, metric=None)
    for l in range(2):
        np.testing.assert_allclose(net.W[l], W0[l] - alpha * tr.dW[l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.b[l], b0[l] - alpha * tr.db[l], rtol=0, atol=1e-12)
    # and dW includes lambda W, db does not: check against the unregularised gradient
    plain = dp.Network.layered([4, 5, 3], hidden="tanh", output="identity", seed=1)
    trp = plain.backprop(X, Y)
    np.testing.assert_allclose(tr.dW[0], trp.dW[0] + 0.3 * W0[0], atol=1e-14)
    np.testing.assert_allclose(tr.db[0], trp.db[0], atol=1e-14)


@pytest.mark.parametrize("weighted", [False, True])
def test_sgd_step_with_the_learning_rate_folded_in_is_theta_minus_eta_g(weighted):
    # plain SGD has the engine return eta g (eta rides with the 1/m); every term must carry it,
    # including weight decay, the l1 term and sample weights, on a DAG with masks and skips
    rng = np.random.default_rng(3)
    net = random_dag(rng, "tanh", "sigmoid", "cross_entropy", weight_decay=0.2, l1=0.05, two_outputs=True)
    X = rng.normal(size=(17, net.n_inputs))
    Y = rng.integers(0, 2, size=(17, net.n_outputs)).astype(float)
    w = rng.random(17) if weighted else None
    before = net.params.copy()
    J, g = net.cost_and_gradient(X, Y, sample_weight=w)
    dp.train(net, X, Y, optimizer="sgd", learning_rate=0.07, batch_size=None, epochs=1, metric=None,
             sample_weight=w)
    np.testing.assert_allclose(net.params, before - 0.07 * g, rtol=0, atol=1e-14)
    assert net.training_state.optimizer.t == 1


def test_lbfgs_learns_xor_for_most_seeds():
    results = []
    for seed in range(10):
        net = dp.Network.layered([2, 4, 1], seed=seed)
        history = dp.train(net, XOR_X, XOR_Y, optimizer="lbfgs", epochs=500, metric=None)
        results.append(net.cost_value(XOR_X, XOR_Y))
        assert history.stopped in ("converged", "epochs")
    assert sum(J < 1e-3 for J in results) >= 8, results


def test_digits_held_out_accuracy():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = digits.data / 16.0
    Y = np.eye(10)[digits.target]
    perm = np.random.default_rng(0).permutation(len(X))
    tr, te = perm[:1400], perm[1400:]
    net = dp.Network.layered([64, 32, 10], hidden="tanh", output="softmax", cost="cross_entropy", seed=0)
    history = dp.train(net, X[tr], Y[tr], optimizer="adam", learning_rate=0.01, batch_size=32, epochs=40,
                       seed=0, validation_split=0.1, early_stopping=5)
    accuracy = np.mean(net.predict(X[te]).argmax(axis=1) == digits.target[te])
    assert accuracy >= 0.96, (accuracy, history.best_epoch)


class Recorder(dp.Callback):
    def __init__(self):
        self.params, self.epochs, self.batches = {}, [], 0

    def on_epoch_end(self, run, epoch, record):
        self.params[epoch] = run.net.params.copy()
        self.epochs.append(epoch)

    def on_batch_end(self, run, epoch, step, cost):
        self.batches += 1


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    Y = X @ rng.normal(size=(3, 1)) + 0.5 * rng.normal(size=(60, 1))
    Xv = rng.normal(size=(20, 3))
    Yv = rng.normal(size=(20, 1))  # unrelated: the validation cost soon rises
    net = dp.Network.layered([3, 30, 1], hidden="tanh", output="identity", seed=0)
    rec = Recorder()
    history = dp.train(net, X, Y, optimizer="adam", learning_rate=0.05, epochs=200, validation=(Xv, Yv),
                       early_stopping=3, callbacks=[rec], seed=0)
    assert history.stopped == "early_stopping"
    best = int(np.argmin(history["val_cost"])) + 1
    assert history.best_epoch == best
    assert len(history) == best + 3
    assert np.array_equal(net.params, rec.params[best])
    assert rec.batches == len(history) * 2  # 60 examples, batches of 32


def test_divergence_raises_and_leaves_finite_parameters():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 4)) * 10
    Y = rng.normal(size=(50, 2)) * 10
    net = dp.Network.layered([4, 8, 2], hidden="relu", output="identity", seed=0)
    with pytest.raises(dp.DivergenceError, match=r"diverged at epoch \d+, step \d+.*smaller learning rate") as info:
        dp.train(net, X, Y, optimizer="sgd", learning_rate=1e3, batch_size=5, epochs=50)
    assert info.value.epoch >= 1 and info.value.step >= 1
    assert np.isfinite(net.params).all()
    assert math.isfinite(net.cost_value(X, Y))


def test_float32_divergence_fails_cleanly():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(64, 4)).astype(np.float32) * 100
    Y = rng.normal(size=(64, 1)).astype(np.float32) * 100
    net = dp.Network.layered([4, 16, 1], hidden="relu", output="identity", dtype="float32", seed=0)
    with pytest.raises(dp.DivergenceError):
        dp.train(net, X, Y, optimizer="sgd", learning_rate=1e4, epochs=20)
    assert np.isfinite(net.params).all()


@pytest.mark.parametrize("shuffle", [False, True])
def test_warm_start_two_calls_of_five_equal_one_of_ten(shuffle):
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(100, 5)), rng.normal(size=(100, 2))
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=16, shuffle=shuffle, seed=7, metric=None)
    a = dp.Network.layered([5, 6, 2], hidden="tanh", output="identity", seed=0)
    dp.train(a, X, Y, epochs=10, **kw)
    b = dp.Network.layered([5, 6, 2], hidden="tanh", output="identity", seed=0)
    dp.train(b, X, Y, epochs=5, **kw)
    assert b.training_state.optimizer.t == 35  # Adam's moments and step count carried on
    history = dp.train(b, X, Y, epochs=5, **kw)
    assert np.array_equal(a.params, b.params)
    assert history["epoch"] == list(range(1, 11))
    # warm_start=False resets the optimizer: the result differs
    c = dp.Network.layered([5, 6, 2], hidden="tanh", output="identity", seed=0)
    dp.train(c, X, Y, epochs=5, **kw)
    dp.train(c, X, Y, epochs=5, warm_start=False, **kw)
    assert not np.array_equal(a.params, c.params)


def test_captured_state_resumes_bit_identically():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(80, 3)), rng.normal(size=(80, 1))
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=8, seed=3, schedule="plateau", metric=None)
    a = dp.Network.layered([3, 4, 1], hidden="tanh", output="identity", seed=0)
    dp.train(a, X, Y, epochs=4, **kw)
    saved = dp.capture_state(a)
    dp.train(a, X, Y, epochs=4, **kw)
    b = dp.Network.layered([3, 4, 1], hidden="tanh", output="identity", seed=99)
    dp.restore_state(b, saved)
    dp.train(b, X, Y, epochs=4, **kw)
    assert np.array_equal(a.params, b.params)
    assert b.training_state.epoch == 8


def test_same_seed_same_parameters_bit_for_bit():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    out = []
    for _ in range(2):
        net = dp.Network.layered([3, 5, 2], hidden="relu", output="identity", seed=1)
        dp.train(net, X, Y, optimizer="momentum", learning_rate=0.01, batch_size=7, epochs=3, seed=11,
                 validation_split=0.2)
        out.append(net.params.copy())
    assert np.array_equal(out[0], out[1])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam", "adamw", "rprop", "lbfgs"])
def test_every_optimizer_lowers_J_and_keeps_masks(optimizer):
    rng = np.random.default_rng(7)
    net = random_dag(rng, "tanh", "identity", "squared", weight_decay=0.01)
    X = rng.normal(size=(40, net.n_inputs))
    Y = rng.normal(size=(40, net.n_outputs)) * 0.5
    J0 = net.cost_value(X, Y)
    batch = "auto" if optimizer in ("rprop", "lbfgs") else 8
    lr = {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adam": 0.01, "adamw": 0.01}.get(optimizer)
    dp.train(net, X, Y, optimizer=optimizer, learning_rate=lr, batch_size=batch, epochs=30, seed=0)
    assert net.cost_value(X, Y) < J0
    assert np.all(net.params[~net.free] == 0)


def test_adamw_never_decays_biases():
    net = dp.Network.layered([2, 3, 1], seed=0)
    net.b[0][...] = 1.0
    X = np.zeros((4, 2))  # inputs of zero: no gradient reaches W(1); its change is decay alone
    dp.train(net, X, np.full(4, 0.5), optimizer=dp.optimizers.AdamW(0.1, weight_decay=0.5), batch_size=None,
             epochs=1, metric=None)
    W_before = dp.Network.layered([2, 3, 1], seed=0).W[0]
    np.testing.assert_allclose(net.W[0], W_before * (1 - 0.1 * 0.5))


def test_sample_weights_select_examples():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))
    w = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1.0])
    a = dp.Network.layered([2, 3, 1], output="identity", seed=0)
    dp.train(a, X, Y, optimizer="sgd", batch_size=None, epochs=5, sample_weight=w, metric=None)
    b = dp.Network.layered([2, 3, 1], output="identity", seed=0)
    dp.train(b, X[w > 0], Y[w > 0], optimizer="sgd", batch_size=None, epochs=5, metric=None)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)


def test_schedules():
    S = dp.schedules
    assert [S.Step(2, 0.5).rate(e, 1.0) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert S.Exponential(0.9).rate(2, 1.0) == pytest.approx(0.81)
    assert S.InverseScaling(0.5).rate(3, 1.0) == pytest.approx(0.5)
    p = S.ReduceOnPlateau(factor=0.1, patience=1)
    for cost in (1.0, 0.5, 0.6, 0.7):  # two epochs without improvement > patience 1
        p.observe(cost)
    assert p.rate(4, 1.0) == pytest.approx(0.1)
    history = dp.train(dp.Network.layered([2, 2, 1], seed=0), XOR_X, XOR_Y, optimizer="sgd",
                       learning_rate=1.0, schedule=S.Step(1, 0.5), epochs=3, batch_size=None)
    assert history["learning_rate"] == [1.0, 0.5, 0.25]
    with pytest.raises(ValueError, match="unknown schedule 'cosine'"):
        dp.get_schedule("cosine")


def test_callback_can_stop_and_max_time():
    class StopAt2(dp.Callback):
        def on_epoch_end(self, run, epoch, record):
            if epoch == 2:
                run.stop_training = True

    history = dp.train(dp.Network.layered([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10, callbacks=[StopAt2()])
    assert len(history) == 2 and history.stopped == "callback"
    history = dp.train(dp.Network.layered([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10**6, batch_size=1,
                       max_time=0.2, metric=None)
    assert history.stopped == "max_time" and len(history) < 10**6


def test_history_records_every_column():
    history = dp.train(dp.Network.layered([2, 2, 1], seed=0), np.tile(XOR_X, (5, 1)), np.tile(XOR_Y, (5, 1)),
                       epochs=3, validation_split=0.25, seed=0)
    assert len(history) == 3
    for key in ("epoch", "cost", "val_cost", "metric", "learning_rate", "seconds"):
        assert len(history[key]) == 3
    assert history.metric_name == "r2"
    with pytest.raises(KeyError, match="no column 'loss'"):
        history["loss"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(epochs=0), "epochs must be an int >= 1, got 0"),
        (dict(batch_size=0), "batch_size must be an int >= 1"),
        (dict(optimizer="rprop", batch_size=8), "'rprop' is a full-batch method; use batch_size=None"),
        (dict(early_stopping=3), "early_stopping watches the validation cost"),
        (dict(optimizer="nadam"), "unknown optimizer 'nadam'"),
        (dict(learning_rate=-1.0), "learning_rate must be a finite number > 0, got -1.0"),
        (dict(validation_split=1.5), r"validation_split must be a fraction in \(0, 1\)"),
        (dict(validation_split=0.1), "leaves 0 for validation"),
        (dict(validation=(np.zeros((2, 3)), np.zeros(2))), "validation: X has 3 features"),
        (dict(validation=(XOR_X, XOR_Y), validation_split=0.5), "not both"),
        (dict(max_time=0), "max_time must be a number of seconds > 0"),
        (dict(metric="f1"), "metric must be 'auto'"),
        (dict(callbacks=[print]), "callbacks must be deltaprop Callback instances"),
    ],
)
def test_bad_training_arguments(kwargs, match):
    net = dp.Network.layered([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match=match):
        dp.train(net, XOR_X, XOR_Y, **kwargs)


class InterruptAt(dp.Callback):
    """Stops between two steps, as the CLI does on Ctrl-C."""

    def __init__(self, epoch, step):
        self.at = (epoch, step)

    def on_batch_end(self, run, epoch, step, cost):
        if (epoch, step) == self.at:
            run.stop_training = True


@pytest.mark.parametrize("shuffle", [True, False])
def test_interrupted_mid_epoch_resumes_bit_identically(shuffle):
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(90, 4)), rng.normal(size=(90, 2))
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=8, seed=5, shuffle=shuffle, validation_split=0.2,
              early_stopping=50)
    a = dp.Network.layered([4, 6, 2], hidden="tanh", output="identity", seed=0)
    ha = dp.train(a, X, Y, epochs=6, **kw)
    b = dp.Network.layered([4, 6, 2], hidden="tanh", output="identity", seed=0)
    hb = dp.train(b, X, Y, epochs=6, callbacks=[InterruptAt(3, 4)], **kw)
    assert hb.stopped == "interrupted" and len(hb) == 2
    saved = dp.capture_state(b)
    c = dp.Network.layered([4, 6, 2], hidden="tanh", output="identity", seed=1)
    dp.restore_state(c, saved)
    hc = dp.train(c, X, Y, epochs=4, **kw)  # finishes epoch 3, then 4..6
    assert np.array_equal(a.params, c.params)
    assert hc["cost"] == ha["cost"] and hc["val_cost"] == ha["val_cost"]
    with pytest.raises(ValueError, match="resume it with the same data and batch size"):
        d = dp.Network.layered([4, 6, 2], hidden="tanh", output="identity", seed=1)
        dp.restore_state(d, saved)
        dp.train(d, X, Y, epochs=4, **{**kw, "batch_size": 16})


def _overfitting_problem(seed, *, early_stopping):
    """A linear target, unrelated validation data (its cost soon rises) and Adam settings."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 3))
    Y = X @ rng.normal(size=(3, 1))
    Xv, Yv = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    return X, Y, dict(optimizer="adam", learning_rate=0.05, validation=(Xv, Yv), early_stopping=early_stopping,
                      seed=0)


class InterruptAtEpochEnd(dp.Callback):
    """Ctrl-C arriving while an epoch's end is recorded (the CLI's checkpoint is written then)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, run, epoch, record):
        if epoch == self.epoch:
            run.interrupt()


def test_interrupt_at_an_epoch_end_keeps_the_state_not_the_best_epoch():
    X, Y, kw = _overfitting_problem(12, early_stopping=100)
    a = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    ha = dp.train(a, X, Y, epochs=12, **kw)
    val = ha["val_cost"]
    # an epoch whose validation cost is not the best so far: there a stop would restore an older epoch
    k = next(e for e in range(2, 12) if val[e - 1] > min(val[: e - 1]))
    b = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    hb = dp.train(b, X, Y, epochs=12, callbacks=[InterruptAtEpochEnd(k)], **kw)
    assert hb.stopped == "interrupted" and len(hb) == k and hb.best_epoch is None
    c = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=1)
    dp.restore_state(c, dp.capture_state(b))
    hc = dp.train(c, X, Y, epochs=12 - k, **kw)
    assert np.array_equal(a.params, c.params) and hc.best_epoch == ha.best_epoch


def test_finish_run_ends_a_restored_finished_run_as_train_did():
    X, Y, kw = _overfitting_problem(12, early_stopping=100)
    saved = {}

    class Checkpoint(dp.Callback):  # what the CLI's checkpointer keeps: the state at each epoch's end
        def on_epoch_end(self, run, epoch, record):
            saved["last"] = dp.capture_state(run.net)

    probe = dp.train(dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0), X, Y, epochs=12,
                     **kw)["val_cost"]
    n = next(e for e in range(2, 12) if probe[e - 1] > min(probe[: e - 1]))  # the last epoch is not the best
    a = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    ha = dp.train(a, X, Y, epochs=n, callbacks=[Checkpoint()], **kw)
    assert ha.best_epoch < n
    c = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=1)
    dp.restore_state(c, saved["last"])
    assert not np.array_equal(a.params, c.params)
    hc = dp.finish_run(c, early_stopping=100)
    assert np.array_equal(a.params, c.params) and hc.best_epoch == ha.best_epoch and hc.stopped == "epochs"


def test_early_stopping_survives_a_checkpoint():
    X, Y, kw = _overfitting_problem(10, early_stopping=3)
    a = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    ha = dp.train(a, X, Y, epochs=100, **kw)
    assert ha.stopped == "early_stopping"
    b = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    dp.train(b, X, Y, epochs=ha.best_epoch + 1, **kw)  # 'crash' one epoch after the best one
    c = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    dp.restore_state(c, dp.capture_state(b))
    hc = dp.train(c, X, Y, epochs=100, **kw)
    assert hc.stopped == "early_stopping" and hc.best_epoch == ha.best_epoch
    assert np.array_equal(a.params, c.params)


def test_validation_split_is_the_same_across_warm_starts():
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(50, 2)), rng.normal(size=(50, 1))
    a = dp.Network.layered([2, 3, 1], output="identity", seed=0)
    dp.train(a, X, Y, epochs=4, validation_split=0.3, seed=1, metric=None)
    b = dp.Network.layered([2, 3, 1], output="identity", seed=0)
    dp.train(b, X, Y, epochs=2, validation_split=0.3, seed=1, metric=None)
    dp.train(b, X, Y, epochs=2, validation_split=0.3, seed=1, metric=None)
    assert np.array_equal(a.params, b.params)


def test_final_record_is_the_restored_epochs_and_a_later_call_forgets_it():
    X, Y, kw = _overfitting_problem(10, early_stopping=3)
    net = dp.Network.layered([3, 20, 1], hidden="tanh", output="identity", seed=0)
    h = dp.train(net, X, Y, epochs=100, **kw)
    assert h.stopped == "early_stopping" and h.best_epoch < len(h)  # else this test could not fail
    kept = h.final_record()
    assert kept["epoch"] == h.best_epoch and kept["val_cost"] == min(h["val_cost"]) != h.records[-1]["val_cost"]
    # a further call without early stopping keeps its last epoch's parameters: no best epoch is claimed
    kw.pop("early_stopping")
    h = dp.train(net, X, Y, epochs=2, **kw)
    assert h.best_epoch is None and h.final_record() is h.records[-1]
    assert dp.History().final_record() is None
