"""ONNX export: onnx.checker accepts it, onnxruntime reproduces deltaprop's outputs to 1e-5."""

from __future__ import annotations

import json
import os
import sys
import warnings

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
    cases.append((DeltaClassifier(hidden=(6,), epochs=5, random_state=0), np.array(["no", "yes"])[(X[:, 3] > 0).astype(int)],
                  "predict_proba"))
    cases.append((DeltaClassifier(hidden=(6,), epochs=5, random_state=0), (X[:, :3] > 0).astype(int), "predict_proba"))
    for est, y, method in cases:
        est.fit(X, y)
        path = tmp_path / "e.onnx"
        dp.export_onnx(est, path)
        np.testing.assert_allclose(run_onnx(path, X), getattr(est, method)(X), atol=1e-5, rtol=1e-5)
        outputs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": X.astype(np.float32)})
        meta = metadata(path)
        if method == "predict_proba":  # the label output is predict's: a class per row, or multilabel's 0/1 matrix
            assert len(outputs) == 2 and np.asarray(outputs[1]).tolist() == est.predict(X).tolist()
            assert json.loads(meta["classes"]) == est.classes_.tolist() and meta["task"] == "classification"
        else:
            assert len(outputs) == 1 and meta["task"] == "regression" and "classes" not in meta


def test_cli_export(tmp_path):
    pytest.importorskip("sklearn")
    from deltaprop.cli import main

    model = tmp_path / "w.safetensors"
    assert main(["train", "--dataset", "wine", "--epochs", "3", "--quiet", "--out", str(model)]) == 0
    assert main(["export", str(model), "--onnx", str(tmp_path / "w.onnx"), "--quiet"]) == 0
    m = dp.load(model)
    X = dp.io.load_builtin("wine").X
    np.testing.assert_allclose(run_onnx(tmp_path / "w.onnx", X), m.predict_proba(X), atol=1e-5)
    session = ort.InferenceSession(str(tmp_path / "w.onnx"), providers=["CPUExecutionProvider"])
    label = session.run(["label"], {"input": X.astype(np.float32)})[0]
    assert label.dtype == object and label.tolist() == m.predict(X).tolist() and m.classes[0] == "class_0"
    meta = metadata(tmp_path / "w.onnx")  # a model without columns: no columns record, the matrix input
    assert m.columns is None and "columns" not in meta
    assert json.loads(meta["classes"]) == m.classes and json.loads(meta["feature_names"]) == m.feature_names
    assert json.loads(meta["inputs"]) == [{"name": "input", "type": "float32", "shape": ["N", 13], "features": m.feature_names}]


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


# --- models trained on tables: one input per column, imputation and one-hot inside the graph (issue 14) ------

PENGUINS = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "penguins.csv")


def metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def table_feed(session, table):
    """The graph's inputs from a table (numbers with NaN, text with None): each graph input is the column
    the metadata's ``inputs`` names, shaped (N, 1); a missing text cell is passed as ""."""
    columns = {e["name"]: e["column"] for e in json.loads(session.get_modelmeta().custom_metadata_map["inputs"])}
    feed = {}
    for i in session.get_inputs():
        values = table[columns[i.name]]
        if i.type == "tensor(string)":
            feed[i.name] = np.array(["" if v is None else str(v) for v in values], dtype=object).reshape(-1, 1)
        else:
            feed[i.name] = np.asarray(values, dtype=np.float64 if i.type == "tensor(double)" else np.float32).reshape(-1, 1)
    return feed


def expected(model, table):
    """Model.predict_proba and Model.predict, unseen categories allowed (they warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.predict_proba(table), model.predict(table)


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """A species classifier trained from the semicolon-separated file with --impute median (text columns island
    and sex one-hot, missing numbers filled), and the file's rows plus rows it never saw."""
    from deltaprop.cli import main
    from deltaprop.io.data import read_table

    path = tmp_path_factory.mktemp("penguins") / "p.safetensors"
    assert main(["train", PENGUINS, "--target", "species", "--impute", "median", "--epochs", "10", "--quiet",
                 "--out", str(path)]) == 0
    model = dp.load(path)
    table = {n: read_table(PENGUINS).columns[n] for n in model.columns.names}
    extra = {n: v[:5].copy() for n, v in table.items()}
    extra["island"] = np.array(["Atlantis", None, "", "Dream", "biscoe"], dtype=object)  # unseen, missing, empty, known, case
    extra["sex"] = np.array([None, "male", "unknown", "", "female"], dtype=object)
    extra["bill_length_mm"] = np.array([np.nan, 40.0, np.nan, np.nan, 39.0])
    extra["body_mass_g"] = np.array([np.nan, 4000, np.nan, 3500, np.nan])
    table = {n: np.concatenate([table[n], extra[n]]) for n in table}
    assert np.isnan(table["body_mass_g"]).any() and any(v is None for v in table["sex"])  # the file's own gaps
    return path, model, table


