"""The derivation of an :class:`~deltaprop.explain.core.Explanation`, step by step.

One list of :class:`Section` objects, each holding :class:`Step` objects, is what the text, the
Markdown and the HTML page all render: the example stated, the forward pass unit by unit, the
output deltas, each hidden delta with its chain-rule step and the terms of its sum, each unit's
gradients (the (1/m) average, the lambda W term, the central difference) and the check.
A step also says which units and edges it involves and which values the diagram shows on
them, so the page can highlight exactly those.

Signs: AIMA's textbook writes Delta = -dE/d(in) = -delta; every Delta shown is -delta, and every
formula in AIMA's notation is written for Delta (``t - a``, never ``a - t``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .equations import (PARTIAL, Eq, Piece, clip, frac, join, num, number, op, paren, prime, sum_over, sym,
                        word)
from .notation import symbol

__all__ = ["Step", "Section", "derivation", "header_lines", "notation_sign", "grad_title", "grad_header",
           "grad_rows", "verdict"]


@dataclass
class Step:
    """One step of the derivation.

    Attributes
    ----------
    kind : {"example", "forward", "output", "hidden", "grad", "check"}
    title : str
        What the step is about, in a few words ("z and a of unit 2 of layer 2").
    unit : tuple or None
        The (block, index) the step computes.
    example : int or None
        The example (0-based) whose values the step shows; None for steps over all examples.
    units, edges : list
        What the step involves: units (block, index) and edges ((block, index), (block, index)).
    eqs : list of Eq
    notes : list of str
        Prose, the same in every form.
    grads : list of ParamGrad
        The gradients a "grad" step computes.
    unit_labels : list of (unit, place, prefix, value, kind, current)
        Values the diagram shows beside units: ``place`` is "above", "below" or "right".
    edge_labels : list of (source, target, value, kind)
        Values the diagram writes on edges.
    """

    kind: str
    title: str
    unit: tuple | None = None
    example: int | None = None
    units: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    eqs: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    grads: list = field(default_factory=list)
    unit_labels: list = field(default_factory=list)
    edge_labels: list = field(default_factory=list)


@dataclass
class Section:
    """A numbered part of the derivation (number None for the example), for one example or all."""

    number: int | None
    title: str
    definition: str
    intro: list
    steps: list
    example: int | None = None
    m: int = 1

    @property
    def tag(self) -> str:
        return "" if self.example is None or self.m == 1 else f" — example {self.example + 1} of {self.m}"


def notation_sign(ex) -> float:
    """AIMA's Delta is -delta: the factor that turns UFLDL's delta into the notation's."""
    return -1.0 if ex.notation.kind == "aima" else 1.0


# --- the header: the network, the cost ------------------------------------------------------------


def cost_formula(ex) -> str:
    """The data term of J (E in AIMA's notation, with targets t and outputs a)."""
    f = ex.net.cost.formula
    if ex.notation.kind == "aima":
        import re

        f = re.sub(r"\bh\(x\)", "a", f)
        f = re.sub(r"(?<![A-Za-z])h(?![A-Za-z(])", "a", f)
        f = re.sub(r"(?<![A-Za-z])y(?![A-Za-z])", "t", f)
    return f


