"""Learning curves: the training and validation cost (and the metric) of a :class:`deltaprop.History`, as a PNG.

Needs matplotlib (``pip install 'deltaprop[plot]'``); it is imported only when a curve is drawn.
"""

from __future__ import annotations

import os

import numpy as np

from .io import atomic_write_bytes

__all__ = ["plot_history", "require_matplotlib"]


def require_matplotlib() -> None:
    """Raise ImportError, with the command that installs it, unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'deltaprop[plot]' (or pip install matplotlib)") from None


def plot_history(history, path: str | os.PathLike, title: str = "") -> None:
    """Write the learning curve of a training run as a PNG file.

    The training cost and, when there is one, the validation cost per epoch (on a log scale
    when every cost is positive); the metric (``history.metric_name``, e.g. accuracy) on a
    second axis; a dotted line at the best epoch when early stopping restored one.

    Parameters
    ----------
    history : History
        What :func:`deltaprop.train` returned (or a model's ``history``).
    path : str or path-like
        The PNG file to write; written atomically (a crash leaves the old file or the new one).
    title : str, optional
        The plot's title (default ``"learning curve"``).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    require_matplotlib()
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    epochs = history["epoch"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(epochs, history["cost"], label="training cost", color="tab:blue")
    if any(v is not None for v in history["val_cost"]):
        ax.plot(epochs, [np.nan if v is None else v for v in history["val_cost"]], label="validation cost",
                color="tab:orange")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost J")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if all(v is not None and v > 0 for v in history["cost"]):
        ax.set_yscale("log")
    lines, labels = ax.get_legend_handles_labels()
    if history.metric_name and any(v is not None for v in history["metric"]):
        ax2 = ax.twinx()
        where = "validation " if any(v is not None for v in history["val_cost"]) else "training "
        ax2.plot(epochs, [np.nan if v is None else v for v in history["metric"]], color="tab:green",
                 linestyle="--", label=where + history.metric_name)
        ax2.set_ylabel(history.metric_name)
        l2, lab2 = ax2.get_legend_handles_labels()
        lines, labels = lines + l2, labels + lab2
    if history.best_epoch:
        ax.axvline(history.best_epoch, color="grey", linestyle=":", linewidth=1)
    ax.legend(lines, labels, loc="center right", framealpha=0.9)
    ax.set_title(title or "learning curve")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
