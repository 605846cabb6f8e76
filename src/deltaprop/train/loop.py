"""The training loop: epochs of minibatch steps on the flat parameter vector.

``train`` never prints. What happened is returned as a :class:`History`, and
anything that wants to watch (the CLI's progress bar, a logger) does so through
:class:`Callback` hooks. The training state (:mod:`deltaprop.train.state`) lives on the
network, so a second call continues where the first stopped.

Full-batch methods (UFLDL's batch gradient descent, Rprop, L-BFGS) and the validation cost
ask an :class:`~deltaprop.train.objective.Objective` for J and its gradient; minibatch steps
call the network's own fast path.
"""

from __future__ import annotations

import copy
import inspect
import math
import numbers
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..core import Network, compiled
from ..core.checks import as_rng, check_memory, is_sparse
from . import metrics
from .callbacks import Callback, History, Run
from .lbfgs import LBFGS
from .objective import InProcess, Objective, PartitionedObjective, source_for
from .optimizers import Optimizer, get_optimizer
from .schedules import Schedule, get_schedule
from .state import Best, Pending, TrainingState, capture_state, restore_state

__all__ = [
    "MIN_REMOTE_BATCH",
    "Callback",
    "DivergenceError",
    "History",
    "Run",
    "TrainingState",
    "capture_state",
    "finish_run",
    "restore_state",
    "train",
]


MIN_REMOTE_BATCH = 10_000
"""The smallest minibatch (rows) trained on data held on a cluster: every step is one round trip
(10-40 ms of fixed cost measured on a local Dask cluster), which only pays for tens of thousands of rows."""


class DivergenceError(FloatingPointError):
    """Training stopped because the cost became non-finite.

    The network is left with the finite parameters it had at the start of the epoch
    in which this happened. Attributes ``epoch`` and ``step`` (1-based) say where.
    """

    def __init__(self, message: str, *, epoch: int, step: int):
        super().__init__(message)
        self.epoch = epoch
        self.step = step


def _resolve_metric(metric, net: Network):
    if metric is None:
        return None, None
    if callable(metric):
        return getattr(metric, "__name__", "metric"), lambda h, y: float(metric(h, y))
    if metric == "auto":
        metric = net.cost.default_metric
    if metric in ("accuracy", "r2"):
        return metric, metrics.for_network(metric, net)
    raise ValueError(f"metric must be 'auto', 'accuracy', 'r2', None or a callable(h, y), got {metric!r}")


# --- checks of the loop's own arguments ----------------------------------------------------


def _int_at_least(value, name, lo):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def _check_fraction(fraction) -> None:
    if isinstance(fraction, bool) or not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
        raise ValueError(f"validation_split must be a fraction in (0, 1), got {fraction!r}")


def _split(seed, X, Y, w, fraction):
    _check_fraction(fraction)
    m = X.shape[0]
    n_val = int(round(m * fraction))
    if n_val < 1 or n_val >= m:
        raise ValueError(
            f"validation_split={fraction} of {m} examples leaves {n_val} for validation and {m - n_val} "
            "for training; both need at least one"
        )
    perm = np.random.default_rng(seed).permutation(m)
    v, t = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    sub = (lambda a, i: None if a is None else a[i])
    return (X[t], Y[t], sub(w, t)), (X[v], Y[v], sub(w, v))


@dataclass
class Plan:
    """What one call of :func:`train` does, as the loop's helpers read it."""

    X: np.ndarray | None  # None for data held elsewhere (then only the objectives see it)
    Y: np.ndarray | None
    w: np.ndarray | None
    objective: Objective  # J and gradient over the whole training data
    validation: tuple | None  # (X, Y, w) checked, in memory
    val_objective: Objective | None
    batch_size: int
    parts_per_step: int  # data on a cluster in minibatches: whole partitions per step (0 otherwise)
    shuffle: bool
    epochs: int
    early: int | None
    max_time: float | None
    train_metric: Callable[[], float] | None  # the metric of the network as it stands, on the training data
    val_metric: Callable[[], float] | None  # ... on the validation data
    callbacks: list
    run: Run


