"""The command line explains itself: examples that run, defaults in every help, conflicting flags refused,
stable JSON keys, progress a log can read, the restored epoch's numbers, and evaluate's fuller report."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import pathlib
import re
import shutil

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import build_parser, main
from deltaprop.cli.progress import ProgressBar, ProgressLines, progress_for

pytest.importorskip("sklearn")
IRIS = pathlib.Path(__file__).resolve().parents[1] / "examples" / "data" / "iris.csv"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def run(capsys, *argv):
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr()


def helps() -> dict[str, str]:
    """Every --help text: the top level's and each command's, in the parser's order."""
    parser = build_parser()
    return {"deltaprop": parser.format_help(), **{name: p.format_help() for name, p in parser.commands.items()}}


def examples(text: str) -> list[list[str]]:
    """The example command lines at the end of a help text, as argv lists (without 'deltaprop')."""
    tail = text[text.index("\nexamples:\n"):]
    return [line.split()[1:] for line in tail.splitlines() if line.startswith("  deltaprop ")]


# --- 1. examples --------------------------------------------------------------------------------------------


def test_every_help_ends_with_two_or_three_examples():
    texts = helps()
    assert set(texts) >= {"deltaprop", "train", "predict", "evaluate", "gradcheck", "info", "datasets", "explain",
                          "export", "plot"}
    for name, text in texts.items():
        assert "\nexamples:\n" in text, name
        lines = examples(text)
        assert 2 <= len(lines) <= 3, (name, lines)
        # the examples are the end of the help: after every option's line
        assert text.index("\nexamples:\n") > text.rindex("\n  -"), name
        if name != "deltaprop":
            assert any(argv[0] == name for argv in lines) or name == "datasets", (name, lines)


def test_every_example_parses():
    parser = build_parser()
    for name, text in helps().items():
        for argv in examples(text):
            args = parser.parse_args(argv)
            assert args.command == argv[0], argv


def test_every_example_runs(tmp_path, monkeypatch, capsys):
    """Each help's examples, in order, in a folder holding iris.csv: each exits 0."""
    shutil.copy(IRIS, tmp_path / "iris.csv")
    monkeypatch.chdir(tmp_path)
    ran = 0
    for name, text in helps().items():
        for argv in examples(text):
            if argv[0] == "export" and importlib.util.find_spec("onnx") is None:
                continue
            if argv[0] == "plot" and importlib.util.find_spec("matplotlib") is None:
                continue
            code, out = run(capsys, *argv)
            assert code == 0, (argv, out.err)
            ran += 1
    assert ran >= 20
    for made in ("iris.safetensors", "diabetes.safetensors", "xor.safetensors", "predictions.csv", "row3.html"):
        assert (tmp_path / made).exists(), made


# --- 2. defaults --------------------------------------------------------------------------------------------


def options():
    """(command, option, its help as shown) for every option of every command that takes a value
    (argparse keeps a parser's actions in ``_actions``; it has no public list)."""
    for name, p in build_parser().commands.items():
        for action in p._actions:
            boolean = action.nargs == 0  # --quiet, --json, --help: present or not
            if action.option_strings and not boolean and action.help != argparse.SUPPRESS and not action.required:
                yield name, action, action.help % dict(vars(action), prog=p.prog)


def test_every_flag_says_its_default():
    checked = 0
    for name, action, text in options():
        assert "default" in text, (name, action.option_strings, text)
        if action.default is not None:
            assert f"(default: {action.default})" in text, (name, action.option_strings, text)
        assert text.count("default") == 1, (name, action.option_strings, text)  # added only where not said
        checked += 1
    assert checked > 60
    text = " ".join(build_parser().commands["train"].format_help().split())
    assert "(default: 50)" in text and "(default: 32, or the full batch for gd, rprop and" in text


# --- 3, 4. early stopping 0, and flags that contradict each other ---------------------------------------


