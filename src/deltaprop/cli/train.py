"""``deltaprop train``: read the data, choose the network, train with progress and checkpoints, write the model."""

from __future__ import annotations

import contextlib
import os
import time

import numpy as np

from ..core import Network
from ..io import check_writable, newest_checkpoint, save
from ..io.logs import Checkpointer, JsonlLog
from ..io.modelfile import CheckpointLock, checkpoint_files, remove_stale_temporaries
from ..model import Model, Scaler, encode_labels, fingerprint, split_test, task_reason
from ..plot import plot_history, require_matplotlib
from ..train import finish_run, train
from .common import (EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, UsageError, console, guard_outputs, safe_text,
                     watched_metric)
from .data import encode_columns, load_training_data
from .distributed import check_flags, input_files, train_on_cluster
from .flags import train_flags
from .progress import StopOnSignal, progress_for, summary_table

MIN_VALIDATION_ROWS = 50  # below this, early stopping on the validation cost is left off


def cmd_train(args) -> int:
    err = console(stderr=True)
    say = (lambda *a: None) if args.quiet else (lambda text: err.print(safe_text(text)))
    files = args.data or []
    if args.optimizer is None:
        args.optimizer = "lbfgs" if args.scheduler else "adam"
    if len(files) > 1 and not args.scheduler:
        raise UsageError(f"{len(files)} DATA files given; one file is read in memory (several need --scheduler)")
    args.data = files[0] if files else None
    if args.test_split is None and not args.scheduler:
        args.test_split = 0.2  # the flag's default in memory; the cluster path holds out no test rows
    hidden, acts, batch_size = train_flags(args)
    if args.scheduler:  # the data stays on a Dask cluster: a path of its own
        from ..train import get_optimizer

        check_flags(args, get_optimizer(args.optimizer))
        if not files:
            raise UsageError("--scheduler needs DATA: Parquet or CSV files")
        # every file the cluster will read is an input no output may replace (a glob or a folder: each file in it)
        guard_outputs({"--out": args.out, "--plot": args.plot, "--log-jsonl": args.log_jsonl},
                      {f"DATA {path}": path for path in input_files(files)})
    _prepare_outputs(args)
    with contextlib.ExitStack() as stack:
        if args.checkpoint_dir:  # one run per checkpoint directory, for the whole run
            stack.enter_context(CheckpointLock(args.checkpoint_dir))
            _claim_checkpoints(args, say)
        if args.scheduler:
            return train_on_cluster(args, files, hidden, acts, say, resumed=_resumed_network)
        return _run(args, hidden, acts, batch_size, err, say)


def _run(args, hidden, acts, batch_size, err, say) -> int:
    ds, table = load_training_data(args, say)
    task, Y, classes, cost = _target(ds, args, say)
    train_idx, test_idx = split_test(len(Y), args.test_split, args.seed, Y if task == "classification" else None)
    columns = encode_columns(args, ds, table, train_idx, say) if table is not None else None
    config = _config(args, ds, hidden, acts, cost, task, fingerprint(ds.X, ds.y))
    model = _model(args, ds, Y[train_idx], train_idx, classes, config, say)
    model.columns = columns
    Xs = model.inputs(ds.X[train_idx])
    Ytr = model.targets(Y[train_idx]) if task == "regression" else Y[train_idx]
    log = JsonlLog(args.log_jsonl) if args.log_jsonl else None
    validation_split, early = _validation(args, len(Xs), say)
    # what the run did, which info reports: 0 is off (the flags may ask for more than the data allows)
    model.settings.update(early_stopping=early or 0, validation_split=validation_split or 0)
    checkpointer = Checkpointer(args.checkpoint_dir, model, config) if args.checkpoint_dir else None
    history, seconds, signal_name = _fit(args, model, Xs, Ytr, batch_size, (validation_split, early),
                                         [log, checkpointer], err, say)
    # A Ctrl-C after the last step has nothing left to stop: the finished model is written as usual.
    if history is not None and history.stopped == "interrupted":
        what = signal_name or "interrupted"
        if checkpointer:
            path = checkpointer.save()
            err.print(f"{what}; the state is saved in {path}; continue with the same command and --resume")
        else:
            err.print(f"{what}; nothing saved (with --checkpoint-dir DIR a run can be resumed)")
        if log:
            log.close()
        return EXIT_TERMINATED if signal_name and "SIGTERM" in signal_name else EXIT_INTERRUPTED

    model.history = history
    model.metrics = metrics = _metrics(model, history, seconds, ds, Y, test_idx)
    if args.out:
        save(model, args.out)
    if args.plot and history is not None:
        plot_history(history, args.plot, title=f"{ds.source}: {'-'.join(map(str, model.network.activations))}")
    if log:
        log.write({"event": "summary", **metrics})
        log.close()
    if not args.quiet:
        console().print(summary_table(metrics, task, args, history))
    return EXIT_OK


