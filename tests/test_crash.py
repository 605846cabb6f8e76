"""Crashes: kill -9 during training and during a model write; unwritable outputs and a full disk.

A few trials run in CI; ``-m slow`` runs the full 20 kill trials.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.io.modelfile import newest_checkpoint

pytest.importorskip("sklearn")

TRAIN = ["--dataset", "wine", "--batch-size", "1", "--epochs", "25", "--early-stopping", "1000", "--seed", "7",
         "--quiet"]


def _cli(*args):
    return [sys.executable, "-m", "deltaprop.cli", *map(str, args)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "whole.safetensors"
    subprocess.run(_cli("train", *TRAIN, "--out", out), check=True, timeout=300)
    return dp.load(out).network.params


def _kill_trials(n, uninterrupted, tmp_path):
    rng = np.random.default_rng(2026)
    survived = 0
    for trial in range(n):
        ck = tmp_path / f"ck{trial}"
        out = tmp_path / f"out{trial}.safetensors"
        proc = subprocess.Popen(_cli("train", *TRAIN, "--out", out, "--checkpoint-dir", ck),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and not (ck.exists() and any(p.suffix == ".safetensors" for p in ck.iterdir())):
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 1.5)))  # somewhere in the run: mid-step, mid-write, between epochs
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        path, model, _, skipped = newest_checkpoint(ck)
        assert path is not None and not skipped, f"trial {trial}: no loadable checkpoint ({skipped})"
        r = subprocess.run(_cli("train", *TRAIN, "--out", out, "--checkpoint-dir", ck, "--resume"),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert np.array_equal(dp.load(out).network.params, uninterrupted), f"trial {trial} differs"
        assert not [p for p in ck.iterdir() if p.name.startswith(".tmp-")]
        survived += 1
    return survived


def test_kill_during_training_a_few_trials(uninterrupted, tmp_path):
    assert _kill_trials(3, uninterrupted, tmp_path) == 3


@pytest.mark.slow
def test_kill_during_training_twenty_trials(uninterrupted, tmp_path):
    assert _kill_trials(20, uninterrupted, tmp_path) == 20


WRITER = """
import sys, numpy as np, deltaprop as dp
path = sys.argv[1]
nets = [dp.Network.layered([300, 300, 10], seed=s) for s in range(2)]
print("ready", flush=True)
i = 0
while True:
    dp.save(nets[i % 2], path)
    i += 1
"""


def test_kill_during_a_model_write_keeps_a_whole_file(tmp_path):
    path = tmp_path / "m.safetensors"
    versions = [dp.Network.layered([300, 300, 10], seed=s).params for s in range(2)]
    dp.save(dp.Network.layered([300, 300, 10], seed=0), path)
    rng = np.random.default_rng(1)
    for trial in range(10):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.01, 0.3)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        loaded = dp.load(path).params  # the old file or the new one, never half of one
        assert any(np.array_equal(loaded, v) for v in versions)


def test_unwritable_outputs_fail_before_training(tmp_path, capsys):
    from deltaprop.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    t0 = time.perf_counter()
    for flag in ("--out", "--plot", "--checkpoint-dir"):
        target = blocker / ("sub" if flag == "--checkpoint-dir" else "m.out")
        code = main(["train", "--dataset", "digits", "--epochs", "50", flag, str(target)])
        err = capsys.readouterr().err
        assert code == 1 and ("does not exist" in err or "Not a directory" in err or "File exists" in err), err
    assert time.perf_counter() - t0 < 30  # refused up front, not after 50 epochs (a loose bound, not a benchmark)


def test_a_full_disk_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    net = dp.Network.layered([4, 3, 2], seed=0)
    dp.save(net, path)
    before = path.read_bytes()
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r": FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left on device"):
        dp.save(dp.Network.layered([4, 3, 2], seed=1), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
