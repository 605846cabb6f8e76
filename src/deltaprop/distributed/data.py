"""Tables on a Dask cluster: Parquet or CSV read by ``dask.dataframe``, preprocessed with statistics
computed in one distributed pass, ready for :func:`deltaprop.train` and saved as any other model.

The decisions are those of :meth:`deltaprop.preprocess.Columns.fit` (numbers as they are, text
one-hot encoded, missing numbers refused or filled), taken from per-partition statistics merged
on the driver: counts, means and sums of squared deviations (merged exactly, Chan's pairwise
rule), the categories of text columns and the target's classes. The scaler's mean and standard
deviation of every encoded input follow from them, so the data is read once for the statistics
and once more when the workers load their partitions for training. With ``drop_missing``, the
rows the in-memory ``--drop-missing`` leaves out are left out on the workers, before the
statistics (:func:`complete_rows`, applied again to the partitions trained on). Differences from the
in-memory path, all stated: ``impute="median"`` is refused (an exact median needs the sorted
column across partitions; dask's quantiles are approximate); a column's kind follows its dtype
as read (a text column of numbers with a typo stays text); row-number columns are not detected.
"""

from __future__ import annotations

import contextlib
import glob as globmod
import math
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core import Network
from ..io.data import MISSING_CELLS, NAMELESS, may_be_row_index, missing_mask, row_index_note
from ..model import Model, Scaler, task_rule
from ..preprocess import Column, Columns, as_table, is_number_column, text_values
from ..train import History
from .objective import held_out

__all__ = ["ClusterTable", "complete_rows", "holdout", "read", "partition_stats", "merge_stats"]

MAX_CLASSES = 1000  # distinct target values kept per partition: beyond this a target is not a set of classes


def moments(x: np.ndarray) -> list:
    """``[n, mean, M2, max |x|]`` of finite numbers x."""
    if x.size == 0:
        return [0, 0.0, 0.0, 0.0]
    mean = float(x.mean())
    return [int(x.size), mean, float(((x - mean) ** 2).sum()), float(np.abs(x).max())]


def merge_moments(a: list, b: list) -> list:
    """Chan's pairwise rule: the moments of two disjoint sets of numbers, exactly (up to rounding)."""
    na, ma, Ma, xa = a
    nb, mb, Mb, xb = b
    n = na + nb
    if n == 0:
        return [0, 0.0, 0.0, 0.0]
    delta = mb - ma
    return [n, ma + delta * nb / n, Ma + Mb + delta * delta * na * nb / n, max(xa, xb)]


def merge_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def column_stats(values: np.ndarray, *, counts: bool, cap: int) -> dict:
    if is_number_column(values):
        x = np.asarray(values, dtype=np.float64)
        missing = np.isnan(x)
        inf = np.isinf(x)
        present = x[~missing & ~inf]
        s = {"kind": "number", "moments": moments(present), "missing": int(missing.sum()), "inf": int(inf.sum())}
        if counts:
            vals, k = np.unique(present, return_counts=True)
            s["counts"] = dict(zip(vals.tolist()[:cap], k.tolist()[:cap])) if vals.size <= cap else None
            s["whole"] = bool(np.all(present == np.round(present)))
        return s
    text = text_values(values)
    c = {}
    for v in text:
        if v is not None:
            c[v] = c.get(v, 0) + 1
    return {"kind": "text", "counts": c if len(c) <= cap else None, "missing": sum(v is None for v in text)}


def merge_column(a: dict, b: dict, name: str) -> dict:
    if a["kind"] != b["kind"]:
        raise ValueError(f"column {name!r}: numbers in some partitions and text in others; make its type one")
    out = {"kind": a["kind"], "missing": a["missing"] + b["missing"]}
    if a["kind"] == "number":
        out["moments"] = merge_moments(a["moments"], b["moments"])
        out["inf"] = a["inf"] + b["inf"]
        if "whole" in a:
            out["whole"] = a["whole"] and b["whole"]
    if "counts" in a:
        out["counts"] = None if a["counts"] is None or b["counts"] is None else merge_counts(a["counts"], b["counts"])
    return out


