"""The ``deltaprop`` command: train, predict, evaluate, gradcheck, explain, info, export, datasets, plot.

A thin shell around the library: it reads files, chooses sensible defaults, shows
progress, and turns every error into one or two lines and an exit code:
0 success, 1 a data, file or training error, 2 a usage error, 3 a failed gradient
check, 130 interrupted (Ctrl-C). ``--debug`` shows the Python traceback instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import sys
import time

import numpy as np

from . import __version__
from .io import atomic_write_bytes, builtin_datasets, check_writable, load_builtin, read_data
from .io.modelfile import FileFormatError, load, newest_checkpoint, save, save_checkpoint
from .model import Model, Scaler, encode_labels, infer_task
from .network import Network
from .training import Callback, DivergenceError, finish_run, train

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_CHECK_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
MIN_VALIDATION_ROWS = 50  # below this, early stopping on the validation cost is left off
CLI_LEARNING_RATES = {"adam": 3e-3, "adamw": 3e-3}  # tuned on the built-in data sets (see the README)


class UsageError(Exception):
    """A flag or argument that does not make sense (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in two lines instead of the whole usage text."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


# --- small parsers for flag values ---------------------------------------------------------


def _int_list(text: str, flag: str) -> list[int]:
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        values = [int(t) for t in text.split(",")]
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated layer sizes such as 128,64; got {text!r}") from None
    if any(v < 1 for v in values):
        raise UsageError(f"{flag}: layer sizes must be >= 1, got {text!r}")
    return values


def _checked(convert, accept, expected: str):
    """An argparse type: ``convert(text)``, refused in one line unless ``accept(value)``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_fraction = _checked(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_nonneg_float = _checked(float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0")
_positive_float = _checked(float, lambda v: math.isfinite(v) and v > 0, "a number > 0")


# --- output ----------------------------------------------------------------------------------


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


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
        parts = [f"cost {_fmt(record['cost'])}"]
        if record["val_cost"] is not None:
            parts.append(f"val {_fmt(record['val_cost'])}")
        if record["metric"] is not None:
            parts.append(f"{self.metric_name} {record['metric']:.4f}")
        self.stats = "  ".join(parts)
        self.progress.update(self.task, completed=run.n_batches, stats=self.stats)
        self.progress.refresh()

    def on_train_end(self, run):
        self.progress.stop()


class JsonlLog(Callback):
    """One JSON object per epoch, for machines."""

    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def on_epoch_end(self, run, epoch, record):
        self.f.write(json.dumps({"event": "epoch", **record}) + "\n")
        self.f.flush()

    def write(self, obj):
        self.f.write(json.dumps(obj) + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


class Checkpointer(Callback):
    """After every epoch, the model and its whole training state, atomically."""

    def __init__(self, directory, model, config):
        self.directory, self.model, self.config = directory, model, config
        self.last = None

    def on_epoch_end(self, run, epoch, record):
        self.last = save_checkpoint(self.directory, self.model, self.config)


class StopOnSignal(Callback):
    """Ctrl-C stops training between two steps, so the state saved is consistent."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        def handler(signum, frame):
            if self.requested:  # a second Ctrl-C: stop at once
                raise KeyboardInterrupt
            self.requested = True

        self._old = signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._old)

    def on_batch_end(self, run, epoch, step, cost):
        if self.requested:
            run.interrupt()

    def on_epoch_end(self, run, epoch, record):
        if self.requested:
            run.interrupt()  # not a stop: early stopping's best must not overwrite the state saved


# --- data -------------------------------------------------------------------------------------------


