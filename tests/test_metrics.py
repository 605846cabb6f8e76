"""deltaprop.train.metrics: the class metrics and baselines of ``evaluate``, by hand and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop.train import metrics


def test_confusion_matrix_precision_recall_f1_by_hand():
    # true 0 0 0 1 1 2, predicted 0 0 1 1 2 2; class 2 is never wrong as a prediction
    C = metrics.confusion_matrix(np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 2, 2]), 3)
    assert C.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]  # rows true, columns predicted
    precision, recall, f1 = metrics.precision_recall_f1(C)
    # precision: column sums 2, 2, 2 -> 2/2, 1/2, 1/2; recall: row sums 3, 2, 1 -> 2/3, 1/2, 1/1
    np.testing.assert_allclose(precision, [1.0, 0.5, 0.5])
    np.testing.assert_allclose(recall, [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(f1, [0.8, 0.5, 2 / 3])  # 2pr/(p+r): 2(2/3)/(5/3) = 0.8; 2(0.5)/(1.5) = 2/3
    assert metrics.majority_class(C) == (0, 0.5)  # always class 0 is right on 3 of 6


def test_class_metrics_agree_with_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for n_classes in (2, 3, 7):
        true = rng.integers(0, n_classes, size=200)
        pred = np.where(rng.random(200) < 0.6, true, rng.integers(0, n_classes - 1, size=200))  # last: never guessed
        C = metrics.confusion_matrix(true, pred, n_classes)
        labels = list(range(n_classes))
        assert C.tolist() == sk.confusion_matrix(true, pred, labels=labels).tolist()
        p, r, f, support = sk.precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
        np.testing.assert_allclose(np.stack(metrics.precision_recall_f1(C)), np.stack([p, r, f]))
        assert C.sum(axis=1).tolist() == support.tolist()
        majority, acc = metrics.majority_class(C)
        assert acc == pytest.approx(sk.accuracy_score(true, np.full(200, majority)))
        assert acc == max(np.bincount(true, minlength=n_classes)) / 200


def test_a_class_absent_from_the_data_and_the_predictions_scores_zero_not_nan():
    C = metrics.confusion_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]), 3)
    precision, recall, f1 = metrics.precision_recall_f1(C)
    assert np.isfinite(np.stack([precision, recall, f1])).all() and precision[2] == recall[2] == f1[2] == 0.0


@pytest.mark.parametrize("true,pred,message", [
    ([0, 3], [0, 1], "range\\(3\\); example 1"), ([0, 1], [0, -1], "example 1"), ([0, 1], [0], "one shape"),
])
def test_confusion_matrix_refuses_bad_indices(true, pred, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(np.array(true), np.array(pred), 3)


def test_constant_prediction_is_the_mean_predictors_baseline():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    Y = rng.normal(loc=[10.0, -3.0], scale=[2.0, 0.5], size=(50, 2))
    own = metrics.constant_prediction(Y, Y.mean(axis=0))
    # the data's own mean: R^2 0 by definition, so its errors are what says something
    assert own["r2"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(own["rmse"], np.sqrt(np.mean((Y - Y.mean(axis=0)) ** 2)))
    other = metrics.constant_prediction(Y, [11.0, -3.0])
    h = np.broadcast_to([11.0, -3.0], Y.shape)
    assert other["mae"] == pytest.approx(sk.mean_absolute_error(Y, h))
    assert other["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(Y, h)))
    assert other["r2"] == pytest.approx(sk.r2_score(Y, h)) and other["r2"] < 0