def header_lines(ex, md: bool = False) -> list:
    """The title, the network, the cost, and (AIMA) the sign convention."""
    nota, net = ex.notation, ex.net
    who = "UFLDL's notation" if nota.kind == "ufldl" else "AIMA's notation"
    lines = [f"deltaprop explain: backpropagation on {ex.m} example{'s' if ex.m > 1 else ''}, in {who}"]
    shape = "-".join(str(b.units) for b in net.blocks)
    chain = net.layout.is_chain
    if nota.kind == "ufldl":
        what = (f"the layered network of UFLDL's tutorial, layers of {shape} units (layer 1 is the input x)" if chain
                else f"blocks of {shape} units (block 1 is the input x; an edge that skips blocks is W(k->l))")
    else:
        what = f"a network of units (AIMA's textbook), in blocks of {shape} units (the inputs first)"
    lines.append(f"network: {what}; activations {', '.join(net.activations)}; cost {net.cost.label}; "
                 f"lambda = {num(net.weight_decay)}" + (f", l1 = {num(net.l1)}" if net.l1 else ""))
    J = nota.cost
    W = "W" if nota.kind == "ufldl" else "w"
    lines.append(f"{J} = {cost_formula(ex)} + lambda/2 sum {W}^2 = {num(ex.data_cost)} + {num(ex.decay_cost)} "
                 f"= {num(ex.J)}")
    if nota.kind == "aima":
        lines.append("sign convention: Delta_k = -dE/d(in_k), so the update w_j,k := w_j,k + eta a_j Delta_k "
                     "is gradient descent, w := w - eta dE/dw")
        lines.append("a bias is the weight w_0,k from the constant unit a_0 = 1")
    return lines


# --- the example, stated ------------------------------------------------------------------------------


def _listed(items, most: int = 8) -> str:
    items = list(items)
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join(items[: most - 1]) + f", ... ({len(items) - most} more), " + items[-1]


def _example_step(ex, k: int) -> Step:
    nota, e = ex.notation, ex.example
    n_in = ex.net.n_inputs
    x = ex.X[k]
    notes = [] if ex.m == 1 else [f"example {k + 1} of {ex.m}:"]
    if e.raw is not None:
        notes.append("the row as given: " + _listed([f"{name} = {num(v)}" for name, v in zip(e.feature_names, e.raw[k])]))
        if e.mean is not None:
            notes.append("standardised with the training rows' mean and standard deviation, (raw - mean) / sd: " +
                         _listed([f"({num(r)} - {num(mu)}) / {num(sd)} = {num(v)}"
                                  for r, mu, sd, v in zip(e.raw[k], e.mean, e.scale, x)]))
    if nota.kind == "ufldl":
        notes.append(f"x = a(1) = ({_listed([num(v) for v in x])})" +
                     (f"   [{_listed(e.feature_names)}]" if e.raw is not None else ""))
    else:
        notes.append("inputs: " + _listed([f"a_{nota.names[(0, i)]} = {num(x[i])}" for i in range(n_in)]) +
                     (f"   [{_listed(e.feature_names)}]" if e.raw is not None else ""))
    outs = [d for d in ex.deltas if d.column is not None]
    outs.sort(key=lambda d: d.column)
    Y = ex.Y[k]
    letter = nota.target_letter
    if e.classes is not None:
        label = e.labels[k]
        if len(e.output_names) == 1:
            notes.append(f"{letter}: the label {label!r}; the one output is the probability of {e.classes[1]!r}, "
                         f"so {letter} = ({num(Y[0])})")
        else:
            notes.append(f"{letter}: the label {label!r}; one output per class ({_listed([str(c) for c in e.classes])}), "
                         f"so {letter} = ({_listed([num(v) for v in Y])})")
    elif e.labels is not None and e.target_mean is not None:
        notes.append(f"{letter}: the target as given ({_listed(e.output_names)}) = ({_listed([num(v) for v in e.labels[k]])}), "
                     f"standardised with the training targets' mean and standard deviation: "
                     f"{letter} = ({_listed([num(v) for v in Y])}) ({nota.cost} is in standardised units)")
    else:
        if nota.kind == "ufldl":
            notes.append(f"y = ({_listed([num(v) for v in Y])})" +
                         (f"   [{_listed(e.output_names)}]" if e.labels is not None else ""))
        else:
            notes.append("targets: " + _listed([f"t_{nota.names[d.unit]} = {num(Y[d.column])}" for d in outs]))
    labels = [((0, i), "below", "x=", x[i], "a", True) for i in range(n_in)]
    labels += [(d.unit, "right", f"{letter}=", Y[d.column], "y", True) for d in outs]
    what = "x and y" if nota.kind == "ufldl" else "the inputs and targets"
    return Step("example", what + ("" if ex.m == 1 else f" of example {k + 1} of {ex.m}"), None, k,
                units=[(0, i) for i in range(n_in)] + [d.unit for d in outs], notes=notes, unit_labels=labels)


