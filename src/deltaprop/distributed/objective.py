"""J and its gradient over data that lives on a Dask cluster: a map-reduce of per-partition sums.

The seed's J is a mean over examples plus the regularization terms, so

    J = (1/M) sum_k m_k J_k + lambda/2 sum W^2 (+ l1 sum |W|),
    grad J = (1/M) sum_k m_k grad J_k + lambda W (+ l1 sign W),

where J_k is the mean loss over partition k (m_k rows, or the sum of its sample weights) and
M = sum_k m_k. Each worker holds a *group* of partitions as one task result, together with a
copy of the network **without** its regularization; one task per group returns
``(sum m_k J_k, sum m_k grad J_k, sum m_k)``; the driver adds the groups in a fixed order and
adds weight decay and L1 once. The data never passes through the driver: the groups are
computed on the workers from the collection's own tasks (reading a file, say), so a lost
worker's group is recomputed from that lineage on another worker.
"""

from __future__ import annotations

import numpy as np

from ..core import Network
from ..core.backprop import add_regularization_gradient
from ..train import metrics
from ..train.objective import PartitionedObjective
from .cluster import ClusterError, worker_threads

__all__ = ["DaskObjective", "Group", "NothingToLearn", "load_group", "group_sums"]


class Group:
    """What one worker holds: a network without regularization and a few checked partitions.

    Attributes
    ----------
    net : Network
        A copy of the driver's network with ``weight_decay = l1 = 0``; its parameters are
        set to the driver's on every evaluation.
    parts : list of tuple
        ``(X, Y, sample_weight)`` per partition, in the collection's order, each passed
        through ``net.check_data``; empty partitions are dropped.
    index : list of int
        The collection's number of each kept partition (``parts[i]`` is partition ``index[i]``).
    sizes : list of int
        Examples in each of the group's partitions, dropped ones included.
    rows : int
        Examples in the group (those of dropped partitions included).
    weight : float
        The group's share of the mean's denominator: its rows, or the sum of its sample weights.
    weightless : list of tuple
        ``(X, Y)`` of the partitions whose examples all weigh 0: no part of J, but rows that a
        metric (accuracy, R^2) counts, as it does in memory.
    """

    def __init__(self, net: Network, parts: list, rows: int, index: list | None = None, sizes: list | None = None,
                 weightless: list | None = None):
        self.net = net
        self.parts = parts
        self.weightless = [] if weightless is None else weightless
        self.rows = rows
        self.index = list(range(len(parts))) if index is None else index
        self.sizes = [X.shape[0] for X, _, _ in parts] if sizes is None else sizes
        self.weight = float(sum(X.shape[0] if w is None else float(w.sum()) for X, _, w in parts))


class NothingToLearn(ValueError):
    """The data loaded has no rows, or none with a positive weight (a split can leave it so)."""


def held_out(n_rows: int, fraction: float, seed: int, number: int) -> np.ndarray:
    """Which of partition ``number``'s ``n_rows`` rows are held out for validation: a draw of its own
    generator, seeded by ``(seed, number)``, so the same rows on every worker, every read and every
    resume (the share is ``fraction`` in expectation, not exactly)."""
    return np.random.default_rng([int(seed), int(number)]).random(n_rows) < fraction


