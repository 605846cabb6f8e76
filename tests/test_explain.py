"""explain: every number equals the engine's, in both notations and three forms; the HTML page
renders in a real headless browser with its diagram, equations, highlighting and numbers."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explain.render import num
from deltaprop.model import Model, Scaler, encode_labels
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


# --- the three forms say the same thing -------------------------------------------------------------------

_SYMBOLS = {"δ": "delta", "Δ": "Delta", "∂": "d", "∑": "sum", "′": "'", "λ": "lambda", "\u2062": "", "·": "", "×": ""}


def _canon(s: str) -> str:
    """One spelling for every form: no spaces, no multiplication marks (juxtaposition is a product)."""
    for a, b in _SYMBOLS.items():
        s = s.replace(a, b)
    return re.sub(r"\s+", "", s).replace("^", "")


def _latex_to_text(s: str) -> str:
    s = s.strip().strip("$")
    for a, b in [(r"\begin{aligned}", ""), (r"\end{aligned}", ""), ("&", ""), ("\\\\", " ")]:
        s = s.replace(a, b)
    while r"\frac{" in s:  # \frac{A}{B} -> A/B, braces balanced
        start = s.index(r"\frac{")
        groups, i = [], start + len(r"\frac")
        for _ in range(2):
            depth, j = 0, i
            while True:
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                if depth == 0:
                    break
                j += 1
            groups.append(s[i + 1:j])
            i = j + 1
        s = s[:start] + groups[0] + "/" + groups[1] + s[i:]
    s = re.sub(r"\\sum_\{(\w+)\}", r"sum_\1", s)
    s = re.sub(r"\\(?:text|mathrm|mathit)\{([^{}]*)\}", r"\1", s)
    for a, b in [(r"\delta", "delta"), (r"\Delta", "Delta"), (r"\partial", "d"), (r"\Big[", "["), (r"\Big]", "]"),
                 (r"\cdot", ""), (r"\,", ""), (r"\ ", " "), (r"\lambda", "lambda"), (r"\ldots", "..."), (r"\to", "->")]:
        s = s.replace(a, b)
    previous = None
    while previous != s:
        previous = s
        s = re.sub(r"_\{([^{}]*)\}", r"_\1", s)
        s = re.sub(r"\^\{([^{}]*)\}", r"\1", s)
    return _canon(s.replace("{", "").replace("}", ""))


def _mathml_to_text(el) -> str:
    tag = el.tag.split("}")[-1]
    kids = list(el)
    if tag in ("mi", "mn", "mo", "mtext"):
        return el.text or ""
    parts = [_mathml_to_text(k) for k in kids]
    if tag == "msub":
        return parts[0] + "_" + parts[1]
    if tag == "msup":
        return parts[0] + parts[1]
    if tag == "msubsup":
        return parts[0] + parts[2] + "_" + parts[1]
    if tag == "mfrac":
        return parts[0] + "/" + parts[1]
    if tag == "munder":
        return parts[0] + "_" + parts[1]
    return "".join(parts)


def _equations_text(text: str) -> list:
    body = text[text.index("\n1. Forward pass"):text.index("\n4. Gradients")]
    eqs = []
    for line in body.splitlines():
        if re.match(r"^ {3,}= ", line) and eqs:
            eqs[-1] += line
        elif re.match(r"^  [^ (]", line) and " = " in line:
            eqs.append(line)
    return [_canon(e) for e in eqs]


def _equations_markdown(md: str) -> list:
    body = md[md.index("### 1. Forward pass"):md.index("### 4. Gradients")]
    return [_latex_to_text(line) for line in body.splitlines() if line.startswith("$$")]


def _equations_html(page: str) -> list:
    eqs = []
    for section in re.findall(r"<section class='step[^']*' [^>]*data-kind='(?:forward|output|hidden)'.*?</section>",
                              page, flags=re.S):
        for block in section.split("<div class='eq'>")[1:]:
            maths = re.findall(r"<math.*?</math>", block.split("</div></div>")[0] + "</div>", flags=re.S)
            eqs.append(_canon("".join(_mathml_to_text(ET.fromstring(m)) for m in maths)))
    return eqs


def _gradient_rows(text, md, page):
    t = [line for line in text[text.index("\n4. Gradients"):text.index("\n5. Check")].splitlines()[2:] if line.strip()]
    spans = [m.span() for m in re.finditer(r"-+", t[1])]  # the columns, from the rule under the header
    rows_t = [[line[spans[n][0]:(spans[n + 1][0] if n + 1 < len(spans) else len(line))].strip()
               for n in range(len(spans))] for line in t[2:]]
    rows_m = [[c.strip() for c in line.strip("|").split("|")] for line in
              md[md.index("### 4. Gradients"):md.index("### 5. Check")].splitlines() if line.startswith("| $")]
    table = page[page.index("<table id='gradients'>"):]
    rows_h = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr data-kind.*?</tr>", table[:table.index("</table>")])]
    return [r[1:] for r in rows_t], [r[1:] for r in rows_m], [r[1:] for r in rows_h]


@pytest.mark.parametrize("notation", ["ufldl", "aima"])
@pytest.mark.parametrize("kind", ["layered", "graph", "dag"])
def test_text_markdown_and_html_state_the_same_equations(kind, notation):
    net = NETS[kind]()
    X, Y = _data(net, 2 if kind == "dag" else 1, np.random.default_rng(7))
    ex = dp.explain(net, X, Y, notation=notation)
    text, md, page = ex.to_text(), ex.to_markdown(), ex.to_html()
    in_text, in_md, in_html = _equations_text(text), _equations_markdown(md), _equations_html(page)
    n_computing = sum(b.units for b in net.blocks[1:])
    assert len(in_text) >= 3 * n_computing * ex.m  # z, a and at least one delta equation per unit and example
    assert in_text == in_md, next((a, b) for a, b in zip(in_text, in_md) if a != b)
    assert in_text == in_html, next((a, b) for a, b in zip(in_text, in_html) if a != b)
    rows_t, rows_m, rows_h = _gradient_rows(text, md, page)
    assert rows_t == rows_m == rows_h and len(rows_t) == len(ex.grads)
    # the chain rule, with a number for every factor, for every hidden delta
    delta = "delta" if notation == "ufldl" else "Delta"
    hidden = [d for d in ex.deltas if d.output_part is None]
    chain = [e for e in in_text if e.startswith(_canon(ex.notation.value("delta", hidden[0].unit).text) + "=d")
             or e.startswith(_canon(ex.notation.value("delta", hidden[0].unit).text) + "=-d")]
    assert chain, f"no chain-rule step for the first hidden {delta}"


def test_the_chain_rule_is_written_out_with_numbers():
    net = dp.Network.layered([2, 3, 2], hidden="sigmoid", output="sigmoid", seed=3)
    text = dp.explain(net, [1.0, 0.5], [0.0, 1.0]).to_text()
    assert "delta(2)_1 = dJ/dz(2)_1 = dJ/dz(3)_1 · dz(3)_1/dz(2)_1 + dJ/dz(3)_2 · dz(3)_2/dz(2)_1" in text
    assert "= delta(3)_1 · W(2)_11 f'(z(2)_1) + delta(3)_2 · W(2)_21 f'(z(2)_1)" in text
    assert "= (0.09647) · (-0.045896)(0.16471) + (-0.14166) · (-0.8464)(0.16471) = 0.01902" in text
    assert "dz(l+1)_j/dz(l)_i = W(l)_ji f'(z(l)_i)" in text  # the general step, once
    aima = dp.explain(_graph(), [[0.3, -0.7]], [[1.0]], notation="aima").to_text()
    # AIMA's sign convention throughout: Delta = -dE/d(in), and the sum runs over every unit h1 feeds
    assert ("Delta_h1 = -dE/d(in_h1) = (-dE/d(in_h2)) · d(in_h2)/d(in_h1) + (-dE/d(in_o)) · d(in_o)/d(in_h1)"
            in aima)
    assert "= Delta_h2 · w_h1,h2 g'(in_h1) + Delta_o · w_h1,o g'(in_h1)" in aima


def test_aima_notation_writes_its_numbers_in_the_order_of_its_symbols():
    net = _graph()
    ex = dp.explain(net, [[0.3, -0.7]], [[1.0]], notation="aima")
    text = ex.to_text()
    d = next(d for d in ex.deltas if d.output_part is not None)
    # Delta_o = g'(in_o)(t_o - a_o), and the numbers in that order: (g')(t - a)
    assert f"= ({num(d.fprime[0])})({num(d.y[0])} - {num(d.h[0])}) = {num(-d.delta[0])}" in text
    assert "(E(p + 1e-5) - E(p - 1e-5)) / 2e-5" in text and "(J(p" not in text
    derivation = text[text.index("1. Forward pass"):text.index("4. Gradients")]
    assert "y_" not in derivation and "t_o" in derivation  # AIMA's targets are t
    md = ex.to_markdown()
    assert r"\Delta_{o} = g'(\mathit{in}_{o})(t_{o} - a_{o}) = (" in md


def test_markdown_writes_the_indices_and_numbers_of_every_delta():
    net = dp.Network.layered([2, 2, 1], seed=0)
    net.W[0][...] = [[0.1, 0.2], [0.3, -0.1]]
    net.b[0][...] = [0.0, 0.1]
    net.W[1][...] = [[0.5, -0.4]]
    net.b[1][...] = [0.2]
    md = dp.explain(net, [1.0, 2.0], [1.0]).to_markdown()
    assert r"$$\delta^{(3)}_{1} = -(y_{1} - a^{(3)}_{1})\,f'(z^{(3)}_{1}) = -(1 - 0.57231)(0.24477) = -0.10469$$" in md
    hidden = next(line for line in md.splitlines() if line.startswith(r"$$\delta^{(2)}_{1} = f'"))
    assert r"= (0.235)\Big[(0.5)(-0.10469)\Big] = (0.235)(-0.052343) = -0.012301$$" in hidden
    assert " x -" not in md and r"\times -" not in md  # every negative factor in parentheses


def test_the_example_is_stated_at_the_top_of_every_form():
    net = dp.Network.layered([2, 3, 2], hidden="sigmoid", output="sigmoid", seed=3)
    ex = dp.explain(net, [1.0, 0.5], [0.0, 1.0])
    text, md, page = ex.to_text(), ex.to_markdown(), ex.to_html()
    for form in (text, md, page):
        head = form[:form.index("1. Forward pass")]
        assert "x = a(1) = (1, 0.5)" in head and "y = (0, 1)" in head and "2-3-2" in head and "squared" in head
    aima = dp.explain(net, [1.0, 0.5], [0.0, 1.0], notation="aima").to_text()
    head = aima[:aima.index("1. Forward pass")]
    assert "a_x1 = 1, a_x2 = 0.5" in head and "t_o1 = 0, t_o2 = 1" in head


def _small_model():
    rng = np.random.default_rng(0)
    raw = rng.normal(loc=[10.0, -3.0, 0.5], scale=[2.0, 0.5, 0.1], size=(40, 3))
    labels = np.where(raw[:, 0] > 10, "big", "small").astype(object)
    labels[:5] = "odd"
    scaler = Scaler.fit(raw)
    Y, classes = encode_labels(labels)
    net = dp.Network.layered([3, 4, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=1)
    dp.train(net, scaler.transform(raw), Y, epochs=5, seed=0)
    return Model(net, "classification", classes, feature_names=["length", "depth", "ratio"], scaler=scaler), raw, labels


def test_explain_takes_a_model_with_a_raw_row_and_a_label():
    model, raw, labels = _small_model()
    ex = dp.explain(model, raw[7], labels[7])
    plain = dp.explain(model.network, model.inputs(raw[7:8]), model.targets([labels[7]]))
    assert ex.J == pytest.approx(plain.J, rel=1e-12)
    np.testing.assert_allclose([g.total for g in ex.grads], [g.total for g in plain.grads], rtol=1e-12)
    x = (raw[7] - model.scaler.mean) / model.scaler.scale
    for form in (ex.to_text(), ex.to_markdown(), html.unescape(ex.to_html())):
        head = form[:form.index("1. Forward pass")]
        assert f"length = {num(raw[7, 0])}" in head and f"ratio = {num(raw[7, 2])}" in head  # as given, by name
        assert f"({num(raw[7, 1])} - {num(model.scaler.mean[1])}) / {num(model.scaler.scale[1])} = {num(x[1])}" in head
        assert f"the label {labels[7]!r}" in head and "(big, odd, small)" in head  # the classes, in output order
        assert "y = (" + ", ".join(num(v) for v in model.targets([labels[7]])[0]) + ")" in head
    two = dp.explain(model, raw[:2], labels[:2], notation="aima")
    assert two.m == 2 and "example 2 of 2:" in two.to_text()
    with pytest.raises(ValueError, match="labels not seen in training: 'huge'"):
        dp.explain(model, raw[0], "huge")
    with pytest.raises(ValueError, match="y has 1 labels for 2 rows of x"):
        dp.explain(model, raw[:2], "big")
    with pytest.raises(ValueError, match="x has 2 features, but the network was built for 3"):
        dp.explain(model, raw[0, :2], "big")


def test_notebooks_display_explanations_networks_models_and_histories():
    model, raw, labels = _small_model()
    ex = dp.explain(model, raw[3], labels[3])
    html = ex._repr_html_()
    assert html.startswith("<div class='dp-explain'") and "<script>" in html and "<html" not in html
    assert ex._repr_markdown_() == ex.to_markdown()
    assert repr(ex).startswith("Explanation(1 example, UFLDL's notation, network 3-4-3") and "\n" not in repr(ex)
    svg = model.network._repr_html_()
    assert svg.count("<circle") == 10 and "<svg" in svg and "tanh" in svg
    history = dp.train(model.network, model.inputs(raw), model.targets(labels), epochs=30, seed=0,
                       validation_split=0.25)
    model.history = history
    assert len(repr(model)) < 300 and "records" not in repr(model) and f"{len(history)} epochs" in repr(model)
    assert "<table" in model._repr_html_() and "big, odd, small" in model._repr_html_()
    curve = history._repr_html_()
    assert curve.count("<polyline") == 2 and "validation J" in curve  # training and validation J
    assert repr(history).startswith(f"History({len(history)} epochs, cost ")


def test_a_wide_block_is_drawn_with_an_ellipsis():
    from deltaprop.core.diagram import Diagram

    net = dp.Network.layered([4, 64, 3], seed=0)
    d = Diagram.of(net)
    assert [i for j, i in d.positions if j == 1] == [0, 1, 2, 3, 60, 61, 62, 63]
    assert d.ellipses[1][2] == 56 and d.height < 800
    assert len(d.edges) == 4 * 8 + 8 * 3
    assert d.anchor((1, 30)) == "ellipsis-1" and d.anchor((1, 63)) == "unit-1-63"


def test_unit_edges_lists_every_edge_with_its_weight():
    net = _graph()
    edges = net.unit_edges
    assert len(edges) == 7
    for source, target, w in edges:
        assert w == net.weight(source, target)
    assert {(s.name, t.name) for s, t, _ in edges} == {("x1", "h1"), ("x2", "h1"), ("x1", "h2"), ("h1", "h2"),
                                                        ("h1", "o"), ("h2", "o"), ("x2", "o")}


def test_no_reader_facing_text_says_seed_for_the_sources():
    """The sources are UFLDL's tutorial and AIMA's textbook; 'seed' means only the random seed."""
    root = os.path.join(os.path.dirname(__file__), "..")
    texts = {name: open(os.path.join(root, name), encoding="utf-8").read()
             for name in ("README.md", "docs/tutorial.md", "docs/learner.ipynb")}
    net = dp.Network.layered([2, 3, 2], seed=0)
    ex = dp.explain(net, [1.0, 0.5], [0.0, 1.0])
    texts.update(text=ex.to_text(), markdown=ex.to_markdown(), html=ex.to_html(), doc=dp.explain.__doc__)
    for name, text in texts.items():
        for jargon in ("seed 000", "seed 001", "the seed's", "seed learner", "seeds' own"):
            assert jargon not in text.lower(), (name, jargon)
