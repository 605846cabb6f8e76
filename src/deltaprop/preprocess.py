"""From a table's columns to the network's inputs: the decisions ``deltaprop train`` makes, kept for predict.

A table is any mapping from column name to a one-dimensional array (what
:func:`deltaprop.io.read_table` returns, or a pandas DataFrame): numbers as a float array
with NaN where a cell is missing, anything else as an object array of strings with None
where a cell is missing.

:meth:`Columns.fit` looks at the training rows once and decides, column by column:

* **numbers** go to the network as they are (the model's :class:`~deltaprop.model.Scaler`
  standardises them afterwards);
* **text and booleans** are one-hot encoded, one input per category, when a column has at
  most ``max_categories`` distinct values (default 20); a category not seen in training, and a
  missing text cell, encode as all zeros (scikit-learn's ``handle_unknown="ignore"``);
* a text column with more distinct values is refused: one distinct value per row (or nearly)
  looks like an ID or free text; otherwise there are too many categories for one-hot inputs;
  the message names the column and the flags that resolve it (``--ignore``, ``--max-categories``);
* a text column whose cells are mostly numbers (two thirds or more) is refused, naming the first
  cell that is not (a typo, a unit, a decimal comma), rather than encoded as categories;
* **missing numbers** are refused (``impute="none"``, the default: the message names the column
  and the row) or filled with the training rows' mean, median or most frequent value; with
  imputation on, every number column stores its value (not only those with gaps in training),
  and predict fills with it, so no row is ever dropped there;
* a number column of 20 rows or more that counts k, k+1, k+2, ... row by row is a row number or
  an ID, not a feature: refused, with the hint to ``--ignore`` it;
* a column holding a single value informs nothing; it is kept (the scaler maps it to 0) and said.

Each decision is returned as one line of text for the command line to print.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Column", "Columns", "IMPUTE", "as_table", "is_number_column", "text_values"]

IMPUTE = ("none", "mean", "median", "most-frequent")


def is_number_column(values: np.ndarray) -> bool:
    """Whether a table column holds numbers (a float, int or bool array), not text."""
    return np.asarray(values).dtype.kind in "fiub"


def as_table(data, *, names=None) -> dict:
    """A mapping of column name -> 1-D array from a pandas DataFrame, a mapping, or a 2-D array.

    A 2-D numeric array needs ``names`` (one per column). Pandas' nullable and categorical
    columns become float arrays with NaN, or object arrays with None, as above.
    """
    if hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, np.ndarray):
        names = [str(c) for c in data.columns]
        out = {}
        for name, col in zip(names, data.columns):
            s = data[col]
            kind = getattr(getattr(s, "dtype", None), "kind", "O")
            if kind == "b":  # booleans are categories, as when read from a file
                out[name] = np.array([None if _is_missing(v) else bool(v) for v in s.to_numpy(dtype=object)], dtype=object)
            elif kind in "fiu":
                out[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                arr = s.to_numpy(dtype=object)
                out[name] = np.array([None if _is_missing(v) else str(v) for v in arr], dtype=object)
        return out
    if isinstance(data, dict):
        return {str(k): np.asarray(v) for k, v in data.items()}
    X = np.asarray(data)
    if X.ndim != 2:
        raise ValueError(f"expected a table (DataFrame, mapping of columns) or a 2-D array, got shape {X.shape}")
    if names is None or len(names) != X.shape[1]:
        raise ValueError(f"a 2-D array of {X.shape[1]} columns needs {X.shape[1]} column names")
    return {n: X[:, j] for j, n in enumerate(names)}


def _is_missing(v) -> bool:
    if v is None or type(v).__name__ == "NAType":  # pandas' NA (pyarrow-backed columns), whose v != v is NA, not True
        return True
    try:
        return bool(v != v)  # NaN, NaT
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Column:
    """What one table column becomes.

    Attributes
    ----------
    name : str
        The column's name in the table.
    kind : {"number", "category"}
    fill : float or None
        number: the value a missing cell takes (None: a missing cell is refused).
    categories : tuple of str
        category: one network input per category, in this order.
    """

    name: str
    kind: str
    fill: float | None = None
    categories: tuple = ()

    @property
    def input_names(self) -> list[str]:
        """The names of the network inputs this column becomes: its own, or ``name=category`` each."""
        if self.kind == "number":
            return [self.name]
        return [f"{self.name}={c}" for c in self.categories]

    def to_record(self) -> dict:
        rec = {"name": self.name, "kind": self.kind}
        if self.kind == "number":
            rec["fill"] = self.fill
        else:
            rec["categories"] = list(self.categories)
        return rec


@dataclass(frozen=True)
class Columns:
    """The table columns a model reads, in order, and how each becomes network inputs.

    Attributes
    ----------
    columns : tuple of Column
    """

    columns: tuple = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        """The table columns read, in order."""
        return [c.name for c in self.columns]

    @property
    def input_names(self) -> list[str]:
        """The network's inputs, in order: one per number column, one per category."""
        return [n for c in self.columns for n in c.input_names]

    @property
    def plain(self) -> bool:
        """True when every column is a number without a fill: the inputs are the columns as read."""
        return all(c.kind == "number" and c.fill is None for c in self.columns)

    def to_record(self) -> list:
        return [c.to_record() for c in self.columns]

    @classmethod
    def from_record(cls, record: list) -> "Columns":
        """Rebuild from :meth:`to_record`'s list (validated by the file's schema before)."""
        cols = []
        for rec in record:
            if rec["kind"] == "number":
                fill = rec.get("fill")
                cols.append(Column(rec["name"], "number", None if fill is None else float(fill)))
            else:
                cats = tuple(str(c) for c in rec["categories"])
                if len(set(cats)) != len(cats):
                    raise ValueError(f"column {rec['name']!r}: categories repeat")
                cols.append(Column(rec["name"], "category", categories=cats))
        names = [c.name for c in cols]
        if len(set(names)) != len(names):
            raise ValueError("a column is listed twice")
        return cls(tuple(cols))

    @classmethod
    def numbers(cls, names) -> "Columns":
        """Plain number columns (what a model without preprocessing reads)."""
        return cls(tuple(Column(str(n), "number") for n in names))

    # --- deciding -------------------------------------------------------------------------------------------

    @classmethod
    def fit(cls, table, *, names=None, impute: str = "none", max_categories: int = 20,
            row_numbers=None, source: str | None = None) -> tuple["Columns", list[str]]:
        """Decide each column's encoding from the training rows.

        Parameters
        ----------
        table : mapping of str -> ndarray of shape (m,)
            The training rows' columns (numbers with NaN for missing, or text with None).
        names : list of str, optional
            The columns to use, in order (default: all of the table's).
        impute : {"none", "mean", "median", "most-frequent"}
            What a missing number becomes; "none" refuses it.
        max_categories : int
            The most distinct values a text column may have to be one-hot encoded.
        row_numbers : ndarray of int, optional
            The file's row number of each table row, for messages (default: 1-based positions).
        source : str, optional
            The file name, for messages.

        Returns
        -------
        columns : Columns
        decisions : list of str
            One line per decision worth telling (encoded, filled, constant), for the command line.

        Raises
        ------
        ValueError
            Naming the column (and row) of a column that cannot be used, and what would resolve it.
        """
        if impute not in IMPUTE:
            raise ValueError(f"impute must be one of {', '.join(IMPUTE)}, got {impute!r}")
        if int(max_categories) < 1:
            raise ValueError(f"max_categories must be at least 1, got {max_categories!r}")
        names = list(table) if names is None else list(names)
        where = f"{source}: " if source else ""
        cols, decisions = [], []
        for name in names:
            values = np.asarray(table[name])
            m = len(values)

            def row(i):
                return int(row_numbers[i]) if row_numbers is not None else int(i) + 1

            text = numbers = None
            if not is_number_column(values):  # each cell as text, and as a number where it is one: parsed once
                text = text_values(values)
                numbers = [None if v is None else _as_float(v) for v in text]
                if all(v is None or x is not None for v, x in zip(text, numbers)) and any(x is not None for x in numbers):
                    values = np.array([np.nan if x is None else x for x in numbers], dtype=np.float64)  # numbers as text
            if is_number_column(values):
                x = values.astype(np.float64, copy=False)
                missing = np.isnan(x)
                fill = None
                if impute != "none" and not missing.all():  # every column gets its fill: predict may meet gaps anywhere
                    fill = _statistic(x[~missing], impute)
                if missing.any():
                    if impute == "none":
                        k = int(missing.sum())
                        raise ValueError(
                            f"{where}row {row(np.argmax(missing))}, column {name!r}: missing value ({k} in the column); "
                            "pass --impute median|mean|most-frequent (impute=...) to fill them, or --drop-missing to "
                            "skip those rows")
                    if fill is None:
                        raise ValueError(f"{where}column {name!r}: every value is missing; leave it out (--ignore {name})")
                    decisions.append(f"column {name!r}: {int(missing.sum())} missing of {m} filled with the training "
                                     f"rows' {impute.replace('-', ' ')} {fill:.6g}")
                if np.isinf(x).any():
                    i = int(np.flatnonzero(np.isinf(x))[0])
                    raise ValueError(f"{where}row {row(i)}, column {name!r}: '{x[i]:g}' is not a finite number")
                if _counts_rows(x):
                    raise ValueError(f"{where}column {name!r}: the whole numbers {x[0]:.0f}, {x[1]:.0f}, ..., {x[-1]:.0f}, one per "
                                     f"row in order, look like a row ID, not a feature; leave it out with --ignore {name}")
                if np.unique(x[~missing]).size <= 1:
                    decisions.append(f"column {name!r}: one value in every row; it informs nothing (kept, scaled to 0)")
                cols.append(Column(name, "number", fill))
                continue
            present = [v for v in text if v is not None]
            if not present:
                raise ValueError(f"{where}column {name!r}: every value is missing; leave it out (--ignore {name})")
            _refuse_mistyped_numbers(name, text, numbers, row, where)
            cats = sorted(set(present))
            n_missing = m - len(present)
            if len(cats) > max_categories:
                if len(cats) >= 0.9 * len(present):
                    hint = "looks like an ID or free text (nearly one distinct value per row)"
                else:
                    hint = f"has more than --max-categories {max_categories}"
                raise ValueError(f"{where}column {name!r}: {len(cats)} distinct values in {m} rows {hint}; leave it out with "
                                 f"--ignore {name}, or raise --max-categories to one-hot encode it")
            note = f", {n_missing} missing encoded as all zeros" if n_missing else ""
            decisions.append(f"column {name!r}: text, one-hot encoded into {len(cats)} inputs "
                             f"({_listed(cats)}){note}")
            cols.append(Column(name, "category", categories=tuple(cats)))
        return cls(tuple(cols)), decisions

    # --- applying ---------------------------------------------------------------------------------------------

    def transform(self, table, *, row_numbers=None, source: str = "the data") -> tuple[np.ndarray, list[str]]:
        """The network's inputs for a table's rows.

        Parameters
        ----------
        table : mapping of str -> ndarray of shape (m,)
            Must hold every column in :attr:`names` (others are ignored).
        row_numbers : ndarray of int, optional
            The file's row numbers, for messages.
        source : str
            The file name, for messages.

        Returns
        -------
        X : ndarray of shape (m, len(input_names)), float64
        notes : list of str
            One line per column with categories not seen in training (encoded as all zeros).

        Raises
        ------
        ValueError
            A column is absent, a number column holds text, or a number is missing where the
            model has no fill value.
        """
        absent = [c.name for c in self.columns if c.name not in table]
        if absent:
            raise ValueError(f"{source}: missing column(s) {', '.join(map(repr, absent))} that the model needs")
        m = len(table[self.columns[0].name]) if self.columns else 0
        X = np.zeros((m, len(self.input_names)), dtype=np.float64)
        notes, j = [], 0

        def row(i):
            return int(row_numbers[i]) if row_numbers is not None else int(i) + 1

        for col in self.columns:
            values = np.asarray(table[col.name])
            if col.kind == "number":
                if not is_number_column(values):
                    text = text_values(values)
                    numbers = [None if v is None else _as_float(v) for v in text]
                    for i, (v, x) in enumerate(zip(text, numbers)):
                        if v is not None and x is None:
                            raise ValueError(f"{source}: row {row(i)}, column {col.name!r}: {v!r} is not a number")
                    values = np.array([np.nan if x is None else x for x in numbers], dtype=np.float64)
                x = values.astype(np.float64, copy=False)
                missing = np.isnan(x)
                if missing.any():
                    if col.fill is None:
                        i = int(np.argmax(missing))
                        raise ValueError(f"{source}: row {row(i)}, column {col.name!r}: missing value; the model was "
                                         "trained without --impute, so pass --drop-missing to skip such rows")
                    x = np.where(missing, col.fill, x)
                if np.isinf(x).any():
                    i = int(np.flatnonzero(np.isinf(x))[0])
                    raise ValueError(f"{source}: row {row(i)}, column {col.name!r}: '{x[i]:g}' is not a finite number")
                X[:, j] = x
                j += 1
                continue
            text = text_values(values)
            index = {c: k for k, c in enumerate(col.categories)}
            unseen = {}
            for i, v in enumerate(text):
                k = index.get(v)
                if k is not None:
                    X[i, j + k] = 1.0
                elif v is not None:
                    unseen[v] = unseen.get(v, 0) + 1
            if unseen:
                notes.append(f"column {col.name!r}: {sum(unseen.values())} rows hold categories not seen in training "
                             f"({_listed(sorted(unseen))}), encoded as all zeros")
            j += len(col.categories)
        return X, notes