@pytest.mark.parametrize("input_dtype,tol", [("auto", 1e-5), ("float32", 1e-4)])
def test_penguins_parity_with_predict(penguins, tmp_path, input_dtype, tol):
    _, model, table = penguins
    path = tmp_path / "p.onnx"
    precision = dp.export_onnx(model, path, input_dtype=input_dtype)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    number = "tensor(double)" if precision == "float64" else "tensor(float)"
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == [
        (c.name, "tensor(string)" if c.kind == "category" else number, ["N", 1]) for c in model.columns.columns]
    assert [o.name for o in session.get_outputs()] == ["probabilities", "label"]
    proba, label = session.run(None, table_feed(session, table))
    want_proba, want_label = expected(model, table)
    assert proba.shape == want_proba.shape == (349, 3)
    np.testing.assert_allclose(proba, want_proba, atol=tol, rtol=tol)
    assert label.dtype == object and label.tolist() == want_label.tolist()


def test_penguins_missing_and_unseen_cells_encode_as_predict_does(penguins, tmp_path):
    """One row at a time against the encoded inputs predict builds: an unseen island, "" and None are all
    zeros; a missing number is the stored median; so the ONNX row equals the row with those values written in."""
    _, model, table = penguins
    dp.export_onnx(model, tmp_path / "p.onnx")
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    last = {n: v[-5:] for n, v in table.items()}
    filled = {n: v.copy() for n, v in last.items()}
    fills = {c.name: c.fill for c in model.columns.columns if c.fill is not None}
    assert {"bill_length_mm", "body_mass_g"} <= set(fills)
    for n, fill in fills.items():
        filled[n] = np.where(np.isnan(filled[n]), fill, filled[n])
    filled["island"] = np.array(["Nowhere", "Nowhere", "Nowhere", "Dream", "Nowhere"], dtype=object)
    filled["sex"] = np.array(["x", "male", "x", "x", "female"], dtype=object)
    got = session.run(["probabilities"], table_feed(session, last))[0]
    np.testing.assert_allclose(got, expected(model, filled)[0], atol=1e-5)
    assert not np.isnan(got).any()


def test_penguins_metadata_round_trip(penguins, tmp_path):
    from deltaprop.preprocess import Columns

    _, model, _ = penguins
    dp.export_onnx(model, tmp_path / "p.onnx")
    meta = metadata(tmp_path / "p.onnx")
    assert set(meta) == {"deltaprop_version", "task", "classes", "feature_names", "columns", "inputs", "outputs",
                         "input_scaling"}
    assert set(meta) <= set(dp.export.METADATA_KEYS)
    assert meta["deltaprop_version"] == dp.__version__ and meta["task"] == "classification"
    assert json.loads(meta["classes"]) == model.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert json.loads(meta["feature_names"]) == model.feature_names == model.columns.input_names
    assert Columns.from_record(json.loads(meta["columns"])) == model.columns
    assert json.loads(meta["outputs"]) == ["probabilities", "label"]
    assert [(e["name"], e["column"], e["kind"]) for e in json.loads(meta["inputs"])] == [
        (c.name, c.name, c.kind) for c in model.columns.columns]
    scaling = json.loads(meta["input_scaling"])
    assert scaling["method"] == "standardise"
    np.testing.assert_array_equal(scaling["mean"], model.scaler.mean)
    np.testing.assert_array_equal(scaling["scale"], model.scaler.scale)
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map == meta


