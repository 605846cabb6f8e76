"""Equations written once and rendered three ways: plain text, LaTeX (Markdown) and MathML (HTML).

An equation is a list of :class:`Piece` objects, each of which knows its own text, LaTeX and
MathML. The derivation (:mod:`deltaprop.explain.steps`) builds every equation from pieces, so the
three forms of an explanation cannot say different things: they differ only in typography.

Products are written the way the textbooks write them: ``W(2)_11·delta(3)_1`` (text),
``W^{(2)}_{11}\\,\\delta^{(3)}_{1}`` (LaTeX), invisible times in MathML. A number carries what it
is (``kind``, ``unit``, ``source``, ``example``) so that the HTML page can tag it for a browser test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from .notation import Sym

__all__ = ["Piece", "Eq", "sym", "number", "op", "word", "frac", "sum_over", "prime", "paren", "join", "clip",
           "num", "MAX_TERMS"]

MAX_TERMS = 8  # longer sums are shown as their first terms, "...", and the last


def num(v) -> str:
    """A number for people: 5 significant digits, no noise."""
    v = float(v)
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-4:
        return f"{v:.4e}"
    return f"{v:.5g}"


@dataclass(frozen=True)
class Piece:
    """One piece of an equation in its three renderings."""

    text: str
    latex: str
    mathml: str


def sym(s: Sym) -> Piece:
    """A symbol of the notation (z(2)_1, Delta_h1, W(1)_21, ...)."""
    return Piece(s.text, s.latex, s.mathml)


def number(v, kind: str | None = None, unit=None, example: int | None = None, source=None) -> Piece:
    """A number, tagged in MathML with what it is: ``data-kind``, ``data-unit`` (block-index), ..."""
    shown = num(v)
    attrs = ""
    if kind is not None:
        attrs = f" class='num' data-kind='{kind}' data-value='{float(v)!r}'"
        if unit is not None:
            attrs += f" data-unit='{unit[0]}-{unit[1]}'"
        if source is not None:
            attrs += f" data-source='{source[0]}-{source[1]}'"
        if example is not None:
            attrs += f" data-example='{example}'"
    return Piece(shown, shown, f"<mn{attrs}>{escape(shown)}</mn>")


_OPS = {
    "=": Piece(" = ", " = ", "<mo>=</mo>"),
    "+": Piece(" + ", " + ", "<mo>+</mo>"),
    "-": Piece(" - ", " - ", "<mo>-</mo>"),
    "neg": Piece("-", "-", "<mo>-</mo>"),
    "(": Piece("(", "(", "<mo>(</mo>"),
    ")": Piece(")", ")", "<mo>)</mo>"),
    "[": Piece("[ ", r"\Big[", "<mo>[</mo>"),
    "]": Piece(" ]", r"\Big]", "<mo>]</mo>"),
    # products: "·" tight (W·a), "dot" spaced (f'(z) · [...]), " " juxtaposed ((y - a) f'(z)), "" nothing
    "·": Piece("·", r"\,", "<mo>&#8290;</mo>"),
    "dot": Piece(" · ", r" \cdot ", "<mo>&#183;</mo>"),
    " ": Piece(" ", r"\,", "<mo>&#8290;</mo>"),
    "·[": Piece(" · ", "", "<mo>&#183;</mo>"),  # before a bracket: a dot in text, juxtaposed in LaTeX
    "": Piece("", "", ""),
    ",": Piece(", ", r",\ ", "<mo>,</mo>"),
}


def op(name: str) -> Piece:
    """An operator or bracket: '=', '+', '-', 'neg', '(', ')', '[', ']', '·', 'dot', '·[', ' ', '', ','."""
    return _OPS[name]


def word(text: str, latex: str | None = None) -> Piece:
    """A word or function name set upright: sigmoid, tanh, log."""
    return Piece(text, latex if latex is not None else rf"\mathrm{{{text}}}", f"<mi>{escape(text)}</mi>")


def frac(top: list, bottom: list) -> Piece:
    """top/bottom: ``dJ/dz(2)_1`` in text, a fraction in LaTeX and MathML."""
    return Piece("".join(p.text for p in top) + "/" + "".join(p.text for p in bottom),
                 r"\frac{" + "".join(p.latex for p in top) + "}{" + "".join(p.latex for p in bottom) + "}",
                 "<mfrac><mrow>" + "".join(p.mathml for p in top) + "</mrow><mrow>" +
                 "".join(p.mathml for p in bottom) + "</mrow></mfrac>")


PARTIAL = Piece("d", r"\partial ", "<mo>&#8706;</mo>")


def sum_over(index: str) -> Piece:
    """sum_index, as the textbook's sigma with the index under it."""
    return Piece(f"sum_{index} ", rf"\sum_{{{index}}} ", f"<munder><mo>&#8721;</mo><mi>{escape(index)}</mi></munder>")


