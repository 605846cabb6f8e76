"""scikit-learn estimators: every estimator check, pipelines, partial_fit, warm start, safe files."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits, load_iris, load_wine, make_multilabel_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import deltaprop as dp  # noqa: E402
from deltaprop.sklearn import DeltaClassifier, DeltaRegressor  # noqa: E402

# Short fits that reach `epochs` warn as scikit-learn's MLP does; the tests of that warning catch it themselves.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([DeltaClassifier(), DeltaRegressor()], legacy=True)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_pipeline_gridsearch_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), DeltaClassifier(hidden=(8,), learning_rate=0.01, epochs=200, random_state=0))
    search = GridSearchCV(pipe, {"deltaclassifier__hidden": [(4,), (16,)],
                                 "deltaclassifier__activation": ["tanh", "relu"]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9


def test_classifier_kinds_and_shapes():
    X, y = load_iris(return_X_y=True)
    Xs = StandardScaler().fit_transform(X)
    clf = DeltaClassifier(hidden=(10,), learning_rate=0.01, random_state=0).fit(Xs, np.array(["a", "b", "c"])[y])
    assert clf.network_.activations[-1] == "softmax" and clf.predict_proba(Xs).shape == (150, 3)
    assert set(clf.predict(Xs)) <= {"a", "b", "c"} and clf.score(Xs, np.array(["a", "b", "c"])[y]) > 0.9
    binary = DeltaClassifier(hidden=(10,), learning_rate=0.01, random_state=0).fit(Xs, y == 2)
    assert binary.network_.n_outputs == 1 and binary.predict_proba(Xs).shape == (150, 2)
    np.testing.assert_allclose(binary.predict_proba(Xs).sum(axis=1), 1)
    Xm, Ym = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    multi = DeltaClassifier(hidden=(20,), learning_rate=0.01, random_state=0).fit(Xm, Ym)
    assert multi.predict(Xm).shape == (200, 4) and multi.network_.activations[-1] == "sigmoid"
    assert multi.score(Xm, Ym) > 0.3  # subset accuracy


def test_regressor_multi_output_and_per_layer_activations():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])])
    reg = DeltaRegressor(hidden=(32, 16), activation=["tanh", "elu"], learning_rate=0.01, epochs=300, random_state=0)
    reg.fit(X, Y)
    assert reg.network_.activations == ["tanh", "elu", "identity"]
    assert reg.predict(X).shape == (300, 2) and reg.score(X, Y) > 0.8


def test_custom_activation():
    dp.register_activation("sq_relu", lambda z: np.maximum(z, 0) ** 2, lambda z, a: 2 * np.maximum(z, 0),
                           overwrite=True)
    X, y = load_iris(return_X_y=True)
    clf = DeltaClassifier(hidden=(8,), activation="sq_relu", learning_rate=0.01, random_state=0)
    assert make_pipeline(StandardScaler(), clf).fit(X, y).score(X, y) > 0.9


def test_partial_fit_keeps_the_optimizer_state():
    X, y = load_iris(return_X_y=True)
    a = DeltaClassifier(hidden=(8,), epochs=3, random_state=0).fit(X, y)
    b = DeltaClassifier(hidden=(8,), epochs=3, random_state=0)
    for _ in range(3):
        b.partial_fit(X, y, classes=[0, 1, 2])
    assert b.network_.training_state.optimizer.t == a.network_.training_state.optimizer.t
    assert np.array_equal(a.network_.params, b.network_.params)


def test_warm_start_continues_and_cold_start_restarts():
    X, y = load_iris(return_X_y=True)
    warm = DeltaClassifier(hidden=(8,), epochs=2, warm_start=True, random_state=0).fit(X, y).fit(X, y)
    four = DeltaClassifier(hidden=(8,), epochs=4, random_state=0).fit(X, y)
    assert np.array_equal(warm.network_.params, four.network_.params)
    cold = DeltaClassifier(hidden=(8,), epochs=2, random_state=0).fit(X, y).fit(X, y)
    two = DeltaClassifier(hidden=(8,), epochs=2, random_state=0).fit(X, y)
    assert np.array_equal(cold.network_.params, two.network_.params)


def test_early_stopping_on_validation_cost():
    X, y = load_digits(return_X_y=True)
    clf = DeltaClassifier(hidden=(64,), epochs=300, early_stopping=5, random_state=0).fit(X / 16, y)
    assert clf.history_.stopped == "early_stopping" and clf.n_iter_ < 300
    assert clf.history_.best_epoch == int(np.argmin(clf.history_["val_cost"])) + 1


def test_safe_files_and_pickle(tmp_path):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for est, target in ((DeltaClassifier(hidden=(8,), epochs=20, random_state=0), y),
                        (DeltaClassifier(hidden=(8,), epochs=20, random_state=0), y == 1),
                        (DeltaRegressor(hidden=(8,), epochs=20, random_state=0), X[:, 0] * 2)):
        est.fit(X, target)
        path = tmp_path / "est.safetensors"
        dp.save(est, path)
        back = dp.load(path)
        assert type(back) is type(est) and back.get_params() == est.get_params()
        assert np.array_equal(back.predict(X), est.predict(X))
        if hasattr(est, "predict_proba"):
            assert np.array_equal(back.predict_proba(X), est.predict_proba(X))
        assert np.array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))


def test_bad_parameters_are_reported_at_fit():
    X, y = load_iris(return_X_y=True)
    for params, match in [({"hidden": (0,)}, "hidden layer sizes must be >= 1"),
                          ({"activation": "gelu"}, "unknown activation 'gelu'"),
                          ({"activation": ["tanh", "relu"]}, "activation lists 2 names for 1 hidden layers"),
                          ({"optimizer": "nadam"}, "unknown optimizer"),
                          ({"learning_rate": -1.0}, "learning_rate must be a finite number > 0"),
                          ({"epochs": 0}, "epochs must be an int >= 1"),
                          ({"batch_size": 0}, "batch_size must be"),
                          ({"validation_fraction": 1.5}, "validation_fraction must be in"),
                          ({"dtype": "float16"}, "dtype must be"),
                          ({"early_stopping": -2}, "early_stopping must be")]:
        with pytest.raises(ValueError, match=match):
            DeltaClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="takes cost=None or 'squared'"):
        DeltaRegressor(cost="cross_entropy").fit(X, y.astype(float))


@pytest.mark.parametrize("name,loader", [("digits", load_digits), ("wine", load_wine)])
def test_cross_validated_accuracy_matches_sklearn_mlp(name, loader):
    """Comparable settings: one hidden layer of 100 ReLU, Adam at 0.001, batches of min(200, n), 200 epochs;
    scikit-learn's alpha = 1e-4 is divided by the batch size inside its loss, i.e. lambda = 5e-7 here.
    The full comparison (5 seeds x 5 folds, with and without early stopping) is
    benchmarks/sklearn_accuracy.py; this guards against regressions on one seed."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = loader(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(random_state=0)), X, y, cv=cv).mean()
    ours = cross_val_score(make_pipeline(StandardScaler(), DeltaClassifier(weight_decay=5e-7, random_state=0)), X, y,
                           cv=cv).mean()
    assert ours >= theirs - 0.01, (ours, theirs)


