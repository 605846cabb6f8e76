"""The workloads and the implementations that run them, for benchmarks/run.py (issue 16).

Workloads (float32, synthetic data from a fixed seed; W2 uses scikit-learn's digits):
  W1 "mnist-like"  60000 x 784, 784-256-128-10, ReLU, softmax + cross-entropy, minibatch 128 SGD, one epoch
  W2 "digits"      1797 x 64, 64-32-10, tanh, softmax + cross-entropy, minibatch 32, one epoch
  W3 "online"      10000 x 20, 20-16-1 sigmoid everywhere, squared cost, batch size 1, one epoch
  W4 "full batch"  60000 x 784, 784-256-10 sigmoid, squared cost + weight decay, one J and gradient

The scaling study varies W1: hidden widths h-h/2 for h in 64 ... 2048 at batch 128, and batch
sizes 16 ... 1024 at 256-128, each on the first SCALING_ROWS rows of W1's data.

Each implementation is a function ``make(workload) -> callable`` whose call is one timed run:
one epoch (W1-W3) or one J and gradient (W4). This module imports PyTorch and scikit-learn
only when their implementation is asked for, so each runs alone in its worker process.
"""

from __future__ import annotations

import warnings

import numpy as np

SCALING_ROWS = 10000
WIDTHS = (64, 128, 256, 512, 1024, 2048)
BATCHES = (16, 32, 64, 128, 256, 512, 1024)


def gemm_flops(sizes, m):
    """Flops of the matrix products of one pass over m examples: forward, dW and delta propagation."""
    fwd = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    dprop = sum(2 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))  # no delta for the input layer
    return m * (2 * fwd + dprop)


class Workload:
    """One benchmark problem: the network's shape, its activations and cost, the data, the batch size."""

    def __init__(self, name, sizes, hidden, output, cost, batch, m, lam=0.0, full=False):
        self.name, self.sizes, self.hidden, self.output, self.cost = name, list(sizes), hidden, output, cost
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
        self.flops = gemm_flops(sizes, self.m)

    def variant(self, sizes, batch, m):
        """The same problem with other layer sizes, batch size and number of rows (the scaling study)."""
        w = object.__new__(Workload)
        w.__dict__.update(self.__dict__)
        w.name = f"{self.name} {'-'.join(map(str, sizes))} batch {batch}"
        w.sizes, w.batch, w.m = list(sizes), batch, m
        w.X, w.labels, w.Y = self.X[:m], self.labels[:m], self.Y[:m]
        w.flops = gemm_flops(sizes, m)
        return w


WORKLOADS = {
    "W1": lambda: Workload("W1", [784, 256, 128, 10], "relu", "softmax", "cross_entropy", 128, 60000),
    "W2": lambda: Workload("W2", [64, 32, 10], "tanh", "softmax", "cross_entropy", 32, 1797),
    "W3": lambda: Workload("W3", [20, 16, 1], "sigmoid", "sigmoid", "squared", 1, 10000),
    "W4": lambda: Workload("W4", [784, 256, 10], "sigmoid", "sigmoid", "squared", 60000, 60000, lam=1e-4, full=True),
}


