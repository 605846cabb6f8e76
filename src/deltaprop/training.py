"""The training loop: epochs of minibatch steps on the flat parameter vector.

``train`` never prints. What happened is returned as a :class:`History`, and
anything that wants to watch (the CLI's progress bar, a logger) does so through
:class:`Callback` hooks.

The training state (optimizer state, RNG, epoch count, history) lives on the
network as ``net.training_state``, so a second call to ``train`` continues where
the first stopped, Adam's moments included, and ``capture_state``/``restore_state``
turn it into plain arrays and JSON-able values for checkpoints.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from ._validation import as_rng
from . import online
from .network import Network
from .optimizers import AdamW, LBFGS, Optimizer, get_optimizer
from .schedules import Schedule, get_schedule

__all__ = [
    "Callback",
    "DivergenceError",
    "History",
    "TrainingState",
    "capture_state",
    "restore_state",
    "train",
]


class DivergenceError(FloatingPointError):
    """Training stopped because the cost became non-finite.

    The network is left with the finite parameters it had at the start of the epoch
    in which this happened. Attributes ``epoch`` and ``step`` (1-based) say where.
    """

    def __init__(self, message: str, *, epoch: int, step: int):
        super().__init__(message)
        self.epoch = epoch
        self.step = step


@dataclass
class History:
    """What each epoch did.

    Attributes
    ----------
    records : list of dict
        One per epoch: ``epoch`` (1-based, counting across warm starts), ``cost``
        (training cost: the mean of the minibatch J's during the epoch; exact J for
        full-batch methods), ``val_cost`` (J on the validation data, or None),
        ``metric`` (see ``metric_name``; on the validation data when there is some,
        else on the training data; None if disabled), ``learning_rate``, ``seconds``.
    metric_name : str or None
        ``"accuracy"`` or ``"r2"`` or the callable's name.
    stopped : str
        Why the last call ended: ``"epochs"``, ``"early_stopping"``, ``"max_time"``,
        ``"callback"`` or ``"converged"`` (L-BFGS).
    best_epoch : int or None
        With early stopping, the epoch whose parameters were restored.
    """

    records: list = field(default_factory=list)
    metric_name: str | None = None
    stopped: str | None = None
    best_epoch: int | None = None

    def __getitem__(self, key: str) -> list:
        """One column: ``history["cost"]`` is the list of training costs."""
        if self.records and key not in self.records[0]:
            raise KeyError(f"history has no column {key!r}; columns are {', '.join(self.records[0])}")
        return [r[key] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def to_dict(self) -> dict:
        """JSON-able form (used in model files and checkpoints)."""
        return {
            "records": [dict(r) for r in self.records],
            "metric_name": self.metric_name,
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls([dict(r) for r in d.get("records", [])], d.get("metric_name"), d.get("stopped"), d.get("best_epoch"))


class Callback:
    """Hooks called by :func:`train`; override any of them.

    ``run`` is the :class:`Run` in progress: ``run.net``, ``run.history``, ``run.epochs``
    (how many this call will do), ``run.n_batches`` (per epoch). Two ways to end a call early:

    - ``run.stop_training = True``: stop; at an epoch's end this finishes the run (early
      stopping's best parameters are restored), between two steps it leaves the epoch
      pending, as an interrupt does.
    - ``run.interrupt()``: pause after the current step, leaving the state exactly as it
      is, so that a later call (or a checkpoint of it) continues bit-identically. The
      history says ``stopped="interrupted"`` and no best parameters are restored.
    """

    def on_train_begin(self, run: "Run") -> None: ...

    def on_epoch_begin(self, run: "Run", epoch: int) -> None: ...

    def on_batch_end(self, run: "Run", epoch: int, step: int, cost: float) -> None: ...

    def on_epoch_end(self, run: "Run", epoch: int, record: dict) -> None: ...

    def on_train_end(self, run: "Run") -> None: ...


@dataclass
class Run:
    """The call of :func:`train` in progress, as callbacks see it."""

    net: Network
    history: History
    epochs: int
    n_batches: int
    stop_training: bool = False
    interrupted: bool = False

    def interrupt(self) -> None:
        """Stop after the current step and keep the state resumable (see :class:`Callback`)."""
        self.stop_training = self.interrupted = True


@dataclass
class TrainingState:
    """Everything beyond the parameters that a continued run needs (kept as ``net.training_state``).

    Attributes
    ----------
    optimizer, schedule : the update rule and the learning-rate schedule, with their state
    rng : numpy.random.Generator
        Draws each epoch's shuffle.
    epoch : int
        Epochs completed.
    history : History
    split_seed : int
        Seeds ``validation_split``, so every call of a continued run holds out the same examples.
    best : dict
        Early stopping's memory: best validation cost, its epoch, epochs since, and its parameters.
    pending : dict or None
        An epoch interrupted between steps (by a callback): its example order, the steps
        done and their summed cost, so the next call finishes it exactly.
    """

    optimizer: Optimizer
    schedule: Schedule
    rng: np.random.Generator
    epoch: int = 0
    history: History = field(default_factory=History)
    split_seed: int = 0
    best: dict = field(default_factory=lambda: {"cost": math.inf, "epoch": None, "wait": 0, "params": None})
    pending: dict | None = None


# --- metrics ------------------------------------------------------------------------------


def _accuracy(net: Network, h: np.ndarray, y: np.ndarray) -> float:
    if len(net._outputs) == 1 and net._acts[net._outputs[0][0]].name == "softmax":
        return float(np.mean(h.argmax(axis=1) == y.argmax(axis=1)))
    return float(np.mean(np.all((h > 0.5) == (y > 0.5), axis=1)))  # exact match of every output


def _r2(net: Network, h: np.ndarray, y: np.ndarray) -> float:
    ss_res = ((y - h) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    ok = ss_tot > 0
    scores = np.where(ok, 1 - ss_res / np.where(ok, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def _resolve_metric(metric, net: Network):
    if metric is None:
        return None, None
    if callable(metric):
        return getattr(metric, "__name__", "metric"), lambda n, h, y: float(metric(h, y))
    if metric == "auto":
        metric = "accuracy" if net.cost.name == "cross_entropy" else "r2"
    if metric == "accuracy":
        return "accuracy", _accuracy
    if metric == "r2":
        return "r2", _r2
    raise ValueError(f"metric must be 'auto', 'accuracy', 'r2', None or a callable(h, y), got {metric!r}")


# --- checks of the loop's own arguments ----------------------------------------------------


def _int_at_least(value, name, lo):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def _split(seed, X, Y, w, fraction):
    if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
        raise ValueError(f"validation_split must be a fraction in (0, 1), got {fraction!r}")
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


# --- the loop -------------------------------------------------------------------------------


def train(
    net: Network,
    X,
    Y,
    *,
    optimizer: str | Optimizer = "adam",
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
) -> History:
    """Train ``net`` in place by backpropagation and return its :class:`History`.

    Parameters
    ----------
    net : Network
    X : array-like of shape (m, n_inputs)
    Y : array-like of shape (m, n_outputs)
    optimizer : str or Optimizer, default "adam"
        ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"adamw"``, ``"rprop"``,
        ``"lbfgs"``, or an :class:`~deltaprop.optimizers.Optimizer` with its own options.
    learning_rate : float, optional
        eta; default the optimizer's (sgd 0.1, adam 1e-3, rprop 0.01 initial step).
    batch_size : int or None, default "auto"
        Examples per step. None is the full batch (seed 000's batch gradient descent);
        1 with ``shuffle=False`` is seed 001's online rule. "auto" is 32, or the full
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
        "auto" is accuracy for cross-entropy networks and R^2 for squared cost.
    warm_start : bool, default True
        Continue from ``net.training_state`` (optimizer state, RNG, epoch count,
        history) if a previous call left one; False starts afresh.

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
    X, Y, w = net._check_xy(X, Y, sample_weight)
    epochs = _int_at_least(epochs, "epochs", 1)
    if early_stopping is not None:
        early_stopping = _int_at_least(early_stopping, "early_stopping", 1)
    if max_time is not None and not (isinstance(max_time, numbers.Real) and max_time > 0):
        raise ValueError(f"max_time must be a number of seconds > 0, got {max_time!r}")
    if validation is not None and validation_split is not None:
        raise ValueError("pass either validation=(X_val, Y_val) or validation_split, not both")
    callbacks = list(callbacks)
    for c in callbacks:
        if not isinstance(c, Callback):
            raise ValueError(f"callbacks must be deltaprop Callback instances, got {type(c).__name__}")
    metric_name, metric_fn = _resolve_metric(metric, net)

    state = _state_for(net, optimizer, learning_rate, schedule, seed, warm_start)
    opt = state.optimizer
    if batch_size == "auto":
        batch_size = None if opt.full_batch else 32
    if batch_size is not None:
        batch_size = _int_at_least(batch_size, "batch_size", 1)
        if opt.full_batch:
            raise ValueError(f"optimizer {opt.name!r} is a full-batch method; use batch_size=None")

    if validation_split is not None:
        (X, Y, w), val = _split(state.split_seed, X, Y, w, validation_split)
    elif validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
            raise ValueError("validation must be a tuple (X_val, Y_val) or (X_val, Y_val, sample_weight_val)")
        try:
            Xv, Yv, wv = net._check_xy(*validation) if len(validation) == 3 else net._check_xy(*validation, None)
        except ValueError as exc:
            raise ValueError(f"validation: {exc}") from None
        val = (Xv, Yv, wv)
    else:
        val = None
    if early_stopping is not None and val is None:
        raise ValueError("early_stopping watches the validation cost: pass validation= or validation_split=")

    history = state.history
    history.metric_name = metric_name
    if history.stopped == "early_stopping":
        state.best["wait"] = 0  # a new call after an early stop gets a fresh patience
    history.stopped = None
    m = X.shape[0]
    bs = m if batch_size is None else min(batch_size, m)
    if state.pending is not None and (state.pending["batch_size"] != bs or state.pending["m"] != m):
        raise ValueError(
            f"the interrupted epoch ran with batch_size={state.pending['batch_size']} on {state.pending['m']} "
            f"examples; resume it with the same data and batch size (got {bs} on {m})"
        )
    run = Run(net, history, epochs, math.ceil(m / bs))
    if isinstance(opt, AdamW) and opt.decay_mask is None:
        opt.decay_mask = net.weight_mask
    opt.init(net.n_params, net.dtype)
    for c in callbacks:
        c.on_train_begin(run)

    # Overflow on the way to divergence is expected: the loop checks J after every step
    # and the parameters after every epoch, and raises DivergenceError instead of warning.
    with np.errstate(over="ignore", invalid="ignore"):
        if isinstance(opt, LBFGS):
            _lbfgs(net, state, X, Y, w, val, epochs, early_stopping, max_time, metric_fn, callbacks, run)
        else:
            _epochs(net, state, X, Y, w, val, bs, shuffle, epochs, early_stopping, max_time, metric_fn, callbacks,
                    run)
    for c in callbacks:
        c.on_train_end(run)
    return history


def _state_for(net, optimizer, learning_rate, schedule, seed, warm_start) -> TrainingState:
    old = getattr(net, "training_state", None) if warm_start else None
    if old is None:
        rng = as_rng(seed)
        split_seed = int(rng.integers(2**63 - 1))
        state = TrainingState(get_optimizer(optimizer, learning_rate), get_schedule(schedule), rng,
                              split_seed=split_seed)
    else:
        state = old
        same = (isinstance(optimizer, Optimizer) and optimizer is old.optimizer) or (
            isinstance(optimizer, str) and get_optimizer(optimizer).name == old.optimizer.name
        )
        if same:
            if learning_rate is not None:
                get_optimizer(old.optimizer, learning_rate)
        else:
            state.optimizer = get_optimizer(optimizer, learning_rate)
        if schedule is not None:
            state.schedule = get_schedule(schedule)
    net.training_state = state
    return state


def _evaluate(net, data, metric_fn):
    """(J, metric) on a data set, J including weight decay."""
    X, Y, w = data
    J = net._cost(X, Y, w)
    metric = metric_fn(net, net.predict(X), Y) if metric_fn is not None else None
    return J, metric


def _diverged(net, epoch, step, J, lr, snapshot):
    net.params[...] = snapshot
    return DivergenceError(
        f"training diverged at epoch {epoch}, step {step}: the cost became {J}. The parameters were "
        f"restored to their finite values from the start of epoch {epoch}; try a smaller learning rate "
        f"(this epoch used {lr:g}).",
        epoch=epoch,
        step=step,
    )


def _end_of_epoch(net, state, run, callbacks, val, metric_fn, train_data, cost, lr, t0, early):
    """Record the epoch, step the schedule, handle early stopping. Returns True to stop."""
    history = state.history
    val_cost, metric = (None, None)
    if val is not None:
        val_cost, metric = _evaluate(net, val, metric_fn)
    elif metric_fn is not None:
        metric = metric_fn(net, net.predict(train_data[0]), train_data[1])
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
    if early is not None:
        if val_cost < best["cost"]:
            best.update(cost=val_cost, epoch=state.epoch, params=net.params.copy(), wait=0)
        else:
            best["wait"] += 1
            if best["wait"] >= early:
                history.stopped = "early_stopping"
                stop = True
    for c in callbacks:
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


def _restore_best(net, history, best, early):
    if early is not None and history.stopped != "interrupted" and best.get("params") is not None:
        net.params[...] = best["params"]
        history.best_epoch = best["epoch"]


def _epochs(net, state, X, Y, w, val, bs, shuffle, epochs, early, max_time, metric_fn, callbacks, run):
    opt, rng, history = state.optimizer, state.rng, state.history
    params = net.params
    m = X.shape[0]
    grad = np.empty(net.n_params, dtype=net.dtype)
    snapshot = np.empty_like(params)
    gather = shuffle and bs < m
    if gather:  # preallocated minibatch buffers: no allocation per step
        Xb_buf = np.empty((bs, X.shape[1]), dtype=net.dtype)
        Yb_buf = np.empty((bs, Y.shape[1]), dtype=net.dtype)
        wb_buf = np.empty(bs, dtype=net.dtype) if w is not None else None
    batch_hooks = [c for c in callbacks if type(c).on_batch_end is not Callback.on_batch_end]
    compiled = online.eligible(net, opt, bs, w, batch_hooks, max_time)  # seed 001's rule, compiled
    fold = opt.folds_learning_rate  # plain SGD: the engine scales the gradient by eta with its 1/m
    t_start = time.perf_counter()
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch = state.epoch + 1
        pending, state.pending = state.pending, None
        if pending is None:  # a fresh epoch
            lr = state.schedule.rate(state.epoch, opt.learning_rate)
            order = rng.permutation(m) if gather else None
            first, total = 0, 0.0
        else:  # finish the epoch an interrupted call left half done, exactly as it would have gone
            lr, order, first, total = pending["lr"], pending.get("order"), pending["step"], pending["total"]
        for c in callbacks:
            c.on_epoch_begin(run, epoch)
        snapshot[...] = params
        out_of_time = False
        end = first * bs
        if compiled and first == 0:
            total, bad = online.run_epoch(net, X, Y, order if order is not None else np.arange(m), lr)
            opt.t += m if bad < 0 else bad
            if bad >= 0:
                raise _diverged(net, epoch, bad + 1, "non-finite", lr, snapshot)
            steps = ()
            end = step = m
        else:
            steps = enumerate(range(first * bs, m, bs), start=first + 1)
        for step, start in steps:
            end = min(start + bs, m)
            if gather:
                idx = order[start:end]
                k = end - start
                Xb = np.take(X, idx, axis=0, out=Xb_buf[:k])
                Yb = np.take(Y, idx, axis=0, out=Yb_buf[:k])
                wb = None if w is None else np.take(w, idx, out=wb_buf[:k])
            else:
                Xb, Yb = X[start:end], Y[start:end]
                wb = None if w is None else w[start:end]
            if wb is None or wb.any():  # a minibatch whose examples all weigh zero carries no gradient
                if fold:  # grad holds eta dJ/dparams
                    J, _ = net._cost_and_gradient(Xb, Yb, wb, grad, lr)
                else:
                    J, _ = net._cost_and_gradient(Xb, Yb, wb, grad)
                if not math.isfinite(J):
                    raise _diverged(net, epoch, step, J, lr, snapshot)
                if fold:
                    opt.step_scaled(params, grad)
                else:
                    opt.step(params, grad, lr)
                total += J * (end - start)
                for c in batch_hooks:
                    c.on_batch_end(run, epoch, step, J)
            if run.stop_training and end < m:  # stopped between steps: remember where
                state.pending = {"lr": lr, "order": order, "step": step, "total": total, "batch_size": bs, "m": m}
                history.stopped = "interrupted"
                break
            if max_time is not None and time.perf_counter() - t_start > max_time:
                out_of_time = True
                break
        if state.pending is not None:
            break
        if not np.isfinite(params).all():
            raise _diverged(net, epoch, step, "non-finite (the parameters overflowed)", lr, snapshot)
        state.epoch = epoch
        cost = total / (end if out_of_time else m)
        if _end_of_epoch(net, state, run, callbacks, val, metric_fn, (X, Y), cost, lr, t0, early):
            break
        if out_of_time:
            history.stopped = "max_time"
            break
    else:
        history.stopped = "epochs"
    _restore_best(net, history, state.best, early)


def _lbfgs(net, state, X, Y, w, val, epochs, early, max_time, metric_fn, callbacks, run):
    opt, history = state.optimizer, state.history
    grad = np.empty(net.n_params, dtype=net.dtype)
    t_start = time.perf_counter()
    clock = {"t0": t_start}

    def fun(x):
        net.set_params(x)
        J, g = net._cost_and_gradient(X, Y, w, grad)
        if not math.isfinite(J):
            return np.inf, np.zeros_like(x)  # the line search backs off
        return J, g.astype(np.float64)

    def callback(intermediate_result):
        net.set_params(intermediate_result.x)
        state.epoch += 1
        for c in callbacks:
            c.on_epoch_begin(run, state.epoch)
        stop = _end_of_epoch(
            net, state, run, callbacks, val, metric_fn, (X, Y), float(intermediate_result.fun), opt.learning_rate,
            clock["t0"], early,
        )
        clock["t0"] = time.perf_counter()
        if not stop and max_time is not None and clock["t0"] - t_start > max_time:
            history.stopped = "max_time"
            stop = True
        if stop:
            raise StopIteration

    x0 = net.params.astype(np.float64)
    result = minimize(
        fun, x0, jac=True, method="L-BFGS-B", callback=callback,
        options={"maxiter": epochs, "maxcor": opt.memory, "ftol": opt.tol, "gtol": 1e-12},
    )
    if not np.isfinite(result.x).all():
        raise DivergenceError("L-BFGS produced non-finite parameters", epoch=state.epoch, step=0)
    if history.stopped is None:
        net.set_params(result.x)
        history.stopped = "epochs" if result.nit >= epochs else "converged"
    _restore_best(net, history, state.best, early)


# --- checkpoints -----------------------------------------------------------------------------


def capture_state(net: Network) -> dict:
    """The whole training state as ``{"arrays": {name: ndarray}, "meta": JSON-able dict}``.

    Arrays: the parameters, the optimizer's flat state, early stopping's best parameters
    and an interrupted epoch's example order. Meta: the optimizer's name, hyperparameters
    and step count, the schedule, the RNG's state, the epoch count, the history and the
    rest of early stopping's and the interrupted epoch's state. :func:`restore_state` on
    the same architecture resumes bit-identically.
    """
    arrays = {"params": net.params.copy()}
    state = getattr(net, "training_state", None)
    if state is None:
        return {"arrays": arrays, "meta": {"epoch": 0}}
    for k, v in state.optimizer.state_dict().items():
        if isinstance(v, np.ndarray):
            arrays[f"optimizer.{k}"] = v
    best = dict(state.best)
    if best.get("params") is not None:
        arrays["best.params"] = best.pop("params")
    else:
        best.pop("params", None)
    pending = None
    if state.pending is not None:
        pending = {k: v for k, v in state.pending.items() if k != "order"}
        if state.pending.get("order") is not None:
            arrays["pending.order"] = state.pending["order"].astype(np.int64)
    meta = {
        "epoch": state.epoch,
        "optimizer": {
            "name": state.optimizer.name,
            "hyperparameters": state.optimizer.hyperparameters(),
            "t": state.optimizer.t,
            "initialized": state.optimizer._n is not None,
        },
        "schedule": {
            "name": state.schedule.name,
            "hyperparameters": state.schedule.hyperparameters(),
            "state": state.schedule.state_dict(),
        },
        "rng": state.rng.bit_generator.state,
        "rng_type": type(state.rng.bit_generator).__name__,
        "history": state.history.to_dict(),
        "split_seed": state.split_seed,
        "best": {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in best.items()},
        "pending": pending,
    }
    return {"arrays": arrays, "meta": meta}


def restore_state(net: Network, captured: dict) -> None:
    """Put back what :func:`capture_state` returned (parameters and training state)."""
    arrays, meta = captured["arrays"], captured["meta"]
    net.set_params(arrays["params"])
    if "optimizer" not in meta:
        net.training_state = None
        return
    o = meta["optimizer"]
    hyper = dict(o["hyperparameters"])
    lr = hyper.pop("learning_rate")
    opt = get_optimizer(o["name"], lr, **hyper)
    if o.get("initialized"):
        opt.init(net.n_params, net.dtype)
        opt.load_state_dict({"t": o["t"], **{k[len("optimizer."):]: v for k, v in arrays.items()
                                             if k.startswith("optimizer.")}})
    s = meta["schedule"]
    schedule = get_schedule(s["name"], **s["hyperparameters"])
    schedule.load_state_dict(s["state"])
    bitgen = getattr(np.random, meta.get("rng_type", "PCG64"))()
    bitgen.state = meta["rng"]
    best = dict(meta.get("best") or {})
    best["cost"] = math.inf if best.get("cost") is None else float(best["cost"])
    best.setdefault("epoch", None)
    best.setdefault("wait", 0)
    best["params"] = arrays["best.params"].astype(net.dtype) if "best.params" in arrays else None
    pending = meta.get("pending")
    if pending is not None:
        pending = dict(pending)
        pending["order"] = arrays["pending.order"].astype(np.intp) if "pending.order" in arrays else None
    net.training_state = TrainingState(opt, schedule, np.random.Generator(bitgen), int(meta["epoch"]),
                                       History.from_dict(meta["history"]), int(meta.get("split_seed", 0)),
                                       best, pending)