def complete_rows(frame, subset: list):
    """Runs on a worker: the partition's rows with a value in every column of ``subset`` (missing as
    :func:`deltaprop.io.data.missing_mask` defines it for the in-memory path)."""
    if not subset or len(frame) == 0:
        return frame
    table = as_table(frame[subset])
    gaps = np.zeros(len(frame), dtype=bool)
    for name in subset:
        gaps |= missing_mask(table[name])
    return frame[~gaps] if gaps.any() else frame


def partition_stats(frame, names: list, target: str, *, numbers_counted: bool, cap: int,
                    drop: list | None = None, index: str | None = None) -> dict:
    """Runs on a worker: the statistics of one partition (a pandas DataFrame); with ``drop``, of
    its :func:`complete_rows` in those columns, counting the rows left out. With ``index``, the
    name of a first column that may be a row index, also how it counts (:func:`counting`), over
    all the partition's rows."""
    rows = len(frame)
    counts = counting(frame[index]) if index is not None else None
    if drop:
        frame = complete_rows(frame, drop)
    table = as_table(frame[names + [target]])
    stats = {"rows": len(frame), "dropped": rows - len(frame),
             "target": column_stats(table[target], counts=True, cap=MAX_CLASSES)}
    for name in names:
        stats[name] = column_stats(table[name], counts=numbers_counted, cap=cap)
    stats["index"] = counts
    return stats


def counting(values) -> dict:
    """How a column counts, for the row-index rule: ``n`` values, the ``first`` and ``last``, and
    whether each is the one before it plus 1 (``steps``); a column of anything but numbers never does."""
    x = np.asarray(values)
    if x.dtype.kind not in "iuf" or not len(x):
        return {"n": len(x), "first": None, "last": None, "steps": not len(x)}
    x = x.astype(np.float64)
    return {"n": len(x), "first": float(x[0]), "last": float(x[-1]), "steps": bool(np.all(np.diff(x) == 1))}


def merge_counting(a: dict | None, b: dict | None) -> dict | None:
    """Two consecutive runs of rows' :func:`counting` as one (the order matters: a's rows come first)."""
    if a is None or b is None:
        return None
    if not a["n"] or not b["n"]:
        return b if not a["n"] else a
    joined = b["first"] == a["last"] + 1
    return {"n": a["n"] + b["n"], "first": a["first"], "last": b["last"], "steps": a["steps"] and b["steps"] and joined}


def merge_stats(a: dict, b: dict) -> dict:
    """Two partitions' statistics as one (associative: merged in a tree, in a fixed order)."""
    out = {"rows": a["rows"] + b["rows"], "dropped": a["dropped"] + b["dropped"],
           "index": merge_counting(a["index"], b["index"])}
    for k in a:
        if k not in ("rows", "dropped", "index"):
            out[k] = merge_column(a[k], b[k], k)
    return out


def _without_row_index(counts: dict | None, index: str | None, use: list, notes: list, source: str) -> list:
    """The in-memory reader's rule (:func:`deltaprop.io.data.read_table`), from the merged statistics:
    a nameless first column that counts the rows from 0 or 1 is the row index pandas and R write, left
    out and said; any other nameless first column is refused."""
    if index is None:
        return use
    if counts is not None and counts["steps"] and counts["n"] and counts["first"] in (0.0, 1.0):
        notes.append(row_index_note(source, counts["first"]))
        use = [n for n in use if n != index]
        if not use:
            raise ValueError(f"{source}: no feature columns left besides the row index and the target")
        return use
    if index in NAMELESS and index in use:  # (an --ignore of it is taken as the user's word)
        raise ValueError(f"{source}: column 1 of the header has no name; name it, or --ignore 'column 1'")
    return use


def encode_inputs(frame, columns: Columns, scaler: Scaler | None):
    """Runs on a worker: one partition's network inputs, as a pandas DataFrame of float64."""
    import pandas as pd

    X, _ = columns.transform(as_table(frame[columns.names]), source="a partition")
    if scaler is not None:
        X = scaler.transform(X)
    return pd.DataFrame(X, columns=columns.input_names, index=frame.index)


