"""A trained network together with what it needs to be used on raw data.

A :class:`Model` is what the command line trains and saves: the network, the input
scaling fitted on the training data, the task (classification with its class labels,
or regression), the input column names, the training settings and the final metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core import Network
from .core.checks import as_matrix
from .preprocess import Columns, as_table
from .train import History, metrics

__all__ = ["Model", "Scaler", "TASK_RULE", "encode_labels", "infer_task", "task_reason", "task_rule"]


@dataclass
class Scaler:
    """Standardisation x' = (x - mean) / scale, fitted on training data.

    Computed stably in float64: each column is first divided by its largest magnitude, so
    values near 1e300 neither overflow the variance nor lose an informative column. A column
    is constant when its spread is below 1e-12 of its magnitude (a relative test: a feature
    whose values differ by 1e-13 around 0 is still informative); it gets scale 1 and becomes 0,
    never a division by zero.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "Scaler":
        X = np.asarray(X, dtype=np.float64)
        big = np.abs(X).max(axis=0)
        c = np.where(big > 0, big, 1.0)  # the column's magnitude, to compute in units of it
        Xs = X / c
        mean_s = Xs.mean(axis=0)
        std_s = np.sqrt(((Xs - mean_s) ** 2).mean(axis=0))
        mean, std = mean_s * c, std_s * c
        informative = (std_s > 1e-12) & (std > np.finfo(np.float64).tiny) & np.isfinite(std)
        return cls(mean, np.where(informative, std, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale


TASK_RULE = ("text or booleans: classification; numbers: regression, unless they are whole numbers with at most "
             "min(20, rows / 5) distinct values (at least 2 allowed)")


def infer_task(y) -> str:
    """The task a target column asks for, by :data:`TASK_RULE`.

    Labels (strings, booleans) are classes. Numbers are a quantity to regress on unless they
    are few distinct whole numbers relative to the rows: at most ``max(2, min(20, m // 5))``
    distinct values among m rows (digit labels 0-9 in 60000 rows are classes; body masses in
    grams, 94 distinct values in 342 rows, are a quantity). ``--task`` overrides the guess.
    """
    return task_reason(y)[0]


def task_reason(y) -> tuple[str, str]:
    """(task, why): :func:`infer_task`'s answer and one line saying why, for the command line to print."""
    y = np.asarray(y)
    if y.dtype.kind in "OUSb":
        return task_rule(labels=True, whole=False, distinct=None, rows=y.size)
    whole = y.size > 0 and (y.dtype.kind in "iu" or bool(np.all(y == np.round(y))))
    return task_rule(labels=False, whole=whole, distinct=np.unique(y).size, rows=y.size)


def task_rule(*, labels: bool, whole: bool, distinct: int | None, rows: int) -> tuple[str, str]:
    """:data:`TASK_RULE` on the facts of a target column, wherever they were counted (in memory, or
    merged from a cluster's partitions): (task, why).

    Parameters
    ----------
    labels : bool
        The column holds text or booleans.
    whole : bool
        Every value is a whole number.
    distinct : int or None
        How many distinct values; None for more than could be counted (never few).
    rows : int
    """
    if labels:
        return "classification", "the target holds labels (text or booleans)"
    limit = max(2, min(20, rows // 5))
    many = "more than can be counted" if distinct is None else str(distinct)
    if whole and distinct is not None and distinct <= limit:
        return "classification", (f"the target holds {distinct} distinct whole numbers in {rows} rows "
                                   f"(at most {limit} are read as classes)")
    if whole:
        return "regression", (f"the target holds {many} distinct whole numbers in {rows} rows, more than the "
                               f"{limit} that would be read as classes")
    return "regression", "the target holds real numbers"


def _native(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def encode_labels(y, classes: list | None = None) -> tuple[np.ndarray, list]:
    """One-hot targets for labels ``y``; ``classes`` fixes the columns (sorted labels by default).

    Raises ValueError naming labels that are not among ``classes``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"class labels must be one column, got shape {y.shape}")
    values = [_native(v) for v in y.tolist()]
    if classes is None:
        kinds = {type(v) for v in values}
        if len(kinds) > 1 and not kinds <= {int, float}:
            raise ValueError(f"class labels mix types {sorted(k.__name__ for k in kinds)}; expected one type")
        classes = sorted(set(values))
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({repr(v) for v in values if v not in index})
    if unknown:
        raise ValueError(
            f"labels not seen in training: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}; "
            f"the model knows {', '.join(map(repr, classes[:10]))}{' ...' if len(classes) > 10 else ''}"
        )
    Y = np.zeros((len(values), len(classes)))
    Y[np.arange(len(values)), [index[v] for v in values]] = 1.0
    return Y, list(classes)


@dataclass(eq=False)
class Model:
    """A network plus its input scaling, task and labels.

    Parameters
    ----------
    network : Network
    task : {"classification", "regression"}
    classes : list, optional
        Class labels (classification), in the order of the network's outputs.
    feature_names : list of str, optional
        Input column names, in the order of the network's inputs.
    target_names : list of str, optional
        Names of the target column(s).
    scaler : Scaler, optional
        Input standardisation.
    target_scaler : Scaler, optional
        Regression only: the network learns standardised targets, and ``predict`` maps
        its outputs back (the cost J is then in standardised units).
    columns : Columns, optional
        The table columns the model reads and how each becomes inputs (one-hot text, filled
        missing numbers; see :mod:`deltaprop.preprocess`). None: the inputs are given as numbers.
    settings, metrics : dict
        Training settings and final metrics (JSON-able), kept in the model file.
    history : History, optional
    """

    network: Network
    task: str
    classes: list | None = None
    feature_names: list | None = None
    target_names: list | None = None
    scaler: Scaler | None = None
    settings: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    history: History | None = None
    target_scaler: Scaler | None = None
    columns: Columns | None = None

    @property
    def n_features(self) -> int:
        return self.network.n_inputs

    def summary(self) -> dict:
        """What the model is, in a few lines: task, classes or targets, inputs, network, training, metrics.

        Returns
        -------
        dict of str -> str
            The rows that ``repr`` and notebooks show (never the whole history).
        """
        def listed(items, most=8):
            items = [str(v) for v in items]
            return ", ".join(items[:most]) + (f", ... ({len(items) - most} more)" if len(items) > most else "")

        rows = {"task": self.task}
        if self.classes is not None:
            rows["classes"] = f"{len(self.classes)}: {listed(self.classes)}"
        if self.target_names:
            rows["target"] = listed(self.target_names)
        names = self.feature_names or [f"x{i + 1}" for i in range(self.n_features)]
        scaled = "standardised with the training rows' mean and standard deviation" if self.scaler is not None \
            else "used as given"
        rows["inputs"] = f"{self.n_features} ({listed(names)}), {scaled}"
        rows["network"] = repr(self.network)
        h = self.history
        if h is not None and len(h):
            rows["training"] = (f"{len(h)} epochs, J {h.records[0]['cost']:.4g} -> {h.records[-1]['cost']:.4g}"
                                + (f", best epoch {h.best_epoch}" if h.best_epoch is not None else "")
                                + (f", stopped: {h.stopped}" if h.stopped else ""))
        if self.metrics:
            rows["metrics"] = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in self.metrics.items() if not isinstance(v, (dict, list)))
        return rows

    def __repr__(self) -> str:
        what = "" if self.classes is None else f" into {len(self.classes)} classes"
        epochs = "" if self.history is None else f", {len(self.history)} epochs"
        return f"Model({self.task}{what}, {self.n_features} inputs, {self.network!r}{epochs})"

    def _repr_html_(self) -> str:
        """Notebooks show the summary as a small table (``model.history`` shows the learning curve)."""
        from html import escape

        cells = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th>"
                        f"<td style='text-align:left'>{escape(v)}</td></tr>" for k, v in self.summary().items())
        return f"<table class='dp-model'>{cells}</table>"

    def encode(self, data, *, rows=None, source: str = "X") -> tuple[np.ndarray, list[str]]:
        """The network's inputs, before scaling, from raw data, and notes about it.

        Parameters
        ----------
        data : DataFrame, mapping of columns, Table, or array_like of shape (m, n_features)
            With :attr:`columns` set, a table holding those columns by name: text is one-hot
            encoded and missing numbers filled as in training. A 2-D array is taken as the
            encoded inputs themselves (what this method returns; for a model whose columns are
            all numbers, the columns in order), with missing numbers filled.
        rows : ndarray of int, optional
            Row numbers for messages (a :class:`~deltaprop.io.data.Table` carries its own).

        Returns
        -------
        X : ndarray of shape (m, n_features), float64
        notes : list of str
            Categories not seen in training, one line per column.
        """
        cols = self.columns
        if hasattr(data, "rows") and isinstance(getattr(data, "columns", None), dict):  # an io Table
            table, rows, source = data.columns, data.rows, data.source
        elif hasattr(data, "columns") or isinstance(data, dict):
            table = as_table(data)
        else:
            table = None
        if cols is None:
            if table is not None:
                names = self.feature_names or list(table)
                absent = [n for n in names if n not in table]
                if absent:
                    raise ValueError(f"{source}: missing column(s) {', '.join(map(repr, absent))} that the model needs")
                data = np.column_stack([np.asarray(table[n], dtype=np.float64) for n in names])
            return as_matrix(data, name=source, n_cols=self.n_features, dtype=np.float64), []
        if table is not None:
            return cols.transform(table, row_numbers=rows, source=source)
        X = np.array(data, dtype=np.float64) if np.ndim(data) == 2 else None
        if X is None or X.shape[1] != self.n_features:
            raise ValueError(f"{source}: expected a table (DataFrame or mapping) with the columns {', '.join(cols.names)}, "
                             f"or a matrix of the {self.n_features} encoded inputs")
        j = 0
        for c in cols.columns:  # matrix columns are the encoded inputs: only a number column's fill applies
            if c.kind == "number" and c.fill is not None:
                X[np.isnan(X[:, j]), j] = c.fill
            j += len(c.input_names)
        return as_matrix(X, name=source, n_cols=self.n_features, dtype=np.float64), []

    def inputs(self, X) -> np.ndarray:
        """Checked, scaled inputs in the network's dtype (categories not seen in training are warned about)."""
        X, notes = self.encode(X)
        if notes:
            import warnings

            warnings.warn("; ".join(notes), UserWarning, stacklevel=3)
        X = as_matrix(X, name="X", n_cols=self.n_features, dtype=np.float64)
        if self.scaler is not None:
            X = self.scaler.transform(X)
        return as_matrix(X, name="X (scaled)", n_cols=self.n_features, dtype=self.network.dtype)

    def targets(self, y) -> np.ndarray:
        """Targets as the network's Y: one-hot for classification."""
        if self.task == "classification":
            Y = encode_labels(np.asarray(y).ravel() if np.ndim(y) > 1 and np.shape(y)[1] == 1 else y,
                              self.classes)[0]
            return Y[:, 1:] if self.network.n_outputs == 1 and Y.shape[1] == 2 else Y
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        return y if self.target_scaler is None else self.target_scaler.transform(y)

    def _class_scores(self, h: np.ndarray) -> np.ndarray:
        """One column per class: the outputs, or [1 - h, h] for one sigmoid output and two classes."""
        if h.shape[1] == 1 and self.classes is not None and len(self.classes) == 2:
            return np.hstack([1 - h, h])
        return h

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (m, n_classes), columns in the order of ``classes``."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification models; this one does regression")
        return self._class_scores(self.network.predict(self.inputs(X)))

    def predict(self, X) -> np.ndarray:
        """Class labels (classification) or values (regression; shape (m,) for one target)."""
        h = self.network.predict(self.inputs(X))
        if self.task == "classification":
            return np.asarray(self.classes, dtype=object)[self._class_scores(h).argmax(axis=1)]
        h = self._unscale(h)
        return h[:, 0] if h.shape[1] == 1 else h

    def _unscale(self, h):
        if self.target_scaler is None:
            return np.asarray(h, dtype=np.float64)
        return np.asarray(h, dtype=np.float64) * self.target_scaler.scale + self.target_scaler.mean

    def evaluate(self, X, y) -> dict:
        """Metrics on (X, y): ``cost`` (J, with weight decay) plus ``accuracy`` (classification)
        or ``r2``, ``rmse``, ``mae`` (regression)."""
        Xs = self.inputs(X)
        Y = self.targets(y)
        net = self.network
        result = {"cost": net.cost_value(Xs, Y)}
        h = net.predict(Xs)
        if self.task == "classification":
            result["accuracy"] = metrics.accuracy(self._class_scores(h), self._class_scores(Y), single_label=True)
        else:
            h = self._unscale(h)
            Y = self._unscale(Y)
            err = h - Y
            result.update(r2=metrics.r2(h, Y), rmse=metrics.rmse(h, Y), mae=float(np.abs(err).mean()))
        return result


# --- held-out rows and data identity (used by the command line's train) ---------------------------------

__all__ += ["split_test", "fingerprint"]


def split_test(n: int, fraction: float, seed: int, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` that hold out about ``fraction`` of ``n`` rows for testing.

    Parameters
    ----------
    n : int
        Number of rows.
    fraction : float
        Share of the rows held out, in [0, 1). With 0, or fewer than 20 rows, nothing is held out.
    seed : int
        Seed of the random choice (the same seed gives the same split).
    labels : ndarray of shape (n,) or (n, k), optional
        Class labels, or one-hot (or any row-wise) labels: the split is then stratified,
        holding out ``round(count * fraction)`` rows of each class. O(n log n) for any
        number of classes.

    Returns
    -------
    train, test : ndarray of int
        Sorted, disjoint row indices that together cover ``range(n)``.
    """
    if fraction <= 0 or n < 20:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    if labels is None:
        perm = rng.permutation(n)
        k = max(1, int(round(n * fraction)))
        return np.sort(perm[k:]), np.sort(perm[:k])
    # O(n log n) whatever the number of classes: one sort groups the rows of each class (in the
    # order np.unique lists the classes, rows ascending within a class), then each group is
    # shuffled with the same draws, in the same order, as a per-class scan would make.
    labels = np.asarray(labels)
    if labels.ndim == 1:
        _, inverse = np.unique(labels, return_inverse=True)
    elif labels.size and labels.min() == 0 and labels.max() == 1 and np.all(labels.sum(axis=1) == 1):
        inverse = -labels.argmax(axis=1)  # one-hot rows: np.unique(axis=0) would list the last class first
    else:
        _, inverse = np.unique(labels, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    test = []
    for idx in np.split(order, bounds):
        idx = idx[rng.permutation(idx.size)]
        test.append(idx[: int(round(idx.size * fraction))])
    test = np.sort(np.concatenate(test).astype(np.intp))
    return np.setdiff1d(np.arange(n), test), test


def fingerprint(X, y) -> str:
    """A short identity of a data set: 16 hex digits of sha256 over the bytes of ``X`` and the values of ``y``.

    Two runs on the same data get the same fingerprint; a checkpoint records it so that resuming
    on other data is refused.

    Parameters
    ----------
    X : array_like
        The inputs (their bytes are hashed, so the dtype matters).
    y : array_like
        The targets: labels or numbers, hashed as JSON.

    Returns
    -------
    str
    """
    import hashlib
    import json

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(json.dumps([v.item() if isinstance(v, np.generic) else v for v in np.asarray(y).tolist()]).encode())
    return h.hexdigest()[:16]