def scaling_variants(base, widths=WIDTHS, batches=BATCHES):
    """(axis, value, workload) for the scaling study of W1."""
    out = [("width", h, base.variant([784, h, h // 2, 10], 128, SCALING_ROWS)) for h in widths]
    out += [("batch", bs, base.variant([784, 256, 128, 10], bs, SCALING_ROWS)) for bs in batches]
    return out


# --- the implementations ------------------------------------------------------------------------


def deltaprop_net(w):
    import deltaprop as dp

    return dp.Network.layered(w.sizes, hidden=w.hidden, output=w.output, cost=w.cost, weight_decay=w.lam,
                              dtype="float32", seed=0)


def run_deltaprop(w):
    """``dp.train(..., epochs=1)`` as a user calls it (checks of the data included); W4: the
    J and gradient that ``dp.train(optimizer="lbfgs")`` asks for at every step."""
    import deltaprop as dp

    net = deltaprop_net(w)
    if w.full:
        grad = np.empty(net.n_params, np.float32)
        return lambda: net.loss_and_grad(w.X, w.Y, out=grad)
    return lambda: dp.train(net, w.X, w.Y, optimizer="sgd", learning_rate=0.01,
                            batch_size=None if w.batch >= w.m else w.batch, epochs=1,
                            shuffle=w.batch != 1, metric=None, seed=0, warm_start=False)


def run_deltaprop_numpy(w):
    """deltaprop without its compiled kernels (what a user without Numba gets)."""
    from deltaprop.core import compiled

    compiled.eligible = lambda *a, **k: False  # this worker process only
    return run_deltaprop(w)


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


def run_gemm(w):
    """The GEMM-only bound: NumPy's matrix products of the same shapes, into preallocated outputs."""
    from deltaprop.core.backprop import Workspace

    net = deltaprop_net(w)
    Ws = [np.ascontiguousarray(W) for W in net.W]
    # a full batch is evaluated in chunks of rows (bounded memory): the bound multiplies the same chunks
    batch = Workspace.rows_per_chunk(net.layout, net.dtype) if w.full else w.batch
    return lambda: gemm_bound(w.X, w.sizes, batch, Ws)


def run_sklearn(w):
    """scikit-learn's MLP with the same shape, one epoch of SGD (W4: one L-BFGS evaluation)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    act = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}[w.hidden]
    common = dict(hidden_layer_sizes=tuple(w.sizes[1:-1]), activation=act, alpha=w.lam, random_state=0)
    if w.full:  # one L-BFGS call budget: scikit-learn's own J-and-gradient plus its set-up
        est, y = MLPRegressor(solver="lbfgs", max_iter=1, max_fun=1, **common), w.Y
    elif w.cost == "cross_entropy":
        est = MLPClassifier(solver="sgd", batch_size=w.batch, learning_rate_init=0.01, momentum=0.0,
                            max_iter=1, shuffle=True, **common)
        y = w.labels
    else:
        est = MLPRegressor(solver="sgd", batch_size=w.batch, learning_rate_init=0.01, momentum=0.0,
                           max_iter=1, shuffle=False, **common)
        y = w.Y[:, 0]

    def go():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(w.X, y)
    return go


def run_torch(w, threads=None):
    """A plain PyTorch loop: nn.Sequential, torch.optim.SGD, a fresh random order each epoch.
    ``threads``: None keeps PyTorch's default (one per physical core), else torch.set_num_threads."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[w.hidden]
    layers = []
    for a, b in zip(w.sizes[:-2], w.sizes[1:-1]):
        layers += [torch.nn.Linear(a, b), act()]
    layers.append(torch.nn.Linear(w.sizes[-2], w.sizes[-1]))
    if w.output == "sigmoid":
        layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    X, Y, labels = torch.from_numpy(w.X), torch.from_numpy(w.Y), torch.from_numpy(w.labels)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    ce = w.cost == "cross_entropy"

    def loss_of(out, yb, lb):
        if ce:
            return torch.nn.functional.cross_entropy(out, lb)
        loss = 0.5 * ((out - yb) ** 2).sum(dim=1).mean()
        if w.lam:
            loss = loss + 0.5 * w.lam * sum((p ** 2).sum() for n, p in model.named_parameters() if n.endswith("weight"))
        return loss

    if w.full:
        def go():
            model.zero_grad()
            loss_of(model(X), Y, labels).backward()
        return go

    def go():
        order = torch.randperm(len(X)) if w.batch > 1 else torch.arange(len(X))
        for start in range(0, len(X), w.batch):
            idx = order[start:start + w.batch]
            opt.zero_grad()
            loss_of(model(X[idx]), Y[idx], labels[idx]).backward()
            opt.step()
    return go


IMPLEMENTATIONS = {
    "deltaprop": run_deltaprop,
    "deltaprop, NumPy only": run_deltaprop_numpy,
    "GEMM-only bound": run_gemm,
    "scikit-learn": run_sklearn,
    "PyTorch": run_torch,
    "PyTorch, 1 thread": lambda w: run_torch(w, threads=1),
}
