"""Text and Markdown renderings of an :class:`~deltaprop.explain.core.Explanation`.

Both walk the same derivation (:func:`deltaprop.explain.steps.derivation`) and write the same
equations (:mod:`deltaprop.explain.equations`): plain text with aligned ``=`` signs, or LaTeX
between ``$$`` for notebooks and GitHub. The gradients are one table in both.
"""

from __future__ import annotations

import textwrap

import numpy as np

from .equations import MAX_TERMS, num
from .steps import derivation, grad_header, grad_rows, grad_title, header_lines, notation_sign, verdict

__all__ = ["to_text", "to_markdown", "num", "nums", "MAX_TERMS", "notation_sign", "header_lines", "grad_title",
           "grad_header", "grad_rows", "verdict"]


def nums(values, x: int | None) -> str:
    """One example's value (x given) or the list over examples."""
    values = np.atleast_1d(values)
    if x is not None:
        return num(values[x])
    return num(values[0]) if values.size == 1 else "[" + ", ".join(num(v) for v in values) + "]"


def _table(header, rows):
    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    line = "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = [line, "  " + "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  " + "  ".join(str(v).rjust(w) if c else str(v).ljust(w) for c, (v, w) in
                                    enumerate(zip(r, widths))))
    return out


def to_text(ex) -> str:
    """The explanation as plain text: equations with aligned ``=``, notes in parentheses, the table."""
    L = header_lines(ex)
    for sec in derivation(ex):
        if sec.number == 4:
            L += ["", grad_title(ex)] + _table(grad_header(ex), grad_rows(ex))
            continue
        if sec.number == 5:
            L += [""] + verdict(ex)
            continue
        head = f"{sec.title}{sec.tag}: {sec.definition}"
        L += ["", head if sec.number is None else f"{sec.number}. {head}"]
        for para in sec.intro:
            L += textwrap.wrap(para, 120)
        for step in sec.steps:
            for eq in step.eqs:
                L += eq.text()
            if step.kind == "example":
                L += [f"  {n}" for n in step.notes]
            else:
                L += [f"  ({n})" for n in step.notes]
    return "\n".join(L) + "\n"


def _md(text: str) -> str:
    """Prose for Markdown: underscores and stars are the textbooks' indices and products, not emphasis."""
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("*", "\\*")


def to_markdown(ex) -> str:
    """The explanation as Markdown: LaTeX equations between ``$$``, the gradients as a table."""
    nota = ex.notation
    head = header_lines(ex)
    L = [f"## {head[0]}", ""] + [f"- {_md(h)}" for h in head[1:]]
    for sec in derivation(ex):
        if sec.number == 4:
            L += ["", "### " + _md(grad_title(ex)), ""]
            header = grad_header(ex)
            L.append("| " + " | ".join(header) + " |")
            L.append("|" + "---|" * len(header))
            for g, row in zip(ex.grads, grad_rows(ex)):
                name = nota.weight(g.source, g.target).latex if g.kind == "W" else nota.bias(g.target).latex
                L.append("| $" + name + "$ | " + " | ".join(row[1:]) + " |")
            continue
        if sec.number == 5:
            L += ["", "### " + _md(verdict(ex)[0])]
            continue
        tag = "" if not sec.tag else f" ({sec.tag[3:]})"
        definition = sec.definition if sec.number is None else f"`{sec.definition}`"
        L += ["", f"### {sec.title if sec.number is None else f'{sec.number}. {sec.title}'}{tag}", "", definition, ""]
        for para in sec.intro:
            L += [_md(para), ""]
        for step in sec.steps:
            if step.kind == "example":
                L += [f"- {_md(n)}" for n in step.notes]
                continue
            for eq in step.eqs:
                L += [eq.latex(), ""]
            L += [f"*({_md(n)})*" for n in step.notes]
            if step.notes:
                L.append("")
    return "\n".join(L) + "\n"