def test_early_stopping_0_is_off_and_info_says_so(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, out = run(capsys, "train", "--dataset", "digits", "--epochs", "2", "--early-stopping", "0", "--hidden", "8",
                    "--out", model, "--quiet")
    assert code == 0, out.err
    m = dp.load(model)
    assert m.history.best_epoch is None and m.settings["early_stopping"] == 0
    assert json.loads(run(capsys, "info", model, "--json")[1].out)["settings"]["early_stopping"] == 0
    assert re.search(r"setting early_stopping\s*.\s*off", run(capsys, "info", model)[1].out)
    # on by default where the validation split is large enough (digits: 144 rows) ...
    code, out = run(capsys, "train", "--dataset", "digits", "--epochs", "2", "--hidden", "8", "--out", model, "--quiet")
    assert code == 0 and dp.load(model).settings["early_stopping"] == 5 and dp.load(model).history.best_epoch
    # ... and off, as info then says, where it is too small to stop on (iris: 12 rows)
    code, out = run(capsys, "train", IRIS, "--target", "species", "--epochs", "2", "--out", model)
    assert code == 0 and "early stopping off" in out.err
    assert dp.load(model).settings["early_stopping"] == 0


CONFLICTS = [
    (["--optimizer", "rprop", "--batch-size", "32"], "--optimizer rprop is a full-batch method"),
    (["--optimizer", "lbfgs", "--batch-size", "8"], "--optimizer lbfgs is a full-batch method"),
    (["--optimizer", "L-BFGS-B", "--batch-size", "8"], "--optimizer lbfgs is a full-batch method"),
    (["--optimizer", "lbfgs", "--lr", "0.1"], "chooses every step by a line search"),
    (["--optimizer", "rprop", "--schedule", "step"], "--schedule would have no effect"),
    (["--validation-split", "0", "--early-stopping", "3"], "--validation-split 0 holds no rows out"),
    (["--resume"], "--resume needs --checkpoint-dir"),
    (["--overwrite-checkpoints"], "--overwrite-checkpoints needs --checkpoint-dir"),
    (["--checkpoint-dir", "CK", "--resume", "--overwrite-checkpoints"], "give one"),
    (["--batch-size", "-1"], "--batch-size must be >= 0"),
    (["--early-stopping", "-1"], "0 turns early stopping off"),
]


@pytest.mark.parametrize("flags,message", CONFLICTS, ids=[" ".join(f) for f, _ in CONFLICTS])
def test_conflicting_train_flags_are_a_usage_error_in_one_line(flags, message, tmp_path, capsys):
    flags = [str(tmp_path / f) if f == "CK" else f for f in flags]
    code, out = run(capsys, "train", "--dataset", "xor", "--epochs", "1", "--out", tmp_path / "m.st", *flags)
    assert code == 2 and message in out.err, out.err
    lines = out.err.strip().splitlines()
    assert len(lines) <= 2 and "Traceback" not in out.err and not (tmp_path / "m.st").exists()


@pytest.mark.parametrize("flags,batch_size", [
    (["--optimizer", "rprop"], 0), (["--optimizer", "lbfgs", "--batch-size", "0"], 0), ([], 32),
    (["--optimizer", "sgd", "--batch-size", "0", "--validation-split", "0"], 0),
    (["--validation-split", "0", "--early-stopping", "0", "--batch-size", "16"], 16)])
def test_the_defaults_never_conflict(flags, batch_size, tmp_path, capsys):
    code, out = run(capsys, "train", "--dataset", "wine", "--epochs", "2", "--out", tmp_path / "m.st", "--quiet",
                    *flags)
    assert code == 0, out.err
    assert dp.load(tmp_path / "m.st").settings["batch_size"] == batch_size


@pytest.mark.parametrize("argv,message", [
    (["gradcheck", "MODEL", IRIS, "--target", "species", "--activation", "tanh"], "--activation describes"),
    (["explain", "MODEL", IRIS, "--target", "species", "--seed", "3"], "--seed describes"),
    (["explain", "--layers", "2,3,2", "--row", "2"], "--row picks rows of DATA"),
])
def test_flags_another_flag_would_ignore_are_refused(argv, message, tmp_path, capsys):
    model = tmp_path / "m.st"
    dp.save(dp.Model(dp.Network.layered([4, 3, 3], output="softmax", cost="cross_entropy", seed=0), "classification",
                     ["setosa", "versicolor", "virginica"],
                     ["sepal_length", "sepal_width", "petal_length", "petal_width"]), model)
    code, out = run(capsys, *[model if a == "MODEL" else a for a in argv])
    assert code == 2 and message in out.err and len(out.err.strip().splitlines()) <= 2, out.err
    # --seed with a MODEL is not ignored by gradcheck: it draws the --max-checks sample
    code, out = run(capsys, "gradcheck", model, IRIS, "--target", "species", "--seed", "3", "--max-checks", "5")
    assert code == 0, out.err


# --- 9. the data flags (parsed here, used by the data layer) ---------------------------------------------


def test_data_flags_parse_with_their_defaults():
    parser = build_parser()
    for command in ("predict", "evaluate", "explain", "gradcheck"):
        argv = [command, "m.st", "d.csv"] + (["--target", "y"] if command != "predict" else [])
        args = parser.parse_args(argv)
        assert args.delimiter is None and not hasattr(args, "features")
    args = parser.parse_args(["train", "d.csv", "--target", "y"])
    assert (args.delimiter, args.features, args.ignore, args.impute, args.max_categories) == (None, None, None,
                                                                                             "none", 20)
    args = parser.parse_args(["train", "d.csv", "--target", "y", "--delimiter", "tab", "--features", " a, b ,c",
                              "--ignore", "id", "--impute", "most-frequent", "--max-categories", "5"])
    assert (args.delimiter, args.features, args.ignore, args.impute, args.max_categories) == (
        "\t", ["a", "b", "c"], ["id"], "most-frequent", 5)
    for given, meant in (("\\t", "\t"), ("TAB", "\t"), (";", ";"), ("|", "|"), ("semicolon", ";"), (",", ",")):
        assert parser.parse_args(["predict", "m", "d", "--delimiter", given]).delimiter == meant


@pytest.mark.parametrize("flag,value,message", [
    ("--features", "a,,b", "empty name"), ("--features", "", "empty name"), ("--ignore", "a, ", "empty name"),
    ("--features", "a,b,a", "listed twice"), ("--delimiter", "ab", "one character"),
    ("--delimiter", '"', "one character"), ("--impute", "zero", "invalid choice"),
    ("--max-categories", "0", "positive integer"),
])
def test_bad_data_flag_values_are_usage_errors(flag, value, message, capsys):
    code, out = run(capsys, "train", "d.csv", "--target", "y", flag, value)
    assert code == 2 and message in out.err and flag in out.err and len(out.err.strip().splitlines()) == 2, out.err


# --- 5. info --json keys --------------------------------------------------------------------------------


def keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from keys(v)


def test_info_json_keys_are_snake_case_and_documented(tmp_path, capsys):
    g = dp.Graph()
    x = g.input("x")
    h = g.unit("tanh", name="h")
    o = g.unit("identity", name="o")
    g.connect(x, h)
    g.connect(h, o)
    g.connect(x, o)
    g.output(o)
    unit_net = tmp_path / "units.safetensors"
    dp.save(g.compile(seed=0), unit_net)
    odd = tmp_path / "odd.safetensors"  # a model from Python whose settings keys are anything
    dp.save(dp.Model(dp.Network.layered([2, 2, 1], seed=0), "regression", settings={"Learning Rate": 0.1, "2x": 1},
                     metrics={"R^2 (test)": 0.5}), odd)
    info = {}
    for path in (unit_net, odd):
        code, out = run(capsys, "info", path, "--json")
        assert code == 0, out.err
        info[path.name] = json.loads(out.out)
        assert all(SNAKE.match(k) for k in keys(info[path.name])), info[path.name]
    assert info["units.safetensors"]["units"] == 2 and info["units.safetensors"]["unit_edges"] == 3
    assert info["odd.safetensors"]["settings"] == {"learning_rate": 0.1, "k_2x": 1}
    assert info["odd.safetensors"]["metrics"] == {"r_2_test": 0.5}
    documented = build_parser().commands["info"].format_help()
    documented = " ".join(documented.split())
    for k in set(info["units.safetensors"]) | set(info["odd.safetensors"]):
        assert k in documented, k


# --- 6. progress -------------------------------------------------------------------------------------------


class FakeRun:
    def __init__(self, epochs, done=0):
        self.epochs, self.n_batches = epochs, 3
        self.net = type("N", (), {"training_state": type("S", (), {"epoch": done})()})()


def drive(progress, seconds_per_epoch, epochs, *, stop_after=None):
    """Feed ``progress`` the hooks of a run whose epochs take ``seconds_per_epoch`` on a fake clock."""
    now = [100.0]
    progress.clock = lambda: now[0]
    run = FakeRun(epochs)
    progress.on_train_begin(run)
    for e in range(1, (stop_after or epochs) + 1):
        progress.on_epoch_begin(run, e)
        now[0] += seconds_per_epoch
        progress.on_epoch_end(run, e, {"epoch": e, "cost": 1.0 / e, "val_cost": None, "metric": 0.5,
                                       "seconds": seconds_per_epoch})
    progress.on_train_end(run)


def plain(**kw):
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    return ProgressLines(console, "accuracy", **kw), buffer


def test_progress_in_a_log_is_one_line_per_epoch_for_slow_epochs():
    progress, buffer = plain()
    drive(progress, 6.0, 4)
    lines = buffer.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert "left (estimate)" not in lines[0]  # one epoch, with its warm-up, is no basis for an estimate
    assert "about 12 s left (estimate)" in lines[1]  # 2 epochs left x 6 s
    assert "left" not in lines[-1] and "cost 0.25" in lines[-1] and "24 s so far" in lines[-1]


def test_progress_in_a_log_is_a_line_every_5_seconds_for_fast_epochs_and_the_last():
    progress, buffer = plain()
    drive(progress, 1.0, 13)
    shown = [int(line.split()[1].split("/")[0]) for line in buffer.getvalue().splitlines()]
    assert shown == [1, 6, 11, 13]
    progress, buffer = plain()
    drive(progress, 1.0, 30, stop_after=7)  # early stopping: the last epoch run is shown, with no time left
    lines = buffer.getvalue().splitlines()
    assert lines[-1].startswith("epoch 7/30") and "left" not in lines[-1]


def test_progress_chooses_lines_for_a_log_and_the_bar_for_a_terminal():
    from rich.console import Console

    log = Console(file=io.StringIO(), force_terminal=False)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=160)
    assert isinstance(progress_for(log, "r2"), ProgressLines)
    bar = progress_for(terminal, "r2")
    assert isinstance(bar, ProgressBar)
    drive(bar, 2.0, 5, stop_after=3)
    assert "about 4 s left (estimate)" in terminal.file.getvalue()


