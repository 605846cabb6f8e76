"""AIMA's network of units, seen on the block engine: which unit is which (block, index).

Every network has a :class:`UnitMap`. A network compiled from a :class:`deltaprop.Graph`
gets the graph's units and edges; a network built from blocks (UFLDL's layered network)
gets default names: inputs ``x1, x2, ...``, hidden units ``h1, h2, ...`` (``h1_1, h2_1, ...``
with several hidden blocks), outputs ``o1, o2, ...`` in the columns of Y. So
``net.weight(u, v)``, ``trace.Delta(u)`` and explanations name units one way for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable

import numpy as np

from .layout import Layout

__all__ = ["UnitMap", "NamedUnit", "ONE"]


@dataclass(frozen=True)
class NamedUnit:
    """A unit of a network built from blocks: its name and place.

    Attributes
    ----------
    name : str
    kind : {"input", "unit", "one"}
    """

    name: str
    kind: str = "unit"

    def __repr__(self) -> str:
        return self.name


ONE = NamedUnit("a0", "one")  # AIMA's constant unit a_0 = 1 of a network built from blocks


class UnitMap:
    """Units of a network and where they live.

    Parameters
    ----------
    locations : mapping of unit -> (block, index)
        Every input and computing unit; ``one`` maps to (-1, 0).
    one : unit
        The constant unit a_0 = 1 (its weight to a unit is that unit's bias).
    edges : iterable of (unit, unit), optional
        The unit-level edges that exist. None: every pair of units in blocks joined
        by an edge of the layout whose mask (if any) allows it.
    layout : Layout
    """

    def __init__(self, locations: dict, one: Hashable, layout: Layout, edges: Iterable | None = None):
        self._loc = dict(locations)
        self._loc[one] = (-1, 0)
        self.one = one
        self.layout = layout
        self._edges = None if edges is None else frozenset(edges)
        by_place = {v: u for u, v in self._loc.items()}
        self._at = by_place
        self._by_name = {getattr(u, "name", str(u)): u for u in self._loc}

    @classmethod
    def default(cls, layout: Layout) -> "UnitMap":
        """Names for a network built from blocks: x1.., h1.. (or h1_1, h2_1, ..), o1.. by Y column."""
        loc = {}
        for i in range(layout.blocks[0].units):
            loc[NamedUnit(f"x{i + 1}", "input")] = (0, i)
        hidden = [j for j in range(1, len(layout.blocks)) if j not in layout.output_blocks]
        for rank, j in enumerate(hidden):
            prefix = "h" if len(hidden) == 1 else f"h{rank + 1}_"
            for i in range(layout.blocks[j].units):
                loc[NamedUnit(f"{prefix}{i + 1}")] = (j, i)
        for j, cols in layout.outputs:
            columns = np.arange(layout.n_outputs)[cols]
            for i, c in enumerate(columns):
                loc[NamedUnit(f"o{int(c) + 1}")] = (j, i)
        return cls(loc, ONE, layout)

    # --- looking up -----------------------------------------------------------------------------

    def location(self, unit) -> tuple[int, int]:
        """(block, index) of a unit; (-1, 0) for the constant unit. ValueError for a stranger."""
        try:
            return self._loc[unit]
        except (KeyError, TypeError):
            raise ValueError(f"{unit!r} is not a unit of this network") from None

    def at(self, block: int, index: int):
        """The unit at (block, index)."""
        return self._at[(block, index)]

    def name(self, block: int, index: int) -> str:
        """The name of the unit at (block, index)."""
        u = self._at[(block, index)]
        return getattr(u, "name", str(u))

    def by_name(self, name: str):
        """The unit called ``name``; ValueError listing the names otherwise."""
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(n for n, u in self._by_name.items() if u is not self.one)
            raise ValueError(f"no unit named {name!r}; the units are {known}") from None

    def has_edge(self, source, target) -> bool:
        """Whether the unit-level edge source -> target exists."""
        ks, i_s = self.location(source)
        kt, i_t = self.location(target)
        if self._edges is not None:
            return (source, target) in self._edges
        if ks < 0 or kt <= 0:
            return False
        try:
            e = self.layout.edge_index(ks, kt)
        except ValueError:
            return False
        mask = self.layout.edges[e].mask
        return mask is None or bool(mask[i_t, i_s])

    def edge_entry(self, source, target) -> tuple[int, int, int]:
        """(edge index e, row, column) such that W[e][row, column] is w_{source,target}."""
        ks, i_s = self.location(source)
        kt, i_t = self.location(target)
        if ks == -1:
            raise ValueError("the weight from the constant unit a0 is the bias: use bias(unit) / grad_b(unit)")
        if not self.has_edge(source, target):
            raise ValueError(f"the network has no edge {source!r} -> {target!r}")
        return self.layout.edge_index(ks, kt), i_t, i_s

    def bias_entry(self, unit) -> tuple[int, int]:
        """(l, i) such that b[l][i] is the unit's bias."""
        j, i = self.location(unit)
        if j <= 0:
            raise ValueError(f"{unit!r} is not a computing unit; it has no bias")
        bias = self.layout.blocks[j].bias
        if bias is not None and not bias[i]:
            raise ValueError(f"unit {unit!r} was built with bias=None; it has no bias")
        return j - 1, i

    @property
    def units(self) -> list:
        """Every input and computing unit, in (block, index) order."""
        return sorted((u for u, (j, _) in self._loc.items() if j >= 0), key=lambda u: self._loc[u])

    def __contains__(self, unit) -> bool:
        try:
            return unit in self._loc
        except TypeError:
            return False
