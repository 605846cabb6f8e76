"""The step-through page: one self-contained HTML file (inline SVG, MathML, CSS and JavaScript;
nothing is fetched) that walks through backprop one step at a time.

Layout: the diagram of the network and the step controls stay in view (a sticky column) beside
the derivation. Each step of :func:`deltaprop.explain.steps.derivation` is a ``<section
class='step'>``; stepping to it (buttons, the arrow keys, Home/End, "p" to play, or a click on
the step) highlights exactly the units and edges it involves (``data-links``) and shows its
values on the diagram: weights on the edges, a and z below and above the units, deltas above
them in the backward steps. Edge labels never overlap (see :class:`deltaprop.core.diagram.Diagram`).

Every number on the page is tagged with ``data-kind``, ``data-unit`` (block-index),
``data-example`` and ``data-value`` (full precision), so that a browser test can compare it with
the library. Opening the page with ``#selftest`` steps to the first hidden delta and records in
``<body data-selftest="...">`` how many of its elements were highlighted.
"""

from __future__ import annotations

from html import escape

from ..core.diagram import RADIUS, Diagram, label_size
from .equations import num
from .steps import derivation, grad_header, grad_row, grad_rows, grad_title, header_lines, notation_sign, verdict

__all__ = ["to_html", "to_html_fragment"]

_CSS = """
.dp-explain{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;line-height:1.4}
.dp-explain h1{font-size:1.35em;margin:.4em 0} .dp-explain h2{font-size:1.1em;margin:1.3em 0 .3em;border-bottom:1px solid #ddd}
.dp-explain .note{color:#555;margin:.2em 0} .dp-explain .intro p{margin:.15em 0}
.dp-explain .dp-layout{display:grid;grid-template-columns:minmax(20em,1fr) minmax(24em,1fr);gap:1.5em;align-items:start}
.dp-explain .dp-view{position:sticky;top:0;max-height:100vh;overflow:auto;background:#fff;padding:.3em 0;z-index:1}
.dp-explain .dp-diagram svg{width:100%;height:auto;max-height:calc(100vh - 9em)}
.dp-explain .dp-controls{display:flex;flex-wrap:wrap;gap:.3em;align-items:center}
.dp-explain .dp-controls button{font:inherit;font-size:.9em;padding:.15em .6em;border:1px solid #aaa;border-radius:4px;
 background:#f6f6f6;cursor:pointer}
.dp-explain .dp-where{font-size:.92em;margin:.35em 0;min-height:2.6em}
.dp-explain .dp-keys{font-size:.8em;color:#666}
.dp-explain .step{border-left:3px solid transparent;padding:.1em .6em;margin:.3em 0;cursor:pointer}
.dp-explain .step.current{border-left-color:#d62728;background:#fff6f6}
.dp-explain .eq{overflow-x:auto;padding:.05em 0} .dp-explain .sum{margin:.2em 0}
.dp-explain math{font-size:1.1em} .dp-explain .eq math{display:inline math;math-style:normal}
.dp-explain .eq{margin:.35em 0} .dp-explain math.cont{padding-left:2.5em}
.dp-explain table{border-collapse:collapse;margin:.4em 0;font-size:.9em}
.dp-explain td,.dp-explain th{border:1px solid #ccc;padding:.15em .45em;text-align:right}
.dp-explain th{background:#f4f4f4} .dp-explain td:first-child{text-align:left}
.dp-explain .tablewrap{overflow-x:auto}
.dp-explain svg .unit{fill:#e8f0fe;stroke:#1f77b4;stroke-width:1.5px} .dp-explain svg .edge{stroke:#999;stroke-width:1.2px}
.dp-explain svg text{font-family:system-ui,sans-serif;font-size:11px}
.dp-explain svg .btitle{font-size:12px;fill:#333} .dp-explain svg .fname{font-size:10px;fill:#555}
.dp-explain svg.stepping .edge{stroke-opacity:.15} .dp-explain svg.stepping .unit{opacity:.45}
.dp-explain svg.stepping .base{display:none}
.dp-explain svg .edge.hl{stroke:#d62728;stroke-opacity:1;stroke-width:2.4px}
.dp-explain svg .unit.hl{fill:#ffe3e3;stroke:#d62728;stroke-width:2.5px;opacity:1}
.dp-explain svg .ellipsis.hl text{fill:#d62728;font-weight:bold}
.dp-explain svg .ov{display:none} .dp-explain svg .ov.on{display:inline}
.dp-explain svg .ulabel,.dp-explain svg .elabel,.dp-explain svg .base{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;
 font-size:10px}
.dp-explain svg .ulabel.cur{fill:#a00000} .dp-explain svg .ulabel.old{fill:#888}
.dp-explain svg .lbg{fill:#fff;fill-opacity:.94;stroke:#d62728;stroke-width:.6px}
@media (max-width:760px){.dp-explain .dp-layout{display:block}.dp-explain .dp-view{max-height:50vh}
 .dp-explain .dp-diagram svg{max-height:36vh}}
"""