# --- the loop -------------------------------------------------------------------------------


def train(
    net: Network,
    X,
    Y,
    *,
    optimizer: str | Optimizer | LBFGS = "adam",
    learning_rate: float | None = None,
    batch_size: int | None | str = "auto",
    epochs: int = 10,
    shuffle: bool = True,
    seed=None,
    validation: tuple | None = None,
    validation_split: float | None = None,
    early_stopping: int | None = None,
    sample_weight=None,
    callbacks: Sequence[Callback] = (),
    max_time: float | None = None,
    schedule: str | Schedule | None = None,
    metric: str | Callable | None = "auto",
    warm_start: bool = True,
    client=None,
) -> History:
    """Train ``net`` in place by backpropagation and return its :class:`History`.

    Parameters
    ----------
    net : Network
    X : array-like or SciPy sparse matrix of shape (m, n_inputs), or a dask array or DataFrame
        Sparse X (CSR, CSC or any other SciPy format, matrix or array) is trained on as it
        is, never densified: the first layer's products are sparse times dense, each
        minibatch gathers its rows, and the compiled SGD kernel is not used.
        Data on a Dask cluster (``pip install "deltaprop[distributed]"``) is trained through
        :class:`deltaprop.distributed.DaskObjective`: J and its gradient are summed per
        partition on the workers, equal to one process's up to rounding. Full batch by default
        (``batch_size`` None or "auto"); with a first-order optimizer and ``batch_size`` of at
        least :data:`MIN_REMOTE_BATCH` rows, synchronous large-batch minibatches: each step takes
        the rows of k whole partitions, k = round(batch_size / mean rows per partition) (at
        least 1), in an order drawn by ``seed``'s generator each epoch (``shuffle``; otherwise the
        partitions' own order), one reduction per step, the optimizer's state on the driver. So
        the batch size rounds to whole partitions. ``validation`` then takes dask collections
        too, and ``validation_split`` holds out each row of partition k with that probability,
        drawn on the workers by a generator seeded from ``seed`` and k (the same rows on every
        resume; the share is the fraction in expectation). Callable metrics are refused; the
        others are computed on the workers: ``"auto"`` records the validation rows' metric (none
        without validation data, where it would add a pass over all the data to every
        iteration); ``"accuracy"`` or ``"r2"`` records the validation rows' metric when there is
        validation data, and otherwise the training rows' (that extra pass every iteration).
    Y : array-like of shape (m, n_outputs), or a dask array, DataFrame or Series
    optimizer : str, Optimizer or LBFGS, default "adam"
        ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"adamw"``, ``"rprop"``,
        ``"lbfgs"``, or an :class:`~deltaprop.optimizers.Optimizer` with its own options.
        A fresh run trains with its own copy of an optimizer object, initialised afresh,
        so the same object passed to several runs gives each the same start.
    learning_rate : float, optional
        eta; default the optimizer's (sgd 0.1, adam 1e-3, rprop 0.01 initial step).
    batch_size : int or None, default "auto"
        Examples per step. None is the full batch (UFLDL's batch gradient descent);
        1 with ``shuffle=False`` is AIMA's online rule. "auto" is 32, or the full
        batch for the full-batch methods ``rprop`` and ``lbfgs`` (which accept only None).
    epochs : int, default 10
        Passes over the data (iterations, for L-BFGS).
    shuffle : bool, default True
        Visit the examples in a fresh random order each epoch.
    seed : int or Generator, optional
        Seeds shuffling and ``validation_split``. A warm start carries the RNG on and
        ignores ``seed`` (so two calls of 5 epochs equal one of 10).
    validation : tuple (X_val, Y_val) or (X_val, Y_val, w_val), optional
    validation_split : float, optional
        Hold out this fraction of (X, Y), drawn at random, as the validation data.
    early_stopping : int, optional
        Stop after this many epochs without a lower validation cost, and restore the
        parameters of the best epoch. Needs validation data.
    sample_weight : array-like of shape (m,), optional
    callbacks : sequence of Callback
    max_time : float, optional
        Stop after this many seconds (checked after every step).
    schedule : str or Schedule, optional
        ``"constant"`` (default), ``"step"``, ``"exponential"``, ``"invscaling"``,
        ``"plateau"`` (watches the validation cost, else the training cost).
    metric : "auto", "accuracy", "r2", None or callable(h, y), default "auto"
        "auto" is accuracy for cross-entropy networks and R^2 for squared cost, recorded in
        the history every epoch (on the validation data when there is some).
    warm_start : bool, default True
        Continue from ``net.training_state`` (optimizer state, RNG, epoch count,
        history) if a previous call left one; False starts afresh (the optimizer's
        state is reset).
    client : distributed.Client or str, optional
        For data on a Dask cluster only: the client, a scheduler address ``"tcp://host:port"``,
        or ``"local:N"`` (an embedded cluster of N worker processes). None: an embedded local
        cluster sized to the machine, closed when training ends.

    Returns
    -------
    History

    Raises
    ------
    ValueError
        For bad data or settings (the message names the parameter).
    DivergenceError
        If the cost becomes non-finite; the parameters are restored to the last
        finite ones (the start of that epoch).

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); Y = np.array([0., 1., 1., 0.])
    >>> net = dp.Network.layered([2, 3, 1], seed=0)
    >>> history = dp.train(net, X, Y, optimizer="sgd", learning_rate=2.0, batch_size=None, epochs=3000)
    >>> history["cost"][-1] < 1e-3
    True
    """
    if not isinstance(net, Network):
        raise ValueError(f"net must be a deltaprop Network, got {type(net).__name__}")
    opener = source_for(X)  # data held elsewhere (a Dask cluster) comes with its own objectives
    if opener is None:
        if client is not None:
            raise ValueError("client= is for data on a Dask cluster (dask arrays or DataFrames); X is held in memory")
        X, Y, w = net.check_data(X, Y, sample_weight)
    epochs = _int_at_least(epochs, "epochs", 1)
    if early_stopping is not None:
        early_stopping = _int_at_least(early_stopping, "early_stopping", 1)
    if max_time is not None and not (isinstance(max_time, numbers.Real) and max_time > 0):
        raise ValueError(f"max_time must be a number of seconds > 0, got {max_time!r}")
    if validation is not None and validation_split is not None:
        raise ValueError("pass either validation=(X_val, Y_val) or validation_split, not both")
    if validation is not None and (not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3)):
        raise ValueError("validation must be a tuple (X_val, Y_val) or (X_val, Y_val, sample_weight_val)")
    callbacks = list(callbacks)
    for c in callbacks:
        if not isinstance(c, Callback):
            raise ValueError(f"callbacks must be deltaprop Callback instances, got {type(c).__name__}")
    if opener is not None:
        _check_remote_options(batch_size, validation_split, metric)
        batch_size = None if batch_size == "auto" else batch_size
    metric_name, metric_fn = _resolve_metric(metric, net)

    state = _state_for(net, optimizer, learning_rate, schedule, seed, warm_start)
    opt = state.optimizer
    if batch_size == "auto":
        batch_size = None if opt.full_batch else 32
    if batch_size is not None:
        batch_size = _int_at_least(batch_size, "batch_size", 1)
        if opt.full_batch:
            raise ValueError(f"optimizer {opt.name!r} is a full-batch method; use batch_size=None")

    close = None
    if opener is not None:
        # an opener registered before validation_split existed is called as it was then
        split = {} if validation_split is None else dict(validation_split=validation_split, split_seed=state.split_seed)
        if split and not _accepts(opener, "validation_split"):
            raise ValueError("validation_split: this data source does not hold out rows itself; pass validation=")
        opened = opener(net, X, Y, sample_weight, validation=validation, client=client, **split)
        objective, val_objective, val, close = opened.objective, opened.validation, None, opened.close
        X = Y = w = None
    else:
        if validation_split is not None:
            (X, Y, w), val = _split(state.split_seed, X, Y, w, validation_split)
        elif validation is not None:
            try:
                val = net.check_data(*validation) if len(validation) == 3 else net.check_data(*validation, None)
            except ValueError as exc:
                raise ValueError(f"validation: {exc}") from None
        else:
            val = None
        objective, val_objective = InProcess(net, X, Y, w), None if val is None else InProcess(net, *val)
        train_metric = val_metric = None
        if metric_fn is not None:
            train_metric = _metric_on(metric_fn, net, X, Y)
            val_metric = None if val is None else _metric_on(metric_fn, net, val[0], val[1])
    try:  # from here on, the finally releases data held elsewhere, whatever is refused or raised
        if opener is not None:  # metrics computed where the data is, by its objectives
            train_metric, val_metric = _remote_metrics(net, metric, metric_name, objective, val_objective)
            if train_metric is None and val_metric is None:
                metric_name = None
        if early_stopping is not None and val_objective is None:
            raise ValueError("early_stopping watches the validation cost: pass validation= or validation_split=")

        history = state.history
        history.metric_name = metric_name
        if history.stopped == "early_stopping":
            state.best.wait = 0  # a new call after an early stop gets a fresh patience
        history.stopped = None
        history.best_epoch = None  # set again at the end if this call restores a best epoch
        m = objective.n_rows
        bs = m if batch_size is None else min(batch_size, m)
        parts_per_step = 0
        if X is None and bs < m:  # minibatches of whole partitions, on the cluster
            if not isinstance(objective, PartitionedObjective):
                raise ValueError(f"batch_size={batch_size}: this data source trains full batch only; use batch_size=None")
            n_parts = len(objective.partition_rows)
            parts_per_step = max(1, min(n_parts, round(bs * n_parts / m)))
            if parts_per_step == n_parts:
                bs, parts_per_step = m, 0
        if state.pending is not None and (state.pending.batch_size != bs or state.pending.m != m):
            raise ValueError(
                f"the interrupted epoch ran with batch_size={state.pending.batch_size} on {state.pending.m} "
                f"examples; resume it with the same data and batch size (got {bs} on {m})"
            )
        _check_training_memory(net, opt, bs, early_stopping is not None)
        steps = math.ceil(len(objective.partition_rows) / parts_per_step) if parts_per_step else math.ceil(m / bs)
        run = Run(net, history, epochs, steps)
        plan = Plan(X, Y, w, objective, val, val_objective, bs, parts_per_step, shuffle, epochs, early_stopping,
                    max_time, train_metric, val_metric, callbacks, run)
        for c in callbacks:
            c.on_train_begin(run)

        # Overflow on the way to divergence is expected: the loop checks J after every step
        # and the parameters after every epoch, and raises DivergenceError instead of warning.
        with np.errstate(over="ignore", invalid="ignore"):
            if isinstance(opt, LBFGS):
                _lbfgs(net, state, plan)
            elif plan.parts_per_step:
                _partition_epochs(net, state, plan)
            else:
                _epochs(net, state, plan)
        for c in callbacks:
            c.on_train_end(run)
    finally:
        if close is not None:
            close()
    return history


