"""Reading the data a command works on: tables (CSV, Parquet, Feather) with their columns encoded, and the rest.

``train`` reads a table's columns as they are, decides each column's encoding on the training rows
(:class:`deltaprop.preprocess.Columns`) and prints one line per decision; ``predict``, ``evaluate``
and ``explain`` apply the model's stored decisions to a table read the same way.
"""

from __future__ import annotations

import numpy as np

from ..io import load_builtin, read_data
from ..io.data import Dataset, check_path, feature_columns, is_table, missing_mask, read_table, target_values
from ..preprocess import Columns
from .common import UsageError


def load_training_data(args, say):
    """``(ds, table)``: the data set (its X still None for a table, whose columns are encoded once the
    training rows are known) and the table read (None for built-in, .npz and IDX data)."""
    if args.dataset and args.data:
        raise UsageError("give either a DATA file or --dataset NAME, not both")
    if args.dataset:
        ds = load_builtin(args.dataset)
        if args.target and args.target != ds.target_name:
            raise UsageError(f"--target: the built-in data set {args.dataset!r} has its own target")
        return ds, None
    if not args.data:
        raise UsageError("give a DATA file (with --target COLUMN) or --dataset NAME; see deltaprop datasets")
    if not is_table(args.data):
        ds = read_data(args.data, args.target, drop_missing=args.drop_missing, labels=getattr(args, "labels", None))
        if ds.y is None:
            raise UsageError(f"{args.data}: no target found (for .npz files an array 'y'; for IDX files a labels file)")
        return ds, None
    if not args.target:
        raise UsageError(f"--target COLUMN is required for {args.data}: which column holds the target?")
    table = read_table(check_path(args.data), delimiter=getattr(args, "delimiter", None), text_columns=[args.target],
                       progress=load_progress(args.data, say))
    for note in table.notes:
        say(note)
    features = feature_columns(table, args.target, features=getattr(args, "features", None),
                               ignore=getattr(args, "ignore", None) or ())
    impute = getattr(args, "impute", None) or "none"
    if getattr(args, "features", None):
        say(f"features (--features): {', '.join(features)}; the other columns are left out")
    if getattr(args, "ignore", None):
        say(f"left out (--ignore): {', '.join(args.ignore)}")
    # rows without a target cannot be trained on; rows with a missing feature are dropped only on request
    gaps = missing_mask(table.columns[args.target])
    if gaps.any() and not args.drop_missing:
        i = int(np.argmax(gaps))
        raise ValueError(f"{args.data}: row {table.rows[i]}, column {args.target!r} (the target): missing value; "
                         "pass --drop-missing to skip rows without a target")
    if args.drop_missing:
        if impute == "none":  # with --impute, missing features are filled and only rows without a target skipped
            for name in features:
                gaps |= missing_mask(table.columns[name])
        if gaps.all():
            raise ValueError(f"{args.data}: every row has a missing value")
        if gaps.any():
            say(f"{args.data}: {int(gaps.sum())} of {len(table)} rows skipped for missing values (--drop-missing)")
            table = table.take(~gaps)
    ds = Dataset(None, target_values(table, args.target), features, args.target, args.data, rows=table.rows)
    return ds, table


def encode_columns(args, ds, table, train_idx, say):
    """Decide each column's encoding on the training rows (never the held-out test rows), then encode all rows."""
    columns, decisions = Columns.fit({n: table.columns[n][train_idx] for n in ds.feature_names},
                                     names=ds.feature_names, impute=getattr(args, "impute", None) or "none",
                                     max_categories=getattr(args, "max_categories", None) or 20,
                                     row_numbers=table.rows[train_idx], source=args.data)
    for line in decisions:
        say(line)
    X, notes = columns.transform(table.columns, row_numbers=table.rows, source=args.data)
    for line in notes:
        say(f"held-out rows: {line}")
    ds.X, ds.feature_names = X, columns.input_names
    return columns


def model_inputs(model, args, need_target, say=None):
    """The data set ``args.data`` as the model's inputs: its columns chosen by name, text encoded and
    missing numbers filled as in training; ``ds.rows`` holds the file's row number of each row kept.

    Rows with a missing value the model cannot fill are refused, or skipped with ``--drop-missing``
    (the caller then says which rows remain).
    """
    say = say or (lambda text: None)
    text_classes = model.classes is not None and all(isinstance(c, str) for c in model.classes)
    target = args.target if need_target else None
    delimiter = getattr(args, "delimiter", None)
    if model.columns is None or not is_table(args.data):
        ds = read_data(args.data, target, drop_missing=args.drop_missing,
                       columns=model.feature_names if is_table(args.data) else None,
                       labels=getattr(args, "labels", None), target_as_text=need_target and text_classes,
                       delimiter=delimiter if is_table(args.data) else None)
        if ds.X.shape[1] != model.n_features:
            raise ValueError(f"{args.data}: {ds.X.shape[1]} feature columns, but the model was trained on "
                             f"{model.n_features}")
        return ds
    table = read_table(check_path(args.data), delimiter=delimiter, text_columns=[target] if target else (),
                       progress=load_progress(args.data, say))
    for note in table.notes:
        say(note)
    if target is not None and target not in table.columns:
        raise ValueError(f"{args.data}: no column named {target!r}; the columns are {', '.join(table.columns)}")
    absent = [c for c in model.columns.names if c not in table.columns]
    if absent:
        raise ValueError(f"{args.data}: missing column(s) {', '.join(map(repr, absent))} that the model needs")
    no_target = missing_mask(table.columns[target]) if target else np.zeros(len(table), dtype=bool)
    gaps = no_target.copy()  # rows the model cannot take: no target, or a gap in a number column without a fill
    for c in model.columns.columns:
        if c.kind == "number" and c.fill is None:
            gaps |= missing_mask(table.columns[c.name])
    if gaps.any() and args.drop_missing:
        if gaps.all():
            raise ValueError(f"{args.data}: every row has a missing value the model cannot fill")
        say(f"{args.data}: {int(gaps.sum())} rows skipped for missing values")
        table = table.take(~gaps)
    elif no_target.any():  # (a gap in a feature is named by the encoding below)
        i = int(np.argmax(no_target))
        raise ValueError(f"{args.data}: row {table.rows[i]}, column {target!r}: missing value; pass --drop-missing "
                         "to skip rows with missing values")
    X, notes = model.encode(table)
    for note in notes:
        say(f"{args.data}: {note}")
    y = None
    if target is not None:
        y = target_values(table, target, as_text=text_classes)
    return Dataset(X, y, model.feature_names, target, args.data, rows=table.rows)


def load_progress(path, say):
    """A ``progress(done, total)`` for :func:`deltaprop.io.read_table` that says how far a read has come,
    once a second, after the read's first second."""
    import time

    t0 = time.monotonic()
    state = {"said": 0.0}

    def progress(done, total):
        elapsed = time.monotonic() - t0
        if elapsed < 1.0 or elapsed - state["said"] < 1.0:
            return
        state["said"] = elapsed
        share = f"{100 * done / total:.0f}% of " if total else ""
        say(f"reading {path}: {share}{total / 1e6:.0f} MB, {elapsed:.0f} s")

    return progress
