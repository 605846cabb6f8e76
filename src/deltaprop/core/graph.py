"""AIMA's general network of units, compiled onto the block engine.

Each unit k computes in_k = sum_i w_ik a_i (+ its bias, AIMA's w_0k a_0 with a_0 = 1)
and a_k = g(in_k). Any DAG is allowed: skip connections, units of different
activations side by side, several outputs. ``compile`` groups the units into dense
blocks by (longest-path depth, activation, output or not), with connectivity masks
for the edges that are absent, so training runs through the same vectorised
forward/backprop and optimizers as a layered network: no per-unit Python loop.

Rules checked when the graph is built or compiled (each a ValueError naming the units):
an edge that would close a cycle, an edge into an input, a duplicate edge, an unknown
activation, a softmax unit that is not an output sink, a unit reached by no input
(refused: its value would be a constant) and a unit or input that reaches no output
(refused: its parameters would never get a gradient).
"""

from __future__ import annotations

import numbers
from collections import defaultdict, deque

import numpy as np

from .activations import get_activation
from .checks import as_rng
from .layout import Block, Edge, Layout
from .network import Network
from .units import UnitMap

__all__ = ["Graph", "Unit"]

_RANDOM = "random"


class Unit:
    """A unit of a :class:`Graph`: an input, a computing unit, or the constant a_0 = 1 (``graph.one``)."""

    __slots__ = ("graph", "index", "name", "kind", "activation", "bias")

    def __init__(self, graph, index, name, kind, activation=None, bias=None):
        self.graph = graph
        self.index = index
        self.name = name
        self.kind = kind  # "input", "unit" or "one"
        self.activation = activation
        self.bias = bias

    def __repr__(self) -> str:
        return self.name


