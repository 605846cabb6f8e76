"""The full-batch objective: J and its gradient over a whole data set, as one object.

Full-batch training (UFLDL's batch gradient descent, Rprop, L-BFGS) and the validation cost
only ever ask one question: given parameters, what are J and dJ/dparams over all the data?
:class:`Objective` is that question; :class:`InProcess` answers it with the network's own
chunked evaluation. Another implementation (data on a cluster, summed per partition) plugs
into :func:`deltaprop.train` without touching the loop.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core import Network

__all__ = ["Objective", "InProcess", "OpenedData", "PartitionedObjective", "register_source", "source_for"]


class Objective(abc.ABC):
    """J(params) and its gradient over a fixed data set.

    Attributes
    ----------
    n_rows : int
        Examples in the data set.
    """

    n_rows: int

    @abc.abstractmethod
    def loss_and_grad(self, params: np.ndarray, out: np.ndarray | None = None, *, scale: float = 1.0):
        """``(J, scale * dJ/dparams)`` at ``params``; the gradient is written into ``out`` when given."""

    @abc.abstractmethod
    def loss(self, params: np.ndarray) -> float:
        """J at ``params``."""

    def metric(self, params: np.ndarray, name: str) -> float:
        """The metric ``name`` ("accuracy" or "r2", as :mod:`deltaprop.train.metrics` defines
        them) of the network at ``params`` over the data. Objectives over data held elsewhere
        implement it so that training's history records metrics; in memory the loop computes
        them itself."""
        raise ValueError(f"{type(self).__name__} does not compute metrics; use metric=None")


class PartitionedObjective(Objective):
    """An objective over data split into partitions that can also answer for a few of them.

    Synchronous large-batch minibatch training on data held elsewhere (a Dask cluster) takes
    each minibatch as a set of whole partitions: J and its gradient over those partitions'
    rows only, in one round trip.

    Attributes
    ----------
    partition_rows : list of int
        Examples per partition, in the data's order (empty partitions included).
    """

    partition_rows: list

    @abc.abstractmethod
    def loss_and_grad_on(self, parts, params: np.ndarray, out: np.ndarray | None = None, *, scale: float = 1.0):
        """``(J, scale * dJ/dparams)`` over the rows of partitions ``parts`` (indices into
        ``partition_rows``): their weighted mean loss plus the regularization, as a minibatch of
        exactly those rows gives it in one process. ``(None, None)`` when those rows weigh nothing."""


class InProcess(Objective):
    """The objective evaluated by ``net`` itself on in-memory arrays.

    Parameters
    ----------
    net : Network
        Its ``params`` are set to the requested parameters when they differ (L-BFGS's trial points).
    X, Y, sample_weight
        Arrays already passed through ``net.check_data``.
    """

    def __init__(self, net: Network, X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None = None):
        self.net = net
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.n_rows = X.shape[0]

    def _at(self, params):
        if params is not self.net.params:
            self.net.set_params(params)

    def loss_and_grad(self, params, out=None, *, scale=1.0):
        self._at(params)
        return self.net.loss_and_grad(self.X, self.Y, sample_weight=self.sample_weight, out=out, scale=scale)

    def loss(self, params):
        self._at(params)
        return self.net.loss(self.X, self.Y, sample_weight=self.sample_weight)


# --- data held elsewhere (a cluster): adapters register how to open it ----------------------------


@dataclass
class OpenedData:
    """What an adapter for data held elsewhere gives :func:`deltaprop.train`.

    Attributes
    ----------
    objective : Objective
        J and its gradient over the training data.
    validation : Objective or None
        The same over the validation data, when some was given.
    close : callable
        Called once when training ends (releases the data, stops an embedded cluster).
    """

    objective: Objective
    validation: Objective | None
    close: Callable[[], None]


SOURCES: list = []  # (recognizes, opener) pairs, in registration order


def register_source(recognizes: Callable[[object], bool], opener: Callable[..., OpenedData]) -> None:
    """Teach :func:`deltaprop.train` a kind of data it does not hold in memory.

    Parameters
    ----------
    recognizes : callable(X) -> bool
        Whether ``X`` is such data; must not import anything heavy (it is asked about every X).
    opener : callable(net, X, Y, sample_weight, *, validation, validation_split, split_seed, client) -> OpenedData
        Builds the objectives; ``validation`` is the caller's ``(X_val, Y_val[, w_val])`` or None;
        ``validation_split`` (a fraction or None) asks it to hold out rows of the data itself,
        drawn from ``split_seed`` (an int the training state keeps, so a resumed run holds out
        the same rows). Those two are passed only when the caller asks for a split, so an opener
        without them keeps working for every other call. If the objectives it builds do not
        implement :meth:`Objective.metric`, ``metric="auto"`` records no metric and an explicit
        metric is refused before training.
    """
    SOURCES.append((recognizes, opener))


def source_for(X) -> Callable[..., OpenedData] | None:
    """The opener registered for ``X``'s kind of data, or None for in-memory arrays."""
    if isinstance(X, np.ndarray):
        return None
    for recognizes, opener in SOURCES:
        if recognizes(X):
            return opener
    return None
