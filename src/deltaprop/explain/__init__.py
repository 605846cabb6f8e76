"""Explain: backpropagation made visible, number by number, in the textbooks' own notation."""

from .core import Explanation, ParamGrad, Term, UnitDelta, UnitForward, explain
from .notation import NOTATIONS, Notation

__all__ = ["Explanation", "NOTATIONS", "Notation", "ParamGrad", "Term", "UnitDelta", "UnitForward", "explain"]