def _load_training_data(args):
    if args.dataset and args.data:
        raise UsageError("give either a DATA file or --dataset NAME, not both")
    if args.dataset:
        ds = load_builtin(args.dataset)
        if args.target and args.target != ds.target_name:
            raise UsageError(f"--target: the built-in data set {args.dataset!r} has its own target")
        return ds
    if not args.data:
        raise UsageError("give a DATA file (with --target COLUMN) or --dataset NAME; see deltaprop datasets")
    name = os.path.basename(args.data).lower()
    is_table = not (name.endswith(".npz") or "idx" in name or "ubyte" in name)
    if is_table and not args.target:
        raise UsageError(f"--target COLUMN is required for {args.data}: which column holds the target?")
    ds = read_data(args.data, args.target, drop_missing=args.drop_missing, labels=getattr(args, "labels", None))
    if ds.y is None:
        raise UsageError(f"{args.data}: no target found (for .npz files an array 'y'; for IDX files a labels file)")
    return ds


def _fingerprint(X, y) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(json.dumps([v.item() if isinstance(v, np.generic) else v for v in np.asarray(y).tolist()]).encode())
    return h.hexdigest()[:16]


def _split_test(n, fraction, seed, labels=None):
    """Indices (train, test); stratified by class when labels are given."""
    if fraction <= 0 or n < 20:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    if labels is None:
        perm = rng.permutation(n)
        k = max(1, int(round(n * fraction)))
        return np.sort(perm[k:]), np.sort(perm[:k])
    test = []
    for c in np.unique(labels, axis=0):
        idx = np.flatnonzero(np.all(labels == c, axis=1))
        idx = idx[rng.permutation(idx.size)]
        test.extend(idx[: int(round(idx.size * fraction))])
    test = np.sort(np.array(test, dtype=np.intp))
    return np.setdiff1d(np.arange(n), test), test


# --- train -------------------------------------------------------------------------------------------


def _check_names(activations, optimizer, schedule):
    """Unknown names are usage errors (exit 2), caught before any data is touched."""
    from .activations import get_activation
    from .optimizers import get_optimizer
    from .schedules import get_schedule

    try:
        for a in activations:
            if get_activation(a).output_only:
                raise ValueError(f"activation {a!r} may only be used on outputs, not hidden layers")
        get_optimizer(optimizer)
        get_schedule(schedule)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _config(args, ds, hidden, activations, cost, task, fingerprint):
    return {
        "data": ds.source, "fingerprint": fingerprint, "task": task, "hidden": hidden, "activation": activations,
        "cost": cost, "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
        "weight_decay": args.weight_decay, "validation_split": args.validation_split,
        "early_stopping": args.early_stopping, "seed": args.seed, "dtype": args.dtype, "test_split": args.test_split,
        "scale": not args.no_scale, "schedule": args.schedule,
    }


