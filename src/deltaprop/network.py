"""The network: a directed acyclic graph of dense blocks, its parameters in one flat vector.

Block 0 is the input. Every other block j has ``units`` units, an activation f_j,
a bias vector b_j and one or more incoming edges k -> j (k < j), each carrying a
weight matrix W of shape (units_j, units_k). The layered network of seed 000 is the
chain 0 -> 1 -> ... -> L; skip connections are extra edges; seed 001's networks of
units compile to blocks whose edges carry connectivity masks.

All weights and biases are views into ``net.params``: an optimizer, L-BFGS, gradient
checking and checkpoints all work on that one array. Its layout, block by block:
the weights of the edges into block 1 (in ``net.edges`` order), then b of block 1,
then the edges into block 2, b of block 2, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import backprop as _bp
from ._validation import as_dtype, as_matrix, as_rng, as_sample_weight, as_targets, check_nonneg_float
from .activations import Activation, get_activation
from .costs import Cost, get_cost

__all__ = ["Block", "Edge", "Network", "Trace"]

_HE = ("relu", "leaky_relu", "elu")


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


class PerBlock(list):
    """A list of per-block arrays that can also be called with a unit of a compiled
    :class:`deltaprop.Graph`: ``tr.a[j]`` is block j's (m, units) array, ``tr.a(h)``
    unit h's values, one per example."""

    def __init__(self, values, net: "Network", what: str):
        super().__init__(values)
        self._net = net
        self._what = what

    def __call__(self, unit) -> np.ndarray:
        j, i = self._net._unit_location(unit)
        if j == -1:  # the constant unit a_0 = 1 of the bias-as-weight view
            if self._what != "a":
                raise ValueError("the constant unit a_0 = 1 has no net input")
            return np.ones(self[0].shape[0], dtype=self[0].dtype)
        if self[j] is None:
            raise ValueError(f"{unit!r} is an input unit; it has an activation (its x value) but no net input")
        return self[j][:, i]


@dataclass(eq=False)
class Trace:
    """Everything one backprop pass computed, in the seed's names.

    Attributes
    ----------
    cost : float
        J, including weight decay.
    z, a : list of ndarray
        Per block: ``z[j]`` and ``a[j]`` of shape (m, units_j); ``z[0]`` is None, ``a[0]`` is X.
    delta : list of ndarray
        Per block: delta_j = dJ_i/dz_j per example, shape (m, units_j), not averaged
        (seed 000's delta); ``delta[0]`` is None.
    dW : list of ndarray
        dJ/dW, parallel to ``net.W`` (and ``net.edges``).
    db : list of ndarray
        dJ/db, parallel to ``net.b`` (``db[l]`` belongs to block l + 1).
    grad : ndarray of shape (n_params,)
        The flat gradient; ``dW`` and ``db`` are views into it.
    losses : ndarray of shape (m,)
        Each example's loss (before averaging and weight decay).
    """

    net: "Network"
    cost: float
    z: list
    a: list
    delta: list
    dW: list
    db: list
    grad: np.ndarray
    losses: np.ndarray = field(repr=False)

    # --- the unit view of seed 001 (networks compiled from a dp.Graph) ---------------------

    def grad_w(self, source, target) -> float:
        """dJ/dw for the edge source -> target (from ``graph.one``: dJ/db of target)."""
        if self.net._unit_location(source)[0] == -1:
            return self.grad_b(target)
        e, r, c = self.net._edge_entry(source, target)
        return float(self.dW[e][r, c])

    def grad_b(self, unit) -> float:
        """dJ/db for one unit."""
        l, i = self.net._bias_entry(unit)
        return float(self.db[l][i])

    def Delta(self, unit) -> np.ndarray:
        """Seed 001's Delta_k = -dE/d(in_k) per example, shape (m,): note the sign, opposite to delta."""
        j, i = self.net._unit_location(unit)
        if j <= 0:
            raise ValueError(f"{unit!r} is not a computing unit; it has no Delta")
        return -self.delta[j][:, i]

    def in_(self, unit) -> np.ndarray:
        """Net input in_k of one unit per example (seed 000's z), shape (m,)."""
        return self.z(unit)



