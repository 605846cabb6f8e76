"""Learning-rate schedules: the eta used in each epoch.

``rate(epoch, base)`` gives the learning rate of ``epoch`` (0-based) from the
optimizer's base rate. ``ReduceOnPlateau`` also ``observe``s the monitored cost at
the end of each epoch (the validation cost when there is one).
"""

from __future__ import annotations

import numbers

__all__ = ["Schedule", "Constant", "Step", "Exponential", "InverseScaling", "ReduceOnPlateau", "get_schedule",
           "available_schedules"]


def _check(value, name, lo=0.0, hi=None, *, integer=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if integer:
        ok = ok and isinstance(value, numbers.Integral)
    ok = ok and value > lo and (hi is None or value <= hi)
    if not ok:
        rng = f"> {lo:g}" + ("" if hi is None else f" and <= {hi:g}")
        raise ValueError(f"{name} must be {'an int' if integer else 'a number'} {rng}, got {value!r}")
    return value


class Schedule:
    """Base class: constant rate."""

    name = "constant"

    def rate(self, epoch: int, base: float) -> float:
        return base

    def observe(self, cost: float) -> None:
        """Called with the monitored cost at the end of every epoch."""

    def hyperparameters(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """eta_e = eta."""


class Step(Schedule):
    """eta_e = eta * gamma^floor(e / step_size)."""

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.5):
        self.step_size = _check(step_size, "step_size", integer=True)
        self.gamma = _check(gamma, "gamma", hi=1.0)

    def rate(self, epoch, base):
        return base * self.gamma ** (epoch // self.step_size)

    def hyperparameters(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class Exponential(Schedule):
    """eta_e = eta * gamma^e."""

    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        self.gamma = _check(gamma, "gamma", hi=1.0)

    def rate(self, epoch, base):
        return base * self.gamma**epoch

    def hyperparameters(self):
        return {"gamma": self.gamma}


class InverseScaling(Schedule):
    """eta_e = eta / (e + 1)^power (scikit-learn's 'invscaling', per epoch)."""

    name = "invscaling"

    def __init__(self, power: float = 0.5):
        self.power = _check(power, "power")

    def rate(self, epoch, base):
        return base / (epoch + 1) ** self.power

    def hyperparameters(self):
        return {"power": self.power}


class ReduceOnPlateau(Schedule):
    """Multiply eta by ``factor`` when the monitored cost has not improved by a relative
    ``threshold`` for ``patience`` epochs; never below ``min_lr``."""

    name = "plateau"

    def __init__(self, factor: float = 0.5, patience: int = 5, threshold: float = 1e-4, min_lr: float = 0.0):
        self.factor = _check(factor, "factor", hi=1.0)
        self.patience = _check(patience, "patience", lo=-1, integer=True)
        if not (isinstance(threshold, numbers.Real) and threshold >= 0):
            raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
        self.threshold = threshold
        if not (isinstance(min_lr, numbers.Real) and min_lr >= 0):
            raise ValueError(f"min_lr must be a number >= 0, got {min_lr!r}")
        self.min_lr = min_lr
        self.scale = 1.0
        self.best = float("inf")
        self.wait = 0

    def rate(self, epoch, base):
        return max(base * self.scale, self.min_lr)

    def observe(self, cost):
        target = self.best * (1 - self.threshold) if self.best > 0 else self.best
        if cost < target:
            self.best = cost
            self.wait = 0
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.scale *= self.factor
                self.wait = 0

    def hyperparameters(self):
        return {"factor": self.factor, "patience": self.patience, "threshold": self.threshold, "min_lr": self.min_lr}

    def state_dict(self):
        return {"scale": self.scale, "best": self.best, "wait": self.wait}

    def load_state_dict(self, state):
        self.scale = float(state["scale"])
        self.best = float("inf") if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])


_SCHEDULES = {cls.name: cls for cls in (Constant, Step, Exponential, InverseScaling, ReduceOnPlateau)}


def get_schedule(spec, **options) -> Schedule:
    """A schedule from a name (``constant``, ``step``, ``exponential``, ``invscaling``,
    ``plateau``), a :class:`Schedule`, or None (constant)."""
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower().replace("-", "_")
        key = {"inverse_scaling": "invscaling", "reduce_on_plateau": "plateau"}.get(key, key)
        if key in _SCHEDULES:
            return _SCHEDULES[key](**options)
    raise ValueError(f"unknown schedule {spec!r}; expected one of {', '.join(sorted(_SCHEDULES))} or a Schedule")


def available_schedules() -> list[str]:
    """Names accepted by :func:`get_schedule` (and the only ones a checkpoint may name)."""
    return sorted(_SCHEDULES)
