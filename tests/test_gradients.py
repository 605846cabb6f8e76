"""Backprop against central finite differences (float64), for every activation x cost."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import deltaprop as dp
from conftest import HIDDEN, OUTPUT_COST, data_for, random_dag, random_layered

TOL = 1e-7


@pytest.mark.parametrize("output,cost", OUTPUT_COST)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_layered_gradcheck_every_activation_and_cost(hidden, output, cost):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}/{output}/{cost}".encode()))
    for trial in range(2):
        net = random_layered(rng, hidden, output, cost, weight_decay=0.05 * trial)
        X, Y = data_for(net, rng, 5, output, cost)
        report = dp.gradcheck(net, X, Y)
        assert report.passed, f"{hidden}/{output}/{cost}:\n{report}"
        assert report.max_error < TOL


@pytest.mark.parametrize("output,cost", OUTPUT_COST)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_dag_with_skips_and_masks_gradcheck(hidden, output, cost):
    rng = np.random.default_rng(zlib.crc32(f"dag/{hidden}/{output}/{cost}".encode()))
    net = random_dag(rng, hidden, output, cost, weight_decay=0.03, two_outputs=bool(rng.random() < 0.5))
    X, Y = data_for(net, rng, 6, output, cost)
    w = rng.uniform(0.1, 2.0, size=6)
    report = dp.gradcheck(net, X, Y, sample_weight=w)
    assert report.passed, f"{hidden}/{output}/{cost}:\n{report}"


def test_masked_weights_and_absent_biases_have_exactly_zero_gradient():
    rng = np.random.default_rng(3)
    net = random_dag(rng, "tanh", "identity", "squared", weight_decay=0.1, l1=0.01)
    # put garbage where no parameter exists, then project it away
    net.params[:] = rng.normal(size=net.n_params)
    net.project()
    assert np.all(net.params[~net.free] == 0)
    X, Y = data_for(net, rng, 4, "identity", "squared")
    _, grad = net.cost_and_gradient(X, Y)
    assert (~net.free).any(), "the random DAG should have masked parameters"
    assert np.all(grad[~net.free] == 0)


def test_l1_term_gradient():
    rng = np.random.default_rng(5)
    net = random_layered(rng, "tanh", "identity", "squared", weight_decay=0.02, l1=0.05)
    X, Y = data_for(net, rng, 5, "identity", "squared")
    assert dp.gradcheck(net, X, Y).passed


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    """The check must be able to fail: break sigmoid's derivative and it must say FAIL."""
    sigmoid = dp.get_activation("sigmoid")
    dp.register_activation("sigmoid_with_a_wrong_derivative", sigmoid.f, lambda z, a: a * (1 - a) * 1.01,
                           overwrite=True)
    net = dp.Network.layered([3, 4, 2], hidden="sigmoid_with_a_wrong_derivative", seed=0)
    X = np.random.default_rng(0).normal(size=(5, 3))
    report = dp.gradcheck(net, X, np.zeros((5, 2)))
    assert not report.passed
    assert "FAIL" in str(report)


def test_gradcheck_subset_and_float32_network():
    rng = np.random.default_rng(9)
    net = dp.Network.layered([6, 5, 3], hidden="tanh", output="softmax", cost="cross_entropy",
                             dtype="float32", seed=0)
    X, Y = data_for(net, rng, 8, "softmax", "cross_entropy")
    report = dp.gradcheck(net, X, Y, max_checks=10)
    assert report.checked.sum() == 10
    assert report.passed
    assert net.params.dtype == np.float32  # the network itself is untouched


def test_float32_and_float64_agree_to_float32_precision():
    rng = np.random.default_rng(11)
    net64 = random_dag(rng, "tanh", "softmax", "cross_entropy", weight_decay=0.01)
    net32 = net64.copy(dtype="float32")
    X, Y = data_for(net64, rng, 16, "softmax", "cross_entropy")
    J64, g64 = net64.cost_and_gradient(X, Y)
    J32, g32 = net32.cost_and_gradient(X, Y)
    assert g32.dtype == np.float32
    assert abs(J32 - J64) <= 1e-5 * max(1.0, abs(J64))
    scale = np.abs(g64).max()
    assert np.abs(g32 - g64).max() <= 1e-5 * scale
