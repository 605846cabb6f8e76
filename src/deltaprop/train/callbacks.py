"""What a training run reports: its :class:`History`, and the :class:`Callback` hooks that watch it.

``deltaprop.train`` never prints. Anything that wants to watch (the command line's progress
bar, a log file, a checkpointer) does so through these hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History", "Callback", "Run"]


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
        ``"callback"``, ``"interrupted"`` or ``"converged"`` (L-BFGS).
    best_epoch : int or None
        With early stopping, the epoch whose parameters were restored.
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
    """

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