_JS = r"""
(function(root){
if(!root||root.hasAttribute('data-ready'))return;root.setAttribute('data-ready','1');
var steps=[].slice.call(root.querySelectorAll('.step')),svg=root.querySelector('svg.dp-net'),
    where=root.querySelector('.dp-where'),play=root.querySelector('[data-go=play]'),cur=-1,timer=null;
function el(id){return root.querySelector('[data-id="'+id+'"]')}
function links(s){return (s.getAttribute('data-links')||'').split(' ').filter(Boolean)}
function go(k,scroll){
  if(!steps.length)return 0;k=Math.max(0,Math.min(steps.length-1,k));
  root.querySelectorAll('.hl').forEach(function(e){e.classList.remove('hl')});
  root.querySelectorAll('.ov.on').forEach(function(e){e.classList.remove('on')});
  if(cur>=0)steps[cur].classList.remove('current');
  cur=k;var s=steps[k],n=0;s.classList.add('current');
  links(s).forEach(function(id){var e=el(id);if(e){e.classList.add('hl');n++}});
  var ov=root.querySelector('.ov[data-step="'+k+'"]');if(ov)ov.classList.add('on');
  if(svg)svg.classList.add('stepping');
  where.textContent='Step '+(k+1)+' of '+steps.length+' \u2014 '+s.getAttribute('data-title');
  root.setAttribute('data-current',String(k));
  if(scroll&&s.scrollIntoView)s.scrollIntoView({block:'nearest'});
  return n}
function toggle(){
  if(timer){clearInterval(timer);timer=null;play.textContent='\u25B6 play';return}
  if(cur>=steps.length-1)go(0,true);play.textContent='\u275A\u275A pause';
  timer=setInterval(function(){if(cur>=steps.length-1){toggle();return}go(cur+1,true)},1400)}
root.querySelectorAll('[data-go]').forEach(function(b){b.addEventListener('click',function(){
  var g=b.getAttribute('data-go');if(g==='play'){toggle();return}
  go(g==='first'?0:g==='last'?steps.length-1:cur+(g==='next'?1:-1),true)})});
steps.forEach(function(s,k){s.addEventListener('click',function(){go(k,false)})});
function key(e){if(e.altKey||e.ctrlKey||e.metaKey)return;
  var t=e.target&&e.target.tagName;if(t==='INPUT'||t==='TEXTAREA')return;
  if(e.key==='ArrowRight'){go(cur+1,true)}else if(e.key==='ArrowLeft'){go(cur-1,true)}
  else if(e.key==='Home'){go(0,true)}else if(e.key==='End'){go(steps.length-1,true)}
  else if(e.key==='p'){toggle()}else return;e.preventDefault()}
(root.hasAttribute('data-standalone')?document:root).addEventListener('keydown',key);
go(0,false);
if(root.hasAttribute('data-standalone')&&location.hash==='#selftest'){
  var d=root.querySelector('.step.delta'),n=d?go(steps.indexOf(d),false):0,want=d?links(d).length:0;
  document.body.setAttribute('data-selftest','highlighted '+n+' of '+want+'; svg '+
    root.querySelectorAll('svg').length+'; math '+root.querySelectorAll('math').length)}
})((function(){var s=document.currentScript,r=s&&s.closest?s.closest('.dp-explain'):null;
  if(!r){var all=document.querySelectorAll('.dp-explain:not([data-ready])');r=all[all.length-1]}return r})());
"""


def _val(kind, unit, x, v) -> str:
    """A number in the prose, tagged with what it is (for the browser test)."""
    return (f"<span class='num' data-kind='{kind}' data-unit='{unit[0]}-{unit[1]}' data-example='{x}' "
            f"data-value='{float(v)!r}'>{escape(num(v))}</span>")


def _tspan(kind, unit, x, v, source=None) -> str:
    attrs = f" data-unit='{unit[0]}-{unit[1]}'"
    if source is not None:
        attrs += f" data-source='{source[0]}-{source[1]}'"
    if x is not None:
        attrs += f" data-example='{x}'"
    return f"<tspan class='num' data-kind='{kind}'{attrs} data-value='{float(v)!r}'>{escape(num(v))}</tspan>"


