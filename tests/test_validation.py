"""Every public function rejects bad shapes, dtypes and values with a ValueError that says what came."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture
def net():
    return dp.Network.layered([3, 4, 2], seed=0)


X_OK = np.zeros((5, 3))
Y_OK = np.zeros((5, 2))


@pytest.mark.parametrize(
    "X,match",
    [
        (np.zeros((5, 4)), "X has 4 features, but the network was built for 3"),
        (np.zeros(3), r"X must be 2-D .* got 1-D shape \(3,\)"),
        (np.zeros((2, 3, 1)), "X must be 2-D"),
        (np.zeros((0, 3)), "X has 0 samples"),
        (np.array([[1.0, np.nan, 0.0]] * 5), r"X contains nan at \[0, 1\]"),
        (np.array([[1.0, 0.0, np.inf]] * 5), r"X contains inf at \[0, 2\]"),
        (np.zeros((5, 3), dtype=complex), "complex"),
        (np.array([["a", "b", "c"]] * 5), "expected real numbers"),
        (np.array([[object(), 1, 2]] * 5, dtype=object), "object"),
        ([[1, 2], [3, 4, 5]], "rectangular"),
        (None, "X is None"),
    ],
)
def test_bad_X(net, X, match):
    for call in (
        lambda: net.cost_and_gradient(X, Y_OK),
        lambda: net.backprop(X, Y_OK),
        lambda: net.cost_value(X, Y_OK),
        lambda: dp.gradcheck(net, X, Y_OK),
    ):
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(ValueError, match=match):
        net.predict(X)


@pytest.mark.parametrize(
    "Y,match",
    [
        (np.zeros((5, 3)), r"Y must have shape \(n_samples, 2\) .* got shape \(5, 3\)"),
        (np.zeros(5), r"Y must have shape \(n_samples, 2\)"),
        (np.zeros((4, 2)), "Y has 4 rows but X has 5"),
        (np.full((5, 2), np.nan), "Y contains nan"),
    ],
)
def test_bad_Y(net, Y, match):
    with pytest.raises(ValueError, match=match):
        net.cost_and_gradient(X_OK, Y)
    with pytest.raises(ValueError, match=match):
        net.backprop(X_OK, Y)


def test_one_dimensional_y_accepted_for_one_output():
    net = dp.Network.layered([2, 1], seed=0)
    J1, g1 = net.cost_and_gradient(np.ones((3, 2)), np.ones(3))
    J2, g2 = net.cost_and_gradient(np.ones((3, 2)), np.ones((3, 1)))
    assert J1 == J2 and np.array_equal(g1, g2)


@pytest.mark.parametrize(
    "w,match",
    [
        (np.ones(4), r"sample_weight must have shape \(5,\)"),
        (np.array([1, 1, -1, 1, 1.0]), r"sample_weight must be >= 0, got -1.0 at \[2\]"),
        (np.zeros(5), "all zeros"),
        (np.array([1, 1, np.nan, 1, 1]), "sample_weight contains nan"),
    ],
)
def test_bad_sample_weight(net, w, match):
    with pytest.raises(ValueError, match=match):
        net.cost_and_gradient(X_OK, Y_OK, sample_weight=w)


def test_cross_entropy_targets_checked():
    net = dp.Network.layered([2, 3], output="softmax", cost="cross_entropy", seed=0)
    with pytest.raises(ValueError, match="row 0 sums to 2"):
        net.cost_and_gradient(np.zeros((1, 2)), [[1.0, 1.0, 0.0]])
    net = dp.Network.layered([2, 3], output="sigmoid", cost="cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got values from -1 to 1"):
        net.cost_and_gradient(np.zeros((1, 2)), [[1.0, -1.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(sizes=[3]), "at least two layer sizes"),
        (dict(sizes=[3, 0, 2]), r"units must be a positive int, got 0"),
        (dict(sizes=[3, 2.5, 2]), "units must be a positive int"),
        (dict(sizes=[3, 4, 2], hidden="swish"), "unknown activation 'swish'; expected one of"),
        (dict(sizes=[3, 4, 2], hidden="softmax"), "may only be used on output blocks"),
        (dict(sizes=[3, 4, 4, 2], hidden=["tanh"]), "hidden lists 1 activations but the network has 2"),
        (dict(sizes=[3, 2], output="identity", cost="cross_entropy"), "cost 'cross_entropy' needs 'sigmoid' or 'softmax'"),
        (dict(sizes=[3, 2], cost="hinge"), "unknown cost 'hinge'"),
        (dict(sizes=[3, 2], dtype="float16"), "dtype must be 'float32' or 'float64'"),
        (dict(sizes=[3, 2], weight_decay=-1), "weight_decay must be a finite number >= 0, got -1"),
        (dict(sizes=[3, 2], l1=float("nan")), "l1 must be a finite number >= 0"),
        (dict(sizes=[3, 2], seed=-5), "seed must be a non-negative int"),
        (dict(sizes=[3, 2], seed="abc"), "seed must be"),
    ],
)
def test_bad_construction(kwargs, match):
    sizes = kwargs.pop("sizes")
    with pytest.raises(ValueError, match=match):
        dp.Network.layered(sizes, **kwargs)


@pytest.mark.parametrize(
    "blocks,edges,outputs,match",
    [
        ([dp.Block(2), dp.Block(2, "tanh")], [dp.Edge(1, 0)], None, "from a lower to a higher block"),
        ([dp.Block(2), dp.Block(2, "tanh")], [dp.Edge(0, 1), dp.Edge(0, 1)], None, "duplicates the edge 0 -> 1"),
        ([dp.Block(2), dp.Block(2, "tanh")], [dp.Edge(0, 5)], None, r"numbered 0..1"),
        ([dp.Block(2), dp.Block(2, "tanh"), dp.Block(1, "tanh")], [dp.Edge(0, 2)], None, "block 1 has no incoming edge"),
        ([dp.Block(2), dp.Block(2, "tanh"), dp.Block(1, "tanh")], [dp.Edge(0, 1), dp.Edge(0, 2)], None,
         "block 1 feeds no other block and is not an output"),
        ([dp.Block(2), dp.Block(2, "tanh")], [dp.Edge(0, 1, np.ones((3, 3)))], None, r"mask must have shape \(2, 2\)"),
        ([dp.Block(2, "tanh"), dp.Block(2, "tanh")], [dp.Edge(0, 1)], None, "input and takes no activation"),
        ([dp.Block(2), dp.Block(2, "tanh")], [dp.Edge(0, 1)], [0], "outputs must be distinct block indices"),
        ([dp.Block(2), dp.Block(2, "tanh", bias=np.ones(3))], [dp.Edge(0, 1)], None, r"bias mask must have shape \(2,\)"),
    ],
)
def test_bad_structure(blocks, edges, outputs, match):
    with pytest.raises(ValueError, match=match):
        dp.Network(blocks, edges, outputs)


def test_bad_params_and_gradcheck_arguments(net):
    with pytest.raises(ValueError, match=r"params must have shape \(26,\), got \(3,\)"):
        net.params = np.zeros(3)
    with pytest.raises(ValueError, match="eps must be a float in"):
        dp.gradcheck(net, X_OK, Y_OK, eps=0.0)
    with pytest.raises(ValueError, match="max_checks must be >= 1"):
        dp.gradcheck(net, X_OK, Y_OK, max_checks=0)
    with pytest.raises(ValueError, match="net must be a deltaprop Network"):
        dp.gradcheck("net", X_OK, Y_OK)


def test_register_activation():
    act = dp.register_activation("Cube-Test", lambda z: z**3 / 3, lambda z, a: z**2, overwrite=True)
    assert act.name == "cube_test"
    net = dp.Network.layered([2, 3, 1], hidden="cube_test", output="identity", seed=0)
    rng = np.random.default_rng(0)
    assert dp.gradcheck(net, rng.normal(size=(4, 2)), rng.normal(size=4)).passed
    with pytest.raises(ValueError, match="already registered"):
        dp.register_activation("cube_test", lambda z: z, lambda z, a: 1 + 0 * z)
    with pytest.raises(ValueError, match="built in"):
        dp.register_activation("tanh", lambda z: z, lambda z, a: 1 + 0 * z)
    with pytest.raises(TypeError):
        dp.register_activation("x", 1, 2)