# --- 1. forward ------------------------------------------------------------------------------------


def _value(ex, what, unit):
    return sym(ex.notation.value(what, unit))


def _forward_step(ex, uf, k: int, done: list) -> Step:
    nota = ex.notation
    u = uf.unit
    z, a = nota.value("z", u), nota.value("a", u)
    syms, vals = [], []
    for t in uf.terms:
        syms.append([sym(nota.weight(t.source, t.target)), op("·"), _value(ex, "a", t.source)])
        vals.append(paren([number(t.weight, "w", u, k, t.source)]) + paren([number(t.value[k], "a", t.source, k)]))
    if uf.bias is not None:
        if nota.kind == "aima":
            syms.append([sym(nota.bias(u)), op("·"), sym(symbol("a", "0"))])
            vals.append(paren([number(uf.bias, "b", u, k)]) + paren([number(1.0)]))
        else:
            syms.append([sym(nota.bias(u))])
            vals.append(paren([number(uf.bias, "b", u, k)]))
    eqs = [Eq([sym(z)], [join(clip(syms)), join(clip(vals)) + [op("="), number(uf.z[k], "z", u, k)]])]
    f = word(nota.f, nota.f)
    if uf.activation == "softmax":
        zk = symbol("z", "k", nota.layer(u[0])) if nota.kind == "ufldl" else symbol("in", "k")
        e_z = Piece("e^" + z.text, "e^{" + z.latex + "}", "<msup><mi>e</mi>" + z.mathml + "</msup>")
        e_zk = Piece("e^" + zk.text, "e^{" + zk.latex + "}", "<msup><mi>e</mi>" + zk.mathml + "</msup>")
        eqs.append(Eq([sym(a)], [[frac([e_z], [sum_over("k"), e_zk]), op("="), number(uf.a[k], "a", u, k)]]))
        notes = ["softmax: the sum runs over the units of this block"]
    else:
        eqs.append(Eq([sym(a)], [[f] + paren([sym(z)]) + [op("="), word(uf.activation)] +
                                 paren([number(uf.z[k], "z", u, k)]) + [op("="), number(uf.a[k], "a", u, k)]]))
        notes = []
    sources = [t.source for t in uf.terms]
    labels = [(s, "below", "a=", ex.forward_value(s, "a", k), "a", True) for s in sources]
    labels += [(w, "below", "a=", ex.forward_value(w, "a", k), "a", False) for w in done if w not in sources]
    zl = "z=" if nota.kind == "ufldl" else "in="
    labels += [(u, "above", zl, uf.z[k], "z", True), (u, "below", "a=", uf.a[k], "a", True)]
    return Step("forward", f"{nota.value('z', u).text} and {nota.value('a', u).text}", u, k,
                units=[u] + sources, edges=[(t.source, u) for t in uf.terms], eqs=eqs, notes=notes,
                unit_labels=labels, edge_labels=[(t.source, u, t.weight, "w") for t in uf.terms])


# --- 2. output deltas ---------------------------------------------------------------------------------


