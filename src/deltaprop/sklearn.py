"""scikit-learn estimators: ``DeltaClassifier`` and ``DeltaRegressor``.

Thin shells: they validate with scikit-learn's own helpers, build a
``Network.layered`` and call :func:`deltaprop.train`. What they add to scikit-learn's
MLP: an activation per hidden layer (or a registered custom one), early stopping on
the validation *cost*, ``partial_fit`` and ``warm_start`` that keep the optimizer's
state, every optimizer of deltaprop (L-BFGS, Rprop, AdamW, ...), and safe model files
(``dp.save``/``dp.load``; pickling also works, as scikit-learn requires). What they take
from it: sparse X (CSR/CSC, never densified), the ``tol``/``n_iter_no_change`` stopping
rule with its ``ConvergenceWarning``, and its ``partial_fit`` messages. ``fit`` and ``predict``
also take dask arrays and DataFrames (``pip install "deltaprop[distributed]"``): recognised
before scikit-learn's checks, trained full batch on the cluster, predicted block by block.

Needs scikit-learn (``pip install 'deltaprop[datasets]'``).
"""

from __future__ import annotations

import copy
import math
import numbers
import sys
import warnings

import numpy as np
import scipy.sparse as sp

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover
    raise ImportError(
        "deltaprop.sklearn needs scikit-learn >= 1.6: pip install 'deltaprop[datasets]' (or pip install scikit-learn)"
    ) from exc

from .core import Network, get_activation
from .core.checks import as_sample_weight
from .io import FileFormatError, register_kind
from .io.modelfile import clean, network_record
from .model import Model
from .train import Callback, History, get_optimizer, train

__all__ = ["DeltaClassifier", "DeltaRegressor"]


# --- dask collections (``pip install "deltaprop[distributed]"``), recognised without importing dask ----------


def is_dask_collection(X) -> bool:
    """Whether X is a dask array, DataFrame or Series."""
    return hasattr(X, "__dask_graph__") and hasattr(X, "to_delayed")


def current_client():
    """The ``distributed.Client`` the caller made current, or None (then training starts an embedded cluster)."""
    try:
        import distributed

        return distributed.default_client()
    except (ImportError, ValueError):  # no distributed, or no client made yet
        return None


def dask_features(X) -> tuple[int, np.ndarray | None]:
    """X's number of columns and, for a DataFrame of string column names, the names (scikit-learn's rule)."""
    if hasattr(X, "divisions") and X.ndim == 2:  # a dask DataFrame
        names = [c for c in X.columns]
        return len(names), (np.asarray(names, dtype=object) if names and all(isinstance(c, str) for c in names)
                            else None)
    if getattr(X, "ndim", None) != 2:
        raise ValueError(f"X must be a 2-D dask array or a dask DataFrame of shape (n_samples, n_features), got "
                         f"{type(X).__name__}" + (f" of {X.ndim} dimension(s)" if hasattr(X, "ndim") else ""))
    return int(X.shape[1]), None


def n_columns(Y) -> int:
    """Columns of a 2-D dask array or a dask DataFrame."""
    return len(Y.columns) if hasattr(Y, "divisions") else int(Y.shape[1])


def one_column(y, name: str):
    """A dask array of shape (n,) or (n, 1), a Series or a one-column DataFrame as a 1-D collection."""
    if hasattr(y, "divisions"):
        if y.ndim == 2:
            if len(y.columns) != 1:
                raise ValueError(f"{name}: y has {len(y.columns)} columns; on dask collections it takes one column "
                                 "of labels (multilabel y is not supported there)")
            return y[y.columns[0]]
        return y
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: y has shape {y.shape}; on dask collections it takes one column of labels "
                         "(multilabel y is not supported there)")
    return y


def binarize_block(labels, binarizer):
    """Runs on a worker: one block of labels as the network's target rows, float64."""
    return binarizer.transform(np.asarray(labels)).astype(np.float64)


def binarize_partition(labels, binarizer, names):
    """Runs on a worker: one partition (a pandas Series) of labels as a DataFrame of target rows."""
    import pandas as pd

    return pd.DataFrame(binarize_block(labels, binarizer), columns=names, index=labels.index)


class _Verbose(Callback):
    """Prints one line per epoch when ``verbose`` (the estimator, not the library, prints)."""

    def on_epoch_end(self, run, epoch, record):
        extra = "" if record["val_cost"] is None else f", validation cost = {record['val_cost']:.8f}"
        print(f"Epoch {epoch}, cost = {record['cost']:.8f}{extra}")


