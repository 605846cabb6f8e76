"""The metrics deltaprop reports, each defined once: accuracy and R^2 (which training watches),
RMSE and MAE, and for ``deltaprop evaluate`` the confusion matrix, per-class precision, recall and
F1, and the scores of the baselines a model must beat.

The error metrics take the network's outputs ``h`` and the targets ``Y`` as arrays of shape
(n_samples, n_outputs); the class metrics take class indices of shape (n_samples,). Training,
:class:`deltaprop.Model` and the command line all call these.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "n_correct", "r2", "r2_from_sums", "rmse", "mae", "for_network", "is_single_label",
           "confusion_matrix", "precision_recall_f1", "majority_class", "constant_prediction"]


def accuracy(h: np.ndarray, Y: np.ndarray, *, single_label: bool) -> float:
    """Fraction of examples classified right.

    ``single_label``: one class per row (softmax outputs, or a one-hot Y): the largest output
    must sit where Y's largest does. Otherwise every output is a yes/no label and a row counts
    when all of them are on the right side of 0.5.
    """
    return n_correct(h, Y, single_label=single_label) / h.shape[0] if h.shape[0] else float("nan")


def n_correct(h: np.ndarray, Y: np.ndarray, *, single_label: bool) -> int:
    """How many examples :func:`accuracy` counts as right (a sum over rows: data split into
    partitions adds its partitions' counts)."""
    if single_label:
        return int(np.count_nonzero(h.argmax(axis=1) == Y.argmax(axis=1)))
    return int(np.count_nonzero(np.all((h > 0.5) == (Y > 0.5), axis=1)))


def r2(h: np.ndarray, Y: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot, averaged over the output columns.

    A constant target column (SS_tot = 0) scores 1.0 when fitted exactly and 0.0 otherwise,
    as scikit-learn's ``r2_score`` does. No rows: nan (as :func:`accuracy`), without a warning.
    """
    h = np.asarray(h, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.shape[0] == 0:
        return float("nan")
    c = np.abs(Y).max(axis=0) if Y.size else 1.0  # R^2 is scale-free: work in units of each column's size,
    c = np.where(c > 0, c, 1.0)  # so targets near 1e300 do not overflow their squares
    h, Y = h / c, Y / c
    return r2_from_sums(((Y - h) ** 2).sum(axis=0), ((Y - Y.mean(axis=0)) ** 2).sum(axis=0))


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """:func:`r2` from each output column's residual and total sums of squares, shape (n_outputs,)
    (in any units, the same for both sums of a column): how data held in partitions gets it."""
    ss_res, ss_tot = np.asarray(ss_res, dtype=np.float64), np.asarray(ss_tot, dtype=np.float64)
    ok = ss_tot > 0
    scores = np.where(ok, 1 - ss_res / np.where(ok, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def rmse(h: np.ndarray, Y: np.ndarray) -> float:
    """Root mean squared error over every output, computed without overflow for any finite values."""
    err = np.asarray(h, dtype=np.float64) - np.asarray(Y, dtype=np.float64)
    c = float(np.abs(err).max()) if err.size else 0.0
    return 0.0 if c == 0 or not np.isfinite(c) else c * float(np.sqrt(((err / c) ** 2).mean()))


def mae(h: np.ndarray, Y: np.ndarray) -> float:
    """Mean absolute error over every output."""
    return float(np.abs(np.asarray(h, dtype=np.float64) - np.asarray(Y, dtype=np.float64)).mean())


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of the examples of class ``i`` predicted as class ``j`` (rows true, columns predicted).

    Parameters
    ----------
    true, pred : ndarray of int, shape (n_samples,)
        Class indices in ``range(n_classes)``.
    n_classes : int

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        Its trace over its sum is the accuracy.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]), 2).tolist()
    [[1, 1], [0, 1]]
    """
    true, pred = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    if true.shape != pred.shape or true.ndim != 1:
        raise ValueError(f"true and pred must be class indices of one shape (n_samples,), got {true.shape} "
                         f"and {pred.shape}")
    bad = (true < 0) | (true >= n_classes) | (pred < 0) | (pred >= n_classes)
    if bad.any():
        raise ValueError(f"class indices must be in range({n_classes}); example {int(np.argmax(bad))} is not")
    return np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def precision_recall_f1(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision C[i, i] / (column i's sum), recall C[i, i] / (row i's sum) and their harmonic
    mean F1, from a :func:`confusion_matrix`.

    A ratio with nothing to divide (a class never predicted, or absent from the data) is 0, as in
    scikit-learn's ``precision_recall_fscore_support`` with ``zero_division=0``.

    Returns
    -------
    precision, recall, f1 : ndarray of shape (n_classes,)
    """
    C = np.asarray(C, dtype=np.float64)
    hit = np.diag(C)
    predicted, actual = C.sum(axis=0), C.sum(axis=1)

    def ratio(num, den):
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    precision, recall = ratio(hit, predicted), ratio(hit, actual)
    return precision, recall, ratio(2 * precision * recall, precision + recall)


def majority_class(C: np.ndarray) -> tuple[int, float]:
    """The baseline that always predicts the most common true class of a :func:`confusion_matrix`'s
    data: ``(its index, its accuracy)`` (the first such class on a tie)."""
    actual = np.asarray(C).sum(axis=1)
    i = int(np.argmax(actual))
    return i, float(actual[i] / actual.sum()) if actual.sum() else 0.0


def constant_prediction(Y: np.ndarray, value) -> dict:
    """RMSE, MAE and R^2 of predicting ``value`` for every row of ``Y``.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
    value : float or ndarray of shape (n_outputs,)
        Such as the training targets' mean (the mean predictor); ``Y``'s own mean scores R^2 = 0.

    Returns
    -------
    dict
        ``{"rmse": ..., "mae": ..., "r2": ...}``.
    """
    Y = np.asarray(Y, dtype=np.float64)
    h = np.broadcast_to(np.asarray(value, dtype=np.float64), Y.shape)
    return {"rmse": rmse(h, Y), "mae": mae(h, Y), "r2": r2(h, Y)}


def is_single_label(net) -> bool:
    """Whether ``net`` gives one class per example (a single softmax output block) rather than
    independent yes/no labels: how :func:`accuracy` reads its outputs."""
    outputs = net.layout.outputs
    return len(outputs) == 1 and net.layout.activations[outputs[0][0]].name == "softmax"


def for_network(name: str, net) -> "callable":
    """``metric(h, Y)`` for ``name`` ("accuracy" or "r2") on ``net``'s outputs."""
    if name == "accuracy":
        single = is_single_label(net)
        return lambda h, Y: accuracy(h, Y, single_label=single)
    if name == "r2":
        return r2
    raise ValueError(f"unknown metric {name!r}; expected 'accuracy' or 'r2'")
