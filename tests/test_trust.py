"""Trust under hostile or careless input: files select no code, writes destroy nothing,
checkpoints cannot be lost, loading is linear. One test (or one parametrised family) per class."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import struct
import time

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.io import FileFormatError, modelfile
from deltaprop.io.atomic import atomic_write_bytes, check_outputs
from deltaprop.model import Model


def _checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), np.eye(2)[rng.integers(0, 2, 20)]
    net = dp.Network.layered([3, 4, 2], output="softmax", cost="cross_entropy", seed=0)
    dp.train(net, X, Y, epochs=2, seed=0, validation_split=0.2, early_stopping=3)
    model = Model(net, "classification", ["a", "b"], ["f1", "f2", "f3"])
    tmp_path.mkdir(exist_ok=True)
    return modelfile.save_checkpoint(tmp_path, model, {"seed": 0})


def _rewrite(path, out, mutate):
    """A copy of the deltaprop file at ``path`` whose JSON record ``mutate`` changed (checksum kept valid)."""
    from safetensors.numpy import load_file, save

    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    record = json.loads(header["__metadata__"]["deltaprop"])
    tensors = load_file(path)
    text = mutate(record)
    if text is None:
        record["checksum"] = modelfile.checksum(record, tensors)
        text = json.dumps(record)
    with open(out, "wb") as f:
        f.write(save(tensors, metadata={"deltaprop": text}))
    return out


def _raw(record_text_mutation):
    return lambda record: record_text_mutation(json.dumps(record))


HOSTILE = {
    "bit generator naming any numpy.random attribute": (
        lambda r: r["training"].update(rng_type="test"), "training.rng_type: unknown rng_type 'test'"),
    "optimizer not in the table": (
        lambda r: r["training"]["optimizer"].update(name="os.system"), "unknown name 'os.system'"),
    "schedule not in the table": (
        lambda r: r["training"]["schedule"].update(name="eval"), "unknown name 'eval'"),
    "task not in the table": (lambda r: r["model"].update(task="exec"), "model.task: unknown task 'exec'"),
    "wrong type": (lambda r: r["network"]["blocks"][1].update(units="4"), "block 1 has '4' units"),
    "wrong type deeper": (lambda r: r["model"].update(scaling="yes"), "model.scaling"),
    "negative step count": (lambda r: r["training"]["optimizer"].update(t=-1), "training.optimizer.t"),
    "history record of the wrong type": (
        lambda r: r["training"]["history"]["records"][0].update(cost="low"), "history.records[0].cost"),
    "unknown history field": (
        lambda r: r["training"]["history"]["records"][0].update(shell="rm"), "history.records[0]"),
    "float beyond float64": (_raw(lambda t: t.replace('"l1": 0.0', '"l1": 1e999')), "does not fit a 64-bit float"),
    "integer of 400 digits": (
        _raw(lambda t: t.replace('"split_seed": ', '"split_seed": 1' + "0" * 400 + ", \"x\": ")), "more than 40 digits"),
    "nesting too deep": (
        _raw(lambda t: t.replace('"config": {', '"config": {"deep": ' + "[" * 100000 + "]" * 100000 + ", ")),
        "nested too deeply"),
    "negative bit generator state": (
        lambda r: r["training"]["rng"]["state"].update(state=-5), "the training state is invalid"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_every_malformed_checkpoint_field_is_a_file_format_error(case, tmp_path):
    mutate, match = HOSTILE[case]
    good = _checkpoint(tmp_path / "ck")
    bad = _rewrite(good, tmp_path / "bad.safetensors", mutate)
    with pytest.raises(FileFormatError) as info:
        modelfile.load_checkpoint(bad)
    message = str(info.value)
    assert str(bad) in message and match in message, message
    assert "\n" not in message.strip()


def test_a_crafted_checkpoint_never_runs_numpy_random_test(tmp_path, monkeypatch):
    """The old loader called getattr(numpy.random, rng_type)(): 'test' ran pytest on the current folder."""
    called = []
    monkeypatch.setattr(np.random, "test", lambda *a, **k: called.append(1), raising=False)
    good = _checkpoint(tmp_path / "ck")
    bad = _rewrite(good, tmp_path / "bad.safetensors", lambda r: r["training"].update(rng_type="test"))
    with pytest.raises(FileFormatError):
        modelfile.load_checkpoint(bad)
    assert called == []


def test_an_estimator_file_whose_classes_do_not_fit_its_network_is_refused(tmp_path):
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import DeltaClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 3, 30)
    path = tmp_path / "clf.safetensors"
    dp.save(DeltaClassifier(hidden=(4,), epochs=1, random_state=0).fit(X, y), path)
    two = _rewrite(path, tmp_path / "two.safetensors",
                   lambda r: r["estimator"]["fitted"].update(classes_=[0, 1], kind="binary"))
    with pytest.raises(FileFormatError, match="a binary classifier with 2 classes cannot have 3 output units"):
        dp.load(two)
    kind = _rewrite(path, tmp_path / "kind.safetensors", lambda r: r["estimator"]["fitted"].update(kind="multilabel"))
    with pytest.raises(FileFormatError, match="multilabel classifier's outputs must be sigmoid"):
        dp.load(kind)


def test_loading_is_linear_in_the_number_of_units(tmp_path):
    """60,000 inputs took about 80 s to load when each name was compared with all earlier ones."""
    times = {}
    for n in (5000, 40000):
        g = dp.Graph()
        xs = [g.input() for _ in range(n)]
        o = g.unit("sigmoid")
        for x in xs:
            g.connect(x, o)
        g.output(o)
        path = tmp_path / f"g{n}.safetensors"
        dp.save(g.compile(seed=0), path)
        t = time.perf_counter()
        dp.load(path)
        times[n] = time.perf_counter() - t
    assert times[40000] < 8 * 3 * max(times[5000], 0.05)  # 8x the units: well under quadratic (64x)


def test_a_cyclic_unit_graph_in_a_file_is_refused():
    spec = {"units": [{"name": "x", "kind": "input", "activation": None, "bias": False},
                      {"name": "a", "kind": "unit", "activation": "tanh", "bias": True},
                      {"name": "b", "kind": "unit", "activation": "tanh", "bias": True}],
            "edges": [["x", "a"], ["a", "b"], ["b", "a"]], "outputs": ["b"]}
    with pytest.raises(ValueError, match="the unit graph has a cycle"):
        dp.Graph.from_spec(spec)
    spec["edges"] = [["x", "a"], ["a", "nobody"]]
    with pytest.raises(ValueError, match="unknown unit 'nobody'"):
        dp.Graph.from_spec(spec)


def test_a_fifo_as_model_path_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match="is not a regular file"):
        dp.load(fifo)


# --- no write destroys a user's data -------------------------------------------------------------------


def test_an_output_that_is_an_input_is_refused(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    for out in (data, link, tmp_path / "." / "data.csv"):
        with pytest.raises(OSError, match="is the input DATA; refusing to overwrite it"):
            check_outputs({"--out": out}, {"DATA": data})
    with pytest.raises(OSError, match="--out and --plot are the same file"):
        check_outputs({"--out": tmp_path / "m", "--plot": tmp_path / "m"}, {"DATA": data})
    assert data.read_text() == "a,b\n1,2\n"


def test_special_files_are_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        atomic_write_bytes(fifo, b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(OSError, match="not a regular file"):
        check_outputs({"--out": "/dev/null"}, {})


def test_writes_keep_permissions_and_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.bin"
        atomic_write_bytes(new, b"1")
        assert stat.S_IMODE(os.stat(new).st_mode) == 0o644  # 0o666 & ~umask, as open() gives
        kept = tmp_path / "kept.bin"
        kept.write_bytes(b"0")
        os.chmod(kept, 0o640)
        atomic_write_bytes(kept, b"2")
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640 and kept.read_bytes() == b"2"
    finally:
        os.umask(old)


def test_a_failed_write_names_the_requested_path(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(OSError, match=f"could not write {folder / 'm.bin'}"):
            atomic_write_bytes(folder / "m.bin", b"x")
    finally:
        os.chmod(folder, 0o700)


# --- checkpoints that cannot be lost -------------------------------------------------------------------


def test_checkpoints_are_ordered_by_the_epoch_and_step_inside(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    net = dp.Network.layered([3, 4, 1], output="identity", seed=0)
    model = Model(net, "regression")

    class StopMidEpoch(dp.Callback):
        def on_batch_end(self, run, epoch, step, cost):
            if epoch == 3 and step == 2:
                run.interrupt()

    dp.train(net, X, Y, epochs=2, batch_size=8, seed=0)
    done = modelfile.save_checkpoint(tmp_path, model, {}, keep=5)  # checkpoint-000002
    dp.train(net, X, Y, epochs=1, batch_size=8, callbacks=[StopMidEpoch()])
    mid = modelfile.save_checkpoint(tmp_path, model, {}, keep=5)  # checkpoint-000002-000002: sorts first by name
    assert os.path.basename(mid) < os.path.basename(done)
    assert modelfile.checkpoint_files(tmp_path) == [done, mid]
    path, restored, _, _ = modelfile.newest_checkpoint(tmp_path)
    assert path == mid and restored.network.training_state.pending.step == 2


def test_a_second_run_on_a_locked_checkpoint_directory_is_refused(tmp_path):
    with modelfile.CheckpointLock(tmp_path):
        with pytest.raises(OSError, match=f"another training run \\(pid {os.getpid()}\\) is using it"):
            with modelfile.CheckpointLock(tmp_path):
                pass
    with modelfile.CheckpointLock(tmp_path):  # released: the next run takes it
        pass


# --- bounded time and memory ---------------------------------------------------------------------


def test_a_network_too_large_for_the_machine_is_refused_before_allocating(monkeypatch):
    from deltaprop.core import checks

    assert checks.available_memory() is None or checks.available_memory() > 2**20
    net = dp.Network.layered([2, 25_000, 2], dtype="float32")  # 125,002 parameters
    monkeypatch.setattr(checks, "available_memory", lambda: 4 * 2**20)  # a machine with 4 MiB free
    with pytest.raises(MemoryError, match=r"a network of 1,250,002 parameters needs about 20 MiB, but this "
                                          r"machine has 4 MiB available"):
        dp.Network.layered([2, 250_000, 2])
    with pytest.raises(MemoryError, match=r"training 125,002 parameters with adam needs about [\d.]+ MiB, but"):
        dp.train(net, np.zeros((4, 2)), np.zeros((4, 2)), epochs=1)
    monkeypatch.setattr(checks, "available_memory", lambda: 64 * 2**20)
    dp.train(net, np.zeros((4, 2)), np.zeros((4, 2)), epochs=1)


# --- never silently wrong: targets and labels ---------------------------------------------------------


@pytest.mark.parametrize("cells,kind,values", [
    (["1", "2", "3"], "i", [1, 2, 3]),
    (["007", "7", "8"], "O", ["007", "7", "8"]),  # '007' and '7' are different labels
    (["01234", "2"], "O", ["01234", "2"]),
    (["12345678901234567890", "12345678901234567891"], "O", ["12345678901234567890", "12345678901234567891"]),
    (["+7", "8"], "O", ["+7", "8"]),
    (["1.5", "2.25"], "f", [1.5, 2.25]),
    (["cat", "7"], "O", ["cat", "7"]),
])
def test_label_columns_keep_their_text(cells, kind, values):
    from deltaprop.io.data import target_column

    col = target_column(cells)
    assert col.dtype.kind == kind and col.tolist() == values


@pytest.mark.parametrize("cell,npz", [("inf", np.inf), ("-inf", -np.inf), ("1e999", np.nan)])
def test_a_non_finite_target_is_refused_like_a_feature(cell, npz, tmp_path):
    """One inf among 60 real targets used to make a 61-class classifier and exit 0."""
    from deltaprop.io import read_data

    rows = ["a,y"] + [f"{i},{i * 0.37}" for i in range(60)] + [f"61,{cell}"]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=f"row 62, column 'y': '{cell}' is not a finite number"):
        read_data(str(path), "y")
    np.savez(tmp_path / "t.npz", X=np.ones((3, 2)), y=np.array([1.0, npz, 2.0]))
    with pytest.raises(ValueError, match=r"y\[1\] is .*a numeric target must be finite"):
        read_data(str(tmp_path / "t.npz"))


def test_float_idx_labels_are_refused(tmp_path):
    import struct as st

    from deltaprop.io import read_data

    images = tmp_path / "x-images-idx3-ubyte"
    images.write_bytes(bytes([0, 0, 0x08, 3]) + st.pack(">III", 2, 2, 2) + bytes(8))
    labels = tmp_path / "x-labels-idx1-ubyte"
    labels.write_bytes(bytes([0, 0, 0x0E, 1]) + st.pack(">I", 2) + st.pack(">dd", 1.0, 1.7))
    with pytest.raises(ValueError, match="label 2 is 1.7; IDX labels must be whole numbers"):
        read_data(str(images))


# --- never silently wrong: scaling, files that would not load, ONNX precision, dtypes --------------------


def test_standardisation_is_stable_and_its_constant_test_relative():
    from deltaprop.model import Scaler

    rng = np.random.default_rng(0)
    informative = rng.integers(0, 2, 200).astype(float)
    X = np.column_stack([informative * 1e200 + 1e200, informative * 1e-13, np.full(200, 5.0), np.zeros(200)])
    sc = Scaler.fit(X)
    Z = sc.transform(X)
    assert np.isfinite(sc.scale).all() and np.isfinite(Z).all()
    for col in (0, 1):  # the 1e200 column and the 1e-13 column both keep their information
        assert abs(Z[:, col].mean()) < 1e-9 and Z[:, col].std() == pytest.approx(1.0, rel=1e-9)
        assert Z[informative == 1, col].min() > Z[informative == 0, col].max()
    assert sc.scale[2] == 1.0 and sc.scale[3] == 1.0 and np.all(Z[:, 2:] == 0)  # constant columns become 0
    y = rng.normal(size=(50, 1)) * 1e300
    ty = Scaler.fit(y)
    assert np.isfinite(ty.transform(y)).all() and ty.scale[0] > 0


def test_a_model_that_would_not_load_is_never_written(tmp_path):
    net = dp.Network.layered([2, 1], output="identity", seed=0)
    model = Model(net, "regression", scaler=__import__("deltaprop.model", fromlist=["Scaler"]).Scaler(
        np.zeros(2), np.array([1.0, np.inf])))
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match="refusing to write a model that could not be loaded back: tensor input.scale"):
        dp.save(model, path)
    assert not path.exists()


@pytest.mark.parametrize("spread", [3600.0, 3e7], ids=["an hour", "a year"])
def test_onnx_keeps_the_precision_of_large_features(spread, tmp_path):
    """Unix times (~1.7e9) are 128 apart in float32; standardising them in float32 inside the graph
    moved outputs by 0.02 over an hour of timestamps (0.58 in the issue's data)."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from deltaprop.export import input_precision
    from deltaprop.model import Scaler

    rng = np.random.default_rng(0)
    X = np.column_stack([1.7e9 + rng.uniform(0, spread, 200), rng.normal(size=200)])
    net = dp.Network.layered([2, 8, 3], hidden="tanh", output="softmax", cost="cross_entropy", seed=0)
    model = Model(net, "classification", ["a", "b", "c"], scaler=Scaler.fit(X))
    dp.export_onnx(model, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    want = input_precision(model.scaler.mean, model.scaler.scale)
    assert sess.get_inputs()[0].type == ("tensor(double)" if want == "float64" else "tensor(float)")
    got = sess.run(None, {"input": X.astype(np.float64 if want == "float64" else np.float32)})[0]
    worst = float(np.abs(got - model.predict_proba(X)).max())
    assert worst < 1e-4, worst
    assert input_precision(np.array([10.0]), np.array([3.0])) == "float32"  # ordinary data keeps float32 input


def test_an_estimator_with_a_numpy_dtype_saves_and_loads(tmp_path):
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import DeltaRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    reg = DeltaRegressor(hidden=(4,), epochs=2, dtype=np.float32, random_state=0).fit(X, X[:, 0])
    dp.save(reg, tmp_path / "r.safetensors")
    back = dp.load(tmp_path / "r.safetensors")
    assert back.get_params()["dtype"] == "float32"
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))


