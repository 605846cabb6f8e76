"""What a training run reports: its :class:`History`, and the :class:`Callback` hooks that watch it.

``deltaprop.train`` never prints. Anything that wants to watch (the command line's progress
bar, a log file, a checkpointer) does so through these hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

__all__ = ["History", "Callback", "Run", "learning_curve_svg"]


@dataclass
class History:
    """What each epoch did.

    Attributes
    ----------
    records : list of dict
        One per epoch: ``epoch`` (1-based, counting across warm starts), ``cost``
        (training cost: the mean of the minibatch J's during the epoch; exact J for
        full-batch methods), ``val_cost`` (J on the validation data, or None),
        ``metric`` (see ``metric_name``; on the validation data when there is some,
        else on the training data; None if disabled), ``learning_rate``, ``seconds``.
    metric_name : str or None
        ``"accuracy"`` or ``"r2"`` or the callable's name.
    stopped : str
        Why the last call ended: ``"epochs"``, ``"early_stopping"``, ``"max_time"``,
        ``"callback"``, ``"interrupted"`` or ``"converged"`` (L-BFGS; the scikit-learn
        estimators also say so when their ``tol`` rule stopped them).
    best_epoch : int or None
        With early stopping, the epoch whose parameters were restored (by the last call;
        None when that call had early stopping off or was interrupted).
    """

    records: list = field(default_factory=list)
    metric_name: str | None = None
    stopped: str | None = None
    best_epoch: int | None = None

    def __getitem__(self, key: str) -> list:
        """One column: ``history["cost"]`` is the list of training costs."""
        if self.records and key not in self.records[0]:
            raise KeyError(f"history has no column {key!r}; columns are {', '.join(self.records[0])}")
        return [r[key] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def final_record(self) -> dict | None:
        """The record of the epoch whose parameters the run ended with.

        Early stopping's best epoch when it restored one (its costs, not the last epoch's),
        else the last epoch; None before any epoch.

        Returns
        -------
        dict or None
            One of :attr:`records`.
        """
        if not self.records:
            return None
        if self.best_epoch is not None:
            for r in reversed(self.records):
                if r["epoch"] == self.best_epoch:
                    return r
        return self.records[-1]

    def to_dict(self) -> dict:
        """JSON-able form (used in model files and checkpoints)."""
        return {
            "records": [dict(r) for r in self.records],
            "metric_name": self.metric_name,
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls([dict(r) for r in d.get("records", [])], d.get("metric_name"), d.get("stopped"), d.get("best_epoch"))

    def __repr__(self) -> str:
        if not self.records:
            return "History(no epochs)"
        last = self.records[-1]
        val = "" if last.get("val_cost") is None else f", val_cost {last['val_cost']:.4g}"
        best = "" if self.best_epoch is None else f", best epoch {self.best_epoch}"
        return (f"History({len(self.records)} epochs, cost {self.records[0]['cost']:.4g} -> {last['cost']:.4g}{val}"
                f"{best}, stopped: {self.stopped})")

    def _repr_html_(self) -> str:
        """Notebooks show the learning curve: J per epoch (and the validation J), as an inline SVG."""
        return learning_curve_svg(self) + f"<pre>{escape(repr(self))}</pre>"


def learning_curve_svg(history: History, width: int = 480, height: int = 240) -> str:
    """The learning curve as an inline SVG: training J per epoch, and validation J where recorded.

    Parameters
    ----------
    history : History
    width, height : int
        Size in px.

    Returns
    -------
    str
        ``<svg ...>...</svg>`` with one polyline per curve, on a log scale when J spans more
        than a factor of 20 (and stays positive), with the first and last epoch and the lowest
        and highest J written on the axes.
    """
    import math

    curves = [("cost", "#1f77b4", "training J")]
    if any(r.get("val_cost") is not None for r in history.records):
        curves.append(("val_cost", "#d62728", "validation J"))
    points = {key: [(r["epoch"], float(r[key])) for r in history.records
                    if r.get(key) is not None and math.isfinite(float(r[key]))] for key, _, _ in curves}
    values = [v for pts in points.values() for _, v in pts]
    head = (f"<svg xmlns='http://www.w3.org/2000/svg' class='dp-curve' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='learning curve' style='font-family:sans-serif'>")
    if not values:
        return head + "<text x='10' y='20' font-size='12'>no epochs recorded</text></svg>"
    lo, hi = min(values), max(values)
    log = lo > 0 and hi / lo > 20
    f = math.log10 if log else (lambda v: v)
    flo, fhi = f(lo), f(hi)
    span = (fhi - flo) or 1.0
    epochs = [e for pts in points.values() for e, _ in pts]
    e0, e1 = min(epochs), max(epochs)
    left, right, top, bottom = 56, 10, 12, 34
    pw, ph = width - left - right, height - top - bottom

    def xy(e, v):
        x = left + (0.5 if e1 == e0 else (e - e0) / (e1 - e0)) * pw
        return x, top + (1 - (f(v) - flo) / span) * ph

    parts = [head, f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#ccc'/>"]
    for key, color, label in curves:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(e, v) for e, v in points[key]))
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.5' points='{pts}'>"
                     f"<title>{label}</title></polyline>")
    parts.append(f"<text x='{left - 4}' y='{top + 4}' font-size='10' text-anchor='end'>{hi:.3g}</text>"
                 f"<text x='{left - 4}' y='{top + ph}' font-size='10' text-anchor='end'>{lo:.3g}</text>"
                 f"<text x='{left}' y='{height - 18}' font-size='10'>{e0}</text>"
                 f"<text x='{left + pw}' y='{height - 18}' font-size='10' text-anchor='end'>{e1}</text>"
                 f"<text x='{left + pw / 2}' y='{height - 18}' font-size='10' text-anchor='middle'>epoch</text>")
    parts.append(f"<text x='{left}' y='{height - 4}' font-size='10'>J per epoch{' (log scale)' if log else ''}</text>")
    for n, (_, color, label) in enumerate(curves):  # the legend, top right (curves mostly fall from the top left)
        x, y = left + pw - 110, top + 10 + 14 * n
        parts.append(f"<rect x='{x}' y='{y - 4}' width='10' height='3' fill='{color}'/>"
                     f"<text x='{x + 14}' y='{y}' font-size='10' fill='{color}'>{escape(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


class Callback:
    """Hooks called by :func:`deltaprop.train`; override any of them.

    ``run`` is the :class:`Run` in progress: ``run.net``, ``run.history``, ``run.epochs``
    (how many this call will do), ``run.n_batches`` (per epoch). Two ways to end a call early:

    - ``run.stop_training = True``: stop; at an epoch's end this finishes the run (early
      stopping's best parameters are restored), between two steps it leaves the epoch
      pending, as an interrupt does.
    - ``run.interrupt()``: pause after the current step, leaving the state exactly as it
      is, so that a later call (or a checkpoint of it) continues bit-identically. The
      history says ``stopped="interrupted"`` and no best parameters are restored.

    A callback that overrides ``on_batch_end`` keeps plain SGD off its compiled whole-epoch kernel
    (which has no steps to call back between), unless it sets ``needs_every_batch = False``: then
    it is called after every step where the loop takes steps one by one, and not at all within a
    compiled epoch (a progress bar, or a stop request that ``on_epoch_end`` also honours).
    """

    needs_every_batch = True

    def on_train_begin(self, run: "Run") -> None: ...

    def on_epoch_begin(self, run: "Run", epoch: int) -> None: ...

    def on_batch_end(self, run: "Run", epoch: int, step: int, cost: float) -> None: ...

    def on_epoch_end(self, run: "Run", epoch: int, record: dict) -> None: ...

    def on_train_end(self, run: "Run") -> None: ...


@dataclass
class Run:
    """The call of :func:`deltaprop.train` in progress, as callbacks see it."""

    net: object
    history: History
    epochs: int
    n_batches: int
    stop_training: bool = False
    interrupted: bool = False

    def interrupt(self) -> None:
        """Stop after the current step and keep the state resumable (see :class:`Callback`)."""
        self.stop_training = self.interrupted = True
