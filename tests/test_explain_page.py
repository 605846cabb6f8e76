"""The step-through page in a real headless browser (Chromium driven by Playwright, no browser download):
stepping with the keyboard highlights exactly the units and edges each step involves, every number shown
is the library's to the digits shown, edge labels never overlap, and screenshots of a few steps are kept
as test artefacts (tests/artifacts/, or $DELTAPROP_ARTIFACTS).

Skipped only where Chromium or Playwright is missing and $CI is unset: CI must run it."""

from __future__ import annotations

import csv
import os
import pathlib
import shutil

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explain.render import num
from deltaprop.model import Model, Scaler, encode_labels

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                             "/usr/bin/chromium") if p and os.path.exists(p)), None)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the skip below says why
    sync_playwright = None

pytestmark = pytest.mark.skipif((CHROMIUM is None or sync_playwright is None) and not os.environ.get("CI"),
                                reason="needs Chromium and playwright (pip install playwright; no browser download)")

ARTIFACTS = pathlib.Path(os.environ.get("DELTAPROP_ARTIFACTS", ROOT / "tests" / "artifacts"))


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None, "CI must install Chromium (.ci/run does)"
    assert sync_playwright is not None, "CI must install playwright (the test extra has it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _open(browser, html, tmp_path, name="page.html", width=1300, height=900):
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelector('.dp-explain[data-ready]') !== null")
    return page, errors


# --- the networks and what the library says about them ---------------------------------------------------


def _graph():
    g = dp.Graph()
    x1, x2 = g.input("x1"), g.input("x2")
    h1, h2 = g.unit("tanh", name="h1"), g.unit("sigmoid", name="h2", bias=None)
    o = g.unit("sigmoid", name="o")
    for s, t in [(x1, h1), (x2, h1), (x1, h2), (h1, h2), (h1, o), (h2, o), (x2, o)]:
        g.connect(s, t)
    g.output(o)
    return g.compile(seed=1)


def _iris_model(hidden=8, epochs=20):
    rows = list(csv.reader((ROOT / "examples" / "data" / "iris.csv").open()))
    names, rows = rows[0][:4], rows[1:]
    X = np.array([[float(v) for v in r[:4]] for r in rows])
    species = [r[4] for r in rows]
    scaler = Scaler.fit(X)
    Y, classes = encode_labels(species)
    net = dp.Network.layered([4, hidden, 3], hidden="tanh", output="softmax", cost="cross_entropy",
                             weight_decay=1e-3, seed=0)
    history = dp.train(net, scaler.transform(X), Y, optimizer="adam", learning_rate=0.01, epochs=epochs, seed=0)
    return Model(net, "classification", classes, feature_names=names, scaler=scaler, history=history), X, species


def _case(name):
    """(explained object, x, y, net, X the network sees, Y, notation)."""
    if name == "232-ufldl":
        net = dp.Network.layered([2, 3, 2], hidden="sigmoid", output="sigmoid", seed=3)
        return net, [1.0, 0.5], [0.0, 1.0], net, np.array([[1.0, 0.5]]), np.array([[0.0, 1.0]]), "ufldl"
    if name == "graph-aima":
        net = _graph()
        x, y = np.array([[0.3, -0.7]]), np.array([[1.0]])
        return net, x, y, net, x, y, "aima"
    if name == "232-aima-2examples":
        net = dp.Network.layered([2, 3, 2], hidden="tanh", output="softmax", cost="cross_entropy", weight_decay=0.1,
                                 seed=0)
        x, y = np.array([[1.0, 0.5], [-0.3, 0.8]]), np.array([[1.0, 0.0], [0.0, 1.0]])
        return net, x, y, net, x, y, "aima"
    model, X, species = _iris_model(8 if name == "iris-483" else 64, 20 if name == "iris-483" else 3)
    return model, X[50], species[50], model.network, model.inputs(X[50:51]), model.targets([species[50]]), "ufldl"


