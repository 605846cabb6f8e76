"""How :func:`deltaprop.train` opens data on a Dask cluster: the objectives and the clean-up."""

from __future__ import annotations

from ..core import Network
from ..train.objective import OpenedData
from .cluster import connect
from .objective import DaskObjective, NothingToLearn

__all__ = ["is_dask_collection", "open_data"]


def is_dask_collection(X) -> bool:
    """Whether X is a dask array, DataFrame or Series (checked without importing dask)."""
    return hasattr(X, "__dask_graph__") and hasattr(X, "to_delayed")


def open_data(net: Network, X, Y, sample_weight=None, *, validation=None, validation_split: float | None = None,
              split_seed: int = 0, client=None) -> OpenedData:
    """The training (and validation) objectives over dask collections, on ``client``'s cluster.

    Parameters
    ----------
    net : Network
    X, Y, sample_weight
        Dask collections split alike by rows (see :class:`DaskObjective`).
    validation : tuple (X_val, Y_val) or (X_val, Y_val, w_val) of dask collections, optional
    validation_split : float in (0, 1), optional
        Hold out each row of partition k with this probability, drawn on the workers by a generator
        seeded with ``(split_seed, k)`` (:func:`~deltaprop.distributed.objective.held_out`): the
        training objective loads the other rows, the validation objective these.
    split_seed : int
    client : None, str or distributed.Client
        As for :func:`deltaprop.distributed.connect`.

    Returns
    -------
    OpenedData
        Its ``close`` releases the partitions and stops an embedded cluster.
    """
    if validation is not None and not all(v is None or is_dask_collection(v) for v in validation):
        raise ValueError("validation: X is a dask collection, so the validation data must be dask collections too")
    c, close_client = connect(client)
    made = []

    def close():
        for obj in made:
            obj.close()
        close_client()

    try:
        if validation_split is not None:
            split = float(validation_split), int(split_seed)
            made.append(DaskObjective(net, X, Y, sample_weight, client=c, split=(*split, False)))
            try:
                made.append(DaskObjective(net, X, Y, sample_weight, client=c, split=(*split, True)))
            except NothingToLearn as exc:  # any other refusal (bad data, no workers) is passed on as it is
                raise ValueError(f"validation_split={validation_split:g} held out no usable rows ({exc}); "
                                 "use a larger fraction") from None
        else:
            made.append(DaskObjective(net, X, Y, sample_weight, client=c))
        if validation is not None:
            try:
                made.append(DaskObjective(net, *validation, client=c))
            except ValueError as exc:
                raise ValueError(f"validation: {exc}") from None
    except BaseException:
        close()
        raise
    return OpenedData(made[0], made[1] if len(made) > 1 else None, close)
