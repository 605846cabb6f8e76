"""Text and Markdown renderings of an :class:`~deltaprop.explain.core.Explanation`."""

from __future__ import annotations

import numpy as np

MAX_TERMS = 8  # longer sums are shown as their first terms, "...", and the last


def num(v) -> str:
    """A number for people: 5 significant digits, no noise."""
    v = float(v)
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-4:
        return f"{v:.4e}"
    return f"{v:.5g}"


def nums(values, x: int | None) -> str:
    """One example's value (x given) or the list over examples."""
    values = np.atleast_1d(values)
    if x is not None:
        return num(values[x])
    return num(values[0]) if values.size == 1 else "[" + ", ".join(num(v) for v in values) + "]"


def _clip(items):
    if len(items) <= MAX_TERMS:
        return items
    return items[: MAX_TERMS - 2] + [f"... ({len(items) - MAX_TERMS + 1} more terms)"] + items[-1:]


def notation_sign(ex):
    """AIMA's Delta is -delta: the factor that turns UFLDL's delta into the notation's."""
    return -1.0 if ex.notation.kind == "aima" else 1.0


def header_lines(ex, md: bool):
    nota = ex.notation
    who = "UFLDL's notation" if nota.kind == "ufldl" else "AIMA's notation"
    net = ex.net
    cost = net.cost.label
    lines = [f"deltaprop explain: backpropagation on {ex.m} example{'s' if ex.m > 1 else ''}, in {who}"]
    shape = "-".join(str(b.units) for b in net.blocks)
    lines.append(f"network: blocks of {shape} units, activations {', '.join(net.activations)}; "
                 f"cost {cost}; lambda = {num(net.weight_decay)}" + (f", l1 = {num(net.l1)}" if net.l1 else ""))
    J = nota.cost
    if nota.kind == "aima":
        lines.append("sign convention: Delta_k = -dE/d(in_k), so the update w_jk := w_jk + eta a_j Delta_k "
                     "is gradient descent, w := w - eta dE/dw")
        lines.append("a bias is the weight w_0k from the constant unit a_0 = 1")
    data_formula = net.cost.formula
    lines.append(f"{J} = {data_formula} + lambda/2 sum W^2 = {num(ex.data_cost)} + {num(ex.decay_cost)} = {num(ex.J)}")
    return lines


def _example_labels(ex):
    return [None] if ex.m == 1 else list(range(ex.m))


def _forward_lines(ex, x, md):
    nota = ex.notation
    out = []
    for uf in ex.forward:
        if uf.z is None:
            continue
        zs, as_ = nota.value("z", uf.unit), nota.value("a", uf.unit)
        sym_terms = [f"{nota.weight(t.source, t.target).text}·{nota.value('a', t.source).text}" for t in uf.terms]
        val_terms = [f"({num(t.weight)})({nums(t.value, x)})" for t in uf.terms]
        if uf.bias is not None:
            sym_terms.append(nota.bias(uf.unit).text + ("·a_0" if nota.kind == "aima" else ""))
            val_terms.append(f"({num(uf.bias)})")
        out.append(f"  {zs.text} = {' + '.join(_clip(sym_terms))}")
        out.append(f"  {' ' * len(zs.text)} = {' + '.join(_clip(val_terms))} = {nums(uf.z, x)}")
        if uf.activation == "softmax":
            out.append(f"  {as_.text} = softmax over its block: e^{zs.text} / sum of e^z = {nums(uf.a, x)}")
        else:
            out.append(f"  {as_.text} = {nota.f}({zs.text}) = {uf.activation}({nums(uf.z, x)}) = {nums(uf.a, x)}")
    return out