def _claim_checkpoints(args, say) -> None:
    """Under the directory's lock: clear what a killed run left half-written, and never let a fresh run
    delete an earlier run's checkpoints unless told to."""
    remove_stale_temporaries(args.checkpoint_dir)  # only now: another live run could own them before the lock
    old = checkpoint_files(args.checkpoint_dir)
    if args.resume or not old:
        return
    if not args.overwrite_checkpoints:
        raise UsageError(f"--checkpoint-dir {args.checkpoint_dir} holds {len(old)} checkpoint(s) of an earlier run "
                         f"(newest {os.path.basename(old[-1])}); add --resume to continue it, or "
                         "--overwrite-checkpoints to delete them and start afresh")
    for path in old:
        os.unlink(path)
    say(f"deleted {len(old)} checkpoint(s) of an earlier run in {args.checkpoint_dir} (--overwrite-checkpoints)")


# --- before any data is read: flags, names, outputs -------------------------------------------------------


def _prepare_outputs(args) -> None:
    """Every output is checked before training, not after it: writable, a regular file or new, and
    none of them the input data (``train data.csv --out data.csv`` would replace the data)."""
    guard_outputs({"--out": args.out, "--plot": args.plot, "--log-jsonl": args.log_jsonl},
                  {"DATA": args.data, "--labels": getattr(args, "labels", None)})
    if args.out:
        check_writable(args.out, "--out")
    if args.plot:
        check_writable(args.plot, "--plot")
        require_matplotlib()
    if args.checkpoint_dir:
        os.makedirs(args.checkpoint_dir, exist_ok=True)
        check_writable(os.path.join(args.checkpoint_dir, "checkpoint.probe"), "--checkpoint-dir")


def _target(ds, args, say):
    """``(task, Y, classes, cost)``: the task (flag or guess), the targets as the network's Y, and the cost."""
    task, why = (args.task, "--task") if args.task else task_reason(ds.y)
    if task == "classification":
        Y, classes = encode_labels(ds.y)
        if len(classes) < 2:
            raise ValueError(f"{ds.source}: the target has a single class {classes[0]!r}; classification needs two")
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
    if task == "classification":
        shown = ", ".join(map(str, classes[:8])) + (" ..." if len(classes) > 8 else "")
        say(f"target {ds.target_name!r}: {len(classes)} classes ({shown}) -> classification ({why}), "
            f"softmax outputs + {cost.replace('_', '-')} cost")
    else:
        say(f"target {ds.target_name!r}: regression ({why}), identity outputs + squared cost"
            + ("" if args.no_scale else " (on standardised targets)") + ("" if args.task else "; --task overrides"))
    return task, Y, classes, cost


def _config(args, ds, hidden, activations, cost, task, fingerprint):
    return {
        "data": ds.source, "fingerprint": fingerprint, "task": task, "hidden": hidden, "activation": activations,
        "cost": cost, "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
        "weight_decay": args.weight_decay, "validation_split": args.validation_split,
        "early_stopping": args.early_stopping, "seed": args.seed, "dtype": args.dtype, "test_split": args.test_split,
        "scale": not args.no_scale, "schedule": args.schedule,
    }


# --- the model: resumed from a checkpoint, or new ---------------------------------------------------------


# Settings a checkpoint's config gained after checkpoints were first written, with the value every run had
# before: a checkpoint without the key was made with that value (the cluster path took neither flag then).
CONFIG_ADDED = {"schedule": None, "drop_missing": False}


def _resumed_network(args, config, say):
    """The network of the newest checkpoint in ``--checkpoint-dir``, or None to start fresh."""
    path, model, old_config, skipped = newest_checkpoint(args.checkpoint_dir)
    for s in skipped:
        say(f"skipped a damaged checkpoint: {s}")
    if path is None:
        say(f"no checkpoint in {args.checkpoint_dir}: starting fresh")
        return None
    then = {k: old_config.get(k, CONFIG_ADDED.get(k)) for k in config}
    diff = [k for k in config if then[k] != config[k]]
    if diff:
        changes = "; ".join(f"{k}: {then[k]!r} then, {config[k]!r} now" for k in diff[:4])
        raise ValueError(f"{path} was made by a different run ({changes}); use another --checkpoint-dir")
    net = model.network
    done = net.training_state.epoch if net.training_state else 0
    say(f"resuming from {path} (epoch {done} of {args.epochs} done)")
    return net


