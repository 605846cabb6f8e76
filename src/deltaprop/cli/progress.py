"""What the terminal shows while training runs and after it, and Ctrl-C handled between two steps."""

from __future__ import annotations

import signal

from ..train import Callback
from .common import fmt


class ProgressBar(Callback):
    """A live bar over the batches of each epoch, with the costs of the last epoch."""

    def __init__(self, console, metric_name):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.metric_name = metric_name
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=console, transient=False,
        )
        self.task = None
        self.stats = ""

    def on_train_begin(self, run):
        self.total_epochs = run.net.training_state.epoch + run.epochs
        self.progress.start()

    def on_epoch_begin(self, run, epoch):
        label = f"{epoch}/{self.total_epochs}"
        if self.task is None:
            self.task = self.progress.add_task("train", total=run.n_batches, epoch=label, stats=self.stats)
        else:
            self.progress.reset(self.task, total=run.n_batches, epoch=label, stats=self.stats)

    def on_batch_end(self, run, epoch, step, cost):
        self.progress.update(self.task, completed=step)

    def on_epoch_end(self, run, epoch, record):
        parts = [f"cost {fmt(record['cost'])}"]
        if record["val_cost"] is not None:
            parts.append(f"val {fmt(record['val_cost'])}")
        if record["metric"] is not None:
            parts.append(f"{self.metric_name} {record['metric']:.4f}")
        self.stats = "  ".join(parts)
        self.progress.update(self.task, completed=run.n_batches, stats=self.stats)
        self.progress.refresh()

    def on_train_end(self, run):
        self.progress.stop()


class StopOnSignal(Callback):
    """Ctrl-C (SIGINT) or SIGTERM (what schedulers, Docker and systemd send) stops training between
    two steps, so the state saved is consistent. ``received`` names the signal that came."""

    SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}

    def __init__(self):
        self.requested = False
        self.received = None
        self._old = {}

    def __enter__(self):
        def handler(signum, frame):
            if self.requested:  # a second signal: stop at once
                raise KeyboardInterrupt
            self.requested = True
            self.received = signum

        for sig in self.SIGNALS:
            self._old[sig] = signal.signal(sig, handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def on_batch_end(self, run, epoch, step, cost):
        if self.requested:
            run.interrupt()

    def on_epoch_end(self, run, epoch, record):
        if self.requested:
            run.interrupt()  # not a stop: early stopping's best must not overwrite the state saved


def summary_table(metrics, task, args, history):
    """The table printed after training: epochs, costs, held-out scores, time, files written."""
    from rich.table import Table

    table = Table(title="training summary", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    stopped = history.stopped if history is not None else "already done"
    table.add_row("epochs", f"{metrics['epochs']} ({stopped})")
    if metrics.get("best_epoch") and stopped == "early_stopping":
        table.add_row("best epoch (restored)", str(metrics["best_epoch"]))
    for key, label in (("train_cost", "training cost"), ("val_cost", "validation cost")):
        if metrics.get(key) is not None:
            table.add_row(label, fmt(metrics[key]))
    if "test_rows" in metrics:
        if task == "classification":
            table.add_row(f"held-out accuracy ({metrics['test_rows']} rows)", f"{metrics['test_accuracy']:.4f}")
        else:
            table.add_row(f"held-out R^2 ({metrics['test_rows']} rows)", f"{metrics['test_r2']:.4f}")
            table.add_row("held-out RMSE", fmt(metrics["test_rmse"]))
        table.add_row("held-out cost", fmt(metrics["test_cost"]))
    table.add_row("time", f"{metrics['seconds_this_run']:.2f} s")
    if args.out:
        table.add_row("model", args.out)
    if args.plot:
        table.add_row("learning curve", args.plot)
    return table