def test_cli_export_of_a_model_with_columns(penguins, tmp_path, capsys):
    from deltaprop.cli import main

    path, model, table = penguins
    capsys.readouterr()
    assert main(["export", str(path), "--onnx", str(tmp_path / "p.onnx")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "one input per table column" in out and "probabilities and label out" in out
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    proba, label = session.run(None, table_feed(session, table))
    want_proba, want_label = expected(model, table)
    np.testing.assert_allclose(proba, want_proba, atol=1e-5)
    assert label.tolist() == want_label.tolist()


def columns_model(task="classification", fills=(0.5, None), classes=("x", "y", "z"), seed=0):
    """A model by hand whose column names are names the graph uses inside ("input", "label", "a_1", "encoded"),
    with a text column, a filled number and an unfilled one."""
    from deltaprop.model import Scaler
    from deltaprop.preprocess import Column, Columns

    cols = Columns((Column("a_1", "number", fills[0]), Column("label", "category", categories=("p", "q")),
                    Column("encoded", "number", fills[1]), Column("input", "category", categories=("r", "s"))))
    n_out = len(classes) if task == "classification" else 2
    net = dp.Network.layered([6, 5, n_out], hidden="tanh", output="softmax" if task == "classification" else "identity",
                             cost="cross_entropy" if task == "classification" else "squared", seed=seed)
    rng = np.random.default_rng(seed)
    net.params = rng.normal(scale=0.8, size=net.n_params)
    scaler = Scaler(rng.normal(size=6), rng.uniform(0.5, 2, size=6))
    if task == "classification":
        return Model(net, task, list(classes), cols.input_names, None, scaler, columns=cols)
    return Model(net, task, None, cols.input_names, ["t1", "t2"], scaler, target_scaler=Scaler(np.array([5.0, -1]),
                 np.array([2.0, 0.1])), columns=cols)


def small_table(m=40, seed=1):
    rng = np.random.default_rng(seed)
    a1 = rng.normal(size=m)
    a1[::7] = np.nan
    return {"a_1": a1, "label": np.array(["p", "q", None, "s"] * (m // 4), dtype=object), "encoded": rng.normal(size=m),
            "input": np.array(["s", "r", None, "t", ""] * (m // 5), dtype=object)}


def test_column_names_the_graph_uses_are_renamed_and_said(tmp_path):
    model = columns_model()
    dp.export_onnx(model, tmp_path / "c.onnx")
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    inputs = json.loads(metadata(tmp_path / "c.onnx")["inputs"])
    assert [(e["name"], e["column"]) for e in inputs] == [("a_1_1", "a_1"), ("label_1", "label"), ("encoded_1", "encoded"),
                                                          ("input", "input")]
    assert [i.name for i in session.get_inputs()] == [e["name"] for e in inputs]
    table = small_table()
    proba, label = session.run(None, table_feed(session, table))
    want_proba, want_label = expected(model, table)
    np.testing.assert_allclose(proba, want_proba, atol=1e-5)
    assert label.tolist() == want_label.tolist()


def test_a_missing_number_without_a_fill_gives_nan_where_predict_refuses(tmp_path):
    model = columns_model()
    table = small_table(m=20)
    table["encoded"][3] = np.nan
    with pytest.raises(ValueError, match="row 4, column 'encoded': missing value"):
        model.predict(table)
    dp.export_onnx(model, tmp_path / "c.onnx")
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    proba = session.run(["probabilities"], table_feed(session, table))[0]
    assert np.isnan(proba[3]).all() and not np.isnan(np.delete(proba, 3, axis=0)).any()


def test_regression_model_with_columns(tmp_path):
    model = columns_model("regression")
    dp.export_onnx(model, tmp_path / "r.onnx")
    session = ort.InferenceSession(str(tmp_path / "r.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["predictions"]
    table = small_table()
    got = session.run(None, table_feed(session, table))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(got, model.predict(table), atol=1e-4, rtol=1e-5)
    meta = metadata(tmp_path / "r.onnx")
    assert meta["task"] == "regression" and "classes" not in meta
    assert json.loads(meta["target_scaling"])["scale"] == [2.0, 0.1]


def test_matrix_input_of_a_model_with_columns_fills_as_predict(tmp_path):
    model = columns_model()
    X = np.random.default_rng(3).normal(size=(30, 6))
    X[::4, 0] = np.nan  # a_1: filled with 0.5, as Model.predict fills a matrix's number columns
    dp.export_onnx(model, tmp_path / "m.onnx", inputs="matrix")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("input", ["N", 6])]
    proba, label = session.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    assert label.tolist() == model.predict(X).tolist()


def test_plain_number_columns_keep_the_single_input_unless_asked(tmp_path):
    from deltaprop.model import Scaler
    from deltaprop.preprocess import Columns

    net = dp.Network.layered([2, 4, 2], output="softmax", cost="cross_entropy", seed=0)
    model = Model(net, "classification", [3, 7], ["u", "v"], None, Scaler(np.array([1.0, 2]), np.array([3.0, 4])),
                  columns=Columns.numbers(["u", "v"]))
    X = np.random.default_rng(0).normal(size=(9, 2))
    assert dp.export.input_layout(model) == "matrix"
    dp.export_onnx(model, tmp_path / "m.onnx")
    assert run_onnx(tmp_path / "m.onnx", X).shape == (9, 2)  # "input", as every export before tables
    dp.export_onnx(model, tmp_path / "c.onnx", inputs="columns")
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    proba, label = session.run(None, {"u": X[:, :1].astype(np.float32), "v": X[:, 1:].astype(np.float32)})
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    assert label.dtype == np.int64 and label.tolist() == model.predict(X).tolist()


@pytest.mark.parametrize("classes,dtype", [(["no", "yes"], object), ([0, 1], np.int64), ([False, True], np.bool_),
                                           ([0.5, 2.0], np.float64)])
def test_label_output_has_the_classes_type(classes, dtype, tmp_path):
    net = dp.Network.layered([3, 4, 1], hidden="tanh", output="sigmoid", cost="cross_entropy", seed=0)
    net.params = np.random.default_rng(0).normal(scale=2, size=net.n_params)
    model = Model(net, "classification", classes)
    dp.export_onnx(model, tmp_path / "b.onnx")
    X = np.random.default_rng(1).normal(size=(50, 3))
    session = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    proba, label = session.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    assert label.dtype == dtype and label.tolist() == model.predict(X).tolist()
    assert len(set(label.tolist())) == 2  # both classes occur: the test can tell them apart
    assert json.loads(metadata(tmp_path / "b.onnx")["classes"]) == classes


@pytest.mark.parametrize("sizes,output", [([3, 4, 3], "softmax"), ([3, 4, 1], "sigmoid")])
def test_label_ties_go_to_the_first_class(sizes, output, tmp_path):
    net = dp.Network.layered(sizes, output=output, cost="cross_entropy", seed=0)
    net.params = np.zeros(net.n_params)  # every probability equal: 1/3 each, or [0.5, 0.5]
    classes = ["a", "b", "c"][: max(2, sizes[-1])]
    model = Model(net, "classification", classes)
    dp.export_onnx(model, tmp_path / "t.onnx")
    X = np.random.default_rng(0).normal(size=(4, 3))
    label = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"]).run(
        ["label"], {"input": X.astype(np.float32)})[0]
    assert label.tolist() == model.predict(X).tolist() == ["a"] * 4


def test_export_refuses_what_it_cannot_write(tmp_path):
    from deltaprop.preprocess import Column, Columns

    net = dp.Network.layered([2, 3], output="softmax", cost="cross_entropy", seed=0)
    with pytest.raises(ValueError, match="inputs='columns' needs a Model trained on a table"):
        dp.export_onnx(net, tmp_path / "x.onnx", inputs="columns")
    with pytest.raises(ValueError, match="inputs must be 'auto', 'columns' or 'matrix', got 'table'"):
        dp.export_onnx(net, tmp_path / "x.onnx", inputs="table")
    with pytest.raises(ValueError, match="the class labels are of types int, str"):
        dp.export_onnx(Model(net, "classification", ["a", 1, 2]), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="lists 2 classes but its network gives 3 class scores"):
        dp.export_onnx(Model(net, "classification", ["a", "b"]), tmp_path / "x.onnx")
    empty = columns_model()
    empty.columns = Columns((*empty.columns.columns[:3], Column("input", "category", categories=("", "r"))))
    with pytest.raises(ValueError, match="column 'input': the empty text is one of its categories"):
        dp.export_onnx(empty, tmp_path / "x.onnx")
    dp.export_onnx(empty, tmp_path / "m.onnx", inputs="matrix")  # the encoded inputs need no text
    assert not (tmp_path / "x.onnx").exists()
