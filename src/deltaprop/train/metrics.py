"""The two metrics deltaprop reports, defined once: accuracy and R^2.

Both take the network's outputs ``h`` and the targets ``Y`` as arrays of shape
(n_samples, n_outputs). Training, :class:`deltaprop.Model` and the command line all call these.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "r2", "rmse", "for_network"]


def accuracy(h: np.ndarray, Y: np.ndarray, *, single_label: bool) -> float:
    """Fraction of examples classified right.

    ``single_label``: one class per row (softmax outputs, or a one-hot Y): the largest output
    must sit where Y's largest does. Otherwise every output is a yes/no label and a row counts
    when all of them are on the right side of 0.5.
    """
    if single_label:
        return float(np.mean(h.argmax(axis=1) == Y.argmax(axis=1)))
    return float(np.mean(np.all((h > 0.5) == (Y > 0.5), axis=1)))


def r2(h: np.ndarray, Y: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot, averaged over the output columns.

    A constant target column (SS_tot = 0) scores 1.0 when fitted exactly and 0.0 otherwise,
    as scikit-learn's ``r2_score`` does.
    """
    h = np.asarray(h, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    c = np.abs(Y).max(axis=0) if Y.size else 1.0  # R^2 is scale-free: work in units of each column's size,
    c = np.where(c > 0, c, 1.0)  # so targets near 1e300 do not overflow their squares
    h, Y = h / c, Y / c
    ss_res = ((Y - h) ** 2).sum(axis=0)
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    ok = ss_tot > 0
    scores = np.where(ok, 1 - ss_res / np.where(ok, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def rmse(h: np.ndarray, Y: np.ndarray) -> float:
    """Root mean squared error over every output, computed without overflow for any finite values."""
    err = np.asarray(h, dtype=np.float64) - np.asarray(Y, dtype=np.float64)
    c = float(np.abs(err).max()) if err.size else 0.0
    return 0.0 if c == 0 or not np.isfinite(c) else c * float(np.sqrt(((err / c) ** 2).mean()))


def for_network(name: str, net) -> "callable":
    """``metric(h, Y)`` for ``name`` ("accuracy" or "r2") on ``net``'s outputs."""
    if name == "accuracy":
        outputs = net.layout.outputs
        single = len(outputs) == 1 and net.layout.activations[outputs[0][0]].name == "softmax"
        return lambda h, Y: accuracy(h, Y, single_label=single)
    if name == "r2":
        return r2
    raise ValueError(f"unknown metric {name!r}; expected 'accuracy' or 'r2'")
