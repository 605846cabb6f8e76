"""A network drawn as SVG: units in columns, one column per block, edges as straight lines.

Two faces draw networks: ``Network._repr_html_`` (a notebook shows the network) and the
step-through page of :func:`deltaprop.explain`, which adds values and highlighting on top.
Both take their geometry from :class:`Diagram`:

* a block with more than ``max_rows`` units shows its first and last units around an
  ellipsis ("⋮ 56 more"); edges to the units left out are not drawn;
* edge labels sit on their own edge, on a white box, and never overlap one another or a
  unit: :meth:`Diagram.place_labels` tries points along each edge and leaves out a label
  that fits nowhere (its edge keeps the value as a hover title).

Coordinates are SVG user units (px at scale 1). Labels are set in a 10 px monospace font,
so their width is known without a browser: ``LABEL_CHAR_W`` per character.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

__all__ = ["Diagram", "network_svg", "LABEL_CHAR_W", "LABEL_H"]

COL_W = 170  # distance between two block columns
ROW_H = 64  # distance between two units of a block
RADIUS = 16
MARGIN_X, TOP = 70, 44
LABEL_CHAR_W = 6.2  # a 10 px monospace digit is 6.0 px wide; 0.2 px of slack per character
LABEL_H = 13.0
MAX_WRITTEN_WEIGHTS = 24  # denser networks show their weights as hover titles only
_FRACTIONS = (0.3, 0.7, 0.4, 0.6, 0.5, 0.25, 0.75, 0.35, 0.65, 0.2, 0.8, 0.45, 0.55)


def label_size(text: str) -> tuple[float, float]:
    """Width and height of an edge label's white box, in px."""
    return LABEL_CHAR_W * len(text) + 4.0, LABEL_H


def _overlap(a, b, gap: float = 1.0) -> bool:
    """Whether two boxes (x0, y0, x1, y1) come closer than ``gap``."""
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _segment_hits_box(p, q, box) -> bool:
    """Whether the segment p-q passes through the box (Liang-Barsky clipping)."""
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for d, near, far in ((dx, box[0] - x0, box[2] - x0), (dy, box[1] - y0, box[3] - y0)):
        if d == 0:
            if near > 0 or far < 0:
                return False
            continue
        t0, t1 = near / d, far / d
        if t0 > t1:
            t0, t1 = t1, t0
        lo, hi = max(lo, t0), min(hi, t1)
        if lo > hi:
            return False
    return True


@dataclass(frozen=True)
class Diagram:
    """Where each unit of a network is drawn.

    Attributes
    ----------
    positions : dict of (block, index) -> (x, y)
        Every drawn unit.
    ellipses : dict of block -> (x, y, n_left_out)
        Blocks drawn with an ellipsis: where it sits and how many units it stands for.
    block_x : tuple of float
        The x of each block's column.
    width, height : float
    edges : tuple of ((block, index), (block, index))
        Every unit-level edge (source, target) whose two units are drawn.
    """

    positions: dict
    ellipses: dict
    block_x: tuple
    width: float
    height: float
    edges: tuple

    @classmethod
    def of(cls, net, max_rows: int = 9) -> "Diagram":
        """The diagram of a :class:`~deltaprop.Network` (any layout: layered, block DAG or unit graph).

        Parameters
        ----------
        net : Network
        max_rows : int, default 9
            A block with more units shows its first ``(max_rows - 1) // 2 + (max_rows - 1) % 2`` and last
            ``(max_rows - 1) // 2`` units around an ellipsis row.
        """
        if max_rows < 3:
            raise ValueError(f"max_rows must be at least 3 (a first unit, the ellipsis, a last unit), got {max_rows}")
        blocks = net.blocks
        rows = [min(b.units, max_rows) for b in blocks]
        tallest = max(rows)
        positions, ellipses = {}, {}
        block_x = tuple(MARGIN_X + j * COL_W for j in range(len(blocks)))
        for j, b in enumerate(blocks):
            top = TOP + RADIUS + 8 + (tallest - rows[j]) * ROW_H / 2
            if b.units <= max_rows:
                shown = list(range(b.units))
                slots = list(range(b.units))
            else:
                n_last = (max_rows - 1) // 2
                n_first = max_rows - 1 - n_last
                shown = list(range(n_first)) + list(range(b.units - n_last, b.units))
                slots = list(range(n_first)) + [n_first + 1 + r for r in range(n_last)]
                ellipses[j] = (block_x[j], top + n_first * ROW_H, b.units - n_first - n_last)
            for i, slot in zip(shown, slots):
                positions[(j, i)] = (block_x[j], top + slot * ROW_H)
        edges = []
        for edge in net.edges:
            k, j = edge.source, edge.target
            for i in range(blocks[j].units):
                for p in range(blocks[k].units):
                    if (edge.mask is None or edge.mask[i, p]) and (k, p) in positions and (j, i) in positions:
                        edges.append(((k, p), (j, i)))
        width = block_x[-1] + MARGIN_X
        height = TOP + RADIUS + 8 + tallest * ROW_H
        return cls(positions, ellipses, block_x, float(width), float(height), tuple(edges))

    def drawn(self, unit) -> bool:
        """Whether the unit (block, index) is drawn (not stood for by an ellipsis)."""
        return tuple(unit) in self.positions

    def anchor(self, unit) -> str:
        """The element a unit is shown by: ``unit-j-i``, or ``ellipsis-j`` for a unit left out."""
        j, i = unit
        return f"unit-{j}-{i}" if self.drawn(unit) else f"ellipsis-{j}"

    def unit_boxes(self) -> list:
        """Boxes (x0, y0, x1, y1) around the drawn units' circles (labels must keep clear of them)."""
        r = RADIUS + 2
        return [(x - r, y - r, x + r, y + r) for x, y in self.positions.values()]

    def place_labels(self, labels, obstacles=()) -> list:
        """Centres for edge labels, none overlapping another or an obstacle.

        Parameters
        ----------
        labels : sequence of (source, target, text)
            One label per edge; both units must be drawn.
        obstacles : sequence of (x0, y0, x1, y1)
            Boxes to keep clear of, besides the drawn units.

        Returns
        -------
        list of (x, y) or None
            The centre of each label's box, on its edge; None where no point along the edge fits.
            Among the points that fit, the first whose box no other labelled edge crosses wins.
        """
        taken = list(self.unit_boxes()) + [tuple(b) for b in obstacles]
        segments = [(self.positions[s], self.positions[t]) for s, t, _ in labels]
        placed = []
        for n, (source, target, text) in enumerate(labels):
            (x1, y1), (x2, y2) = segments[n]
            w, h = label_size(text)
            best, best_cross = None, None
            for f in _FRACTIONS:
                x, y = x1 + (x2 - x1) * f, y1 + (y2 - y1) * f
                box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
                if any(_overlap(box, other) for other in taken):
                    continue
                cross = sum(_segment_hits_box(p, q, box) for m, (p, q) in enumerate(segments) if m != n)
                if best is None or cross < best_cross:
                    best, best_cross = (x, y, box), cross
                    if cross == 0:
                        break
            if best is None:
                placed.append(None)
                continue
            taken.append(best[2])
            placed.append((best[0], best[1]))
        return placed