def _expected_value(net, tr, Y, kind, unit, source, x, sign):
    """The library's value for a number the page shows (None: a derived number, checked only for its digits)."""
    j, i = unit
    if kind == "z":
        return tr.z[j][x, i]
    if kind == "a":
        return tr.a[j][x, i]
    if kind == "delta":
        return sign * tr.delta[j][x, i]
    if kind == "fprime":
        act = net.layout.activations[j]
        return act.fprime(tr.z[j][x:x + 1, i:i + 1], tr.a[j][x:x + 1, i:i + 1])[0, 0]
    if kind == "y":
        for jj, cols in net.layout.outputs:
            if jj == j:
                return Y[x, np.arange(net.n_outputs)[cols][i]]
    if kind in ("w", "dW"):
        e = net.edge_index(source[0], j)
        return (net.W if kind == "w" else tr.dW)[e][i, source[1]]
    if kind == "b":
        return net.b[j - 1][i]
    if kind == "db":
        return tr.db[j - 1][i]
    return None


def _drawn(net, unit, max_rows=9):
    """Whether the page draws a unit: all of a block of at most 9, else its first 4 and last 4."""
    j, i = unit
    n = net.blocks[j].units
    return n <= max_rows or i < 4 or i >= n - 4


def _involved(net, kind, unit, Y_cols):
    """Units and edges a step involves, from the network's structure alone."""
    def edges_into(j, i):
        out = []
        for e, k in net.layout.predecessors[j]:
            mask = net.edges[e].mask
            out += [((k, p), (j, i)) for p in range(net.blocks[k].units) if mask is None or mask[i, p]]
        return out

    def edges_out(j, i):
        out = []
        for e, s in net.layout.successors[j]:
            mask = net.edges[e].mask
            out += [((j, i), (s, r)) for r in range(net.blocks[s].units) if mask is None or mask[r, i]]
        return out

    if kind == "example":
        return [(0, i) for i in range(net.n_inputs)] + Y_cols, []
    if kind == "check":
        return [], []
    edges = edges_into(*unit) if kind in ("forward", "grad") else edges_out(*unit)
    units = [unit] + [s if kind in ("forward", "grad") else t for s, t in edges]
    return units, edges


def _expected_highlight(net, kind, unit, Y_cols):
    units, edges = _involved(net, kind, unit, Y_cols)
    ids = {f"unit-{j}-{i}" if _drawn(net, (j, i)) else f"ellipsis-{j}" for j, i in units}
    ids |= {f"edge-{s[0]}-{s[1]}-{t[0]}-{t[1]}" for s, t in edges if _drawn(net, s) and _drawn(net, t)}
    return ids


_STATE = """() => {
  const root = document.querySelector('.dp-explain');
  const cur = root.querySelector('.step.current');
  const visible = e => e.getClientRects().length > 0;
  const nums = [...cur.querySelectorAll('.num'), ...root.querySelectorAll('.ov.on .num')].filter(visible).map(e => ({
      kind: e.dataset.kind, unit: e.dataset.unit || '', source: e.dataset.source || '', example: e.dataset.example || '',
      value: e.dataset.value, text: e.textContent.trim()}));
  const labels = [...root.querySelectorAll('svg .elabel')].filter(visible).map(e => {
      const b = e.getBBox(); return {edge: e.dataset.edge, x: b.x, y: b.y, w: b.width, h: b.height}});
  return {index: +root.dataset.current, kind: cur.dataset.kind, unit: cur.dataset.unit, example: cur.dataset.example,
          where: root.querySelector('.dp-where').textContent, links: cur.dataset.links.split(' ').filter(Boolean),
          hl: [...root.querySelectorAll('.hl')].map(e => e.dataset.id), nums, labels,
          n: root.querySelectorAll('.step').length};
}"""


def _check_state(state, net, tr, Y, sign, Y_cols):
    unit = tuple(map(int, state["unit"].split("-"))) if state["unit"] else None
    # exactly the elements the step involves are highlighted, no more, no fewer
    expected = _expected_highlight(net, state["kind"], unit, Y_cols)
    assert set(state["hl"]) == expected, (state["where"], sorted(set(state["hl"]) ^ expected))
    assert len(state["hl"]) == len(expected)
    # every number shown is the library's, to the digits shown
    checked = 0
    for n in state["nums"]:
        assert n["text"] == num(float(n["value"])), (state["where"], n)
        if not n["unit"]:
            continue
        u = tuple(map(int, n["unit"].split("-")))
        src = tuple(map(int, n["source"].split("-"))) if n["source"] else None
        x = int(n["example"]) if n["example"] else 0
        want = _expected_value(net, tr, Y, n["kind"], u, src, x, sign)
        if want is None:
            continue
        assert float(n["value"]) == pytest.approx(float(want), rel=1e-9, abs=1e-12), (state["where"], n, want)
        assert n["text"] == num(want), (state["where"], n, want)
        checked += 1
    if state["kind"] in ("forward", "output", "hidden", "grad"):
        assert checked >= 2, (state["where"], state["nums"])
    # edge labels: one on each drawn edge the step involves, none overlapping another
    boxes = state["labels"]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            p, q = boxes[a], boxes[b]
            assert (p["x"] + p["w"] <= q["x"] or q["x"] + q["w"] <= p["x"] or p["y"] + p["h"] <= q["y"]
                    or q["y"] + q["h"] <= p["y"]), (state["where"], p, q)
    drawn_edges = {i for i in state["hl"] if i.startswith("edge-")}
    if state["kind"] != "example":
        assert {b["edge"] for b in boxes} == drawn_edges, state["where"]
    return checked