def prime(f: str) -> Piece:
    """f' (or g'): the derivative of the activation."""
    return Piece(f"{f}'", f"{f}'", f"<mi>{escape(f)}</mi><mo>&#8242;</mo>")


def paren(pieces: list) -> list:
    """( pieces )"""
    return [op("(")] + list(pieces) + [op(")")]


def join(groups: list, sep: str = "+") -> list:
    """The groups (lists of pieces) joined by an operator."""
    out = []
    for n, g in enumerate(groups):
        if n:
            out.append(op(sep))
        out += list(g)
    return out


def clip(groups: list) -> list:
    """At most MAX_TERMS groups: the first ones, '... (k more terms)', and the last."""
    if len(groups) <= MAX_TERMS:
        return groups
    more = len(groups) - MAX_TERMS + 1
    gap = Piece(f"... ({more} more terms)", rf"\ldots\text{{ ({more} more terms)}}",
                f"<mtext>... ({more} more terms)</mtext>")
    return groups[: MAX_TERMS - 2] + [[gap]] + groups[-1:]


def _flat(pieces) -> list:
    out = []
    for p in pieces:
        out += _flat(p) if isinstance(p, list) else [p]
    return out


@dataclass
class Eq:
    """lhs = rows[0] = rows[1] = ...: in text each row after the first on its own line, aligned.

    ``aligned`` asks LaTeX for one line per row too (long chain-rule sums); MathML always sets
    each row on its own line.
    """

    lhs: list
    rows: list = field(default_factory=list)
    aligned: bool = False

    def __post_init__(self):  # pieces may come in nested groups ([op("+")] + paren(...) or [..., paren(...)])
        self.lhs = _flat(self.lhs)
        self.rows = [_flat(row) for row in self.rows]

    def text(self, indent: str = "  ") -> list:
        lhs = "".join(p.text for p in self.lhs)
        lines = [f"{indent}{lhs} = {''.join(p.text for p in self.rows[0])}"]
        lines += [f"{indent}{' ' * len(lhs)} = {''.join(p.text for p in row)}" for row in self.rows[1:]]
        return lines

    def latex(self) -> str:
        lhs = "".join(p.latex for p in self.lhs)
        rows = ["".join(p.latex for p in row) for row in self.rows]
        if self.aligned and len(rows) > 1:
            return r"$$\begin{aligned}" + lhs + " &= " + r" \\ &= ".join(rows) + r"\end{aligned}$$"
        return "$$" + lhs + " = " + " = ".join(rows) + "$$"

    def mathml_rows(self) -> list:
        """One ``<math>`` per row; the rows after the first start with '=' (class 'cont')."""
        lhs = "".join(p.mathml for p in self.lhs)
        rows = ["".join(p.mathml for p in row) for row in self.rows]
        out = [f"<math display='block'><mrow>{lhs}<mo>=</mo>{rows[0]}</mrow></math>"]
        out += [f"<math display='block' class='cont'><mrow><mo>=</mo>{row}</mrow></math>" for row in rows[1:]]
        return out

    def mathml(self) -> str:
        return "".join(self.mathml_rows())