def _metric_on(metric_fn: Callable, net: Network, X, Y) -> Callable[[], float]:
    """The metric of ``net`` as it stands on in-memory (X, Y)."""
    return lambda: metric_fn(net.predict(X), Y)


def _accepts(fn: Callable, name: str) -> bool:
    """Whether ``fn`` takes a keyword argument ``name`` (by name or through ``**kwargs``)."""
    params = inspect.signature(fn).parameters.values()
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _remote_metrics(net: Network, metric, name: str | None, objective: Objective, val_objective: Objective | None):
    """(train_metric, val_metric) for data held on a cluster, computed there by the objectives.
    "auto" watches the validation rows only: on the training rows it would add a pass over all
    the data to every iteration (an explicit "accuracy" or "r2" asks for that)."""
    if name is None:
        return None, None
    if type(objective).metric is Objective.metric:  # a source that computes no metrics on its data
        if metric == "auto":
            return None, None
        raise ValueError(f"metric={metric!r}: {type(objective).__name__} does not compute metrics on the data it "
                         "holds; use metric=None")

    def on(obj):
        return lambda: obj.metric(net.params, name)

    val_metric = None if val_objective is None else on(val_objective)
    train_metric = None if metric == "auto" else on(objective)
    return train_metric, val_metric


def _check_remote_options(batch_size, validation_split, metric) -> None:
    """The options that need the data in this process, refused for data held on a cluster."""
    if batch_size not in ("auto", None) and not (isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool)
                                                 and batch_size >= MIN_REMOTE_BATCH):
        raise ValueError(
            f"batch_size={batch_size!r} is too small for data on a Dask cluster: every step is one round trip to the "
            f"workers (10-40 ms), so minibatches there take at least {MIN_REMOTE_BATCH} rows (whole partitions); "
            "or use batch_size=None (full batch) with 'lbfgs', 'rprop' or 'gd'"
        )
    if validation_split is not None:
        _check_fraction(validation_split)
    if callable(metric):
        raise ValueError("a callable metric needs the outputs in this process; for data on a Dask cluster use "
                         "metric='accuracy' or 'r2' (computed on the workers), 'auto' or None")