# --- scikit-learn's stopping rule: tol and n_iter_no_change ---------------------------------------------


def _replay_sklearn_rule(values, tol, n_iter_no_change):
    """The epoch (1-based) at which scikit-learn's MLP stops on this curve, or None: its
    ``_update_no_improvement_count`` and ``if count > n_iter_no_change: break``, transcribed."""
    best, count = np.inf, 0
    for epoch, value in enumerate(values, start=1):
        count = count + 1 if value > best - tol else 0
        best = min(best, value)
        if count > n_iter_no_change:
            return epoch
    return None


def test_fit_stops_when_the_training_cost_stops_improving_by_tol():
    from sklearn.exceptions import ConvergenceWarning

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a converged fit does not warn
        clf = DeltaClassifier(hidden=(16,), learning_rate=0.01, epochs=2000, tol=1e-3, n_iter_no_change=5,
                              random_state=0).fit(X, y)
    assert clf.n_iter_ < 2000 and clf.history_.stopped == "converged" and clf.score(X, y) > 0.95
    assert _replay_sklearn_rule(clf.loss_curve_, 1e-3, 5) == clf.n_iter_ == len(clf.loss_curve_)
    # the default tol stops too, later
    clf2 = DeltaClassifier(hidden=(16,), learning_rate=0.01, epochs=2000, random_state=0).fit(X, y)
    assert clf.n_iter_ < clf2.n_iter_ < 2000 and _replay_sklearn_rule(clf2.loss_curve_, 1e-4, 10) == clf2.n_iter_


def test_no_tolerance_runs_every_epoch_and_warns_as_sklearn_does():
    from sklearn.exceptions import ConvergenceWarning

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for params in ({"tol": 0.0, "n_iter_no_change": 60}, {"n_iter_no_change": np.inf}):
        with pytest.warns(ConvergenceWarning, match=r"maximum iterations \(epochs=60\) reached"):
            clf = DeltaClassifier(hidden=(16,), learning_rate=0.01, epochs=60, random_state=0, **params).fit(X, y)
        assert clf.n_iter_ == 60 and clf.history_.stopped == "epochs"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for _ in range(3):  # one epoch each: no stopping rule, no warning
            clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 63


def test_tol_applies_to_lbfgs_iterations_and_to_the_regressor():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = DeltaClassifier(hidden=(8,), optimizer="lbfgs", epochs=500, tol=1e-2, n_iter_no_change=3,
                          random_state=0).fit(X, y)
    assert clf.history_.stopped == "converged" and _replay_sklearn_rule(clf.loss_curve_, 1e-2, 3) == clf.n_iter_ < 500
    reg = DeltaRegressor(hidden=(8,), learning_rate=0.01, epochs=1000, tol=1e-3, n_iter_no_change=4,
                         random_state=0).fit(X[:, :3], X[:, 3])
    assert reg.history_.stopped == "converged" and _replay_sklearn_rule(reg.loss_curve_, 1e-3, 4) == reg.n_iter_ < 1000


