"""deltaprop's speed against scikit-learn, PyTorch and the GEMM-only bound (issue 8).

    python benchmarks/run.py                 # all four workloads, default threads and 1 thread
    python benchmarks/run.py --workloads W1 --reps 3 --threads default

Workloads (float32, synthetic data from a fixed seed; W2 uses scikit-learn's digits):
  W1 "mnist-like"  60000 x 784, 784-256-128-10, ReLU, softmax + cross-entropy, minibatch 128 SGD, one epoch
  W2 "digits"      1797 x 64, 64-32-10, tanh, softmax + cross-entropy, minibatch 32, one epoch
  W3 "online"      10000 x 20, 20-16-1 sigmoid everywhere, squared cost, batch size 1, one epoch
  W4 "full batch"  60000 x 784, 784-256-10 sigmoid, squared cost + weight decay, one J and gradient

Every method of a workload runs in this one process, interleaved rep by rep; the table gives
medians with min-max, the ratio to the GEMM-only bound (the exact sequence of matrix products
of one epoch into preallocated outputs, nothing else) and GFLOP/s of those products. Peak
memory is what tracemalloc sees allocated during one more, separate run (tracing slows every
allocation, so it is never on while timing; NumPy reports its buffers to it, PyTorch's
allocator does not, so that column says n/a). Prints Markdown for RESULTS.md.
"""

from __future__ import annotations

import os

# Every method shares this process (the runs are interleaved rep by rep), so no thread pool may
# spin while another library works: PyTorch's OpenMP threads otherwise busy-wait after each op
# and slowed deltaprop's W3 epoch from 0.28 s to 1.26 s in this process. Set before any import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime
import gc
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np

import deltaprop as dp
from deltaprop.core.backprop import Workspace

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
except ImportError:  # pragma: no cover
    sklearn = None


def gemm_flops(sizes, m, *, batch):
    """Flops of the matrix products of one pass over m examples in batches."""
    fwd = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    dW = fwd
    dprop = sum(2 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))  # no delta for the input layer
    return m * (fwd + dW + dprop)


def gemm_bound(X, sizes, batch, Ws):
    """The exact matrix products of one epoch (forward, dW, delta propagation), nothing else."""
    m, L = X.shape[0], len(Ws)
    rng = np.random.default_rng(1)
    cache = {}
    for start in range(0, m, batch):
        a0 = X[start:start + batch]
        rows = a0.shape[0]
        if rows not in cache:  # preallocated; deltas filled once with ordinary numbers (no subnormals)
            cache[rows] = ([np.empty((rows, s), np.float32) for s in sizes[1:]],
                           [rng.normal(size=(rows, s)).astype(np.float32) for s in sizes[1:]],
                           [np.empty_like(W) for W in Ws])
        z, d, dW = cache[rows]
        prev = a0
        for l in range(L):
            np.matmul(prev, Ws[l].T, out=z[l])  # z = a W^T
            prev = z[l]
        for l in range(L - 1, -1, -1):
            np.matmul(d[l].T, a0 if l == 0 else z[l - 1], out=dW[l])  # dW = delta^T a
            if l > 0:
                np.matmul(d[l], Ws[l], out=d[l - 1])  # delta W


