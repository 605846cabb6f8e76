"""The deltaprop command end to end: train, predict, evaluate, info, gradcheck, plot, resume, errors."""

from __future__ import annotations

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main

pytest.importorskip("sklearn")
IRIS = pathlib.Path(__file__).resolve().parents[1] / "examples" / "data" / "iris.csv"


def run(*argv, capsys=None):
    code = main([str(a) for a in argv])
    out = capsys.readouterr() if capsys else None
    return code, out


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_train_predict_evaluate_info_on_a_csv_with_string_labels(tmp_path, capsys):
    model = tmp_path / "iris.safetensors"
    code, out = run("train", IRIS, "--target", "species", "--out", model, "--epochs", "60", "--lr", "0.01",
                    capsys=capsys)
    assert code == 0, out.err
    assert "3 classes (setosa, versicolor, virginica) -> classification" in out.err
    assert "held-out accuracy" in out.out
    code, out = run("evaluate", model, IRIS, "--target", "species", "--json", capsys=capsys)
    metrics = json.loads(out.out)
    assert code == 0 and set(metrics) == {"accuracy", "cost", "rows", "classes", "confusion_matrix", "per_class",
                                          "macro", "baseline"} and metrics["accuracy"] > 0.9
    preds = tmp_path / "preds.csv"
    code, out = run("predict", model, IRIS, "--proba", "--out", preds, capsys=capsys)
    assert code == 0
    rows = list(csv.DictReader(open(preds)))
    assert list(rows[0]) == ["prediction", "setosa", "versicolor", "virginica"] and len(rows) == 150
    assert rows[0]["prediction"] == "setosa"
    assert abs(sum(float(rows[0][c]) for c in ("setosa", "versicolor", "virginica")) - 1) < 1e-5
    # the model selects its columns by name: reordered columns and extra ones are fine
    with open(IRIS) as f:
        table = list(csv.reader(f))
    shuffled = write_csv(tmp_path / "shuffled.csv", ["extra", *table[0][::-1]], [["x", *r[::-1]] for r in table[1:]])
    code, out = run("predict", model, shuffled, capsys=capsys)
    assert code == 0
    assert [r.split(",")[0] for r in out.out.splitlines()[1:]] == [r["prediction"] for r in rows]
    code, out = run("info", model, "--json", capsys=capsys)
    info = json.loads(out.out)
    assert info["kind"] == "model" and info["classes"] == "setosa, versicolor, virginica"
    assert info["format_version"] == 1


def test_saved_and_loaded_model_predicts_identically(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    run("train", "--dataset", "wine", "--out", model, "--quiet", "--epochs", "5")
    m = dp.load(model)
    X = dp.io.load_builtin("wine").X
    again = tmp_path / "again.safetensors"
    dp.save(m, again)
    assert np.array_equal(dp.load(again).predict_proba(X), m.predict_proba(X))


def test_regression_on_a_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2] ** 2 + 100
    data = write_csv(tmp_path / "reg.csv", ["a", "b", "c", "target"], [[*x, t] for x, t in zip(X, y)])
    model = tmp_path / "reg.safetensors"
    code, out = run("train", data, "--target", "target", "--out", model, "--epochs", "200", "--dtype", "float64",
                    capsys=capsys)
    assert code == 0 and "regression" in out.err
    code, out = run("evaluate", model, data, "--target", "target", "--json", capsys=capsys)
    metrics = json.loads(out.out)
    assert metrics["r2"] > 0.95 and set(metrics) == {"cost", "r2", "rmse", "mae", "rows", "baseline"}
    code, out = run("predict", model, data, capsys=capsys)
    pred = np.array([float(v) for v in out.out.splitlines()[1:]])
    assert np.corrcoef(pred, y)[0, 1] > 0.97