def _output_lines(ex, d, x):
    nota = ex.notation
    s = notation_sign(ex)
    ds, hs, zs = nota.value("delta", d.unit), nota.value("a", d.unit), nota.value("z", d.unit)
    y = f"y_{d.unit[1] + 1}" if nota.kind == "ufldl" else f"t_{nota.names[d.unit]}"
    f = nota.f
    part = d.output_part * s
    if d.rule == "squared-identity":
        formula = (f"-({y} - {hs.text}) {f}'({zs.text}) = {hs.text} - {y}" if s > 0
                   else f"{f}'({zs.text})({y} - {hs.text}) = {y} - {hs.text}")
        numbers = (f"{nums(d.h, x)} - {nums(d.y, x)}" if s > 0 else f"{nums(d.y, x)} - {nums(d.h, x)}")
        why = "(identity: f' = 1)"
    elif d.rule == "squared":
        formula = f"-({y} - {hs.text}) {f}'({zs.text})" if s > 0 else f"{f}'({zs.text})({y} - {hs.text})"
        sign = "-" if s > 0 else ""
        numbers = f"{sign}({nums(d.y, x)} - {nums(d.h, x)})({nums(d.fprime, x)})"
        why = ""
    elif d.rule == "cross-entropy":
        formula = f"{hs.text} - {y}" if s > 0 else f"{y} - {hs.text}"
        numbers = (f"{nums(d.h, x)} - {nums(d.y, x)}" if s > 0 else f"{nums(d.y, x)} - {nums(d.h, x)}")
        why = f"(sigmoid/softmax + cross-entropy: {f}' cancels the derivative of the log, exactly)"
    else:
        formula = f"{hs.text} ((h - y)_i - sum_k h_k (h - y)_k)" if s > 0 else f"-{hs.text} ((h - y)_i - sum_k h_k (h - y)_k)"
        numbers = "softmax Jacobian applied to h - y"
        why = ""
    lines = [f"  {ds.text} = {formula} {why}".rstrip(), f"  {' ' * len(ds.text)} = {numbers} = {nums(part, x)}"]
    if d.terms:
        lines.append(f"  (this output unit also feeds other units: + {f}'({zs.text}) · sum over them, below)")
        lines += _hidden_lines(ex, d, x, prefix="  + ")
    return lines


def _hidden_lines(ex, d, x, prefix="  "):
    nota = ex.notation
    s = notation_sign(ex)
    ds, zs = nota.value("delta", d.unit), nota.value("z", d.unit)
    sym_terms = [f"{nota.weight(t.source, t.target).text}·{nota.value('delta', t.target).text}" for t in d.terms]
    val_terms = [f"({num(t.weight)})({nums(t.value * s, x)})" for t in d.terms]
    total = None if d.total is None else d.total * s
    head = f"{prefix}{ds.text} = {nota.f}'({zs.text}) · [ {' + '.join(_clip(sym_terms))} ]"
    lines = [head]
    pad = " " * (len(prefix) + len(ds.text))
    if d.fprime is not None and total is not None:
        lines.append(f"{pad} = ({nums(d.fprime, x)}) · [ {' + '.join(_clip(val_terms))} ]")
        lines.append(f"{pad} = ({nums(d.fprime, x)}) · ({nums(total, x)}) = {nums(d.fprime * total, x)}")
    return lines