def cmd_train(args) -> int:
    out = _console(stderr=False)
    err = _console(stderr=True)
    say = (lambda *a: None) if args.quiet else err.print
    hidden = _int_list(args.hidden, "--hidden")
    acts = [a.strip() for a in args.activation.split(",")]
    _check_names(acts, args.optimizer, args.schedule)
    from .optimizers import get_optimizer

    full_batch = get_optimizer(args.optimizer).full_batch
    if args.lr is None and get_optimizer(args.optimizer).name in CLI_LEARNING_RATES:
        args.lr = CLI_LEARNING_RATES[get_optimizer(args.optimizer).name]
    if args.batch_size < 0:
        raise UsageError(f"--batch-size must be >= 0 (0 for the full batch), got {args.batch_size}")
    batch_size = None if (args.batch_size == 0 or full_batch) else args.batch_size
    if len(acts) == 1:
        acts = acts * len(hidden)
    if len(acts) != len(hidden):
        raise UsageError(f"--activation lists {len(acts)} activations for {len(hidden)} hidden layers")
    if args.resume and not args.checkpoint_dir:
        raise UsageError("--resume needs --checkpoint-dir DIR (where the checkpoints are)")
    ds = _load_training_data(args)
    if args.out:
        check_writable(args.out, "--out")
    if args.plot:
        check_writable(args.plot, "--plot")
        _require_matplotlib()
    if args.checkpoint_dir:
        os.makedirs(args.checkpoint_dir, exist_ok=True)
        from .io.modelfile import remove_stale_temporaries

        remove_stale_temporaries(args.checkpoint_dir)  # half-written files of a killed run
        check_writable(os.path.join(args.checkpoint_dir, "checkpoint.probe"), "--checkpoint-dir")

    task = args.task or infer_task(ds.y)
    if task == "classification":
        Y, classes = encode_labels(ds.y)
        if len(classes) < 2:
            raise ValueError(f"{ds.source}: the target has a single class {classes[0]!r}; classification needs two")
        shown = ", ".join(map(str, classes[:8])) + (" ..." if len(classes) > 8 else "")
        default_cost = "cross_entropy"
    else:
        y = np.asarray(ds.y)
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{ds.source}: regression needs numbers in the target, got labels such as {y[0]!r}")
        Y = y.astype(np.float64).reshape(len(y), -1)
        classes = None
        default_cost = "squared"
    cost = (args.cost or default_cost).replace("-", "_")
    if cost == "cross_entropy" and task == "regression":
        raise UsageError("--cost cross-entropy needs a classification target; this one is regression")
    output = "softmax" if task == "classification" else "identity"
    if task == "classification":
        say(f"target {ds.target_name!r}: {len(classes)} classes ({shown}) -> classification, "
            f"softmax outputs + {cost.replace('_', '-')} cost")
    else:
        say(f"target {ds.target_name!r}: real values -> regression, identity outputs + squared cost"
            + ("" if args.no_scale else " (on standardised targets)"))


    train_idx, test_idx = _split_test(len(Y), args.test_split, args.seed, Y if task == "classification" else None)
    Xtr, Ytr = ds.X[train_idx], Y[train_idx]
    scaler = None if args.no_scale else Scaler.fit(Xtr)
    fingerprint = _fingerprint(ds.X, ds.y)
    config = _config(args, ds, hidden, acts, cost, task, fingerprint)
    settings = {k: v for k, v in config.items() if k not in ("fingerprint",)}
    settings["epochs"] = args.epochs

    net = None
    if args.resume:
        path, model, old_config, skipped = newest_checkpoint(args.checkpoint_dir)
        for s in skipped:
            say(f"skipped a damaged checkpoint: {s}")
        if path is None:
            say(f"no checkpoint in {args.checkpoint_dir}: starting fresh")
        else:
            diff = [k for k in config if old_config.get(k) != config[k]]
            if diff:
                changes = "; ".join(f"{k}: {old_config.get(k)!r} then, {config[k]!r} now" for k in diff[:4])
                raise ValueError(f"{path} was made by a different run ({changes}); use another --checkpoint-dir")
            net = model.network
            done = net.training_state.epoch if net.training_state else 0
            say(f"resuming from {path} (epoch {done} of {args.epochs} done)")
    if net is None:
        net = Network.layered([ds.X.shape[1], *hidden, Y.shape[1]], hidden=acts, output=output, cost=cost,
                              weight_decay=args.weight_decay, dtype=args.dtype, seed=args.seed)
    target_scaler = Scaler.fit(Ytr) if task == "regression" and not args.no_scale else None
    model = Model(net, task, classes, ds.feature_names, [ds.target_name] if ds.target_name else None, scaler,
                  settings, target_scaler=target_scaler)
    Xs = model.inputs(Xtr)
    Ytr = model.targets(Ytr) if task == "regression" else Ytr
    done = net.training_state.epoch if net.training_state else 0
    remaining = args.epochs - done
    validation_split = args.validation_split if args.validation_split > 0 and len(Xs) >= 10 else None
    early = args.early_stopping if validation_split else None
    n_val = int(round(len(Xs) * validation_split)) if validation_split else 0
    if early and n_val < MIN_VALIDATION_ROWS:
        say(f"early stopping off: a validation split of {n_val} rows is too noisy to stop on "
            f"(it needs {MIN_VALIDATION_ROWS}); training all {args.epochs} epochs")
        early = None

    callbacks = []
    metric_name = "accuracy" if cost == "cross_entropy" or task == "classification" else "r2"
    if not args.quiet:
        callbacks.append(ProgressBar(err, metric_name))
    log = JsonlLog(args.log_jsonl) if args.log_jsonl else None
    if log:
        callbacks.append(log)
    checkpointer = Checkpointer(args.checkpoint_dir, model, config) if args.checkpoint_dir else None
    if checkpointer:
        callbacks.append(checkpointer)
    stopper = StopOnSignal()
    callbacks.append(stopper)

    t0 = time.perf_counter()
    state = net.training_state
    history = state.history if state else None
    finished = state is not None and state.pending is None and (
        remaining <= 0 or state.history.stopped == "early_stopping")
    if state is not None and state.pending is not None and remaining <= 0:
        raise UsageError(f"--epochs {args.epochs}: the checkpoint has {done} epochs done and epoch {done + 1} "
                         f"half done; ask for at least {done + 1}")
    if finished:  # the checkpoint of a run that had ended: end it as that run did
        history = finish_run(net, early_stopping=early)
    else:
        with stopper:
            history = train(
                net, Xs, Ytr, optimizer=args.optimizer, learning_rate=args.lr,
                batch_size=batch_size, epochs=remaining, seed=args.seed,
                validation_split=validation_split, early_stopping=early, callbacks=callbacks,
                schedule=args.schedule, metric=metric_name,
            )
    seconds = time.perf_counter() - t0
    # A Ctrl-C after the last step has nothing left to stop: the finished model is written as usual.
    if history is not None and history.stopped == "interrupted":
        if checkpointer:
            path = save_checkpoint(args.checkpoint_dir, model, config)
            err.print(f"interrupted; the state is saved in {path}; continue with the same command and --resume")
        else:
            err.print("interrupted; nothing saved (with --checkpoint-dir DIR a run can be resumed)")
        if log:
            log.close()
        return EXIT_INTERRUPTED

    model.history = history
    metrics = {"epochs": len(history) if history else 0, "seconds_this_run": round(seconds, 3)}
    if history is not None and len(history):
        last = history.records[-1]
        metrics.update(train_cost=last["cost"], val_cost=last["val_cost"], best_epoch=history.best_epoch)
    if len(test_idx):
        test = model.evaluate(ds.X[test_idx], ds.y[test_idx] if task == "classification" else Y[test_idx])
        metrics.update({f"test_{k}": v for k, v in test.items()})
        metrics["test_rows"] = int(len(test_idx))
    model.metrics = metrics
    if args.out:
        save(model, args.out)
    if args.plot and history is not None:
        plot_history(history, args.plot, title=f"{ds.source}: {'-'.join(map(str, net.activations))}")
    if log:
        log.write({"event": "summary", **metrics})
        log.close()
    if not args.quiet:
        _summary(out, metrics, task, args, history)
    return EXIT_OK


