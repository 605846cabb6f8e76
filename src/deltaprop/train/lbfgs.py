"""L-BFGS: a solver over the whole J, not an update rule (UFLDL's own choice for its exercises).

SciPy's L-BFGS-B chooses its own steps by line search and keeps its curvature memory
internally, so it is run as one call over a full-batch :class:`~deltaprop.train.objective.Objective`;
one "epoch" of :func:`deltaprop.train` is one of its iterations. A warm start continues from the
current parameters with an empty curvature memory.

One BLAS thread pool at a time: NumPy and SciPy each load their own OpenBLAS, each with a pool of
threads that spin for a while after every call. L-BFGS-B's own vector algebra (SciPy's BLAS, on
vectors of n_params numbers) gains nothing from threads, yet its pool woke and spun against
NumPy's on every iteration: on 2 cores a 500-row problem ran 10-15x slower than on one thread.
So while SciPy works every BLAS pool runs one thread, and each evaluation of J and its gradient
(NumPy's matrix products, the real work) gets back the thread counts the caller had.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Callable

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = ["LBFGS", "check_positive"]


def minimize(*args, **kwargs):
    """SciPy's ``scipy.optimize.minimize``, imported on first use (importing it costs about 0.2 s
    of every command's start-up, most of which never run L-BFGS)."""
    from scipy.optimize import minimize as scipy_minimize

    return scipy_minimize(*args, **kwargs)


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
        pools = ThreadpoolController().select(user_api="blas").lib_controllers
        own = [pool.num_threads for pool in pools]  # the caller's counts (a threadpool_limits of theirs included)

        def evaluate(x):
            with _threads(pools, own):  # J and gradient: NumPy's products on the caller's threads
                return objective(x)

        def cb(intermediate_result):
            self.t += 1
            with _threads(pools, own):
                stop = callback(intermediate_result.x, float(intermediate_result.fun))
            if stop:
                stopped["flag"] = True
                raise StopIteration

        with _threads(pools, [1] * len(pools)):  # L-BFGS-B's own algebra: one thread, no pool spinning against NumPy's
            result = minimize(evaluate, x0, jac=True, method="L-BFGS-B", callback=cb,
                              options={"maxiter": max_iter, "maxcor": self.memory, "ftol": self.tol, "gtol": 1e-12})
        return result.x, int(result.nit), stopped["flag"]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"LBFGS({args})"


@contextmanager
def _threads(pools: list, counts: list):
    """Run the block with each BLAS pool (a threadpoolctl library controller) at its count; then restore."""
    before = [pool.num_threads for pool in pools]
    for pool, n in zip(pools, counts):
        pool.set_num_threads(n)
    try:
        yield
    finally:
        for pool, n in zip(pools, before):
            pool.set_num_threads(n)