def encode_targets(frame, target: str, classes: list | None, target_scaler: Scaler | None):
    """Runs on a worker: one partition's targets (one-hot for classes, standardised for regression)."""
    import pandas as pd

    from ..model import encode_labels

    y = as_table(frame[[target]])[target]
    if classes is not None:
        values = np.asarray(text_values(y), dtype=object) if not is_number_column(y) else y
        Y = encode_labels(values, classes)[0]
        names = [f"{target}={c}" for c in classes]
    else:
        Y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        if target_scaler is not None:
            Y = target_scaler.transform(Y)
        names = [target]
    return pd.DataFrame(Y, columns=names, index=frame.index)


@dataclass(eq=False)
class ClusterTable:
    """A table on a Dask cluster, encoded for a network, with what a :class:`~deltaprop.Model` keeps.

    Attributes
    ----------
    X : dask DataFrame of shape (n_rows, n_inputs)
        The scaled network inputs, computed partition by partition on the workers.
    Y : dask DataFrame of shape (n_rows, n_outputs)
        One-hot classes (classification) or the (standardised) target (regression).
    task : {"classification", "regression"}
    classes : list or None
    columns : Columns
        Per-column decisions, applied again by ``Model.predict``.
    scaler, target_scaler : Scaler or None
    target : str
    n_rows : int
    decisions : list of str
        One line per decision worth telling (the command line prints them).
    client : distributed.Client
    close : callable
        Stops the embedded cluster, if :func:`read` started one.
    """

    X: object
    Y: object
    task: str
    classes: list | None
    columns: Columns
    scaler: Scaler | None
    target_scaler: Scaler | None
    target: str
    n_rows: int
    source: str
    decisions: list = field(default_factory=list)
    client: object = None
    close: Callable[[], None] = lambda: None

    @property
    def n_inputs(self) -> int:
        return len(self.columns.input_names)

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.classes is not None else 1

    def model(self, network: Network, *, history: History | None = None, settings: dict | None = None) -> Model:
        """The :class:`~deltaprop.Model` of ``network`` trained on this table: ``dp.save`` writes it and
        ``predict`` takes raw tables, as for a model trained in memory."""
        if network.n_inputs != self.n_inputs or network.n_outputs != self.n_outputs:
            raise ValueError(f"network has {network.n_inputs} inputs and {network.n_outputs} outputs; this table "
                             f"needs {self.n_inputs} and {self.n_outputs}")
        return Model(network, self.task, self.classes, self.columns.input_names, [self.target], self.scaler,
                     dict(settings or {}), history=history, target_scaler=self.target_scaler, columns=self.columns)


@contextlib.contextmanager
def malformed_csv(source: str, delimiter: str | None):
    """pandas' parser errors (raised while dask reads a CSV's first block, or on a worker) as one line
    naming the file and the delimiter, instead of dask's wrapped message."""
    import pandas as pd

    try:
        yield
    except pd.errors.ParserError as exc:
        words = [ln for ln in str(exc).splitlines() if ln.strip()]
        said = words[-1].replace("Original Message: ", "") if words else type(exc).__name__
        sep = "" if delimiter is None else f" with the delimiter {delimiter!r}"
        raise ValueError(f"{source}: not readable as CSV{sep} ({said}); --delimiter sets the delimiter") from None


def read_frame(path: str | list, *, delimiter: str | None = None) -> tuple:
    """``(frame, notes)``: a dask DataFrame from Parquet (``.parquet``, ``.pq`` or a directory) or CSV
    files (globs allowed), and what reading decided that a user should know. CSV files are read
    as in memory (:func:`deltaprop.io.data.csv_dialect` on the first file): the same delimiter
    (``delimiter``, or sniffed), decimal mark and missing-cell words."""
    import dask.dataframe as dd

    from ..io.data import csv_dialect

    paths = []
    for p in [path] if isinstance(path, str) else list(path):
        p = os.fspath(p)
        found = sorted(globmod.glob(p)) if any(ch in p for ch in "*?[") else [p]
        if not found or not os.path.exists(found[0]):
            raise ValueError(f"{p}: no such file" + (" (the pattern matches nothing)" if not found else ""))
        paths += found
    lower = paths[0].lower()
    if os.path.isdir(paths[0]) or lower.endswith((".parquet", ".pq")):
        return dd.read_parquet(paths), []
    if lower.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")):
        dialect = csv_dialect(paths[0], delimiter=delimiter)
        with malformed_csv(paths[0], dialect.delimiter):
            frame = dd.read_csv(paths, sep=dialect.delimiter, decimal=dialect.decimal, na_values=MISSING_CELLS,
                                keep_default_na=False,
                                blocksize=None if lower.endswith(".gz") else "64MB",
                                compression="gzip" if lower.endswith(".gz") else None)
        names = {c: str(c).strip() for c in frame.columns}
        if dialect.header and not dialect.header[0]:  # pandas calls it "Unnamed: 0"; memory, "column 1"
            names[frame.columns[0]] = "column 1"
        return frame.rename(columns=names), dialect.notes
    raise ValueError(f"{path}: expected Parquet (.parquet, .pq, a directory) or CSV (.csv, .tsv, .csv.gz) files")


