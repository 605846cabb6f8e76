"""Which Dask cluster to use: an embedded local one, a scheduler's address, or the caller's client."""

from __future__ import annotations

import logging
import os
import re
from contextlib import suppress
from typing import Callable

__all__ = ["ClusterError", "connect", "local_workers", "worker_threads"]


class ClusterError(ConnectionError):
    """The Dask scheduler could not be reached, or was lost during a run."""


def local_workers() -> int:
    """Cores this process may use: the embedded cluster's default number of worker processes."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_threads(client) -> dict[str, int]:
    """The cluster's workers and their thread counts, asked of the scheduler now.

    ``Client.scheduler_info()`` is not used for this: it returns the client's cached identity,
    which a periodic refresh (asking for no workers) can overwrite between the fresh fetch and
    the return, so that a cluster of live workers reads as empty.
    """
    return dict(sorted(client.nthreads().items()))


def connect(client=None) -> tuple[object, Callable[[], None]]:
    """A ``distributed.Client`` and the function that releases what this call started.

    Parameters
    ----------
    client : None, str or distributed.Client
        None: an embedded ``LocalCluster`` of one single-threaded worker process per core.
        ``"local:N"``: the same with N workers. ``"tcp://host:port"`` (or any scheduler
        address): connect to a running ``dask scheduler``. A ``Client``: used as it is, never
        closed here.

    Returns
    -------
    client : distributed.Client
    close : callable
        Closes the client and the embedded cluster, if this call made them; otherwise does nothing.

    Raises
    ------
    ValueError
        For a value that is none of these.
    ClusterError
        When the scheduler does not answer.
    """
    import distributed

    if isinstance(client, distributed.Client):
        return client, lambda: None
    n_workers = None
    if client is None:
        n_workers = local_workers()
    elif isinstance(client, str) and client.startswith("local"):
        match = re.fullmatch(r"local(?::(\d+))?", client.strip())
        if not match or (match.group(1) is not None and int(match.group(1)) < 1):
            raise ValueError(f"scheduler {client!r}: expected 'local', 'local:N' with N >= 1 workers, or tcp://HOST:PORT")
        n_workers = int(match.group(1)) if match.group(1) else local_workers()
    elif not isinstance(client, str) or "://" not in client:
        raise ValueError(f"client must be a distributed.Client, 'local:N' or a scheduler address such as "
                         f"tcp://127.0.0.1:8786, got {client!r}")
    if n_workers is not None:
        try:
            cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.ERROR)
        except RuntimeError as exc:  # most often a script without a main guard: each worker re-imports it
            raise ClusterError(
                f"the embedded Dask cluster's worker processes did not start ({exc}). Worker processes import the "
                "script that starts them: in a script, put the code that trains under `if __name__ == "
                "\"__main__\":`, or pass a running scheduler's address as client=") from None
        c = distributed.Client(cluster)

        def close():
            with suppress(Exception):
                c.close()
            with suppress(Exception):
                cluster.close()

        return c, close
    try:
        c = distributed.Client(client, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"could not reach the Dask scheduler at {client}: {exc}. Start one with `dask scheduler` "
                           "and workers with `dask worker ADDRESS`") from None
    return c, c.close