def _edge_id(source, target) -> str:
    return f"edge-{source[0]}-{source[1]}-{target[0]}-{target[1]}"


def _links(d: Diagram, step) -> list:
    """The diagram elements a step involves: its units (or the ellipsis standing for them) and drawn edges."""
    out = []
    for u in step.units:
        a = d.anchor(u)
        if a not in out:
            out.append(a)
    for s, t in step.edges:
        if d.drawn(s) and d.drawn(t):
            out.append(_edge_id(s, t))
    return out


def _unit_label_box(d: Diagram, unit, place: str, text: str):
    """(x, y, anchor, box) of a value shown beside a unit."""
    x, y = d.positions[unit]
    w, h = label_size(text)
    if place == "above":
        cy = y - RADIUS - 9
        return x, cy, "middle", (x - w / 2, cy - h / 2, x + w / 2, cy + h / 2)
    if place == "below":
        cy = y + RADIUS + 9
        return x, cy, "middle", (x - w / 2, cy - h / 2, x + w / 2, cy + h / 2)
    cx, cy = x + RADIUS + 6, y + 8  # right of the unit, under its name
    return cx, cy, "start", (cx, cy - h / 2, cx + w, cy + h / 2)


def _overlay(d: Diagram, step, k: int) -> str:
    """The values a step shows on the diagram: one <g class='ov'> per step."""
    parts = [f"<g class='ov' data-step='{k}'>"]
    boxes = []
    merged = {}
    for unit, place, prefix, value, kind, current in step.unit_labels:
        if not d.drawn(unit):
            continue
        merged[(unit, place)] = (prefix, value, kind, current)  # a later label for the same place wins
    for (unit, place), (prefix, value, kind, current) in merged.items():
        text = prefix + num(value)
        x, y, anchor, box = _unit_label_box(d, unit, place, text)
        boxes.append(box)
        cls = "ulabel cur" if current else "ulabel old"
        parts.append(f"<text class='{cls}' x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' dominant-baseline='central'>"
                     f"{escape(prefix)}{_tspan(kind, unit, step.example, value)}</text>")
    labels = [(s, t, num(v)) for s, t, v, _ in step.edge_labels if d.drawn(s) and d.drawn(t)]
    kinds = [(kind, value) for s, t, value, kind in step.edge_labels if d.drawn(s) and d.drawn(t)]
    for (s, t, text), (kind, value), at in zip(labels, kinds, d.place_labels(labels, boxes)):
        if at is None:
            continue
        w, h = label_size(text)
        parts.append(f"<rect class='lbg' x='{at[0] - w / 2:.1f}' y='{at[1] - h / 2:.1f}' width='{w:.1f}' "
                     f"height='{h:.1f}' rx='2'/><text class='elabel' data-edge='{_edge_id(s, t)}' x='{at[0]:.1f}' "
                     f"y='{at[1]:.1f}' text-anchor='middle' dominant-baseline='central'>"
                     f"{_tspan(kind, t, None, value, s)}</text>")
    parts.append("</g>")
    return "".join(parts)


