"""Issue 6: cross-validated accuracy of DeltaClassifier against scikit-learn's MLPClassifier.

Comparable settings: StandardScaler, one hidden layer of 100 ReLU, Adam at 0.001, batches of
min(200, n), at most 200 epochs. scikit-learn divides its alpha = 1e-4 by the batch size inside
its loss, so the same penalty is lambda = 5e-7 in the seed's J. Also with early stopping on both
sides (scikit-learn watches validation accuracy, deltaprop validation cost; patience 10).
5 seeds x 5 stratified folds each.

    python benchmarks/sklearn_accuracy.py
"""
import warnings
import numpy as np
from sklearn.datasets import load_digits, load_wine
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.exceptions import ConvergenceWarning
from deltaprop.sklearn import DeltaClassifier
warnings.simplefilter("ignore", ConvergenceWarning)
cv = StratifiedKFold(5, shuffle=True, random_state=0)
for name, loader in [("digits", load_digits), ("wine", load_wine)]:
    X, y = loader(return_X_y=True)
    res = {"sk": [], "dp": [], "sk_es": [], "dp_es": []}
    for rs in range(5):
        ests = {"sk": MLPClassifier(hidden_layer_sizes=(100,), alpha=1e-4, max_iter=200, random_state=rs),
                "dp": DeltaClassifier(hidden=(100,), weight_decay=5e-7, epochs=200, random_state=rs),
                "sk_es": MLPClassifier(hidden_layer_sizes=(100,), alpha=1e-4, max_iter=200, early_stopping=True,
                                       n_iter_no_change=10, random_state=rs),
                "dp_es": DeltaClassifier(hidden=(100,), weight_decay=5e-7, epochs=200, early_stopping=10, random_state=rs)}
        for k, est in ests.items():
            res[k].append(cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=cv).mean())
    print(name, {k: f"{np.mean(v):.4f} (sd {np.std(v):.4f})" for k, v in res.items()})