def _summary(console, metrics, task, args, history):
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
            table.add_row(label, _fmt(metrics[key]))
    if "test_rows" in metrics:
        if task == "classification":
            table.add_row(f"held-out accuracy ({metrics['test_rows']} rows)", f"{metrics['test_accuracy']:.4f}")
        else:
            table.add_row(f"held-out R^2 ({metrics['test_rows']} rows)", f"{metrics['test_r2']:.4f}")
            table.add_row("held-out RMSE", _fmt(metrics["test_rmse"]))
        table.add_row("held-out cost", _fmt(metrics["test_cost"]))
    table.add_row("time", f"{metrics['seconds_this_run']:.2f} s")
    if args.out:
        table.add_row("model", args.out)
    if args.plot:
        table.add_row("learning curve", args.plot)
    console.print(table)


# --- plot --------------------------------------------------------------------------------------------------


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'deltaprop[plot]' (or pip install matplotlib)") from None


def plot_history(history, path, title=""):
    """Training and validation cost (and the metric) per epoch, as a PNG."""
    _require_matplotlib()
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


def cmd_plot(args) -> int:
    from .training import History

    source = args.history
    if source.endswith(".jsonl"):
        try:
            with open(source, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{source}: not a JSON-lines log ({exc})") from None
        records = [{k: v for k, v in r.items() if k != "event"} for r in rows if r.get("event") == "epoch"]
        if not records:
            raise ValueError(f"{source}: no epoch records")
        history = History(records, "metric")
    else:
        model = load(source)
        history = getattr(model, "history", None)
        if history is None or not len(history):
            raise ValueError(f"{source}: the model holds no training history")
    out = args.out or os.path.splitext(source)[0] + ".png"
    check_writable(out, "--out")
    plot_history(history, out, title=os.path.basename(source))
    if not args.quiet:
        _console().print(f"wrote {out}")
    return EXIT_OK


# --- predict, evaluate ------------------------------------------------------------------------------------


def _load_model(path) -> Model:
    obj = load(path)
    if isinstance(obj, Network):
        return Model(obj, "regression")
    if not isinstance(obj, Model):
        obj = getattr(obj, "_deltaprop_model", None)
        if obj is None:
            raise ValueError(f"{path}: not a model the command line can use")
    return obj


def _model_inputs(model, args, need_target):
    ds = read_data(args.data, args.target if need_target else None, drop_missing=args.drop_missing,
                   columns=model.feature_names if not args.data.endswith(".npz") else None,
                   labels=getattr(args, "labels", None))
    if ds.X.shape[1] != model.n_features:
        raise ValueError(f"{args.data}: {ds.X.shape[1]} feature columns, but the model was trained on "
                         f"{model.n_features}")
    return ds


def cmd_predict(args) -> int:
    import csv
    import io

    model = _load_model(args.model)
    if args.proba and model.task != "classification":
        raise UsageError("--proba is for classification models; this one does regression")
    ds = _model_inputs(model, args, need_target=False)
    pred = model.predict(ds.X)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if model.task == "classification":
        header = ["prediction"] + ([str(c) for c in model.classes] if args.proba else [])
        writer.writerow(header)
        proba = model.predict_proba(ds.X) if args.proba else None
        for i, p in enumerate(pred):
            writer.writerow([p] + ([f"{v:.6g}" for v in proba[i]] if proba is not None else []))
    else:
        pred2 = pred.reshape(len(pred), -1)
        names = model.target_names if model.target_names and len(model.target_names) == pred2.shape[1] else None
        writer.writerow(["prediction"] if pred2.shape[1] == 1 else [f"prediction_{n}" for n in
                                                                    (names or range(pred2.shape[1]))])
        for row in pred2:
            writer.writerow([f"{v:.8g}" for v in row])
    if args.out:
        check_writable(args.out, "--out")
        atomic_write_bytes(args.out, buffer.getvalue().encode("utf-8"))
        if not args.quiet:
            _console(stderr=True).print(f"wrote {len(pred)} predictions to {args.out}")
    else:
        sys.stdout.write(buffer.getvalue())
    return EXIT_OK


def cmd_evaluate(args) -> int:
    model = _load_model(args.model)
    if not args.target:
        raise UsageError("--target COLUMN is required: which column holds the true values?")
    ds = _model_inputs(model, args, need_target=True)
    if ds.y is None:
        raise UsageError(f"{args.data}: no target values found")
    metrics = model.evaluate(ds.X, ds.y)
    if args.json:
        print(json.dumps({k: float(v) for k, v in metrics.items()}))
    else:
        from rich.table import Table

        table = Table(title=f"{args.model} on {args.data} ({len(ds.X)} rows)", show_header=False)
        for k, v in metrics.items():
            table.add_row(k, f"{v:.6g}")
        _console().print(table)
    return EXIT_OK


# --- gradcheck, info, datasets --------------------------------------------------------------------------------


def _random_problem(args, rows: int):
    """``--layers 2,3,1``: a random layered network (float64) and random data it can be scored on."""
    if args.model:
        raise UsageError("give either MODEL DATA or --layers, not both")
    sizes = _int_list(args.layers, "--layers")
    if len(sizes) < 2:
        raise UsageError("--layers needs at least an input and an output size, such as 2,3,1")
    cost = args.cost.replace("-", "_")
    try:
        net = Network.layered(sizes, hidden=args.activation, output=args.output, cost=cost,
                              weight_decay=args.weight_decay, dtype="float64", seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rng = np.random.default_rng(args.seed)
    X = np.round(rng.normal(size=(rows, sizes[0])), 2)
    if cost == "cross_entropy" and args.output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], rows)]
    elif cost == "cross_entropy":
        Y = rng.integers(0, 2, size=(rows, sizes[-1])).astype(float)
    else:
        Y = np.round(rng.uniform(size=(rows, sizes[-1])), 2)
    return net, X, Y


