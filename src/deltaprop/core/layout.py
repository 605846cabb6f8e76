"""The shape of a network: blocks, edges, outputs, and where each W and b lives in the flat vector.

Block 0 is the input. Every other block j has ``units`` units, an activation f_j,
a bias vector b_j and one or more incoming edges k -> j (k < j), each carrying a
weight matrix W of shape (units_j, units_k). UFLDL's layered network is the chain
0 -> 1 -> ... -> L; skip connections are extra edges; AIMA's networks of units compile
to blocks whose edges carry connectivity masks.

The flat layout, block by block: the weights of the edges into block 1 (in ``edges``
order), then b of block 1, then the edges into block 2, b of block 2, and so on.
A :class:`Layout` is immutable once built; :meth:`Layout.views` cuts any flat vector
of that layout (parameters, a gradient, a mask) into its W's and b's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .activations import Activation, get_activation
from .checks import check_memory

__all__ = ["Block", "Edge", "Layout"]


@dataclass(frozen=True, eq=False)
class Block:
    """One block of units.

    Parameters
    ----------
    units : int
        Number of units.
    activation : str or None
        Activation name; None for the input block 0.
    bias : ndarray of bool, shape (units,), optional
        Which units have a bias (absent biases stay exactly zero). None: all do.
    """

    units: int
    activation: str | None = None
    bias: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Edge:
    """A dense connection from block ``source`` to block ``target`` (source < target).

    Parameters
    ----------
    source, target : int
        Block indices.
    mask : ndarray of bool, shape (units_target, units_source), optional
        Which weights exist; absent ones stay exactly zero, and so does their gradient.
    """

    source: int
    target: int
    mask: np.ndarray | None = None


class Layout:
    """The checked structure of a network and its flat parameter layout.

    Parameters
    ----------
    blocks, edges, outputs, output_columns
        As for :class:`deltaprop.Network`.

    Attributes
    ----------
    blocks : tuple of Block
    edges : tuple of Edge
        Sorted by target block, the order of ``W`` and of the flat layout.
    activations : tuple of Activation or None
        ``activations[j]`` is block j's f (None for the input block).
    predecessors, successors : tuple of tuple of (int, int)
        ``predecessors[j]`` lists (edge index, source block) of the edges into j;
        ``successors[k]`` lists (edge index, target block) of the edges out of k.
    outputs : tuple of (int, slice or ndarray)
        Each output block with the columns of Y (and of ``predict``) its units stand for.
    output_blocks : frozenset of int
    w_spans : tuple of (int, (int, int))
        Offset and shape of each edge's W in the flat vector.
    b_spans : tuple of (int, int)
        Offset and length of each non-input block's b.
    n_params, n_inputs, n_outputs : int
    weight_mask : ndarray of bool, shape (n_params,)
        True at weights (the entries weight decay applies to), False at biases.
    free : ndarray of float, shape (n_params,), or None
        1 where a parameter exists and 0 where a mask removes it; None if nothing is masked.
    """

    def __init__(self, blocks: Sequence[Block], edges: Sequence[Edge], outputs: Sequence[int] | None = None,
                 output_columns: Sequence[Sequence[int]] | None = None):
        blocks, edges, outputs = _check_structure(blocks, edges, outputs)
        self.blocks = tuple(blocks)
        self.edges = tuple(edges)
        acts: list[Activation | None] = [None] + [get_activation(b.activation) for b in blocks[1:]]
        for j, act in enumerate(acts[1:], start=1):
            if act.output_only and j not in outputs:
                raise ValueError(f"block {j}: activation {act.name!r} may only be used on output blocks")
        self.activations = tuple(acts)
        self.outputs = tuple(_output_columns(blocks, outputs, output_columns))
        self.output_blocks = frozenset(j for j, _ in self.outputs)
        self.n_inputs = blocks[0].units
        self.n_outputs = sum(blocks[j].units for j in outputs)
        n = len(blocks)
        pred: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        succ: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for e, edge in enumerate(edges):
            pred[edge.target].append((e, edge.source))
            succ[edge.source].append((e, edge.target))
        self.predecessors = tuple(tuple(p) for p in pred)
        self.successors = tuple(tuple(s) for s in succ)
        w_spans: list = [None] * len(edges)
        b_spans = []
        off = 0
        for j in range(1, n):
            for e, k in pred[j]:
                shape = (blocks[j].units, blocks[k].units)
                w_spans[e] = (off, shape)
                off += shape[0] * shape[1]
            b_spans.append((off, blocks[j].units))
            off += blocks[j].units
        self.w_spans = tuple(w_spans)
        self.b_spans = tuple(b_spans)
        self.n_params = off
        # the layout's own masks take 1-9 bytes a parameter, the network's vector 4 or 8 more
        check_memory(17 * off, f"a network of {off:,} parameters")
        self._edge_index = {(edge.source, edge.target): e for e, edge in enumerate(edges)}
        mask = np.zeros(off, dtype=bool)
        for o, s in self.w_spans:
            mask[o : o + s[0] * s[1]] = True
        mask.flags.writeable = False
        self.weight_mask = mask
        self.free = self._free_mask()

    def _free_mask(self) -> np.ndarray | None:
        if all(e.mask is None for e in self.edges) and all(b.bias is None for b in self.blocks):
            return None
        free = np.ones(self.n_params)
        Ws, bs = self.views(free)
        for e, edge in enumerate(self.edges):
            if edge.mask is not None:
                Ws[e][...] = edge.mask
        for l, blk in enumerate(self.blocks[1:]):
            if blk.bias is not None:
                bs[l][...] = blk.bias
        free.flags.writeable = False
        return free

    # --- reading the flat vector ------------------------------------------------------------

    def views(self, flat: np.ndarray) -> tuple[list, list]:
        """``(W, b)``: lists of views into ``flat``, parallel to ``edges`` and to blocks 1..n-1."""
        Ws = [flat[o : o + s[0] * s[1]].reshape(s) for o, s in self.w_spans]
        bs = [flat[o : o + u] for o, u in self.b_spans]
        return Ws, bs

    def edge_index(self, source: int, target: int) -> int:
        """Index into ``W``/``dW`` of the edge from block ``source`` to block ``target``."""
        try:
            return self._edge_index[(source, target)]
        except KeyError:
            raise ValueError(f"the network has no edge from block {source} to block {target}") from None

    # --- facts derived from the structure -------------------------------------------------------

    def fan_in(self, j: int) -> float:
        """How many weights feed each unit of block j, on average (masks counted)."""
        links = sum(self._links(e) for e, _ in self.predecessors[j])
        return max(1.0, links / self.blocks[j].units)

    def fan_out(self, j: int) -> float:
        """How many weights leave each unit of block j, on average; an output block's own width."""
        if not self.successors[j]:
            return float(self.blocks[j].units)
        links = sum(self._links(e) for e, _ in self.successors[j])
        return max(1.0, links / self.blocks[j].units)

    def _links(self, e: int) -> int:
        edge = self.edges[e]
        s = self.w_spans[e][1]
        return int(edge.mask.sum()) if edge.mask is not None else s[0] * s[1]

    def init_bound(self, j: int) -> float:
        """Half-width of the uniform initialisation of block j (its activation's family)."""
        return self.activations[j].init_bound(self.fan_in(j), self.fan_out(j))

    @property
    def is_chain(self) -> bool:
        """True for a layered network: block l feeds block l + 1 only, no masks, one output."""
        return (len(self.edges) == len(self.blocks) - 1
                and all(e.source + 1 == e.target and e.mask is None for e in self.edges)
                and len(self.outputs) == 1)

    def workspace_floats_per_row(self) -> int:
        """Floats of backprop workspace one example needs (five buffers per non-input unit)."""
        return 5 * sum(b.units for b in self.blocks[1:])