def _check_training_memory(net, opt, batch: int, early: bool) -> None:
    """Refuse, before any allocation, a run that cannot fit: the gradient, the epoch's snapshot,
    early stopping's best parameters, the optimizer's state, and one batch's workspace."""
    arrays = 2 + int(early) + (opt.n_state_arrays if isinstance(opt, Optimizer) else 2 * opt.memory + 2)
    workspace = min(batch, 4096) * net.layout.workspace_floats_per_row()  # large batches go in chunks
    check_memory((arrays * net.n_params + workspace) * net.dtype.itemsize,
                 f"training {net.n_params:,} parameters with {opt.name}")


def _same_method(given, state: TrainingState) -> bool:
    """Whether ``given`` asks for the method the state already runs (so its state continues)."""
    if given is state.given:
        return True
    if isinstance(given, str):
        return get_optimizer(given).name == state.optimizer.name and isinstance(state.given, str)
    return False


def _state_for(net, optimizer, learning_rate, schedule, seed, warm_start) -> TrainingState:
    old = getattr(net, "training_state", None) if warm_start else None
    if old is None:
        rng = as_rng(seed)
        split_seed = int(rng.integers(2**63 - 1))
        opt = copy.deepcopy(get_optimizer(optimizer))  # the run's own copy: the caller's object never carries state
        if learning_rate is not None:
            get_optimizer(opt, learning_rate)
        state = TrainingState(opt, get_schedule(schedule), rng, split_seed=split_seed, given=optimizer)
        _init_optimizer(net, opt)
    else:
        state = old
        if _same_method(optimizer, old):
            if learning_rate is not None:
                get_optimizer(old.optimizer, learning_rate)
            if isinstance(old.optimizer, Optimizer) and not old.optimizer.initialized:
                _init_optimizer(net, old.optimizer)
        else:
            opt = copy.deepcopy(get_optimizer(optimizer))
            if learning_rate is not None:
                get_optimizer(opt, learning_rate)
            state.optimizer, state.given = opt, optimizer
            _init_optimizer(net, opt)
        if schedule is not None:
            state.schedule = get_schedule(schedule)
    net.training_state = state
    return state


