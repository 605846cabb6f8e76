"""Using model files: ``predict``, ``evaluate``, ``info``, ``export``, ``plot``; and ``datasets``."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np

from ..core import Network
from ..io import as_model, atomic_write_bytes, builtin_datasets, check_writable, load, load_checkpoint, read_header
from ..io.logs import read_log
from ..model import encode_labels
from ..plot import plot_history
from ..train import metrics
from .common import (EXIT_OK, UsageError, console, fmt, guard_outputs, load_model, safe_text,
                     spreadsheet_safe)
from .data import model_inputs

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
    report = {k: float(v) for k, v in model.evaluate(ds.X, ds.y).items()}
    report["rows"] = len(ds.X)
    report.update(_classes_report(model, ds.X, ds.y) if model.task == "classification" else _baseline(model, ds.y))
    if args.json:
        print(json.dumps(report))
        return EXIT_OK
    from rich.table import Table

    out = console()
    table = Table(title=f"{safe_text(args.model)} on {safe_text(args.data)} ({len(ds.X)} rows)", show_header=False)
    for k in ("cost", "accuracy", "r2", "rmse", "mae"):
        if k in report:
            table.add_row(k, f"{report[k]:.6g}")
    base = report["baseline"]
    if model.task == "classification":
        table.add_row("baseline", f"{safe_text(base['predicts'])!r} for every row, the most common class in this data")
        table.add_row("baseline accuracy", f"{base['accuracy']:.6g}")
    else:
        mean = ", ".join(f"{v:.6g}" for v in base["predicts"])
        table.add_row("baseline", f"the training targets' mean, {mean}, for every row" if base["strategy"] ==
                      "training_mean" else f"this data's own mean, {mean}, for every row (so its R^2 is 0; the "
                                           "model keeps no training mean)")
        for k in ("rmse", "mae", "r2"):
            table.add_row(f"baseline {k}", f"{base[k]:.6g}")
    out.print(table)
    if model.task == "classification":
        names = [safe_text(c) for c in report["classes"]]
        cm = Table(title="confusion matrix (rows: true class, columns: predicted)")
        cm.add_column("true \\ predicted", style="bold")
        for n in names:
            cm.add_column(n, justify="right")
        for n, row in zip(names, report["confusion_matrix"]):
            cm.add_row(n, *map(str, row))
        out.print(cm)
        per = Table(title="per class")
        for col in ("class", "precision", "recall", "F1", "support"):
            per.add_column(col, justify="left" if col == "class" else "right")
        pc = report["per_class"]
        for i, n in enumerate(names):
            per.add_row(n, *(f"{pc[k][i]:.4f}" for k in ("precision", "recall", "f1")), str(pc["support"][i]))
        per.add_row("macro average", *(f"{report['macro'][k]:.4f}" for k in ("precision", "recall", "f1")),
                    str(len(ds.X)))
        out.print(per)
    return EXIT_OK


def _classes_report(model, X, y) -> dict:
    """Confusion matrix, per-class precision, recall and F1, and the majority-class baseline (JSON-able)."""
    y = np.asarray(y)
    true = encode_labels(y.ravel() if y.ndim > 1 else y, model.classes)[0].argmax(axis=1)
    pred = model.predict_proba(X).argmax(axis=1)
    C = metrics.confusion_matrix(true, pred, len(model.classes))
    precision, recall, f1 = metrics.precision_recall_f1(C)
    majority, accuracy = metrics.majority_class(C)
    classes = [c.item() if isinstance(c, np.generic) else c for c in model.classes]
    return {
        "classes": classes, "confusion_matrix": C.tolist(),
        "per_class": {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
                      "support": C.sum(axis=1).tolist()},
        "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
        "baseline": {"strategy": "majority_class", "predicts": classes[majority], "accuracy": accuracy},
    }


def _baseline(model, y) -> dict:
    """The mean predictor's scores: the training targets' mean when the model file keeps it (target
    scaling on), else the evaluated data's own mean."""
    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    trained = model.target_scaler is not None
    mean = model.target_scaler.mean if trained else Y.mean(axis=0)
    scores = metrics.constant_prediction(Y, mean)
    return {"baseline": {"strategy": "training_mean" if trained else "data_mean",
                         "predicts": [float(v) for v in np.ravel(mean)], **scores}}


# --- info ----------------------------------------------------------------------------------------------------

INFO_KEYS = ("file", "kind", "format_version", "deltaprop_version", "network", "parameters", "units", "unit_edges",
             "estimator", "task", "classes", "columns", "inputs", "input_scaling", "settings", "metrics", "epochs_done")
LABELS = {"deltaprop_version": "written by deltaprop"}  # human labels that are not the key with spaces