def _output_rows(ex, d, k: int):
    """Rows of the output delta's equation (for Delta in AIMA's notation), and a note."""
    nota, s = ex.notation, notation_sign(ex)
    u = d.unit
    kind = "delta" if not d.terms else "delta-output-part"
    yv, av = number(d.y[k], "y", u, k), number(d.h[k], "a", u, k)
    y, a = sym(nota.target(u, d.column)), _value(ex, "a", u)
    fp = [prime(nota.f)] + paren([_value(ex, "z", u)])
    res = [op("="), number((d.output_part * s)[k], kind, u, k)]
    aima = nota.kind == "aima"
    diff = paren([y, op("-"), a])  # (y - a): UFLDL writes -(y - a) f'(z), AIMA g'(in)(t - a)
    if d.rule == "squared-identity":
        sym_row = (fp + [op("")] + diff + [op("="), y, op("-"), a]) if aima else \
            ([op("neg")] + diff + [op(" ")] + fp + [op("="), a, op("-"), y])
        val_row = ([yv, op("-"), av] if aima else [av, op("-"), yv]) + res
        return [sym_row, val_row], f"identity outputs: {nota.f}' = 1"
    if d.rule == "squared":
        sym_row = (fp + [op("")] + diff) if aima else ([op("neg")] + diff + [op(" ")] + fp)
        fpv = paren([number(d.fprime[k], "fprime", u, k)])
        val_row = (fpv + paren([yv, op("-"), av]) if aima else [op("neg")] + paren([yv, op("-"), av]) + fpv) + res
        return [sym_row, val_row], None
    if d.rule == "cross-entropy":
        sym_row = [y, op("-"), a] if aima else [a, op("-"), y]
        val_row = ([yv, op("-"), av] if aima else [av, op("-"), yv]) + res
        return [sym_row, val_row], f"sigmoid or softmax with cross-entropy: {nota.f}' cancels the derivative of the log, exactly"
    # squared cost on softmax outputs: the softmax Jacobian applied to a - y
    text = "a_i((a - y)_i - sum_k a_k (a - y)_k)"
    if aima:
        text = "-a_i((a - t)_i - sum_k a_k (a - t)_k)"
    why = "softmax outputs with the squared cost: the softmax Jacobian applied to a - y"
    return [[word(text, r"\text{" + text + "}")], res[1:]], why


def _hidden_eqs(ex, d, k: int, part: bool = False) -> list:
    """The chain-rule step and the factored sum for one delta (``part``: the hidden part of an output unit's)."""
    nota, s = ex.notation, notation_sign(ex)
    u = d.unit
    aima = nota.kind == "aima"
    delta = _value(ex, "delta", u)
    z = _value(ex, "z", u)
    fp_sym = [prime(nota.f)] + paren([z])
    result_kind = "delta-hidden-part" if part else "delta"
    have = d.fprime is not None and d.total is not None

    def d_of(unit):  # dJ/dz_unit, or -dE/d(in_unit) in AIMA's notation
        if aima:
            return paren([op("neg"), frac([PARTIAL, word("E", "E")], [PARTIAL] + paren([_value(ex, "z", unit)]))])
        return [frac([PARTIAL, word("J", "J")], [PARTIAL, _value(ex, "z", unit)])]

    def dz_dz(unit):  # dz_unit/dz_u
        if aima:
            return frac([PARTIAL] + paren([_value(ex, "z", unit)]), [PARTIAL] + paren([z]))
        return frac([PARTIAL, _value(ex, "z", unit)], [PARTIAL, z])

    eqs = []
    if not part:
        head = ([op("neg"), frac([PARTIAL, word("E", "E")], [PARTIAL] + paren([z]))] if aima
                else [frac([PARTIAL, word("J", "J")], [PARTIAL, z])])
        chain = [d_of(t.target) + [op("dot"), dz_dz(t.target)] for t in d.terms]
        factors = [[_value(ex, "delta", t.target), op("dot"), sym(nota.weight(t.source, t.target)), op(" ")] + fp_sym
                   for t in d.terms]
        rows = [head + [op("=")] + join(clip(chain)), join(clip(factors))]
        if have:
            nums = [paren([number((t.value * s)[k], "delta", t.target, k)]) + [op("dot")] +
                    paren([number(t.weight, "w", t.target, k, u)]) + paren([number(d.fprime[k], "fprime", u, k)])
                    for t in d.terms]
            rows.append(join(clip(nums)) + [op("="), number((d.fprime * d.total * s)[k], result_kind, u, k)])
        eqs.append(Eq([delta], rows, aligned=True))
    syms = [[sym(nota.weight(t.source, t.target)), op("·"), _value(ex, "delta", t.target)] for t in d.terms]
    rows = [fp_sym + [op("·["), op("[")] + join(clip(syms)) + [op("]")]]
    if have:
        fpv = paren([number(d.fprime[k], "fprime", u, k)])
        vals = [paren([number(t.weight, "w", t.target, k, u)]) + paren([number((t.value * s)[k], "delta", t.target, k)])
                for t in d.terms]
        rows.append(fpv + [op("·["), op("[")] + join(clip(vals)) + [op("]")])
        rows.append(fpv + [op("·[")] + paren([number((d.total * s)[k], "sum", u, k)]) +
                    [op("="), number((d.fprime * d.total * s)[k], result_kind, u, k)])
    eqs.append(Eq([delta], rows))
    return eqs