def _init_optimizer(net, opt):
    if isinstance(opt, Optimizer):
        opt.init(net.n_params, net.dtype, decay_mask=net.weight_mask)


def _evaluate(plan: Plan, net: Network):
    """(J, metric) on the validation data, J including weight decay."""
    J = plan.val_objective.loss(net.params)
    return J, None if plan.val_metric is None else plan.val_metric()


def _diverged(net, epoch, step, J, lr, snapshot):
    net.params[...] = snapshot
    return DivergenceError(
        f"training diverged at epoch {epoch}, step {step}: the cost became {J}. The parameters were "
        f"restored to their finite values from the start of epoch {epoch}; try a smaller learning rate "
        f"(this epoch used {lr:g}).",
        epoch=epoch,
        step=step,
    )


def _end_of_epoch(net, state: TrainingState, plan: Plan, cost: float, lr: float, t0: float) -> bool:
    """Record the epoch, step the schedule, handle early stopping. Returns True to stop."""
    history, run = state.history, plan.run
    val_cost, metric = (None, None)
    if plan.val_objective is not None:
        val_cost, metric = _evaluate(plan, net)
    elif plan.train_metric is not None:
        metric = plan.train_metric()
    record = {
        "epoch": state.epoch,
        "cost": cost,
        "val_cost": val_cost,
        "metric": metric,
        "learning_rate": lr,
        "seconds": time.perf_counter() - t0,
    }
    history.records.append(record)
    state.schedule.observe(val_cost if val_cost is not None else cost)
    stop = False
    best = state.best
    if plan.early is not None:
        if val_cost < best.cost:
            best.cost, best.epoch, best.params, best.wait = val_cost, state.epoch, net.params.copy(), 0
        else:
            best.wait += 1
            if best.wait >= plan.early:
                history.stopped = "early_stopping"
                stop = True
    for c in plan.callbacks:
        c.on_epoch_end(run, state.epoch, record)
    if run.stop_training and not stop:
        history.stopped = "interrupted" if run.interrupted else "callback"
        stop = True
    return stop