def test_training_into_a_pipe_prints_epoch_lines(capsys, tmp_path):
    code, out = run(capsys, "train", "--dataset", "xor", "--epochs", "3", "--optimizer", "sgd", "--out",
                    tmp_path / "m.st")
    assert code == 0
    lines = [line for line in out.err.splitlines() if line.startswith("epoch ")]
    assert lines[0].startswith("epoch 1/3  cost ") and lines[-1].startswith("epoch 3/3  cost ")
    assert "training summary" in out.out


# --- 7. the restored epoch's numbers ------------------------------------------------------------------------


def test_summary_and_model_file_report_the_restored_epoch(tmp_path, capsys):
    model, log = tmp_path / "m.st", tmp_path / "log.jsonl"
    code, out = run(capsys, "train", "--dataset", "digits", "--hidden", "16", "--epochs", "10", "--lr", "0.05",
                    "--early-stopping", "3", "--out", model, "--log-jsonl", log)
    assert code == 0, out.err
    m = dp.load(model)
    h = m.history
    assert h.best_epoch is not None and h.best_epoch < h.records[-1]["epoch"]  # else this test could not fail
    best, last = h.records[h.best_epoch - 1], h.records[-1]
    assert best["epoch"] == h.best_epoch and best["val_cost"] != last["val_cost"]
    assert (m.metrics["train_cost"], m.metrics["val_cost"], m.metrics["best_epoch"]) == (
        best["cost"], best["val_cost"], h.best_epoch)
    summary = json.loads(log.read_text().splitlines()[-1])
    assert (summary["train_cost"], summary["val_cost"]) == (best["cost"], best["val_cost"])
    text = " ".join(out.out.split())
    assert f"best epoch (restored) │ {h.best_epoch}" in text
    from deltaprop.cli.common import fmt

    assert f"training cost (epoch {h.best_epoch}) │ {fmt(best['cost'])}" in text
    assert f"validation cost (epoch {h.best_epoch}) │ {fmt(best['val_cost'])}" in text
    assert fmt(last["val_cost"]) not in text


