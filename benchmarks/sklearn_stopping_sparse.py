"""Issue 14: what the tol stopping rule saves, and sparse one-hot input against MLPClassifier.

1. Fit time of DeltaClassifier() with its defaults on the digits (1797 x 64, StandardScaler,
   75/25 split) and on an MNIST-sized synthetic set (4000 x 784 for training, 10 classes),
   against every epoch run (tol=0, n_iter_no_change=inf: what the estimator did before tol)
   and MLPClassifier() with its defaults. Run on a tree without tol, the script times that
   tree's DeltaClassifier() instead (the "before" of an A/B).
2. A categorical table (20000 x 8 columns of 50 levels each, target additive in the levels)
   through ColumnTransformer(OneHotEncoder()): a CSR matrix of 400 columns. DeltaClassifier
   and MLPClassifier, both hidden=(100,), on the sparse matrix; DeltaClassifier also on its
   dense copy.

Best of ``--repeat`` fits (default 3); seconds, epochs (n_iter_) and held-out accuracy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/sklearn_stopping_sparse.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from deltaprop.sklearn import DeltaClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
HAS_TOL = "tol" in DeltaClassifier().get_params()


def timed(make, Xtr, ytr, Xte, yte, repeat):
    best, est = np.inf, None
    for _ in range(repeat):
        est = make()
        t = time.perf_counter()
        est.fit(Xtr, ytr)
        best = min(best, time.perf_counter() - t)
    return best, est.n_iter_, est.score(Xte, yte)


def report(name, rows, data, repeat):
    for label, make in rows:
        sec, n_iter, acc = timed(make, *data, repeat)
        print(f"| {name} | {label} | {sec:.2f} | {n_iter} | {acc:.4f} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["dense", "sparse"])
    args = parser.parse_args()
    print("| data | estimator | fit seconds (best of %d) | epochs | held-out accuracy |" % args.repeat)
    print("|---|---|---|---|---|")
    if args.only != "sparse":
        X, y = load_digits(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
        sc = StandardScaler().fit(Xtr)
        digits = (sc.transform(Xtr), ytr, sc.transform(Xte), yte)
        X, y = make_classification(n_samples=5000, n_features=784, n_informative=60, n_redundant=100, n_classes=10,
                                   n_clusters_per_class=2, class_sep=1.5, random_state=0)
        mnist_like = (X[:4000], y[:4000], X[4000:], y[4000:])
        for name, data in (("digits", digits), ("4000 x 784 synthetic", mnist_like)):
            rows = [("DeltaClassifier() defaults" if HAS_TOL else "DeltaClassifier() before tol",
                     lambda: DeltaClassifier(random_state=0))]
            if HAS_TOL:
                rows.append(("DeltaClassifier(tol=0, n_iter_no_change=inf)",
                             lambda: DeltaClassifier(tol=0.0, n_iter_no_change=np.inf, random_state=0)))
            rows.append(("MLPClassifier() defaults", lambda: MLPClassifier(random_state=0)))
            report(name, rows, data, args.repeat)
    if args.only != "dense":
        rng = np.random.default_rng(0)
        table = rng.integers(0, 50, size=(25000, 8))
        effect = rng.normal(size=(8, 50))
        y = (effect[np.arange(8), table].sum(axis=1) + 0.5 * rng.normal(size=25000) > 0).astype(int)
        encode = make_column_transformer((OneHotEncoder(), list(range(8))))
        Xs = encode.fit_transform(table)
        assert sp.issparse(Xs), type(Xs)
        Xs = sp.csr_matrix(Xs)
        data = (Xs[:20000], y[:20000], Xs[20000:], y[20000:])
        dense = (Xs[:20000].toarray(), y[:20000], Xs[20000:].toarray(), y[20000:])
        report("one-hot 20000 x 400, CSR", [("DeltaClassifier(hidden=(100,))", lambda: DeltaClassifier(random_state=0)),
                                            ("MLPClassifier(hidden_layer_sizes=(100,))",
                                             lambda: MLPClassifier(random_state=0))], data, args.repeat)
        report("one-hot 20000 x 400, dense", [("DeltaClassifier(hidden=(100,))",
                                               lambda: DeltaClassifier(random_state=0))], dense, args.repeat)


if __name__ == "__main__":
    main()