def finish_run(net: Network, *, early_stopping: int | None) -> History:
    """End a restored run that has no epochs left, exactly as :func:`train` would have ended it.

    A checkpoint is written after an epoch's end but before the run's end, so it holds the
    last epoch's parameters. This puts back early stopping's best parameters (when
    ``early_stopping`` is on) and records why the run stopped, so that resuming a finished
    run gives the model the uninterrupted run gave.

    Returns
    -------
    History
        ``net.training_state.history``, with ``stopped`` and ``best_epoch`` filled in.
    """
    state = net.training_state
    if state is None or state.pending is not None:
        raise ValueError("finish_run needs a training state whose last epoch is complete")
    if state.history.stopped in (None, "interrupted"):
        state.history.stopped = "epochs"
    _restore_best(net, state.history, state.best, early_stopping)
    return state.history


def _restore_best(net, history: History, best: Best, early):
    if early is not None and history.stopped != "interrupted" and best.params is not None:
        net.params[...] = best.params
        history.best_epoch = best.epoch


def _batch_hooks(callbacks) -> list:
    """The callbacks that override ``on_batch_end``: called after every step."""
    return [c for c in callbacks if type(c).on_batch_end is not Callback.on_batch_end]


def _begin_epoch(state: TrainingState, plan: Plan, draw_order) -> tuple:
    """``(epoch, lr, order, first, total)`` of the epoch about to run: a fresh one (the schedule's
    learning rate, ``draw_order()``'s order, from step 0) or the one an interrupted call left
    pending, to be finished exactly as it would have gone; ``on_epoch_begin`` is called."""
    epoch = state.epoch + 1
    pending, state.pending = state.pending, None
    if pending is None:
        lr = state.schedule.rate(state.epoch, state.optimizer.learning_rate)
        order, first, total = draw_order(), 0, 0.0
    else:
        lr, order, first, total = pending.lr, pending.order, pending.step, pending.total
    for c in plan.callbacks:
        c.on_epoch_begin(plan.run, epoch)
    return epoch, lr, order, first, total


def _take_step(net, opt, grad, J, lr, fold, epoch, step, snapshot) -> None:
    """One update from the step's J and gradient (``grad`` holds eta g where ``fold``), after
    checking that J is finite: W := W - eta dJ/dW, or the optimizer's own rule."""
    if not math.isfinite(J):
        raise _diverged(net, epoch, step, J, lr, snapshot)
    if fold:
        opt.step_scaled(net.params, grad)
    else:
        opt.step(net.params, grad, lr)


def _close_epoch(net, state: TrainingState, plan: Plan, epoch, step, cost, lr, t0, snapshot, out_of_time) -> bool:
    """After an epoch's steps: the parameters checked, the epoch recorded (validation, early
    stopping, callbacks); True when the run ends here."""
    if not np.isfinite(net.params).all():
        raise _diverged(net, epoch, step, "non-finite (the parameters overflowed)", lr, snapshot)
    state.epoch = epoch
    if _end_of_epoch(net, state, plan, cost, lr, t0):
        return True
    if out_of_time:
        state.history.stopped = "max_time"
        return True
    return False


