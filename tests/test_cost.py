"""J equals the seed's formula computed independently; the costs stay finite at the extremes."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.core.activations import BUILTIN_NAMES


def naive_forward(net, X):
    """Layered forward pass with explicit loops over layers, written independently of the engine."""
    a = X
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "identity": lambda z: z,
            "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)}
    for W, b, act in zip(net.W, net.b, net.activations):
        a = acts[act](np.array([[sum(W[i, j] * row[j] for j in range(W.shape[1])) + b[i]
                                 for i in range(W.shape[0])] for row in a]))
    return a


def test_squared_cost_is_the_seed_formula():
    rng = np.random.default_rng(0)
    lam = 0.3
    net = dp.Network.layered([3, 4, 2], hidden="tanh", output="sigmoid", weight_decay=lam, seed=1)
    X = rng.normal(size=(7, 3))
    Y = rng.uniform(size=(7, 2))
    h = naive_forward(net, X)
    m = X.shape[0]
    # J = [(1/m) sum_i 1/2 ||h(x_i) - y_i||^2] + lambda/2 sum_l sum_ij W(l)_ij^2, biases excluded
    data = sum(0.5 * sum((h[i, k] - Y[i, k]) ** 2 for k in range(2)) for i in range(m)) / m
    decay = lam / 2 * sum(w**2 for W in net.W for w in W.ravel())
    assert net.cost_value(X, Y) == pytest.approx(data + decay, rel=1e-13)
    # biases are not decayed: changing them does not change the decay term
    net.b[0][...] = 100.0
    h = naive_forward(net, X)
    data = sum(0.5 * sum((h[i, k] - Y[i, k]) ** 2 for k in range(2)) for i in range(m)) / m
    assert net.cost_value(X, Y) == pytest.approx(data + decay, rel=1e-13)


def test_squared_cost_is_not_averaged_over_outputs():
    net = dp.Network.layered([1, 3], output="identity", seed=0)
    net.params[:] = 0.0
    # h = 0 for every input; y = (1, 1, 1): J = 1/2 * 3 = 1.5, not 0.5
    assert net.cost_value([[1.0]], [[1.0, 1.0, 1.0]]) == pytest.approx(1.5)


def test_softmax_cross_entropy_matches_its_definition():
    rng = np.random.default_rng(2)
    net = dp.Network.layered([4, 5, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=3)
    X = rng.normal(size=(6, 4))
    Y = np.eye(3)[rng.integers(0, 3, 6)]
    h = naive_forward(net, X)
    expected = -np.mean(np.sum(Y * np.log(h), axis=1))
    assert net.cost_value(X, Y) == pytest.approx(expected, rel=1e-12)


def test_sigmoid_cross_entropy_matches_its_definition():
    rng = np.random.default_rng(4)
    net = dp.Network.layered([4, 3, 2], output="sigmoid", cost="cross_entropy", seed=5)
    X = rng.normal(size=(6, 4))
    Y = rng.integers(0, 2, size=(6, 2)).astype(float)
    h = naive_forward(net, X)
    expected = -np.mean(np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h), axis=1))
    assert net.cost_value(X, Y) == pytest.approx(expected, rel=1e-12)


def test_sample_weights_give_the_weighted_mean():
    rng = np.random.default_rng(6)
    net = dp.Network.layered([3, 2], output="identity", seed=0)
    X = rng.normal(size=(4, 3))
    Y = rng.normal(size=(4, 2))
    w = np.array([1.0, 0.0, 3.0, 0.0])
    # weight 1 and 3 on rows 0 and 2: (1 * L0 + 3 * L2) / 4, same as repeating row 2 three times
    rep = net.cost_value(X[[0, 2, 2, 2]], Y[[0, 2, 2, 2]])
    assert net.cost_value(X, Y, sample_weight=w) == pytest.approx(rep, rel=1e-13)
    _, g = net.cost_and_gradient(X, Y, sample_weight=w)
    _, g_rep = net.cost_and_gradient(X[[0, 2, 2, 2]], Y[[0, 2, 2, 2]])
    np.testing.assert_allclose(g, g_rep, rtol=1e-12)


@pytest.mark.parametrize("z", [1e4, -1e4])
def test_costs_finite_at_saturated_outputs(z):
    for output in ("sigmoid", "softmax"):
        net = dp.Network.layered([1, 2], output=output, cost="cross_entropy", seed=0)
        net.params[:] = 0.0
        net.b[0][...] = [z, -z]
        y = np.array([[0.0, 1.0]]) if output == "softmax" else np.array([[0.0, 1.0]])
        J, g = net.cost_and_gradient([[0.0]], y)
        assert np.isfinite(J) and np.isfinite(g).all()
        # the loss grows linearly in |z| when the wrong class saturates, never inf
        if z > 0:
            assert J == pytest.approx(2e4 if output == "softmax" else 2e4, rel=1e-12)


@pytest.mark.parametrize("act", dp.available_activations())
def test_activations_finite_at_extreme_inputs(act):
    if act not in BUILTIN_NAMES:
        pytest.skip("user activation")
    a = dp.get_activation(act)
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    out = a.f(z)
    assert np.isfinite(out).all()
    g = a.backward(z, out, np.ones_like(z))
    assert np.isfinite(g).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", BUILTIN_NAMES)
def test_every_forward_path_equals_f_everywhere_without_warnings(act, dtype):
    """The two ways a batch's forward pass computes a = f(z + b): the activation's forward_into (the NumPy
    path) and the compiled bias_activate (sigmoid and tanh there take NumPy's vectorised e^x and tanh). Both
    must equal f to a few units in the last place over the whole range, saturate exactly, and warn about
    nothing."""
    import warnings

    from deltaprop.core import compiled

    a = dp.get_activation(act)
    far = {np.float32: [-1e30, -1e4, -100.0, -88.8, -87.0], np.float64: [-1e300, -1e4, -800.0, -710.0, -700.0]}[dtype]
    z = np.concatenate([far, np.linspace(-30, 30, 121), [-x for x in far]]).astype(dtype).reshape(-1, 1)
    z = np.hstack([z, z[::-1]]) if act == "softmax" else z
    want = np.asarray(a.f(z.astype(np.float64)))
    got = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got["forward_into"] = a.forward_into(z, np.empty_like(z))
        if compiled.available():
            zb = z - np.array(0.25, dtype)  # the compiled pass adds the bias itself
            out = np.empty_like(z)
            compiled.bias_activate(a.kernel_code, zb, np.full(z.shape[1], 0.25, dtype), out)
            got["compiled"] = out
    eps = np.finfo(dtype).eps
    for path, g in got.items():
        assert g.dtype == dtype and np.isfinite(g).all(), path
        tol = 4 * eps if path == "forward_into" else 64 * eps  # z - 0.25 + 0.25 rounds z a little
        np.testing.assert_allclose(g, want, rtol=tol, atol=np.finfo(dtype).tiny, err_msg=path)
        if act in ("sigmoid", "tanh"):
            assert g[0, 0] == (0.0 if act == "sigmoid" else -1.0) and g[-1, 0] == 1.0, path


@pytest.mark.parametrize("act", [a for a in BUILTIN_NAMES if a != "softmax"])
def test_each_derivative_against_central_differences(act):
    a = dp.get_activation(act)
    z = np.linspace(-4, 4, 41).reshape(1, -1) + 0.013  # avoid relu's kink at exactly 0
    h = 1e-6
    numeric = (a.f(z + h) - a.f(z - h)) / (2 * h)
    np.testing.assert_allclose(a.fprime(z, a.f(z)), numeric, atol=1e-8)