class Workload:
    def __init__(self, name, sizes, hidden, output, cost, batch, m, lam=0.0, full=False):
        self.name, self.sizes, self.hidden, self.output, self.cost = name, sizes, hidden, output, cost
        self.batch, self.m, self.lam, self.full = batch, m, lam, full
        rng = np.random.default_rng(0)
        if name == "W2":
            from sklearn.datasets import load_digits

            d = load_digits()
            self.X = ((d.data - d.data.mean(0)) / (d.data.std(0) + 1e-9)).astype(np.float32)
            self.labels = d.target
            self.m = len(self.X)
        else:
            self.X = rng.normal(size=(m, sizes[0])).astype(np.float32)
            self.labels = rng.integers(0, sizes[-1], m)
        if cost == "cross_entropy":
            self.Y = np.eye(sizes[-1], dtype=np.float32)[self.labels]
        else:
            self.Y = rng.uniform(size=(self.m, sizes[-1])).astype(np.float32)
        self.flops = gemm_flops(sizes, self.m, batch=batch)

    def net(self):
        return dp.Network.layered(self.sizes, hidden=self.hidden, output=self.output, cost=self.cost,
                                  weight_decay=self.lam, dtype="float32", seed=0)

    # --- the contenders -------------------------------------------------------------------------------

    def run_deltaprop(self):
        net = self.net()
        if self.full:
            grad = np.empty(net.n_params, np.float32)
            return lambda: net.loss_and_grad(self.X, self.Y, out=grad)
        return lambda: dp.train(net, self.X, self.Y, optimizer="sgd", learning_rate=0.01,
                                batch_size=None if self.batch >= self.m else self.batch, epochs=1,
                                shuffle=self.batch != 1, metric=None, seed=0, warm_start=False)

    def run_gemm(self):
        net = self.net()
        Ws = [np.ascontiguousarray(W) for W in net.W]
        # a full batch is evaluated in chunks of rows (bounded memory): the bound multiplies the same chunks
        batch = Workspace.rows_per_chunk(net.layout, net.dtype) if self.full else self.batch
        return lambda: gemm_bound(self.X, self.sizes, batch, Ws)

    def run_sklearn(self):
        if sklearn is None:
            return None
        act = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}[self.hidden]
        common = dict(hidden_layer_sizes=tuple(self.sizes[1:-1]), activation=act, alpha=self.lam, random_state=0)
        if self.full:  # one L-BFGS call budget: scikit-learn's own J-and-gradient plus its set-up
            est = MLPRegressor(solver="lbfgs", max_iter=1, max_fun=1, **common)
            y = self.Y
        elif self.cost == "cross_entropy":
            est = MLPClassifier(solver="sgd", batch_size=self.batch, learning_rate_init=0.01, momentum=0.0,
                                max_iter=1, shuffle=True, **common)
            y = self.labels
        else:
            est = MLPRegressor(solver="sgd", batch_size=self.batch, learning_rate_init=0.01, momentum=0.0,
                               max_iter=1, shuffle=False, **common)
            y = self.Y[:, 0]

        def go():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(self.X, y)
        return go

    def run_torch(self):
        if torch is None:
            return None
        layers = []
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[self.hidden]
        for a, b in zip(self.sizes[:-2], self.sizes[1:-1]):
            layers += [torch.nn.Linear(a, b), act()]
        layers.append(torch.nn.Linear(self.sizes[-2], self.sizes[-1]))
        if self.output == "sigmoid":
            layers.append(torch.nn.Sigmoid())
        model = torch.nn.Sequential(*layers)
        X = torch.from_numpy(self.X)
        Y = torch.from_numpy(self.Y)
        labels = torch.from_numpy(self.labels)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        ce = self.cost == "cross_entropy"

        def loss_of(out, yb, lb):
            if ce:
                return torch.nn.functional.cross_entropy(out, lb)
            loss = 0.5 * ((out - yb) ** 2).sum(dim=1).mean()
            if self.lam:
                loss = loss + 0.5 * self.lam * sum((p ** 2).sum() for n, p in model.named_parameters()
                                                   if n.endswith("weight"))
            return loss

        if self.full:
            def go():
                model.zero_grad()
                loss_of(model(X), Y, labels).backward()
            return go

        def go():
            order = torch.randperm(len(X)) if self.batch > 1 else torch.arange(len(X))
            for start in range(0, len(X), self.batch):
                idx = order[start:start + self.batch]
                opt.zero_grad()
                loss_of(model(X[idx]), Y[idx], labels[idx]).backward()
                opt.step()
        return go


