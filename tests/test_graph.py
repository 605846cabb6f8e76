"""AIMA's networks of units: random unit DAGs against finite differences and autograd,
the theorem -dE/dw_ij = a_i Delta_j, equivalence with layered networks, XOR online, errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import deltaprop as dp
from conftest import HIDDEN


def random_unit_graph(rng, *, output_act="identity", n_outputs=None, output_feeds_output=False):
    """Inputs, hidden units with random activations fed by random earlier units, several outputs."""
    g = dp.Graph()
    inputs = [g.input() for _ in range(int(rng.integers(2, 4)))]
    earlier = list(inputs)
    hidden = []
    for _ in range(int(rng.integers(3, 7))):
        bias = [None, 0.3, "random"][int(rng.integers(0, 3))]
        h = g.unit(str(rng.choice(HIDDEN)), bias=bias)
        k = int(rng.integers(1, len(earlier) + 1))
        for src in rng.choice(len(earlier), size=k, replace=False):
            g.connect(earlier[int(src)], h)
        earlier.append(h)
        hidden.append(h)
    n_out = n_outputs or int(rng.integers(2, 4))
    outs = [g.unit(output_act) for _ in range(n_out)]
    for o in outs:
        k = int(rng.integers(1, 4))
        for src in rng.choice(len(earlier), size=min(k, len(earlier)), replace=False):
            g.connect(earlier[int(src)], o)
    if output_feeds_output:
        g.connect(outs[0], outs[1])
    # every unit must reach an output: give the dead ends an edge into one
    for u in inputs + hidden:
        if not g.successors(u):
            g.connect(u, outs[int(rng.integers(0, n_out))])
    g.output(*outs)
    return g, inputs, hidden, outs


def unit_forward_reference(net, g, X, Y, weights):
    """Unit-by-unit forward pass and cost in AIMA's form, independent of the block compiler.
    ``weights`` maps (source, target) -> w and (g.one, target) -> bias, values of any array type."""

    acts = {"identity": lambda v: v, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
            "relu": lambda v: np.maximum(v, 0), "leaky_relu": lambda v: np.where(v > 0, v, 0.01 * v),
            "softplus": lambda v: np.log1p(np.exp(v)), "elu": lambda v: np.where(v > 0, v, np.exp(v) - 1)}
    a, inp = {}, {}
    for i, x in enumerate(g.inputs):
        a[x] = X[:, i]
    for u in g.topological_order():
        if u.kind != "unit":
            continue
        total = sum(weights[(s, u)] * a[s] for s in g.predecessors(u))  # in_k = sum_i w_ik a_i
        if (g.one, u) in weights:
            total = total + weights[(g.one, u)]  # + w_0k a_0
        inp[u] = total
        if u.activation != "softmax":
            a[u] = acts[u.activation](total)
    soft = [u for u in g.outputs if u.activation == "softmax"]
    if soft:
        zmax = np.max(np.stack([inp[u] for u in soft]), axis=0)
        den = sum(np.exp(inp[u] - zmax) for u in soft)
        for u in soft:
            a[u] = np.exp(inp[u] - zmax) / den
    loss = 0
    for c, o in enumerate(g.outputs):
        if net.cost.name == "squared":
            loss = loss + 0.5 * (a[o] - Y[:, c]) ** 2
        elif o.activation == "sigmoid":
            loss = loss - (Y[:, c] * np.log(a[o]) + (1 - Y[:, c]) * np.log(1 - a[o]))
        else:
            loss = loss - Y[:, c] * np.log(a[o])
    return loss.mean(), a, inp


def unit_parameters(net, g):
    params = {(s, t): net.weight(s, t) for (s, t, _) in g.edges}
    for u in g.all_units:
        if u.kind == "unit" and u.bias is not None:
            params[(g.one, u)] = net.bias(u)
    return params


CASES = [("identity", "squared"), ("tanh", "squared"), ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"),
         ("softmax", "squared")]


@pytest.mark.parametrize("trial", range(6))
@pytest.mark.parametrize("output_act,cost", CASES)
def test_random_unit_dags_against_central_differences(output_act, cost, trial):
    rng = np.random.default_rng(zlib.crc32(f"units/{output_act}/{cost}/{trial}".encode()))
    feeds = output_act != "softmax" and trial % 2 == 1
    g, _, _, outs = random_unit_graph(rng, output_act=output_act, output_feeds_output=feeds)
    net = g.compile(cost=cost, weight_decay=0.01 * (trial % 3), seed=trial)
    m = 5
    X = rng.normal(size=(m, len(g.inputs)))
    if cost == "cross_entropy" and output_act == "softmax":
        Y = rng.dirichlet(np.ones(len(outs)), size=m)
    elif cost == "cross_entropy":
        Y = rng.uniform(size=(m, len(outs)))
    else:
        Y = rng.normal(size=(m, len(outs)))
    tr = net.backprop(X, Y)
    # J of the unit-by-unit reference equals the engine's
    params = unit_parameters(net, g)
    lam = net.weight_decay
    J_ref = unit_forward_reference(net, g, X, Y, params)[0] + lam / 2 * sum(
        v**2 for (s, _), v in params.items() if s is not g.one)
    assert tr.cost == pytest.approx(J_ref, rel=1e-12)
    # every edge and bias, perturbed through the unit API, by the fourth-order central stencil
    e = 1e-3
    worst = 0.0
    scale = max(abs(tr.grad_w(s, t)) for (s, t) in params)
    for (s, t), v in params.items():
        def J(value):
            net.set_weight(s, t, value)
            return net.cost_value(X, Y)
        numeric = (-J(v + 2 * e) + 8 * J(v + e) - 8 * J(v - e) + J(v - 2 * e)) / (12 * e)
        net.set_weight(s, t, v)
        worst = max(worst, abs(tr.grad_w(s, t) - numeric) / scale)
    assert worst < 1e-9, worst


@pytest.mark.parametrize("output_act,cost", CASES)
def test_random_unit_dags_against_autograd(output_act, cost):
    torch = pytest.importorskip("torch")
    for trial in range(4):
        rng = np.random.default_rng(zlib.crc32(f"units-torch/{output_act}/{cost}/{trial}".encode()))
        g, _, _, outs = random_unit_graph(rng, output_act=output_act)
        net = g.compile(cost=cost, weight_decay=0.02, seed=trial)
        X = rng.normal(size=(6, len(g.inputs)))
        if cost == "cross_entropy" and output_act == "softmax":
            Y = np.eye(len(outs))[rng.integers(0, len(outs), 6)]
        elif cost == "cross_entropy":
            Y = rng.integers(0, 2, size=(6, len(outs))).astype(float)
        else:
            Y = rng.normal(size=(6, len(outs)))
        params = unit_parameters(net, g)
        tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
        torch_acts = {"identity": lambda v: v, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                      "leaky_relu": lambda v: torch.nn.functional.leaky_relu(v, 0.01),
                      "softplus": torch.nn.functional.softplus, "elu": torch.nn.functional.elu}
        a, inp = {}, {}
        Xt, Yt = torch.tensor(X), torch.tensor(Y)
        for i, x in enumerate(g.inputs):
            a[x] = Xt[:, i]
        for u in g.topological_order():
            if u.kind == "unit":
                inp[u] = sum(tp[(s, u)] * a[s] for s in g.predecessors(u)) + (tp[(g.one, u)] if (g.one, u) in tp else 0)
                if u.activation != "softmax":
                    a[u] = torch_acts[u.activation](inp[u])
        loss = 0
        soft = [u for u in outs if u.activation == "softmax"]
        if soft:
            logp = torch.log_softmax(torch.stack([inp[u] for u in soft], dim=1), dim=1)
            sm = torch.softmax(torch.stack([inp[u] for u in soft], dim=1), dim=1)
            for c, u in enumerate(soft):
                a[u] = sm[:, c]
        for c, o in enumerate(outs):
            if cost == "squared":
                loss = loss + 0.5 * (a[o] - Yt[:, c]) ** 2
            elif o.activation == "sigmoid":
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(inp[o], Yt[:, c], reduction="none")
            else:
                loss = loss - Yt[:, c] * logp[:, c]
        J = loss.mean() + 0.01 * sum(v**2 for (s, _), v in tp.items() if s is not g.one)
        J.backward()
        tr = net.backprop(X, Y)
        assert tr.cost == pytest.approx(J.item(), rel=1e-12)
        scale = max(abs(v.grad.item()) for v in tp.values())
        for (s, t), v in tp.items():
            assert abs(tr.grad_w(s, t) - v.grad.item()) / scale < 1e-10, (s, t)


@pytest.mark.parametrize("seed", range(5))
def test_seed_001_theorem_backprop_is_gradient_descent(seed):
    """For one example and no weight decay: -dE/dw_ij = a_i Delta_j on every edge (and the bias, a_0 = 1)."""
    rng = np.random.default_rng(seed)
    g, _, _, outs = random_unit_graph(rng, output_act="sigmoid")
    net = g.compile(cost="squared", seed=seed)
    x = rng.normal(size=(1, len(g.inputs)))
    y = rng.uniform(size=(1, len(outs)))
    tr = net.backprop(x, y)
    for (i, j, _) in g.edges:
        assert -tr.grad_w(i, j) == pytest.approx(tr.a(i)[0] * tr.Delta(j)[0], rel=1e-12, abs=1e-15)
    for u in g.all_units:
        if u.kind == "unit" and u.bias is not None:
            assert -tr.grad_w(g.one, u) == pytest.approx(1.0 * tr.Delta(u)[0], rel=1e-12, abs=1e-15)
    # Delta's sign: -dE/d(in), so Delta = -delta
    for u in g.all_units:
        if u.kind == "unit":
            j, i = net.unit_map.location(u)
            assert tr.Delta(u)[0] == -tr.delta[j][0, i]


def layered_as_graph(sizes, hidden, output):
    g = dp.Graph()
    layer = [g.input() for _ in range(sizes[0])]
    layers = [layer]
    for n in sizes[1:-1]:
        nxt = g.units(n, hidden)
        g.connect_all(layer, nxt)
        layer = nxt
        layers.append(layer)
    out = g.units(sizes[-1], output)
    g.connect_all(layer, out)
    g.output(*out)
    layers.append(out)
    return g, layers


def test_unit_graph_of_a_layered_network_is_the_layered_network():
    sizes = [4, 5, 3, 2]
    g, layers = layered_as_graph(sizes, "tanh", "softmax")
    gnet = g.compile(cost="cross_entropy", weight_decay=0.1, seed=0)
    lnet = dp.Network.layered(sizes, hidden="tanh", output="softmax", cost="cross_entropy", weight_decay=0.1, seed=1)
    # the compiler produced the chain, with no masks, so it runs the same engine path
    assert [(e.source, e.target, e.mask) for e in gnet.edges] == [(0, 1, None), (1, 2, None), (2, 3, None)]
    for l in range(3):
        for r, t in enumerate(layers[l + 1]):
            for c, s in enumerate(layers[l]):
                gnet.set_weight(s, t, lnet.W[l][r, c])
            gnet.set_weight(g.one, t, lnet.b[l][r])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 4))
    Y = np.eye(2)[rng.integers(0, 2, 7)]
    Jg, gg = gnet.cost_and_gradient(X, Y)
    Jl, gl = lnet.cost_and_gradient(X, Y)
    assert Jg == Jl
    assert np.array_equal(gg, gl)


def test_xor_learned_online_with_a_skip_connection():
    g = dp.Graph()
    x1, x2 = g.input("x1"), g.input("x2")
    h1, h2 = g.unit("sigmoid", name="h1"), g.unit("sigmoid", name="h2")
    o = g.unit("sigmoid", name="o")
    g.connect_all([x1, x2], [h1, h2])
    g.connect_all([h1, h2], [o])
    g.connect(x1, o)  # the skip connection
    g.output(o)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([0.0, 1.0, 1.0, 0.0])
    learned = 0
    for seed in range(5):
        net = g.compile(seed=seed)
        dp.train(net, X, Y, optimizer="sgd", learning_rate=1.0, batch_size=1, shuffle=False, epochs=4000,
                 metric=None)
        h = net.predict(X).ravel()
        learned += bool(np.all((h > 0.5) == (Y > 0.5)))
    assert learned >= 4


def test_explicit_weights_biases_and_no_bias():
    g = dp.Graph()
    x = g.input()
    h = g.unit("tanh", bias=None)
    o = g.unit("identity", bias=0.25)
    g.connect(x, h, weight=-0.5)
    g.connect(h, o, weight=2.0)
    g.output(o)
    net = g.compile(seed=0)
    assert net.weight(x, h) == -0.5 and net.weight(h, o) == 2.0 and net.bias(o) == 0.25
    assert net.weight(g.one, o) == 0.25
    with pytest.raises(ValueError, match="built with bias=None"):
        net.bias(h)
    # h = tanh(-0.5 * 1), o = 2 h + 0.25
    assert net.predict([[1.0]])[0, 0] == pytest.approx(2 * np.tanh(-0.5) + 0.25)
    dp.train(net, [[1.0], [2.0]], [0.0, 1.0], optimizer="adam", epochs=5, batch_size=None)
    assert np.all(net.params[~net.free] == 0)  # the absent bias stayed absent


def test_outputs_follow_the_order_they_were_declared():
    g = dp.Graph()
    x = g.input()
    deep = g.unit("tanh")
    o_deep = g.unit("identity", name="o_deep")
    o_shallow = g.unit("identity", name="o_shallow")
    g.connect(x, deep)
    g.connect(deep, o_deep)
    g.connect(x, o_shallow)
    g.output(o_deep, o_shallow)  # o_deep is in a later block, but column 0
    net = g.compile(seed=0)
    tr = net.backprop([[0.7]], [[0.0, 0.0]])
    h = net.predict([[0.7]])
    assert h[0, 0] == tr.a(o_deep)[0] and h[0, 1] == tr.a(o_shallow)[0]
    assert dp.gradcheck(net, [[0.7], [0.1]], [[1.0, -1.0], [0.5, 0.2]]).passed


def test_compiled_graph_trains_with_every_optimizer():
    rng = np.random.default_rng(3)
    g, _, _, outs = random_unit_graph(rng, output_act="identity")
    X = rng.normal(size=(30, len(g.inputs)))
    Y = rng.normal(size=(30, len(outs))) * 0.3
    for optimizer in dp.available_optimizers():
        net = g.compile(seed=0)
        J0 = net.cost_value(X, Y)
        batch = "auto" if optimizer in ("rprop", "lbfgs") else 10
        dp.train(net, X, Y, optimizer=optimizer, batch_size=batch, epochs=20, seed=0,
                 learning_rate=0.01 if optimizer not in ("rprop", "lbfgs") else None)
        assert net.cost_value(X, Y) < J0, optimizer
        assert np.all(net.params[~net.free] == 0)


def test_graph_errors():
    g = dp.Graph()
    x = g.input("x")
    a, b, c = g.unit("tanh", name="a"), g.unit("tanh", name="b"), g.unit("tanh", name="c")
    g.connect(x, a)
    g.connect(a, b)
    g.connect(b, c)
    with pytest.raises(ValueError, match="would close the cycle a -> b -> c -> a"):
        g.connect(c, a)
    with pytest.raises(ValueError, match="x is an input unit"):
        g.connect(a, x)
    with pytest.raises(ValueError, match="the edge a -> b already exists"):
        g.connect(a, b)
    with pytest.raises(ValueError, match="to itself"):
        g.connect(a, a)
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        g.unit("gelu")
    with pytest.raises(ValueError, match="bias must be a finite number, None"):
        g.unit("tanh", bias="zero")
    with pytest.raises(ValueError, match="a unit named 'a' already exists"):
        g.unit("tanh", name="a")
    with pytest.raises(ValueError, match="no outputs"):
        g.compile()
    g.output(c)
    with pytest.raises(ValueError, match="already an output"):
        g.output(c)
    with pytest.raises(ValueError, match="x is an input unit and cannot be an output"):
        g.output(x)
    lonely = g.unit("tanh", name="lonely")
    g.connect(lonely, c)
    with pytest.raises(ValueError, match="unit lonely is reached by no input"):
        g.compile()
    g.connect(x, lonely)
    dead = g.unit("tanh", name="dead")
    g.connect(x, dead)
    with pytest.raises(ValueError, match="unit dead reaches no output"):
        g.compile()
    g.connect(dead, c)
    g.input("unused")
    with pytest.raises(ValueError, match="input unused reaches no output"):
        g.compile()
    other = dp.Graph()
    with pytest.raises(ValueError, match="must be a unit of this graph"):
        other.connect(x, a)
    h = dp.Graph()
    hx = h.input()
    s1, s2 = h.unit("softmax"), h.unit("softmax")
    t = h.unit("tanh")
    h.connect(hx, s1), h.connect(hx, s2), h.connect(s1, t)
    h.output(s2, t)
    with pytest.raises(ValueError, match="softmax unit u1 must be an output that feeds no other unit"):
        h.compile()


def test_unit_accessors_refuse_what_does_not_exist():
    g = dp.Graph()
    x = g.input()
    o = g.unit("identity")
    g.connect(x, o)
    g.output(o)
    net = g.compile(seed=0)
    tr = net.backprop([[1.0]], [[0.0]])
    with pytest.raises(ValueError, match="the network has no edge u1 -> x1"):
        net.weight(o, x)
    with pytest.raises(ValueError, match="x1 is an input unit; it has an activation"):
        tr.in_(x)
    with pytest.raises(ValueError, match="x1 is not a computing unit; it has no Delta"):
        tr.Delta(x)
    with pytest.raises(ValueError, match="not a unit of this network"):
        tr.a("h")
    layered = dp.Network.layered([1, 1], seed=0)
    with pytest.raises(ValueError, match="x1 is not a unit of this network"):
        layered.weight(x, o)  # another network's unit
    # a layered network has units of its own, by default names: AIMA's view of UFLDL's network
    assert layered.weight(layered.unit("x1"), layered.unit("o1")) == layered.W[0][0, 0]
    assert layered.weight(layered.one, layered.unit("o1")) == layered.b[0][0]
    with pytest.raises(ValueError, match="no unit named 'h1'; the units are x1, o1"):
        layered.unit("h1")