def _delta_labels(ex, d, k, done, current_place="above"):
    s = notation_sign(ex)
    dl = "δ=" if ex.notation.kind == "ufldl" else "Δ="
    labels = [(w, "above", dl, ex.delta_value(w, k) * s, "delta", False) for w in done if w != d.unit]
    labels.append((d.unit, current_place, dl, d.delta[k] * s, "delta", True))
    return labels


def _output_step(ex, d, k: int, done: list) -> Step:
    nota = ex.notation
    u = d.unit
    rows, why = _output_rows(ex, d, k)
    eqs = [Eq([_value(ex, "delta", u)], rows)]
    notes = [why] if why else []
    units, edges = [u], []
    labels = _delta_labels(ex, d, k, done)
    labels += [(u, "below", "a=", d.h[k], "a", True), (u, "right", f"{nota.target_letter}=", d.y[k], "y", True)]
    if d.terms:
        s = notation_sign(ex)
        notes.append(f"{nota.unit_name(u)} also feeds other units: its delta adds {nota.f}'({nota.value('z', u).text}) "
                     "times the sum over them")
        eqs += _hidden_eqs(ex, d, k, part=True)
        eqs.append(Eq([_value(ex, "delta", u)], [[number((d.output_part * s)[k]), op("+"),
                                                   paren([number((d.fprime * d.total * s)[k])]), op("="),
                                                   number((d.delta * s)[k], "delta", u, k)]]))
        units += [t.target for t in d.terms]
        edges += [(u, t.target) for t in d.terms]
    return Step("output", nota.value("delta", u).text, u, k, units=units, edges=edges, eqs=eqs, notes=notes,
                unit_labels=labels, edge_labels=[(u, t.target, t.weight, "w") for t in d.terms])


def _units_phrase(nota, units) -> str:
    """'units 1, 2 of layer 3' (UFLDL's tutorial) or 'h2 and o' (AIMA's textbook)."""
    if nota.kind == "aima":
        names = [nota.names[u] for u in units]
        return names[0] if len(names) == 1 else _listed(names[:-1]) + " and " + names[-1]
    groups = {}
    for j, i in units:
        groups.setdefault(j, []).append(str(i + 1))
    return "; ".join((f"unit {idx[0]}" if len(idx) == 1 else f"units {_listed(idx)}") + f" of layer {nota.layer(j)}"
                     for j, idx in groups.items())


def _hidden_step(ex, d, k: int, done: list) -> Step:
    nota = ex.notation
    u = d.unit
    fed = [t.target for t in d.terms]
    notes = [f"{nota.unit_name(u)} feeds {_units_phrase(nota, fed)}: one term for each"]
    labels = _delta_labels(ex, d, k, done)
    if d.fprime is not None:
        labels.append((u, "below", f"{nota.f}'=", d.fprime[k], "fprime", True))
    return Step("hidden", nota.value("delta", u).text, u, k, units=[u] + fed, edges=[(u, t) for t in fed],
                eqs=_hidden_eqs(ex, d, k), notes=notes, unit_labels=labels,
                edge_labels=[(u, t.target, t.weight, "w") for t in d.terms])


