"""The command line's L-BFGS on a small table, two source trees alternating (issue 16).

    python benchmarks/lbfgs_cli.py BEFORE/src AFTER/src [--reps 7] [--busy]

The run the issue reported: `deltaprop train` with `--optimizer lbfgs` on a 500-row table
(8 numeric features, 3 classes; written here, seed 0), default network (one hidden layer of 64
ReLU) and 50 epochs (iterations), no held-out split. Each repetition runs one fresh process
per tree, the trees alternating; the table gives the wall time of the whole command (start-up
included) and the training time the model file records (`seconds_this_run`: the L-BFGS run
itself), as the median and min-max. With --busy a second process keeps one core busy the
whole time (a spinning loop), as a shared machine does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--busy", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(500, 8))
        y = np.argmax(X[:, :3] + 0.3 * rng.normal(size=(500, 3)), axis=1)
        data = os.path.join(tmp, "t.csv")
        np.savetxt(data, np.column_stack([X, y]), delimiter=",", fmt="%.6g",
                   header=",".join([f"x{i}" for i in range(8)] + ["y"]), comments="")
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
        times = {"before": [], "after": []}
        solver = {"before": [], "after": []}
        try:
            for rep in range(args.reps):
                for which in (("before", "after") if rep % 2 == 0 else ("after", "before")):
                    env = dict(os.environ, PYTHONPATH=getattr(args, which))
                    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                        env.pop(k, None)
                    cmd = [sys.executable, "-m", "deltaprop.cli", "train", data, "--target", "y", "--optimizer", "lbfgs",
                           "--test-split", "0", "--validation-split", "0", "--out", os.path.join(tmp, "m.safetensors"),
                           "--quiet"]
                    t = time.perf_counter()
                    subprocess.run(cmd, env=env, check=True, capture_output=True)
                    times[which].append(time.perf_counter() - t)
                    read = subprocess.run([sys.executable, "-c", "import sys, deltaprop as dp; "
                                           "print(dp.load(sys.argv[1]).metrics['seconds_this_run'])",
                                           os.path.join(tmp, "m.safetensors")], env=env, check=True,
                                          capture_output=True, text=True)
                    solver[which].append(float(read.stdout.strip().splitlines()[-1]))
                    print(f"rep {rep + 1} {which}: {times[which][-1]:.2f} s", file=sys.stderr)
        finally:
            if busy is not None:
                busy.kill()
    print(f"{'one core kept busy by another process' if args.busy else 'otherwise idle machine'}; {args.reps} reps\n")
    print("| tree | whole command, s, median (min-max) | training (L-BFGS), s, median (min-max) |")
    print("|---|---|---|")
    for which in ("before", "after"):
        ts, ss = times[which], solver[which]
        print(f"| {which} ({getattr(args, which)}) | {statistics.median(ts):.2f} ({min(ts):.2f}-{max(ts):.2f}) | "
              f"{statistics.median(ss):.3f} ({min(ss):.3f}-{max(ss):.3f}) |")
    print(f"\nafter / before: whole command {statistics.median(times['after']) / statistics.median(times['before']):.3f}, "
          f"training {statistics.median(solver['after']) / statistics.median(solver['before']):.3f}")


if __name__ == "__main__":
    main()