# --- the command line: every output path against every input, per command ---------------------------------

IRIS = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "iris.csv")


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    from deltaprop.cli import main

    folder = tmp_path_factory.mktemp("iris")
    path = folder / "iris.safetensors"
    assert main(["train", IRIS, "--target", "species", "--hidden", "3", "--epochs", "2", "--quiet",
                 "--out", str(path), "--validation-split", "0"]) == 0
    return path


def _copy(src, dst):
    dst.write_bytes(pathlib.Path(src).read_bytes())
    return dst


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink", "relative"])
@pytest.mark.parametrize("command", ["train --out", "train --plot", "train --log-jsonl", "predict --out DATA",
                                     "predict --out MODEL", "export --onnx MODEL", "explain --out DATA",
                                     "plot --out HISTORY"])
def test_no_command_writes_over_its_input(command, spelling, iris_model, tmp_path, monkeypatch, capsys):
    """``train data.csv --out data.csv`` replaced the data with the model and exited 0."""
    from deltaprop.cli import main

    monkeypatch.chdir(tmp_path)
    data = _copy(IRIS, tmp_path / "data.csv")
    model = _copy(iris_model, tmp_path / "m.safetensors")
    name, flag, *victim = command.split()
    victim = {"DATA": data, "MODEL": model, "HISTORY": model}.get(victim[0] if victim else "DATA", data)
    path = {"same": str(victim), "dot": str(victim.parent / "." / victim.name),
            "relative": victim.name, "symlink": str(tmp_path / "alias")}[spelling]
    if spelling == "symlink":
        (tmp_path / "alias").symlink_to(victim)
    before = victim.read_bytes()
    argv = {"train": ["train", str(data), "--target", "species", "--epochs", "1", "--quiet"],
            "predict": ["predict", str(model), str(data)],
            "export": ["export", str(model)],
            "explain": ["explain", str(model), str(data), "--target", "species", "--row", "1"],
            "plot": ["plot", str(model)]}[name]
    assert main([*argv, flag, path]) == 1
    err = capsys.readouterr().err
    assert "refusing to overwrite it" in err and len(err.strip().splitlines()) == 1, err
    assert victim.read_bytes() == before


