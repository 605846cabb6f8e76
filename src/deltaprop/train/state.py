"""The training state a continued run needs, and its capture into plain arrays and JSON.

The state lives on the network as ``net.training_state``, so a second call to
``deltaprop.train`` continues where the first stopped, Adam's moments included, and
:func:`capture_state`/:func:`restore_state` turn it into arrays and JSON-able values for
checkpoints. Every name read back (optimizer, schedule, random bit generator) is looked up
in a closed table: a file never selects code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .callbacks import History
from .lbfgs import LBFGS
from .optimizers import Optimizer, get_optimizer
from .schedules import Schedule, get_schedule

__all__ = ["Best", "Pending", "TrainingState", "capture_state", "restore_state", "BIT_GENERATORS"]

# The bit generators a checkpoint may name; nothing else is ever looked up.
BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "MT19937": np.random.MT19937,
                  "Philox": np.random.Philox, "SFC64": np.random.SFC64}


@dataclass
class Best:
    """Early stopping's memory: the best validation cost, its epoch, epochs since, its parameters."""

    cost: float = math.inf
    epoch: int | None = None
    wait: int = 0
    params: np.ndarray | None = None


@dataclass
class Pending:
    """An epoch interrupted between steps: its example order, the steps done and their
    summed cost, so the next call finishes it exactly."""

    lr: float
    order: np.ndarray | None
    step: int
    total: float
    batch_size: int
    m: int


@dataclass
class TrainingState:
    """Everything beyond the parameters that a continued run needs (kept as ``net.training_state``).

    Attributes
    ----------
    optimizer : Optimizer or LBFGS
        The run's own copy of the update rule, with its state.
    schedule : Schedule
    rng : numpy.random.Generator
        Draws each epoch's shuffle.
    epoch : int
        Epochs completed.
    history : History
    split_seed : int
        Seeds ``validation_split``, so every call of a continued run holds out the same examples.
    best : Best
    pending : Pending or None
    given : object
        The optimizer argument the run was started with (a name or the caller's object),
        so a later call with the same argument continues the state.
    """

    optimizer: Optimizer | LBFGS
    schedule: Schedule
    rng: np.random.Generator
    epoch: int = 0
    history: History = field(default_factory=History)
    split_seed: int = 0
    best: Best = field(default_factory=Best)
    pending: Pending | None = None
    given: object = None


def capture_state(net) -> dict:
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
    opt = state.optimizer
    initialized = False
    if isinstance(opt, Optimizer):
        initialized = opt.initialized
        for k, v in opt.state_dict().items():
            if isinstance(v, np.ndarray):
                arrays[f"optimizer.{k}"] = v
    if state.best.params is not None:
        arrays["best.params"] = state.best.params
    pending = None
    if state.pending is not None:
        p = state.pending
        pending = {"lr": p.lr, "step": p.step, "total": p.total, "batch_size": p.batch_size, "m": p.m}
        if p.order is not None:
            arrays["pending.order"] = p.order.astype(np.int64)
    best_cost = state.best.cost
    meta = {
        "epoch": state.epoch,
        "optimizer": {
            "name": opt.name,
            "hyperparameters": opt.hyperparameters(),
            "t": opt.t,
            "initialized": initialized,
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
        "best": {"cost": None if math.isinf(best_cost) else best_cost, "epoch": state.best.epoch,
                 "wait": state.best.wait},
        "pending": pending,
    }
    return {"arrays": arrays, "meta": meta}


def restore_state(net, captured: dict) -> None:
    """Put back what :func:`capture_state` returned (parameters and training state).

    Raises
    ------
    ValueError, KeyError, TypeError
        For a state that names an unknown optimizer, schedule or bit generator, or is malformed.
    """
    arrays, meta = captured["arrays"], captured["meta"]
    net.set_params(arrays["params"])
    if "optimizer" not in meta:
        net.training_state = None
        return
    o = meta["optimizer"]
    hyper = dict(o["hyperparameters"])
    lr = hyper.pop("learning_rate")
    opt = get_optimizer(o["name"], lr, **hyper)
    if isinstance(opt, Optimizer):
        if o.get("initialized"):
            opt.init(net.n_params, net.dtype, decay_mask=net.weight_mask)
            opt.load_state_dict({"t": o["t"], **{k[len("optimizer."):]: v for k, v in arrays.items()
                                                 if k.startswith("optimizer.")}})
    else:
        opt.t = int(o["t"])
    s = meta["schedule"]
    schedule = get_schedule(s["name"], **s["hyperparameters"])
    schedule.load_state_dict(s["state"])
    rng_type = meta.get("rng_type", "PCG64")
    if rng_type not in BIT_GENERATORS:
        raise ValueError(f"unknown random bit generator {rng_type!r}; expected one of {', '.join(BIT_GENERATORS)}")
    bitgen = BIT_GENERATORS[rng_type]()
    bitgen.state = meta["rng"]
    b = dict(meta.get("best") or {})
    best = Best(math.inf if b.get("cost") is None else float(b["cost"]), b.get("epoch"), int(b.get("wait", 0)),
                arrays["best.params"].astype(net.dtype) if "best.params" in arrays else None)
    pending = meta.get("pending")
    if pending is not None:
        pending = Pending(float(pending["lr"]),
                          arrays["pending.order"].astype(np.intp) if "pending.order" in arrays else None,
                          int(pending["step"]), float(pending["total"]), int(pending["batch_size"]),
                          int(pending["m"]))
    net.training_state = TrainingState(opt, schedule, np.random.Generator(bitgen), int(meta["epoch"]),
                                       History.from_dict(meta["history"]), int(meta.get("split_seed", 0)),
                                       best, pending, o["name"])