class _NoImprovement(Callback):
    """scikit-learn's MLP stopping rule (its ``_update_no_improvement_count``), after every epoch.

    An epoch improves when the watched cost (``"cost"``, the training cost, or ``"val_cost"``)
    is lower than the best so far by more than ``tol``; after more than ``n_iter_no_change``
    epochs in a row without improvement, training stops. The count starts afresh with each call.
    """

    def __init__(self, watch: str, tol: float, n_iter_no_change: float, verbose: bool):
        self.watch, self.tol, self.n_iter_no_change, self.verbose = watch, tol, n_iter_no_change, verbose
        self.best = math.inf
        self.count = 0
        self.fired = False

    def on_epoch_end(self, run, epoch, record):
        value = record[self.watch]
        if value > self.best - self.tol:  # not better by at least tol (scikit-learn's test, verbatim)
            self.count += 1
        else:
            self.count = 0
        self.best = min(self.best, value)
        if self.count > self.n_iter_no_change:
            self.fired = True
            run.stop_training = True
            if self.verbose:  # the estimator, not the library, prints (scikit-learn's verbose)
                what = "Validation cost" if self.watch == "val_cost" else "Training loss"
                print(f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive "
                      "epochs. Stopping.")


class _DeltaEstimator(BaseEstimator):
    """Shared parameters, validation and training of the two estimators."""

    def __init__(
        self,
        hidden=(100,),
        activation="relu",
        *,
        cost=None,
        optimizer="adam",
        learning_rate=None,
        batch_size="auto",
        epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        weight_decay=1e-4,
        early_stopping=None,
        validation_fraction=0.1,
        random_state=None,
        dtype="float64",
        verbose=0,
        warm_start=False,
    ):
        self.hidden = hidden
        self.activation = activation
        self.cost = cost
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.warm_start = warm_start

    # --- the one table of parameter checks, run in fit ------------------------------------

    def _check_params(self):
        hidden = self.hidden
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        try:
            hidden = tuple(int(h) for h in hidden)
        except (TypeError, ValueError):
            raise ValueError(f"hidden must be a sequence of layer sizes such as (100,), got {self.hidden!r}") from None
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden layer sizes must be >= 1, got {self.hidden!r}")
        acts = [self.activation] * len(hidden) if isinstance(self.activation, str) else list(self.activation)
        if len(acts) != len(hidden):
            raise ValueError(f"activation lists {len(acts)} names for {len(hidden)} hidden layers")
        for a in acts:
            if get_activation(a).output_only:
                raise ValueError(f"activation {a!r} may only be used on outputs")
        # raises for a bad name or rate; never changes an optimizer object the caller passed in
        get_optimizer(self.optimizer if isinstance(self.optimizer, str) else copy.deepcopy(self.optimizer),
                      self.learning_rate)
        checks = [
            (self.batch_size == "auto" or self.batch_size is None
             or (isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1),
             "batch_size must be 'auto', None (full batch) or an int >= 1"),
            (isinstance(self.epochs, numbers.Integral) and not isinstance(self.epochs, bool) and self.epochs >= 1,
             "epochs must be an int >= 1"),
            (isinstance(self.tol, numbers.Real) and not isinstance(self.tol, bool) and self.tol >= 0,
             "tol must be a number >= 0"),
            ((isinstance(self.n_iter_no_change, numbers.Integral) and not isinstance(self.n_iter_no_change, bool)
              and self.n_iter_no_change >= 1) or self.n_iter_no_change == np.inf,
             "n_iter_no_change must be an int >= 1 or numpy.inf"),
            (isinstance(self.weight_decay, numbers.Real) and 0 <= self.weight_decay < np.inf,
             "weight_decay must be a finite number >= 0"),
            (self.early_stopping is None or isinstance(self.early_stopping, (bool, np.bool_))
             or (isinstance(self.early_stopping, numbers.Integral) and self.early_stopping >= 1),
             "early_stopping must be None/False, True (patience n_iter_no_change) or a patience (an int >= 1)"),
            (isinstance(self.validation_fraction, numbers.Real) and 0 < self.validation_fraction < 1,
             "validation_fraction must be in (0, 1)"),
            (self.dtype in ("float32", "float64", np.float32, np.float64), "dtype must be 'float32' or 'float64'"),
            (self.cost in (None, "squared", "cross_entropy", "cross-entropy"),
             "cost must be None (the default for the task), 'squared' or 'cross_entropy'"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message}; got {type(self).__name__}({self._param_repr(message)})")
        return hidden, acts

    def _param_repr(self, message):
        name = message.split(" ")[0]
        return f"{name}={getattr(self, name, None)!r}"

    # --- fitting -----------------------------------------------------------------------------

    def _build(self, n_features, n_outputs, output, cost, hidden, acts):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._seed = int(seed)
        return Network.layered([n_features, *hidden, n_outputs], hidden=acts, output=output, cost=cost,
                               weight_decay=float(self.weight_decay), dtype=np.dtype(self.dtype).name, seed=self._seed)

    def _patience(self, n):
        """Epochs without improvement that early stopping tolerates, or None when it is off."""
        es = self.early_stopping
        if es is None or es is False or (n is not None and n < 10):  # too few examples to hold any out (n None: on dask)
            return None
        return self.n_iter_no_change if es is True else int(es)

    def _train(self, X, Y, sample_weight, epochs, first_call, partial, *, on_dask=False, client=None):
        net = self.network_
        n = None if on_dask else X.shape[0]  # on dask: full batch; early stopping's rows are held out on the workers
        batch = self.batch_size
        if get_optimizer(self.optimizer).full_batch or batch is None or on_dask:
            batch = None
        elif batch == "auto":
            batch = min(200, n)
        patience = self._patience(n)
        callbacks = [_Verbose()] if self.verbose else []
        stopper = None
        if not partial:  # partial_fit is one epoch, as scikit-learn's: no stopping rule
            # scikit-learn's rule decides when to stop. With early stopping, deltaprop's own (a strict
            # decrease within patience + 1 epochs, which with tol > 0 never fires before this rule)
            # keeps and restores the parameters of the epoch with the lowest validation cost.
            stopper = _NoImprovement("cost" if patience is None else "val_cost", float(self.tol),
                                     self.n_iter_no_change if patience is None else patience, bool(self.verbose))
            callbacks.append(stopper)
        keep_best = None if patience is None else (sys.maxsize if patience == np.inf else int(patience) + 1)
        state = None if first_call else net.training_state
        before = 0 if state is None else len(state.history)
        history = train(
            net, X, Y, optimizer=self.optimizer, learning_rate=self.learning_rate, batch_size=batch, epochs=epochs,
            shuffle=True, seed=self._seed, validation_split=self.validation_fraction if patience else None,
            early_stopping=keep_best, sample_weight=sample_weight, callbacks=callbacks, metric=None,
            warm_start=not first_call, client=client,
        )
        if stopper is not None and stopper.fired:
            history.stopped = "converged" if patience is None else "early_stopping"
        self.history_ = history
        self.loss_curve_ = list(history["cost"])
        self.n_iter_ = len(history) - before  # epochs run by this call, as scikit-learn counts
        if stopper is not None and history.stopped == "epochs":
            warnings.warn(f"{type(self).__name__}: maximum iterations (epochs={epochs}) reached and the optimization "
                          f"hasn't converged yet (tol={self.tol:g}, n_iter_no_change={self.n_iter_no_change}).",
                          ConvergenceWarning, stacklevel=5 if on_dask else 4)
        return self

    def _prepare(self, X, y, reset):
        if sp.issparse(y):
            raise ValueError(f"y is a sparse {y.format.upper()} matrix; {type(self).__name__} needs dense targets "
                             "(convert them with y.toarray())")
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, dtype=[np.float64, np.float32],
                             accept_sparse=["csr", "csc"], y_numeric=isinstance(self, RegressorMixin))
        return X, y

    def _sample_weight(self, sample_weight, n):
        if sample_weight is None:
            return None
        return as_sample_weight(np.asarray(sample_weight, dtype=np.float64), n_rows=n, dtype=np.float64)

    def _fit(self, X, y, sample_weight, *, partial, classes=None):
        first = not (partial or self.warm_start) or not hasattr(self, "network_")
        hidden, acts = self._check_params()
        if is_dask_collection(X) or is_dask_collection(y):  # before scikit-learn's checks pull the data here
            return self._fit_dask(X, y, sample_weight, first=first, partial=partial, hidden=hidden, acts=acts)
        X, y = self._prepare(X, y, reset=first)
        sample_weight = self._sample_weight(sample_weight, X.shape[0])
        Y = self._targets(y, first, classes)
        if first:
            output, cost = self._output_and_cost()
            self.network_ = self._build(X.shape[1], Y.shape[1], output, cost, hidden, acts)
        X = X.astype(self.network_.dtype, copy=False)
        return self._train(X, Y, sample_weight, 1 if partial else self.epochs, first, partial)

    # --- dask collections: trained on the cluster, predicted partition by partition -----------------

    def _fit_dask(self, X, y, sample_weight, *, first, partial, hidden, acts):
        """Full-batch training of X, y held on a Dask cluster, through :func:`deltaprop.train`'s dask path."""
        name = type(self).__name__
        if partial:
            raise ValueError(f"{name}.partial_fit takes in-memory X; for dask collections use fit (full batch on "
                             "the cluster)")
        if not (is_dask_collection(X) and is_dask_collection(y)):
            which = "X" if is_dask_collection(X) else "y"
            raise ValueError(f"{which} is a dask collection, so X and y must both be (got {type(X).__name__} and "
                             f"{type(y).__name__}); split them alike by rows")
        if sample_weight is not None and not is_dask_collection(sample_weight):
            raise ValueError(f"sample_weight must be a dask array split like X when X is one, got "
                             f"{type(sample_weight).__name__}")
        opt = get_optimizer(self.optimizer if isinstance(self.optimizer, str) else copy.deepcopy(self.optimizer))
        if not (opt.full_batch or self.optimizer == "gd" or self.batch_size is None):
            raise ValueError(f"optimizer={self.optimizer!r}: fit on dask collections trains full batch (one reduction "
                             "over the cluster per step); use optimizer='lbfgs', 'rprop' or 'gd' (or batch_size=None)")
        n_features, names = dask_features(X)
        if first:
            self.n_features_in_ = n_features
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif n_features != self.n_features_in_:
            raise ValueError(f"X has {n_features} features, but {name} is expecting {self.n_features_in_} features "
                             "as input.")
        Y = self._dask_targets(y, first)
        if first:
            output, cost = self._output_and_cost()
            self.network_ = self._build(n_features, n_columns(Y), output, cost, hidden, acts)
        return self._train(X, Y, sample_weight, self.epochs, first, partial, on_dask=True, client=current_client())

    def _forward_dask(self, X, fn, n_columns: int | None, dtype):
        """``fn`` (predict or predict_proba) mapped over X's row blocks: a lazy dask array."""
        import dask
        import dask.array as da

        check_is_fitted(self, "network_")
        n_features, _ = dask_features(X)
        if n_features != self.n_features_in_:
            raise ValueError(f"X has {n_features} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        if hasattr(X, "divisions"):  # a dask DataFrame: each partition keeps its column names for fn's checks
            shape = (np.nan,) if n_columns is None else (np.nan, n_columns)
            blocks = [da.from_delayed(dask.delayed(fn)(part), shape=shape, dtype=dtype) for part in X.to_delayed()]
            return da.concatenate(blocks, axis=0)
        X = X.rechunk({1: -1})
        if n_columns is None:
            return X.map_blocks(fn, dtype=dtype, drop_axis=1)
        return X.map_blocks(fn, dtype=dtype, chunks=(X.chunks[0], (n_columns,)))

    def _forward(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32], accept_sparse=["csr", "csc"])
        return self.network_.predict(X.astype(self.network_.dtype, copy=False)).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags

    def _set_fitted(self, fitted: dict, net: Network, history: dict | None, path: str) -> None:
        """Put back what :meth:`_fitted_record` stored, on a network read from ``path``."""
        self.network_ = net
        self.n_features_in_ = int(fitted["n_features_in_"])
        if self.n_features_in_ != net.n_inputs:
            raise FileFormatError(f"{path}: the estimator expects {self.n_features_in_} features, its network "
                                  f"{net.n_inputs}")
        self._seed = int(fitted.get("seed", 0))
        if "feature_names_in_" in fitted:
            self.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        self._set_fitted_outputs(fitted, net, path)
        if history:
            self.history_ = History.from_dict(history)
            self.loss_curve_ = list(self.history_["cost"])
            self.n_iter_ = len(self.history_)

    def _fitted_record(self):
        record = {"n_features_in_": int(self.n_features_in_), "seed": getattr(self, "_seed", 0)}
        if hasattr(self, "feature_names_in_"):
            record["feature_names_in_"] = [str(n) for n in self.feature_names_in_]
        return record


