"""Training on a Dask cluster: the distributed objective equals the single-process one.

The clusters are small (2 workers x 1 thread) so that the tests run on a shared 2-core machine.
"""

from __future__ import annotations

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
    Y = np.eye(k)[rng.integers(0, k, m)]
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