def test_builtin_data_plot_and_jsonl(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png, log = tmp_path / "curve.png", tmp_path / "log.jsonl"
    code, out = run("train", "--dataset", "digits", "--epochs", "3", "--out", tmp_path / "d.safetensors",
                    "--plot", png, "--log-jsonl", log, capsys=capsys)
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in lines if r["event"] == "epoch"] == [1, 2, 3]
    assert lines[-1]["event"] == "summary" and 0 <= lines[-1]["test_accuracy"] <= 1
    code, out = run("plot", log, "--out", tmp_path / "again.png", capsys=capsys)
    assert code == 0 and (tmp_path / "again.png").exists()
    code, out = run("plot", tmp_path / "d.safetensors", "--out", tmp_path / "three.png", capsys=capsys)
    assert code == 0 and (tmp_path / "three.png").exists()


def test_gradcheck_command(tmp_path, capsys):
    code, out = run("gradcheck", "--layers", "2,3,1", "--seed", "0", capsys=capsys)
    assert code == 0 and "PASS" in out.out
    code, out = run("gradcheck", "--layers", "4,5,3", "--output", "softmax", "--cost", "cross-entropy", "--json",
                    capsys=capsys)
    assert code == 0 and json.loads(out.out)["passed"] is True
    model = tmp_path / "iris.safetensors"
    run("train", IRIS, "--target", "species", "--out", model, "--quiet", "--epochs", "2", "--dtype", "float64")
    code, out = run("gradcheck", model, IRIS, "--target", "species", "--rows", "5", capsys=capsys)
    assert code == 0 and "worst" in out.out
    code, out = run("gradcheck", "--layers", "2,3,1", "--tol", "1e-30", capsys=capsys)
    assert code == 3 and "FAIL" in out.out


def test_datasets_command(capsys):
    code, out = run("datasets", capsys=capsys)
    assert code == 0
    for name in ("xor", "iris", "digits", "breast-cancer", "wine", "diabetes"):
        assert name in out.out


def test_resume_after_stopping_midway_equals_an_uninterrupted_run(tmp_path):
    common = ["--dataset", "wine", "--quiet", "--seed", "3", "--batch-size", "16"]
    whole = tmp_path / "whole.safetensors"
    assert main(["train", *common, "--epochs", "8", "--out", str(whole)]) == 0
    ck = tmp_path / "ck"
    part = tmp_path / "part.safetensors"
    assert main(["train", *common, "--epochs", "3", "--out", str(part), "--checkpoint-dir", str(ck)]) == 0
    assert main(["train", *common, "--epochs", "8", "--out", str(part), "--checkpoint-dir", str(ck), "--resume"]) == 0
    assert np.array_equal(dp.load(whole).network.params, dp.load(part).network.params)
    assert len(list(ck.glob("checkpoint-*"))) == 2  # the newest two checkpoints are kept


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, capsys):
    ck = tmp_path / "ck"
    main(["train", "--dataset", "wine", "--quiet", "--epochs", "2", "--checkpoint-dir", str(ck),
          "--out", str(tmp_path / "a.st")])
    code, out = run("train", "--dataset", "wine", "--quiet", "--epochs", "4", "--checkpoint-dir", ck, "--resume",
                    "--lr", "0.5", "--out", tmp_path / "b.st", capsys=capsys)
    assert code == 1 and "was made by a different run (lr: 0.003 then, 0.5 now)" in out.err
    code, out = run("train", "--dataset", "wine", "--epochs", "2", "--checkpoint-dir", tmp_path / "empty",
                    "--resume", "--out", tmp_path / "c.st", capsys=capsys)
    assert code == 0 and "no checkpoint in" in out.err and "starting fresh" in out.err


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "deltaprop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, **kw)


CTRL_C_RUN = ["--dataset", "digits", "--seed", "1", "--batch-size", "4", "--epochs", "6", "--early-stopping", "100",
              "--quiet"]


@pytest.fixture(scope="module")
def whole_digits_run(tmp_path_factory):
    """The uninterrupted run every Ctrl-C test must reproduce, and the epochs where a stop would go wrong."""
    path = tmp_path_factory.mktemp("whole") / "whole.safetensors"
    assert main(["train", *CTRL_C_RUN, "--out", str(path)]) == 0
    model = dp.load(path)
    val = [r["val_cost"] for r in model.history.records]
    not_best = [e for e in range(2, len(val) + 1) if val[e - 1] > min(val[: e - 1])]
    assert model.history.best_epoch < len(val) and not_best  # else these tests could not fail
    return model, not_best