def snake(key) -> str:
    """A key from a file as a stable JSON key: lower case, runs of other characters as one ``_``."""
    text = re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_")
    return text if re.match(r"[a-z]", text) else f"k_{text}"


def describe(obj, record, path) -> dict:
    """What ``info`` shows of a loaded network, model, checkpoint or estimator, under :data:`INFO_KEYS`."""
    model = None if isinstance(obj, Network) else as_model(obj)
    net = obj if isinstance(obj, Network) else model.network if model is not None else obj.network_
    info = {"file": path, "kind": record["kind"], "format_version": record["format_version"],
            "deltaprop_version": record["deltaprop_version"], "network": repr(net), "parameters": net.n_params}
    if net.graph_spec is not None:
        info["units"] = len([u for u in net.graph_spec["units"] if u["kind"] == "unit"])
        info["unit_edges"] = len(net.graph_spec["edges"])
    if record["kind"] == "estimator":
        info["estimator"] = type(obj).__name__
    if model is None and getattr(obj, "output_kind_", None) == "multilabel":
        info["task"] = "multilabel classification"
        info["classes"] = ", ".join(map(str, obj.classes_))
    if model is not None:
        info["task"] = model.task
        if model.classes is not None:
            info["classes"] = ", ".join(map(str, model.classes))
        if model.columns is not None:  # what each table column becomes (one line per column for a person)
            info["columns"] = model.columns.to_record()
        if model.feature_names:
            info["inputs"] = list(model.feature_names)
        info["input_scaling"] = "standardised (mean/std of the training data)" if model.scaler else "none"
        info["settings"] = {snake(k): v for k, v in model.settings.items()}
        info["metrics"] = {snake(k): v for k, v in model.metrics.items()}
    if record["kind"] == "checkpoint" and net.training_state is not None:
        info["epochs_done"] = net.training_state.epoch
    return info


def shown(key, value) -> str:
    """One value of ``info`` for a person: a long input list cut short, early stopping 0 as off."""
    if key == "inputs":
        return f"{len(value)}: " + ", ".join(map(str, value[:6])) + (" ..." if len(value) > 6 else "")
    if key == "setting early_stopping" and not value:
        return "off"
    if key == "setting batch_size" and value == 0:
        return "0 (the full batch)"
    return fmt(value) if isinstance(value, float) else str(value)


def column_line(rec: dict) -> str:
    """What one table column of a model becomes, for a person: ``text, one-hot (Biscoe, Dream, Torgersen)``."""
    if rec["kind"] == "number":
        return "number" + ("" if rec.get("fill") is None else f", missing -> {fmt(rec['fill'])}")
    cats = rec["categories"]
    return f"text, one-hot ({', '.join(cats[:6])}{' ...' if len(cats) > 6 else ''})"


def cmd_info(args) -> int:
    record, specs, path = read_header(args.model)
    obj = load_checkpoint(path)[0] if record["kind"] == "checkpoint" else load(path)
    info = describe(obj, record, path)
    if args.json:
        print(json.dumps(info, default=str))
        return EXIT_OK
    from rich.table import Table

    rows = []
    for k, v in info.items():
        if isinstance(v, dict):  # settings, metrics: one row each, as "setting lr"
            rows += [(f"{k[:-1] if k.endswith('s') else k} {name}", value) for name, value in v.items()]
        elif k == "columns":  # one row per table column, as "column island"
            rows += [(f"column {c['name']}", column_line(c)) for c in v]
        else:
            rows.append((LABELS.get(k, k.replace("_", " ")), v))
    table = Table(show_header=False, title=os.path.basename(path))
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows:  # names and values from the file: never sent to the terminal raw
        table.add_row(safe_text(k), safe_text(shown(k, v)))
    console().print(table)
    return EXIT_OK


# --- export, plot, datasets ------------------------------------------------------------------------------------


def cmd_export(args) -> int:
    from ..export import export_onnx, input_layout

    guard_outputs({"--onnx": args.onnx}, {"MODEL": args.model})
    obj = load(args.model)
    check_writable(args.onnx, "--onnx")
    precision = export_onnx(obj, args.onnx, opset=args.opset)
    if not args.quiet:
        inputs = (f"one input per table column (numbers {precision}, text as strings)" if input_layout(obj) == "columns"
                  else f"raw {precision} features")
        model = None if isinstance(obj, Network) else as_model(obj)  # an estimator file is a model too
        classifier = model is not None and model.task == "classification"
        console().print(f"wrote {args.onnx} (ONNX opset {args.opset}): {inputs} in, "
                        + ("probabilities and label" if classifier else "output" if model is None else "predictions")
                        + " out")
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