# --- 4. gradients, 5. the check -------------------------------------------------------------------


def grad_title(ex) -> str:
    if ex.notation.kind == "ufldl":
        return ("4. Gradients: dJ/dW(l)_ij = (1/m) sum_x a(l)_j delta(l+1)_i + lambda W(l)_ij,   "
                "dJ/db(l)_i = (1/m) sum_x delta(l+1)_i")
    return ("4. Gradients: dE/dw_j,k = -(1/m) sum_x a_j Delta_k + lambda w_j,k   (so -dE/dw_j,k = a_j Delta_k for one "
            "example: backprop is gradient descent);  update w_j,k := w_j,k - eta dE/dw_j,k")


def grad_header(ex) -> list:
    if ex.notation.kind == "ufldl":
        return ["parameter", "value", "a·delta per example", "(1/m) sum", "+ lambda W", "= dJ/dparam", "central diff.",
                "rel. error"]
    return ["parameter", "value", "-a·Delta per example", "mean", "+ lambda w", "= dE/dw", "central diff.", "rel. error"]


def _nums(values) -> str:
    values = np.atleast_1d(values)
    return num(values[0]) if values.size == 1 else "[" + ", ".join(num(v) for v in values) + "]"


def grad_row(ex, g) -> list:
    nota = ex.notation
    name = nota.weight(g.source, g.target).text if g.kind == "W" else nota.bias(g.target).text
    return [name, num(g.value), _nums(g.per_example), num(g.average), num(g.decay) if g.kind == "W" else "-",
            num(g.total), "-" if g.numeric is None else num(g.numeric),
            "-" if g.rel_error is None else f"{g.rel_error:.1e}"]


def grad_rows(ex) -> list:
    return [grad_row(ex, g) for g in ex.grads]


def verdict(ex) -> list:
    J = ex.notation.cost
    if ex.max_rel_error is None:
        return ["5. Check: " + ("; ".join(ex.notes) or "finite differences not computed")]
    word_ = "every gradient agrees" if ex.passed else "SOME GRADIENTS DISAGREE"
    return [f"5. Check: {word_} with its central difference ({J}(p + 1e-5) - {J}(p - 1e-5)) / 2e-5; "
            f"largest relative error {ex.max_rel_error:.2e}"]


def _grad_eq(ex, g) -> Eq:
    nota, s = ex.notation, notation_sign(ex)
    aima = nota.kind == "aima"
    u = g.target
    J = word(nota.cost, nota.cost)
    param = nota.weight(g.source, g.target) if g.kind == "W" else nota.bias(u)
    lhs = [frac([PARTIAL, J], [PARTIAL, sym(param)])]
    m = ex.m
    uniform = bool(np.allclose(ex.weights, 1.0 / m))
    mean = word("(1/m)", r"\frac{1}{m}") if uniform else word("(weighted mean)", r"\text{weighted mean}")
    d_u = _value(ex, "delta", u)
    a_src = _value(ex, "a", g.source) if g.kind == "W" else (sym(symbol("a", "0")) if aima else None)
    term = ([a_src, op("·")] if a_src is not None else []) + [d_u]
    row0 = ([op("neg")] if aima else []) + [mean, sum_over("x")] + term
    if g.kind == "W":
        row0 += [op("+"), Piece("lambda", r"\lambda", "<mi>&#955;</mi>"), op(" "), sym(param)]
        if ex.net.l1:
            row0 += [op("+"), word("l1 sign", r"\ell_1\,\mathrm{sign}")] + paren([sym(param)])
    per = []
    for x in range(m):
        a_val = ex.forward_value(g.source, "a", x) if g.kind == "W" else (1.0 if aima else None)
        f = [paren([number(a_val, "a", g.source if g.kind == "W" else None, x)])] if a_val is not None else []
        w = [] if uniform else paren([number(ex.weights[x] * m)])
        per.append(w + [p for q in f for p in q] + paren([number(ex.delta_value(u, x) * s, "delta", u, x)]))
    # with sample weights, each term carries its weight times m, so that (1/m) sum stays the weighted mean
    row1 = ([op("neg")] if aima else []) + paren([word(f"1/{m}", rf"\frac{{1}}{{{m}}}")]) + [op("[")] + \
        join(clip(per)) + [op("]")]
    if g.kind == "W" and ex.net.l1:
        row1 += [op("+")] + paren([number(g.decay)])  # lambda W + l1 sign(W), as one number
    elif g.kind == "W":
        row1 += [op("+")] + paren([number(ex.net.weight_decay)]) + paren([number(g.value, "w", u, None, g.source)])
    row1 += [op("="), number(g.total, "dW" if g.kind == "W" else "db", u, None, g.source)]
    return Eq(lhs, [row0, row1])