class DeltaClassifier(ClassifierMixin, _DeltaEstimator):
    """A feed-forward classifier trained by deltaprop's backpropagation.

    Multi-class targets get softmax outputs, binary targets one sigmoid output, and
    multilabel indicator targets one sigmoid per label, all with cross-entropy.

    X may be dense or a SciPy sparse matrix or array (CSR or CSC; other formats are
    converted to CSR), in ``fit``, ``partial_fit``, ``predict``, ``predict_proba`` and
    ``score``, as scikit-learn's ``MLPClassifier`` takes it (a ``OneHotEncoder`` in a
    ``ColumnTransformer`` makes one). It is never densified: the first layer computes
    z(2) = X W(1)^T + b and dW(1) = delta(2)^T X as sparse-times-dense products, each
    minibatch gathers its rows, and the result equals the dense computation to rounding
    (1e-12 in float64). Integer X is converted to float64; y must be dense.

    Parameters
    ----------
    hidden : tuple of int, default (100,)
        Units per hidden layer.
    activation : str or list of str, default "relu"
        One activation for every hidden layer, or one per layer (any registered name).
    cost : {None, "cross_entropy", "squared"}, default None
        None is cross-entropy.
    optimizer : str, default "adam"
        Any of deltaprop's: sgd, momentum, nesterov, adam, adamw, rprop, lbfgs.
    learning_rate : float, optional
        Default: the optimizer's (adam 0.001).
    batch_size : int, None or "auto", default "auto"
        "auto" is min(200, n_samples) like scikit-learn; None the full batch.
    epochs : int, default 200
        The most epochs (L-BFGS: iterations) a ``fit`` runs: scikit-learn's ``max_iter``.
        Reaching it before the stopping rule fires issues a ``ConvergenceWarning``, as
        scikit-learn does.
    tol : float, default 1e-4
        scikit-learn's stopping rule: an epoch improves when it lowers the watched cost
        (the training cost, or with ``early_stopping`` the validation cost) by more than
        ``tol`` below the best so far; ``fit`` stops once more than ``n_iter_no_change``
        epochs in a row have not improved. ``tol=0`` with ``n_iter_no_change=numpy.inf``
        (or ``>= epochs``) runs every epoch. ``partial_fit`` (one epoch) ignores it.
    n_iter_no_change : int or numpy.inf, default 10
        Epochs without improvement by ``tol`` that the rule tolerates (scikit-learn's
        meaning: the stop comes at the (n_iter_no_change + 1)-th such epoch in a row).
    weight_decay : float, default 1e-4
        lambda in + lambda/2 sum W^2 (never the biases).
    early_stopping : bool or int, optional
        Hold out ``validation_fraction`` of the data and watch the *validation cost*
        (scikit-learn's MLP watches the validation score) with the rule of ``tol``;
        ``True`` tolerates ``n_iter_no_change`` epochs, an int that many instead. At
        the end, the parameters of the epoch with the lowest validation cost are restored.
        On dask collections the held-out rows are drawn on the workers, each row of
        partition k with probability ``validation_fraction`` (a generator seeded from
        ``random_state`` and k), so the share is that fraction in expectation.
    validation_fraction : float, default 0.1
        Held out for early stopping.
    random_state : int, RandomState or None
    dtype : {"float64", "float32"}, default "float64"
    verbose : int, default 0
        Print one line per epoch.
    warm_start : bool, default False
        ``fit`` continues from the current parameters and the optimizer's state.

    Attributes
    ----------
    network_ : Network
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    history_ : History
        ``history_.stopped`` says why the last call ended: ``"converged"`` (the ``tol``
        rule on the training cost), ``"early_stopping"``, ``"epochs"``.
    loss_curve_ : list of float
        Training cost per epoch (across ``warm_start`` fits and ``partial_fit`` calls).
    n_iter_ : int
        Epochs run by the last ``fit`` (or ``partial_fit``: 1), as scikit-learn counts.
    output_kind_ : {"binary", "multiclass", "multilabel"}
        How the outputs read: one sigmoid unit, softmax units, or one sigmoid per label.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.sklearn import DeltaClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DeltaClassifier(hidden=(16,), learning_rate=0.01, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    def _output_and_cost(self):
        cost = "cross_entropy" if self.cost in (None, "cross-entropy") else self.cost
        return ("sigmoid" if self.output_kind_ != "multiclass" else "softmax"), cost

    def _targets(self, y, first, classes):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if first:
            check_classification_targets(y)
            kind = type_of_target(y)
            lb = LabelBinarizer()
            if classes is not None and kind == "multilabel-indicator" and len(unique_labels(classes)) != y.shape[1]:
                raise ValueError(f"classes={classes!r} names {len(unique_labels(classes))} labels, but the multilabel "
                                 f"y has {y.shape[1]} columns")
            lb.fit(classes if classes is not None and kind != "multilabel-indicator" else y)
            if len(lb.classes_) < 2 and kind != "multilabel-indicator":
                label = lb.classes_[0].item() if hasattr(lb.classes_[0], "item") else lb.classes_[0]
                raise ValueError(f"the target has only one class ({label!r}); a classifier needs at least two")
            self._label_binarizer = lb
            self.classes_ = lb.classes_
            self.output_kind_ = "multilabel" if kind == "multilabel-indicator" else (
                "binary" if len(lb.classes_) == 2 else "multiclass")
        if self.output_kind_ != "multilabel":
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if unseen.size:  # scikit-learn's MLPClassifier's message
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {unique_labels(y)}.")
        return self._label_binarizer.transform(y).astype(np.float64)

    def _dask_targets(self, y, first):
        """The one-hot targets of labels held on the cluster, the classes found in one distributed pass."""
        import dask.array as da

        y = one_column(y, type(self).__name__)
        seen = np.sort(np.asarray((y.unique() if hasattr(y, "divisions") else da.unique(y)).compute()))
        if first:
            check_classification_targets(seen)
            lb = LabelBinarizer().fit(seen)
            if len(lb.classes_) < 2:
                label = lb.classes_[0].item() if hasattr(lb.classes_[0], "item") else lb.classes_[0]
                raise ValueError(f"the target has only one class ({label!r}); a classifier needs at least two")
            self._label_binarizer = lb
            self.classes_ = lb.classes_
            self.output_kind_ = "binary" if len(lb.classes_) == 2 else "multiclass"
        unseen = np.setdiff1d(seen, self.classes_)
        if unseen.size:  # scikit-learn's MLPClassifier's message
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                             f"'y' has {seen}.")
        lb = self._label_binarizer
        k = 1 if self.output_kind_ == "binary" else len(self.classes_)
        if hasattr(y, "divisions"):
            names = [f"y={c}" for c in self.classes_] if k > 1 else [f"y={self.classes_[1]}"]
            return y.map_partitions(binarize_partition, lb, names, meta={n: np.float64 for n in names})
        return y.map_blocks(binarize_block, lb, dtype=np.float64, chunks=(y.chunks[0], (k,)), new_axis=1)

    def fit(self, X, y, sample_weight=None):
        """Train on X of shape (n_samples, n_features), dense or sparse, and labels y; returns self.

        X and y may be dask collections (a 2-D dask array or a dask DataFrame; y a 1-D dask array,
        Series or one-column DataFrame, split like X): they are recognised before scikit-learn's
        checks, which would pull the data here, and trained full batch on the cluster through
        :func:`deltaprop.train` (``optimizer`` 'lbfgs', 'rprop' or 'gd'), on the current
        ``distributed.Client`` or, with none, an embedded local cluster. The classes come from one
        distributed pass over y; the result equals ``fit`` on the same rows in memory up to rounding.
        """
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on (X, y), continuing the parameters and the optimizer's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,)
            Every label of the whole data, as in scikit-learn: required on the first call
            (unless ``fit`` came first), optional afterwards, where it must name the same
            classes. A batch need not show them all (one class is fine).
            For multilabel y, the label indices ``0..n_labels-1``.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            ``classes must be passed on the first call to partial_fit.``, ``classes=``
            differing from the first call's, or labels outside the classes: scikit-learn's
            messages.
        """
        known = getattr(self, "classes_", None) if hasattr(self, "network_") else None
        if known is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")  # scikit-learn's words
        if known is not None and classes is not None and not np.array_equal(known, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {known!r}")
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (multilabel: one column per label);
        X dense or sparse, of shape (n_samples, n_features).

        For X a dask array or DataFrame, a lazy dask array of the same shape, computed partition
        by partition on the workers (``.compute()`` brings it here)."""
        if is_dask_collection(X):
            return self._forward_dask(X, self.predict_proba, len(self.classes_), np.float64)
        h = self._forward(X)
        if self.output_kind_ == "binary":
            return np.hstack([1 - h, h])
        return h

    def predict(self, X):
        """Labels, shape (n_samples,) (multilabel: an indicator matrix); X dense or sparse.

        For X a dask array or DataFrame, a lazy dask array of shape (n_samples,), computed
        partition by partition on the workers."""
        if is_dask_collection(X):
            check_is_fitted(self, "network_")
            multilabel = self.output_kind_ == "multilabel"
            return self._forward_dask(X, self.predict, len(self.classes_) if multilabel else None,
                                      int if multilabel else self.classes_.dtype)
        h = self._forward(X)
        if self.output_kind_ == "multilabel":
            return (h > 0.5).astype(int)
        if self.output_kind_ == "binary":
            return self.classes_[(h[:, 0] > 0.5).astype(int)]
        return self.classes_[h.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _set_fitted_outputs(self, fitted, net, path):
        kind = fitted["kind"]
        classes = fitted["classes_"]
        if kind not in ("binary", "multiclass", "multilabel") or not isinstance(classes, list):
            raise FileFormatError(f"{path}: the classifier record has kind {kind!r}; expected binary, multiclass "
                                  "or multilabel with a list of classes")
        want = {"binary": 1, "multiclass": len(classes), "multilabel": len(classes)}[kind]
        if (kind == "binary") != (len(classes) == 2) or len(classes) < 2 or net.n_outputs != want:
            raise FileFormatError(f"{path}: a {kind} classifier with {len(classes)} classes cannot have "
                                  f"{net.n_outputs} output units")
        out = net.layout.activations[net.layout.outputs[-1][0]].name
        if out != ("softmax" if kind == "multiclass" else "sigmoid"):
            raise FileFormatError(f"{path}: a {kind} classifier's outputs must be "
                                  f"{'softmax' if kind == 'multiclass' else 'sigmoid'}, got {out!r}")
        self.classes_ = np.asarray(classes)
        self.output_kind_ = kind
        lb = LabelBinarizer()
        lb.fit(self.classes_ if kind != "multilabel" else np.eye(len(self.classes_), dtype=int))
        self._label_binarizer = lb

    def _fitted_record(self):
        record = super()._fitted_record()
        record["classes_"] = self.classes_.tolist()
        record["kind"] = self.output_kind_
        return record


class DeltaRegressor(RegressorMixin, _DeltaEstimator):
    """A feed-forward regressor trained by deltaprop's backpropagation: identity outputs, squared cost.

    Parameters are those of :class:`DeltaClassifier` (``cost`` must be None or "squared"),
    ``tol``/``n_iter_no_change`` included (on the squared cost); X may be sparse (CSR or
    CSC) as there. Multi-output targets (y of shape (n_samples, n_outputs)) get one output
    unit each.
    Besides the classifier's attributes it has ``target_1d_`` (whether y was 1-D) and
    ``output_kind_ = "regression"``.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop.sklearn import DeltaRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1); y = X[:, 0] ** 2
    >>> reg = DeltaRegressor(hidden=(20,), activation="tanh", learning_rate=0.01, epochs=500, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.9
    True
    """

    def _output_and_cost(self):
        if self.cost not in (None, "squared"):
            raise ValueError(f"DeltaRegressor takes cost=None or 'squared', got {self.cost!r}")
        return "identity", "squared"

    def _targets(self, y, first, classes):
        y = np.asarray(y, dtype=np.float64)
        if first:
            self.target_1d_ = y.ndim == 1
            self.output_kind_ = "regression"
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _dask_targets(self, y, first):
        """The targets held on the cluster as a 2-D collection of float64 (no pass over the data)."""
        one_d = y.ndim == 1
        if first:
            self.target_1d_ = one_d
            self.output_kind_ = "regression"
        if hasattr(y, "divisions"):
            return (y.to_frame() if one_d else y).astype(np.float64)
        return (y[:, None] if one_d else y).astype(np.float64)

    def fit(self, X, y, sample_weight=None):
        """Train on X of shape (n_samples, n_features), dense or sparse, and y of shape (n_samples,) or
        (n_samples, n_outputs); returns self.

        X and y may be dask collections, trained full batch on the cluster as
        :meth:`DeltaClassifier.fit` describes."""
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), continuing the parameters and the optimizer's state."""
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X):
        """Predictions, shape (n_samples,) or (n_samples, n_outputs); X dense or sparse.

        For X a dask array or DataFrame, a lazy dask array of that shape, computed partition by
        partition on the workers."""
        if is_dask_collection(X):
            check_is_fitted(self, "network_")
            return self._forward_dask(X, self.predict, None if self.target_1d_ else self.network_.n_outputs,
                                      np.float64)
        h = self._forward(X)
        return h[:, 0] if self.target_1d_ else h

    def _set_fitted_outputs(self, fitted, net, path):
        if net.layout.activations[net.layout.outputs[-1][0]].name != "identity":
            raise FileFormatError(f"{path}: a regressor's outputs must be identity units")
        self.target_1d_ = bool(fitted["y_1d"])
        if self.target_1d_ and net.n_outputs != 1:
            raise FileFormatError(f"{path}: a regressor of 1-D targets cannot have {net.n_outputs} outputs")
        self.output_kind_ = "regression"

    def _fitted_record(self):
        record = super()._fitted_record()
        record["y_1d"] = bool(self.target_1d_)
        return record


