"""Sparse X (SciPy CSR/CSC, matrices and arrays): the same numbers as dense X, without ever densifying it.

Families of failure checked here: a gradient that differs from the dense one (first layer,
skip connections from the input, sample weights, regularization, float32); training that drifts
from the dense run (minibatch gathers, AIMA's online rule, full batch, L-BFGS, validation and early
stopping); a path that densifies (peak memory on a matrix whose dense form is 75 GiB); the compiled
kernel taken, or warned about, for sparse input; bad sparse input that gets through or is
reported deep inside SciPy; and the scikit-learn estimators on all of it.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import deltaprop as dp
from deltaprop.core import compiled

FORMATS = [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array, sp.coo_matrix]


def _data(m=120, n=30, k=3, density=0.15, seed=0):
    rng = np.random.default_rng(seed)
    Xs = sp.random(m, n, density=density, format="csr", random_state=seed, data_rvs=rng.standard_normal)
    Y = np.eye(k)[rng.integers(0, k, m)]
    return Xs, Y


def _net(n=30, k=3, **kw):
    return dp.Network.layered([n, 12, 7, k], hidden=["tanh", "relu"], output="softmax", cost="cross_entropy",
                              weight_decay=1e-3, seed=0, **kw)


# --- the gradient ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.__name__)
def test_the_gradient_on_sparse_x_is_the_dense_gradient(fmt):
    Xs, Y = _data()
    net = _net(l1=1e-4)
    w = np.random.default_rng(1).uniform(0, 2, Xs.shape[0])
    J, g = net.cost_and_gradient(Xs.toarray(), Y, sample_weight=w)
    Js, gs = net.cost_and_gradient(fmt(Xs), Y, sample_weight=w)
    assert abs(J - Js) <= 1e-12 * abs(J)
    np.testing.assert_allclose(gs, g, rtol=0, atol=1e-12)
    assert np.abs(g[: 12 * 30]).max() > 1e-3  # the first layer's dW, the sparse product, is not trivially zero


def test_the_gradient_through_a_skip_connection_from_sparse_inputs():
    """Two edges leave the input block (0 -> 1 and 0 -> 2): both products are sparse, and the second adds."""
    Xs, Y = _data(k=2)
    blocks = [dp.Block(30), dp.Block(6, "tanh"), dp.Block(2, "softmax")]
    edges = [dp.Edge(0, 1), dp.Edge(0, 2), dp.Edge(1, 2)]
    net = dp.Network(blocks, edges, cost="cross_entropy", seed=0)
    J, g = net.cost_and_gradient(Xs.toarray(), Y)
    Js, gs = net.cost_and_gradient(Xs, Y)
    assert abs(J - Js) <= 1e-12
    np.testing.assert_allclose(gs, g, rtol=0, atol=1e-12)


def test_central_differences_agree_on_sparse_x():
    Xs, Y = _data(m=40, n=10, density=0.3)
    net = dp.Network.layered([10, 6, 3], hidden="tanh", output="softmax", cost="cross_entropy", weight_decay=1e-3,
                             seed=0)  # smooth: no relu kink to trip the central differences
    report = dp.gradcheck(net, Xs, Y)
    assert report.passed and report.W_errors[0] < 1e-7, report


def test_large_batches_are_taken_in_chunks_of_sparse_rows():
    """Past the network's chunk size, J, the gradient and predict sum over CSR row slices."""
    Xs, Y = _data(m=3000, n=20, k=2, density=0.1)
    net = dp.Network.layered([20, 4000, 2], hidden="tanh", output="softmax", cost="cross_entropy", seed=0)
    assert net.predict(Xs[:1]).shape == (1, 2)
    J, g = net.cost_and_gradient(Xs.toarray(), Y)
    Js, gs = net.cost_and_gradient(Xs, Y)
    assert abs(J - Js) <= 1e-12
    np.testing.assert_allclose(gs, g, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.predict(Xs), net.predict(Xs.toarray()), rtol=0, atol=1e-12)


def test_float32_networks_take_sparse_x_of_any_dtype():
    Xs, Y = _data()
    net = _net(dtype="float32")
    dense = net.cost_and_gradient(Xs.toarray(), Y)[1]
    for X in (Xs, Xs.astype(np.float32), (Xs != 0).astype(np.int64)):
        g = net.cost_and_gradient(X, Y)[1]
        assert g.dtype == np.float32
        if X.dtype != np.int64:
            np.testing.assert_allclose(g, dense, rtol=0, atol=1e-6)
    counts = (Xs != 0).astype(np.int8)  # integers are converted, not refused
    np.testing.assert_allclose(net.predict(counts), net.predict(counts.toarray().astype(np.float32)), atol=1e-6)