def read(path, *, target: str, features: list | None = None, ignore=(), impute: str = "none",
         max_categories: int = 20, task: str | None = None, scale: bool = True, drop_missing: bool = False,
         delimiter: str | None = None, client=None) -> ClusterTable:
    """Read Parquet or CSV files on a Dask cluster and encode them for a network, in one statistics pass.

    Parameters
    ----------
    path : str, list of str, or dask DataFrame
        A file, a directory of Parquet files, a glob (``data/*.parquet``) or a list of them; or a dask DataFrame.
    target : str
        The column to predict.
    features, ignore
        The columns to use (default: all but the target), and columns to leave out.
    impute : {"none", "mean", "most-frequent"}
        What a missing number becomes ("none" refuses it). "median" is refused: see the module notes.
    max_categories : int, default 20
        The most distinct values a text column may have to be one-hot encoded.
    task : {"classification", "regression"}, optional
        Default: by :data:`deltaprop.model.TASK_RULE`.
    scale : bool, default True
        Standardise the inputs (and a regression target).
    drop_missing : bool, default False
        Leave out the rows without a target, and (with ``impute="none"``) the rows with any
        missing feature, before the statistics, as the in-memory ``--drop-missing`` does;
        otherwise a missing target or a missing number without a fill is refused.
    delimiter : str, optional
        A CSV's delimiter (one character, or ``tab``, ``semicolon``, ...); by default sniffed from
        the first file's first lines, as in memory. A semicolon file that writes ``39,1`` is read
        with a decimal comma, and the cells in memory's list of missing words are missing.
    client : None, str or distributed.Client
        As for :func:`deltaprop.distributed.connect`; None starts an embedded local cluster,
        which ``ClusterTable.close`` stops.

    Returns
    -------
    ClusterTable

    Raises
    ------
    ValueError
        Naming the file, the column and what was expected.

    Examples
    --------
    >>> import deltaprop as dp, deltaprop.distributed as dpd                        # doctest: +SKIP
    >>> data = dpd.read("data/*.parquet", target="y", client="local:2")
    >>> net = dp.Network.layered([data.n_inputs, 32, data.n_outputs], output="softmax", cost="cross_entropy")
    >>> dp.train(net, data.X, data.Y, optimizer="lbfgs", epochs=50, client=data.client)
    >>> dp.save(data.model(net), "model.dp"); data.close()
    """
    import dask

    from .cluster import connect

    if impute == "median":
        raise ValueError("impute='median' is not computed on a Dask cluster: an exact median needs each column sorted "
                         "across partitions (dask's quantiles are approximate); use impute='mean' or 'most-frequent'")
    if impute not in ("none", "mean", "most-frequent"):
        raise ValueError(f"impute must be one of none, mean, most-frequent, got {impute!r}")
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    is_frame = hasattr(path, "divisions") and hasattr(path, "to_delayed")
    source = "the DataFrame" if is_frame else os.fspath(path) if isinstance(path, (str, os.PathLike)) else \
        f"{os.fspath(path[0])} and {len(path) - 1} more" if len(path) > 1 else os.fspath(path[0])
    frame, notes = (path, []) if is_frame else read_frame(path, delimiter=delimiter)
    names = [str(c) for c in frame.columns]
    index = names[0] if names and names[0] != target and may_be_row_index(names[0]) else None
    if target not in names:
        raise ValueError(f"{source}: no column {target!r}; the columns are {', '.join(names[:20])}")
    use = [n for n in (features if features is not None else names) if n != target and n not in set(ignore)]
    absent = [n for n in use if n not in names]
    if absent:
        raise ValueError(f"{source}: no column(s) {', '.join(map(repr, absent))}")
    if not use:
        raise ValueError(f"{source}: no feature columns left besides the target {target!r}")

    drop = ([target] + (use if impute == "none" else [])) if drop_missing else None
    c, close = connect(client)
    try:
        parts = frame.to_delayed()
        stats = [dask.delayed(partition_stats)(p, use, target, numbers_counted=impute == "most-frequent",
                                               cap=max(int(max_categories), 1) + 1, drop=drop, index=index)
                 for p in parts]
        while len(stats) > 1:  # a tree of merges, in a fixed order
            stats = [dask.delayed(merge_stats)(stats[i], stats[i + 1]) if i + 1 < len(stats) else stats[i]
                     for i in range(0, len(stats), 2)]
        with malformed_csv(source, None):  # a later block of a CSV, parsed on a worker
            s = c.compute(stats[0]).result()
        if drop and s["rows"] == 0:
            raise ValueError(f"{source}: every row has a missing value" + (" (in the target)" if len(drop) == 1 else ""))
        use = _without_row_index(s["index"], index, use, notes, source)
        if drop:
            frame = frame.map_partitions(complete_rows, drop, meta=dict(frame.dtypes))  # the same rows, for training
        table = decide(s, use, target, impute=impute, max_categories=max_categories, task=task, scale=scale,
                       source=source)
        columns, scaler, target_scaler, classes, task_, decisions = table
        if s["dropped"]:
            what = "without a target" if len(drop) == 1 else "with a missing value"
            decisions.insert(0, f"{s['dropped']} rows {what} skipped (--drop-missing)")
        decisions[:0] = notes  # how the files were read comes first, as in memory
        X = frame.map_partitions(encode_inputs, columns, scaler,
                                 meta={n: np.float64 for n in columns.input_names})
        y_names = [f"{target}={k}" for k in classes] if classes is not None else [target]
        Y = frame.map_partitions(encode_targets, target, classes, target_scaler, meta={n: np.float64 for n in y_names})
    except BaseException:
        close()
        raise
    return ClusterTable(X, Y, task_, classes, columns, scaler, target_scaler, target, int(s["rows"]), source,
                        decisions, c, close)