def _counts_rows(x: np.ndarray) -> bool:
    """A column of at least 20 rows holding k, k+1, k+2, ... in order (a row number or an ID)."""
    return x.size >= 20 and bool(np.all(np.diff(x) == 1)) and float(x[0]).is_integer()


def _statistic(x: np.ndarray, how: str) -> float:
    if how == "mean":
        return float(np.mean(x))
    if how == "median":
        return float(np.median(x))
    vals, counts = np.unique(x, return_counts=True)
    return float(vals[np.argmax(counts)])  # the smallest of the most frequent values


def text_values(values: np.ndarray) -> list:
    """A column's cells as text: None where missing (None, NaN, pandas' NA), booleans as "true"/"false",
    anything else as ``str``; what one-hot encoding compares against its categories."""
    out = []
    for v in np.asarray(values, dtype=object).tolist():
        if _is_missing(v):
            out.append(None)
        elif isinstance(v, (bool, np.bool_)):
            out.append("true" if v else "false")
        else:
            out.append(str(v))
    return out


def _as_float(v: str):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _refuse_mistyped_numbers(name, text, numbers, row, where) -> None:
    """A text column whose cells are mostly numbers (at least two of them, and at least two thirds
    of the cells present) is a number column with a typo, a unit or a decimal comma: name the
    first cell that is not a number. ``numbers[i]`` is cell i as a float, or None."""
    present = [(i, v) for i, v in enumerate(text) if v is not None]
    bad = [(i, v) for i, v in present if numbers[i] is None]
    if bad and 3 * len(bad) <= len(present) and len(present) - len(bad) >= 2:
        i, v = bad[0]
        raise ValueError(f"{where}row {row(i)}, column {name!r}: {v!r} is not a number, but {len(present) - len(bad)} of its "
                         f"{len(present)} values are; fix the cell (or pass --ignore {name})")


def _listed(items, most=5) -> str:
    items = [str(v) for v in items]
    return ", ".join(items[:most]) + (f", ... {len(items) - most} more" if len(items) > most else "")
