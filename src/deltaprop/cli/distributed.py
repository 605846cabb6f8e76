"""``deltaprop train FILES --scheduler local:N | tcp://HOST:PORT``: the same training on a Dask cluster.

The files are read by the workers (:func:`deltaprop.distributed.read`), the statistics computed in
one distributed pass, and the network trained full batch (L-BFGS by default) with J and its
gradient summed per partition, or in minibatches of whole partitions (``--batch-size`` of at least
``MIN_REMOTE_BATCH`` rows with a first-order optimizer). ``--validation-split`` holds out rows of
every partition, drawn with the seed on the workers, and early stopping watches their J through a
second objective. ``--checkpoint-dir`` saves the driver's state after every iteration (the driver
holds all of it: parameters, optimizer state, history); ``--resume`` continues from the newest
checkpoint, where L-BFGS starts a fresh curvature memory. The model file is the same as in-memory
training writes.
"""

from __future__ import annotations

import time
from typing import Callable

from ..core import Network
from ..io import save
from ..io.logs import Checkpointer, JsonlLog
from ..train import MIN_REMOTE_BATCH, finish_run
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, UsageError, fmt, watched_metric
from .progress import StopOnSignal, progress_for

MIN_VALIDATION_ROWS = 50  # below this, early stopping on the validation cost is left off (as in memory)

NOT_YET = {  # flags of in-memory training that the cluster path does not take (yet), and their defaults
    "--dataset": ("dataset", None),
    "--labels": ("labels", None),  # MNIST's IDX files: the cluster reads Parquet and CSV
}


def input_files(paths: list) -> list:
    """The files a list of DATA arguments names: globs expanded, folders walked (what the workers will read)."""
    import glob
    import os

    found = []
    for p in paths:
        for q in (sorted(glob.glob(p)) if any(ch in p for ch in "*?[") else [p]):
            if os.path.isdir(q):
                found += [os.path.join(root, f) for root, _, names in os.walk(q) for f in sorted(names)]
            else:
                found.append(q)
    return found


def check_flags(args, optimizer) -> None:
    """Refuse, before any work, what the cluster path cannot do."""
    for flag, (attr, default) in NOT_YET.items():
        if getattr(args, attr, default) not in (default, None, False):
            raise UsageError(f"{flag} is not available with --scheduler yet")
    if not args.target:
        raise UsageError("--scheduler needs --target COL (the column to predict)")
    if args.test_split:  # asked for by name: taking it silently would score nothing the user asked for
        raise UsageError("--test-split is not available with --scheduler (no rows are held out for a final score "
                         "on the cluster); score a separate file with deltaprop evaluate")
    if not (optimizer.full_batch or args.batch_size == 0 or args.batch_size >= MIN_REMOTE_BATCH):
        raise UsageError(f"--scheduler trains full batch, or in minibatches of at least {MIN_REMOTE_BATCH} rows (one "
                         f"round trip to the workers per step): use --optimizer lbfgs, rprop or gd, --batch-size 0, or "
                         f"--batch-size {MIN_REMOTE_BATCH} or more (got --optimizer {args.optimizer} with --batch-size "
                         f"{args.batch_size})")


def split_seed(args) -> int:
    """The seed that draws the held-out rows: --seed, or 0 without one (so a resumed run holds out the same rows)."""
    return 0 if args.seed is None else int(args.seed)