def _ctrl_c_at(monkeypatch, hook, when):
    """Deliver a real SIGINT to this process from inside the CLI's own callbacks, at one chosen moment."""
    from deltaprop.io.logs import Checkpointer

    original = getattr(Checkpointer, hook)

    def patched(self, run, epoch, *rest):
        result = original(self, run, epoch, *rest)
        if (epoch, *rest[:1]) == when if hook == "on_batch_end" else epoch == when:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Checkpointer, hook, patched, raising=False)


@pytest.mark.parametrize("where", ["epoch_end", "mid_epoch"])
def test_ctrl_c_at_a_chosen_moment_resumes_bit_identically(where, whole_digits_run, tmp_path, monkeypatch, capsys):
    whole, not_best = whole_digits_run
    if where == "epoch_end":  # while the checkpoint of an epoch that is not the best so far is written
        _ctrl_c_at(monkeypatch, "on_epoch_end", not_best[0])
    else:
        _ctrl_c_at(monkeypatch, "on_batch_end", (not_best[0], 100))
    ck, part = tmp_path / "ck", tmp_path / "part.safetensors"
    code, out = run("train", *CTRL_C_RUN, "--out", part, "--checkpoint-dir", ck, capsys=capsys)
    assert code == 130 and "interrupted; the state is saved in" in out.err and not part.exists()
    monkeypatch.undo()
    code, out = run("train", *CTRL_C_RUN, "--out", part, "--checkpoint-dir", ck, "--resume", capsys=capsys)
    assert code == 0, out.err
    assert np.array_equal(whole.network.params, dp.load(part).network.params)


def test_resuming_a_finished_run_gives_the_finished_model(whole_digits_run, tmp_path, capsys):
    whole, _ = whole_digits_run
    ck, part = tmp_path / "ck", tmp_path / "part.safetensors"
    assert run("train", *CTRL_C_RUN, "--out", part, "--checkpoint-dir", ck)[0] == 0
    assert np.array_equal(whole.network.params, dp.load(part).network.params)
    part.unlink()
    code, out = run("train", *CTRL_C_RUN, "--out", part, "--checkpoint-dir", ck, "--resume", capsys=capsys)
    assert code == 0, out.err
    resumed = dp.load(part)
    assert np.array_equal(whole.network.params, resumed.network.params)
    assert resumed.history.best_epoch == whole.history.best_epoch