def _epochs(net, state: TrainingState, plan: Plan):
    opt, rng, history, run = state.optimizer, state.rng, state.history, plan.run
    X, Y, w, bs = plan.X, plan.Y, plan.w, plan.batch_size
    params = net.params
    m = plan.objective.n_rows
    grad = np.empty(net.n_params, dtype=net.dtype)
    snapshot = np.empty_like(params)
    full = bs >= m  # the whole batch each step: the objective's question
    gather = plan.shuffle and not full
    sparse = is_sparse(X)  # a CSR X: each step gathers its rows into a new small CSR matrix
    if gather:  # preallocated minibatch buffers: no allocation per step
        Xb_buf = None if sparse else np.empty((bs, X.shape[1]), dtype=net.dtype)
        Yb_buf = np.empty((bs, Y.shape[1]), dtype=net.dtype)
        wb_buf = np.empty(bs, dtype=net.dtype) if w is not None else None
    batch_hooks = _batch_hooks(plan.callbacks)
    fold = opt.folds_learning_rate  # plain SGD: the engine scales the gradient by eta with its 1/m
    # plain SGD with batch size 1 (AIMA's rule) or small minibatches of a small network: one compiled kernel per epoch
    compiled_epoch = X is not None and compiled.eligible(net, plain_sgd=fold and opt.name == "sgd", batch_size=bs,
                                                         weights=w, batch_hooks=[c for c in batch_hooks
                                                                                 if c.needs_every_batch],
                                                         max_time=plan.max_time, sparse=sparse)
    t_start = time.perf_counter()
    for _ in range(plan.epochs):
        t0 = time.perf_counter()
        epoch, lr, order, first, total = _begin_epoch(state, plan, lambda: rng.permutation(m) if gather else None)
        snapshot[...] = params
        out_of_time = False
        end = first * bs
        if compiled_epoch and first == 0:
            total, bad = compiled.run_epoch(net, X, Y, order if order is not None else np.arange(m), lr, bs)
            n_steps = math.ceil(m / bs)
            opt.count_steps(n_steps if bad < 0 else bad)
            if bad >= 0:
                raise _diverged(net, epoch, bad + 1, "non-finite", lr, snapshot)
            steps = ()
            end, step = m, n_steps
        else:
            steps = enumerate(range(first * bs, m, bs), start=first + 1)
        for step, start in steps:
            end = min(start + bs, m)
            if full:
                J, _ = plan.objective.loss_and_grad(params, grad, scale=lr if fold else 1.0)
            else:
                if gather:
                    idx = order[start:end]
                    k = end - start
                    # mode="clip": the indices are a permutation, always in range; the default mode
                    # ("raise") copies through a temporary buffer, a third more time per gather
                    Xb = X[idx] if sparse else np.take(X, idx, axis=0, out=Xb_buf[:k], mode="clip")
                    Yb = np.take(Y, idx, axis=0, out=Yb_buf[:k], mode="clip")
                    wb = None if w is None else np.take(w, idx, out=wb_buf[:k], mode="clip")
                else:
                    Xb, Yb = X[start:end], Y[start:end]
                    wb = None if w is None else w[start:end]
                if wb is not None and not wb.any():  # a minibatch whose examples all weigh zero carries no gradient
                    J = None
                else:  # with fold, grad holds eta dJ/dparams
                    J, _ = net.loss_and_grad(Xb, Yb, sample_weight=wb, out=grad, scale=lr if fold else 1.0)
            if J is not None:
                _take_step(net, opt, grad, J, lr, fold, epoch, step, snapshot)
                total += J * (end - start)
                for c in batch_hooks:
                    c.on_batch_end(run, epoch, step, J)
            if run.stop_training and end < m:  # stopped between steps: remember where
                state.pending = Pending(lr, order, step, total, bs, m)
                history.stopped = "interrupted"
                break
            if plan.max_time is not None and time.perf_counter() - t_start > plan.max_time:
                out_of_time = True
                break
        if state.pending is not None:
            break
        if _close_epoch(net, state, plan, epoch, step, total / (end if out_of_time else m), lr, t0, snapshot,
                        out_of_time):
            break
    else:
        history.stopped = "epochs"
    _restore_best(net, history, state.best, plan.early)


