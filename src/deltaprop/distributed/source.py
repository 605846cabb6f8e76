"""How :func:`deltaprop.train` opens data on a Dask cluster: the objectives and the clean-up."""

from __future__ import annotations

from ..core import Network
from ..train.objective import OpenedData
from .cluster import connect
from .objective import DaskObjective

__all__ = ["is_dask_collection", "open_data"]


def is_dask_collection(X) -> bool:
    """Whether X is a dask array, DataFrame or Series (checked without importing dask)."""
    return hasattr(X, "__dask_graph__") and hasattr(X, "to_delayed")


def open_data(net: Network, X, Y, sample_weight=None, *, validation=None, client=None) -> OpenedData:
    """The training (and validation) objectives over dask collections, on ``client``'s cluster.

    Parameters
    ----------
    net : Network
    X, Y, sample_weight
        Dask collections split alike by rows (see :class:`DaskObjective`).
    validation : tuple (X_val, Y_val) or (X_val, Y_val, w_val) of dask collections, optional
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
        made.append(DaskObjective(net, X, Y, sample_weight, client=c))
        if validation is not None:
            try:
                made.append(DaskObjective(net, *validation, client=c))
            except ValueError as exc:
                raise ValueError(f"validation: {exc}") from None
    except BaseException:
        close()
        raise
    return OpenedData(made[0], made[1] if validation is not None else None, close)
