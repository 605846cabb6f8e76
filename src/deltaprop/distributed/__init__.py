"""Training on data that lives on a Dask cluster (the optional extra ``deltaprop[distributed]``).

UFLDL's tutorial and AIMA's textbook define J as a mean over examples, so J and its gradient
are sums over rows and full-batch training is a map-reduce: the workers hold the partitions
and return per-partition sums, the driver adds them in a fixed order, adds weight decay and
L1 once, and runs the optimizer (gradient descent, Rprop, L-BFGS) exactly as it does in one
process. :class:`DaskObjective` plugs into :func:`deltaprop.train` through its objective seam;
it also answers for a few whole partitions, the minibatches of synchronous large-batch training
(``batch_size`` of at least ``deltaprop.train.MIN_REMOTE_BATCH`` rows, one reduction per step).
:func:`holdout` splits rows into training and validation partition by partition, seeded.

Needs ``dask`` and ``distributed`` (``pip install "deltaprop[distributed]"``).
"""

from __future__ import annotations

from .cluster import ClusterError, connect, local_workers, worker_threads
from .data import ClusterTable, holdout, read
from .objective import DaskObjective, Group, group_sums, load_group
from .source import is_dask_collection, open_data

__all__ = ["ClusterError", "ClusterTable", "DaskObjective", "Group", "connect", "group_sums", "holdout",
           "is_dask_collection", "load_group", "local_workers", "open_data", "read", "worker_threads"]
