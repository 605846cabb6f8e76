"""Training on a Dask cluster: the distributed objective equals the single-process one.

The clusters are small (2 workers x 1 thread) so that the tests run on a shared 2-core machine.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import deltaprop as dp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")

from deltaprop.distributed import DaskObjective  # noqa: E402


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.fixture(scope="module")
def client():
    """An in-process cluster: two workers of one thread each (threads, not processes: fast to start)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


def softmax_problem(m=1000, n=5, k=3, seed=0, weight_decay=1e-2, l1=1e-3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    Y = np.eye(k)[np.argmax(X @ rng.normal(size=(n, k)), axis=1)]  # learnable classes
    net = dp.Network.layered([n, 4, k], hidden="tanh", output="softmax", cost="cross_entropy",
                             weight_decay=weight_decay, l1=l1, seed=seed)
    return net, X, Y, rng


@pytest.mark.parametrize("hidden,output,cost", [
    ("tanh", "softmax", "cross_entropy"),
    ("relu", "identity", "squared"),
    ("sigmoid", "sigmoid", "cross_entropy"),
])
def test_objective_equals_single_process(client, hidden, output, cost):
    """J and the gradient at parameters other than the initial ones, with weight decay and L1
    (added once on the driver: adding them per partition would count them twice here)."""
    rng = np.random.default_rng(1)
    m, n, k = 1003, 6, 3
    X = rng.normal(size=(m, n))
    Y = {"softmax": np.eye(k)[rng.integers(0, k, m)], "identity": rng.normal(size=(m, k)),
         "sigmoid": rng.uniform(size=(m, k))}[output]
    net = dp.Network.layered([n, 5, k], hidden=hidden, output=output, cost=cost, weight_decay=3e-2, l1=1e-3, seed=2)
    obj = DaskObjective(net, da.from_array(X, chunks=(137, 2)), da.from_array(Y, chunks=(250, k)), client=client)
    assert obj.n_rows == m and len(obj.groups) == 2
    p = rng.normal(scale=0.7, size=net.n_params)
    J, g = obj.loss_and_grad(p)
    ref = net.copy()
    ref.set_params(p)
    J0, g0 = ref.loss_and_grad(X, Y)
    assert not np.allclose(p, dp.Network.layered([n, 5, k], hidden=hidden, output=output, seed=2).params)
    assert rel(J, J0) < 1e-12 and rel(g, g0) < 1e-12
    assert rel(obj.loss(p), J0) < 1e-12
    out = np.empty(net.n_params)
    J2, g2 = obj.loss_and_grad(p, out, scale=0.5)
    assert g2 is out and J2 == J and rel(g2, 0.5 * g0) < 1e-12


def test_objective_with_sample_weights_normalises_globally(client):
    """The weights' sum is taken over all the data, not per partition (zero-weight partitions included)."""
    net, X, Y, rng = softmax_problem()
    w = rng.uniform(0, 2, size=X.shape[0])
    w[:200] = 0.0  # the first partition weighs nothing
    obj = DaskObjective(net, da.from_array(X, chunks=200), da.from_array(Y, chunks=200),
                        da.from_array(w, chunks=200), client=client)
    p = rng.normal(size=net.n_params)
    ref = net.copy()
    ref.set_params(p)
    J0, g0 = ref.loss_and_grad(X, Y, sample_weight=w)
    J, g = obj.loss_and_grad(p)
    assert rel(J, J0) < 1e-12 and rel(g, g0) < 1e-12
    assert obj.total_weight == pytest.approx(w.sum())


def test_objective_is_reproducible_bit_for_bit(client):
    """A fixed reduction order: the same data and groups give the same bits, evaluation after evaluation."""
    net, X, Y, rng = softmax_problem()
    a = DaskObjective(net, da.from_array(X, chunks=100), da.from_array(Y, chunks=100), client=client)
    b = DaskObjective(net, da.from_array(X, chunks=100), da.from_array(Y, chunks=100), client=client)
    p = rng.normal(size=net.n_params)
    Ja, ga = a.loss_and_grad(p)
    ga = ga.copy()
    for obj in (a, b, a):
        J, g = obj.loss_and_grad(p)
        assert J == Ja and np.array_equal(g, ga)


def test_objective_takes_dataframes_and_a_1d_target(client):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y), npartitions=3)
    net = dp.Network.layered([3, 4, 1], hidden="tanh", output="identity", weight_decay=1e-3, seed=0)
    obj = DaskObjective(net, frame[["a", "b", "c"]], frame["y"], client=client)
    J, g = obj.loss_and_grad(net.params)
    J0, g0 = net.loss_and_grad(X, y[:, None])
    assert obj.n_rows == 400 and rel(J, J0) < 1e-12 and rel(g, g0) < 1e-12


def test_objective_on_worker_processes():
    """Worker processes: the network and the partitions travel by pickle, the sums come back equal."""
    net, X, Y, rng = softmax_problem(m=600)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            obj = DaskObjective(net, da.from_array(X, chunks=150), da.from_array(Y, chunks=150), client=c)
            p = rng.normal(size=net.n_params)
            J, g = obj.loss_and_grad(p)
            workers = set().union(*c.who_has(obj.groups).values())
    ref = net.copy()
    ref.set_params(p)
    J0, g0 = ref.loss_and_grad(X, Y)
    assert rel(J, J0) < 1e-12 and rel(g, g0) < 1e-12
    assert len(workers) == 2  # one group on each worker


# --- bad input: one clear line naming what is wrong ------------------------------------------------