# --- 8. evaluate ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("iris") / "iris.safetensors"
    assert main(["train", str(IRIS), "--target", "species", "--epochs", "30", "--out", str(path), "--quiet"]) == 0
    return path


def test_evaluate_classification_report(iris_model, capsys):
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    code, out = run(capsys, "evaluate", iris_model, IRIS, "--target", "species", "--json")
    assert code == 0, out.err
    r = json.loads(out.out)
    assert all(SNAKE.match(k) for k in keys(r))
    assert r["classes"] == ["setosa", "versicolor", "virginica"] and r["rows"] == 150
    truth = np.loadtxt(IRIS, delimiter=",", skiprows=1, usecols=4, dtype=str)
    pred = [line for line in run(capsys, "predict", iris_model, IRIS)[1].out.splitlines()[1:]]
    assert r["confusion_matrix"] == confusion_matrix(truth, pred, labels=r["classes"]).tolist()
    assert np.trace(r["confusion_matrix"]) / 150 == pytest.approx(r["accuracy"])
    p, rc, f, s = precision_recall_fscore_support(truth, pred, labels=r["classes"], zero_division=0)
    np.testing.assert_allclose([r["per_class"][k] for k in ("precision", "recall", "f1")], [p, rc, f])
    assert r["per_class"]["support"] == s.tolist() == [50, 50, 50]
    assert r["macro"]["f1"] == pytest.approx(f.mean())
    assert r["baseline"] == {"strategy": "majority_class", "predicts": "setosa", "accuracy": pytest.approx(1 / 3)}
    code, out = run(capsys, "evaluate", iris_model, IRIS, "--target", "species")
    text = out.out
    assert "confusion matrix (rows: true class, columns: predicted)" in text
    header = next(line for line in text.splitlines() if "true \\ predicted" in line)
    assert header.index("setosa") < header.index("versicolor") < header.index("virginica")
    assert "macro average" in text and "baseline accuracy" in text and "the most common class" in text