def _svg(ex, d: Diagram, steps) -> str:
    net, nota, e = ex.net, ex.notation, ex.example
    left = 90 if e.raw is not None else 0  # room for the feature names
    right = 90
    w, h = d.width + left + right, d.height
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='dp-net' viewBox='{-left} 0 {w:.0f} {h:.0f}' "
             f"width='{w:.0f}' height='{h:.0f}' role='img' aria-label='the network: units in columns, one per block'>"]
    for j, x in enumerate(d.block_x):
        title = "input" if j == 0 else (net.blocks[j].activation or "")
        if nota.kind == "ufldl" and net.layout.is_chain:
            title = f"layer {j + 1}: {title}"
        parts.append(f"<text class='btitle' x='{x:.1f}' y='18' text-anchor='middle'>{escape(title)}</text>")
    weights = {(t.source, t.target): t.weight for uf in ex.forward for t in uf.terms}
    for s, t in d.edges:
        (x1, y1), (x2, y2) = d.positions[s], d.positions[t]
        name = f"{nota.weight(s, t).text} = {num(weights[(s, t)])}"
        parts.append(f"<line class='edge' data-id='{_edge_id(s, t)}' x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' "
                     f"y2='{y2:.1f}'><title>{escape(name)}</title></line>")
    for (j, i), (x, y) in d.positions.items():
        label = nota.names[(j, i)] if nota.kind == "aima" else f"{i + 1}"
        parts.append(f"<circle class='unit' data-id='unit-{j}-{i}' cx='{x:.1f}' cy='{y:.1f}' r='{RADIUS}'><title>"
                     f"{escape(nota.unit_name((j, i)))}</title></circle>")
        parts.append(f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='middle' dominant-baseline='central'>{escape(label)}</text>")
        a = ex.forward_value((j, i), "a", 0)
        parts.append(f"<text class='base' x='{x:.1f}' y='{y + RADIUS + 9:.1f}' text-anchor='middle' "
                     f"dominant-baseline='central'>a={escape(num(a))}</text>")
    for j, (x, y, n) in d.ellipses.items():
        parts.append(f"<g class='ellipsis' data-id='ellipsis-{j}'><rect x='{x - 36:.1f}' y='{y - 9:.1f}' width='72' "
                     f"height='18' fill='#fff'/><text x='{x:.1f}' y='{y:.1f}' text-anchor='middle' "
                     f"dominant-baseline='central'>⋮ {n} more</text></g>")
    if e.raw is not None:
        for i, name in enumerate(e.feature_names):
            if (0, i) in d.positions:
                x, y = d.positions[(0, i)]
                short = name if len(name) <= 14 else name[:13] + "…"
                parts.append(f"<text class='fname' x='{x - RADIUS - 6:.1f}' y='{y:.1f}' text-anchor='end' "
                             f"dominant-baseline='central'>{escape(short)}</text>")
    for dl in ex.deltas:
        if dl.column is not None and d.drawn(dl.unit) and e.output_names[dl.column] != nota.names[dl.unit]:
            x, y = d.positions[dl.unit]
            name = str(e.output_names[dl.column])
            short = name if len(name) <= 16 else name[:15] + "…"
            parts.append(f"<text class='fname' x='{x + RADIUS + 6:.1f}' y='{y - 8:.1f}' dominant-baseline='central'>"
                         f"{escape(short)}</text>")
    parts += [_overlay(d, step, k) for k, step in enumerate(steps)]
    parts.append("</svg>")
    return "".join(parts)


def _terms_table(ex, step) -> str:
    """The terms of a hidden delta's sum: which unit it feeds, the weight on that edge, its delta, the product."""
    s, k, nota = notation_sign(ex), step.example, ex.notation
    d = next(dd for dd in ex.deltas if dd.unit == step.unit)
    head = "delta fed" if nota.kind == "ufldl" else "Delta fed"
    rows = [f"<tr><td>{escape(nota.weight(t.source, t.target).text)} · {escape(nota.value('delta', t.target).text)}</td>"
            f"<td>{escape(num(t.weight))}</td><td>{escape(num((t.value * s)[k]))}</td>"
            f"<td>{escape(num((t.product * s)[k]))}</td></tr>" for t in d.terms]
    return (f"<div class='tablewrap'><table><tr><th>term</th><th>weight</th><th>{head}</th><th>product</th></tr>"
            + "".join(rows) + "</table></div>")


def _summary(ex, step) -> str:
    """A line of tagged numbers under a step's equations: what it computed."""
    nota, s, k, u = ex.notation, notation_sign(ex), step.example, step.unit
    if step.kind == "forward":
        zs, as_ = nota.value("z", u).text, nota.value("a", u).text
        return (f"<p class='sum'>{escape(zs)} = {_val('z', u, k, ex.forward_value(u, 'z', k))}, "
                f"{escape(as_)} = {nota.f}({escape(zs)}) = {_val('a', u, k, ex.forward_value(u, 'a', k))}</p>")
    if step.kind not in ("output", "hidden", "grad"):
        return ""
    d = next((dd for dd in ex.deltas if dd.unit == u), None)
    ds = nota.value("delta", u).text
    if step.kind == "output":
        kind = "delta" if not d.terms else "delta-output-part"
        y = nota.target(u, d.column).text
        line = (f"{escape(ds)} = {_val(kind, u, k, (d.output_part * s)[k])} (with {escape(nota.value('a', u).text)} = "
                f"{_val('a', u, k, d.h[k])}, {escape(y)} = {escape(num(d.y[k]))})")
        if d.terms:
            line += f"; with the sum over the units it feeds, {escape(ds)} = {_val('delta', u, k, (d.delta * s)[k])}"
        return f"<p class='sum'>{line}</p>"
    if step.kind == "hidden":
        res = "" if d.fprime is None else (f" = {escape(num(d.fprime[k]))} × {escape(num((d.total * s)[k]))} = "
                                           f"{_val('delta', u, k, (d.fprime * d.total * s)[k])}")
        return _terms_table(ex, step) + f"<p class='sum'>{escape(ds)}{res}</p>"
    if step.kind == "grad":
        rows = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in grad_row(ex, g)) + "</tr>" for g in step.grads)
        return ("<div class='tablewrap'><table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in grad_header(ex)) +
                "</tr>" + rows + "</table></div>")
    return ""


