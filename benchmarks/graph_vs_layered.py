"""Issue 4's goal: a unit graph that is really a layered network trains within 1.1x the time
of the equivalent Network.layered. Both are timed in the same process, interleaved rep by rep.

    python benchmarks/graph_vs_layered.py [--reps 7]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import deltaprop as dp


def layered_graph(sizes, hidden, output):
    g = dp.Graph()
    layer = [g.input() for _ in range(sizes[0])]
    for n in sizes[1:-1]:
        nxt = g.units(n, hidden)
        g.connect_all(layer, nxt)
        layer = nxt
    out = g.units(sizes[-1], output)
    g.connect_all(layer, out)
    g.output(*out)
    return g


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    sizes = [64, 32, 10]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, sizes[0])).astype(np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], len(X))]
    t0 = time.perf_counter()
    g = layered_graph(sizes, "tanh", "softmax")
    build = time.perf_counter() - t0
    kw = dict(optimizer="sgd", learning_rate=0.1, batch_size=32, epochs=3, seed=0, metric=None)
    times = {"layered": [], "graph": []}
    for _ in range(args.reps):
        for kind in ("layered", "graph"):
            if kind == "layered":
                net = dp.Network.layered(sizes, hidden="tanh", output="softmax", cost="cross_entropy",
                                         dtype="float32", seed=0)
            else:
                net = g.compile(cost="cross_entropy", dtype="float32", seed=0)
            t0 = time.perf_counter()
            dp.train(net, X, Y, **kw)
            times[kind].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"network {'-'.join(map(str, sizes))} tanh/softmax, 5000 x 64 float32, 3 epochs of minibatch-32 SGD, "
          f"{args.reps} reps interleaved")
    print(f"graph construction + compile: {build * 1e3:.1f} ms")
    for k, v in times.items():
        print(f"{k:8s} median {med[k] * 1e3:8.1f} ms  (min {min(v) * 1e3:.1f}, max {max(v) * 1e3:.1f})")
    print(f"ratio graph / layered: {med['graph'] / med['layered']:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
