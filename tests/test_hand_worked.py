"""A 2-2-1 sigmoid network worked by hand, every number in the comments (UFLDL's notation).

Layers (1-based, as in the seed): inputs x = a(1), hidden a(2), output a(3) = h(x).
In deltaprop's 0-based lists: net.W[0] = W(1), net.W[1] = W(2), tr.a[1] = a(2), ...

    x = (1, 2), y = 1
    W(1) = [[0.1,  0.2],      b(1) = [0.0, 0.1]
            [0.3, -0.1]]
    W(2) = [[0.5, -0.4]]      b(2) = [0.2]
"""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture
def net():
    net = dp.Network.layered([2, 2, 1], seed=0)  # sigmoid everywhere, squared cost
    net.W[0][...] = [[0.1, 0.2], [0.3, -0.1]]
    net.b[0][...] = [0.0, 0.1]
    net.W[1][...] = [[0.5, -0.4]]
    net.b[1][...] = [0.2]
    return net


X = np.array([[1.0, 2.0]])
Y = np.array([[1.0]])


def test_forward_by_hand(net):
    tr = net.backprop(X, Y)
    # z(2)_1 = W11 x1 + W12 x2 + b1 = 0.1*1 + 0.2*2 + 0.0 = 0.5
    # z(2)_2 = W21 x1 + W22 x2 + b2 = 0.3*1 - 0.1*2 + 0.1 = 0.2
    assert tr.z[1][0] == pytest.approx([0.5, 0.2], abs=1e-15)
    # a(2) = sigmoid(z(2)) = (1/(1+e^-0.5), 1/(1+e^-0.2)) = (0.6224593312, 0.5498339973)
    assert tr.a[1][0] == pytest.approx([0.6224593312, 0.5498339973], abs=1e-10)
    # z(3) = 0.5*0.6224593312 - 0.4*0.5498339973 + 0.2 = 0.3112296656 - 0.2199335989 + 0.2 = 0.2912960667
    assert tr.z[2][0, 0] == pytest.approx(0.2912960667, abs=1e-10)
    # a(3) = sigmoid(0.2912960667) = 0.5723134019
    assert tr.a[2][0, 0] == pytest.approx(0.5723134019, abs=1e-10)
    # J = 1/2 (h - y)^2 = 1/2 (0.5723134019 - 1)^2 = 1/2 * 0.1829158262 = 0.0914579131
    assert tr.cost == pytest.approx(0.0914579131, abs=1e-10)


def test_deltas_by_hand(net):
    tr = net.backprop(X, Y)
    # delta(3) = -(y - a(3)) f'(z(3)) = -(1 - 0.5723134019) * 0.5723134019 * (1 - 0.5723134019)
    #          = -0.4276865981 * 0.2447706089 = -0.1046851788
    assert tr.delta[2][0, 0] == pytest.approx(-0.1046851788, abs=1e-10)
    # delta(2)_i = (sum_j W(2)_ji delta(3)_j) f'(z(2)_i); one output unit j, so:
    # delta(2)_1 = W(2)_11 delta(3) a(2)_1 (1 - a(2)_1) = 0.5 * -0.1046851788 * 0.2350037122 = -0.0123007028
    # delta(2)_2 = W(2)_12 delta(3) a(2)_2 (1 - a(2)_2) = -0.4 * -0.1046851788 * 0.2475165727 = 0.0103645267
    assert tr.delta[1][0] == pytest.approx([-0.0123007028, 0.0103645267], abs=1e-10)


def test_gradients_by_hand(net):
    tr = net.backprop(X, Y)
    # dJ/dW(2)_1j = delta(3) a(2)_j = -0.1046851788 * (0.6224593312, 0.5498339973)
    #             = (-0.0651622664, -0.0575594703);  dJ/db(2) = delta(3) = -0.1046851788
    assert tr.dW[1][0] == pytest.approx([-0.0651622664, -0.0575594703], abs=1e-10)
    assert tr.db[1][0] == pytest.approx(-0.1046851788, abs=1e-10)
    # dJ/dW(1)_ij = delta(2)_i x_j:
    #   row 1: -0.0123007028 * (1, 2) = (-0.0123007028, -0.0246014056)
    #   row 2:  0.0103645267 * (1, 2) = ( 0.0103645267,  0.0207290533)
    assert tr.dW[0] == pytest.approx(np.array([[-0.0123007028, -0.0246014056],
                                               [0.0103645267, 0.0207290533]]), abs=1e-10)
    assert tr.db[0] == pytest.approx([-0.0123007028, 0.0103645267], abs=1e-10)


def test_weight_decay_by_hand(net):
    # with lambda = 0.1: J gains lambda/2 sum W^2 = 0.05 * (0.01+0.04+0.09+0.01 + 0.25+0.16) = 0.05 * 0.56 = 0.028
    decayed = dp.Network.layered([2, 2, 1], weight_decay=0.1, seed=0)
    decayed.params = net.params
    tr = decayed.backprop(X, Y)
    assert tr.cost == pytest.approx(0.0914579131 + 0.028, abs=1e-10)
    # dJ/dW gains lambda W; dJ/db gains nothing: dJ/dW(2)_11 = -0.0651622664 + 0.1*0.5 = -0.0151622664
    assert tr.dW[1][0, 0] == pytest.approx(-0.0151622664, abs=1e-10)
    assert tr.db[1][0] == pytest.approx(-0.1046851788, abs=1e-10)


def test_flat_vector_layout(net):
    # W(1) row by row, b(1), W(2), b(2): the views and the vector are one memory
    assert net.params.tolist() == pytest.approx([0.1, 0.2, 0.3, -0.1, 0.0, 0.1, 0.5, -0.4, 0.2])
    net.params[6] = 9.0
    assert net.W[1][0, 0] == 9.0
    assert all(np.shares_memory(v, net.params) for v in net.W + net.b)