def _fmt(v: float) -> str:
    return f"{v:.5g}"


def network_svg(net, max_rows: int = 9) -> str:
    """An inline SVG of the network: units by name, each block's activation, weights on the edges.

    Every weight is an edge's hover title; in a network of at most 24 drawn edges, those whose
    label fits without overlapping another are also written on the edge.

    Parameters
    ----------
    net : Network
    max_rows : int, default 9
        Blocks with more units are drawn with an ellipsis (see :meth:`Diagram.of`).

    Returns
    -------
    str
        ``<svg ...>...</svg>``, self-contained (no script, no external reference).
    """
    d = Diagram.of(net, max_rows)
    units = net.unit_map
    weight = {}
    for e, edge in enumerate(net.edges):
        W = net.W[e]
        for (k, p), (j, i) in d.edges:
            if k == edge.source and j == edge.target:
                weight[((k, p), (j, i))] = float(W[i, p])
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='dp-net' viewBox='0 0 {d.width:.0f} {d.height:.0f}' "
             f"width='{d.width:.0f}' height='{d.height:.0f}' role='img' aria-label='the network, one column per block' "
             "style='max-width:100%;height:auto;font-family:sans-serif'>"]
    for j, x in enumerate(d.block_x):
        title = "input" if j == 0 else str(net.blocks[j].activation)
        parts.append(f"<text x='{x:.1f}' y='16' text-anchor='middle' font-size='12'>{escape(title)}</text>")
    for (s, t) in d.edges:
        (x1, y1), (x2, y2) = d.positions[s], d.positions[t]
        name = f"{units.name(*s)} → {units.name(*t)}: w = {_fmt(weight[(s, t)])}"
        parts.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#999' stroke-width='1.2'>"
                     f"<title>{escape(name)}</title></line>")
    labels = [(s, t, _fmt(weight[(s, t)])) for s, t in d.edges] if len(d.edges) <= MAX_WRITTEN_WEIGHTS else []
    for (s, t, text), at in zip(labels, d.place_labels(labels)):
        if at is None:
            continue
        w, h = label_size(text)
        parts.append(f"<rect x='{at[0] - w / 2:.1f}' y='{at[1] - h / 2:.1f}' width='{w:.1f}' height='{h:.1f}' "
                     f"fill='white' fill-opacity='0.9'/><text class='elabel' x='{at[0]:.1f}' y='{at[1]:.1f}' "
                     f"text-anchor='middle' dominant-baseline='central' font-size='10' font-family='monospace' "
                     f"fill='#444'>{escape(text)}</text>")
    for (j, i), (x, y) in d.positions.items():
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{RADIUS}' fill='#e8f0fe' stroke='#1f77b4' stroke-width='1.5'>"
                     f"<title>{escape(units.name(j, i))}</title></circle>"
                     f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='middle' dominant-baseline='central' font-size='11'>"
                     f"{escape(units.name(j, i))}</text>")
    for j, (x, y, n) in d.ellipses.items():
        parts.append(f"<rect x='{x - 36:.1f}' y='{y - 9:.1f}' width='72' height='18' fill='white'/>"
                     f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='middle' dominant-baseline='central' font-size='11' "
                     f"fill='#555'>⋮ {n} more</text>")
    parts.append("</svg>")
    return "".join(parts)