def test_special_files_are_refused_as_outputs(iris_model, capsys):
    from deltaprop.cli import main

    assert main(["predict", str(iris_model), IRIS, "--out", "/dev/null"]) == 1
    assert "not a regular file" in capsys.readouterr().err
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_model_written_by_train_is_readable_by_others(tmp_path):
    from deltaprop.cli import main

    old = os.umask(0o022)
    try:
        assert main(["train", IRIS, "--target", "species", "--epochs", "1", "--quiet",
                     "--out", str(tmp_path / "m.safetensors")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.safetensors").st_mode) == 0o644  # was 0o600


def test_checkpoint_directories_are_locked_and_never_silently_reused(tmp_path, capsys):
    from deltaprop.cli import main

    ck = tmp_path / "ck"
    run = ["train", IRIS, "--target", "species", "--epochs", "3", "--quiet", "--out", str(tmp_path / "m.safetensors"),
           "--checkpoint-dir", str(ck)]
    assert main(run) == 0
    first = sorted(p.name for p in ck.glob("checkpoint-*"))
    assert main(run) == 2  # a fresh run in a directory holding another run's checkpoints
    assert "holds 2 checkpoint(s) of an earlier run" in capsys.readouterr().err
    assert sorted(p.name for p in ck.glob("checkpoint-*")) == first
    with modelfile.CheckpointLock(ck):  # another run holds the directory
        assert main([*run, "--resume"]) == 1
        assert f"another training run (pid {os.getpid()}) is using it" in capsys.readouterr().err
    assert main([*run, "--overwrite-checkpoints", "--epochs", "1"]) == 0
    assert sorted(p.name for p in ck.glob("checkpoint-*")) == ["checkpoint-000001.safetensors"]


def test_sigterm_saves_the_state_and_says_so(tmp_path):
    import signal
    import subprocess
    import sys

    common = ["train", IRIS, "--target", "species", "--hidden", "8", "--epochs", "60", "--batch-size", "4",
              "--seed", "3", "--quiet", "--validation-split", "0"]
    whole = tmp_path / "whole.safetensors"
    assert subprocess.run([sys.executable, "-m", "deltaprop.cli", *common, "--out", str(whole)]).returncode == 0
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-m", "deltaprop.cli", *common, "--out", str(tmp_path / "p.safetensors"),
                             "--checkpoint-dir", str(ck)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(ck.glob("checkpoint-*")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM); the state is saved in" in err and "Traceback" not in err
    resumed = subprocess.run([sys.executable, "-m", "deltaprop.cli", *common, "--out", str(tmp_path / "p.safetensors"),
                              "--checkpoint-dir", str(ck), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert np.array_equal(dp.load(whole).network.params, dp.load(tmp_path / "p.safetensors").network.params)


# --- nothing from a file controls the terminal or a spreadsheet ----------------------------------------------

HOSTILE_LABELS = ["\x1b[2J\x1b[Hgone", "\x1b]52;c;cm0gLXJmIH4=\x07", "=HYPERLINK(\"http://x\",\"y\")", "-1", "@SUM(A1)"]


@pytest.fixture()
def hostile_model(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    net = dp.Network.layered([2, 3, 5], output="softmax", cost="cross_entropy", seed=0)
    model = Model(net, "classification", HOSTILE_LABELS, ["x\x1b[8m", "\u202eevil"])
    path = tmp_path / "hostile.safetensors"
    dp.save(model, path)
    data = tmp_path / "data.csv"
    data.write_text("x\x1b[8m,\u202eevil\n" + "\n".join(f"{a},{b}" for a, b in X) + "\n")
    return path, data


def test_info_never_sends_control_characters_to_the_terminal(hostile_model, capsys):
    from deltaprop.cli import main

    path, _ = hostile_model
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out  # shown, escaped
    assert main(["info", str(path), "--json"]) == 0
    assert "\x1b" not in capsys.readouterr().out  # JSON escapes it as \\u001b


def test_predict_neutralises_formulas_in_labels(hostile_model, tmp_path, capsys):
    import csv

    from deltaprop.cli import main

    path, data = hostile_model
    out = tmp_path / "p.csv"
    assert main(["predict", str(path), str(data), "--proba", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.reader(out.open()))
    header = rows[0]
    assert header[1:] == ["\\x1b[2J\\x1b[Hgone", "\\x1b]52;c;cm0gLXJmIH4=\\x07", "'=HYPERLINK(\"http://x\",\"y\")",
                          "-1", "'@SUM(A1)"]
    cells = {r[0] for r in rows[1:]}
    assert not any(c.startswith(("=", "@", "\x1b")) for c in cells)
    assert "\x1b" not in out.read_text()


def test_plot_refuses_a_hostile_log_in_one_line(tmp_path, capsys):
    from deltaprop.cli import main

    good = '{"event": "epoch", "epoch": 1, "cost": 0.5, "val_cost": null, "metric": null, "learning_rate": 0.1, ' \
           '"seconds": 0.1}'
    for body, match in [(good.replace("0.5", "1e999"), "does not fit a 64-bit float"),
                        (good.replace("0.5", '"low"'), "line 1: cost"),
                        ('{"event": "epoch", "epoch": ' + "[" * 50000 + "]" * 50000 + "}", "line 1:"),
                        (good.replace('"epoch": 1', '"epoch": -3'), "line 1: epoch")]:
        log = tmp_path / "run.jsonl"
        log.write_text(body + "\n")
        assert main(["plot", str(log), "--out", str(tmp_path / "c.png")]) == 1
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err


def test_the_stratified_split_is_fast_with_thousands_of_classes():
    from deltaprop.model import split_test

    Y = np.eye(2939)[np.arange(3000) % 2939]  # an integer target of 2939 distinct values
    t = time.perf_counter()
    train, test = split_test(3000, 0.2, 0, Y)
    assert time.perf_counter() - t < 2.0  # ~90 s when each class scanned all rows
    assert len(train) + len(test) == 3000 and len(np.intersect1d(train, test)) == 0


def test_training_on_huge_features_and_targets_gives_a_loadable_useful_model(tmp_path):
    """Features near 1e200 used to overflow the scaling (held-out accuracy 0.5, then a file that
    would not load); a target of 1e300 did the same."""
    from deltaprop.cli import main

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    a = y * 1e200 + 1e200 + rng.normal(size=400) * 1e198
    (tmp_path / "big.csv").write_text("a,b,label\n" + "".join(
        f"{float(u)!r},{float(v)!r},{int(c)}\n" for u, v, c in zip(a, rng.normal(size=400), y)))
    assert main(["train", str(tmp_path / "big.csv"), "--target", "label", "--epochs", "20", "--quiet",
                 "--out", str(tmp_path / "c.safetensors")]) == 0
    assert dp.load(tmp_path / "c.safetensors").metrics["test_accuracy"] > 0.95
    X = rng.normal(size=(300, 2))
    (tmp_path / "r.csv").write_text("a,b,y\n" + "".join(
        f"{float(u)!r},{float(v)!r},{float(u) * 1e300!r}\n" for u, v in X))
    assert main(["train", str(tmp_path / "r.csv"), "--target", "y", "--epochs", "30", "--quiet",
                 "--out", str(tmp_path / "r.safetensors")]) == 0
    metrics = dp.load(tmp_path / "r.safetensors").metrics
    assert metrics["test_r2"] > 0.95 and np.isfinite(metrics["test_rmse"])


def test_a_test_file_with_some_of_the_text_classes_evaluates(tmp_path, capsys):
    """Labels '007', '7', '8' are text; a test file holding only '7' and '8' used to read them as
    numbers and be refused as 'labels not seen in training'."""
    from deltaprop.cli import main

    rng = np.random.default_rng(0)
    labels = np.array(["007", "7", "8"])[rng.integers(0, 3, 120)]
    x = {"007": 0.0, "7": 1.0, "8": 2.0}
    rows = "".join(f"{x[c] + rng.normal() * 0.1},{c}\n" for c in labels)
    (tmp_path / "train.csv").write_text("a,code\n" + rows)
    (tmp_path / "test.csv").write_text("a,code\n1.0,7\n2.0,8\n1.1,7\n")
    assert main(["train", str(tmp_path / "train.csv"), "--target", "code", "--epochs", "30", "--quiet",
                 "--out", str(tmp_path / "m.safetensors")]) == 0
    assert dp.load(tmp_path / "m.safetensors").classes == ["007", "7", "8"]  # '007' kept its zeros
    assert main(["evaluate", str(tmp_path / "m.safetensors"), str(tmp_path / "test.csv"), "--target", "code",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] >= 0.0