def _shoot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize("case", ["232-ufldl", "graph-aima", "232-aima-2examples", "iris-483"])
def test_stepping_highlights_exactly_the_step_and_shows_the_librarys_numbers(browser, case, tmp_path):
    obj, x, y, net, X, Y, notation = _case(case)
    ex = dp.explain(obj, x, y, notation=notation)
    tr = net.backprop(X, Y)
    sign = -1.0 if notation == "aima" else 1.0
    Y_cols = [(j, i) for j, cols in net.layout.outputs for i in range(net.blocks[j].units)]
    page, errors = _open(browser, ex.to_html(), tmp_path)
    state = page.evaluate(_STATE)
    assert state["index"] == 0 and state["kind"] == "example"
    n = state["n"]
    kinds = []
    checked = _check_state(state, net, tr, Y, sign, Y_cols)
    _shoot(page, f"{case}-000-example")
    shots = {}
    for k in range(1, n):  # forward through every step with the keyboard
        page.keyboard.press("ArrowRight")
        state = page.evaluate(_STATE)
        assert state["index"] == k
        kinds.append(state["kind"])
        checked += _check_state(state, net, tr, Y, sign, Y_cols)
        if state["kind"] not in shots:
            shots[state["kind"]] = k
            _shoot(page, f"{case}-{k:03d}-{state['kind']}")
    page.keyboard.press("ArrowRight")  # past the end: stays on the last step
    assert page.evaluate(_STATE)["index"] == n - 1
    for k in range(n - 2, max(-1, n - 8), -1):  # and backward
        page.keyboard.press("ArrowLeft")
        state = page.evaluate(_STATE)
        assert state["index"] == k
        _check_state(state, net, tr, Y, sign, Y_cols)
    page.keyboard.press("Home")
    assert page.evaluate(_STATE)["index"] == 0
    page.keyboard.press("End")
    assert page.evaluate(_STATE)["index"] == n - 1
    # the order the issue asks for: forward, output deltas, hidden deltas (per example), gradients, the check
    order = [k for k in kinds if k != "example"]
    assert order[0] == "forward" and order[-1] == "check" and "hidden" in order
    assert order.index("grad") > max(i for i, k in enumerate(order) if k == "hidden")
    n_units = sum(b.units for b in net.blocks[1:])
    assert kinds.count("forward") == n_units * ex.m and kinds.count("output") + kinds.count("hidden") == n_units * ex.m
    assert checked > 10 * ex.m
    assert not errors, errors
    page.close()


def test_play_walks_the_whole_derivation_and_the_diagram_stays_in_view(browser, tmp_path):
    net = dp.Network.layered([2, 3, 2], hidden="sigmoid", output="sigmoid", seed=3)
    ex = dp.explain(net, [1.0, 0.5], [0.0, 1.0])
    page, errors = _open(browser, ex.to_html(), tmp_path, height=600)
    page.keyboard.press("End")  # the last step is far down the page ...
    top = page.evaluate("document.querySelector('.dp-diagram svg').getBoundingClientRect().top")
    assert page.evaluate("window.scrollY") > 500 and 0 <= top < 200  # ... and the diagram is still in view
    page.evaluate("document.querySelector('[data-go=play]').click()")
    page.wait_for_function("document.querySelector('.dp-explain').dataset.current === '1'", timeout=5000)
    assert page.inner_text("[data-go=play]").endswith("pause")
    page.keyboard.press("p")  # pause
    assert page.inner_text("[data-go=play]").endswith("play")
    page.click("[data-go=next]")
    assert page.evaluate("document.querySelector('.dp-explain').dataset.current") == "2"
    assert not errors, errors
    page.close()