def _output_columns(blocks, outputs, output_columns):
    """(block, columns of Y) per output block; columns as a slice when contiguous."""
    widths = [blocks[j].units for j in outputs]
    if output_columns is None:
        starts = np.cumsum([0] + widths)
        return [(j, slice(int(starts[i]), int(starts[i + 1]))) for i, j in enumerate(outputs)]
    output_columns = [np.asarray(c, dtype=np.intp) for c in output_columns]
    n = sum(widths)
    if len(output_columns) != len(outputs) or any(c.shape != (w,) for c, w in zip(output_columns, widths)):
        raise ValueError("output_columns must give one column index per unit of each output block")
    if sorted(np.concatenate(output_columns).tolist()) != list(range(n)):
        raise ValueError(f"output_columns must together be a permutation of 0..{n - 1}")
    result = []
    for j, c in zip(outputs, output_columns):
        contiguous = np.array_equal(c, np.arange(c[0], c[0] + c.size))
        result.append((j, slice(int(c[0]), int(c[0]) + c.size) if contiguous else c))
    return result


def _check_structure(blocks, edges, outputs):
    blocks = list(blocks)
    edges = list(edges)
    if len(blocks) < 2:
        raise ValueError("a network needs an input block and at least one more block")
    for j, blk in enumerate(blocks):
        if not isinstance(blk, Block):
            raise ValueError(f"blocks[{j}] must be a deltaprop Block, got {type(blk).__name__}")
        if isinstance(blk.units, bool) or not isinstance(blk.units, (int, np.integer)) or blk.units < 1:
            raise ValueError(f"blocks[{j}].units must be a positive int, got {blk.units!r}")
        if j == 0 and blk.activation is not None:
            raise ValueError("blocks[0] is the input and takes no activation")
        if j > 0 and blk.activation is None:
            raise ValueError(f"blocks[{j}] needs an activation")
        if blk.bias is not None:
            bias = np.asarray(blk.bias)
            if bias.shape != (blk.units,):
                raise ValueError(f"blocks[{j}].bias mask must have shape ({blk.units},), got {bias.shape}")
            bias = bias.astype(bool)
            bias.flags.writeable = False
            blocks[j] = Block(int(blk.units), blk.activation, bias)
        else:
            blocks[j] = Block(int(blk.units), blk.activation)
    n = len(blocks)
    seen = set()
    for e, edge in enumerate(edges):
        if not isinstance(edge, Edge):
            raise ValueError(f"edges[{e}] must be a deltaprop Edge, got {type(edge).__name__}")
        k, j = edge.source, edge.target
        if not (0 <= k < n and 0 <= j < n):
            raise ValueError(f"edges[{e}] joins blocks {k} -> {j}, but the blocks are numbered 0..{n - 1}")
        if k >= j:
            raise ValueError(
                f"edges[{e}] goes from block {k} to block {j}; edges must go from a lower to a higher "
                "block index (blocks in topological order, block 0 the input)"
            )
        if (k, j) in seen:
            raise ValueError(f"edges[{e}] duplicates the edge {k} -> {j}")
        seen.add((k, j))
        if edge.mask is not None:
            mask = np.asarray(edge.mask)
            want = (blocks[j].units, blocks[k].units)
            if mask.shape != want:
                raise ValueError(f"edges[{e}].mask must have shape {want}, got {mask.shape}")
            mask = mask.astype(bool)
            mask.flags.writeable = False
            edges[e] = Edge(k, j, mask)
    # order edges by target so the flat layout reads block by block
    edges.sort(key=lambda ed: ed.target)
    if outputs is None:
        outputs = [n - 1]
    outputs = [int(o) for o in outputs]
    if not outputs or any(not (1 <= o < n) for o in outputs) or len(set(outputs)) != len(outputs):
        raise ValueError(f"outputs must be distinct block indices in 1..{n - 1}, got {outputs}")
    targets = {ed.target for ed in edges}
    sources = {ed.source for ed in edges}
    for j in range(1, n):
        if j not in targets:
            raise ValueError(f"block {j} has no incoming edge")
        if j not in sources and j not in outputs:
            raise ValueError(f"block {j} feeds no other block and is not an output")
    return blocks, edges, outputs
