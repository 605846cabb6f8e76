"""Before/after: deltaprop's own time on the four workloads, two source trees, interleaved.

    python benchmarks/ab.py BEFORE_SRC AFTER_SRC [--reps 7]

Each repetition runs one fresh process per tree and workload, alternating the trees, so
machine load drifts onto both alike. A process times one warm epoch (W1-W3) or one warm
J-and-gradient (W4) using only public API that both trees have. Prints a Markdown table of
medians with min-max and the after/before ratio.

Workloads (as in run.py; float32, synthetic data from a fixed seed, W2 on scikit-learn's digits):
  W1  60000 x 784, 784-256-128-10 relu/softmax, cross-entropy, minibatch-128 SGD, one epoch
  W2  1797 x 64, 64-32-10 tanh/softmax, cross-entropy, minibatch-32 SGD, one epoch
  W3  10000 x 20, 20-16-1 sigmoid, squared cost, online SGD (batch 1), one epoch
  W4  60000 x 784, 784-256-10 sigmoid, squared cost + weight decay, one full-batch J and gradient
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import deltaprop as dp

w = sys.argv[1]
rng = np.random.default_rng(0)
f32 = np.float32
if w in ("W1", "W4"):
    X = rng.normal(size=(60000, 784)).astype(f32)
    labels = rng.integers(0, 10, 60000)
if w == "W1":
    Y = np.eye(10, dtype=f32)[labels]
    net = dp.Network.layered([784, 256, 128, 10], hidden="relu", output="softmax", cost="cross_entropy",
                             dtype="float32", seed=0)
    go = lambda: dp.train(net, X, Y, optimizer="sgd", learning_rate=0.01, batch_size=128, epochs=1, seed=0,
                          metric=None)
elif w == "W2":
    from sklearn.datasets import load_digits
    d = load_digits()
    X = (d.data / 16.0).astype(f32)
    Y = np.eye(10, dtype=f32)[d.target]
    net = dp.Network.layered([64, 32, 10], hidden="tanh", output="softmax", cost="cross_entropy",
                             dtype="float32", seed=0)
    go = lambda: dp.train(net, X, Y, optimizer="sgd", learning_rate=0.05, batch_size=32, epochs=1, seed=0,
                          metric=None)
elif w == "W3":
    X = rng.normal(size=(10000, 20)).astype(f32)
    Y = (rng.uniform(size=(10000, 1)) > 0.5).astype(f32)
    net = dp.Network.layered([20, 16, 1], dtype="float32", seed=0)
    go = lambda: dp.train(net, X, Y, optimizer="sgd", learning_rate=0.1, batch_size=1, shuffle=False, epochs=1,
                          metric=None)
else:
    Y = np.eye(10, dtype=f32)[labels]
    net = dp.Network.layered([784, 256, 10], dtype="float32", weight_decay=1e-4, seed=0)
    go = lambda: net.cost_and_gradient(X, Y)
go()  # warm: workspaces, compiled kernels
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    go()
    times.append(time.perf_counter() - t)
print(json.dumps(min(times)))
"""


def run(src: str, workload: str, inner: int) -> float:
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", CHILD, workload, str(inner)], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument("--reps", type=int, default=7, help="processes per tree and workload (default 7)")
    parser.add_argument("--inner", type=int, default=2, help="timed runs per process; the fastest counts")
    args = parser.parse_args()
    print("| workload | before ms, median (min-max) | after ms, median (min-max) | after / before |")
    print("|---|---|---|---|")
    for w in args.workloads.split(","):
        times = {"before": [], "after": []}
        for rep in range(args.reps):
            order = ("before", "after") if rep % 2 == 0 else ("after", "before")
            for which in order:
                times[which].append(1000 * run(getattr(args, which), w, args.inner))
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        cell = lambda t: f"{statistics.median(t):.1f} ({min(t):.1f}-{max(t):.1f})"  # noqa: E731
        print(f"| {w} | {cell(times['before'])} | {cell(times['after'])} | {a / b:.3f} |", flush=True)


if __name__ == "__main__":
    main()
