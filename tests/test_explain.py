"""explain: every number equals the engine's, in both notations and three forms; the HTML page
renders in a real headless browser with its diagram, equations, highlighting and numbers."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explain.render import num
from conftest import random_dag


def _graph():
    g = dp.Graph()
    x1, x2 = g.input("x1"), g.input("x2")
    h1, h2 = g.unit("tanh", name="h1"), g.unit("sigmoid", name="h2", bias=None)
    o = g.unit("sigmoid", name="o")
    g.connect(x1, h1), g.connect(x2, h1), g.connect(x1, h2), g.connect(h1, h2)
    g.connect(h1, o), g.connect(h2, o), g.connect(x2, o)
    g.output(o)
    return g.compile(seed=1)


NETS = {
    "layered": lambda: dp.Network.layered([2, 3, 2], hidden="tanh", output="softmax", cost="cross_entropy",
                                          weight_decay=0.1, seed=0),
    "graph": _graph,
    "dag": lambda: random_dag(np.random.default_rng(0), "elu", "identity", "squared", weight_decay=0.05,
                              two_outputs=True),
}


def _data(net, m, rng):
    X = rng.normal(size=(m, net.n_inputs))
    if net.cost.name == "cross_entropy":
        Y = np.eye(net.n_outputs)[rng.integers(0, net.n_outputs, m)]
    else:
        Y = rng.uniform(size=(m, net.n_outputs))
    return X, Y


@pytest.mark.parametrize("notation", ["ufldl", "aima"])
@pytest.mark.parametrize("kind", list(NETS))
@pytest.mark.parametrize("m", [1, 3])
def test_numbers_are_the_engines(kind, notation, m):
    net = NETS[kind]()
    X, Y = _data(net, m, np.random.default_rng(2))
    ex = dp.explain(net, X, Y, notation=notation)
    tr = net.backprop(X, Y)
    assert ex.J == pytest.approx(tr.cost, rel=1e-12)
    for uf in ex.forward:
        j, i = uf.unit
        np.testing.assert_allclose(uf.a, tr.a[j][:, i], rtol=1e-12)
        if uf.z is not None:  # z rebuilt from its terms: sum of W a, plus b
            np.testing.assert_allclose(sum(t.product for t in uf.terms) + (uf.bias or 0), tr.z[j][:, i], rtol=1e-9,
                                       atol=1e-12)
    for d in ex.deltas:
        j, i = d.unit
        np.testing.assert_allclose(d.delta, tr.delta[j][:, i], rtol=1e-12)
        # every unit it feeds appears as a term, with the weight on that edge
        fed = {(t.target, t.weight) for t in d.terms}
        expected = set()
        for e, s in net.layout.successors[j]:
            for r in range(net.blocks[s].units):
                if net.edges[e].mask is None or net.edges[e].mask[r, i]:
                    expected.add(((s, r), float(net.W[e][r, i])))
        assert fed == expected
    flat = {g.index: g for g in ex.grads}
    assert set(flat) == set(np.flatnonzero(net.free))
    for idx, g in flat.items():
        assert g.total == pytest.approx(tr.grad[idx], rel=1e-12, abs=1e-15)
        assert g.average + g.decay == pytest.approx(g.total, rel=1e-12, abs=1e-15)
    assert ex.passed and ex.max_rel_error < 1e-6


def test_hand_worked_network_in_text():
    net = dp.Network.layered([2, 2, 1], seed=0)
    net.W[0][...] = [[0.1, 0.2], [0.3, -0.1]]
    net.b[0][...] = [0.0, 0.1]
    net.W[1][...] = [[0.5, -0.4]]
    net.b[1][...] = [0.2]
    text = dp.explain(net, [1.0, 2.0], [1.0]).to_text()
    # the numbers of tests/test_hand_worked.py, as a learner reads them
    assert "= (0.1)(1) + (0.2)(2) + (0) = 0.5" in text
    assert "delta(3)_1 = -(y_1 - a(3)_1) f'(z(3)_1)" in text
    assert "= -(1 - 0.57231)(0.24477) = -0.10469" in text
    assert "delta(2)_1 = f'(z(2)_1) · [ W(2)_11·delta(3)_1 ]" in text
    assert "(note W_ji: the weight FROM unit i TO unit j)" in text
    assert "W(2)_11" in text and "-0.065162" in text
    assert "every gradient agrees" in text


def test_aima_notation_signs_and_bias_as_weight():
    net = _graph()
    x, y = np.array([[0.3, -0.7]]), np.array([[1.0]])
    ex = dp.explain(net, x, y, notation="aima")
    text = ex.to_text()
    assert "Delta_k = -dE/d(in_k)" in text and "w_0,h1" in text and "w_x2,o" in text
    tr = net.backprop(x, y)
    # Delta = -delta; the gradient column is -a_j Delta_k
    o = net.unit("o")
    j, i = net.unit_map.location(o)
    assert "Delta_o = g'(in_o)(t_o - a_o)" in text
    assert num(tr.Delta(o)[0]) in text
    assert net.unit("h1") in net.units
    assert "Delta_h1 = g'(in_h1) · [ w_h1,h2·Delta_h2 + w_h1,o·Delta_o ]" in text  # every unit h1 feeds


def test_markdown_has_latex():
    md = dp.explain(NETS["layered"](), [0.5, -1.0], [1.0, 0.0]).to_markdown()
    assert md.startswith("## deltaprop explain")
    assert r"$$z^{(2)}_{1} = W^{(1)}_{11}\,a^{(1)}_{1}" in md
    assert r"\delta^{(2)}_{1} = f'(z^{(2)}_{1})\Big[" in md
    assert "| parameter | value |" in md


def test_bad_arguments():
    net = NETS["layered"]()
    with pytest.raises(ValueError, match="notation must be one of ufldl, aima"):
        dp.explain(net, [0.0, 0.0], [1.0, 0.0], notation="bishop")
    with pytest.raises(ValueError, match="at most 50 examples"):
        dp.explain(net, np.zeros((51, 2)), np.tile([1.0, 0.0], (51, 1)))
    with pytest.raises(ValueError, match="x has 3 features, but the network was built for 2"):
        dp.explain(net, [0.0, 0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="net must be a deltaprop Network"):
        dp.explain("net", [0.0], [0.0])


# --- the HTML page in a real browser ----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.nums, self.body, self.counts, self._in_num = [], {}, {"svg": 0, "math": 0, "circle": 0, "line": 0}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.counts:
            self.counts[tag] += 1
        if tag == "body":
            self.body = a
        if tag == "span" and a.get("class") == "num":
            self._in_num = a
            self._in_num["text"] = ""

    def handle_data(self, data):
        if self._in_num is not None:
            self._in_num["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._in_num is not None:
            self.nums.append(self._in_num)
            self._in_num = None


def _dump_dom(path, tmp_path):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", f"file://{path}#selftest"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no headless Chromium here")
@pytest.mark.parametrize("kind,notation", [("layered", "ufldl"), ("graph", "aima"), ("dag", "ufldl")])
def test_html_renders_in_a_headless_browser(kind, notation, tmp_path):
    assert CHROMIUM is not None, "CI must install Chromium (.ci/run does)"
    net = NETS[kind]()
    X, Y = _data(net, 1, np.random.default_rng(5))
    ex = dp.explain(net, X, Y, notation=notation)
    page = tmp_path / "explain.html"
    page.write_text(ex.to_html(), encoding="utf-8")
    assert "http://" not in page.read_text().replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    dom = _dump_dom(page, tmp_path)
    p = _Collect()
    p.feed(dom)
    # the page ran its script: the first delta highlighted every term it links to
    selftest = p.body.get("data-selftest", "")
    assert selftest.startswith("highlighted "), dom[:500]
    got, want = selftest.split(";")[0].split()[1::2]
    assert got == want and int(got) > 1
    assert p.counts["svg"] == 1 and p.counts["math"] >= len(ex.forward) - net.n_inputs
    assert p.counts["circle"] == sum(b.units for b in net.blocks)
    assert p.counts["line"] == sum(1 for g in ex.grads if g.kind == "W")
    # every number shown is the library's, to the digits shown
    tr = net.backprop(X, Y)
    sign = -1 if notation == "aima" else 1
    assert len(p.nums) > 0
    for n in p.nums:
        j, i = map(int, n["data-unit"].split("-"))
        x = int(n["data-example"])
        value = float(n["data-value"])
        if n["data-kind"] not in ("z", "a", "delta"):
            continue  # the two parts of an output unit's delta that also feeds other units
        expected = {"z": tr.z[j], "a": tr.a[j], "delta": None if j == 0 else tr.delta[j] * sign}[n["data-kind"]][x, i]
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert n["text"] == num(expected)


def test_cli_explain(tmp_path, capsys):
    from deltaprop.cli import main

    assert main(["explain", "--layers", "2,3,2", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "1. Forward pass" in out and "3. Hidden deltas" in out and "5. Check: every gradient agrees" in out
    assert main(["explain", "--layers", "2,3,2", "--notation", "aima", "--format", "markdown", "--out",
                 str(tmp_path / "e.md"), "--quiet"]) == 0
    assert "Delta" in (tmp_path / "e.md").read_text()
    pytest.importorskip("sklearn")
    iris = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "iris.csv")
    model = tmp_path / "iris.safetensors"
    assert main(["train", iris, "--target", "species", "--hidden", "3", "--epochs", "5", "--quiet",
                 "--out", str(model)]) == 0
    assert main(["explain", str(model), iris, "--target", "species", "--row", "2,3", "--format", "html",
                 "--out", str(tmp_path / "e.html"), "--quiet"]) == 0
    html = (tmp_path / "e.html").read_text()
    assert "<svg" in html and "<math" in html and "example 2 of 2" in html
    assert main(["explain", str(model), iris, "--target", "species", "--row", "999"]) == 2
    assert "has data rows 1..150" in capsys.readouterr().err
