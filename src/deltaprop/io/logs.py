"""Training runs on disk: a JSON-lines log of the epochs, and checkpoints after every epoch.

Both are :class:`deltaprop.train.Callback` objects; pass them to :func:`deltaprop.train`
with ``callbacks=[...]``. :func:`read_log` reads a log back as a :class:`deltaprop.History`.
"""

from __future__ import annotations

import json
import os

from ..train import Callback, History
from . import schema
from .atomic import is_regular_file
from .modelfile import clean, save_checkpoint

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
        if os.path.lexists(path) and not is_regular_file(path):
            raise OSError(f"--log-jsonl {os.fspath(path)}: exists and is not a regular file")
        self.f = open(path, "a", encoding="utf-8")

    def on_epoch_end(self, run, epoch, record):
        self.write({"event": "epoch", **record})

    def write(self, obj: dict) -> None:
        """Append ``obj`` as one line and flush it to the file."""
        self.f.write(json.dumps(clean(obj), allow_nan=False) + "\n")  # standard JSON: a NaN is written as null
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


MAX_LOG_BYTES = 256 * 2**20  # a log of a million epochs is far below this


def read_log(path: str | os.PathLike) -> History:
    """The epochs of a :class:`JsonlLog` file as a :class:`History`.

    Every line is parsed with :func:`deltaprop.io.schema.parse_json` (no NaN, no numbers beyond
    float64, bounded nesting) and every epoch record validated against the log's schema, so a
    stranger's file is refused in words, never with a traceback.

    Raises
    ------
    ValueError
        Naming the file and line, when the file cannot be read as JSON lines, a record does not
        fit, or it holds no epoch records.
    """
    path = os.fspath(path)
    if not is_regular_file(path):
        raise ValueError(f"{path}: not a regular file; expected a JSON-lines log")
    if os.path.getsize(path) > MAX_LOG_BYTES:
        raise ValueError(f"{path}: {os.path.getsize(path)} bytes is larger than any training log "
                         f"({MAX_LOG_BYTES} at most)")
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = schema.parse_json(line)
                    if isinstance(row, dict) and row.get("event") == "epoch":
                        record = {k: v for k, v in row.items() if k != "event"}
                        schema.validate(record, schema.LOG_RECORD)
                        records.append({k: record.get(k) for k in _COLUMNS})
                except schema.RecordError as exc:
                    raise ValueError(f"{path}: line {n}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON-lines log ({exc})") from None
    if not records:
        raise ValueError(f"{path}: no epoch records")
    return History(records, "metric")


_COLUMNS = ("epoch", "cost", "val_cost", "metric", "learning_rate", "seconds")