def _partition_epochs(net, state: TrainingState, plan: Plan):
    """Synchronous large-batch minibatches on data held in partitions (a Dask cluster): each step
    is J and its gradient over ``plan.parts_per_step`` whole partitions, one round trip; the
    update runs here, on the driver, with the optimizer's state."""
    opt, rng, history, run = state.optimizer, state.rng, state.history, plan.run
    objective, k = plan.objective, plan.parts_per_step
    rows = np.asarray(objective.partition_rows)
    n_parts, m = rows.size, plan.objective.n_rows
    params = net.params
    grad = np.empty(net.n_params, dtype=net.dtype)
    snapshot = np.empty_like(params)
    batch_hooks = _batch_hooks(plan.callbacks)
    fold = opt.folds_learning_rate
    t_start = time.perf_counter()
    step = 0
    for _ in range(plan.epochs):
        t0 = time.perf_counter()
        # a fresh epoch's order of the partitions is drawn by the run's generator
        epoch, lr, order, first, total = _begin_epoch(
            state, plan, lambda: rng.permutation(n_parts) if plan.shuffle else np.arange(n_parts))
        snapshot[...] = params
        out_of_time = False
        seen = int(rows[order[:first * k]].sum())
        for step, start in enumerate(range(first * k, n_parts, k), start=first + 1):
            chosen = order[start:start + k]
            J, _ = objective.loss_and_grad_on(chosen, params, grad, scale=lr if fold else 1.0)
            n_b = int(rows[chosen].sum())
            seen += n_b
            if J is not None:  # None: the chosen rows all weigh zero and carry no gradient
                _take_step(net, opt, grad, J, lr, fold, epoch, step, snapshot)
                total += J * n_b
                for c in batch_hooks:
                    c.on_batch_end(run, epoch, step, J)
            if run.stop_training and start + k < n_parts:
                state.pending = Pending(lr, order, step, total, plan.batch_size, m)
                history.stopped = "interrupted"
                break
            if plan.max_time is not None and time.perf_counter() - t_start > plan.max_time:
                out_of_time = True
                break
        if state.pending is not None:
            break
        if _close_epoch(net, state, plan, epoch, step, total / (seen if out_of_time else m), lr, t0, snapshot,
                        out_of_time):
            break
    else:
        history.stopped = "epochs"
    _restore_best(net, history, state.best, plan.early)


def _lbfgs(net, state: TrainingState, plan: Plan):
    solver, history, run = state.optimizer, state.history, plan.run
    grad = np.empty(net.n_params, dtype=net.dtype)
    t_start = time.perf_counter()
    clock = {"t0": t_start}

    def fun(x):
        J, g = plan.objective.loss_and_grad(x, grad)
        if not math.isfinite(J):
            return np.inf, np.zeros_like(x)  # the line search backs off
        return J, g.astype(np.float64)

    def callback(x, J):
        net.set_params(x)
        state.epoch += 1
        for c in plan.callbacks:
            c.on_epoch_begin(run, state.epoch)
        stop = _end_of_epoch(net, state, plan, J, solver.learning_rate, clock["t0"])
        clock["t0"] = time.perf_counter()
        if not stop and plan.max_time is not None and clock["t0"] - t_start > plan.max_time:
            history.stopped = "max_time"
            stop = True
        return stop

    x, iterations, stopped = solver.solve(fun, net.params.astype(np.float64), max_iter=plan.epochs,
                                          callback=callback)
    if not np.isfinite(x).all():
        raise DivergenceError("L-BFGS produced non-finite parameters", epoch=state.epoch, step=0)
    if history.stopped is None:
        net.set_params(x)
        history.stopped = "epochs" if iterations >= plan.epochs else "converged"
    _restore_best(net, history, state.best, plan.early)
