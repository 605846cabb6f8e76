"""What the terminal shows while training runs and after it, and Ctrl-C handled between two steps."""

from __future__ import annotations

import signal
import time

from ..train import Callback
from .common import fmt


def progress_for(console, metric_name: str, **options) -> Callback:
    """What shows training's progress on ``console``: the live :class:`ProgressBar` in a terminal,
    :class:`ProgressLines` when the output goes to a file, a pipe or a CI log."""
    if console.is_terminal:
        return ProgressBar(console, metric_name)
    return ProgressLines(console, metric_name, **options)


def duration(seconds: float) -> str:
    """``"4 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``: a time span to read at a glance."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s" if seconds >= 0.5 else "<1 s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def epoch_stats(record, metric_name) -> str:
    """``cost 0.31  val 0.35  accuracy 0.9123`` for one epoch's record."""
    parts = [f"cost {fmt(record['cost'])}"]
    if record["val_cost"] is not None:
        parts.append(f"val {fmt(record['val_cost'])}")
    if record["metric"] is not None:
        parts.append(f"{metric_name} {record['metric']:.4f}")
    return "  ".join(parts)


class _Clock(Callback):
    """The run's epochs so far and their mean time, for an estimate of the time left."""

    def on_train_begin(self, run):
        self.total_epochs = run.net.training_state.epoch + run.epochs
        self.times = []

    def tick(self, record) -> None:
        self.times.append(record["seconds"] or 0.0)

    def time_left(self, epoch) -> str:
        """``about 1 min 20 s left (estimate)``: the epochs left times the mean epoch so far, leaving out
        the first (it carries the warm-up: compiling, caches), so none after one epoch. Early stopping
        may end the run sooner."""
        left = self.total_epochs - epoch
        if left <= 0 or len(self.times) < 2:
            return ""
        later = self.times[1:]
        return f"about {duration(left * sum(later) / len(later))} left (estimate)"


class ProgressBar(_Clock):
    """A live bar over the batches of each epoch, with the costs of the last epoch and an estimate
    of the time the whole run has left (it fills at each epoch's end when plain SGD runs compiled)."""

    needs_every_batch = False

    def __init__(self, console, metric_name):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.metric_name = metric_name
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
            console=console, transient=False,
        )
        self.task = None
        self.stats = ""
        self.eta = ""

    def on_train_begin(self, run):
        super().on_train_begin(run)
        self.progress.start()

    def on_epoch_begin(self, run, epoch):
        label = f"{epoch}/{self.total_epochs}"
        if self.task is None:
            self.task = self.progress.add_task("train", total=run.n_batches, epoch=label, stats=self.stats,
                                               eta=self.eta)
        else:
            self.progress.reset(self.task, total=run.n_batches, epoch=label, stats=self.stats, eta=self.eta)

    def on_batch_end(self, run, epoch, step, cost):
        self.progress.update(self.task, completed=step)

    def on_epoch_end(self, run, epoch, record):
        self.tick(record)
        self.stats = epoch_stats(record, self.metric_name)
        self.eta = self.time_left(epoch)
        self.progress.update(self.task, completed=run.n_batches, stats=self.stats, eta=self.eta)
        self.progress.refresh()

    def on_train_end(self, run):
        self.progress.stop()


class ProgressLines(_Clock):
    """Plain lines for a log (a pipe, a file, CI): one per epoch, but at most one every ``every``
    seconds, and always the first and the last epoch's; each with the time so far and, from the
    second epoch on, an estimate of the time left.

    Adds no per-batch hook, so the compiled epoch kernels stay eligible.
    """

    def __init__(self, console, metric_name, *, every: float = 5.0, clock=time.monotonic):
        self.console, self.metric_name, self.every, self.clock = console, metric_name, every, clock
        self.last_line = None
        self.pending = None

    def on_train_begin(self, run):
        super().on_train_begin(run)
        self.t0 = self.clock()
        self.last_line = None

    def on_epoch_end(self, run, epoch, record):
        self.tick(record)
        now = self.clock()
        if self.last_line is None or now - self.last_line >= self.every:
            self.console.print(self.line(epoch, record, now, self.time_left(epoch)))
            self.last_line, self.pending = now, None
        else:
            self.pending = (epoch, record, now)

    def on_train_end(self, run):
        if self.pending is not None:  # the last epoch is always shown (without a time left: it is over)
            self.console.print(self.line(*self.pending, ""))
            self.pending = None

    def line(self, epoch, record, now, left) -> str:
        text = (f"epoch {epoch}/{self.total_epochs}  {epoch_stats(record, self.metric_name)}  "
                f"{duration(now - self.t0)} so far")
        return text + (f", {left}" if left else "")


class StopOnSignal(Callback):
    """Ctrl-C (SIGINT) or SIGTERM (what schedulers, Docker and systemd send) stops training between
    two steps, so the state saved is consistent. ``received`` names the signal that came."""

    SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}
    # within a compiled SGD epoch (small networks, an epoch in one call) the stop comes at the epoch's end
    needs_every_batch = False

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
    """The table printed after training: epochs, costs (of the epoch whose parameters the model
    holds: early stopping's best when it restored one), held-out scores, time, files written."""
    from rich.table import Table

    table = Table(title="training summary", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    stopped = history.stopped if history is not None else "already done"
    table.add_row("epochs", f"{metrics['epochs']} ({stopped})")
    best = metrics.get("best_epoch")
    last = history.records[-1]["epoch"] if history is not None and len(history) else None
    of = ""
    if best is not None and best != last:  # the model holds the best epoch's parameters: show its costs
        table.add_row("best epoch (restored)", str(best))
        of = f" (epoch {best})"
    for key, label in (("train_cost", "training cost"), ("val_cost", "validation cost")):
        if metrics.get(key) is not None:
            table.add_row(label + of, fmt(metrics[key]))
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