def _body(ex) -> str:
    sections = derivation(ex)
    steps = [st for sec in sections for st in sec.steps]
    d = Diagram.of(ex.net)
    head = header_lines(ex)
    out = [f"<h1>{escape(head[0])}</h1><div class='intro'>"]
    out += [f"<p class='note'>{escape(h)}</p>" for h in head[1:]]
    out.append("</div><div class='dp-layout'><div class='dp-view'><div class='dp-controls'>"
               "<button type='button' data-go='first' title='first step (Home)'>⇤</button>"
               "<button type='button' data-go='prev' title='previous step (←)'>◀ back</button>"
               "<button type='button' data-go='next' title='next step (→)'>next ▶</button>"
               "<button type='button' data-go='last' title='last step (End)'>⇥</button>"
               "<button type='button' data-go='play' title='walk through every step (p)'>▶ play</button></div>"
               f"<p class='dp-where'>{len(steps)} steps: use the buttons or the arrow keys</p>"
               f"<div class='dp-diagram'>{_svg(ex, d, steps)}</div>"
               "<p class='dp-keys'>← → step · Home / End · p play · click a step to go to it</p></div>"
               "<div class='dp-steps'>")
    n = 0
    for sec in sections:
        title = sec.title if sec.number is None else f"{sec.number}. {sec.title}"
        out.append(f"<h2>{escape(title + sec.tag)}</h2>")
        if sec.number != 5:
            out.append(f"<p class='note'>{escape(sec.definition)}</p>")
        out += [f"<p class='note'>{escape(p)}</p>" for p in sec.intro]
        if sec.number == 4:
            out.append("<p class='note'>One step per unit: the gradients of the weights into it and of its bias; "
                       "the whole table follows.</p>")
        for step in sec.steps:
            where = f"{title}{sec.tag}: {step.title}"
            cls = "step delta" if step.kind == "hidden" else "step"
            unit = "" if step.unit is None else f"{step.unit[0]}-{step.unit[1]}"
            example = "" if step.example is None else str(step.example)
            out.append(f"<section class='{cls}' data-step='{n}' data-kind='{step.kind}' data-unit='{unit}' "
                       f"data-example='{example}' data-title='{escape(where)}' data-links='{' '.join(_links(d, step))}'>")
            if step.kind == "example":
                out += [f"<p>{escape(note)}</p>" for note in step.notes]
            else:
                out += ["<div class='eq'>" + "".join(f"<div>{row}</div>" for row in eq.mathml_rows()) + "</div>"
                        for eq in step.eqs]
                out.append(_summary(ex, step))
                if step.kind != "check":
                    out += [f"<p class='note'>({escape(note)})</p>" for note in step.notes]
                else:
                    out.append(f"<p id='verdict'>{escape(verdict(ex)[0])}</p>")
            out.append("</section>")
            n += 1
        if sec.number == 4:
            out.append(f"<p class='note'>{escape(grad_title(ex))}</p><div class='tablewrap'><table id='gradients'><tr>" +
                       "".join(f"<th>{escape(h)}</th>" for h in grad_header(ex)) + "</tr>")
            for g, row in zip(ex.grads, grad_rows(ex)):
                kind = "dW" if g.kind == "W" else "db"
                attrs = (f" data-kind='{kind}' data-unit='{g.target[0]}-{g.target[1]}' data-source='"
                         f"{'' if g.source is None else f'{g.source[0]}-{g.source[1]}'}' data-value='{g.total!r}'"
                         f" data-numeric='{'' if g.numeric is None else repr(g.numeric)}'")
                out.append(f"<tr{attrs}>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>")
            out.append("</table></div>")
    out.append("</div></div>")
    return "".join(out)


def to_html_fragment(ex) -> str:
    """The step-through explanation as one ``<div>`` (style and script inside), for notebooks.

    The arrow keys step it once it has the focus (click it); its script finds its own root, so
    several explanations in one notebook step independently.
    """
    return (f"<div class='dp-explain' tabindex='0'><style>{_CSS}</style>{_body(ex)}"
            f"<script>{_JS}</script></div>")


def to_html(ex) -> str:
    """The step-through explanation as one self-contained HTML page (no network access)."""
    title = header_lines(ex)[0]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>body{{margin:1em auto;max-width:90em;padding:0 1em}}{_CSS}</style>"
            f"</head><body><div class='dp-explain' data-standalone='1'>{_body(ex)}<script>{_JS}</script></div>"
            "</body></html>\n")