class Network:
    """A feed-forward network: a DAG of dense blocks trained by backpropagation.

    Most users build one with :meth:`Network.layered` (seed 000) or
    :meth:`deltaprop.Graph.compile` (seed 001). The constructor takes the general form.

    Parameters
    ----------
    blocks : sequence of Block
        ``blocks[0]`` is the input (activation None); the rest in topological order.
    edges : sequence of Edge
        Every edge goes from a lower to a higher block index.
    outputs : sequence of int, optional
        The blocks whose activations, concatenated in this order, are h(x).
        Default: the last block.
    output_columns : sequence of sequences of int, optional
        For each output block, the columns of Y (and of ``predict``) its units stand
        for; together a permutation of 0..n_outputs-1. Default: in order.
    cost : str, default "squared"
        ``"squared"`` or ``"cross_entropy"``.
    weight_decay : float, default 0
        lambda in + lambda/2 sum W^2 (biases are never decayed).
    l1 : float, default 0
        Coefficient of an optional + l1 sum |W| term.
    dtype : {"float64", "float32"}, default "float64"
    seed : int or numpy.random.Generator, optional
        Initialisation: Glorot uniform, or He uniform for relu-like blocks.

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        Every weight and bias.
    W : list of ndarray
        Views into ``params``, one per edge, parallel to ``edges``; ``W[e]`` has
        shape (units of target, units of source). For a layered network ``W[l]`` is
        the seed's W(l), from layer l to layer l + 1 (0-based).
    b : list of ndarray
        Views into ``params``; ``b[l]`` is the bias of block l + 1.
    edges : list of Edge
    blocks : list of Block
    """

    def __init__(
        self,
        blocks: Sequence[Block],
        edges: Sequence[Edge],
        outputs: Sequence[int] | None = None,
        *,
        output_columns: Sequence[Sequence[int]] | None = None,
        cost: str = "squared",
        weight_decay: float = 0.0,
        l1: float = 0.0,
        dtype: str = "float64",
        seed=None,
    ):
        self.dtype = as_dtype(dtype)
        self.cost: Cost = get_cost(cost)
        self.weight_decay = check_nonneg_float(weight_decay, "weight_decay")
        self.l1 = check_nonneg_float(l1, "l1")
        self.blocks, self.edges, outputs = _check_structure(blocks, edges, outputs)
        self._acts: list[Activation | None] = [None] + [get_activation(b.activation) for b in self.blocks[1:]]
        for j, act in enumerate(self._acts[1:], start=1):
            if act.output_only and j not in outputs:
                raise ValueError(f"block {j}: activation {act.name!r} may only be used on output blocks")
        for j in outputs:
            self.cost.check_activation(self._acts[j])
        self._outputs = _output_columns(self.blocks, outputs, output_columns)
        self._output_blocks = frozenset(j for j, _ in self._outputs)
        self._workspaces: dict = {}  # batch size -> backprop.Workspace
        self._decay_cache = (None, None)
        self.n_outputs = sum(self.blocks[j].units for j in outputs)
        self.n_inputs = self.blocks[0].units
        n = len(self.blocks)
        self._pred: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self._succ: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for e, edge in enumerate(self.edges):
            self._pred[edge.target].append((e, edge.source))
            self._succ[edge.source].append((e, edge.target))

        # the flat layout: for each block, its incoming W's then its b
        self._w_spans: list[tuple[int, tuple[int, int]]] = [None] * len(self.edges)
        self._b_spans: list[tuple[int, int]] = []
        off = 0
        for j in range(1, n):
            for e, k in self._pred[j]:
                shape = (self.blocks[j].units, self.blocks[k].units)
                self._w_spans[e] = (off, shape)
                off += shape[0] * shape[1]
            self._b_spans.append((off, self.blocks[j].units))
            off += self.blocks[j].units
        self.n_params = off
        self._params = np.zeros(off, dtype=self.dtype)
        self.W, self.b = self._views(self._params)
        self._free = self._free_mask()
        self._units = None  # set by Graph.compile: unit -> (block, index)
        self._unit_edges = None
        self.graph_spec = None  # set by Graph.compile: the unit graph as plain data
        self.training_state = None  # set by deltaprop.train: optimizer state, RNG, epoch, history
        self.initialize(seed)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_workspaces"] = {}  # buffers are rebuilt on demand, never pickled
        state["_decay_cache"] = (None, None)
        return state

    # --- construction ---------------------------------------------------------------

    @classmethod
    def layered(
        cls,
        sizes: Sequence[int],
        *,
        hidden: str | Sequence[str] = "sigmoid",
        output: str = "sigmoid",
        cost: str = "squared",
        weight_decay: float = 0.0,
        l1: float = 0.0,
        dtype: str = "float64",
        seed=None,
    ) -> "Network":
        """Seed 000's layered network: layer l feeds layer l + 1 only.

        Parameters
        ----------
        sizes : sequence of int
            Units per layer, input first: ``[64, 32, 10]`` is 64 inputs, one hidden
            layer of 32, 10 outputs.
        hidden : str or sequence of str, default "sigmoid"
            Activation of every hidden layer, or one name per hidden layer.
        output : str, default "sigmoid"
        cost, weight_decay, l1, dtype, seed
            As for :class:`Network`.

        Returns
        -------
        Network

        Examples
        --------
        >>> import deltaprop as dp
        >>> net = dp.Network.layered([2, 3, 1], seed=0)
        >>> [W.shape for W in net.W], [b.shape for b in net.b]
        ([(3, 2), (1, 3)], [(3,), (1,)])
        """
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) and hasattr(sizes, "__iter__") else None
        if not sizes or len(sizes) < 2:
            raise ValueError("sizes must list at least two layer sizes (inputs, ..., outputs), e.g. [2, 3, 1]")
        n_hidden = len(sizes) - 2
        if isinstance(hidden, str):
            hidden_acts = [hidden] * n_hidden
        else:
            hidden_acts = list(hidden)
            if len(hidden_acts) != n_hidden:
                raise ValueError(
                    f"hidden lists {len(hidden_acts)} activations but the network has {n_hidden} hidden layers"
                )
        blocks = [Block(sizes[0])] + [Block(s, act) for s, act in zip(sizes[1:-1], hidden_acts)]
        blocks.append(Block(sizes[-1], output))
        edges = [Edge(l, l + 1) for l in range(len(sizes) - 1)]
        return cls(blocks, edges, cost=cost, weight_decay=weight_decay, l1=l1, dtype=dtype, seed=seed)

    def initialize(self, seed=None) -> "Network":
        """Draw fresh weights (Glorot uniform; He uniform for relu-like blocks); zero biases."""
        rng = as_rng(seed)
        self._params[:] = 0
        for e, edge in enumerate(self.edges):
            bound = self._init_bound(edge.target)
            W = rng.uniform(-bound, bound, size=self.W[e].shape)
            if edge.mask is not None:
                W *= edge.mask
            self.W[e][...] = W
        return self

    def _init_bound(self, j: int) -> float:
        """Half-width of the uniform init of block j: Glorot sqrt(6/(fan_in+fan_out)), He sqrt(6/fan_in)."""
        if self.blocks[j].activation in _HE:
            return float(np.sqrt(6.0 / self._fan_in(j)))
        return float(np.sqrt(6.0 / (self._fan_in(j) + self._fan_out(j))))

    def _fan_in(self, j: int) -> float:
        links = sum(
            self.edges[e].mask.sum() if self.edges[e].mask is not None else self.W[e].size
            for e, _ in self._pred[j]
        )
        return max(1.0, links / self.blocks[j].units)

    def _fan_out(self, j: int) -> float:
        if not self._succ[j]:
            return float(self.blocks[j].units)
        links = sum(
            self.edges[e].mask.sum() if self.edges[e].mask is not None else self.W[e].size
            for e, _ in self._succ[j]
        )
        return max(1.0, links / self.blocks[j].units)

    # --- parameters ---------------------------------------------------------------------

    @property
    def params(self) -> np.ndarray:
        """The flat parameter vector, shape (n_params,). Assigning copies into it."""
        return self._params

    @params.setter
    def params(self, value) -> None:
        self.set_params(value)

    def set_params(self, value) -> None:
        """Copy a flat vector into ``params``; masked-out weights and biases stay zero."""
        arr = np.asarray(value)
        if arr.shape != (self.n_params,):
            raise ValueError(f"params must have shape ({self.n_params},), got {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"params must be real numbers, got dtype {arr.dtype}")
        self._params[...] = arr
        self.project()

    def project(self) -> None:
        """Zero every parameter that does not exist (masked edges, absent biases)."""
        if self._free is not None:
            self._params *= self._free

    @property
    def free(self) -> np.ndarray:
        """Boolean vector, shape (n_params,): True where a parameter exists (not masked out)."""
        return np.ones(self.n_params, dtype=bool) if self._free is None else self._free.astype(bool)

    @property
    def weight_mask(self) -> np.ndarray:
        """Boolean vector, shape (n_params,): True at weights, False at biases."""
        mask = np.ones(self.n_params, dtype=bool)
        for o, u in self._b_spans:
            mask[o : o + u] = False
        return mask

    def _free_mask(self):
        if all(e.mask is None for e in self.edges) and all(b.bias is None for b in self.blocks):
            return None
        free = np.ones(self.n_params, dtype=self.dtype)
        Wf, bf = self._views(free)
        for e, edge in enumerate(self.edges):
            if edge.mask is not None:
                Wf[e][...] = edge.mask
        for j, block in enumerate(self.blocks[1:], start=1):
            if block.bias is not None:
                bf[j - 1][...] = block.bias
        return free

    def _views(self, flat: np.ndarray) -> tuple[list, list]:
        """W- and b-shaped views into any flat vector of the parameter layout."""
        Ws = [flat[o : o + s[0] * s[1]].reshape(s) for o, s in self._w_spans]
        bs = [flat[o : o + u] for o, u in self._b_spans]
        return Ws, bs

    def edge_index(self, source: int, target: int) -> int:
        """Index into ``W``/``dW`` of the edge from block ``source`` to block ``target``."""
        for e, edge in enumerate(self.edges):
            if edge.source == source and edge.target == target:
                return e
        raise ValueError(f"the network has no edge from block {source} to block {target}")

    def copy(self, dtype: str | None = None) -> "Network":
        """An independent copy (optionally converted to another dtype)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.dtype = as_dtype(dtype) if dtype is not None else self.dtype
        new._params = self._params.astype(new.dtype, copy=True)
        new.W, new.b = new._views(new._params)
        new._free = None if self._free is None else self._free.astype(new.dtype)
        new.training_state = None
        new._workspaces = {}
        new._decay_cache = (None, None)
        return new

    # --- the public computations ---------------------------------------------------------

    def _check_xy(self, X, Y, sample_weight=None):
        X = as_matrix(X, name="X", n_cols=self.n_inputs, dtype=self.dtype)
        Y = as_targets(Y, name="Y", n_rows=X.shape[0], n_cols=self.n_outputs, dtype=self.dtype)
        for j, cols in self._outputs:
            self.cost.check_targets(Y[:, cols], self._acts[j])
        w = as_sample_weight(sample_weight, n_rows=X.shape[0], dtype=self.dtype)
        return X, Y, w

    def _weights(self, w: np.ndarray | None) -> np.ndarray | None:
        return None if w is None else w / w.sum()

    def _workspace(self, m: int):
        """The buffers for batches of m rows, made once (a few batch sizes are kept)."""
        ws = self._workspaces.get(m)
        if ws is None:
            bigger = [w for w in self._workspaces.values() if w.m > m and w.m <= 8 * m]
            if bigger:  # a batch smaller than one seen before (the last of an epoch) uses its first rows
                ws = min(bigger, key=lambda w: w.m).view(m)
            else:
                if len(self._workspaces) >= 4:
                    self._workspaces.clear()
                ws = _bp.Workspace(self, m)
            self._workspaces[m] = ws
        return ws

    def _decay_vector(self) -> np.ndarray:
        """lambda at every weight and 0 at every bias, as a vector of the parameter layout."""
        lam, vec = self._decay_cache
        if lam != self.weight_decay or vec is None or vec.dtype != self.dtype:
            vec = (self.weight_mask * self.weight_decay).astype(self.dtype)
            self._decay_cache = (self.weight_decay, vec)
        return vec

    def _cost(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> float:
        return _bp.evaluate(self, X, Y, self._weights(w))

    def _cost_and_gradient(self, X, Y, w, grad: np.ndarray | None = None, grad_scale: float = 1.0):
        """Unchecked J and gradient times ``grad_scale`` (the hot path used by the training loop)."""
        if grad is None:
            grad = np.empty(self.n_params, dtype=self.dtype)
        J = _bp.evaluate(self, X, Y, self._weights(w), grad, grad_scale)
        return J, grad

    def predict(self, X) -> np.ndarray:
        """h(X): the output activations.

        Parameters
        ----------
        X : array-like of shape (m, n_inputs)

        Returns
        -------
        ndarray of shape (m, n_outputs)
        """
        X = as_matrix(X, name="X", n_cols=self.n_inputs, dtype=self.dtype)
        m = X.shape[0]
        rows = _bp.Workspace.rows_per_chunk(self)
        out = np.empty((m, self.n_outputs), dtype=self.dtype)
        for start in range(0, m, rows):
            end = min(start + rows, m)
            _, a = _bp.forward(self, X[start:end], self._workspace(end - start))
            out[start:end] = self._concat_outputs(a)
        return out

    def _concat_outputs(self, a):
        if len(self._outputs) == 1 and isinstance(self._outputs[0][1], slice):
            return a[self._outputs[0][0]]
        out = np.empty((a[0].shape[0], self.n_outputs), dtype=self.dtype)
        for j, cols in self._outputs:
            out[:, cols] = a[j]
        return out

    def cost_value(self, X, Y, *, sample_weight=None) -> float:
        """J(W, b) on (X, Y): the (weighted) mean loss plus the regularization terms."""
        X, Y, w = self._check_xy(X, Y, sample_weight)
        return self._cost(X, Y, w)

    def cost_and_gradient(self, X, Y, *, sample_weight=None) -> tuple[float, np.ndarray]:
        """J and its gradient with respect to ``params``.

        Parameters
        ----------
        X : array-like of shape (m, n_inputs)
        Y : array-like of shape (m, n_outputs)
            A 1-D vector is accepted for a single output.
        sample_weight : array-like of shape (m,), optional
            Non-negative weights; J becomes the weighted mean of the losses.

        Returns
        -------
        J : float
            (1/m) sum_i loss_i + lambda/2 sum W^2 (+ l1 sum |W|).
        grad : ndarray of shape (n_params,)
            (1/m) sum_i dloss_i/dparams + lambda W, in the layout of ``params``.
        """
        X, Y, w = self._check_xy(X, Y, sample_weight)
        return self._cost_and_gradient(X, Y, w)

    def backprop(self, X, Y, *, sample_weight=None) -> Trace:
        """One forward and backward pass, keeping every z, a and delta.

        Parameters
        ----------
        X : array-like of shape (m, n_inputs)
        Y : array-like of shape (m, n_outputs)
        sample_weight : array-like of shape (m,), optional

        Returns
        -------
        Trace
            ``cost``, ``z``, ``a``, ``delta`` per block; ``dW``, ``db`` parallel to ``W``, ``b``.

        Examples
        --------
        >>> import numpy as np, deltaprop as dp
        >>> net = dp.Network.layered([2, 2, 1], seed=0)
        >>> tr = net.backprop(np.array([[0.0, 1.0]]), np.array([[1.0]]))
        >>> tr.delta[2].shape, tr.dW[0].shape
        ((1, 1), (2, 2))
        """
        X, Y, w = self._check_xy(X, Y, sample_weight)
        grad = np.empty(self.n_params, dtype=self.dtype)
        ws = _bp.Workspace(self, X.shape[0])  # a fresh one: the trace keeps these arrays
        z, a = _bp.forward(self, X, ws)
        L = _bp.loss_and_output_delta(self, ws, Y)
        s = self._weights(w)
        J = (float(L.mean()) if s is None else float(s @ L)) + _bp.regularization(self)
        delta = _bp.backward(self, ws, 1.0 / X.shape[0] if s is None else s, grad)
        _bp._add_regularization_gradient(self, grad)
        dW, db = self._views(grad)
        return Trace(self, J, PerBlock(z, self, "z"), PerBlock(a, self, "a"), delta, dW, db, grad, L)

    # --- unit graphs ------------------------------------------------------------------------

    def _unit_location(self, unit) -> tuple[int, int]:
        if self._units is None:
            raise ValueError("this network was not compiled from a dp.Graph; it has no named units")
        try:
            return self._units[unit]
        except (KeyError, TypeError):
            raise ValueError(f"{unit!r} is not a unit of this network") from None

    def _edge_entry(self, source, target) -> tuple[int, int, int]:
        """(edge index e, row, column) such that W[e][row, column] is w_{source,target}."""
        ks, i_s = self._unit_location(source)
        kt, i_t = self._unit_location(target)
        if ks == -1:
            raise ValueError("the weight from the constant unit a0 is the bias: use bias(unit) / grad_b(unit)")
        if (source, target) not in self._unit_edges:
            raise ValueError(f"the network has no edge {source!r} -> {target!r}")
        return self.edge_index(ks, kt), i_t, i_s

    def _bias_entry(self, unit) -> tuple[int, int]:
        j, i = self._unit_location(unit)
        if j <= 0:
            raise ValueError(f"{unit!r} is not a computing unit; it has no bias")
        bias = self.blocks[j].bias
        if bias is not None and not bias[i]:
            raise ValueError(f"unit {unit!r} was built with bias=None; it has no bias")
        return j - 1, i

    def weight(self, source, target) -> float:
        """Current weight w_{source,target} of one edge of a compiled graph
        (``weight(graph.one, u)`` is u's bias, AIMA's w_0u)."""
        if self._unit_location(source)[0] == -1:
            return self.bias(target)
        e, r, c = self._edge_entry(source, target)
        return float(self.W[e][r, c])

    def set_weight(self, source, target, value: float) -> None:
        """Set w_{source,target} (or, from ``graph.one``, the bias of ``target``)."""
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"weight must be finite, got {value}")
        if self._unit_location(source)[0] == -1:
            l, i = self._bias_entry(target)
            self.b[l][i] = value
            return
        e, r, c = self._edge_entry(source, target)
        self.W[e][r, c] = value

    def bias(self, unit) -> float:
        """Current bias of one unit of a compiled graph."""
        l, i = self._bias_entry(unit)
        return float(self.b[l][i])

    def unit(self, name: str):
        """The unit of a compiled graph with this name (useful after :func:`deltaprop.load`)."""
        for u in self.units:
            if u.name == name:
                return u
        known = ", ".join(u.name for u in self.units) or "none: not compiled from a dp.Graph"
        raise ValueError(f"no unit named {name!r}; the units are {known}")

    @property
    def units(self) -> list:
        """The units of a compiled graph (inputs first), or [] for a network built from blocks."""
        if self._units is None:
            return []
        return sorted((u for u, (j, _) in self._units.items() if j >= 0), key=lambda u: self._units[u])

    # --- display ----------------------------------------------------------------------------------

    @property
    def activations(self) -> list[str]:
        """Activation name of each block after the input."""
        return [b.activation for b in self.blocks[1:]]

    def __repr__(self) -> str:
        chain = all(e.source + 1 == e.target and e.mask is None for e in self.edges) and len(self.edges) == len(
            self.blocks
        ) - 1
        if chain:
            sizes = "-".join(str(b.units) for b in self.blocks)
            acts = ",".join(self.activations)
            shape = f"layered {sizes} [{acts}]"
        else:
            shape = f"{len(self.blocks)} blocks, {len(self.edges)} edges"
        return (
            f"Network({shape}, cost={self.cost.name}, weight_decay={self.weight_decay:g}, "
            f"dtype={self.dtype.name}, n_params={self.n_params})"
        )


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
            blocks[j] = Block(int(blk.units), blk.activation, bias.astype(bool))
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
            edges[e] = Edge(k, j, mask.astype(bool))
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