# --- training ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer,batch_size,shuffle", [("adam", 16, True), ("sgd", 1, False), ("sgd", 16, True),
                                                          ("momentum", None, True), ("lbfgs", None, True)])
def test_training_on_sparse_x_follows_the_dense_run(optimizer, batch_size, shuffle):
    Xs, Y = _data()
    a, b = _net(), _net()
    kw = dict(optimizer=optimizer, batch_size=batch_size, shuffle=shuffle, epochs=4, seed=0, validation_split=0.2,
              early_stopping=3)
    ha = dp.train(a, Xs.toarray(), Y, **kw)
    hb = dp.train(b, sp.csc_array(Xs), Y, **kw)
    np.testing.assert_allclose(b.params, a.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hb["val_cost"], ha["val_cost"], rtol=1e-12)
    assert not np.array_equal(a.params, _net().params)


def test_the_compiled_kernel_is_not_taken_for_sparse_x_and_nothing_warns(monkeypatch):
    """AIMA's online rule on dense X goes to the compiled kernel; on sparse X to NumPy, silently,
    even where Numba is missing (the warning is about a kernel sparse input could never use)."""
    Xs, Y = _data(m=30)
    calls = []
    real = compiled.run_epoch
    monkeypatch.setattr(compiled, "run_epoch", lambda *a, **k: calls.append(1) or real(*a, **k))
    kw = dict(optimizer="sgd", batch_size=1, shuffle=False, epochs=2, seed=0)
    dp.train(_net(), Xs.toarray(), Y, **kw)
    assert len(calls) == 2 or not compiled.available()
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dp.train(_net(), Xs, Y, **kw)
    assert calls == []
    monkeypatch.setattr(compiled, "available", lambda: False)
    with pytest.warns(compiled.PerformanceWarning):  # the dense run still warns: the check above can fail
        dp.train(_net(), Xs.toarray(), Y, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dp.train(_net(), Xs, Y, **kw)


def test_an_epoch_and_a_prediction_on_a_huge_sparse_matrix_never_densify_it():
    """200000 x 50000 with 1e6 stored values: 75 GiB dense, 12 MiB as CSR."""
    rng = np.random.default_rng(0)
    m, n, per_row = 200_000, 50_000, 5
    indptr = np.arange(0, m * per_row + 1, per_row)
    X = sp.csr_matrix((np.ones(m * per_row), rng.integers(0, n, m * per_row).astype(np.int32), indptr), shape=(m, n))
    y = (X @ rng.normal(size=n) > 0).astype(float)
    dense_bytes = m * n * 8
    net = dp.Network.layered([n, 4, 1], hidden="relu", output="sigmoid", cost="cross_entropy", seed=0)
    tracemalloc.start()
    try:
        history = dp.train(net, X, y, optimizer="adam", learning_rate=0.01, batch_size=2000, epochs=1, seed=0,
                           metric=None)
        p = net.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 256 * 2**20 < dense_bytes / 250, f"peak {peak / 2**20:.0f} MiB"
    assert history["cost"][0] < np.log(2) and ((p[:, 0] > 0.5) == y).mean() > 0.8  # it learned something


# --- bad sparse input ---------------------------------------------------------------------------------


def test_bad_sparse_input_is_reported_in_words():
    Xs, Y = _data()
    net = _net()
    bad = Xs.copy()
    bad.data[bad.indptr[7] + 1] = np.nan
    col = bad.indices[bad.indptr[7] + 1]
    cases = [
        (lambda: net.cost_and_gradient(bad, Y), rf"X contains nan at \[7, {col}\]; expected finite numbers"),
        (lambda: dp.train(net, Xs[:, :29], Y), "X has 29 features, but the network was built for 30"),
        (lambda: net.predict(Xs[:0]), "X has 0 samples"),
        (lambda: net.predict(sp.coo_array(np.ones(30))), r"X must be 2-D .* got a 1-D sparse array"),
        (lambda: net.predict(Xs.astype(np.complex128)), "X is a sparse matrix of dtype complex128; expected real"),
        (lambda: _net(dtype="float32").predict(Xs * 1e300), "X has values too large for float32"),
        (lambda: dp.train(net, Xs, sp.csr_matrix(Y)), r"Y is a sparse CSR matrix; a dense array is expected here"),
        (lambda: net.cost_value(Xs, Y, sample_weight=sp.csr_matrix(np.ones((1, 120)))),
         "sample_weight is a sparse CSR matrix"),
        (lambda: net.backprop(Xs, Y), r"X is a sparse CSR matrix; a dense array is expected here \(convert it with "
                                      r"X.toarray\(\)\)"),
        (lambda: dp.train(net, Xs, Y, validation=(bad, Y)), r"validation: X contains nan at \[7"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


# --- the scikit-learn estimators -------------------------------------------------------------------------


sklearn = pytest.importorskip("sklearn")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_array, sp.coo_matrix], ids=lambda f: f.__name__)
def test_estimators_on_sparse_x_match_dense(fmt):
    from deltaprop.sklearn import DeltaClassifier, DeltaRegressor

    Xs, Y = _data(m=200)
    y = np.array(["a", "b", "c"])[Y.argmax(axis=1)]
    kw = dict(hidden=(8,), epochs=5, batch_size=32, early_stopping=3, random_state=0)
    dense = DeltaClassifier(**kw).fit(Xs.toarray(), y)
    sparse = DeltaClassifier(**kw).fit(fmt(Xs), y)
    np.testing.assert_allclose(sparse.network_.params, dense.network_.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(fmt(Xs)), dense.predict_proba(Xs.toarray()), rtol=0, atol=1e-12)
    assert sparse.score(fmt(Xs), y) == dense.score(Xs.toarray(), y)
    sparse.partial_fit(fmt(Xs), y)
    dense.partial_fit(Xs.toarray(), y)
    np.testing.assert_allclose(sparse.network_.params, dense.network_.params, rtol=0, atol=1e-12)
    target = Xs @ np.arange(30.0)
    reg_d = DeltaRegressor(**kw).fit(Xs.toarray(), target)
    reg_s = DeltaRegressor(**kw).fit(fmt(Xs), target)
    np.testing.assert_allclose(reg_s.predict(fmt(Xs)), reg_d.predict(Xs.toarray()), rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_one_hot_encoded_table_trains_as_mlpclassifier_does():
    """A default OneHotEncoder in a ColumnTransformer hands the estimator a CSR matrix."""
    from sklearn.compose import make_column_transformer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from deltaprop.sklearn import DeltaClassifier

    rng = np.random.default_rng(0)
    table = rng.integers(0, 20, size=(1500, 6))
    effect = rng.normal(size=(6, 20))
    y = (effect[np.arange(6), table].sum(axis=1) > 0).astype(int)  # additive in the one-hot columns
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), [0, 1, 2, 3, 4, 5]))
    assert sp.issparse(encode.fit_transform(table))
    ours = make_pipeline(encode, DeltaClassifier(hidden=(32,), random_state=0)).fit(table[:1000], y[:1000])
    theirs = make_pipeline(encode, MLPClassifier(hidden_layer_sizes=(32,), random_state=0)).fit(table[:1000], y[:1000])
    assert ours.score(table[1000:], y[1000:]) >= theirs.score(table[1000:], y[1000:]) - 0.02 > 0.85


def test_estimators_refuse_sparse_targets():
    from deltaprop.sklearn import DeltaClassifier, DeltaRegressor

    Xs, Y = _data()
    for est in (DeltaClassifier(), DeltaRegressor()):
        with pytest.raises(ValueError, match=f"y is a sparse CSR matrix; {type(est).__name__} needs dense targets"):
            est.fit(Xs, sp.csr_matrix(Y))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_estimator_on_a_huge_sparse_matrix_stays_small():
    from deltaprop.sklearn import DeltaClassifier

    rng = np.random.default_rng(1)
    m, n, per_row = 200_000, 50_000, 5
    X = sp.csr_matrix((np.ones(m * per_row), rng.integers(0, n, m * per_row).astype(np.int32),
                       np.arange(0, m * per_row + 1, per_row)), shape=(m, n))
    y = X @ rng.normal(size=n) > 0
    tracemalloc.start()
    try:
        clf = DeltaClassifier(hidden=(4,), epochs=1, batch_size=2000, random_state=0).fit(X, y)
        proba = clf.predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert proba.shape == (m, 2) and peak < 256 * 2**20, f"peak {peak / 2**20:.0f} MiB"