def load_group(net: Network, first: int, xs: list, ys: list, ws: list | None,
               split: tuple | None = None) -> Group:
    """Runs on a worker: check and keep partitions ``first, first + 1, ...`` of X, Y (and weights);
    with ``split = (fraction, seed, held)``, only each partition's :func:`held_out` rows (``held``)
    or only the others."""
    local = net.copy()
    local.weight_decay, local.l1 = 0.0, 0.0  # the driver adds the regularization once
    local.training_state = None
    parts, rows, index, sizes, weightless = [], 0, [], [], []
    for i, (X, Y) in enumerate(zip(xs, ys)):
        if np.shape(X)[0] == 0:  # a partition left empty (rows dropped for gaps, or none held out) adds nothing
            sizes.append(0)
            continue
        w = None if ws is None else np.asarray(ws[i])
        no_weight = w is not None and w.ndim == 1 and w.shape[0] == np.shape(X)[0] and not w.any()
        try:  # a partition whose examples all weigh 0 is checked, then kept aside: it adds nothing to J
            X, Y, w = local.check_data(np.asarray(X), np.asarray(Y), None if no_weight else w)
        except ValueError as exc:
            raise ValueError(f"partition {first + i}: {exc}") from None
        if split is not None:
            fraction, seed, held = split
            keep = held_out(X.shape[0], fraction, seed, first + i)
            keep = keep if held else ~keep
            X, Y, w = X[keep], Y[keep], None if w is None else w[keep]
            no_weight = no_weight or (w is not None and X.shape[0] > 0 and not w.any())
        rows += X.shape[0]
        sizes.append(int(X.shape[0]))
        if X.shape[0] and not no_weight:
            parts.append((X, Y, w))
            index.append(first + i)
        elif X.shape[0]:
            weightless.append((X, Y))
    return Group(local, parts, rows, index, sizes, weightless)


def group_sums(group: Group, params: np.ndarray, which=None) -> tuple[float, np.ndarray | None, float]:
    """Runs on a worker: ``(sum m_k J_k, sum m_k grad J_k, sum m_k)`` over the group's partitions.

    ``params`` of shape (n_params,) are the driver's; the gradient sum is float64 (None for an
    empty group). ``which``, a collection of partition numbers, limits the sums to those
    partitions (a minibatch). Partitions are added in their fixed order, so the result is
    reproducible bit for bit.
    """
    net = group.net
    net.set_params(params)
    J_sum, g_sum, weight = 0.0, None, 0.0
    buf = np.empty(net.n_params, dtype=net.dtype)
    for k, (X, Y, w) in zip(group.index, group.parts):
        if which is not None and k not in which:
            continue
        m_k = float(X.shape[0]) if w is None else float(w.sum())
        weight += m_k
        J, g = net.loss_and_grad(X, Y, sample_weight=w, out=buf)
        J_sum += m_k * J
        if g_sum is None:
            g_sum = m_k * g.astype(np.float64)
        else:
            g_sum += m_k * g
    return J_sum, g_sum, weight if which is not None else group.weight


def group_loss(group: Group, params: np.ndarray) -> float:
    """Runs on a worker: ``sum m_k J_k`` over the group's partitions (no gradient)."""
    net = group.net
    net.set_params(params)
    total = 0.0
    for X, Y, w in group.parts:
        m_k = float(X.shape[0]) if w is None else float(w.sum())
        total += m_k * net.loss(X, Y, sample_weight=w)
    return total


def _rows_of(group: Group):
    """Every (X, Y) the group holds, weightless partitions included (a metric counts their rows)."""
    return [(X, Y) for X, Y, _ in group.parts] + group.weightless


def group_correct(group: Group, params: np.ndarray, single_label: bool) -> int:
    """Runs on a worker: how many of the group's examples the network at ``params`` gets right."""
    net = group.net
    net.set_params(params)
    return sum(metrics.n_correct(net.predict(X), Y, single_label=single_label) for X, Y in _rows_of(group))


def group_target_spread(group: Group, scale: np.ndarray | None) -> tuple:
    """Runs on a worker: with ``scale`` None, each target column's largest magnitude (shape
    (n_outputs,)); else the rows, mean and sum of squared deviations of Y / scale per column,
    partition by partition (merged on the driver, in a fixed order)."""
    rows = _rows_of(group)
    if scale is None:
        return [np.abs(np.asarray(Y, dtype=np.float64)).max(axis=0) for _, Y in rows]
    out = []
    for _, Y in rows:
        Y = np.asarray(Y, dtype=np.float64) / scale
        mean = Y.mean(axis=0)
        out.append((Y.shape[0], mean, ((Y - mean) ** 2).sum(axis=0)))
    return out