def decide(s: dict, names: list, target: str, *, impute: str, max_categories: int, task: str | None, scale: bool,
           source: str):
    """Columns, scalers, classes and task from the merged statistics (the in-memory rules, stated there)."""
    where = f"{source}: "
    m = s["rows"]
    if m == 0:
        raise ValueError(f"{where}no rows")
    cols, decisions, means, stds = [], [], [], []
    for name in names:
        st = s[name]
        if st["kind"] == "number":
            n, mean, M2, big = st["moments"]
            if st["inf"]:
                raise ValueError(f"{where}column {name!r}: {st['inf']} infinite values; expected finite numbers")
            if n == 0:
                raise ValueError(f"{where}column {name!r}: every value is missing; leave it out (--ignore {name})")
            fill = None
            if impute == "mean":  # every number column keeps its fill: predict may meet a gap anywhere
                fill = mean
            elif impute != "none" and st["counts"] is not None:
                counts = st["counts"]
                top = max(counts.values())
                fill = float(min(v for v, k in counts.items() if k == top))  # the smallest of the most frequent
            elif impute != "none" and st["missing"]:
                raise ValueError(f"{where}column {name!r}: too many distinct values to find the most frequent one "
                                 "across partitions; use --impute mean (impute='mean') for it")
            if st["missing"]:
                if impute == "none":
                    raise ValueError(f"{where}column {name!r}: {st['missing']} missing values; pass --impute mean|"
                                     "most-frequent (impute=...) to fill them, or --drop-missing (drop_missing=True) "
                                     "to skip those rows")
                decisions.append(f"column {name!r}: {st['missing']} missing of {m} filled with the training rows' "
                                 f"{impute.replace('-', ' ')} {fill:.6g}")
                n, mean, M2, big = merge_moments([n, mean, M2, big], [st["missing"], fill, 0.0, abs(fill)])
            if M2 == 0:
                decisions.append(f"column {name!r}: one value in every row; it informs nothing (kept, scaled to 0)")
            cols.append(Column(name, "number", fill))
            means.append(mean)
            std = math.sqrt(M2 / n)
            informative = big > 0 and std / big > 1e-12 and std > np.finfo(np.float64).tiny
            stds.append(std if informative else 1.0)
            continue
        counts = st["counts"]
        if counts is None or len(counts) > max_categories:
            raise ValueError(f"{where}column {name!r}: more than --max-categories {max_categories} distinct values; "
                             f"leave it out with --ignore {name}, or raise --max-categories to one-hot encode it")
        if not counts:
            raise ValueError(f"{where}column {name!r}: every value is missing; leave it out (--ignore {name})")
        cats = sorted(counts)
        note = f", {st['missing']} missing encoded as all zeros" if st["missing"] else ""
        decisions.append(f"column {name!r}: text, one-hot encoded into {len(cats)} inputs{note}")
        cols.append(Column(name, "category", categories=tuple(cats)))
        for k in cats:
            p = counts[k] / m
            means.append(p)
            std = math.sqrt(p * (1 - p))
            stds.append(std if std > 1e-12 else 1.0)
    t = s["target"]
    if t["missing"] or t.get("inf"):
        raise ValueError(f"{where}target {target!r}: {t['missing'] + t.get('inf', 0)} missing or infinite values"
                         + ("; pass --drop-missing (drop_missing=True) to skip the rows without a target"
                            if t["missing"] and not t.get("inf") else ""))
    if task is None:  # the same rule as in memory, on the statistics merged from the partitions
        task, _ = task_rule(labels=t["kind"] == "text", whole=bool(t.get("whole", False)),
                            distinct=None if t["counts"] is None else len(t["counts"]), rows=m)
    classes, target_scaler = None, None
    if task == "classification":
        if t["counts"] is None:
            raise ValueError(f"{where}target {target!r}: more than {MAX_CLASSES} distinct values; not a set of classes")
        classes = sorted(t["counts"])
        if len(classes) < 2:
            raise ValueError(f"{where}the target has a single class {classes[0]!r}; classification needs two")
    else:
        if t["kind"] != "number":
            raise ValueError(f"{where}regression needs numbers in the target {target!r}")
        if scale:
            n, mean, M2, big = t["moments"]
            std = math.sqrt(M2 / n)
            informative = big > 0 and std / big > 1e-12
            target_scaler = Scaler(np.array([mean]), np.array([std if informative else 1.0]))
    scaler = Scaler(np.array(means), np.array(stds)) if scale else None
    return Columns(tuple(cols)), scaler, target_scaler, classes, task, decisions