# --- safe files: the "estimator" record kind, registered with deltaprop.io -------------------


_INFINITE_OK = ("tol", "n_iter_no_change")  # parameters that may be numpy.inf, stored as the string "inf"


def _storable(name, value):
    """A parameter as the file stores it: tuples as lists, dtypes by name, optimizers by name,
    an infinite ``tol`` or ``n_iter_no_change`` as "inf" (JSON has no infinity)."""
    if name in _INFINITE_OK and isinstance(value, numbers.Real) and value == np.inf:
        return "inf"
    if isinstance(value, tuple):
        return list(value)
    if name == "dtype":
        return np.dtype(value).name  # np.float32 (a type) is stored as "float32"
    if name == "optimizer" and not isinstance(value, str):
        return value.name  # its hyperparameters other than the learning rate are not kept
    return value


def _record(est):
    check_is_fitted(est, "network_")
    tensors, rec = network_record(est.network_)
    fields = {
        "class": type(est).__name__,
        "params": clean({k: _storable(k, v) for k, v in est.get_params().items()
                         if k != "random_state" or isinstance(v, (int, type(None)))}),
        "fitted": clean(est._fitted_record()),
        "history": clean(est.history_.to_dict()) if hasattr(est, "history_") else None,
    }
    return tensors, {"network": rec, "estimator": fields}