def to_text(ex) -> str:
    nota = ex.notation
    L = header_lines(ex, md=False)
    kind = nota.kind
    z_def = ("z(l+1)_i = sum_j W(l)_ij a(l)_j + b(l)_i,  a = f(z)" if kind == "ufldl"
             else "in_k = sum_j w_jk a_j + w_0k a_0,  a_k = g(in_k)")
    delta_def = ("delta(l)_i = f'(z(l)_i) · sum_j W(l)_ji delta(l+1)_j   (note W_ji: the weight FROM unit i TO unit j)"
                 if kind == "ufldl" else "Delta_j = g'(in_j) · sum_k w_jk Delta_k   (the sum runs over every unit k that j feeds)")
    for x in _example_labels(ex):
        tag = "" if x is None else f" — example {x + 1} of {ex.m}"
        L += ["", f"1. Forward pass{tag}: {z_def}"]
        L += _forward_lines(ex, x, md=False)
        if ex.net.cost.name == "squared":
            out_def = ("delta(nl)_i = dJ/dz(nl)_i = -(y_i - a_i) f'(z_i) for the squared cost" if kind == "ufldl"
                       else "Delta_k = -dE/d(in_k) = g'(in_k)(t_k - a_k) for the squared error")
        else:
            out_def = ("delta(nl)_i = dJ/dz(nl)_i = a_i - y_i for cross-entropy on sigmoid or softmax units"
                       if kind == "ufldl" else "Delta_k = -dE/d(in_k) = t_k - a_k for cross-entropy on sigmoid or "
                                               "softmax units")
        L += ["", f"2. Output deltas{tag}: {out_def}"]
        for d in ex.deltas:
            if d.output_part is not None:
                L += _output_lines(ex, d, x)
        hidden = [d for d in ex.deltas if d.output_part is None]
        if hidden:
            L += ["", f"3. Hidden deltas{tag}: {delta_def}"]
            for d in hidden:
                L += _hidden_lines(ex, d, x)
    L += ["", grad_title(ex)]
    L += _table(grad_header(ex), grad_rows(ex))
    L += [""] + verdict(ex)
    return "\n".join(L) + "\n"


def grad_title(ex):
    if ex.notation.kind == "ufldl":
        return ("4. Gradients: dJ/dW(l)_ij = (1/m) sum_x a(l)_j delta(l+1)_i + lambda W(l)_ij,   "
                "dJ/db(l)_i = (1/m) sum_x delta(l+1)_i")
    return ("4. Gradients: dE/dw_jk = -(1/m) sum_x a_j Delta_k + lambda w_jk   (so -dE/dw_jk = a_j Delta_k for one "
            "example: backprop is gradient descent);  update w_jk := w_jk - eta dE/dw_jk")


def grad_header(ex):
    if ex.notation.kind == "ufldl":
        per = "a·delta per example"
        return ["parameter", "value", per, "(1/m) sum", "+ lambda W", "= dJ/dparam", "central diff.", "rel. error"]
    return ["parameter", "value", "-a·Delta per example", "mean", "+ lambda w", "= dE/dw", "central diff.",
            "rel. error"]


def grad_rows(ex):
    nota = ex.notation
    rows = []
    for g in ex.grads:
        name = nota.weight(g.source, g.target).text if g.kind == "W" else nota.bias(g.target).text
        rows.append([name, num(g.value), nums(g.per_example, None), num(g.average),
                     num(g.decay) if g.kind == "W" else "-", num(g.total),
                     "-" if g.numeric is None else num(g.numeric),
                     "-" if g.rel_error is None else f"{g.rel_error:.1e}"])
    return rows


def _table(header, rows):
    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    line = "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = [line, "  " + "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  " + "  ".join(str(v).rjust(w) if c else str(v).ljust(w) for c, (v, w) in
                                    enumerate(zip(r, widths))))
    return out


def verdict(ex):
    if ex.max_rel_error is None:
        return ["5. Check: " + ("; ".join(ex.notes) or "finite differences not computed")]
    verdict = "every gradient agrees" if ex.passed else "SOME GRADIENTS DISAGREE"
    return [f"5. Check: {verdict} with its central difference (J(p + 1e-5) - J(p - 1e-5)) / 2e-5; "
            f"largest relative error {ex.max_rel_error:.2e}"]


# --- Markdown (LaTeX math, for notebooks and GitHub) -------------------------------------------------


def _md_num(v):
    return num(v)


