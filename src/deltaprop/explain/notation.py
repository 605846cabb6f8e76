"""The two notations: names of units, values and weights, as text, LaTeX and MathML.

* ``ufldl`` (UFLDL's tutorial): layers numbered from 1 (the input is layer 1), z, a, delta, W, b,
  f, J, alpha, lambda. W^{(l)}_{ij} is the weight from unit j of layer l to unit i of
  layer l+1; an edge that skips layers is written W^{(k->l)}.
* ``aima`` (AIMA's textbook): units by name (x1, h1, o1, or the names of a dp.Graph), in, a,
  Delta = -dE/d(in), w_{j,k} the weight from unit j to unit k, g, E, eta; a bias is the
  weight w_{0,k} from the constant unit a_0 = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

NOTATIONS = ("ufldl", "aima")


@dataclass(frozen=True)
class Sym:
    """One symbol in three renderings."""

    text: str
    latex: str
    mathml: str


def _mi(s):
    return f"<mi>{escape(s)}</mi>"


def _mrow(*parts):
    return "<mrow>" + "".join(parts) + "</mrow>"


def _sub_sup(base, sub=None, sup=None):
    b = _mi(base) if len(base) == 1 else f"<mi mathvariant='italic'>{escape(base)}</mi>"
    if base == "delta":
        b = "<mi>&#948;</mi>"
    elif base == "Delta":
        b = "<mi mathvariant='normal'>&#916;</mi>"
    s = _mrow(f"<mi>{escape(sub)}</mi>") if sub is not None else None
    p = _mrow(f"<mo>(</mo><mn>{escape(sup)}</mn><mo>)</mo>") if sup is not None else None
    if s and p:
        return f"<msubsup>{b}{s}{p}</msubsup>"
    if s:
        return f"<msub>{b}{s}</msub>"
    if p:
        return f"<msup>{b}{p}</msup>"
    return b


def _latex_base(base):
    return {"delta": r"\delta", "Delta": r"\Delta", "in": r"\mathit{in}"}.get(base, base)


def symbol(base: str, sub: str | None = None, sup: str | None = None) -> Sym:
    """base_sub^(sup) as text, LaTeX and MathML: symbol('z', '1', '2') is z^(2)_1."""
    text = base + (f"({sup})" if sup is not None else "") + (f"_{sub}" if sub is not None else "")
    lb = _latex_base(base)
    lsup = None if sup is None else sup.replace("->", r"\to ")
    latex = lb + (f"^{{({lsup})}}" if sup is not None else "") + (f"_{{{sub}}}" if sub is not None else "")
    return Sym(text, latex, _sub_sup(base, sub, sup))


class Notation:
    """Names for one network in one notation."""

    def __init__(self, kind: str, net):
        if kind not in NOTATIONS:
            raise ValueError(f"notation must be one of {', '.join(NOTATIONS)}, got {kind!r}")
        self.kind = kind
        self.net = net
        self.names = self._unit_names(net)

    # units are (block, index) pairs
    @staticmethod
    def _unit_names(net):
        """(block, index) -> the unit's name: a compiled graph's, or the default x1.., h1.., o1.."""
        units = net.unit_map
        return {units.location(u): u.name if hasattr(u, "name") else str(u) for u in units.units}

    def layer(self, j: int) -> str:
        return str(j + 1)  # UFLDL's tutorial counts the input as layer 1

    # --- symbols ---------------------------------------------------------------------------------

    def value(self, what: str, unit) -> Sym:
        """what in {'z', 'a', 'delta'}: the unit's net input, activation or error term."""
        j, i = unit
        if self.kind == "ufldl":
            base = {"z": "z", "a": "a", "delta": "delta"}[what]
            return symbol(base, str(i + 1), self.layer(j))
        base = {"z": "in", "a": "a", "delta": "Delta"}[what]
        return symbol(base, self.names[unit])

    def weight(self, source, target) -> Sym:
        (k, p), (j, i) = source, target
        if self.kind == "ufldl":
            sup = self.layer(k) if j == k + 1 else f"{self.layer(k)}->{self.layer(j)}"
            return symbol("W", f"{i + 1}{p + 1}" if max(i, p) < 9 else f"{i + 1},{p + 1}", sup)
        return symbol("w", f"{self.names[source]},{self.names[target]}")

    def target(self, unit, column: int) -> Sym:
        """The target of an output unit: UFLDL's y_i (i its column of Y), AIMA's t_k."""
        if self.kind == "ufldl":
            return symbol("y", str(column + 1))
        return symbol("t", self.names[unit])

    def bias(self, target) -> Sym:
        j, i = target
        if self.kind == "ufldl":
            return symbol("b", str(i + 1), self.layer(j - 1))
        return symbol("w", f"0,{self.names[target]}")

    @property
    def f(self) -> str:
        return "f" if self.kind == "ufldl" else "g"

    @property
    def cost(self) -> str:
        return "J" if self.kind == "ufldl" else "E"

    @property
    def target_letter(self) -> str:
        return "y" if self.kind == "ufldl" else "t"

    @property
    def rate(self) -> str:
        return "alpha" if self.kind == "ufldl" else "eta"

    def unit_name(self, unit) -> str:
        j, i = unit
        if self.kind == "ufldl":
            return f"unit {i + 1} of layer {self.layer(j)}"
        return self.names[unit]