def take_rows(frame, fraction: float, seed: int, number: int, held: bool):
    """Runs on a worker: partition ``number``'s held-out rows (``held``) or the others."""
    mask = held_out(len(frame), fraction, seed, number)
    return frame[mask if held else ~mask]


def holdout(X, Y, fraction: float, *, seed: int) -> tuple[tuple, tuple]:
    """Split dask DataFrames X and Y by rows into training and validation parts, partition by partition.

    Each row of partition k is held out with probability ``fraction``, drawn by a generator seeded
    with ``(seed, k)`` on the worker that reads the partition: nothing passes through the driver,
    and the same seed holds out the same rows in every run (a resumed one included). So the
    validation share is ``fraction`` in expectation, not exactly.

    Parameters
    ----------
    X : dask DataFrame of shape (n_rows, n_inputs)
    Y : dask DataFrame of shape (n_rows, n_outputs), split into the same partitions as X
    fraction : float in (0, 1)
    seed : int >= 0

    Returns
    -------
    (X_train, Y_train), (X_val, Y_val) : dask DataFrames
    """
    import dask
    import dask.dataframe as dd

    if not (isinstance(fraction, float | int) and 0 < fraction < 1):
        raise ValueError(f"validation split must be a fraction in (0, 1), got {fraction!r}")
    xs, ys = X.to_delayed(), Y.to_delayed()
    if len(xs) != len(ys):
        raise ValueError(f"Y has {len(ys)} partitions but X has {len(xs)}; split them alike")

    def side(parts, like, held):
        pieces = [dask.delayed(take_rows)(p, fraction, seed, k, held) for k, p in enumerate(parts)]
        return dd.from_delayed(pieces, meta=dict(like.dtypes), verify_meta=False)

    return (side(xs, X, False), side(ys, Y, False)), (side(xs, X, True), side(ys, Y, True))