def cmd_gradcheck(args) -> int:
    from .gradcheck import gradcheck

    if args.layers:
        net, X, Y = _random_problem(args, args.rows)
        what = f"random {args.activation}/{args.output} network {args.layers}, {args.rows} random examples"
    else:
        if not (args.model and args.data):
            raise UsageError("give MODEL DATA --target COLUMN, or --layers 2,3,1")
        model = _load_model(args.model)
        if not args.target:
            raise UsageError("--target COLUMN is required with MODEL DATA")
        ds = _model_inputs(model, args, need_target=True)
        rows = np.arange(min(args.rows, len(ds.X)))
        X = model.inputs(ds.X[rows])
        Y = model.targets(ds.y[rows])
        net = model.network
        what = f"{args.model} on the first {len(rows)} rows of {args.data}"
    report = gradcheck(net, X, Y, max_checks=args.max_checks, order=args.order, tol=args.tol)
    if args.json:
        print(json.dumps({"passed": report.passed, "max_error": report.max_error,
                          "W_errors": [None if np.isnan(e) else e for e in report.W_errors],
                          "b_errors": [None if np.isnan(e) else e for e in report.b_errors],
                          "checked": int(report.checked.sum()), "near_kinks": report.near_kinks}))
    else:
        console = _console()
        console.print(what)
        console.print(str(report))
    return EXIT_OK if report.passed else EXIT_CHECK_FAILED