def _from_record(fields: dict, net: Network, path: str):
    """Rebuild a fitted estimator from a model file's record."""
    est = fields["estimator"]
    cls = {"DeltaClassifier": DeltaClassifier, "DeltaRegressor": DeltaRegressor}.get(est["class"])
    if cls is None:
        raise FileFormatError(f"{path}: unknown estimator class {est['class']!r}; expected DeltaClassifier or "
                              "DeltaRegressor")
    params = dict(est["params"])
    if isinstance(params.get("hidden"), list):
        params["hidden"] = tuple(params["hidden"])
    for name in _INFINITE_OK:
        if params.get(name) == "inf":
            params[name] = np.inf
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise FileFormatError(f"{path}: unknown estimator parameter(s) {', '.join(unknown)}")
    obj = cls(**params)
    obj._set_fitted(est["fitted"], net, est.get("history"), path)
    return obj


def _to_model(est) -> Model | None:
    """The estimator as a :class:`deltaprop.Model` for the command line (None for multilabel)."""
    kind = est.output_kind_
    names = [str(n) for n in est.feature_names_in_] if hasattr(est, "feature_names_in_") else None
    if kind == "regression":
        return Model(est.network_, "regression", feature_names=names, history=getattr(est, "history_", None))
    if kind == "multilabel":
        return None
    classes = [c.item() if hasattr(c, "item") else c for c in est.classes_]
    return Model(est.network_, "classification", classes, feature_names=names, history=getattr(est, "history_", None))


register_kind("estimator", fields={"network", "estimator"}, stores=_DeltaEstimator, record=_record,
              build=_from_record, to_model=_to_model)
