"""L-BFGS: a solver over the whole J, not an update rule (UFLDL's own choice for its exercises).

SciPy's L-BFGS-B chooses its own steps by line search and keeps its curvature memory
internally, so it is run as one call over a full-batch :class:`~deltaprop.train.objective.Objective`;
one "epoch" of :func:`deltaprop.train` is one of its iterations. A warm start continues from the
current parameters with an empty curvature memory.
"""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np
from scipy.optimize import minimize

__all__ = ["LBFGS", "check_positive"]


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """A finite float > 0 (or >= 0), or a ValueError naming the parameter."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


class LBFGS:
    """SciPy's L-BFGS-B on the whole J.

    Parameters
    ----------
    learning_rate : float, optional
        Unused (the line search chooses each step); accepted so that every method
        takes the same first argument.
    memory : int, default 10
        Number of correction pairs (SciPy's ``maxcor``).
    tol : float, default 1e-10
        Stop when the relative decrease of J falls below it (SciPy's ``ftol``).
    """

    name = "lbfgs"
    full_batch = True
    default_learning_rate = 1.0

    def __init__(self, learning_rate: float | None = None, *, memory: int = 10, tol: float = 1e-10):
        self.learning_rate = check_positive(self.default_learning_rate if learning_rate is None else learning_rate,
                                            "learning_rate")
        if isinstance(memory, bool) or not isinstance(memory, numbers.Integral) or memory < 1:
            raise ValueError(f"memory must be an int >= 1, got {memory!r}")
        self.memory = int(memory)
        self.tol = check_positive(tol, "tol", allow_zero=True)
        self.t = 0  # iterations done

    def hyperparameters(self) -> dict:
        """The settings (JSON-able), enough to rebuild the solver with ``get_optimizer``."""
        return {"learning_rate": self.learning_rate, "memory": self.memory, "tol": self.tol}

    def solve(self, objective: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, *,
              max_iter: int, callback: Callable[[np.ndarray, float], bool]):
        """Minimise from ``x0`` (float64).

        Parameters
        ----------
        objective : callable(x) -> (J, grad)
            J and its gradient at x (both finite, or J = inf to make the line search back off).
        x0 : ndarray of shape (n_params,)
        max_iter : int
        callback : callable(x, J) -> bool
            Called after each iteration; True stops the solver.

        Returns
        -------
        x : ndarray
            The parameters where the solver stopped.
        iterations : int
        stopped : bool
            True when ``callback`` asked to stop.
        """
        stopped = {"flag": False}

        def cb(intermediate_result):
            self.t += 1
            if callback(intermediate_result.x, float(intermediate_result.fun)):
                stopped["flag"] = True
                raise StopIteration

        result = minimize(objective, x0, jac=True, method="L-BFGS-B", callback=cb,
                          options={"maxiter": max_iter, "maxcor": self.memory, "ftol": self.tol, "gtol": 1e-12})
        return result.x, int(result.nit), stopped["flag"]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"LBFGS({args})"