@pytest.mark.parametrize("sizes", [[2, 3, 2], [4, 8, 3]])
def test_edge_labels_never_overlap(browser, sizes, tmp_path):
    """On the step-through page at every step (checked above too) and on the network's own diagram."""
    net = dp.Network.layered(sizes, seed=0)
    X = np.linspace(-1, 1, sizes[0]).reshape(1, -1)
    ex = dp.explain(net, X, np.eye(sizes[-1])[:1])
    page, _ = _open(browser, ex.to_html(), tmp_path)
    n = page.evaluate(_STATE)["n"]
    most = 0
    for _ in range(n - 1):
        page.keyboard.press("ArrowRight")
        state = page.evaluate(_STATE)
        labels = state["labels"]
        most = max(most, len(labels))
        for a in range(len(labels)):
            for b in range(a + 1, len(labels)):
                p, q = labels[a], labels[b]
                assert (p["x"] + p["w"] <= q["x"] or q["x"] + q["w"] <= p["x"] or p["y"] + p["h"] <= q["y"]
                        or q["y"] + q["h"] <= p["y"]), (state["where"], p, q)
    assert most == max(sizes[:-1])  # the widest fan (in or out) got every one of its labels
    page.close()
    # the network's own diagram (notebooks): every label written is clear of every other
    page = browser.new_page()
    page.set_content(net._repr_html_())
    boxes = page.evaluate("[...document.querySelectorAll('svg .elabel')].map(e => {const b = e.getBBox(); "
                          "return [b.x, b.y, b.width, b.height]})")
    if sizes == [2, 3, 2]:
        assert len(boxes) == 12
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            p, q = boxes[a], boxes[b]
            assert p[0] + p[2] <= q[0] or q[0] + q[2] <= p[0] or p[1] + p[3] <= q[1] or q[1] + q[3] <= p[1]
    page.close()


def test_a_wide_layer_is_drawn_with_an_ellipsis_and_still_stepped_through(browser, tmp_path):
    obj, x, y, net, X, Y, notation = _case("iris-4643")
    ex = dp.explain(obj, x, y)
    page, errors = _open(browser, ex.to_html(), tmp_path)
    assert page.evaluate("document.querySelectorAll('svg circle.unit').length") == 4 + 8 + 3
    assert "56 more" in page.text_content("[data-id=ellipsis-1]")
    height = page.evaluate("document.querySelector('.dp-diagram svg').getBoundingClientRect().height")
    assert height < 900  # not a 3,500-px column
    tr = net.backprop(X, Y)
    Y_cols = [(j, i) for j, cols in net.layout.outputs for i in range(net.blocks[j].units)]
    # the forward step of hidden unit 30 (left out of the drawing) highlights the ellipsis, and its numbers are there
    target = page.evaluate("[...document.querySelectorAll('.step')].findIndex(s => s.dataset.kind === 'forward' && "
                           "s.dataset.unit === '1-29')")
    page.keyboard.press("Home")
    for _ in range(target):
        page.keyboard.press("ArrowRight")
    state = page.evaluate(_STATE)
    assert state["unit"] == "1-29" and "ellipsis-1" in state["hl"]
    _check_state(state, net, tr, Y, 1.0, Y_cols)
    _shoot(page, "iris-4643-elided-unit")
    assert not errors, errors
    page.close()


def test_two_explanations_in_one_notebook_step_independently(browser):
    net = dp.Network.layered([2, 3, 2], seed=3)
    a = dp.explain(net, [1.0, 0.5], [0.0, 1.0])._repr_html_()
    b = dp.explain(net, [1.0, 0.5], [0.0, 1.0], notation="aima")._repr_html_()
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(f"<html><body><div class='cell'>{a}</div><div class='cell'>{b}</div></body></html>")
    roots = page.locator(".dp-explain")
    assert roots.count() == 2
    roots.nth(1).click(position={"x": 5, "y": 5})
    roots.nth(1).press("ArrowRight")
    roots.nth(1).press("ArrowRight")
    current = page.evaluate("[...document.querySelectorAll('.dp-explain')].map(r => r.dataset.current)")
    assert current == ["0", "2"]
    assert not errors, errors
    page.close()
