"""``deltaprop train FILES --scheduler local:N | tcp://HOST:PORT``: the same training on a Dask cluster.

The files are read by the workers (:func:`deltaprop.distributed.read`), the statistics computed in
one distributed pass, and the network trained full batch (L-BFGS by default) with J and its
gradient summed per partition; the model file is the same as in-memory training writes.
"""

from __future__ import annotations

import time

from ..core import Network
from ..io import save
from .common import EXIT_OK, UsageError, fmt
from .progress import ProgressBar

NOT_YET = {  # flags of in-memory training that the cluster path does not take (yet), and their defaults
    "--checkpoint-dir": ("checkpoint_dir", None), "--resume": ("resume", False), "--plot": ("plot", None),
    "--log-jsonl": ("log_jsonl", None), "--schedule": ("schedule", None), "--drop-missing": ("drop_missing", False),
    "--dataset": ("dataset", None),
}


def check_flags(args, optimizer) -> None:
    """Refuse, before any work, what the cluster path cannot do."""
    for flag, (attr, default) in NOT_YET.items():
        if getattr(args, attr, default) not in (default, None, False):
            raise UsageError(f"{flag} is not available with --scheduler yet")
    if not args.target:
        raise UsageError("--scheduler needs --target COL (the column to predict)")
    if not (optimizer.full_batch or args.batch_size == 0):
        raise UsageError(f"--scheduler trains full batch (one reduction per step): use --optimizer lbfgs, rprop or "
                         f"gd, or --batch-size 0 (got --optimizer {args.optimizer} with --batch-size {args.batch_size})")


def train_on_cluster(args, files: list, hidden: list, acts: list, say) -> int:
    from ..distributed import read
    from ..train import train

    t0 = time.perf_counter()
    data = read(files if len(files) > 1 else files[0], target=args.target, features=args.features,
                ignore=args.ignore or (), impute=args.impute, max_categories=args.max_categories, task=args.task,
                scale=not args.no_scale, client=args.scheduler)
    try:
        for line in data.decisions:
            say(line)
        classification = data.task == "classification"
        cost = (args.cost or ("cross-entropy" if classification else "squared")).replace("-", "_")
        if cost == "cross_entropy" and not classification:
            raise UsageError("--cost cross-entropy needs a classification target; this one is regression")
        workers = len(data.client.scheduler_info(n_workers=-1)["workers"])
        say(f"{data.source}: {data.n_rows} rows, {data.n_inputs} inputs, "
            + (f"{len(data.classes)} classes" if classification else "regression")
            + f"; on a Dask cluster of {workers} workers ({args.scheduler}); every row is trained on "
            "(no validation or test split on the cluster yet)")
        net = Network.layered([data.n_inputs, *hidden, data.n_outputs], hidden=acts,
                              output="softmax" if classification else "identity", cost=cost,
                              weight_decay=args.weight_decay, dtype=args.dtype, seed=args.seed)
        callbacks = [] if args.quiet else [ProgressBar(_stderr(), None)]
        history = train(net, data.X, data.Y, optimizer=args.optimizer, learning_rate=args.lr, batch_size=None,
                        epochs=args.epochs, seed=args.seed, callbacks=callbacks, metric=None, client=data.client)
        settings = {"data": data.source, "task": data.task, "hidden": hidden, "activation": acts, "cost": cost,
                    "optimizer": args.optimizer, "lr": args.lr, "epochs": args.epochs,
                    "weight_decay": args.weight_decay, "seed": args.seed, "dtype": args.dtype,
                    "scale": not args.no_scale, "scheduler": args.scheduler, "rows": data.n_rows}
        model = data.model(net, history=history, settings=settings)
    finally:
        data.close()
    seconds = time.perf_counter() - t0
    model.metrics = {"epochs": len(history), "seconds_this_run": round(seconds, 3), "train_cost": history["cost"][-1]}
    if args.out:
        save(model, args.out)
    say(f"trained {len(history)} iterations in {seconds:.1f} s; final J {fmt(history['cost'][-1])}"
        + (f"; model written to {args.out}" if args.out else ""))
    return EXIT_OK


def _stderr():
    from .common import console

    return console(stderr=True)
