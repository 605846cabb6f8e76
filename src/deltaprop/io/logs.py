"""Training runs on disk: a JSON-lines log of the epochs, and checkpoints after every epoch.

Both are :class:`deltaprop.train.Callback` objects; pass them to :func:`deltaprop.train`
with ``callbacks=[...]``. :func:`read_log` reads a log back as a :class:`deltaprop.History`.
"""

from __future__ import annotations

import json
import os

from ..train import Callback, History
from .modelfile import save_checkpoint

__all__ = ["Checkpointer", "JsonlLog", "read_log"]


class JsonlLog(Callback):
    """Append one JSON object per epoch to a file, for machines.

    Each epoch's line is ``{"event": "epoch", **record}`` (the record of :class:`History`);
    :meth:`write` adds other lines, such as a final summary.

    Parameters
    ----------
    path : str or path-like
        The file, opened for appending when the log is made; call :meth:`close` when done.
    """

    def __init__(self, path: str | os.PathLike):
        self.f = open(path, "a", encoding="utf-8")

    def on_epoch_end(self, run, epoch, record):
        self.write({"event": "epoch", **record})

    def write(self, obj: dict) -> None:
        """Append ``obj`` as one line and flush it to the file."""
        self.f.write(json.dumps(obj) + "\n")
        self.f.flush()

    def close(self) -> None:
        """Close the file."""
        self.f.close()


class Checkpointer(Callback):
    """After every epoch, write the model and its network's whole training state, atomically.

    Parameters
    ----------
    directory : str or path-like
        Where the ``checkpoint-*.safetensors`` files go (see :func:`deltaprop.io.save_checkpoint`).
    model : Model
        The model being trained (its network is the one :func:`deltaprop.train` updates).
    config : dict
        The run's settings, kept in each checkpoint so that a resume can check it is the same run.

    Attributes
    ----------
    last : str or None
        The path of the newest checkpoint written.
    """

    def __init__(self, directory: str | os.PathLike, model, config: dict):
        self.directory, self.model, self.config = directory, model, config
        self.last = None

    def on_epoch_end(self, run, epoch, record):
        self.save()

    def save(self) -> str:
        """Write a checkpoint of the state now (also mid-epoch, after an interrupt); returns its path."""
        self.last = save_checkpoint(self.directory, self.model, self.config)
        return self.last


def read_log(path: str | os.PathLike) -> History:
    """The epochs of a :class:`JsonlLog` file as a :class:`History`.

    Raises
    ------
    ValueError
        When the file cannot be read as JSON lines or holds no epoch records.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON-lines log ({exc})") from None
    records = [{k: v for k, v in r.items() if k != "event"} for r in rows
               if isinstance(r, dict) and r.get("event") == "epoch"]
    if not records:
        raise ValueError(f"{path}: no epoch records")
    return History(records, "metric")