def _model(args, ds, Ytr, train_idx, classes, config, say) -> Model:
    task = config["task"]
    scaler = None if args.no_scale else Scaler.fit(ds.X[train_idx])
    settings = {k: v for k, v in config.items() if k not in ("fingerprint",)}
    settings["epochs"] = args.epochs
    net = _resumed_network(args, config, say) if args.resume else None
    if net is None:
        output = "softmax" if task == "classification" else "identity"
        net = Network.layered([ds.X.shape[1], *config["hidden"], Ytr.shape[1]], hidden=config["activation"],
                              output=output, cost=config["cost"], weight_decay=args.weight_decay, dtype=args.dtype,
                              seed=args.seed)
    target_scaler = Scaler.fit(Ytr) if task == "regression" and not args.no_scale else None
    return Model(net, task, classes, ds.feature_names, [ds.target_name] if ds.target_name else None, scaler,
                 settings, target_scaler=target_scaler)


# --- training and its results --------------------------------------------------------------------------------


def _validation(args, n_rows, say) -> tuple[float | None, int | None]:
    """``(validation split, patience)`` for ``n_rows`` training rows; either is None when off.
    ``--early-stopping 0`` turns early stopping off; so does a validation split too small to stop on."""
    validation_split = args.validation_split if args.validation_split > 0 and n_rows >= 10 else None
    early = args.early_stopping if validation_split and args.early_stopping else None
    n_val = int(round(n_rows * validation_split)) if validation_split else 0
    if early and n_val < MIN_VALIDATION_ROWS:
        say(f"early stopping off: a validation split of {n_val} rows is too noisy to stop on "
            f"(it needs {MIN_VALIDATION_ROWS}); training all {args.epochs} epochs")
        early = None
    return validation_split, early


def _fit(args, model, Xs, Ytr, batch_size, validation, watchers, err, say):
    """Train (or finish a run a checkpoint had ended); returns ``(history, seconds, signal)``, where
    ``signal`` says which signal stopped it (None if none did). ``validation`` is ``(split, patience)``."""
    net = model.network
    state = net.training_state
    done = state.epoch if state else 0
    remaining = args.epochs - done
    validation_split, early = validation

    metric_name = watched_metric(model.settings["cost"], model.task)
    callbacks = [] if args.quiet else [progress_for(err, metric_name)]
    callbacks += [w for w in watchers if w is not None]
    stopper = StopOnSignal()
    callbacks.append(stopper)
    signal_name = None

    t0 = time.perf_counter()
    if state is not None and state.pending is not None and remaining <= 0:
        raise UsageError(f"--epochs {args.epochs}: the checkpoint has {done} epochs done and epoch {done + 1} "
                         f"half done; ask for at least {done + 1}")
    if state is not None and state.pending is None and (remaining <= 0 or state.history.stopped == "early_stopping"):
        history = finish_run(net, early_stopping=early)  # the checkpoint of a run that had ended: end it as it did
    else:
        with stopper:
            history = train(
                net, Xs, Ytr, optimizer=args.optimizer, learning_rate=args.lr,
                batch_size=batch_size, epochs=remaining, seed=args.seed,
                validation_split=validation_split, early_stopping=early, callbacks=callbacks,
                schedule=args.schedule, metric=metric_name,
            )
    if stopper.received is not None:
        signal_name = StopOnSignal.SIGNALS[stopper.received]
    return history, time.perf_counter() - t0, signal_name


def _metrics(model, history, seconds, ds, Y, test_idx) -> dict:
    """What the run did and how the model scores on the held-out rows."""
    metrics = {"epochs": len(history) if history else 0, "seconds_this_run": round(seconds, 3)}
    if history is not None and len(history):
        kept = history.final_record()  # early stopping's restored epoch, not the last one run
        metrics.update(train_cost=kept["cost"], val_cost=kept["val_cost"], best_epoch=history.best_epoch)
    if len(test_idx):
        test = model.evaluate(ds.X[test_idx], ds.y[test_idx] if model.task == "classification" else Y[test_idx])
        metrics.update({f"test_{k}": v for k, v in test.items()})
        metrics["test_rows"] = int(len(test_idx))
    return metrics
