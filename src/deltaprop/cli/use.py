"""Using model files: ``predict``, ``evaluate``, ``info``, ``export``, ``plot``; and ``datasets``."""

from __future__ import annotations

import json
import os
import sys

from ..core import Network
from ..io import as_model, atomic_write_bytes, builtin_datasets, check_writable, load, load_checkpoint, read_header
from ..io.logs import read_log
from ..plot import plot_history
from .data import model_inputs
from .common import (EXIT_OK, UsageError, console, fmt, guard_outputs, load_model, safe_text,
                     spreadsheet_safe)

# --- predict, evaluate ------------------------------------------------------------------------------------


def cmd_predict(args) -> int:
    import csv
    import io

    guard_outputs({"--out": args.out}, {"MODEL": args.model, "DATA": args.data, "--labels": getattr(args, "labels", None)})
    model = load_model(args.model)
    if args.proba and model.task != "classification":
        raise UsageError("--proba is for classification models; this one does regression")
    err = console(stderr=True)
    ds = model_inputs(model, args, need_target=False,
                      say=(lambda text: None) if args.quiet else (lambda text: err.print(safe_text(text))))
    pred = model.predict(ds.X)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # with --drop-missing some rows may be skipped: each prediction then says which row of DATA it is for
    numbered = args.drop_missing and ds.rows is not None
    first = ["row"] if numbered else []
    cells = (lambda i: [str(int(ds.rows[i]))]) if numbered else (lambda i: [])
    if model.task == "classification":
        # labels come from the model file: neutralised for spreadsheets (a leading ') and terminals
        header = first + ["prediction"] + ([spreadsheet_safe(c) for c in model.classes] if args.proba else [])
        writer.writerow(header)
        proba = model.predict_proba(ds.X) if args.proba else None
        labels = {c: spreadsheet_safe(c) for c in model.classes}
        for i, p in enumerate(pred):
            writer.writerow(cells(i) + [labels[p]] + ([f"{v:.6g}" for v in proba[i]] if proba is not None else []))
    else:
        pred2 = pred.reshape(len(pred), -1)
        names = model.target_names if model.target_names and len(model.target_names) == pred2.shape[1] else None
        writer.writerow(first + (["prediction"] if pred2.shape[1] == 1 else
                                 [spreadsheet_safe(f"prediction_{n}") for n in (names or range(pred2.shape[1]))]))
        for i, row in enumerate(pred2):
            writer.writerow(cells(i) + [f"{v:.8g}" for v in row])
    if args.out:
        check_writable(args.out, "--out")
        atomic_write_bytes(args.out, buffer.getvalue().encode("utf-8"))
        if not args.quiet:
            console(stderr=True).print(f"wrote {len(pred)} predictions to {args.out}")
    else:
        sys.stdout.write(buffer.getvalue())
    return EXIT_OK


def cmd_evaluate(args) -> int:
    model = load_model(args.model)
    if not args.target:
        raise UsageError("--target COLUMN is required: which column holds the true values?")
    ds = model_inputs(model, args, need_target=True)
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
        console().print(table)
    return EXIT_OK


# --- info ----------------------------------------------------------------------------------------------------


def _describe(obj, record, path) -> dict:
    """What ``info`` shows of a loaded network, model, checkpoint or estimator."""
    model = None if isinstance(obj, Network) else as_model(obj)
    net = obj if isinstance(obj, Network) else model.network if model is not None else obj.network_
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
    if record["kind"] == "estimator":
        info["estimator"] = type(obj).__name__
    if model is None and getattr(obj, "output_kind_", None) == "multilabel":
        info["task"] = "multilabel classification"
        info["classes"] = ", ".join(map(str, obj.classes_))
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
    return info


def cmd_info(args) -> int:
    record, specs, path = read_header(args.model)
    obj = load_checkpoint(path)[0] if record["kind"] == "checkpoint" else load(path)
    info = _describe(obj, record, path)
    if args.json:
        print(json.dumps(info, default=str))
        return EXIT_OK
    from rich.table import Table

    table = Table(show_header=False, title=os.path.basename(path))
    table.add_column(style="bold")
    table.add_column()
    for k, v in info.items():  # names and values from the file: never sent to the terminal raw
        table.add_row(safe_text(k), fmt(v) if isinstance(v, float) else safe_text(v))
    console().print(table)
    return EXIT_OK


# --- export, plot, datasets ------------------------------------------------------------------------------------


def cmd_export(args) -> int:
    from ..export import export_onnx

    guard_outputs({"--onnx": args.onnx}, {"MODEL": args.model})
    obj = load(args.model)
    check_writable(args.onnx, "--onnx")
    precision = export_onnx(obj, args.onnx, opset=args.opset)
    if not args.quiet:
        console().print(f"wrote {args.onnx} (ONNX opset {args.opset}): raw {precision} features in, "
                        + ("probabilities" if getattr(obj, "task", None) == "classification" else "outputs") + " out")
    return EXIT_OK


def cmd_plot(args) -> int:
    source = args.history
    if source.endswith(".jsonl"):
        history = read_log(source)
    else:
        obj = load(source)
        model = as_model(obj)
        history = model.history if model is not None else getattr(obj, "history_", None)
        if history is None or not len(history):
            raise ValueError(f"{source}: the model holds no training history")
    out = args.out or os.path.splitext(source)[0] + ".png"
    guard_outputs({"--out": out}, {"HISTORY": source})
    check_writable(out, "--out")
    plot_history(history, out, title=os.path.basename(source))
    if not args.quiet:
        console().print(f"wrote {out}")
    return EXIT_OK


def cmd_datasets(args) -> int:
    from rich.table import Table

    table = Table(title="built-in data sets (deltaprop train --dataset NAME)")
    table.add_column("name", style="bold")
    table.add_column("task")
    table.add_column("description")
    for name, (desc, task) in builtin_datasets().items():
        table.add_row(name, task, desc)
    console().print(table)
    return EXIT_OK