def group_residuals(group: Group, params: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Runs on a worker: sum over the group's examples of ((Y - h) / scale)^2 per output column."""
    net = group.net
    net.set_params(params)
    total = np.zeros(net.n_outputs)
    for X, Y in _rows_of(group):
        total += (((np.asarray(Y, dtype=np.float64) - net.predict(X)) / scale) ** 2).sum(axis=0)
    return total


def group_info(group: Group) -> tuple[int, float, list]:
    """Runs on a worker: the group's rows, weight and rows per partition, so the driver knows M without the data."""
    return group.rows, group.weight, group.sizes


def row_partitions(X, Y, sample_weight, n_inputs: int) -> tuple[list, list, list | None]:
    """Aligned per-partition pieces (dask delayed objects) of X, Y and the weights.

    Accepts dask arrays (rows in chunks; columns are put in one chunk) and dask DataFrames or
    Series (their partitions). Y and the weights must be split like X: the same row chunks for
    arrays, the same number of partitions for frames.
    """
    def pieces(a, name, two_d, chunks=None):
        if hasattr(a, "divisions") and hasattr(a, "to_delayed"):  # a dask DataFrame or Series
            return list(a.to_delayed()), None
        if not (hasattr(a, "chunks") and hasattr(a, "to_delayed")):
            raise ValueError(f"{name} must be a dask array or DataFrame when X is one, got {type(a).__name__}")
        if a.ndim == 2:
            if name == "X" and a.shape[1] != n_inputs:
                raise ValueError(f"X has {a.shape[1]} features, but the network was built for {n_inputs}")
            a = a.rechunk({1: -1})
        elif a.ndim != 1 or (two_d and name == "X"):
            raise ValueError(f"{name} must be a 2-D dask array of shape (n_samples, {n_inputs}), got {a.ndim}-D")
        if chunks is not None and a.chunks[0] != chunks:
            if any(np.isnan(c) for c in a.chunks[0]) or any(np.isnan(c) for c in chunks):
                raise ValueError(f"{name} is split into rows differently from X and its chunk sizes are unknown; "
                                 "compute them first (dask array .compute_chunk_sizes())")
            a = a.rechunk({0: chunks})
        parts = a.to_delayed()
        return list(parts.ravel() if a.ndim == 1 else parts[:, 0]), a.chunks[0]

    xs, chunks = pieces(X, "X", True)
    ys, _ = pieces(Y, "Y", False, chunks)
    ws = None if sample_weight is None else pieces(sample_weight, "sample_weight", False, chunks)[0]
    for name, p in (("Y", ys), ("sample_weight", ws)):
        if p is not None and len(p) != len(xs):
            raise ValueError(f"{name} has {len(p)} partitions but X has {len(xs)}; split them alike")
    return xs, ys, ws


class DaskObjective(PartitionedObjective):
    """J and its gradient over dask collections, summed per partition on the workers.

    Besides the whole data's J (full-batch training), :meth:`loss_and_grad_on` answers for a
    few whole partitions: the minibatches of synchronous large-batch training, one round trip
    each, sent only to the groups that hold them.

    Parameters
    ----------
    net : Network
        The driver's network; its regularization is added here, once. Its ``params`` are set
        to the requested parameters (as :class:`~deltaprop.train.InProcess` does).
    X : dask array of shape (n_samples, n_inputs), or dask DataFrame
    Y : dask array of shape (n_samples, n_outputs) or (n_samples,), or dask DataFrame/Series
    sample_weight : dask array of shape (n_samples,), optional
    client : distributed.Client
        The cluster that computes and keeps the partitions.
    groups : int, optional
        Partition groups, one task each per evaluation. Default: one per worker thread (at
        most one per partition). Fixed for the objective's life: the reduction order and so
        every bit of J and the gradient depend only on the data and the number of groups.
    split : tuple (fraction, seed, held), optional
        Keep only part of each partition's rows, chosen on the workers while loading: row i of
        partition k is held out when :func:`held_out` ``(m_k, fraction, seed, k)`` marks it.
        ``held=True`` keeps the held-out rows (a validation objective), ``False`` the others (the
        training objective); two objectives with the same fraction and seed split the data
        exactly in two. Default: every row.

    Attributes
    ----------
    n_rows : int
        Examples over all partitions (after the split).
    partition_rows : list of int
        Examples per partition, in the collection's order.
    total_weight : float
        M: ``n_rows``, or the sum of the sample weights.
    groups : list of distributed.Future
        The group task results held on the workers.

    Raises
    ------
    ValueError
        For data the network cannot take; the message names the partition.

    Examples
    --------
    >>> import numpy as np, dask.array as da, deltaprop as dp                     # doctest: +SKIP
    >>> from distributed import Client, LocalCluster
    >>> from deltaprop.distributed import DaskObjective
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=False))
    >>> X = da.random.default_rng(0).normal(size=(1000, 3), chunks=250); Y = X.sum(axis=1)
    >>> net = dp.Network.layered([3, 4, 1], output="identity", weight_decay=1e-3, seed=0)
    >>> J, grad = DaskObjective(net, X, Y, client=client).loss_and_grad(net.params)
    """

    def __init__(self, net: Network, X, Y, sample_weight=None, *, client, groups: int | None = None,
                 split: tuple | None = None):
        import dask

        if not isinstance(net, Network):
            raise ValueError(f"net must be a deltaprop Network, got {type(net).__name__}")
        self.net = net
        self.client = client
        xs, ys, ws = row_partitions(X, Y, sample_weight, net.n_inputs)
        n_parts = len(xs)
        if n_parts == 0:
            raise ValueError("X has no partitions")
        workers = list(worker_threads(client).items())
        if not workers:
            raise ValueError("the Dask cluster has no workers")
        if groups is None:
            groups = sum(max(1, int(threads)) for _, threads in workers)
        n_groups = max(1, min(int(groups), n_parts))
        bounds = [g * n_parts // n_groups for g in range(n_groups + 1)]
        self.bounds = bounds
        self.groups = []
        for g in range(n_groups):
            a, b = bounds[g], bounds[g + 1]
            d = dask.delayed(load_group, pure=False)(net, a, xs[a:b], ys[a:b], None if ws is None else ws[a:b], split)
            # a hint, not a pin: a lost worker's group is recomputed elsewhere from its lineage
            self.groups.append(client.compute(d, workers=[workers[g % len(workers)][0]], allow_other_workers=True))
        info = client.gather([client.submit(group_info, f, pure=False) for f in self.groups])
        self.n_rows = int(sum(r for r, _, _ in info))
        self.total_weight = float(sum(w for _, w, _ in info))
        self.partition_rows = [int(r) for _, _, sizes in info for r in sizes]
        if self.n_rows == 0:
            raise NothingToLearn("X has no rows")
        if not self.total_weight > 0:
            raise NothingToLearn("sample_weight sums to 0 over the data; at least one example needs a positive weight")
        self._decay = None
        self._spread = None
        self._mask = net.weight_mask

    def _at(self, params):
        if params is not self.net.params:
            self.net.set_params(params)
        return np.array(self.net.params, dtype=self.net.dtype)  # what the workers get: the projected parameters

    def _decay_vector(self):
        lam = self.net.weight_decay
        if not lam:
            return None
        if self._decay is None or self._decay[0] != lam:
            self._decay = (lam, (self._mask * lam).astype(self.net.dtype))
        return self._decay[1]

    def _map(self, fn, params, groups=None, *args):
        import asyncio
        import concurrent.futures

        try:
            groups = self.groups if groups is None else groups
            futures = [self.client.submit(fn, g, params, *args, pure=False) for g in groups]
            return self.client.gather(futures)
        except (OSError, TimeoutError, asyncio.TimeoutError, concurrent.futures.CancelledError,
                asyncio.CancelledError) as exc:
            raise ClusterError(
                f"lost the Dask scheduler at {self.client.scheduler.address} during training ({type(exc).__name__}: "
                f"{exc}); the network keeps the parameters of the last finished iteration"
            ) from None

    def loss_and_grad(self, params, out=None, *, scale=1.0):
        p = self._at(params)
        results = self._map(group_sums, p)
        J_sum, g_sum = 0.0, np.zeros(self.net.n_params)
        for J_g, g_g, _ in results:  # a fixed order: the groups' own
            J_sum += J_g
            if g_g is not None:
                g_sum += g_g
        M = self.total_weight
        J = J_sum / M + self.net.regularization()
        grad = np.empty(self.net.n_params, dtype=self.net.dtype) if out is None else out
        np.multiply(g_sum, scale / M, out=grad, casting="same_kind")
        add_regularization_gradient(grad, self.net.params, self._decay_vector(), self.net.l1, self._mask,
                                    scale)
        return J, grad

    def loss_and_grad_on(self, parts, params, out=None, *, scale=1.0):
        """``(J, scale * dJ/dparams)`` over the rows of partitions ``parts`` only (a minibatch of
        whole partitions), or ``(None, None)`` when they weigh nothing; one round trip, to the
        groups that hold them. Their weighted mean loss, plus the regularization added once."""
        which = {int(k) for k in parts}
        holders = [g for g in range(len(self.groups)) if any(self.bounds[g] <= k < self.bounds[g + 1] for k in which)]
        p = self._at(params)
        results = self._map(group_sums, p, [self.groups[g] for g in holders], which)
        J_sum, g_sum, M = 0.0, np.zeros(self.net.n_params), 0.0
        for J_g, g_g, w_g in results:  # a fixed order: the groups' own
            J_sum += J_g
            M += w_g
            if g_g is not None:
                g_sum += g_g
        if not M > 0:
            return None, None
        J = J_sum / M + self.net.regularization()
        grad = np.empty(self.net.n_params, dtype=self.net.dtype) if out is None else out
        np.multiply(g_sum, scale / M, out=grad, casting="same_kind")
        add_regularization_gradient(grad, self.net.params, self._decay_vector(), self.net.l1, self._mask, scale)
        return J, grad

    def loss(self, params):
        p = self._at(params)
        return sum(self._map(group_loss, p)) / self.total_weight + self.net.regularization()

    def metric(self, params: np.ndarray, name: str) -> float:
        """``name`` ("accuracy" or "r2") of the network at ``params`` over all the rows, as
        :mod:`deltaprop.train.metrics` defines it in memory (sample weights play no part there
        either): one round trip, summing counts or residuals per partition. R^2's constants (each
        target column's scale and total sum of squares) are computed on the first call, since Y
        does not change."""
        p = self._at(params)
        if name == "accuracy":
            return sum(self._map(group_correct, p, None, metrics.is_single_label(self.net))) / self.n_rows
        if name == "r2":
            scale, ss_tot = self._target_spread()
            ss_res = np.zeros_like(scale)
            for r in self._map(group_residuals, p, None, scale):  # a fixed order: the groups' own
                ss_res += r
            return metrics.r2_from_sums(ss_res, ss_tot)
        raise ValueError(f"unknown metric {name!r}; expected 'accuracy' or 'r2'")

    def _target_spread(self):
        """(scale, ss_tot) per target column: the largest |Y| (1 where Y is all 0), and the sum of
        squared deviations of Y / scale from its mean, merged from the partitions' own (Chan et
        al.'s pairwise update, stable where a one-pass sum of squares would cancel)."""
        if self._spread is None:
            # through _map, as every other round trip: a lost scheduler ends the run as a ClusterError
            tops = [t for group in self._map(group_target_spread, None) for t in group]
            scale = np.max(tops, axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            n, mean, m2 = 0, np.zeros_like(scale), np.zeros_like(scale)
            for group in self._map(group_target_spread, scale):
                for n_k, mean_k, m2_k in group:
                    d = mean_k - mean
                    total = n + n_k
                    mean = mean + d * (n_k / total)
                    m2 = m2 + m2_k + d * d * (n * n_k / total)
                    n = total
            self._spread = (scale, m2)
        return self._spread

    def close(self) -> None:
        """Release the partitions held on the workers."""
        for f in self.groups:
            f.release()
        self.groups = []