def train_on_cluster(args, files: list, hidden: list, acts: list, say, *,
                     resumed: Callable | None = None) -> int:
    """Read ``files`` on the cluster, train, write the model; ``resumed(args, config, say)`` gives the
    network of the newest checkpoint (or None) when ``--resume`` is on."""
    from ..distributed import holdout, read, worker_threads
    from ..train import train

    t0 = time.perf_counter()
    data = read(files if len(files) > 1 else files[0], target=args.target, features=args.features,
                ignore=args.ignore or (), impute=args.impute, max_categories=args.max_categories, task=args.task,
                scale=not args.no_scale, drop_missing=args.drop_missing, delimiter=args.delimiter,
                client=args.scheduler)
    try:
        for line in data.decisions:
            say(line)
        classification = data.task == "classification"
        cost = (args.cost or ("cross-entropy" if classification else "squared")).replace("-", "_")
        if cost == "cross_entropy" and not classification:
            raise UsageError("--cost cross-entropy needs a classification target; this one is regression")
        vs = args.validation_split if args.validation_split > 0 else None
        early = args.early_stopping if vs and args.early_stopping else None
        n_val = round(data.n_rows * vs) if vs else 0
        if early and n_val < MIN_VALIDATION_ROWS:
            say(f"early stopping off: a validation split of about {n_val} rows is too noisy to stop on "
                f"(it needs {MIN_VALIDATION_ROWS}); training all {args.epochs} epochs")
            early = None
        workers = len(worker_threads(data.client))
        held = (f"about {n_val} rows ({vs:g} of each partition, drawn with seed {split_seed(args)}) held out for "
                "validation" if vs else "every row is trained on (--validation-split 0)")
        say(f"{data.source}: {data.n_rows} rows, {data.n_inputs} inputs, "
            + (f"{len(data.classes)} classes" if classification else "regression")
            + f"; on a Dask cluster of {workers} workers ({args.scheduler}); {held}; no test split on the cluster")
        batch_size = None if args.batch_size == 0 else args.batch_size
        config = {"data": data.source, "fingerprint": f"{data.n_rows} rows, inputs {data.columns.input_names}",
                  "task": data.task, "hidden": hidden, "activation": acts, "cost": cost, "optimizer": args.optimizer,
                  "lr": args.lr, "batch_size": args.batch_size, "weight_decay": args.weight_decay,
                  "validation_split": args.validation_split, "early_stopping": args.early_stopping, "seed": args.seed,
                  "dtype": args.dtype, "scale": not args.no_scale, "schedule": args.schedule,
                  "drop_missing": args.drop_missing}
        net = resumed(args, config, say) if resumed is not None and args.resume else None
        if net is None:
            net = Network.layered([data.n_inputs, *hidden, data.n_outputs], hidden=acts,
                                  output="softmax" if classification else "identity", cost=cost,
                                  weight_decay=args.weight_decay, dtype=args.dtype, seed=args.seed)
        settings = {k: v for k, v in config.items() if k != "fingerprint"}
        settings.update(epochs=args.epochs, scheduler=args.scheduler, rows=data.n_rows,
                        early_stopping=early or 0, validation_split=vs or 0)
        model = data.model(net, settings=settings)
        checkpointer = Checkpointer(args.checkpoint_dir, model, config) if args.checkpoint_dir else None
        state = net.training_state
        done = state.epoch if state else 0
        stopper = StopOnSignal()
        log = JsonlLog(args.log_jsonl) if args.log_jsonl else None
        metric_name = watched_metric(cost, data.task)  # of the validation rows, computed on the workers
        callbacks = (([] if args.quiet else [progress_for(_stderr(), metric_name)]) + [c for c in (checkpointer, log) if c]
                     + [stopper])
        if state is not None and state.pending is not None and args.epochs <= done:
            raise UsageError(f"--epochs {args.epochs}: the checkpoint has {done} epochs done and epoch {done + 1} "
                             f"half done; ask for at least {done + 1}")
        if state is not None and state.pending is None and (args.epochs <= done or state.history.stopped == "early_stopping"):
            history = finish_run(net, early_stopping=early)  # the checkpoint of a run that had ended: end it as it did
        else:
            train_data = (data.X, data.Y)
            validation = None
            if vs:
                train_data, validation = holdout(data.X, data.Y, vs, seed=split_seed(args))
            with stopper:
                history = train(net, *train_data, optimizer=args.optimizer, learning_rate=args.lr, schedule=args.schedule,
                                batch_size=batch_size, epochs=max(args.epochs - done, 1), seed=args.seed,
                                validation=validation, early_stopping=early, callbacks=callbacks,
                                metric=metric_name if vs else None,  # on every training row, it would cost a pass
                                client=data.client)
        if history.stopped == "interrupted":
            what = StopOnSignal.SIGNALS.get(stopper.received, "interrupted")
            if checkpointer:
                _stderr().print(f"{what}; the state is saved in {checkpointer.save()}; continue with the same command "
                                "and --resume")
            else:
                _stderr().print(f"{what}; nothing saved (with --checkpoint-dir DIR a run can be resumed)")
            if log:
                log.close()
            return EXIT_TERMINATED if stopper.received is not None and "SIGTERM" in what else EXIT_INTERRUPTED
        model.history = history
    finally:
        data.close()
    seconds = time.perf_counter() - t0
    kept = history.final_record()  # early stopping's restored epoch, not the last one run
    model.metrics = {"epochs": len(history), "seconds_this_run": round(seconds, 3), "train_cost": kept["cost"],
                     "val_cost": kept["val_cost"], "best_epoch": history.best_epoch}
    metric_name = history.metric_name
    if kept.get("metric") is not None and metric_name:
        model.metrics[f"val_{metric_name}"] = kept["metric"]
    if args.out:
        save(model, args.out)
    if args.plot:
        from ..plot import plot_history

        plot_history(history, args.plot, title=f"{data.source}: {'-'.join(map(str, model.network.activations))}")
    if log:
        log.write({"event": "summary", **model.metrics})
        log.close()
    val = "" if kept["val_cost"] is None else f", validation J {fmt(kept['val_cost'])}"
    if kept.get("metric") is not None and metric_name:
        val += f", validation {metric_name} {kept['metric']:.4f}"
    best = "" if history.best_epoch is None else f" (best epoch {history.best_epoch}, restored)"
    say(f"trained {len(history)} iterations in {seconds:.1f} s; final J {fmt(kept['cost'])}{val}{best}"
        + (f"; model written to {args.out}" if args.out else ""))
    return EXIT_OK


def _stderr():
    from .common import console

    return console(stderr=True)