def to_markdown(ex) -> str:
    nota = ex.notation
    head = header_lines(ex, md=True)
    L = [f"## {head[0]}", ""] + [f"- {h}" for h in head[1:]]
    kind = nota.kind
    if kind == "ufldl":
        L += ["", r"$$z^{(l+1)}_i = \sum_j W^{(l)}_{ij} a^{(l)}_j + b^{(l)}_i,\qquad a = f(z)$$"]
    else:
        L += ["", r"$$\mathit{in}_k = \sum_j w_{j,k} a_j + w_{0,k} a_0,\qquad a_k = g(\mathit{in}_k)$$"]
    for x in _example_labels(ex):
        tag = "" if x is None else f" (example {x + 1} of {ex.m})"
        L += ["", f"### 1. Forward pass{tag}", ""]
        for uf in ex.forward:
            if uf.z is None:
                continue
            zs, as_ = nota.value("z", uf.unit), nota.value("a", uf.unit)
            terms = [f"({_md_num(t.weight)})({_md_num(np.atleast_1d(t.value)[x or 0])})" for t in uf.terms]
            syms = [f"{nota.weight(t.source, t.target).latex}\\,{nota.value('a', t.source).latex}" for t in uf.terms]
            if uf.bias is not None:
                terms.append(f"({_md_num(uf.bias)})")
                syms.append(nota.bias(uf.unit).latex)
            L.append(f"$${zs.latex} = {' + '.join(_clip(syms))} = {' + '.join(_clip(terms))} = "
                     f"{_md_num(np.atleast_1d(uf.z)[x or 0])},\\quad {as_.latex} = {_md_num(np.atleast_1d(uf.a)[x or 0])}$$")
        L += ["", f"### 2. Output deltas{tag}", ""]
        s = notation_sign(ex)
        for d in ex.deltas:
            if d.output_part is None:
                continue
            ds = nota.value("delta", d.unit)
            rule = {"squared-identity": r"-(y - h)\,f'(z) = h - y", "squared": r"-(y - h)\,f'(z)",
                    "cross-entropy": "h - y", "squared-softmax": r"h_i\big((h-y)_i - \sum_k h_k (h-y)_k\big)"}[d.rule]
            if kind == "aima":
                rule = {"squared-identity": "t - a", "squared": r"g'(\mathit{in})(t - a)", "cross-entropy": "t - a",
                        "squared-softmax": r"-h_i\big((h-y)_i - \sum_k h_k (h-y)_k\big)"}[d.rule]
            L.append(f"$${ds.latex} = {rule} = {_md_num((d.output_part * s)[x or 0])}$$")
        hidden = [d for d in ex.deltas if d.terms]
        if hidden:
            L += ["", f"### 3. Hidden deltas{tag}", ""]
            L.append(r"Each term pairs a unit this one feeds with the weight on the edge *into* it: "
                     r"$W_{ji}$, from unit $i$ to unit $j$ (the index swap)." if kind == "ufldl" else
                     r"The sum runs over every unit $k$ that unit $j$ feeds, each with the weight $w_{j,k}$ on that edge.")
            L.append("")
            for d in hidden:
                ds, zs = nota.value("delta", d.unit), nota.value("z", d.unit)
                syms = [f"{nota.weight(t.source, t.target).latex}\\,{nota.value('delta', t.target).latex}"
                        for t in d.terms]
                vals = [f"({_md_num(t.weight)})({_md_num((t.value * s)[x or 0])})" for t in d.terms]
                fp = "" if d.fprime is None else _md_num(d.fprime[x or 0])
                total = "" if d.total is None else _md_num((d.total * s)[x or 0])
                result = "" if d.fprime is None else _md_num((d.fprime * d.total * s)[x or 0])
                L.append(f"$${ds.latex} = {nota.f}'({zs.latex})\\Big[{' + '.join(_clip(syms))}\\Big] = "
                         f"{fp}\\,\\Big[{' + '.join(_clip(vals))}\\Big] = {fp} \\times {total} = {result}$$")
    L += ["", "### " + grad_title(ex)[3:], ""]
    header = grad_header(ex)
    L.append("| " + " | ".join(header) + " |")
    L.append("|" + "---|" * len(header))
    for g, row in zip(ex.grads, grad_rows(ex)):
        sym = nota.weight(g.source, g.target).latex if g.kind == "W" else nota.bias(g.target).latex
        L.append("| $" + sym + "$ | " + " | ".join(row[1:]) + " |")
    L += ["", "### " + verdict(ex)[0][3:]]
    return "\n".join(L) + "\n"