MAX_GRAD_EQS = 5  # a unit with more incoming weights writes the equations of its first 4 and its last


def _grad_step(ex, unit, grads) -> Step:
    """The gradients of the weights into one unit and of its bias: equations, central differences, the diagram."""
    nota, s = ex.notation, notation_sign(ex)
    which = nota.unit_name(unit)
    weights = [g for g in grads if g.kind == "W"]
    bias = [g for g in grads if g.kind == "b"]
    written = weights if len(weights) <= MAX_GRAD_EQS else weights[: MAX_GRAD_EQS - 1] + weights[-1:]
    notes = []
    if len(written) < len(weights):
        notes.append(f"the equations of {len(weights) - len(written)} more weights into {which} are left out; "
                     "their rows are in the table")
    for g in written + bias:
        name = nota.weight(g.source, g.target).text if g.kind == "W" else nota.bias(g.target).text
        if g.numeric is not None:
            notes.append(f"{name}: central difference {num(g.numeric)}, relative error {g.rel_error:.1e}")
    sources = [g.source for g in weights]
    dl = "δ=" if nota.kind == "ufldl" else "Δ="
    labels = [(src, "below", "a=", ex.forward_value(src, "a", 0), "a", True) for src in sources]
    labels.append((unit, "above", dl, ex.delta_value(unit, 0) * s, "delta", True))
    if bias:
        name = f"d{nota.cost}/db=" if nota.kind == "ufldl" else "dE/dw0="
        labels.append((unit, "below", name, bias[0].total, "db", True))
    if ex.m > 1:  # one example's a and delta would not explain the averaged gradients: leave them to the equations
        labels = [lab for lab in labels if lab[4] not in ("a", "delta")]
    return Step("grad", f"the gradients into {which}", unit, None, units=[unit] + sources,
                edges=[(src, unit) for src in sources], eqs=[_grad_eq(ex, g) for g in written + bias], notes=notes,
                grads=grads, unit_labels=labels, edge_labels=[(g.source, unit, g.total, "dW") for g in weights])


# --- all of it --------------------------------------------------------------------------------------


