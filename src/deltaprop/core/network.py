"""The network: a :class:`Layout` of dense blocks, its parameters in one flat vector.

All weights and biases are views into ``net.params``: an optimizer, L-BFGS, gradient
checking and checkpoints all work on that one array (the layout is described in
:mod:`deltaprop.core.layout`). A :class:`Network` holds the layout, the parameters,
the cost and the regularization, the unit map of AIMA's view, and a few buffers; the
arithmetic is in :mod:`deltaprop.core.backprop`.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import backprop as bp
from .checks import as_dtype, as_matrix, as_rng, as_sample_weight, as_targets, check_nonneg_float
from .costs import Cost, get_cost
from .layout import Block, Edge, Layout
from .units import UnitMap

__all__ = ["Block", "Edge", "Network", "Trace", "PerBlock"]


class PerBlock(list):
    """A list of per-block arrays that can also be called with a unit:
    ``tr.a[j]`` is block j's (m, units) array, ``tr.a(h)`` unit h's values, one per example."""

    def __init__(self, values, unit_map: UnitMap, what: str):
        super().__init__(values)
        self.unit_map = unit_map
        self.what = what

    def __call__(self, unit) -> np.ndarray:
        j, i = self.unit_map.location(unit)
        if j == -1:  # the constant unit a_0 = 1 of the bias-as-weight view
            if self.what != "a":
                raise ValueError("the constant unit a_0 = 1 has no net input")
            return np.ones(self[0].shape[0], dtype=self[0].dtype)
        if self[j] is None:
            raise ValueError(f"{unit!r} is an input unit; it has an activation (its x value) but no net input")
        return self[j][:, i]


@dataclass(eq=False)
class Trace:
    """Everything one backprop pass computed, in the textbook's names.

    Attributes
    ----------
    cost : float
        J, including weight decay.
    z, a : list of ndarray
        Per block: ``z[j]`` and ``a[j]`` of shape (m, units_j); ``z[0]`` is None, ``a[0]`` is X.
    delta : list of ndarray
        Per block: delta_j = dJ_i/dz_j per example, shape (m, units_j), not averaged
        (UFLDL's delta); ``delta[0]`` is None.
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

    # --- AIMA's unit view ---------------------------------------------------------------------

    def grad_w(self, source, target) -> float:
        """dJ/dw for the edge source -> target (from the constant unit ``one``: dJ/db of target)."""
        units = self.net.unit_map
        if units.location(source)[0] == -1:
            return self.grad_b(target)
        e, r, c = units.edge_entry(source, target)
        return float(self.dW[e][r, c])

    def grad_b(self, unit) -> float:
        """dJ/db for one unit."""
        l, i = self.net.unit_map.bias_entry(unit)
        return float(self.db[l][i])

    def Delta(self, unit) -> np.ndarray:
        """AIMA's Delta_k = -dE/d(in_k) per example, shape (m,): note the sign, opposite to delta."""
        j, i = self.net.unit_map.location(unit)
        if j <= 0:
            raise ValueError(f"{unit!r} is not a computing unit; it has no Delta")
        return -self.delta[j][:, i]

    def in_(self, unit) -> np.ndarray:
        """Net input in_k of one unit per example (UFLDL's z), shape (m,)."""
        return self.z(unit)


class Network:
    """A feed-forward network: a DAG of dense blocks trained by backpropagation.

    Most users build one with :meth:`Network.layered` (UFLDL's layered network) or
    :meth:`deltaprop.Graph.compile` (AIMA's network of units). The constructor takes
    the general form.

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
    cost : str or Cost, default "squared"
        ``"squared"``, ``"cross_entropy"`` or a registered cost.
    weight_decay : float, default 0
        lambda in + lambda/2 sum W^2 (biases are never decayed).
    l1 : float, default 0
        Coefficient of an optional + l1 sum |W| term.
    dtype : {"float64", "float32"}, default "float64"
    seed : int or numpy.random.Generator, optional
        Initialisation: each block's activation says its family (Glorot or He uniform).

    Attributes
    ----------
    layout : Layout
        The immutable structure: blocks, edges, outputs, parameter spans.
    params : ndarray of shape (n_params,)
        Every weight and bias.
    W : list of ndarray
        Views into ``params``, one per edge, parallel to ``edges``; ``W[e]`` has
        shape (units of target, units of source). For a layered network ``W[l]`` is
        UFLDL's W(l), from layer l to layer l + 1 (0-based).
    b : list of ndarray
        Views into ``params``; ``b[l]`` is the bias of block l + 1.
    unit_map : UnitMap
        AIMA's units: a compiled graph's, or default names (x1.., h1.., o1..).
    """

    def __init__(
        self,
        blocks: Sequence[Block],
        edges: Sequence[Edge],
        outputs: Sequence[int] | None = None,
        *,
        output_columns: Sequence[Sequence[int]] | None = None,
        cost: str | Cost = "squared",
        weight_decay: float = 0.0,
        l1: float = 0.0,
        dtype: str = "float64",
        seed=None,
    ):
        self._setup(Layout(blocks, edges, outputs, output_columns), None, None, cost, weight_decay, l1, dtype)
        self.initialize(seed)

    @classmethod
    def from_layout(cls, layout: Layout, *, units: UnitMap | None = None, graph_spec: dict | None = None,
                    cost: str | Cost = "squared", weight_decay: float = 0.0, l1: float = 0.0,
                    dtype: str = "float64", seed=None) -> "Network":
        """A network on an existing :class:`Layout`, optionally with its units (AIMA's view)
        and the unit graph they came from (how :meth:`deltaprop.Graph.compile` builds one)."""
        if not isinstance(layout, Layout):
            raise ValueError(f"layout must be a deltaprop Layout, got {type(layout).__name__}")
        if units is not None and units.layout is not layout:
            raise ValueError("units must be a UnitMap built on this layout")
        net = object.__new__(cls)
        net._setup(layout, units, graph_spec, cost, weight_decay, l1, dtype)
        net.initialize(seed)
        return net

    def _setup(self, layout, units, graph_spec, cost, weight_decay, l1, dtype):
        self.dtype = as_dtype(dtype)
        self.cost: Cost = get_cost(cost)
        self.weight_decay = check_nonneg_float(weight_decay, "weight_decay")
        self.l1 = check_nonneg_float(l1, "l1")
        self.layout = layout
        for j, _ in layout.outputs:
            self.cost.check_activation(layout.activations[j])
        self.unit_map = units if units is not None else UnitMap.default(layout)
        self.graph_spec = graph_spec  # the unit graph as plain data (networks compiled from a dp.Graph)
        self.training_state = None  # set by deltaprop.train: optimizer state, RNG, epoch, history
        self._params = np.zeros(layout.n_params, dtype=self.dtype)
        self._reset_buffers()

    def _reset_buffers(self):
        """Views and buffers derived from ``_params`` (never pickled, rebuilt on demand)."""
        self.W, self.b = self.layout.views(self._params)
        free = self.layout.free
        self._free = None if free is None else free.astype(self.dtype)
        # caches {batch size -> backprop.Workspace}, lent one per call: the buffers are scratch space, and
        # two threads computing with one network (a threaded Dask worker, a web server) must not share one.
        # The pool holds as many caches as calls have run at once, not one per thread that ever called.
        self._pool, self._pool_lock = [], threading.Lock()
        self._decay = (None, None)
        self._grad_views = (None, None, None)
        self._rows = bp.Workspace.rows_per_chunk(self.layout, self.dtype)  # rows per chunk of a large batch

    def __getstate__(self):
        state = dict(self.__dict__)
        for k in ("W", "b", "_free", "_pool", "_pool_lock", "_decay", "_grad_views", "_rows"):
            state.pop(k, None)  # views and buffers: rebuilt from _params, so W and b stay views into params
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._reset_buffers()

    # --- the structure, read through the layout ---------------------------------------------

    @property
    def blocks(self) -> tuple:
        """The blocks (``layout.blocks``)."""
        return self.layout.blocks

    @property
    def edges(self) -> tuple:
        """The edges, in the order of ``W`` (``layout.edges``)."""
        return self.layout.edges

    @property
    def n_params(self) -> int:
        return self.layout.n_params

    @property
    def n_inputs(self) -> int:
        return self.layout.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.layout.n_outputs

    # --- construction ---------------------------------------------------------------

    @classmethod
    def layered(
        cls,
        sizes: Sequence[int],
        *,
        hidden: str | Sequence[str] = "sigmoid",
        output: str = "sigmoid",
        cost: str | Cost = "squared",
        weight_decay: float = 0.0,
        l1: float = 0.0,
        dtype: str = "float64",
        seed=None,
    ) -> "Network":
        """UFLDL's layered network: layer l feeds layer l + 1 only.

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
        """Draw fresh weights (each block's activation family: Glorot or He uniform); zero biases."""
        rng = as_rng(seed)
        self._params[:] = 0
        for e, edge in enumerate(self.edges):
            bound = self.layout.init_bound(edge.target)
            W = rng.uniform(-bound, bound, size=self.W[e].shape)
            if edge.mask is not None:
                W *= edge.mask
            self.W[e][...] = W
        return self

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
        free = self.layout.free
        return np.ones(self.n_params, dtype=bool) if free is None else free.astype(bool)

    @property
    def weight_mask(self) -> np.ndarray:
        """Boolean vector, shape (n_params,): True at weights, False at biases."""
        return self.layout.weight_mask.copy()

    def views(self, flat: np.ndarray) -> tuple[list, list]:
        """W- and b-shaped views into any flat vector of the parameter layout (a gradient, say)."""
        return self.layout.views(flat)

    def edge_index(self, source: int, target: int) -> int:
        """Index into ``W``/``dW`` of the edge from block ``source`` to block ``target``."""
        return self.layout.edge_index(source, target)

    def copy(self, dtype: str | None = None) -> "Network":
        """An independent copy (optionally converted to another dtype), without training state."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__getstate__())
        new.dtype = as_dtype(dtype) if dtype is not None else self.dtype
        new._params = self._params.astype(new.dtype, copy=True)
        new.training_state = None
        new._reset_buffers()
        return new

    # --- the public computations ---------------------------------------------------------

    def check_data(self, X, Y, sample_weight=None, *, sparse: bool = True) -> tuple:
        """``(X, Y, sample_weight)`` checked and converted for this network: C-contiguous
        arrays of its dtype, of shapes (m, n_inputs), (m, n_outputs) and (m,) or None.

        A SciPy sparse X (any format) comes back as a CSR matrix of the network's dtype,
        never densified, unless ``sparse=False``; Y and the weights must be dense.

        Raises
        ------
        ValueError
            Naming the argument, with what was expected and what came.
        """
        X = as_matrix(X, name="X", n_cols=self.n_inputs, dtype=self.dtype, sparse=sparse)
        Y = as_targets(Y, name="Y", n_rows=X.shape[0], n_cols=self.n_outputs, dtype=self.dtype)
        for j, cols in self.layout.outputs:
            self.cost.check_targets(Y[:, cols], self.layout.activations[j])
        w = as_sample_weight(sample_weight, n_rows=X.shape[0], dtype=self.dtype)
        return X, Y, w

    @contextmanager
    def _lent_workspaces(self):
        """A cache of workspaces for this call alone, given back to the pool when the call ends."""
        with self._pool_lock:
            cache = self._pool.pop() if self._pool else {}
        try:
            yield cache
        finally:
            with self._pool_lock:
                self._pool.append(cache)

    def _workspace(self, cache: dict, m: int) -> bp.Workspace:
        """The buffers for batches of m rows from a lent cache, made once (a few batch sizes are kept)."""
        ws = cache.get(m)
        if ws is None:
            bigger = [w for w in cache.values() if w.m > m and w.m <= 8 * m]
            if bigger:  # a batch smaller than one seen before (the last of an epoch) uses its first rows
                ws = min(bigger, key=lambda w: w.m).view(m)
            else:
                if len(cache) >= 4:
                    cache.clear()
                ws = bp.Workspace(self.layout, m, self.dtype)
            cache[m] = ws
        return ws

    def _decay_vector(self) -> np.ndarray | None:
        """lambda at every weight and 0 at every bias, as a vector of the parameter layout."""
        if not self.weight_decay:
            return None
        lam, vec = self._decay
        if lam != self.weight_decay or vec is None or vec.dtype != self.dtype:
            vec = (self.layout.weight_mask * self.weight_decay).astype(self.dtype)
            self._decay = (self.weight_decay, vec)
        return vec

    def _views_of(self, grad: np.ndarray) -> tuple[list, list]:
        views = self._grad_views  # read once: another thread may replace it for its own grad
        if views[0] is not grad:
            views = self._grad_views = (grad, *self.layout.views(grad))
        return views[1], views[2]

    def regularization(self) -> float:
        """lambda/2 sum W^2 + l1 sum |W| at the current parameters."""
        return bp.regularization(self.W, self.weight_decay, self.l1)

    def loss(self, X: np.ndarray, Y: np.ndarray, *, sample_weight: np.ndarray | None = None) -> float:
        """J on arrays already passed through :meth:`check_data` (no checks: the fast path)."""
        return self.loss_and_grad(X, Y, sample_weight=sample_weight, out=False)

    def loss_and_grad(self, X: np.ndarray, Y: np.ndarray, *, sample_weight: np.ndarray | None = None,
                      out: np.ndarray | None | bool = None, scale: float = 1.0):
        """J and ``scale`` times its gradient, on arrays already passed through :meth:`check_data`.

        The fast path the training loop, gradient checking and explanations use: nothing
        is checked and, with ``out`` given, nothing of the network's size is allocated.
        Large m is taken in chunks of rows whose sums are accumulated.

        Parameters
        ----------
        X : ndarray or SciPy CSR matrix of shape (m, n_inputs)
            A sparse X is multiplied as it is (rows are taken in chunks, never densified).
        Y : ndarray of shape (m, n_outputs)
        sample_weight : ndarray of shape (m,), optional
            Non-negative weights; J becomes their weighted mean of the losses.
        out : ndarray of shape (n_params,), optional
            Where to write the gradient. ``False``: compute J only.
        scale : float, default 1
            Multiplies the gradient written, not J: plain SGD asks for eta dJ/dparams,
            folded into the 1/m that scales every delta anyway, so its update is one pass.

        Returns
        -------
        J : float
        grad : ndarray of shape (n_params,)
            ``out`` (or a new array); only when ``out`` is not False.
        """
        want_grad = out is not False
        grad = None
        if want_grad:
            grad = np.empty(self.n_params, dtype=self.dtype) if out is None else out
        weights = None if sample_weight is None else sample_weight / sample_weight.sum()
        layout, W, b = self.layout, self.W, self.b
        m = X.shape[0]
        rows = self._rows
        total = 0.0
        partial = None
        with self._lent_workspaces() as cache:
            for start in range(0, m, rows):
                end = min(start + rows, m)
                ws = self._workspace(cache, end - start)
                bp.forward(layout, W, b, X[start:end], ws)
                L = bp.loss_and_output_delta(layout, self.cost, ws, Y[start:end])
                s = 1.0 / m if weights is None else weights[start:end]
                total += float(L.sum()) / m if weights is None else float(s @ L)
                if want_grad:
                    if scale != 1.0:
                        s = s * scale
                    if start == 0:
                        bp.backward(layout, W, ws, s, *self._views_of(grad))
                    else:
                        if partial is None:
                            partial = np.empty_like(grad)
                        bp.backward(layout, W, ws, s, *layout.views(partial))
                        grad += partial
        J = total + self.regularization()
        if not want_grad:
            return J
        bp.add_regularization_gradient(grad, self._params, self._decay_vector(), self.l1, layout.weight_mask, scale)
        return J, grad

    def forward(self, X: np.ndarray) -> tuple[list, list]:
        """z and a of every block for checked X (a fresh workspace: the arrays are the caller's)."""
        ws = bp.Workspace(self.layout, X.shape[0], self.dtype)
        z, a = bp.forward(self.layout, self.W, self.b, X, ws)
        return list(z), list(a)

    def predict(self, X) -> np.ndarray:
        """h(X): the output activations.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (m, n_inputs)
            Sparse input is multiplied as it is, never densified.

        Returns
        -------
        ndarray of shape (m, n_outputs)
        """
        X = as_matrix(X, name="X", n_cols=self.n_inputs, dtype=self.dtype, sparse=True)
        m = X.shape[0]
        rows = self._rows
        out = np.empty((m, self.n_outputs), dtype=self.dtype)
        with self._lent_workspaces() as cache:
            for start in range(0, m, rows):
                end = min(start + rows, m)
                ws = self._workspace(cache, end - start)
                _, a = bp.forward(self.layout, self.W, self.b, X[start:end], ws)
                out[start:end] = self._concat_outputs(a)  # copied before the cache goes back
        return out

    def _concat_outputs(self, a):
        outputs = self.layout.outputs
        if len(outputs) == 1 and isinstance(outputs[0][1], slice):
            return a[outputs[0][0]]
        out = np.empty((a[0].shape[0], self.n_outputs), dtype=self.dtype)
        for j, cols in outputs:
            out[:, cols] = a[j]
        return out

    def cost_value(self, X, Y, *, sample_weight=None) -> float:
        """J(W, b) on (X, Y): the (weighted) mean loss plus the regularization terms."""
        X, Y, w = self.check_data(X, Y, sample_weight)
        return self.loss(X, Y, sample_weight=w)

    def cost_and_gradient(self, X, Y, *, sample_weight=None) -> tuple[float, np.ndarray]:
        """J and its gradient with respect to ``params``.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (m, n_inputs)
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
        X, Y, w = self.check_data(X, Y, sample_weight)
        return self.loss_and_grad(X, Y, sample_weight=w)

    def backprop(self, X, Y, *, sample_weight=None) -> Trace:
        """One forward and backward pass, keeping every z, a and delta.

        Parameters
        ----------
        X : array-like of shape (m, n_inputs)
            Dense: the trace keeps ``a[0] = X`` for inspection unit by unit.
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
        X, Y, w = self.check_data(X, Y, sample_weight, sparse=False)
        layout = self.layout
        grad = np.empty(self.n_params, dtype=self.dtype)
        ws = bp.Workspace(layout, X.shape[0], self.dtype)  # a fresh one: the trace keeps these arrays
        z, a = bp.forward(layout, self.W, self.b, X, ws)
        L = bp.loss_and_output_delta(layout, self.cost, ws, Y)
        s = None if w is None else w / w.sum()
        J = (float(L.mean()) if s is None else float(s @ L)) + self.regularization()
        dW, db = layout.views(grad)
        delta = bp.backward(layout, self.W, ws, 1.0 / X.shape[0] if s is None else s, dW, db)
        bp.add_regularization_gradient(grad, self._params, self._decay_vector(), self.l1, layout.weight_mask)
        units = self.unit_map
        return Trace(self, J, PerBlock(z, units, "z"), PerBlock(a, units, "a"), delta, dW, db, grad, L)

    # --- AIMA's units ---------------------------------------------------------------------------

    def weight(self, source, target) -> float:
        """Current weight w_{source,target} of one unit-level edge
        (``weight(one, u)`` is u's bias, AIMA's w_0u)."""
        if self.unit_map.location(source)[0] == -1:
            return self.bias(target)
        e, r, c = self.unit_map.edge_entry(source, target)
        return float(self.W[e][r, c])

    def set_weight(self, source, target, value: float) -> None:
        """Set w_{source,target} (or, from the constant unit ``one``, the bias of ``target``)."""
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"weight must be finite, got {value}")
        if self.unit_map.location(source)[0] == -1:
            l, i = self.unit_map.bias_entry(target)
            self.b[l][i] = value
            return
        e, r, c = self.unit_map.edge_entry(source, target)
        self.W[e][r, c] = value

    def bias(self, unit) -> float:
        """Current bias of one unit."""
        l, i = self.unit_map.bias_entry(unit)
        return float(self.b[l][i])

    def unit(self, name: str):
        """The unit with this name (a compiled graph's, or a default name such as ``"h1"``)."""
        return self.unit_map.by_name(name)

    @property
    def units(self) -> list:
        """Every input and computing unit, inputs first."""
        return self.unit_map.units

    @property
    def one(self):
        """The constant unit a_0 = 1: ``net.weight(net.one, u)`` is u's bias."""
        return self.unit_map.one

    @property
    def unit_edges(self) -> list:
        """Every unit-level edge as ``(source, target, weight)``, AIMA's w_{source,target} now.

        In the order of ``net.edges``, then target unit, then source unit. Read-only: a new
        list each time (change a weight with :meth:`set_weight`). Biases are not edges here;
        ``net.bias(u)`` is u's w_0u.
        """
        units, out = self.unit_map, []
        for e, edge in enumerate(self.edges):
            W = self.W[e]
            for i in range(self.blocks[edge.target].units):
                for p in range(self.blocks[edge.source].units):
                    if edge.mask is None or edge.mask[i, p]:
                        out.append((units.at(edge.source, p), units.at(edge.target, i), float(W[i, p])))
        return out

    # --- display ----------------------------------------------------------------------------------

    @property
    def activations(self) -> list[str]:
        """Activation name of each block after the input."""
        return [b.activation for b in self.blocks[1:]]

    def _repr_html_(self) -> str:
        """Notebooks show the network as a diagram (units, activations, weights) above its repr."""
        from html import escape

        from .diagram import network_svg

        return f"<div>{network_svg(self)}<pre>{escape(repr(self))}</pre></div>"

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