class Graph:
    """A network of units, built unit by unit and edge by edge (AIMA's textbook).

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> g = dp.Graph()
    >>> x1, x2 = g.input(), g.input()
    >>> h = g.unit("tanh", bias=0.1)
    >>> o = g.unit("sigmoid")
    >>> g.connect(x1, h, weight=0.5); g.connect(x2, h); g.connect(h, o); g.connect(x1, o)
    >>> g.output(o)
    >>> net = g.compile(cost="squared", seed=0)
    >>> net.weight(x1, h)
    0.5
    """

    def __init__(self):
        self._units: list[Unit] = []
        self._inputs: list[Unit] = []
        self._outputs: list[Unit] = []
        self._succ: dict[Unit, list[Unit]] = defaultdict(list)
        self._pred: dict[Unit, list[Unit]] = defaultdict(list)
        self._weights: dict[tuple[Unit, Unit], float | None] = {}
        self._output_set: set[Unit] = set()
        self._names: set[str] = {"a0"}  # every unit name, for a constant-time duplicate check
        self._n_computing = 0
        self.one = Unit(self, -1, "a0", "one")  # AIMA's constant unit: net.weight(g.one, h) is h's bias

    # --- building -----------------------------------------------------------------------

    def _name(self, name, default):
        if name is None:
            return default
        if not isinstance(name, str) or not name:
            raise ValueError(f"a unit name must be a non-empty string, got {name!r}")
        if name in self._names:
            raise ValueError(f"a unit named {name!r} already exists")
        return name

    def input(self, name: str | None = None) -> Unit:
        """Add an input unit; inputs take the columns of X in the order they are added."""
        unit = Unit(self, len(self._units), self._name(name, f"x{len(self._inputs) + 1}"), "input")
        self._names.add(unit.name)
        self._units.append(unit)
        self._inputs.append(unit)
        return unit

    def unit(self, activation: str = "sigmoid", *, bias: float | None | str = _RANDOM, name: str | None = None) -> Unit:
        """Add a computing unit a = g(in).

        Parameters
        ----------
        activation : str, default "sigmoid"
            Any registered activation; ``softmax`` units must be outputs that feed nothing,
            and all of a graph's softmax units form one softmax group.
        bias : float, None or "random", default "random"
            The bias's initial value; "random" draws it from the compile seed; None
            means the unit has no bias at all (it stays exactly zero).
        name : str, optional
            Shown in errors and explanations; default ``u1``, ``u2``, ...
        """
        act = get_activation(activation)
        if bias is not None and bias != _RANDOM:
            if isinstance(bias, bool) or not isinstance(bias, numbers.Real) or not np.isfinite(bias):
                raise ValueError(f"bias must be a finite number, None (no bias) or 'random', got {bias!r}")
            bias = float(bias)
        unit = Unit(self, len(self._units), self._name(name, f"u{self._n_computing + 1}"), "unit", act.name, bias)
        self._names.add(unit.name)
        self._n_computing += 1
        self._units.append(unit)
        return unit

    def units(self, n: int, activation: str = "sigmoid", *, bias=_RANDOM) -> list[Unit]:
        """Add ``n`` units of one activation (a layer, in the layered view)."""
        return [self.unit(activation, bias=bias) for _ in range(n)]

    def _own(self, unit, role):
        if not isinstance(unit, Unit) or unit.graph is not self:
            raise ValueError(f"{role} must be a unit of this graph, got {unit!r}")
        if unit.kind == "one":
            raise ValueError(f"{role}: the constant unit a0 is not connected explicitly; every unit has its bias")

    def connect(self, source: Unit, target: Unit, *, weight: float | None = None) -> None:
        """Add the edge source -> target with weight w_{source,target} (random from the seed if None)."""
        self._own(source, "source")
        self._own(target, "target")
        if target.kind == "input":
            raise ValueError(f"cannot connect {source.name} -> {target.name}: {target.name} is an input unit")
        if source is target:
            raise ValueError(f"cannot connect {source.name} to itself: that is a cycle")
        if (source, target) in self._weights:
            raise ValueError(f"the edge {source.name} -> {target.name} already exists")
        if weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not np.isfinite(weight):
                raise ValueError(f"weight must be a finite number or None, got {weight!r}")
            weight = float(weight)
        path = self._path(target, source)
        if path is not None:
            cycle = " -> ".join(u.name for u in path + [target])
            raise ValueError(f"connecting {source.name} -> {target.name} would close the cycle {cycle}")
        self._weights[(source, target)] = weight
        self._succ[source].append(target)
        self._pred[target].append(source)

    def connect_all(self, sources, targets) -> None:
        """Connect every source to every target (a dense layer, in the layered view)."""
        for t in targets:
            for s in sources:
                self.connect(s, t)

    def output(self, *units: Unit) -> None:
        """Mark units as outputs; Y's columns follow the order of these calls."""
        for unit in units:
            self._own(unit, "output")
            if unit.kind == "input":
                raise ValueError(f"{unit.name} is an input unit and cannot be an output")
            if unit in self._output_set:
                raise ValueError(f"{unit.name} is already an output")
            self._outputs.append(unit)
            self._output_set.add(unit)

    def _path(self, start: Unit, goal: Unit):
        """A path start -> ... -> goal along edges, or None."""
        stack, parent = [start], {start: None}
        while stack:
            u = stack.pop()
            if u is goal:
                path = []
                while u is not None:
                    path.append(u)
                    u = parent[u]
                return path[::-1]
            for v in self._succ[u]:
                if v not in parent:
                    parent[v] = u
                    stack.append(v)
        return None

    # --- compiling ------------------------------------------------------------------------------

    def _check(self):
        if not self._inputs:
            raise ValueError("the graph has no input units; add some with g.input()")
        if not self._outputs:
            raise ValueError("the graph has no outputs; mark them with g.output(unit)")
        reached, stack = set(self._inputs), list(self._inputs)
        while stack:
            for v in self._succ[stack.pop()]:
                if v not in reached:
                    reached.add(v)
                    stack.append(v)
        useful, stack = set(self._outputs), list(self._outputs)
        while stack:
            for u in self._pred[stack.pop()]:
                if u not in useful:
                    useful.add(u)
                    stack.append(u)
        for u in self._units:
            if u.kind == "unit" and u not in reached:
                raise ValueError(f"unit {u.name} is reached by no input; connect an input (or a unit fed by one) to it")
            if u not in useful:
                raise ValueError(f"{'input' if u.kind == 'input' else 'unit'} {u.name} reaches no output")
            if u.activation == "softmax" and (u not in self._output_set or self._succ[u]):
                raise ValueError(f"softmax unit {u.name} must be an output that feeds no other unit")

    def compile(self, *, cost: str = "squared", weight_decay: float = 0.0, l1: float = 0.0,
                dtype: str = "float64", seed=None) -> Network:
        """Group the units into dense blocks and return a :class:`deltaprop.Network`.

        Parameters
        ----------
        cost, weight_decay, l1, dtype
            As for :class:`deltaprop.Network`.
        seed : int or Generator, optional
            Draws every weight and bias not given explicitly.

        Returns
        -------
        Network
            With the unit view: ``net.weight(u, v)``, ``net.bias(u)``, and on its traces
            ``tr.grad_w(u, v)``, ``tr.grad_b(u)``, ``tr.Delta(u)``, ``tr.a(u)``, ``tr.in_(u)``.

        Raises
        ------
        ValueError
            For the structural problems listed in this module's docstring.
        """
        self._check()
        rng = as_rng(seed)
        # longest-path depth from the inputs; all softmax units share the deepest softmax depth
        depth = {u: 0 for u in self._inputs}
        for u in self._topological():
            if u.kind == "unit":
                depth[u] = 1 + max(depth[p] for p in self._pred[u])
        soft = [u for u in self._units if u.activation == "softmax"]
        if soft:
            deepest = max(depth[u] for u in soft)
            for u in soft:
                depth[u] = deepest

        out_index = {u: c for c, u in enumerate(self._outputs)}
        groups: dict[tuple, list[Unit]] = defaultdict(list)
        for u in self._units:
            if u.kind == "unit":
                groups[(depth[u], u.activation, u in out_index)].append(u)
        keys = sorted(groups, key=lambda k: (k[0], k[2], k[1]))
        loc: dict[Unit, tuple[int, int]] = {u: (0, i) for i, u in enumerate(self._inputs)}
        blocks = [Block(len(self._inputs))]
        for j, key in enumerate(keys, start=1):
            members = groups[key]
            if key[2]:  # output blocks list their units in output order
                members.sort(key=out_index.__getitem__)
            for i, u in enumerate(members):
                loc[u] = (j, i)
            has_bias = np.array([u.bias is not None for u in members])
            blocks.append(Block(len(members), key[1], bias=None if has_bias.all() else has_bias))

        masks: dict[tuple[int, int], np.ndarray] = {}
        for (s, t) in self._weights:
            (ks, i_s), (kt, i_t) = loc[s], loc[t]
            if (ks, kt) not in masks:
                masks[(ks, kt)] = np.zeros((blocks[kt].units, blocks[ks].units), dtype=bool)
            masks[(ks, kt)][i_t, i_s] = True
        edges = [Edge(k, j, None if m.all() else m) for (k, j), m in sorted(masks.items(), key=lambda kv: kv[0][::-1])]
        out_blocks = [j for j, key in enumerate(keys, start=1) if key[2]]
        out_cols = [[out_index[u] for u in groups[keys[j - 1]]] for j in out_blocks]
        layout = Layout(blocks, edges, out_blocks, out_cols)
        units = UnitMap(loc, self.one, layout, edges=self._weights.keys())
        net = Network.from_layout(layout, units=units, graph_spec=self.spec(), cost=cost,
                                  weight_decay=weight_decay, l1=l1, dtype=dtype, seed=rng)
        for u in self._units:
            if u.kind == "unit" and u.bias is not None:
                j, i = loc[u]
                if u.bias == _RANDOM:
                    bound = layout.init_bound(j)
                    net.b[j - 1][i] = rng.uniform(-bound, bound)
                else:
                    net.b[j - 1][i] = u.bias
        for (s, t), wgt in self._weights.items():
            if wgt is not None:
                net.set_weight(s, t, wgt)
        return net

    @property
    def edges(self) -> list:
        """Every edge as ``(source, target, weight)``, in the order they were added; ``weight`` is
        the value given to :meth:`connect` (None: drawn at compile time). Read-only: a new list."""
        return [(s, t, w) for (s, t), w in self._weights.items()]

    @property
    def inputs(self) -> list:
        """The input units, in the order of X's columns."""
        return list(self._inputs)

    @property
    def outputs(self) -> list:
        """The output units, in the order of Y's columns."""
        return list(self._outputs)

    @property
    def all_units(self) -> list:
        """Every input and computing unit, in the order they were added."""
        return list(self._units)

    def predecessors(self, unit: Unit) -> list:
        """The units with an edge into ``unit``."""
        return list(self._pred[unit])

    def successors(self, unit: Unit) -> list:
        """The units ``unit`` has an edge to (AIMA's "units k that j feeds")."""
        return list(self._succ[unit])

    def topological_order(self) -> list:
        """Every unit, each after all the units that feed it."""
        return self._topological()

    def _topological(self):
        indeg = {u: len(self._pred[u]) for u in self._units}
        ready = deque(u for u in self._units if indeg[u] == 0)
        order = []
        while ready:
            u = ready.popleft()
            order.append(u)
            for v in self._succ[u]:
                indeg[v] -= 1
                if indeg[v] == 0:
                    ready.append(v)
        return order

    def spec(self) -> dict:
        """The graph's structure as plain data (names, activations, biases, edges, outputs)."""
        return {
            "units": [
                {"name": u.name, "kind": u.kind, "activation": u.activation, "bias": u.bias is not None}
                for u in self._units
            ],
            "edges": [[s.name, t.name] for (s, t) in self._weights],
            "outputs": [u.name for u in self._outputs],
        }

    @classmethod
    def from_spec(cls, spec: dict) -> "Graph":
        """The graph :meth:`spec` describes, built in time linear in its size.

        Edges are added without :meth:`connect`'s per-edge cycle search; one topological
        sort at the end refuses a cycle. Every name is checked.

        Raises
        ------
        ValueError
            For a malformed spec, an unknown or duplicate name, a duplicate edge, an edge into
            an input, or a cycle.
        """
        if not isinstance(spec, dict) or set(spec) != {"units", "edges", "outputs"}:
            raise ValueError("the unit graph record must have exactly the fields units, edges, outputs")
        g = cls()
        by_name = {}
        for u in spec["units"]:
            if not isinstance(u, dict) or set(u) != {"name", "kind", "activation", "bias"}:
                raise ValueError("a unit record must have exactly the fields name, kind, activation, bias")
            if u["kind"] == "input":
                by_name[u["name"]] = g.input(u["name"])
            elif u["kind"] == "unit":
                by_name[u["name"]] = g.unit(u["activation"], bias=0.0 if u["bias"] else None, name=u["name"])
            else:
                raise ValueError(f"unknown unit kind {u['kind']!r}")

        def find(name):
            try:
                return by_name[name]
            except (KeyError, TypeError):
                raise ValueError(f"the unit graph names an unknown unit {name!r}") from None

        for edge in spec["edges"]:
            if not isinstance(edge, (list, tuple)) or len(edge) != 2:
                raise ValueError("an edge must be a pair of unit names")
            source, target = find(edge[0]), find(edge[1])
            if target.kind == "input":
                raise ValueError(f"the edge {source.name} -> {target.name} goes into an input unit")
            if (source, target) in g._weights:
                raise ValueError(f"the edge {source.name} -> {target.name} appears twice")
            g._weights[(source, target)] = None
            g._succ[source].append(target)
            g._pred[target].append(source)
        if len(g._topological()) != len(g._units):
            raise ValueError("the unit graph has a cycle")
        g.output(*[find(o) for o in spec["outputs"]])
        return g

    def __repr__(self) -> str:
        n = self._n_computing
        return f"Graph({len(self._inputs)} inputs, {n} units, {len(self._weights)} edges, {len(self._outputs)} outputs)"
