"""ONNX export: onnx.checker accepts it, onnxruntime reproduces deltaprop's outputs to 1e-5."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.model import Model, Scaler
from conftest import HIDDEN

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.asarray(X, dtype=np.float32)})[0]


def raw_inputs(n_features, rng, m=32):
    return rng.normal(loc=3.0, scale=5.0, size=(m, n_features))


@pytest.mark.parametrize("output,task", [("softmax", "classification"), ("sigmoid", "classification-multilabel"),
                                         ("identity", "regression")])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_activation_matches(hidden, output, task, tmp_path):
    rng = np.random.default_rng(0)
    cost = "squared" if output == "identity" else "cross_entropy"
    net = dp.Network.layered([5, 7, 6, 3], hidden=[hidden, hidden], output=output, cost=cost, dtype="float32",
                             seed=1)
    net.params = rng.normal(scale=0.5, size=net.n_params)
    scaler = Scaler(rng.normal(size=5), rng.uniform(0.5, 4, size=5))
    if task == "regression":
        model = Model(net, "regression", None, None, None, scaler,
                      target_scaler=Scaler(np.array([10.0, -2, 0]), np.array([3.0, 0.5, 1])))
        expected = lambda X: model.predict(X)  # noqa: E731
    else:
        model = Model(net, "classification", ["a", "b", "c"], None, None, scaler)
        expected = lambda X: model.predict_proba(X)  # noqa: E731
    path = tmp_path / "m.onnx"
    dp.export_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)))
    X = raw_inputs(5, rng)
    np.testing.assert_allclose(run_onnx(path, X), expected(X), atol=1e-5, rtol=1e-5)


def test_unit_graph_with_outputs_in_several_blocks(tmp_path):
    g = dp.Graph()
    x1, x2, x3 = g.input(), g.input(), g.input()
    h1, h2 = g.unit("tanh"), g.unit("elu")
    deep = g.unit("identity")
    shallow = g.unit("identity")
    g.connect(x1, h1), g.connect(x2, h1), g.connect(x3, h2), g.connect(h1, h2)
    g.connect(h2, deep), g.connect(x1, deep), g.connect(h1, shallow)
    g.output(deep, shallow)
    net = g.compile(seed=0)
    path = tmp_path / "g.onnx"
    dp.export_onnx(net, path)
    X = raw_inputs(3, np.random.default_rng(1))
    np.testing.assert_allclose(run_onnx(path, X), net.predict(X), atol=1e-5, rtol=1e-5)


def test_estimators(tmp_path):
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import DeltaClassifier, DeltaRegressor

    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 4))
    cases = [(DeltaClassifier(hidden=(6,), epochs=5, random_state=0), (X[:, 0] > 0).astype(int), "predict_proba"),
             (DeltaClassifier(hidden=(6,), epochs=5, random_state=0), np.digitize(X[:, 1], [-0.5, 0.5]),
              "predict_proba"),
             (DeltaRegressor(hidden=(6,), epochs=5, random_state=0), X[:, 2], "predict"),
             (DeltaRegressor(hidden=(6,), epochs=5, random_state=0), X[:, :2], "predict")]
    for est, y, method in cases:
        est.fit(X, y)
        path = tmp_path / "e.onnx"
        dp.export_onnx(est, path)
        np.testing.assert_allclose(run_onnx(path, X), getattr(est, method)(X), atol=1e-5, rtol=1e-5)


def test_cli_export(tmp_path):
    pytest.importorskip("sklearn")
    from deltaprop.cli import main

    model = tmp_path / "w.safetensors"
    assert main(["train", "--dataset", "wine", "--epochs", "3", "--quiet", "--out", str(model)]) == 0
    assert main(["export", str(model), "--onnx", str(tmp_path / "w.onnx"), "--quiet"]) == 0
    m = dp.load(model)
    X = dp.io.load_builtin("wine").X
    np.testing.assert_allclose(run_onnx(tmp_path / "w.onnx", X), m.predict_proba(X), atol=1e-5)


def test_clear_errors(tmp_path, monkeypatch):
    dp.register_activation("cube_onnx", lambda z: z**3, lambda z, a: 3 * z**2, overwrite=True)
    net = dp.Network.layered([2, 2, 1], hidden="cube_onnx", output="identity", seed=0)
    with pytest.raises(ValueError, match="activation 'cube_onnx' has no ONNX operator"):
        dp.export_onnx(net, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="export_onnx takes a Network"):
        dp.export_onnx("model", tmp_path / "x.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'deltaprop\[onnx\]'"):
        dp.export_onnx(dp.Network.layered([2, 1], seed=0), tmp_path / "x.onnx")