def cmd_info(args) -> int:
    from .io.modelfile import _open

    record, specs, path = _open(args.model)
    obj = None
    if record["kind"] == "checkpoint":
        from .io.modelfile import load_checkpoint

        obj, _ = load_checkpoint(path)
    else:
        obj = load(path)
    model = obj if isinstance(obj, Model) else getattr(obj, "_deltaprop_model", None)
    net = obj if isinstance(obj, Network) else model.network
    info = {
        "file": path,
        "kind": record["kind"],
        "format_version": record["format_version"],
        "written by deltaprop": record["deltaprop_version"],
        "network": repr(net),
        "parameters": net.n_params,
    }
    if net.graph_spec is not None:
        info["units"] = len([u for u in net.graph_spec["units"] if u["kind"] == "unit"])
        info["unit edges"] = len(net.graph_spec["edges"])
    if model is not None:
        info["task"] = model.task
        if model.classes is not None:
            info["classes"] = ", ".join(map(str, model.classes))
        if model.feature_names:
            names = model.feature_names
            info["inputs"] = f"{len(names)}: " + ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
        info["input scaling"] = "standardised (mean/std of the training data)" if model.scaler else "none"
        for k, v in model.settings.items():
            info[f"setting {k}"] = v
        for k, v in model.metrics.items():
            info[f"metric {k}"] = v
    if record["kind"] == "checkpoint" and net.training_state is not None:
        info["epochs done"] = net.training_state.epoch
    if args.json:
        print(json.dumps(info, default=str))
        return EXIT_OK
    from rich.table import Table

    table = Table(show_header=False, title=os.path.basename(path))
    table.add_column(style="bold")
    table.add_column()
    for k, v in info.items():
        table.add_row(k, _fmt(v) if isinstance(v, float) else str(v))
    _console().print(table)
    return EXIT_OK


