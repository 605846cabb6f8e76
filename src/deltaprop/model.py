"""A trained network together with what it needs to be used on raw data.

A :class:`Model` is what the command line trains and saves: the network, the input
scaling fitted on the training data, the task (classification with its class labels,
or regression), the input column names, the training settings and the final metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import as_matrix
from .network import Network
from .training import History

__all__ = ["Model", "Scaler", "encode_labels", "infer_task"]


@dataclass
class Scaler:
    """Standardisation x' = (x - mean) / scale, fitted on training data.

    A constant column gets scale 1 (it becomes 0), never a division by zero.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "Scaler":
        X = np.asarray(X, dtype=np.float64)
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        scale = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        return cls(mean, scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale


def infer_task(y) -> str:
    """'classification' for labels (strings, booleans, integers, or reals that are all whole
    numbers with few distinct values), 'regression' for other real values."""
    y = np.asarray(y)
    if y.dtype.kind in "OUSbiu":
        return "classification"
    whole = y.size > 0 and bool(np.all(y == np.round(y)))
    few = np.unique(y).size <= max(2, min(100, y.size // 2))
    return "classification" if whole and few else "regression"


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

    @property
    def n_features(self) -> int:
        return self.network.n_inputs

    def inputs(self, X) -> np.ndarray:
        """Checked, scaled inputs in the network's dtype."""
        X = as_matrix(X, name="X", n_cols=self.n_features, dtype=np.float64)
        if self.scaler is not None:
            X = self.scaler.transform(X)
        return as_matrix(X, name="X (scaled)", n_cols=self.n_features, dtype=self.network.dtype)

    def targets(self, y) -> np.ndarray:
        """Targets as the network's Y: one-hot for classification."""
        if self.task == "classification":
            return encode_labels(np.asarray(y).ravel() if np.ndim(y) > 1 and np.shape(y)[1] == 1 else y,
                                 self.classes)[0]
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        return y if self.target_scaler is None else self.target_scaler.transform(y)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (m, n_classes), columns in the order of ``classes``."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification models; this one does regression")
        return self.network.predict(self.inputs(X))

    def predict(self, X) -> np.ndarray:
        """Class labels (classification) or values (regression; shape (m,) for one target)."""
        h = self.network.predict(self.inputs(X))
        if self.task == "classification":
            return np.asarray(self.classes, dtype=object)[h.argmax(axis=1)]
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
            result["accuracy"] = float(np.mean(h.argmax(axis=1) == Y.argmax(axis=1)))
        else:
            h = self._unscale(h)
            Y = self._unscale(Y)
            err = h - Y
            ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
            ss_res = (err**2).sum(axis=0)
            r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
            result.update(r2=float(r2.mean()), rmse=float(np.sqrt((err**2).mean())), mae=float(np.abs(err).mean()))
        return result
