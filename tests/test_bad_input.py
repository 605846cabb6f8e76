"""Issue 9's catalogue of bad input: each case through the library (a ValueError that says what
was expected and what came) and through the command line (exit 1 or 2, at most two lines, no
traceback). The messages are documented in the README's Guarantees section."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main

sklearn = pytest.importorskip("sklearn")
from deltaprop.sklearn import DeltaClassifier  # noqa: E402

NET = lambda: dp.Network.layered([3, 4, 2], seed=0)  # noqa: E731
X3 = np.zeros((5, 3))
Y2 = np.zeros((5, 2))

LIBRARY = [
    ("NaN in X", lambda: dp.train(NET(), np.full((5, 3), np.nan), Y2), r"X contains nan at \[0, 0\]; expected finite"),
    ("infinity in y", lambda: dp.train(NET(), X3, np.full((5, 2), np.inf)), r"Y contains inf at \[0, 0\]"),
    ("wrong number of features", lambda: NET().predict(np.zeros((2, 4))),
     "X has 4 features, but the network was built for 3"),
    ("empty data", lambda: dp.train(NET(), np.zeros((0, 3)), np.zeros((0, 2))), "X has 0 samples"),
    ("one class", lambda: DeltaClassifier().fit(X3, np.ones(5)), "only one class"),
    ("mixed labels", lambda: dp.model.encode_labels(np.array(["a", 1], dtype=object)), "mix types"),
    ("unseen labels", lambda: dp.model.encode_labels(np.array(["z"], dtype=object), ["a", "b"]),
     "labels not seen in training: 'z'"),
    ("huge values", lambda: NET().copy(dtype="float32").predict(np.full((1, 3), 1e300)), "too large for float32"),
    ("object array", lambda: NET().predict(np.array([[None, 1, 2]], dtype=object)), r"X contains None at \[0, 0\]"),
    ("complex", lambda: NET().predict(np.zeros((1, 3), dtype=complex)), "complex dtype"),
    ("sample weights: wrong length", lambda: dp.train(NET(), X3, Y2, sample_weight=np.ones(4)),
     r"sample_weight must have shape \(5,\)"),
    ("sample weights: negative", lambda: dp.train(NET(), X3, Y2, sample_weight=-np.ones(5)),
     "sample_weight must be >= 0, got -1.0"),
    ("negative learning rate", lambda: dp.train(NET(), X3, Y2, learning_rate=-0.1),
     "learning_rate must be a finite number > 0, got -0.1"),
    ("zero epochs", lambda: dp.train(NET(), X3, Y2, epochs=0), "epochs must be an int >= 1, got 0"),
    ("unknown optimizer", lambda: dp.train(NET(), X3, Y2, optimizer="adagrad"), "unknown optimizer 'adagrad'"),
    ("unknown activation", lambda: dp.Network.layered([3, 2], output="swish"), "unknown activation 'swish'"),
]


@pytest.mark.parametrize("case,call,match", LIBRARY, ids=[c[0] for c in LIBRARY])
def test_library(case, call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_one_row_and_a_constant_column_train():
    """Not errors: one row trains (nothing to hold out), a constant column is scaled to 0, not divided by 0."""
    net = dp.Network.layered([2, 3, 1], output="identity", seed=0)
    history = dp.train(net, [[1.0, 2.0]], [3.0], epochs=5, validation_split=None)
    assert len(history) == 5 and np.isfinite(net.params).all()
    scaler = dp.model.Scaler.fit(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]))
    assert scaler.scale[1] == 1.0 and np.all(scaler.transform([[2.0, 5.0]]) == [[0.0, 0.0]])


def _write(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def cli_cases(tmp_path):
    header = ["a", "b", "y"]
    ok = [header] + [[i, i % 3, "cat" if i % 2 else "dog"] for i in range(30)]
    files = {
        "nan": _write(tmp_path / "nan.csv", ok[:3] + [[1, "nan", "cat"]]),
        "inf": _write(tmp_path / "inf.csv", ok[:3] + [[1, "inf", "cat"]]),
        "empty": _write(tmp_path / "empty.csv", []),
        "one_row": _write(tmp_path / "one.csv", [header, [1, 2, "cat"]]),
        "one_class": _write(tmp_path / "oneclass.csv", [header] + [[i, i, "cat"] for i in range(10)]),
        "ragged": _write(tmp_path / "ragged.csv", ok[:3] + [[1, 2]]),
        "text": _write(tmp_path / "text.csv", ok[:3] + [[1, "two", "cat"]]),
        "dupes": _write(tmp_path / "dupes.csv", [["a", "a", "y"], [1, 2, "cat"]]),
        "ok": _write(tmp_path / "ok.csv", ok),
        "huge": _write(tmp_path / "huge.csv", [header] + [[i * 1e30, i, "cat" if i % 2 else "dog"] for i in range(30)]),
        "bools": _write(tmp_path / "bools.csv", [header] + [[i, i % 3, "true" if i % 2 else "false"]
                                                             for i in range(30)]),
        "unseen": _write(tmp_path / "unseen.csv", [header, [1, 2, "bird"]]),
        "missing_col": _write(tmp_path / "nocol.csv", [["a", "y"], [1, "cat"]]),
    }
    model = str(tmp_path / "m.safetensors")
    assert main(["train", files["ok"], "--target", "y", "--epochs", "2", "--quiet", "--out", model]) == 0
    return [
        ("NaN cell", ["train", files["nan"], "--target", "y"], 1, "column 'b': missing value"),
        ("infinity cell", ["train", files["inf"], "--target", "y"], 1, "'inf' is not a finite number"),
        ("empty data", ["train", files["empty"], "--target", "y"], 1, "the file is empty"),
        ("one row", ["train", files["one_row"], "--target", "y"], 1, "only one class" if False else "single class"),
        ("one class", ["train", files["one_class"], "--target", "y"], 1, "single class 'cat'"),
        ("ragged rows", ["train", files["ragged"], "--target", "y"], 1, "row 4 has 2 cells but the header has 3"),
        ("non-numeric cell", ["train", files["text"], "--target", "y"], 1, "row 4, column 'b': 'two' is not a number"),
        ("duplicate columns", ["train", files["dupes"], "--target", "y"], 1, "duplicate column name 'a'"),
        ("missing target column", ["train", files["ok"], "--target", "label"], 1, "no column named 'label'"),
        ("wrong features at predict", ["predict", model, files["missing_col"]], 1, "missing column(s) 'b'"),
        ("unseen labels", ["evaluate", model, files["unseen"], "--target", "y"], 1, "labels not seen in training: 'bird'"),
        ("negative learning rate", ["train", files["ok"], "--target", "y", "--lr", "-1"], 2, "expected a number"),
        ("zero epochs", ["train", files["ok"], "--target", "y", "--epochs", "0"], 2, "expected a positive integer"),
        ("unknown optimizer", ["train", files["ok"], "--target", "y", "--optimizer", "adagrad"], 2,
         "unknown optimizer 'adagrad'"),
        ("unknown activation", ["train", files["ok"], "--target", "y", "--activation", "swish"], 2,
         "unknown activation 'swish'"),
    ], files


def test_cli(tmp_path, capsys):
    cases, files = cli_cases(tmp_path)
    capsys.readouterr()
    for name, argv, code, message in cases:
        try:
            got = main(argv)
        except SystemExit as exc:
            got = exc.code
        err = capsys.readouterr().err
        assert got == code, (name, got, err)
        assert message in err, (name, err)
        assert "Traceback" not in err and len([line for line in err.splitlines() if line.strip()]) <= 2, (name, err)
    # huge values and boolean labels are not errors
    assert main(["train", files["huge"], "--target", "y", "--epochs", "2", "--quiet",
                 "--out", str(tmp_path / "h.safetensors")]) == 0
    assert np.isfinite(dp.load(tmp_path / "h.safetensors").network.params).all()
    assert main(["train", files["bools"], "--target", "y", "--epochs", "2", "--quiet",
                 "--out", str(tmp_path / "b.safetensors")]) == 0
    assert dp.load(tmp_path / "b.safetensors").classes == ["false", "true"]


# --- numerical extremes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activations_at_plus_minus_1e4(dtype):
    z = np.array([[-1e4, -700.0, 0.0, 700.0, 1e4]], dtype=dtype)
    expected = {
        "identity": z, "relu": np.maximum(z, 0), "leaky_relu": np.where(z > 0, z, 0.01 * z),
        "sigmoid": np.array([[0, 0, 0.5, 1, 1]]), "tanh": np.array([[-1, -1, 0, 1, 1]]),
        "softplus": np.array([[0, 0, np.log(2), 700, 1e4]]), "elu": np.array([[-1, -1, 0, 700, 1e4]]),
    }
    for name, want in expected.items():
        act = dp.get_activation(name)
        a = act.f(z)
        assert np.isfinite(a).all() and a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, want, rtol=1e-6, atol=1e-30)
        assert np.isfinite(act.backward(z, a, np.ones_like(z))).all()
    soft = dp.get_activation("softmax").f(z)
    np.testing.assert_allclose(soft, [[0, 0, 0, 0, 1]], atol=1e-30)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_entropy_with_probabilities_at_0_and_1(output, dtype):
    net = dp.Network.layered([1, 2], output=output, cost="cross_entropy", dtype=dtype, seed=0)
    net.params[:] = 0
    net.b[0][...] = [1e4, -1e4]  # h = (1, 0) exactly in floating point
    h = net.predict([[0.0]])
    assert h[0, 0] == 1.0 and h[0, 1] == 0.0
    right = [[1.0, 0.0]]
    wrong = [[0.0, 1.0]]
    J, g = net.cost_and_gradient([[0.0]], right)
    assert J == 0.0 and np.all(g == 0)  # log(1) = 0; delta = h - y = 0
    J, g = net.cost_and_gradient([[0.0]], wrong)
    assert J == pytest.approx(2e4, rel=1e-6)  # -log(0) computed from z, never log(0) = inf
    assert np.isfinite(g).all() and g[-2:] == pytest.approx([1.0, -1.0])