def test_ctrl_c_saves_a_checkpoint_and_resume_is_bit_identical(tmp_path):
    # A real Ctrl-C from outside, at whatever moment it lands; 40 epochs so that it lands inside training.
    common = [*CTRL_C_RUN[:7], "40", *CTRL_C_RUN[8:]]
    whole = tmp_path / "whole.safetensors"
    assert _cli("train", *common, "--out", whole).returncode == 0
    ck = tmp_path / "ck"
    part = tmp_path / "part.safetensors"
    proc = subprocess.Popen([sys.executable, "-m", "deltaprop.cli", "train", *common, "--out", str(part),
                             "--checkpoint-dir", str(ck)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (ck.exists() and any(ck.glob("checkpoint-*"))):
        time.sleep(0.02)
    time.sleep(0.05)  # now a few epochs in
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; the state is saved in" in err and "Traceback" not in err
    assert not part.exists()
    resumed = _cli("train", *common, "--out", part, "--checkpoint-dir", ck, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert np.array_equal(dp.load(whole).network.params, dp.load(part).network.params)


def test_console_script_entry_point(tmp_path):
    exe = pathlib.Path(sys.executable).with_name("deltaprop")
    if not exe.exists():
        pytest.skip("the console script is not installed next to this Python")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("deltaprop ")


def _errors(tmp_path):
    bad = write_csv(tmp_path / "bad.csv", ["a", "b", "y"], [[i, i * 2, "xy"[i % 2]] for i in range(11)] + [[3, "zz", "y"]])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,2,x\n3,4\n")
    missing = write_csv(tmp_path / "missing.csv", ["a", "b", "y"], [[1, "", "x"], [3, 4, "y"]])
    one = write_csv(tmp_path / "one.csv", ["a", "y"], [[1, "x"], [2, "x"], [3, "x"]])
    model = tmp_path / "m.safetensors"
    main(["train", str(IRIS), "--target", "species", "--out", str(model), "--quiet", "--epochs", "1"])
    unseen = write_csv(tmp_path / "unseen.csv", ["sepal_length", "sepal_width", "petal_length", "petal_width",
                                                 "species"], [[1, 2, 3, 4, "rose"]])
    rand = tmp_path / "rand.safetensors"
    rand.write_bytes(os.urandom(300))
    return [
        (["train", bad, "--target", "y"], 1, "row 13, column 'b': 'zz' is not a number, but 11 of its 12 values are"),
        (["train", ragged, "--target", "y"], 1, "row 3 has 2 cells but the header has 3 columns"),
        (["train", missing, "--target", "y"], 1, "row 2, column 'b': missing value"),
        (["train", one, "--target", "y"], 1, "single class 'x'"),
        (["train", IRIS, "--target", "nope"], 1, "no column named 'nope'"),
        (["train", IRIS], 2, "--target COLUMN is required"),
        (["train"], 2, "give a DATA file"),
        (["train", tmp_path / "absent.csv", "--target", "y"], 1, "absent.csv: no such file"),
        (["train", IRIS, "--target", "species", "--hidden", "a,b"], 2, "--hidden takes comma-separated"),
        (["train", IRIS, "--target", "species", "--activation", "swish"], 2, "unknown activation 'swish'"),
        (["train", IRIS, "--target", "species", "--optimizer", "nadam"], 2, "unknown optimizer 'nadam'"),
        (["train", IRIS, "--target", "species", "--lr", "-1"], 2, "expected a number"),
        (["train", IRIS, "--target", "species", "--epochs", "0"], 2, "expected a positive integer"),
        (["train", IRIS, "--target", "species", "--out", tmp_path / "nodir" / "m.st"], 1, "does not exist"),
        (["train", "--dataset", "mnist"], 1, "unknown data set 'mnist'"),
        (["train", "--dataset", "diabetes", "--cost", "cross-entropy"], 2, "needs a classification target"),
        (["train", "--dataset", "wine", "--resume"], 2, "--resume needs --checkpoint-dir"),
        (["predict", rand, IRIS], 1, "rand.safetensors: not a deltaprop model file"),
        (["predict", model, bad], 1, "missing column(s) 'sepal_length'"),
        (["evaluate", model, unseen, "--target", "species"], 1, "labels not seen in training: 'rose'"),
        (["evaluate", model, IRIS], 2, "--target COLUMN is required"),
        (["info", tmp_path / "absent.st"], 1, "no such file"),
        (["gradcheck"], 2, "give MODEL DATA --target COLUMN, or --layers"),
        (["nonsense"], 2, "invalid choice"),
    ]


def test_every_error_is_one_or_two_lines_with_its_exit_code(tmp_path, capsys):
    for argv, code, message in _errors(tmp_path):
        capsys.readouterr()
        try:
            got = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own usage errors
            got = exc.code
        err = capsys.readouterr().err
        assert got == code, (argv, got, err)
        assert message in err, (argv, err)
        assert "Traceback" not in err
        assert len([line for line in err.splitlines() if line.strip()]) <= 2, err


def test_no_traceback_from_the_real_process(tmp_path):
    r = _cli("train", tmp_path / "absent.csv", "--target", "y")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "no such file" in r.stderr
    r = _cli("train", tmp_path / "absent.csv", "--target", "y", "--debug")
    assert r.returncode == 1 and "Traceback" in r.stderr


# --- files written by dp.save(DeltaClassifier(...).fit(X, y)): info and predict use them (they crashed) ---------


def _estimator_file(tmp_path, kind, frame=False):
    from deltaprop.sklearn import DeltaClassifier, DeltaRegressor

    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(80, 4)), 3)
    if kind == "binary":
        y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    elif kind == "multiclass":
        y = (X[:, 0] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)
    elif kind == "multilabel":
        y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0], axis=1).astype(int)
    else:
        y = X @ [1.0, -2.0, 0.5, 0.0]
    names = ["a", "b", "c", "d"]
    Xfit = X
    if frame:
        pd = pytest.importorskip("pandas")
        Xfit = pd.DataFrame(X, columns=names)
    est = (DeltaRegressor if kind == "regression" else DeltaClassifier)(hidden=(5,), epochs=30, random_state=0)
    est.fit(Xfit, y)
    path = tmp_path / f"{kind}.safetensors"
    dp.save(est, path)
    data = write_csv(tmp_path / f"{kind}.csv", names[::-1] if frame else names,
                     [row[::-1] if frame else row for row in X.tolist()])
    return est, Xfit, path, data