def cmd_explain(args) -> int:
    from .explain import explain

    if args.layers:
        net, x, y = _random_problem(args, 1)
    else:
        if not (args.model and args.data):
            raise UsageError("give MODEL DATA --row N (with --target COL), or --layers 2,3,2")
        if not args.target:
            raise UsageError("--target COLUMN is required with MODEL DATA: backprop needs the true value")
        try:
            rows = [int(r) for r in str(args.row).split(",")]
        except ValueError:
            raise UsageError(f"--row takes row numbers such as 3 or 1,2; got {args.row!r}") from None
        model = _load_model(args.model)
        ds = _model_inputs(model, args, need_target=True)
        bad = [r for r in rows if not 1 <= r <= len(ds.X)]
        if bad:
            raise UsageError(f"--row {bad[0]}: {args.data} has data rows 1..{len(ds.X)}")
        idx = np.array(rows) - 1
        net = model.network
        x, y = model.inputs(ds.X[idx]), model.targets(ds.y[idx])
    ex = explain(net, x, y, notation=args.notation)
    text = {"text": ex.to_text, "markdown": ex.to_markdown, "html": ex.to_html}[args.format]()
    if args.out:
        check_writable(args.out, "--out")
        atomic_write_bytes(args.out, text.encode("utf-8"))
        if not args.quiet:
            _console(stderr=True).print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_export(args) -> int:
    from .export import export_onnx

    obj = load(args.model)
    check_writable(args.onnx, "--onnx")
    export_onnx(obj, args.onnx, opset=args.opset)
    if not args.quiet:
        _console().print(f"wrote {args.onnx} (ONNX opset {args.opset}): raw float32 features in, "
                         + ("probabilities" if getattr(obj, "task", None) == "classification" else "outputs") + " out")
    return EXIT_OK


def cmd_datasets(args) -> int:
    from rich.table import Table

    table = Table(title="built-in data sets (deltaprop train --dataset NAME)")
    table.add_column("name", style="bold")
    table.add_column("task")
    table.add_column("description")
    for name, (desc, task) in builtin_datasets().items():
        table.add_row(name, task, desc)
    _console().print(table)
    return EXIT_OK


