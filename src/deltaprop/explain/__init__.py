"""Explain: backpropagation made visible, number by number, in the textbooks' own notation.

``dp.explain(net, x, y)`` (or ``dp.explain(model, raw_row, label)``) returns an
:class:`Explanation`: every z, a, delta and gradient, each checked against the engine and
beside its central difference, in the notation of UFLDL's tutorial or of AIMA's textbook,
as text, Markdown or a self-contained step-through HTML page (notebooks show the page).
"""

from .core import Example, Explanation, ParamGrad, Term, UnitDelta, UnitForward, explain
from .notation import NOTATIONS, Notation

__all__ = ["Example", "Explanation", "NOTATIONS", "Notation", "ParamGrad", "Term", "UnitDelta", "UnitForward",
           "explain"]