def test_evaluate_regression_baseline_names_its_mean(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = 2 * X[:, 0] + 50 + 0.1 * rng.normal(size=200)
    data = tmp_path / "reg.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,t", comments="")
    scaled, raw = tmp_path / "scaled.st", tmp_path / "raw.st"
    assert main(["train", str(data), "--target", "t", "--epochs", "3", "--out", str(scaled), "--quiet"]) == 0
    assert main(["train", str(data), "--target", "t", "--epochs", "3", "--out", str(raw), "--quiet",
                 "--no-scale"]) == 0
    train_mean = float(dp.load(scaled).target_scaler.mean[0])
    r = json.loads(run(capsys, "evaluate", scaled, data, "--target", "t", "--json")[1].out)
    b = r["baseline"]
    assert b["strategy"] == "training_mean" and b["predicts"] == [pytest.approx(train_mean)]
    assert b["rmse"] == pytest.approx(np.sqrt(np.mean((y - train_mean) ** 2)))
    assert b["mae"] == pytest.approx(np.mean(np.abs(y - train_mean)))
    assert b["r2"] <= 0 and train_mean != pytest.approx(y.mean(), abs=1e-9)
    r = json.loads(run(capsys, "evaluate", raw, data, "--target", "t", "--json")[1].out)
    assert r["baseline"]["strategy"] == "data_mean" and r["baseline"]["r2"] == pytest.approx(0, abs=1e-12)
    assert r["baseline"]["rmse"] == pytest.approx(y.std())
    text = run(capsys, "evaluate", raw, data, "--target", "t")[1].out
    assert "this data's own mean" in text and "keeps no training mean" in text
    text = run(capsys, "evaluate", scaled, data, "--target", "t")[1].out
    assert "the training targets' mean" in text


def test_the_command_line_keeps_plain_sgd_on_its_compiled_epoch(monkeypatch, tmp_path):
    """The terminal bar and the signal handler do not keep `--optimizer sgd` off the compiled
    whole-epoch kernel (they are called at epoch ends there); a callback that needs every batch does."""
    pytest.importorskip("numba")
    from rich.console import Console

    import deltaprop as dp
    from deltaprop.cli.progress import StopOnSignal, progress_for
    from deltaprop.core import compiled
    from deltaprop.train import Callback

    calls = []
    real = compiled.run_epoch
    monkeypatch.setattr(compiled, "run_epoch", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(64, 4)), np.eye(2)[rng.integers(0, 2, 64)]
    net = dp.Network.layered([4, 5, 2], output="softmax", cost="cross_entropy", seed=0)
    bar = progress_for(Console(force_terminal=True, file=open(tmp_path / "out.txt", "w")), "accuracy")
    with StopOnSignal() as stopper:
        dp.train(net, X, Y, optimizer="sgd", batch_size=8, epochs=2, callbacks=[bar, stopper], metric=None)
    assert len(calls) == 2

    class EveryBatch(Callback):
        def on_batch_end(self, run, epoch, step, cost):
            pass

    dp.train(net, X, Y, optimizer="sgd", batch_size=8, epochs=1, callbacks=[EveryBatch()], metric=None)
    assert len(calls) == 2


def test_gd_is_batch_gradient_descent_from_the_command_line(tmp_path):
    """--optimizer gd means UFLDL's batch gradient descent: the full batch unless --batch-size says otherwise."""
    import deltaprop as dp

    out = tmp_path / "m.safetensors"
    assert main(["train", "--dataset", "xor", "--optimizer", "gd", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    assert dp.load(out).settings["batch_size"] == 0
    assert main(["train", "--dataset", "xor", "--optimizer", "gd", "--batch-size", "2", "--epochs", "3", "--out",
                 str(out), "--quiet"]) == 0
    assert dp.load(out).settings["batch_size"] == 2
