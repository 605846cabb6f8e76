"""One self-contained HTML page: an inline SVG of the network, MathML equations, the tables,
and highlighting that links each delta to the terms of its sum. No CDN, no fetch.

Every number on the page sits in an element with ``data-kind``, ``data-unit`` (block-index),
``data-example`` and ``data-value`` (the full-precision value), so a browser test can compare
the page with the library. Opening the page with ``#selftest`` runs its own highlighting once
and records the result in ``<body data-selftest="...">``.
"""

from __future__ import annotations

from html import escape

import numpy as np

from .render import grad_header, grad_rows, grad_title, header_lines, notation_sign, num, verdict

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.note{color:#555} math{font-size:1.1em} .eq{margin:.4em 0 .8em 1em}
math[display=block]{text-align:left;margin:.3em 0}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f4f4f4} td:first-child{text-align:left}
.delta{border-left:3px solid transparent;padding-left:.5em;cursor:pointer}
.delta:hover,.delta.active{border-left-color:#d62728;background:#fff5f5}
.hl{fill:#d62728 !important;stroke:#d62728 !important;stroke-width:3px !important;background:#ffe0e0}
svg .unit{fill:#e8f0fe;stroke:#1f77b4;stroke-width:1.5px} svg .edge{stroke:#999;stroke-width:1.2px}
svg text{font-size:11px;font-family:sans-serif} svg .w{fill:#555;font-size:9px}
"""

_JS = """
function links(el){return (el.getAttribute('data-links')||'').split(' ').filter(Boolean)}
function clear(){document.querySelectorAll('.hl').forEach(e=>e.classList.remove('hl'));
  document.querySelectorAll('.delta.active').forEach(e=>e.classList.remove('active'))}
function show(el){clear();el.classList.add('active');var n=0;
  links(el).forEach(id=>{var t=document.getElementById(id);if(t){t.classList.add('hl');n++}});return n}
document.querySelectorAll('.delta').forEach(el=>{el.addEventListener('mouseenter',()=>show(el));
  el.addEventListener('click',()=>show(el))});
if(location.hash==='#selftest'){var first=document.querySelector('.delta[data-links]');
  var n=first?show(first):0;var want=first?links(first).length:0;
  document.body.setAttribute('data-selftest','highlighted '+n+' of '+want+
    '; svg '+document.querySelectorAll('svg').length+'; math '+document.querySelectorAll('math').length)}
"""


def _mn(v) -> str:
    return f"<mn>{escape(num(v))}</mn>"


def _val(kind, unit, x, v) -> str:
    """A number on the page, tagged with what it is (for the browser test)."""
    return (f"<span class='num' data-kind='{kind}' data-unit='{unit[0]}-{unit[1]}' data-example='{x}' "
            f"data-value='{float(v)!r}'>{escape(num(v))}</span>")


def _math(*parts) -> str:
    return "<math display='block'><mrow>" + "".join(parts) + "</mrow></math>"


def _mo(s) -> str:
    return f"<mo>{escape(s)}</mo>"


def _svg(ex) -> str:
    net, nota = ex.net, ex.notation
    n = len(net.blocks)
    col_w, row_h, top = 170, 54, 40
    height = top + row_h * max(b.units for b in net.blocks) + 20
    pos = {}
    for j, b in enumerate(net.blocks):
        offset = (max(bb.units for bb in net.blocks) - b.units) * row_h / 2
        for i in range(b.units):
            pos[(j, i)] = (60 + j * col_w, top + offset + i * row_h)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{80 + (n - 1) * col_w + 60}' height='{height}' "
             f"role='img' aria-label='the network'>"]
    show_w = sum(int(g.kind == "W") for g in ex.grads) <= 60
    for g in ex.grads:
        if g.kind != "W":
            continue
        (x1, y1), (x2, y2) = pos[g.source], pos[g.target]
        e = _edge_id(ex, g.source, g.target)
        parts.append(f"<line class='edge' id='{e}' x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}'/>")
        if show_w:
            mx, my = x1 + (x2 - x1) * 0.3, y1 + (y2 - y1) * 0.3 - 3
            parts.append(f"<text class='w' x='{mx:.0f}' y='{my:.0f}'>{escape(num(g.value))}</text>")
    for (j, i), (x, y) in pos.items():
        a = next(uf.a for uf in ex.forward if uf.unit == (j, i))
        label = nota.names[(j, i)] if nota.kind == "aima" else f"{i + 1}"
        parts.append(f"<circle class='unit' id='unit-{j}-{i}' cx='{x}' cy='{y}' r='16'><title>"
                     f"{escape(nota.unit_name((j, i)))}</title></circle>")
        parts.append(f"<text x='{x}' y='{y + 4}' text-anchor='middle'>{escape(label)}</text>")
        parts.append(f"<text x='{x}' y='{y + 30}' text-anchor='middle'>a={escape(num(np.atleast_1d(a)[0]))}</text>")
    for j in range(n):
        title = "input" if j == 0 else (net.blocks[j].activation or "")
        if nota.kind == "ufldl":
            title = f"layer {j + 1}: {title}"
        parts.append(f"<text x='{60 + j * col_w}' y='16' text-anchor='middle'>{escape(title)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _edge_id(ex, source, target):
    return f"edge-{source[0]}-{source[1]}-{target[0]}-{target[1]}"


def to_html(ex) -> str:
    nota = ex.notation
    s = notation_sign(ex)
    head = header_lines(ex, md=False)
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>{escape(head[0])}</title><style>{_CSS}</style></head><body>",
           f"<h1>{escape(head[0])}</h1>"]
    out += [f"<p class='note'>{escape(h)}</p>" for h in head[1:]]
    out.append(f"<div id='diagram'>{_svg(ex)}</div>")
    xs = [None] if ex.m == 1 else list(range(ex.m))
    for x in xs:
        k = x or 0
        tag = "" if x is None else f" (example {x + 1} of {ex.m})"
        out.append(f"<h2>1. Forward pass{tag}</h2>")
        for uf in ex.forward:
            if uf.z is None:
                continue
            zs, as_ = nota.value("z", uf.unit), nota.value("a", uf.unit)
            syms, vals = [], []
            for t in uf.terms:
                syms.append(nota.weight(t.source, t.target).mathml + nota.value("a", t.source).mathml)
                vals.append(_mo("(") + _mn(t.weight) + _mo(")") + _mo("(") + _mn(np.atleast_1d(t.value)[k]) + _mo(")"))
            if uf.bias is not None:
                syms.append(nota.bias(uf.unit).mathml)
                vals.append(_mn(uf.bias))
            out.append("<div class='eq'>" + _math(zs.mathml, _mo("="), _mo("+").join(syms), _mo("="),
                                                  _mo("+").join(vals)) +
                       f" {escape(zs.text)} = {_val('z', uf.unit, k, np.atleast_1d(uf.z)[k])},"
                       f" {escape(as_.text)} = {nota.f}({escape(zs.text)}) = "
                       f"{_val('a', uf.unit, k, np.atleast_1d(uf.a)[k])}</div>")
        out.append(f"<h2>2. Output deltas{tag}</h2>")
        for d in ex.deltas:
            if d.output_part is None:
                continue
            ds = nota.value("delta", d.unit)
            h = nota.value("a", d.unit)
            y = "y" if nota.kind == "ufldl" else "t"
            formula = {"cross-entropy": (h.mathml + _mo("-") + f"<mi>{y}</mi>") if s > 0 else
                       (f"<mi>{y}</mi>" + _mo("-") + h.mathml)}.get(d.rule)
            if formula is None:
                formula = (_mo("-") + _mo("(") + f"<mi>{y}</mi>" + _mo("-") + h.mathml + _mo(")") +
                           f"<mi>{nota.f}</mi><mo>&#8242;</mo>" + _mo("(") + nota.value("z", d.unit).mathml + _mo(")"))
                if s < 0:
                    formula = (f"<mi>{nota.f}</mi><mo>&#8242;</mo>" + _mo("(") + nota.value("z", d.unit).mathml +
                               _mo(")") + _mo("(") + f"<mi>{y}</mi>" + _mo("-") + h.mathml + _mo(")"))
            kind = "delta" if not d.terms else "delta-output-part"  # an output unit that also feeds others
            out.append("<div class='eq'>" + _math(ds.mathml, _mo("="), formula) +
                       f" {escape(ds.text)} = {_val(kind, d.unit, k, (d.output_part * s)[k])}"
                       f" (h = {escape(num(d.h[k]))}, {y} = {escape(num(d.y[k]))})"
                       + (" + the sum over the units it feeds, below" if d.terms else "") + "</div>")
        hidden = [d for d in ex.deltas if d.terms]
        if hidden:
            out.append(f"<h2>3. Hidden deltas{tag}</h2>")
            out.append("<p class='note'>" + escape(
                "delta(l)_i = f'(z(l)_i) sum_j W(l)_ji delta(l+1)_j: each term is a unit this one feeds, with the "
                "weight on the edge from this unit to it (W_ji, the index swap). Hover or click a delta to see its "
                "terms in the diagram." if nota.kind == "ufldl" else
                "Delta_j = g'(in_j) sum_k w_jk Delta_k: the sum runs over every unit k that j feeds. Hover or click "
                "a Delta to see its terms in the diagram.") + "</p>")
            for d in hidden:
                ds, zs = nota.value("delta", d.unit), nota.value("z", d.unit)
                ids = [f"unit-{d.unit[0]}-{d.unit[1]}"]
                rows = []
                for t in d.terms:
                    ids += [_edge_id(ex, t.source, t.target), f"unit-{t.target[0]}-{t.target[1]}"]
                    rows.append(f"<tr><td>{escape(nota.weight(t.source, t.target).text)} · "
                                f"{escape(nota.value('delta', t.target).text)}</td><td>{escape(num(t.weight))}</td>"
                                f"<td>{escape(num((t.value * s)[k]))}</td><td>{escape(num((t.product * s)[k]))}</td></tr>")
                syms = [nota.weight(t.source, t.target).mathml + nota.value("delta", t.target).mathml for t in d.terms]
                result = "" if d.fprime is None else (
                    f" = {escape(num(d.fprime[k]))} × {escape(num((d.total * s)[k]))} = "
                    f"{_val('delta' if d.output_part is None else 'delta-hidden-part', d.unit, k, (d.fprime * d.total * s)[k])}")
                if d.output_part is not None:
                    result += f"; with its output part, {escape(ds.text)} = {_val('delta', d.unit, k, (d.delta * s)[k])}"
                out.append(f"<div class='delta' data-links='{' '.join(ids)}'>" +
                           _math(ds.mathml, _mo("="), f"<mi>{nota.f}</mi><mo>&#8242;</mo>", _mo("("), zs.mathml,
                                 _mo(")"), _mo("["), _mo("+").join(syms), _mo("]")) +
                           "<table><tr><th>term</th><th>weight</th><th>delta fed</th><th>product</th></tr>" +
                           "".join(rows) + "</table>" + f"<p>{escape(ds.text)}{result}</p></div>")
    out.append(f"<h2>{escape(grad_title(ex))}</h2><table id='gradients'><tr>" +
               "".join(f"<th>{escape(h)}</th>" for h in grad_header(ex)) + "</tr>")
    for g, row in zip(ex.grads, grad_rows(ex)):
        kind = "dW" if g.kind == "W" else "db"
        unit = g.target
        attrs = (f" data-kind='{kind}' data-unit='{unit[0]}-{unit[1]}' data-source='"
                 f"{'' if g.source is None else f'{g.source[0]}-{g.source[1]}'}' data-value='{g.total!r}'"
                 f" data-numeric='{'' if g.numeric is None else repr(g.numeric)}'")
        out.append(f"<tr{attrs}>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    out.append(f"<p id='verdict'>{escape(verdict(ex)[0])}</p>")
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out)