def _definitions(ex) -> dict:
    kind = ex.notation.kind
    squared = ex.net.cost.name == "squared"
    if kind == "ufldl":
        return {
            1: "z(l+1)_i = sum_j W(l)_ij a(l)_j + b(l)_i,  a = f(z)",
            2: ("delta(nl)_i = dJ/dz(nl)_i = -(y_i - a_i) f'(z_i) for the squared cost" if squared else
                "delta(nl)_i = dJ/dz(nl)_i = a_i - y_i for cross-entropy on sigmoid or softmax units"),
            3: "delta(l)_i = f'(z(l)_i) · sum_j W(l)_ji delta(l+1)_j   (note W_ji: the weight FROM unit i TO unit j)",
        }
    return {
        1: "in_k = sum_j w_j,k a_j + w_0,k a_0,  a_k = g(in_k)",
        2: ("Delta_k = -dE/d(in_k) = g'(in_k)(t_k - a_k) for the squared error" if squared else
            "Delta_k = -dE/d(in_k) = t_k - a_k for cross-entropy on sigmoid or softmax units"),
        3: "Delta_j = g'(in_j) · sum_k w_j,k Delta_k   (the sum runs over every unit k that j feeds)",
    }


def chain_rule_intro(ex) -> list:
    """Where the sum of a hidden delta comes from, in words and symbols (the same in every form)."""
    if ex.notation.kind == "ufldl":
        return ["Where the sum comes from (the chain rule): delta(l)_i = dJ/dz(l)_i, and z(l)_i reaches J only through "
                "the units j it feeds, so dJ/dz(l)_i = sum_j dJ/dz(l+1)_j · dz(l+1)_j/dz(l)_i. Each of them has "
                "z(l+1)_j = sum_k W(l)_jk f(z(l)_k) + b(l)_j, in which only the term k = i depends on z(l)_i, so "
                "dz(l+1)_j/dz(l)_i = W(l)_ji f'(z(l)_i): the weight from unit i to unit j (W_ji, the index swap)."]
    return ["Where the sum comes from (the chain rule): Delta_j = -dE/d(in_j), and in_j reaches E only through the "
            "units k that j feeds, so -dE/d(in_j) = sum_k (-dE/d(in_k)) · d(in_k)/d(in_j). Each of them has "
            "in_k = sum_i w_i,k g(in_i) + w_0,k a_0, in which only the term i = j depends on in_j, so "
            "d(in_k)/d(in_j) = w_j,k g'(in_j), and Delta_j = sum_k Delta_k w_j,k g'(in_j)."]


def derivation(ex) -> list:
    """Every section of the explanation, in order: the example(s), then per example the forward pass,
    the output deltas and the hidden deltas, then the gradients and the check."""
    defs = _definitions(ex)
    sections = [Section(None, "The example", "the inputs and targets as the network sees them", [],
                        [_example_step(ex, k) for k in range(ex.m)], None, ex.m)]
    for k in range(ex.m):
        done, steps = [], []
        for uf in ex.forward:
            if uf.z is None:
                continue
            steps.append(_forward_step(ex, uf, k, list(done)))
            done.append(uf.unit)
        sections.append(Section(1, "Forward pass", defs[1], [], steps, k, ex.m))
        done, out_steps, hidden_steps = [], [], []
        for d in ex.deltas:
            if d.output_part is not None:
                out_steps.append(_output_step(ex, d, k, list(done)))
            else:
                hidden_steps.append(_hidden_step(ex, d, k, list(done)))
            done.append(d.unit)
        sections.append(Section(2, "Output deltas", defs[2], [], out_steps, k, ex.m))
        if hidden_steps:
            sections.append(Section(3, "Hidden deltas", defs[3], chain_rule_intro(ex), hidden_steps, k, ex.m))
    by_unit = {}
    for g in ex.grads:
        by_unit.setdefault(g.target, []).append(g)
    order = [uf.unit for uf in ex.forward if uf.z is not None]
    grad_steps = [_grad_step(ex, u, sorted(by_unit[u], key=lambda g: g.kind == "b")) for u in order if u in by_unit]
    sections.append(Section(4, "Gradients", grad_title(ex)[len("4. Gradients: "):], [], grad_steps, None, ex.m))
    sections.append(Section(5, "Check", verdict(ex)[0][len("5. Check: "):], [],
                            [Step("check", "the check against central differences", notes=[verdict(ex)[0][3:]])],
                            None, ex.m))
    return sections