# --- the parser ----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    data = _Parser(add_help=False)
    data.add_argument("--drop-missing", action="store_true",
                      help="skip CSV rows with a missing cell (empty, NA, nan, ?) instead of refusing the file")
    data.add_argument("--labels", help="IDX labels file (default: the MNIST name next to the images file)")

    random_net = _Parser(add_help=False)  # the --layers problem that _random_problem builds
    random_net.add_argument("--activation", default="sigmoid", help="hidden activation with --layers (default sigmoid)")
    random_net.add_argument("--output", default="sigmoid", help="output activation with --layers (default sigmoid)")
    random_net.add_argument("--cost", default="squared", help="cost with --layers (default squared)")
    random_net.add_argument("--weight-decay", type=_nonneg_float, default=0.0)
    random_net.add_argument("--seed", type=int, default=0)

    parser = _Parser(
        prog="deltaprop",
        description="Train feed-forward networks by backpropagation, exactly as the textbooks teach it.",
    )
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("train", parents=[common, data], help="train a network on a CSV, .npz, IDX or built-in data",
                       description="Train a network; by default ReLU hidden layers, softmax + cross-entropy for "
                                   "labels, identity + squared cost for real values, Adam.")
    p.add_argument("data", nargs="?", metavar="DATA", help="CSV with a header, .npz (X, y) or IDX images")
    p.add_argument("--dataset", metavar="NAME", help="built-in data: " + ", ".join(builtin_datasets()))
    p.add_argument("--target", metavar="COL", help="the target column of a CSV (or array of an .npz)")
    p.add_argument("--task", choices=["classification", "regression"], help="override the guess from the target")
    p.add_argument("--hidden", default="64", metavar="SIZES", help="hidden layer sizes, e.g. 128,64 (default 64)")
    p.add_argument("--activation", default="relu", help="hidden activation, or one per layer (default relu)")
    p.add_argument("--cost", choices=["cross-entropy", "squared"], help="default: cross-entropy for labels, "
                                                                         "squared for real values")
    p.add_argument("--optimizer", default="adam", help="sgd, momentum, nesterov, adam, adamw, rprop, lbfgs")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default 0.003 for adam and adamw, else the optimizer's own)")
    p.add_argument("--batch-size", type=int, default=32, help="examples per step; 0 for the full batch (default 32)")
    p.add_argument("--epochs", type=_positive_int, default=50, help="at most this many epochs (default 50)")
    p.add_argument("--weight-decay", type=_nonneg_float, default=1e-4, help="lambda of lambda/2 sum W^2")
    p.add_argument("--schedule", default=None, help="constant, step, exponential, invscaling, plateau")
    p.add_argument("--validation-split", type=_fraction, default=0.1)
    p.add_argument("--early-stopping", type=_positive_int, default=5, metavar="PATIENCE",
                   help="epochs without a lower validation cost before stopping (default 5)")
    p.add_argument("--test-split", type=_fraction, default=0.2,
                   help="held out for the final accuracy, never trained on (default 0.2)")
    p.add_argument("--no-scale", action="store_true",
                   help="do not standardise the inputs (nor, for regression, the targets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--out", default="model.safetensors", help="model file to write (default model.safetensors)")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="save the training state after every epoch")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --checkpoint-dir")
    p.add_argument("--plot", metavar="FILE.png", help="write the learning curve (needs matplotlib)")
    p.add_argument("--log-jsonl", metavar="FILE", help="append one JSON object per epoch to FILE")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", parents=[common, data], help="predict with a model file")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--proba", action="store_true", help="add one probability column per class")
    p.add_argument("--out", help="CSV to write (default: standard output)")
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", parents=[common, data], help="score a model file on labelled data")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--json", action="store_true", help='print one JSON object, e.g. {"accuracy": 0.97, "cost": 0.08}')
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("gradcheck", parents=[common, data, random_net],
                       help="check backprop against finite differences")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--layers", metavar="SIZES", help="check a random layered network instead, e.g. 2,3,1")
    p.add_argument("--rows", type=_positive_int, default=10, help="examples to check on (default 10)")
    p.add_argument("--max-checks", type=_positive_int, default=None, help="check a random sample of parameters")
    p.add_argument("--order", type=int, choices=[2, 4], default=2, help="central difference of order 2 or 4")
    p.add_argument("--tol", type=_positive_float, default=1e-7)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("info", parents=[common], help="what a model or checkpoint file holds")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("datasets", parents=[common], help="list the built-in data sets")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("explain", parents=[common, data, random_net],
                       help="every z, a, delta and gradient of one example, checked")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--row", default="1", help="data row(s) to explain, 1 = the first after the header (e.g. 3 or 1,2)")
    p.add_argument("--layers", metavar="SIZES", help="explain a random layered network instead, e.g. 2,3,2")
    p.add_argument("--notation", choices=["ufldl", "aima"], default="ufldl")
    p.add_argument("--format", choices=["text", "markdown", "html"], default="text")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", parents=[common], help="write a model as ONNX (needs the onnx extra)")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--onnx", metavar="PATH", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("plot", parents=[common], help="learning curve of a model file or a --log-jsonl log")
    p.add_argument("history", metavar="HISTORY", help="a model file or a .jsonl log")
    p.add_argument("--out", metavar="FILE.png")
    p.set_defaults(func=cmd_plot)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"deltaprop {args.command}: error: {exc}\n(see deltaprop {args.command} --help)", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError, ImportError, DivergenceError, FileFormatError) as exc:
        if args.debug:
            raise
        print(f"deltaprop {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("deltaprop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