def test_early_stopping_true_watches_the_validation_cost_with_tol_and_n_iter_no_change():
    X, y = load_digits(return_X_y=True)
    clf = DeltaClassifier(hidden=(64,), epochs=300, early_stopping=True, tol=1e-3, n_iter_no_change=4,
                          random_state=0).fit(X / 16, y)
    val = clf.history_["val_cost"]
    assert clf.history_.stopped == "early_stopping" and _replay_sklearn_rule(val, 1e-3, 4) == clf.n_iter_ < 300
    assert clf.history_.best_epoch == int(np.argmin(val)) + 1  # the best epoch's parameters are back
    patient = DeltaClassifier(hidden=(64,), epochs=300, early_stopping=8, tol=1e-3, n_iter_no_change=4,
                              random_state=0).fit(X / 16, y)
    assert _replay_sklearn_rule(patient.history_["val_cost"], 1e-3, 8) == patient.n_iter_ > clf.n_iter_


def test_n_iter_counts_the_epochs_of_the_last_call():
    X, y = load_iris(return_X_y=True)
    est = DeltaClassifier(hidden=(8,), epochs=7, tol=0.0, n_iter_no_change=50, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y).fit(X, y)
    assert est.n_iter_ == 7 and len(est.loss_curve_) == 14


def test_verbose_says_why_it_stopped(capsys):
    X, y = load_iris(return_X_y=True)
    DeltaClassifier(hidden=(8,), learning_rate=0.01, epochs=3000, tol=1e-2, n_iter_no_change=2, verbose=1,
                    random_state=0).fit(StandardScaler().fit_transform(X), y)
    assert "Training loss did not improve more than tol=0.010000 for 2 consecutive epochs. Stopping." in \
        capsys.readouterr().out


def test_bad_stopping_parameters_are_reported_at_fit(tmp_path):
    X, y = load_iris(return_X_y=True)
    for params, match in [({"tol": -1e-3}, "tol must be a number >= 0"), ({"tol": "small"}, "tol must be"),
                          ({"n_iter_no_change": 0}, "n_iter_no_change must be an int >= 1 or numpy.inf"),
                          ({"n_iter_no_change": 2.5}, "n_iter_no_change must be"),
                          ({"early_stopping": "yes"}, "early_stopping must be None/False, True")]:
        with pytest.raises(ValueError, match=match):
            DeltaClassifier(**params).fit(X, y)
    est = DeltaClassifier(hidden=(4,), epochs=2, n_iter_no_change=np.inf, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    dp.save(est, tmp_path / "inf.safetensors")  # JSON has no infinity: stored as "inf" and read back
    assert dp.load(tmp_path / "inf.safetensors").get_params()["n_iter_no_change"] == np.inf


# --- partial_fit speaks scikit-learn's messages -----------------------------------------------------------


def _message(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_partial_fit_errors_are_scikit_learns():
    from sklearn.neural_network import MLPClassifier

    X, y = load_iris(return_X_y=True)
    ours, theirs = DeltaClassifier(hidden=(4,)), MLPClassifier(hidden_layer_sizes=(4,))
    first = "classes must be passed on the first call to partial_fit."
    assert _message(lambda: ours.partial_fit(X, y)) == _message(lambda: theirs.partial_fit(X, y)) == first
    assert not hasattr(ours, "network_")
    ours.partial_fit(X[:20], y[:20], classes=[0, 1, 2])
    theirs.partial_fit(X[:20], y[:20], classes=[0, 1, 2])
    assert _message(lambda: ours.partial_fit(X, y, classes=[0, 1])) == \
        _message(lambda: theirs.partial_fit(X, y, classes=[0, 1]))
    y_new = np.where(y == 2, 7, y)
    assert _message(lambda: ours.partial_fit(X, y_new)) == _message(lambda: theirs.partial_fit(X, y_new))
    ours.partial_fit(X, y, classes=np.array([2, 0, 1]))  # the same classes, in any order


def test_partial_fit_starts_on_a_batch_of_one_class_when_classes_are_given():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    order = np.argsort(y, kind="stable")  # the first batch is all class 0
    clf = DeltaClassifier(hidden=(8,), learning_rate=0.01, random_state=0)
    clf.partial_fit(X[order[:30]], y[order[:30]], classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict_proba(X).shape == (150, 3)
    binary = DeltaClassifier(hidden=(8,), random_state=0).partial_fit(X[:10], y[:10] == 1, classes=[False, True])
    assert binary.network_.n_outputs == 1 and binary.predict_proba(X).shape == (150, 2)
    for _ in range(100):
        clf.partial_fit(X, y)
    assert clf.score(X, y) > 0.9
    Xm, Ym = make_multilabel_classification(n_samples=50, n_classes=4, random_state=0)
    multi = DeltaClassifier(hidden=(8,), random_state=0).partial_fit(Xm, Ym, classes=[0, 1, 2, 3])
    assert multi.predict(Xm).shape == (50, 4)
    with pytest.raises(ValueError, match="classes=.* names 3 labels, but the multilabel y has 4 columns"):
        DeltaClassifier().partial_fit(Xm, Ym, classes=[0, 1, 2])