WORKLOADS = {
    "W1": lambda: Workload("W1", [784, 256, 128, 10], "relu", "softmax", "cross_entropy", 128, 60000),
    "W2": lambda: Workload("W2", [64, 32, 10], "tanh", "softmax", "cross_entropy", 32, 1797),
    "W3": lambda: Workload("W3", [20, 16, 1], "sigmoid", "sigmoid", "squared", 1, 10000),
    "W4": lambda: Workload("W4", [784, 256, 10], "sigmoid", "sigmoid", "squared", 60000, 60000, lam=1e-4, full=True),
}


def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def traced_peak(fn):
    """Peak bytes allocated during one run (a separate run: tracing slows allocation)."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def contenders(workload):
    methods = {"deltaprop": workload.run_deltaprop(), "GEMM-only bound": workload.run_gemm(),
               "scikit-learn": workload.run_sklearn(), "PyTorch": workload.run_torch()}
    if workload.batch == 1:  # the online rule: also without the compiled kernel, for comparison
        from deltaprop.core import compiled as online

        inner = workload.run_deltaprop()

        def numpy_only():
            saved, online.eligible = online.eligible, (lambda *a, **k: False)
            try:
                inner()
            finally:
                online.eligible = saved
        methods = {"deltaprop": methods.pop("deltaprop"), "deltaprop, NumPy only": numpy_only, **methods}
    return {k: v for k, v in methods.items() if v is not None}


def bench(workload, reps, threads):
    methods = contenders(workload)
    times = {k: [] for k in methods}
    from threadpoolctl import threadpool_limits

    limit = None if threads == "default" else 1
    if torch is not None:
        torch.set_num_threads(os.cpu_count() if limit is None else 1)
    with threadpool_limits(limits=limit):
        for fn in methods.values():  # warm up (caches, first-call costs)
            fn()
        for _ in range(reps):  # interleaved rep by rep
            for k, fn in methods.items():
                times[k].append(timed(fn))
        # memory: fresh objects, so buffers made once per batch size (deltaprop's workspaces) are counted
        peaks = {k: traced_peak(fn) for k, fn in contenders(workload).items()}
    return times, peaks


def table(workload, times, peaks, threads):
    med = {k: statistics.median(v) for k, v in times.items()}
    bound = med["GEMM-only bound"]
    rows = [f"| {workload.name} | {threads} | {k} | {med[k] * 1e3:.1f} ({min(v) * 1e3:.1f}-{max(v) * 1e3:.1f}) | "
            f"{med[k] / bound:.2f}x | {med[k] / med['deltaprop']:.1f}x | {workload.flops / med[k] / 1e9:.1f} | "
            f"{'n/a' if k == 'PyTorch' else f'{peaks[k] / 2**20:.1f}'} |"
            for k, v in times.items()]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", choices=["default", "1", "both"], default="both")
    args = parser.parse_args()
    import threadpoolctl

    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads, {os.path.basename(i['filepath'])})"
            for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    print(f"date: {datetime.date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores; "
          f"python {platform.python_version()}, numpy {np.__version__}, deltaprop {dp.__version__}, "
          f"scikit-learn {getattr(sklearn, '__version__', 'n/a')}, torch {getattr(torch, '__version__', 'n/a')}")
    print(f"BLAS: {'; '.join(blas)}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n")
    print("| workload | threads | method | median ms (min-max) | / GEMM bound | / deltaprop | GEMM GFLOP/s | "
          "peak MiB traced |")
    print("|---|---|---|---|---|---|---|---|")
    thread_modes = ["default", "1"] if args.threads == "both" else [args.threads]
    for name in args.workloads.split(","):
        workload = WORKLOADS[name.strip()]()
        for threads in thread_modes:
            times, peaks = bench(workload, args.reps, threads)
            for row in table(workload, times, peaks, threads):
                print(row, flush=True)


if __name__ == "__main__":
    main()