@pytest.mark.parametrize("kind,frame", [("binary", False), ("multiclass", False), ("multiclass", True)])
def test_predict_on_an_estimator_file_equals_its_predict(kind, frame, tmp_path, capsys):
    est, X, path, data = _estimator_file(tmp_path, kind, frame)
    code, out = run("predict", path, data, capsys=capsys)
    assert code == 0, out.err
    lines = out.out.splitlines()
    assert lines[0] == "prediction" and lines[1:] == [str(v) for v in est.predict(X)]
    code, out = run("predict", path, data, "--proba", capsys=capsys)
    assert code == 0, out.err
    proba = np.array([[float(v) for v in line.split(",")[1:]] for line in out.out.splitlines()[1:]])
    np.testing.assert_allclose(proba, est.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_info_on_an_estimator_file(kind, tmp_path, capsys):
    est, _, path, _ = _estimator_file(tmp_path, kind)
    code, out = run("info", path, "--json", capsys=capsys)
    assert code == 0, out.err
    info = json.loads(out.out)
    assert info["kind"] == "estimator" and info["estimator"] == "DeltaClassifier"
    assert info["task"] == "classification" and info["classes"] == ", ".join(map(str, est.classes_))
    assert info["network"] == repr(est.network_) and info["parameters"] == est.network_.n_params
    code, out = run("info", path, capsys=capsys)
    assert code == 0 and "estimator" in out.out and "classification" in out.out and not out.err


def test_a_multilabel_estimator_file_is_refused_in_one_line(tmp_path, capsys):
    _, _, path, data = _estimator_file(tmp_path, "multilabel")
    code, out = run("predict", path, data, capsys=capsys)
    assert code == 1 and "multilabel DeltaClassifier" in out.err
    assert "Traceback" not in out.err and len(out.err.strip().splitlines()) == 1
    code, out = run("info", path, "--json", capsys=capsys)
    assert code == 0 and json.loads(out.out)["task"] == "multilabel classification"


def test_info_json_for_every_kind_of_file(tmp_path, capsys):
    net = tmp_path / "net.safetensors"
    dp.save(dp.Network.layered([2, 3, 1], seed=0), net)
    model, ck = tmp_path / "model.safetensors", tmp_path / "ck"
    assert main(["train", "--dataset", "xor", "--quiet", "--epochs", "2", "--out", str(model),
                 "--checkpoint-dir", str(ck)]) == 0
    files = {"network": net, "model": model, "checkpoint": sorted(ck.glob("checkpoint-*.safetensors"))[-1]}
    for kind in ("binary", "multilabel", "regression"):
        files[f"estimator {kind}"] = _estimator_file(tmp_path, kind)[2]
    for kind, path in files.items():
        code, out = run("info", path, "--json", capsys=capsys)
        assert code == 0, (kind, out.err)
        info = json.loads(out.out)
        assert info["kind"] == kind.split()[0] and info["parameters"] > 0, (kind, info)
    assert json.loads(run("info", files["checkpoint"], "--json", capsys=capsys)[1].out)["epochs_done"] == 2