def test_the_workers_are_asked_of_the_scheduler_not_a_cache_a_refresh_can_empty():
    """The client's periodic identity refresh (which asks for no workers) used to race the fetch that
    DaskObjective and the CLI made through ``Client.scheduler_info``: now and then a cluster of live
    workers read as empty and the run failed with "no workers". A 1 ms refresh makes the race frequent."""
    import dask

    from deltaprop.distributed import worker_threads

    with dask.config.set({"distributed.client.scheduler-info-interval": "1ms"}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
            c.wait_for_workers(2)
            seen = [len(worker_threads(c)) for _ in range(400)]
            net, X, Y, _ = softmax_problem(m=40)
            Xd, Yd = da.from_array(X, chunks=10), da.from_array(Y, chunks=10)
            groups = [len(DaskObjective(net, Xd, Yd, client=c).groups) for _ in range(40)]
    assert seen == [2] * 400
    assert groups == [2] * 40


def test_bad_partition_is_named(client):
    net, X, Y, _ = softmax_problem()
    Y = Y.copy()
    Y[650] = [2.0, 0.0, 0.0]  # not a probability row
    with pytest.raises(ValueError, match=r"partition 3: .*Y"):
        DaskObjective(net, da.from_array(X, chunks=200), da.from_array(Y, chunks=200), client=client)


def test_misaligned_and_wrong_types_are_refused(client):
    net, X, Y, _ = softmax_problem()
    with pytest.raises(ValueError, match="Y must be a dask array"):
        DaskObjective(net, da.from_array(X, chunks=200), Y, client=client)
    with pytest.raises(ValueError, match="X must be a 2-D dask array"):
        DaskObjective(net, da.from_array(X[:, 0], chunks=200), da.from_array(Y, chunks=200), client=client)
    with pytest.raises(ValueError, match="X has 4 features, but the network was built for 5"):
        DaskObjective(net, da.from_array(X[:, :4], chunks=200), da.from_array(Y, chunks=200), client=client)
    with pytest.raises(ValueError, match="sample_weight sums to 0"):
        DaskObjective(net, da.from_array(X, chunks=200), da.from_array(Y, chunks=200),
                      da.zeros(X.shape[0], chunks=200), client=client)


# --- dp.train on dask data: the same run as in one process ------------------------------------------


def dask_pair(X, Y, chunks=150):
    return da.from_array(X, chunks=chunks), da.from_array(Y, chunks=chunks)


@pytest.mark.parametrize("optimizer,epochs", [("lbfgs", 20), ("gd", 15), ("rprop", 15)])
def test_train_equals_single_process(client, optimizer, epochs):
    """The whole trajectory: every recorded cost and the final parameters, to 1e-12 relative."""
    net, X, Y, _ = softmax_problem(m=900, weight_decay=1e-3, l1=0.0)
    ref = net.copy()
    kw = dict(optimizer=optimizer, epochs=epochs, metric=None)
    if optimizer == "gd":
        kw.update(learning_rate=0.5, batch_size=None)
    h0 = dp.train(ref, X, Y, **kw)
    h = dp.train(net, *dask_pair(X, Y), client=client, **kw)
    assert len(h["cost"]) == len(h0["cost"]) == epochs
    assert rel(h["cost"], h0["cost"]) < 1e-12
    assert rel(net.params, ref.params) < 1e-12
    assert h0["cost"][-1] < 0.9 * h0["cost"][0]  # it did train


def test_train_with_validation_and_early_stopping(client):
    """The validation J is computed on the cluster the same way; early stopping restores the best epoch."""
    net, X, Y, rng = softmax_problem(m=800, weight_decay=0.0, l1=0.0)
    Xv, Yv = X[600:], rng.permutation(Y[600:])  # labels shuffled: the validation cost soon rises
    X, Y = X[:600], Y[:600]
    ref = net.copy()
    kw = dict(optimizer="lbfgs", epochs=30, early_stopping=3, metric=None)
    h0 = dp.train(ref, X, Y, validation=(Xv, Yv), **kw)
    h = dp.train(net, *dask_pair(X, Y), validation=dask_pair(Xv, Yv), client=client, **kw)
    assert h.stopped == h0.stopped == "early_stopping"
    assert h.best_epoch == h0.best_epoch and len(h["val_cost"]) == len(h0["val_cost"]) < 30
    assert rel(h["val_cost"], h0["val_cost"]) < 1e-12 and rel(net.params, ref.params) < 1e-12


def test_validation_split_holds_out_seeded_rows_on_the_workers(client):
    """validation_split on the cluster: each row of partition k is held out by the generator seeded with
    (the run's split seed, k); the run equals one process trained on the other rows with those rows as
    validation= (costs, validation costs, early stopping's restored epoch, to 1e-12), and a resumed run
    holds out the same rows (its state keeps the split seed)."""
    from deltaprop.distributed.objective import held_out

    net, X, Y, _ = softmax_problem(m=900, weight_decay=1e-3, l1=0.0)
    chunks = 150
    split_seed = int(np.random.default_rng(7).integers(2**63 - 1))  # the first draw of a fresh run's generator
    held = np.concatenate([held_out(chunks, 0.25, split_seed, k) for k in range(900 // chunks)])
    assert 150 < held.sum() < 300
    kw = dict(optimizer="lbfgs", epochs=30, early_stopping=3, seed=7)
    ref = net.copy()
    h0 = dp.train(ref, X[~held], Y[~held], validation=(X[held], Y[held]), **kw)
    h = dp.train(net, *dask_pair(X, Y, chunks), validation_split=0.25, client=client, **kw)
    assert h.stopped == h0.stopped and h.best_epoch == h0.best_epoch
    assert rel(h["cost"], h0["cost"]) < 1e-12 and rel(h["val_cost"], h0["val_cost"]) < 1e-12
    assert rel(h["metric"], h0["metric"]) < 1e-12  # the held-out rows' accuracy, computed on the workers
    assert rel(net.params, ref.params) < 1e-12
    more = dp.train(net, *dask_pair(X, Y, chunks), validation_split=0.25, client=client, optimizer="lbfgs",
                    epochs=2)
    more0 = dp.train(ref, X[~held], Y[~held], validation=(X[held], Y[held]), optimizer="lbfgs", epochs=2)
    assert rel(more["val_cost"][-2:], more0["val_cost"][-2:]) < 1e-12


def test_train_runs_are_bitwise_reproducible(client):
    net, X, Y, _ = softmax_problem(m=600)
    a, b = net.copy(), net.copy()
    ha = dp.train(a, *dask_pair(X, Y, chunks=77), optimizer="lbfgs", epochs=10, client=client)
    hb = dp.train(b, *dask_pair(X, Y, chunks=77), optimizer="lbfgs", epochs=10, client=client)
    assert ha["cost"] == hb["cost"] and np.array_equal(a.params, b.params)


def test_train_on_an_embedded_cluster():
    """client=None: a local cluster of worker processes, started and closed by train."""
    net, X, Y, _ = softmax_problem(m=400)
    ref = net.copy()
    dp.train(ref, X, Y, optimizer="lbfgs", epochs=5)
    h = dp.train(net, *dask_pair(X, Y, chunks=100), optimizer="lbfgs", epochs=5, client="local:2")
    assert rel(net.params, ref.params) < 1e-12 and h.stopped == "epochs"


def test_a_validation_split_refusal_is_relabelled_only_when_no_rows_were_held_out(client, monkeypatch):
    """"held out no usable rows" is said only when that is the cause: the workers vanishing between
    loading the training rows and the held-out ones is reported as itself."""
    from deltaprop.distributed import objective as objective_module

    net, X, Y, _ = softmax_problem(m=300)
    real, calls = objective_module.worker_threads, []

    def vanishing(c):
        calls.append(1)
        return real(c) if len(calls) == 1 else {}

    monkeypatch.setattr(objective_module, "worker_threads", vanishing)
    with pytest.raises(ValueError, match="^the Dask cluster has no workers$"):
        dp.train(net, *dask_pair(X, Y), optimizer="lbfgs", validation_split=0.2, client=client)
    assert len(calls) == 2


def test_train_refuses_what_needs_the_data_in_memory(client):
    net, X, Y, _ = softmax_problem(m=300)
    Xd, Yd = dask_pair(X, Y)
    with pytest.raises(ValueError, match="batch_size=32 is too small for data on a Dask cluster: every step is one "
                                         "round trip .* at least 10000 rows"):
        dp.train(net, Xd, Yd, optimizer="adam", batch_size=32, client=client)
    with pytest.raises(ValueError, match=r"validation_split must be a fraction in \(0, 1\), got 1.5"):
        dp.train(net, Xd, Yd, optimizer="lbfgs", validation_split=1.5, client=client)
    with pytest.raises(ValueError, match="validation_split=0.001 held out no usable rows .* use a larger fraction"):
        dp.train(net, *dask_pair(X[:20], Y[:20], chunks=10), optimizer="lbfgs", validation_split=0.001, client=client)
    with pytest.raises(ValueError, match="a callable metric needs the outputs in this process; for data on a Dask "
                                         "cluster use metric='accuracy' or 'r2'"):
        dp.train(net, Xd, Yd, optimizer="lbfgs", metric=lambda h, y: 0.0, client=client)
    with pytest.raises(ValueError, match="validation: X is a dask collection"):
        dp.train(net, Xd, Yd, optimizer="lbfgs", validation=(X, Y), client=client)
    with pytest.raises(ValueError, match="client= is for data on a Dask cluster"):
        dp.train(net, X, Y, optimizer="lbfgs", client=client)
    with pytest.raises(ValueError, match="scheduler 'local:0'"):
        dp.train(net, Xd, Yd, optimizer="lbfgs", client="local:0")
    with pytest.raises(ValueError, match="client must be a distributed.Client"):
        dp.train(net, Xd, Yd, optimizer="lbfgs", client="my-cluster")


# --- metrics on the cluster: sums per partition, the in-memory definitions ---------------------------


@pytest.mark.parametrize("kind", ["softmax", "labels", "regression"])
def test_the_clusters_metric_equals_the_in_memory_one(client, kind):
    """Accuracy (one class per row, and independent yes/no labels) and R^2 (columns of very different
    sizes, one near 1e300, one constant) at parameters other than the initial ones, with a partition
    that weighs nothing (its rows still count, as in memory, where a metric ignores the weights)."""
    from deltaprop.train import metrics

    rng = np.random.default_rng(3)
    m, n = 1100, 4
    X = rng.normal(size=(m, n))
    if kind == "softmax":
        Y = np.eye(3)[rng.integers(0, 3, m)]
        net = dp.Network.layered([n, 5, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=1)
    elif kind == "labels":
        Y = (rng.uniform(size=(m, 2)) < 0.5).astype(float)
        net = dp.Network.layered([n, 5, 2], hidden="tanh", output="sigmoid", cost="cross_entropy", seed=1)
    else:
        Y = np.column_stack([X[:, 0] * 3 + rng.normal(size=m), 1e299 * rng.normal(size=m), np.full(m, 2.5)])
        net = dp.Network.layered([n, 5, 3], hidden="tanh", output="identity", seed=1)
    w = np.ones(m)
    w[200:400] = 0.0  # the second partition weighs nothing
    obj = DaskObjective(net, da.from_array(X, chunks=200), da.from_array(Y, chunks=200), da.from_array(w, chunks=200),
                        client=client)
    for trial in range(2):
        p = rng.normal(scale=1.0, size=net.n_params)
        ref = net.copy()
        ref.set_params(p)
        h = ref.predict(X)
        if kind == "regression":
            h[:, 1] *= 1e299  # predictions on the column's scale: R^2 well away from its -inf floor
            ref.W[-1][1] *= 1e299
            ref.b[-1][1] *= 1e299
            p = ref.params.copy()
            want = metrics.r2(h, Y)
            got = obj.metric(p, "r2")
        else:
            want = metrics.for_network("accuracy", net)(h, Y)
            got = obj.metric(p, "accuracy")
        assert np.isfinite(want) and want != 0.0 and (kind == "regression" or want < 1.0)
        assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (trial, got, want)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        obj.metric(p, "f1")


def test_train_records_the_metric_on_the_cluster_as_in_memory(client):
    """"auto" on the cluster: the validation rows' metric every iteration, equal to the in-memory run's; an
    explicit "accuracy" without validation: the training rows' metric, as in memory; "auto" without
    validation data computes none (it would add a pass over all the data to every iteration)."""
    net, X, Y, rng = softmax_problem(m=900, weight_decay=1e-3, l1=0.0)
    Xv, Yv = X[700:], Y[700:]
    X, Y = X[:700], Y[:700]
    kw = dict(optimizer="lbfgs", epochs=8)
    ref = net.copy()
    h0 = dp.train(ref, X, Y, validation=(Xv, Yv), **kw)
    h = dp.train(net, *dask_pair(X, Y), validation=dask_pair(Xv, Yv), client=client, **kw)
    assert h.metric_name == h0.metric_name == "accuracy"
    assert all(v is not None for v in h["metric"]) and rel(h["metric"], h0["metric"]) < 1e-12
    assert len(set(h0["metric"])) > 1  # the metric moved while training
    a, b = net.copy(), net.copy()
    h1 = dp.train(a, X, Y, metric="accuracy", **kw)
    h2 = dp.train(b, *dask_pair(X, Y), metric="accuracy", client=client, **kw)
    assert rel(h2["metric"], h1["metric"]) < 1e-12
    h3 = dp.train(net.copy(), *dask_pair(X, Y), client=client, **kw)
    assert h3.metric_name is None and h3["metric"] == [None] * 8


# --- synchronous large-batch minibatches: whole partitions per step, one reduction each ---------------


def blocks_problem(parts=4, rows=10_000, seed=0):
    """Partitions of exactly the minimum batch size, so a step of one partition is a legal minibatch."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(parts * rows, 5))
    Y = np.eye(3)[np.argmax(X @ rng.normal(size=(5, 3)), axis=1)]
    net = dp.Network.layered([5, 4, 3], hidden="tanh", output="softmax", cost="cross_entropy", weight_decay=1e-3,
                             seed=seed)
    return net, X, Y


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.5), ("adam", 0.01), ("momentum", 0.1)])
def test_minibatch_of_one_partition_equals_single_process(client, optimizer, lr):
    """batch = one partition, in the partitions' order: the same steps as one process's minibatch SGD over the
    same row blocks, so the same costs and parameters to 1e-12; the optimizer's state lives on the driver."""
    net, X, Y = blocks_problem()
    ref = net.copy()
    kw = dict(optimizer=optimizer, learning_rate=lr, batch_size=10_000, shuffle=False, epochs=3, metric=None)
    h0 = dp.train(ref, X, Y, **kw)
    steps = []

    class Count(dp.Callback):
        def on_batch_end(self, run, epoch, step, J):
            steps.append(J)

    h = dp.train(net, *dask_pair(X, Y, chunks=10_000), client=client, callbacks=[Count()], **kw)
    assert len(steps) == 12  # 4 partitions per epoch, one round trip each
    assert rel(h["cost"], h0["cost"]) < 1e-12 and rel(net.params, ref.params) < 1e-12
    assert h0["cost"][-1] < 0.9 * h0["cost"][0]


def test_minibatch_partitions_come_in_the_seeded_generators_order(client):
    """shuffle=True: each epoch permutes the partitions with the run's generator (seeded by ``seed``); two partitions
    a step (batch_size 20000 = 2 x 10000 rows). Replaying those permutations in one process gives the same run."""
    net, X, Y = blocks_problem()
    ref = net.copy()
    kw = dict(optimizer="sgd", learning_rate=0.5, metric=None)
    h = dp.train(net, *dask_pair(X, Y, chunks=10_000), client=client, batch_size=20_000, seed=11, epochs=3, **kw)
    rng = np.random.default_rng(11)
    rng.integers(2**63 - 1)  # the split seed, drawn first by every fresh run
    for _ in range(3):  # one epoch at a time, the row blocks laid out in the drawn order
        rows = np.concatenate([np.arange(p * 10_000, (p + 1) * 10_000) for p in rng.permutation(4)])
        dp.train(ref, X[rows], Y[rows], batch_size=20_000, shuffle=False, epochs=1, **kw)
    assert rel(h["cost"], ref.training_state.history["cost"]) < 1e-12
    assert rel(net.params, ref.params) < 1e-12
    again = blocks_problem()[0]
    h2 = dp.train(again, *dask_pair(X, Y, chunks=10_000), client=client, batch_size=20_000, seed=11, epochs=3, **kw)
    assert h2["cost"] == h["cost"] and np.array_equal(again.params, net.params)


def test_minibatch_skips_a_weightless_partition_and_resumes_an_interrupted_epoch(client):
    """A step whose partition weighs nothing takes no step (as one process skips such a minibatch); a run stopped
    between two steps and called again finishes the epoch exactly as it would have gone."""
    net, X, Y = blocks_problem()
    w = np.random.default_rng(1).uniform(0.5, 1.5, size=X.shape[0])
    w[10_000:20_000] = 0.0  # the second partition
    ref = net.copy()
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=10_000, epochs=2, seed=4, metric=None)
    dp.train(ref, X, Y, sample_weight=w, shuffle=False, **kw)

    class StopAt(dp.Callback):
        def on_batch_end(self, run, epoch, step, J):
            if (epoch, step) == (1, 3):
                run.interrupt()

    Xd, Yd = dask_pair(X, Y, chunks=10_000)
    wd = da.from_array(w, chunks=10_000)
    h = dp.train(net, Xd, Yd, sample_weight=wd, shuffle=False, client=client, callbacks=[StopAt()], **kw)
    assert h.stopped == "interrupted" and net.training_state.pending.step == 3
    h = dp.train(net, Xd, Yd, sample_weight=wd, shuffle=False, client=client, **kw)
    assert len(h["cost"]) == 2 and rel(net.params, ref.params) < 1e-12


def test_minibatch_batch_size_rounds_to_whole_partitions(client):
    """batch_size 14000 on partitions of 5000 rows: 3 partitions a step (round(2.8)), so 4 steps over 10 partitions;
    a batch as large as the data is the full batch."""
    net, X, Y = blocks_problem(parts=10, rows=5_000)
    seen = []

    class Count(dp.Callback):
        def on_batch_end(self, run, epoch, step, J):
            seen.append(step)

    dp.train(net, *dask_pair(X, Y, chunks=5_000), client=client, optimizer="adam", batch_size=14_000, epochs=1,
             metric=None, callbacks=[Count()])
    assert seen == [1, 2, 3, 4]
    seen.clear()
    dp.train(net, *dask_pair(X, Y, chunks=5_000), client=client, optimizer="adam", batch_size=50_000, epochs=1,
             metric=None, callbacks=[Count()])
    assert seen == [1]
    with pytest.raises(ValueError, match="optimizer 'lbfgs' is a full-batch method"):
        dp.train(net, *dask_pair(X, Y, chunks=5_000), client=client, optimizer="lbfgs", batch_size=20_000)


# --- tables: read on the cluster, statistics in one pass, a model like any other --------------------


def penguin_like(m=300, seed=0):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    species = rng.choice(["adelie", "gentoo", "chinstrap"], size=m)
    offset = {"adelie": 0.0, "gentoo": 2.0, "chinstrap": -2.0}
    bill = np.array([offset[s] for s in species]) + rng.normal(size=m)
    mass = 1000 * (3 + rng.normal(size=m))
    mass[rng.choice(m, 7, replace=False)] = np.nan
    island = rng.choice(["biscoe", "dream", None], size=m, p=[0.5, 0.4, 0.1])
    return pd.DataFrame({"bill": bill, "mass": mass, "island": island, "species": species})


def fit_in_memory(frame, impute):
    """Columns.fit + Scaler.fit on a penguin_like frame's features in memory: (columns, X, scaler)."""
    from deltaprop.model import Scaler
    from deltaprop.preprocess import Columns, as_table

    table = as_table(frame[["bill", "mass", "island"]])
    cols, _ = Columns.fit(table, impute=impute)
    X, _ = cols.transform(table)
    return cols, X, Scaler.fit(X)


def same_decisions(data, cols) -> bool:
    return [(c.name, c.kind, c.categories) for c in data.columns.columns] == \
        [(c.name, c.kind, c.categories) for c in cols.columns]


@pytest.mark.parametrize("impute", ["mean", "most-frequent"])
def test_read_decides_as_in_memory(client, tmp_path, impute):
    """Columns, fills and the scaler from one distributed pass equal Columns.fit + Scaler.fit on all the rows."""
    from deltaprop.distributed import read

    frame = penguin_like()
    if impute == "most-frequent":
        frame["mass"] = np.round(frame["mass"] / 500) * 500  # a most frequent value worth the name
    for i in range(3):
        frame.iloc[i * 100:(i + 1) * 100].to_parquet(tmp_path / f"part{i}.parquet")
    data = read(str(tmp_path / "*.parquet"), target="species", impute=impute, client=client)
    cols, X, ref = fit_in_memory(frame, impute)
    assert same_decisions(data, cols)  # and a mean fill merged from partitions' moments agrees to rounding
    for a, b in zip(data.columns.columns, cols.columns):
        if a.fill is None and impute == "most-frequent" and a.kind == "number":
            assert not frame[a.name].isna().any()  # too many distinct values to count across partitions, and no gap
            continue
        assert (a.fill is None) == (b.fill is None) and (a.fill is None or abs(a.fill - b.fill) <= 1e-12 * abs(b.fill))
    assert data.n_rows == 300 and data.task == "classification"
    assert data.classes == ["adelie", "chinstrap", "gentoo"]
    assert rel(data.scaler.mean, ref.mean) < 1e-12 and rel(data.scaler.scale, ref.scale) < 1e-12
    Xd = data.X.compute().to_numpy()
    assert rel(Xd, ref.transform(X)) < 1e-12
    assert Xd.shape == (300, data.n_inputs) and data.Y.compute().to_numpy().sum(axis=1).tolist() == [1.0] * 300


@pytest.mark.parametrize("impute", ["none", "mean"])
def test_read_drop_missing_skips_the_rows_memory_skips(client, tmp_path, impute):
    """drop_missing: without a fill, every row with a missing cell (number or text) or no target is left out
    before the statistics; with impute="mean", only the rows without a target. The columns, fills and scaler
    then equal Columns.fit + Scaler.fit on the rows kept, as the in-memory --drop-missing gives them."""
    from deltaprop.distributed import read

    frame = penguin_like()
    frame.loc[[5, 150, 299], "species"] = None  # three rows without a target
    for i in range(3):
        frame.iloc[i * 100:(i + 1) * 100].to_parquet(tmp_path / f"part{i}.parquet")
    refusal = ("column 'mass': 7 missing values; pass --impute mean|most-frequent .* or --drop-missing"
               if impute == "none" else "target 'species': 3 missing or infinite values; pass --drop-missing")
    with pytest.raises(ValueError, match=refusal):
        read(str(tmp_path / "*.parquet"), target="species", impute=impute, client=client)
    data = read(str(tmp_path / "*.parquet"), target="species", impute=impute, drop_missing=True, client=client)
    gaps = frame["species"].isna()
    if impute == "none":
        gaps |= frame[["bill", "mass", "island"]].isna().any(axis=1)
    kept = frame[~gaps]
    assert 3 <= gaps.sum() < 100 and (impute == "mean" or gaps.sum() > 3) and data.n_rows == len(kept)
    what = "with a missing value" if impute == "none" else "without a target"
    assert data.decisions[0] == f"{int(gaps.sum())} rows {what} skipped (--drop-missing)"
    cols, X, ref = fit_in_memory(kept, impute)
    assert same_decisions(data, cols)
    assert rel(data.scaler.mean, ref.mean) < 1e-12 and rel(data.scaler.scale, ref.scale) < 1e-12
    Xd = data.X.compute().to_numpy()
    assert Xd.shape == (len(kept), data.n_inputs) and rel(Xd, ref.transform(X)) < 1e-12
    assert data.Y.compute().shape[0] == len(kept)


def test_a_partition_left_empty_by_drop_missing_trains(client, tmp_path):
    """A file whose every row lacks its target leaves an empty partition after drop_missing: it adds
    nothing to J, and training (full batch and with a held-out split) equals one process on the rest."""
    from deltaprop.distributed import read

    frame = penguin_like(m=300, seed=3)
    frame["mass"] = frame["mass"].fillna(frame["mass"].mean())
    frame.loc[100:199, "species"] = None  # the second file: no target at all
    for i in range(3):
        frame.iloc[i * 100:(i + 1) * 100].to_parquet(tmp_path / f"part{i}.parquet")
    data = read(str(tmp_path / "*.parquet"), target="species", impute="mean", drop_missing=True, client=client)
    assert data.n_rows == frame["species"].notna().sum() and data.X.npartitions == 3
    net = dp.Network.layered([data.n_inputs, 5, data.n_outputs], hidden="tanh", output="softmax",
                             cost="cross_entropy", seed=0)
    ref = net.copy()
    X, Y = data.X.compute().to_numpy(), data.Y.compute().to_numpy()
    h0 = dp.train(ref, X, Y, optimizer="lbfgs", epochs=8, metric=None)
    h = dp.train(net, data.X, data.Y, optimizer="lbfgs", epochs=8, metric=None, client=client)
    assert rel(h["cost"], h0["cost"]) < 1e-12 and rel(net.params, ref.params) < 1e-12
    h = dp.train(net.copy(), data.X, data.Y, optimizer="gd", epochs=2, validation_split=0.2, client=client)
    assert len(h["val_cost"]) == 2 and np.isfinite(h["val_cost"]).all()


@pytest.mark.parametrize("optimizer,batch_size,schedule", [("gd", None, "exponential"), ("sgd", 10_000, "step")])
def test_schedules_on_the_cluster_equal_in_memory(client, optimizer, batch_size, schedule):
    """A learning-rate schedule steps on the driver, once per epoch, as in one process."""
    net, X, Y = blocks_problem()
    ref = net.copy()
    kw = dict(optimizer=optimizer, learning_rate=0.3, batch_size=batch_size, epochs=6, schedule=schedule,
              shuffle=False, metric=None)
    h0 = dp.train(ref, X, Y, **kw)
    h = dp.train(net, *dask_pair(X, Y, chunks=10_000), client=client, **kw)
    assert h["learning_rate"] == h0["learning_rate"]
    assert schedule == "step" or len(set(h0["learning_rate"])) == 6  # exponential: a new rate every epoch
    assert rel(h["cost"], h0["cost"]) < 1e-12 and rel(net.params, ref.params) < 1e-12


def test_cli_drop_missing_and_schedule_on_the_cluster(tmp_path, capsys):
    """--drop-missing and --schedule, which the cluster path used to refuse, work as in memory."""
    from deltaprop.cli import main

    frame = penguin_like(m=400, seed=2)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    out = tmp_path / "m.safetensors"
    gaps = int(frame[["bill", "mass", "island", "species"]].isna().any(axis=1).sum())
    code = main(["train", str(tmp_path / "t.parquet"), "--target", "species", "--drop-missing", "--optimizer", "gd",
                 "--lr", "0.5", "--schedule", "exponential", "--epochs", "5", "--validation-split", "0",
                 "--scheduler", "local:2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{gaps} rows with a missing value skipped (--drop-missing)" in err and gaps > 7
    model = dp.load(out)
    rates = model.history["learning_rate"]
    assert rates[0] == 0.5 and all(b < a for a, b in zip(rates, rates[1:]))
    assert model.settings["rows"] == 400 - gaps and model.settings["schedule"] == "exponential"


def test_read_train_save_predict(client, tmp_path):
    """The whole path: Parquet on the cluster -> L-BFGS -> dp.save -> dp.load -> predict on a raw table."""
    from deltaprop.distributed import read

    frame = penguin_like(m=400, seed=1)
    frame.to_parquet(tmp_path / "train.parquet", row_group_size=100)
    data = read(str(tmp_path / "train.parquet"), target="species", impute="mean", client=client)
    net = dp.Network.layered([data.n_inputs, 6, data.n_outputs], hidden="tanh", output="softmax",
                             cost="cross_entropy", weight_decay=1e-3, seed=0)
    h = dp.train(net, data.X, data.Y, optimizer="lbfgs", epochs=40, client=data.client)
    model = data.model(net, history=h)
    dp.save(model, tmp_path / "m.dp")
    back = dp.load(tmp_path / "m.dp")
    pred = back.predict(frame)
    assert np.array_equal(pred, model.predict(frame))
    assert (pred == frame["species"].to_numpy()).mean() > 0.8


@pytest.mark.parametrize("sep,decimal,missing,suffix", [(";", ",", "?", ".csv"), ("\t", ".", "NA", ".tsv"),
                                                        ("|", ".", "", ".csv")])
def test_read_csv_on_the_cluster_as_in_memory(client, tmp_path, sep, decimal, missing, suffix):
    """A CSV on the cluster is read as in memory: the delimiter sniffed (or --delimiter), a decimal comma, and
    memory's missing-cell words (``?`` among them), so the rows decode as the same table written as Parquet."""
    from deltaprop.distributed import read

    frame = penguin_like(m=200, seed=5)
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / f"t{suffix}", sep=sep, decimal=decimal, na_rep=missing, index=False)
    want = read(str(tmp_path / "t.parquet"), target="species", impute="mean", client=client)
    got = read(str(tmp_path / f"t{suffix}"), target="species", impute="mean", client=client)
    assert got.n_rows == want.n_rows == 200 and same_decisions(got, want.columns)
    for a, b in zip(got.columns.columns, want.columns.columns):
        assert (a.fill is None) == (b.fill is None) and (a.fill is None or abs(a.fill - b.fill) <= 1e-12 * abs(b.fill))
    assert rel(got.X.compute().to_numpy(), want.X.compute().to_numpy()) < 1e-12
    assert got.decisions[len(got.decisions) - len(want.decisions):] == want.decisions
    if sep in ";|":
        assert got.decisions[0].endswith("-separated (sniffed; --delimiter sets it)")
        with pytest.raises(ValueError, match=r"(no column 'species'|not readable as CSV with the delimiter ',' \(.*line "
                                             r"\d+.*\); --delimiter sets the delimiter$)"):
            read(str(tmp_path / f"t{suffix}"), target="species", impute="mean", delimiter=",", client=client)


def test_a_row_index_column_in_csv_files_is_left_out_on_the_cluster_as_in_memory(client, tmp_path):
    """The in-memory rule for a nameless first column, over files split into partitions: counting the rows
    from 0 across every file (pandas' to_csv of consecutive slices) it is the row index, left out and said;
    restarting in each file it counts nothing and is refused by name, unless --ignore'd."""
    from deltaprop.distributed import read

    frame = penguin_like(m=300, seed=6)
    frame["mass"] = frame["mass"].fillna(1000.0)
    for i in range(3):
        frame.iloc[i * 100:(i + 1) * 100].to_csv(tmp_path / f"part{i}.csv")  # the index 0..299 runs on
    frame.to_parquet(tmp_path / "t.parquet")
    want = read(str(tmp_path / "t.parquet"), target="species", impute="mean", client=client)
    got = read(str(tmp_path / "part*.csv"), target="species", impute="mean", client=client)
    assert got.X.npartitions == 3 and got.columns.input_names == want.columns.input_names
    assert rel(got.X.compute().to_numpy(), want.X.compute().to_numpy()) < 1e-12
    assert got.decisions[0].endswith("column 1 has no name and counts the rows (0, 1, ...): read as a row index "
                                     "(pandas and R write one), not as a feature")
    for i in range(3):
        frame.iloc[i * 100:(i + 1) * 100].reset_index(drop=True).to_csv(tmp_path / f"part{i}.csv")  # 0..99 each
    with pytest.raises(ValueError, match="column 1 of the header has no name; name it, or --ignore 'column 1'"):
        read(str(tmp_path / "part*.csv"), target="species", impute="mean", client=client)
    got = read(str(tmp_path / "part*.csv"), target="species", impute="mean", ignore=["column 1"], client=client)
    assert got.columns.input_names == want.columns.input_names


def test_read_refuses_clearly(client, tmp_path):
    from deltaprop.distributed import read

    frame = penguin_like()
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(ValueError, match="column 'mass': 7 missing values; pass --impute"):
        read(str(tmp_path / "t.parquet"), target="species", client=client)
    with pytest.raises(ValueError, match="impute='median' is not computed on a Dask cluster"):
        read(str(tmp_path / "t.parquet"), target="species", impute="median", client=client)
    with pytest.raises(ValueError, match="no column 'kind'"):
        read(str(tmp_path / "t.parquet"), target="kind", client=client)
    with pytest.raises(ValueError, match="no such file"):
        read(str(tmp_path / "nothing*.parquet"), target="species", client=client)
    with pytest.raises(ValueError, match="column 'island': more than --max-categories 1"):
        read(str(tmp_path / "t.parquet"), target="species", impute="mean", max_categories=1, client=client)


def test_pandas_na_in_a_text_column_is_missing_not_a_category():
    """Parquet read back by pandas/dask gives pyarrow-backed strings whose missing cell is pd.NA, not None."""
    pd = pytest.importorskip("pandas")
    from deltaprop.preprocess import as_table

    frame = pd.DataFrame({"island": pd.array(["biscoe", None, "dream"], dtype="string[pyarrow]")})
    assert as_table(frame)["island"].tolist() == ["biscoe", None, "dream"]


# --- the command line ------------------------------------------------------------------------------


def test_cli_trains_on_parquet_files_with_a_local_cluster(tmp_path, capsys):
    """`deltaprop train a.parquet b.parquet --target species --scheduler local:2`, end to end, then predict."""
    from deltaprop.cli import main

    frame = penguin_like(m=400, seed=2)
    frame.iloc[:200].to_parquet(tmp_path / "a.parquet")
    frame.iloc[200:].to_parquet(tmp_path / "b.parquet")
    out = tmp_path / "m.safetensors"
    code = main(["train", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"), "--target", "species",
                 "--impute", "mean", "--hidden", "6", "--epochs", "30", "--scheduler", "local:2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "400 rows" in err and "Dask cluster of 2 workers" in err and "filled with the training rows' mean" in err
    model = dp.load(out)
    assert model.network.n_inputs == 4 and model.settings["optimizer"] == "lbfgs"
    assert (model.predict(frame) == frame["species"].to_numpy()).mean() > 0.8
    frame.to_csv(tmp_path / "all.csv", index=False)
    assert main(["predict", str(out), str(tmp_path / "all.csv"), "--out", str(tmp_path / "p.csv")]) == 0


def test_cli_cluster_path_plots_logs_and_guards_every_input(tmp_path, capsys):
    """--plot and --log-jsonl work on the cluster as in memory; an output that is one of the files a
    glob or a folder names is refused before any work."""
    import json

    from deltaprop.cli import main

    pytest.importorskip("matplotlib")
    os.makedirs(tmp_path / "data")
    penguin_like().iloc[:200].to_parquet(tmp_path / "data" / "a.parquet")
    penguin_like().iloc[200:].to_parquet(tmp_path / "data" / "b.parquet")
    log, plot = tmp_path / "run.jsonl", tmp_path / "curve.png"
    code = main(["train", str(tmp_path / "data"), "--target", "species", "--impute", "mean", "--hidden", "4",
                 "--epochs", "5", "--scheduler", "local:2", "--out", str(tmp_path / "m.safetensors"),
                 "--plot", str(plot), "--log-jsonl", str(log), "--quiet"])
    assert code == 0, capsys.readouterr().err
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[-1]["event"] == "summary" and sum(1 for x in lines if x["event"] == "epoch") >= 1
    assert plot.stat().st_size > 1000
    for target in (str(tmp_path / "data" / "b.parquet"),):
        for argv in (["train", str(tmp_path / "data")], ["train", str(tmp_path / "data" / "*.parquet")]):
            assert main(argv + ["--target", "species", "--scheduler", "local:2", "--out", target]) != 0
            assert "refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "data" / "b.parquet").stat().st_size > 0


def test_cli_refuses_what_the_cluster_path_cannot_do(tmp_path, capsys):
    from deltaprop.cli import main

    penguin_like().to_parquet(tmp_path / "a.parquet")
    f = str(tmp_path / "a.parquet")
    cases = [
        (["--optimizer", "adam"], "--scheduler trains full batch"),
        (["--dataset", "digits"], "--dataset is not available with --scheduler"),
        (["--test-split", "0.3"], "--test-split is not available with --scheduler"),
        (["--labels", f], "--labels is not available with --scheduler"),
        (["--out", f], "is the input DATA"),  # an output never replaces a file the cluster reads
        (["--optimizer", "adam", "--batch-size", "5000"], "or in minibatches of at least 10000 rows"),
        (["--scheduler", "local:0"], "scheduler 'local:0'"),
    ]
    for extra, message in cases:
        argv = ["train", f, "--target", "species", "--scheduler", "local:2", *extra]
        assert main(argv) != 0
        assert message in capsys.readouterr().err
    assert main(["train", f, f, "--target", "species"]) == 2
    assert "several need --scheduler" in capsys.readouterr().err


def test_holdout_draws_the_same_rows_per_partition_from_the_seed(client):
    """Each partition's rows are held out by its own generator seeded with (seed, partition): disjoint, complete,
    the same for X and Y and on every call; another seed, other rows."""
    pd = pytest.importorskip("pandas")
    from deltaprop.distributed import holdout

    frame = pd.DataFrame({"a": np.arange(1000.0), "b": np.arange(1000.0) * 2})
    X = dd.from_pandas(frame, npartitions=4)
    Y = dd.from_pandas(frame[["a"]].rename(columns={"a": "y"}), npartitions=4)
    (Xt, Yt), (Xv, Yv) = holdout(X, Y, 0.2, seed=5)
    xt, xv = Xt.compute(), Xv.compute()
    assert sorted(xt["a"].tolist() + xv["a"].tolist()) == list(range(1000))
    assert np.array_equal(Yv.compute()["y"], xv["a"]) and np.array_equal(Yt.compute()["y"], xt["a"])
    assert 150 < len(xv) < 250  # a fifth in expectation
    again = holdout(X, Y, 0.2, seed=5)[1][0].compute()
    other = holdout(X, Y, 0.2, seed=6)[1][0].compute()
    assert np.array_equal(again["a"], xv["a"]) and not np.array_equal(other["a"], xv["a"])
    with pytest.raises(ValueError, match="validation split must be a fraction in"):
        holdout(X, Y, 1.5, seed=5)


def test_cli_validation_split_and_early_stopping_on_the_cluster(tmp_path, capsys):
    """--validation-split holds out rows of every partition; the validation J is in the history and the model file."""
    from deltaprop.cli import main

    frame = penguin_like(m=600, seed=4)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=150)
    out = tmp_path / "m.safetensors"
    code = main(["train", str(tmp_path / "t.parquet"), "--target", "species", "--impute", "mean", "--hidden", "6",
                 "--epochs", "40", "--validation-split", "0.25", "--early-stopping", "3", "--seed", "1",
                 "--scheduler", "local:2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "about 150 rows (0.25 of each partition, drawn with seed 1) held out for validation" in err
    model = dp.load(out)
    vals = model.history["val_cost"]
    assert len(vals) >= 1 and all(v is not None and np.isfinite(v) for v in vals)
    assert model.settings["validation_split"] == 0.25 and model.settings["early_stopping"] == 3
    assert model.metrics["val_cost"] == min(vals) or model.history.stopped != "early_stopping"
    accuracy = model.metrics["val_accuracy"]  # of the held-out rows, computed on the workers
    assert 0.0 < accuracy <= 1.0 and f"validation accuracy {accuracy:.4f}" in err
    assert model.history.metric_name == "accuracy" and all(0.0 <= a <= 1.0 for a in model.history["metric"])


def test_cli_metric_on_the_cluster_is_named_as_in_memory(tmp_path, capsys):
    """A classifier trained with --cost squared is scored by accuracy on the cluster too (the label printed
    and the figure recorded agree); without validation rows no metric is computed (it would cost a pass)."""
    from deltaprop.cli import main

    frame = penguin_like(m=400, seed=4)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    common = ["train", str(tmp_path / "t.parquet"), "--target", "species", "--impute", "mean", "--hidden", "5",
              "--epochs", "3", "--cost", "squared", "--scheduler", "local:2"]
    out = tmp_path / "m.safetensors"
    assert main([*common, "--validation-split", "0.25", "--seed", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    model = dp.load(out)
    assert model.history.metric_name == "accuracy" and "val_accuracy" in model.metrics and "val_r2" not in model.metrics
    assert f"validation accuracy {model.metrics['val_accuracy']:.4f}" in err
    assert main([*common, "--validation-split", "0", "--out", str(out)]) == 0
    model = dp.load(out)
    assert model.history.metric_name is None and model.history["metric"] == [None] * 3


def test_cli_checkpoints_and_resume_on_the_cluster(tmp_path, capsys):
    """--checkpoint-dir after every iteration, --resume from the newest: Rprop's state is all on the driver, so
    6 iterations then 4 more equal 10 at once; a different run in the same directory is refused. The
    checkpoint is stripped of the settings added later (schedule, drop_missing), as one written before
    them was: it resumes, read as their defaults."""
    from deltaprop.cli import main
    from deltaprop.io import load_checkpoint, newest_checkpoint, save_checkpoint

    frame = penguin_like(m=400, seed=3)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    base = ["train", str(tmp_path / "t.parquet"), "--target", "species", "--impute", "mean", "--hidden", "5",
            "--optimizer", "rprop", "--validation-split", "0.2", "--early-stopping", "0", "--seed", "2",
            "--scheduler", "local:2", "--quiet"]
    assert main(base + ["--epochs", "10", "--out", str(tmp_path / "whole.safetensors")]) == 0
    ck = str(tmp_path / "ck")
    assert main(base + ["--epochs", "6", "--checkpoint-dir", ck]) == 0
    path = newest_checkpoint(ck)[0]
    model, config = load_checkpoint(path)
    assert config.pop("schedule") is None and config.pop("drop_missing") is False
    os.unlink(path)
    assert save_checkpoint(ck, model, config) == path and "drop_missing" not in load_checkpoint(path)[1]
    capsys.readouterr()
    assert main(base + ["--epochs", "10", "--checkpoint-dir", ck, "--resume", "--drop-missing"]) != 0
    assert "was made by a different run (drop_missing: False then, True now)" in capsys.readouterr().err
    assert main(base + ["--epochs", "10", "--checkpoint-dir", ck, "--resume",
                        "--out", str(tmp_path / "resumed.safetensors")]) == 0
    whole, resumed = dp.load(tmp_path / "whole.safetensors"), dp.load(tmp_path / "resumed.safetensors")
    assert len(resumed.history) == 10
    assert rel(resumed.network.params, whole.network.params) < 1e-12
    assert rel(resumed.history["val_cost"], whole.history["val_cost"]) < 1e-12
    capsys.readouterr()
    assert main(base[:-1] + ["--epochs", "10", "--hidden", "7", "--checkpoint-dir", ck, "--resume"]) != 0
    assert "was made by a different run (hidden: [5] then, [7] now)" in capsys.readouterr().err


def test_ctrl_c_on_the_cluster_saves_and_resume_finishes_exactly(tmp_path, capsys, monkeypatch):
    """A real SIGINT to the driver while the checkpoint of iteration 4 is written: the run stops there
    with exit 130 and its state saved; --resume finishes it, equal to an uninterrupted run (Rprop)."""
    import signal

    from deltaprop.cli import main
    from deltaprop.io.logs import Checkpointer

    frame = penguin_like(m=400, seed=4)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    base = ["train", str(tmp_path / "t.parquet"), "--target", "species", "--impute", "mean", "--hidden", "5",
            "--optimizer", "rprop", "--validation-split", "0", "--seed", "1", "--epochs", "8",
            "--scheduler", "local:2", "--quiet"]
    assert main(base + ["--out", str(tmp_path / "whole.safetensors")]) == 0
    original = Checkpointer.on_epoch_end

    def interrupting(self, run, epoch, record):
        original(self, run, epoch, record)
        if epoch == 4:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Checkpointer, "on_epoch_end", interrupting)
    ck = str(tmp_path / "ck")
    capsys.readouterr()
    assert main(base + ["--checkpoint-dir", ck, "--out", str(tmp_path / "part.safetensors")]) == 130
    assert "interrupted; the state is saved in" in capsys.readouterr().err
    assert not (tmp_path / "part.safetensors").exists()  # an interrupted run writes no model
    monkeypatch.setattr(Checkpointer, "on_epoch_end", original)
    assert main(base + ["--checkpoint-dir", ck, "--resume", "--out", str(tmp_path / "resumed.safetensors")]) == 0
    whole, resumed = dp.load(tmp_path / "whole.safetensors"), dp.load(tmp_path / "resumed.safetensors")
    assert len(resumed.history) == 8
    assert rel(resumed.network.params, whole.network.params) < 1e-12


# --- faults ----------------------------------------------------------------------------------------


def generated(m=2000, n=6, k=3, chunks=250):
    """Data produced by tasks (dask's seeded generator), so a lost partition is recomputed from its lineage."""
    X = da.random.RandomState(7).normal(size=(m, n), chunks=(chunks, n))
    W = np.random.default_rng(0).normal(size=(n, k))
    Y = (da.argmax(X @ W, axis=1)[:, None] == da.arange(k)[None, :]).astype(float)
    return X, Y


class KillAWorker(dp.Callback):
    """SIGKILL the process of a worker that holds a partition group, after a few iterations."""

    def __init__(self, client, at=2):
        self.client, self.at, self.killed = client, at, None

    def on_epoch_end(self, run, epoch, record):
        import os
        import signal

        if epoch == self.at and self.killed is None:
            holders = self.client.who_has()  # every key held: the partition groups of this run
            victim = sorted({w for ws in holders.values() for w in ws})[0]
            pid = self.client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            self.killed = victim


def test_a_killed_worker_costs_a_recompute_not_the_run():
    X, Y = generated()
    net = dp.Network.layered([6, 5, 3], hidden="tanh", output="softmax", cost="cross_entropy", weight_decay=1e-3, seed=0)
    quiet, hurt = net.copy(), net.copy()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            dp.train(quiet, X, Y, optimizer="lbfgs", epochs=8, client=c)
            killer = KillAWorker(c)
            h = dp.train(hurt, X, Y, optimizer="lbfgs", epochs=8, client=c, callbacks=[killer])
    assert killer.killed is not None and h.stopped == "epochs"
    assert np.array_equal(hurt.params, quiet.params)  # bit for bit: the same groups, summed in the same order


class StopTheScheduler(dp.Callback):
    def __init__(self, process, at=2):
        self.process, self.at = process, at

    def on_epoch_end(self, run, epoch, record):
        if epoch == self.at:
            self.process.kill()
            self.process.wait()


def test_a_lost_scheduler_ends_the_run_with_a_clear_message(tmp_path):
    """A `dask scheduler` and a `dask worker` as processes; the scheduler killed mid-L-BFGS -> one clear error."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "cluster.log", "w")
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--dashboard-address", ":0"], stdout=log, stderr=log)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--nworkers", "1", "--no-dashboard"], stdout=log, stderr=log)
    try:
        X, Y = generated(m=600)
        net = dp.Network.layered([6, 5, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=0)
        with distributed.Client(address, timeout="20s") as c:
            c.wait_for_workers(1, timeout=20)
            t0 = time.perf_counter()
            with pytest.raises(ConnectionError, match=f"lost the Dask scheduler at {address} during training"):
                dp.train(net, X, Y, optimizer="lbfgs", epochs=50, client=c, callbacks=[StopTheScheduler(scheduler)])
            assert time.perf_counter() - t0 < 60
        assert np.isfinite(net.params).all()
    finally:
        for p in (worker, scheduler):
            p.kill()
            p.wait()
        log.close()


# --- the scikit-learn estimators on dask collections -----------------------------------------------


def test_estimators_fit_dask_collections_as_in_memory(client):
    """fit(X_dask, y_dask) trains on the cluster and equals fit on the same rows in memory (same seed, L-BFGS);
    predict/predict_proba map the row blocks and return lazy dask arrays with the in-memory answers."""
    from deltaprop.sklearn import DeltaClassifier

    _, X, Y, rng = softmax_problem(m=600)
    y = np.array(["a", "b", "c"])[Y.argmax(axis=1)]
    kw = dict(hidden=(5,), activation="tanh", optimizer="lbfgs", epochs=25, tol=0.0, n_iter_no_change=np.inf,
              random_state=3)
    ref = DeltaClassifier(**kw).fit(X, y)
    clf = DeltaClassifier(**kw).fit(da.from_array(X, chunks=130), da.from_array(y, chunks=130))
    assert list(clf.classes_) == ["a", "b", "c"] and clf.n_features_in_ == 5
    assert rel(clf.network_.params, ref.network_.params) < 1e-10
    assert rel(clf.loss_curve_, ref.loss_curve_) < 1e-10 and len(clf.loss_curve_) == 25
    pred = clf.predict(da.from_array(X, chunks=(100, 2)))
    assert isinstance(pred, da.Array) and pred.shape == (600,)
    assert np.array_equal(pred.compute(), ref.predict(X))
    proba = clf.predict_proba(da.from_array(X, chunks=100))
    assert isinstance(proba, da.Array) and proba.shape == (600, 3)
    assert rel(proba.compute(), ref.predict_proba(X)) < 1e-10


def test_estimators_take_dask_dataframes_binary_and_regression(client):
    """A dask DataFrame keeps its column names (feature_names_in_); binary labels from a Series; a regressor
    on a 1-D dask array target; sample weights as a dask array."""
    pd = pytest.importorskip("pandas")
    from deltaprop.sklearn import DeltaClassifier, DeltaRegressor

    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))
    y = np.where(X[:, 0] - X[:, 1] > 0, 7, 2)
    frame = pd.DataFrame(X, columns=["p", "q", "r"]).assign(y=y)
    df = dd.from_pandas(frame, npartitions=3)
    kw = dict(hidden=(4,), activation="tanh", optimizer="rprop", epochs=15, tol=0.0, n_iter_no_change=np.inf,
              random_state=0)
    ref = DeltaClassifier(**kw).fit(frame[["p", "q", "r"]], y)
    clf = DeltaClassifier(**kw).fit(df[["p", "q", "r"]], df["y"])
    assert clf.output_kind_ == "binary" and list(clf.classes_) == [2, 7]
    assert list(clf.feature_names_in_) == ["p", "q", "r"]
    assert rel(clf.network_.params, ref.network_.params) < 1e-10
    pred = clf.predict(df[["p", "q", "r"]])
    assert isinstance(pred, da.Array) and np.array_equal(pred.compute(), ref.predict(frame[["p", "q", "r"]]))
    assert clf.predict_proba(df[["p", "q", "r"]]).compute().shape == (400, 2)

    t = X @ np.array([1.0, -2.0, 0.5])
    w = rng.uniform(0.5, 2.0, size=400)
    rk = dict(hidden=(4,), activation="tanh", optimizer="lbfgs", epochs=20, tol=0.0, n_iter_no_change=np.inf,
              random_state=1)
    rref = DeltaRegressor(**rk).fit(X, t, sample_weight=w)
    reg = DeltaRegressor(**rk).fit(da.from_array(X, chunks=150), da.from_array(t, chunks=150),
                                   sample_weight=da.from_array(w, chunks=150))
    assert reg.target_1d_ and rel(reg.network_.params, rref.network_.params) < 1e-10
    out = reg.predict(da.from_array(X, chunks=150))
    assert out.shape == (400,) and rel(out.compute(), rref.predict(X)) < 1e-10


def test_estimators_stop_early_on_dask_collections(client):
    """early_stopping on dask data: validation_fraction of the rows held out on the workers (seeded by
    random_state), the validation cost watched, the best iteration restored."""
    from deltaprop.sklearn import DeltaClassifier

    _, X, Y, _ = softmax_problem(m=1200)
    y = Y.argmax(axis=1)
    Xd, yd = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    clf = DeltaClassifier(hidden=(16,), optimizer="lbfgs", epochs=200, early_stopping=2, validation_fraction=0.2,
                          weight_decay=0.0, random_state=3).fit(Xd, yd)
    h = clf.history_
    vals = h["val_cost"]
    assert all(v is not None for v in vals) and h.stopped in ("early_stopping", "epochs", "converged")
    best = int(np.argmin(vals))
    assert h.best_epoch == best + 1 and len(vals) < 200
    again = DeltaClassifier(hidden=(16,), optimizer="lbfgs", epochs=200, early_stopping=2, validation_fraction=0.2,
                            weight_decay=0.0, random_state=3).fit(Xd, yd)
    assert np.array_equal(again.network_.params, clf.network_.params)  # the same held-out rows, bit for bit
    assert (clf.predict(Xd).compute() == y).mean() > 0.8


def test_estimators_refuse_on_dask_what_needs_the_data_here(client):
    from deltaprop.sklearn import DeltaClassifier, DeltaRegressor

    _, X, Y, _ = softmax_problem(m=300)
    Xd, yd = da.from_array(X, chunks=100), da.from_array(Y.argmax(axis=1), chunks=100)
    with pytest.raises(ValueError, match=r"optimizer='adam': fit on dask collections trains full batch"):
        DeltaClassifier().fit(Xd, yd)
    with pytest.raises(ValueError, match="X and y must both be"):
        DeltaClassifier(optimizer="lbfgs").fit(Xd, Y.argmax(axis=1))
    with pytest.raises(ValueError, match="sample_weight must be a dask array"):
        DeltaClassifier(optimizer="lbfgs").fit(Xd, yd, sample_weight=np.ones(300))
    with pytest.raises(ValueError, match="partial_fit takes in-memory X"):
        DeltaClassifier(optimizer="lbfgs").partial_fit(Xd, yd, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="multilabel y is not supported"):
        DeltaClassifier(optimizer="lbfgs").fit(Xd, da.from_array(Y, chunks=100))
    with pytest.raises(ValueError, match="only one class"):
        DeltaClassifier(optimizer="lbfgs").fit(Xd, da.zeros(300, chunks=100))
    with pytest.raises(ValueError, match="Unknown label type"):
        DeltaClassifier(optimizer="lbfgs").fit(Xd, da.from_array(X[:, 0], chunks=100))
    with pytest.raises(ValueError, match="X must be a 2-D dask array"):
        DeltaRegressor(optimizer="lbfgs").fit(Xd[:, 0], yd)
    clf = DeltaClassifier(optimizer="lbfgs", epochs=3).fit(Xd, yd)
    with pytest.raises(ValueError, match="X has 4 features, but DeltaClassifier is expecting 5"):
        clf.predict(Xd[:, :4])


def test_every_round_trip_of_a_metric_reports_a_lost_scheduler_as_such(client, monkeypatch):
    """R^2's one-time constants go through the same guarded round trip as J and the gradient: a
    connection lost there is a ClusterError naming the scheduler, not an OSError from inside distributed."""
    from deltaprop.distributed import ClusterError, DaskObjective

    net, X, Y = blocks_problem()
    obj = DaskObjective(net, *dask_pair(X, Y, chunks=10_000), client=client)
    try:
        def lost(*args, **kwargs):
            raise OSError("connection reset")

        monkeypatch.setattr(client, "gather", lost)
        for name in ("r2", "accuracy"):
            with pytest.raises(ClusterError, match="lost the Dask scheduler at .* during training"):
                obj.metric(net.params, name)
    finally:
        monkeypatch.undo()
        obj.close()


def test_every_train_flag_is_taken_or_refused_by_the_cluster_path():
    """The family behind --test-split and --delimiter (both once ignored with --scheduler): every flag of
    `deltaprop train` is read by the cluster path (cli/distributed.py, or the flag checks both paths share)
    or refused there by name (NOT_YET). A new flag that neither does fails here."""
    import argparse
    import inspect

    from deltaprop.cli import distributed as cluster_cli
    from deltaprop.cli import flags
    from deltaprop.cli.parser import build_parser

    parser = build_parser()
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    source = inspect.getsource(cluster_cli) + inspect.getsource(flags)
    refused = {attr for attr, _ in cluster_cli.NOT_YET.values()}
    unread = [a.option_strings[-1] for a in train._actions
              if a.option_strings and a.dest not in ("help", "debug")
              and f"args.{a.dest}" not in source and a.dest not in refused]
    assert unread == []


def test_a_script_without_a_main_guard_is_told_why_its_embedded_cluster_did_not_start(tmp_path):
    """Worker processes re-import the script that starts them; without `if __name__ == "__main__":` Dask's
    own error is "Nanny failed to start". The last line a user sees says what to do."""
    import subprocess
    import sys

    script = tmp_path / "noguard.py"
    script.write_text(
        "import numpy as np, dask.array as da, deltaprop as dp\n"
        "X = da.from_array(np.random.default_rng(0).normal(size=(200, 3)), chunks=100)\n"
        "net = dp.Network.layered([3, 4, 1], output='identity', seed=0)\n"
        "dp.train(net, X, X.sum(axis=1), optimizer='lbfgs', epochs=2, client='local:1')\n"
        "print('trained')\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    last = run.stderr.strip().splitlines()[-1]
    assert run.returncode != 0 and "trained" not in run.stdout
    assert last.startswith("deltaprop.distributed.cluster.ClusterError: the embedded Dask cluster's worker processes "
                           "did not start") and 'under `if __name__ == "__main__":`' in last
