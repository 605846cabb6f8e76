"""Each update rule: hand-computed first steps, and agreement with torch.optim when installed."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import optimizers as O

G1 = np.array([0.5, -2.0, 0.0, 1e-3])
G2 = np.array([0.4, 1.0, -0.3, 2e-3])
P0 = np.array([1.0, -1.0, 0.5, 2.0])


def run(opt, grads, lr):
    p = P0.copy()
    opt.init(p.size, p.dtype)
    for g in grads:
        opt.step(p, g.copy(), lr)
    return p


def test_sgd_first_step_by_hand():
    # theta := theta - eta g = (1, -1, 0.5, 2) - 0.1 (0.5, -2, 0, 0.001)
    assert run(O.SGD(), [G1], 0.1) == pytest.approx([0.95, -0.8, 0.5, 1.9999])


def test_momentum_steps_by_hand():
    # step 1: v = g1; theta -= eta v. step 2: v = 0.9 g1 + g2; theta -= eta v
    p = run(O.Momentum(momentum=0.9), [G1, G2], 0.1)
    assert p == pytest.approx(P0 - 0.1 * G1 - 0.1 * (0.9 * G1 + G2))


def test_nesterov_first_step_by_hand():
    # v = g1; theta -= eta (g1 + 0.9 v) = eta 1.9 g1
    assert run(O.Nesterov(momentum=0.9), [G1], 0.1) == pytest.approx(P0 - 0.1 * 1.9 * G1)


def test_adam_first_step_by_hand():
    # m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2: step = eta g / (|g| + eps)
    p = run(O.Adam(), [G1], 0.01)
    assert p == pytest.approx(P0 - 0.01 * G1 / (np.abs(G1) + 1e-8), rel=1e-12)


def test_adamw_decays_before_the_adam_step():
    p = run(O.AdamW(weight_decay=0.1), [G1], 0.01)
    assert p == pytest.approx(P0 * (1 - 0.01 * 0.1) - 0.01 * G1 / (np.abs(G1) + 1e-8), rel=1e-12)


def test_rprop_steps_by_hand():
    # step 1: every step size is eta = 0.01, theta -= sign(g) 0.01
    # step 2: signs of g1*g2: (+, -, 0, +) -> steps (0.012, 0.005, 0.01, 0.012); the flipped g is zeroed
    p = run(O.Rprop(), [G1, G2], 0.01)
    expected = P0 - 0.01 * np.sign(G1) - np.array([0.012, 0.0, -0.01, 0.012]) * np.array([1, 0, 1, 1])
    assert p == pytest.approx(expected)


def test_state_dict_round_trip():
    a = O.Adam()
    pa = run(a, [G1, G2], 0.01)
    b = O.Adam().init(4, np.float64)
    b.load_state_dict(a.state_dict())
    pb = pa.copy()
    a.step(pa, G1.copy(), 0.01)
    b.step(pb, G1.copy(), 0.01)
    assert np.array_equal(pa, pb)


@pytest.mark.parametrize(
    "name,options,match",
    [
        ("adagrad", {}, "unknown optimizer 'adagrad'; expected one of"),
        ("momentum", {"momentum": 1.5}, r"momentum must be in \[0, 1\)"),
        ("adam", {"beta1": -0.1}, r"beta1 must be in \[0, 1\)"),
        ("rprop", {"eta_plus": 0.9}, "eta_minus < 1 < eta_plus"),
        ("sgd", {"nesterov": True}, "optimizer 'sgd'"),
        ("lbfgs", {"memory": 0}, "memory must be an int >= 1"),
    ],
)
def test_bad_optimizer_settings(name, options, match):
    with pytest.raises(ValueError, match=match):
        dp.get_optimizer(name, **options)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), "fast"])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        dp.get_optimizer("sgd", lr)


# --- against torch.optim ----------------------------------------------------------------------


def _torch_run(torch, make, grads):
    p = torch.nn.Parameter(torch.tensor(P0.copy()))
    opt = make([p])
    for g in grads:
        p.grad = torch.tensor(g.copy())
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (lambda: O.SGD(), lambda t, ps: t.optim.SGD(ps, lr=0.05)),
        (lambda: O.Momentum(momentum=0.8), lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.8)),
        (lambda: O.Nesterov(momentum=0.8), lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
        (lambda: O.Adam(beta1=0.8, beta2=0.99), lambda t, ps: t.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99))),
        (lambda: O.AdamW(weight_decay=0.3), lambda t, ps: t.optim.AdamW(ps, lr=0.05, weight_decay=0.3)),
        (lambda: O.Rprop(), lambda t, ps: t.optim.Rprop(ps, lr=0.05)),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw", "rprop"],
)
def test_matches_torch_optim(ours, theirs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=4) for _ in range(12)]
    grads[3][1] = -grads[2][1] * 3  # a sign flip for rprop
    mine = run(ours(), grads, 0.05)
    ref = _torch_run(torch, lambda ps: theirs(torch, ps), grads)
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


def test_a_folding_optimizer_without_its_own_step_scaled_gets_eta_g_through_step():
    class PlainDescent(dp.Optimizer):  # linear in eta g, so it may let the engine fold eta in
        name = "plain"
        folds_learning_rate = True

        def step(self, params, grad, lr):
            self.t += 1
            params -= lr * grad

    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    a = dp.Network.layered([3, 4, 2], output="identity", weight_decay=0.1, seed=0)
    b = a.copy()
    dp.train(a, X, Y, optimizer=PlainDescent(0.05), batch_size=8, epochs=3, seed=1, metric=None)
    dp.train(b, X, Y, optimizer="sgd", learning_rate=0.05, batch_size=8, epochs=3, seed=1, metric=None)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-14)
    assert a.training_state.optimizer.t == 12


def test_lbfgs_runs_one_blas_pool_at_a_time(monkeypatch):
    """SciPy's L-BFGS-B does its own algebra with every BLAS pool at one thread; each J-and-gradient
    evaluation and each callback gets the caller's thread counts back; they are restored at the end."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from deltaprop.train import lbfgs
    from deltaprop.train.objective import InProcess

    def counts():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    limits = threadpool_limits(limits=2, user_api="blas")  # the caller's setting, restored at the end
    caller = counts()
    seen = {"solver": [], "objective": [], "callback": []}
    real_minimize = lbfgs.minimize

    def watching_minimize(*args, **kwargs):
        seen["solver"].append(counts())
        return real_minimize(*args, **kwargs)

    monkeypatch.setattr(lbfgs, "minimize", watching_minimize)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(50, 3)), rng.normal(size=(50, 1))
    net = dp.Network.layered([3, 4, 1], output="identity", seed=0)
    objective = InProcess(net, X, Y)

    def fun(x):
        seen["objective"].append(counts())
        J, g = objective.loss_and_grad(x)
        return J, g

    def callback(x, J):
        seen["callback"].append(counts())
        return False

    try:
        lbfgs.LBFGS().solve(fun, net.params.copy(), max_iter=5, callback=callback)
        after = counts()
    finally:
        limits.restore_original_limits()
    assert seen["solver"] == [[1] * len(caller)]
    assert seen["objective"] and all(c == caller for c in seen["objective"])
    assert seen["callback"] and all(c == caller for c in seen["callback"])
    assert after == caller
