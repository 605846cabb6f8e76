"""Reading data: CSV with a header, NumPy .npz, MNIST's IDX (also gzipped), and built-in sets.

Every reader returns a :class:`Dataset` of real features and a target column, or
raises ValueError naming the file, the row (as numbered in the file, header = 1) and
the column of the first problem.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MISSING_CELLS",
    "NAMELESS",
    "CsvDialect",
    "Dataset",
    "Table",
    "csv_dialect",
    "dataset_from_table",
    "feature_columns",
    "may_be_row_index",
    "missing_mask",
    "read_table",
    "row_index_note",
    "sniff_delimiter",
    "read_data",
    "read_csv",
    "check_path",
    "is_idx",
    "is_table",
    "target_values",
    "read_npz",
    "read_idx",
    "load_builtin",
    "builtin_datasets",
]

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}


@dataclass
class Dataset:
    """Features and (optionally) a target.

    Attributes
    ----------
    X : ndarray of shape (m, n_features), float64
    y : ndarray of shape (m,) or None
        Labels (ints or strings) or real values, as read.
    feature_names : list of str or None
    target_name : str or None
    source : str
        The file or built-in name it came from.
    rows : ndarray of int, optional
        Each row's number in the file (tables: the header is row 1), when rows may have been skipped.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list | None
    target_name: str | None
    source: str
    rows: np.ndarray | None = None


_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_INT64 = (-(2**63), 2**63 - 1)


def target_column(values: list[str], *, where=None) -> np.ndarray:
    """A target column read from text, keeping labels exactly as written.

    * int64 when every cell is an integer written plainly (``str(int(v)) == v``) that fits int64;
    * text, exactly as written, when any cell is an integer-looking label that would not survive a
      round trip (``"007"``, ``"+7"``, a 20-digit ID), or any cell is not a number;
    * float64 when every cell is a number, all of them finite.

    ``where(i)`` names cell i in messages (file, row, column).

    Raises
    ------
    ValueError
        For a non-finite number (``inf``, ``nan``) among numbers: a regression target must be finite,
        and ``inf`` must not silently become a class of its own.
    """
    ints = []
    for v in values:
        try:
            i = int(v)
        except ValueError:
            break
        if str(i) != v or not _INT64[0] <= i <= _INT64[1]:
            break
        ints.append(i)
    else:
        return np.array(ints, dtype=np.int64)
    if any(_LEADING_ZERO.match(v) for v in values):
        return np.array(values, dtype=object)
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)
    if all(v.lstrip("+-").isdigit() for v in values):  # integers beyond int64: IDs, kept as text
        return np.array(values, dtype=object)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        name = where(i) if where is not None else f"value {i + 1}"
        raise ValueError(f"{name}: {values[i]!r} is not a finite number; a numeric target must be finite")
    return arr


# --- tables: CSV (any delimiter, gzipped or not), Parquet, Feather/Arrow, read by pyarrow ----------------------

# the cells every reader of text tables takes as missing (empty, NA, N/A, nan, null, none, ?, in their usual cases)
MISSING_CELLS = sorted({v for w in MISSING for v in (w, w.upper(), w.capitalize(), w.title())})
_DELIMITERS = (",", ";", "\t", "|")
_BLOCK = 16 << 20  # bytes pyarrow parses at a time; a row longer than this is refused by name
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@dataclass
class Table:
    """A table's columns as read, before any encoding.

    Attributes
    ----------
    columns : dict of str -> ndarray of shape (m,)
        Numbers as float64 with NaN where a cell is missing; anything else as an object array
        of strings (booleans as bool) with None where a cell is missing.
    rows : ndarray of shape (m,), int
        Each row's number in the file, for messages: in a CSV the header is row 1 and the data
        rows follow it (blank lines are not counted); in Parquet and Feather the first row is 1.
    source : str
    notes : list of str
        What reading decided that a user should know (the delimiter sniffed, a decimal comma, a
        pandas index column left out).
    """

    columns: dict
    rows: np.ndarray
    source: str
    notes: list = field(default_factory=list)
    block: np.ndarray | None = field(default=None, repr=False)  # a chunked read's number columns, column-major
    block_names: tuple = ()  # the columns of ``block``, in order

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index) -> "Table":
        """The rows at ``index`` (an int array or a boolean mask), in that order."""
        return Table({k: v[index] for k, v in self.columns.items()}, self.rows[index], self.source, list(self.notes))


def _pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        raise ImportError("reading tables needs pyarrow: pip install pyarrow") from None
    import pyarrow as pa

    return pa


class _Counting:
    """A binary file that tells ``progress(done, total)`` how far it has been read (at most every 0.2 s)."""

    def __init__(self, f, total, progress):
        self.f, self.total, self.progress, self.done, self.last = f, total, progress, 0, 0.0
        self.closed = False

    def read(self, n=-1):
        import time

        data = self.f.read(n)
        self.done += len(data)
        now = time.monotonic()
        if self.progress is not None and (now - self.last > 0.2 or not data):
            self.last = now
            self.progress(self.done, self.total)
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def close(self):
        self.closed = True
        self.f.close()


def _sample(path: str, gz: bool, n: int = 1 << 16) -> str:
    """The file's first ``n`` bytes as text (whole lines when there is more), for sniffing; refuses
    a file that is not UTF-8 there (a character cut by the ``n``-byte boundary is not an error)."""
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as f:
            head = f.read(n)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: not readable as CSV ({exc})") from None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < n or exc.start < n - 4:
            raise ValueError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
        text = head[: exc.start].decode("utf-8")
    if len(head) == n and "\n" in text:
        text = text[: text.rindex("\n")]  # whole lines only
    return text.lstrip("\ufeff")


def sniff_delimiter(sample: str) -> str | None:
    """The delimiter of a CSV sample: of , ; tab |, the one that splits the header and the next lines
    into the same number (> 1) of cells, preferring the most cells; None when no candidate does."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if not lines:
        return None
    best, best_n = None, 1
    for d in _DELIMITERS:
        try:
            counts = {len(r) for r in csv.reader(lines, delimiter=d)}
        except csv.Error:
            continue
        if len(counts) == 1:
            (n,) = counts
            if n > best_n:
                best, best_n = d, n
    return best


def _decimal_comma(sample: str, delimiter: str) -> bool:
    """Whether cells like ``39,1`` (and no ``39.1``) say the file writes decimals with a comma."""
    if delimiter == ",":
        return False
    cells = [c.strip() for r in csv.reader(sample.splitlines()[1:50], delimiter=delimiter) for c in r]
    comma = sum(1 for c in cells if _DECIMAL_COMMA.match(c))
    point = sum(1 for c in cells if re.match(r"^[+-]?\d+\.\d+$", c))
    return comma > 0 and point == 0


def _named(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}.get(delimiter, repr(delimiter))


def _delimiter_flag(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    d = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}.get(delimiter.lower(),
                                                                                              delimiter)
    if len(d) != 1 or d in "\"\r\n":
        raise ValueError(f"--delimiter must be one character (or tab, comma, semicolon, pipe, space), got {delimiter!r}")
    return d


def read_table(path, *, delimiter: str | None = None, text_columns=(), progress=None) -> Table:
    """Read a CSV (``.csv``, ``.tsv``, ``.txt``, gzipped or not), Parquet or Feather/Arrow file's columns.

    Parameters
    ----------
    path : str
    delimiter : str, optional
        A CSV's delimiter (one character, or ``tab``); by default sniffed from the first lines
        (comma, semicolon, tab or pipe; a ``.tsv`` file is tab-separated). A semicolon file whose
        numbers are written ``39,1`` is read with a decimal comma.
    text_columns : iterable of str
        Columns read as text whatever they hold (a target whose labels are ``007`` and ``7``).
    progress : callable, optional
        ``progress(bytes_read, bytes_total)``, called at most five times a second while a CSV is read.

    Returns
    -------
    Table

    Raises
    ------
    ValueError
        Naming the file (and the row or column) of the first problem: not text, ragged rows, a header
        cell without a name, a name used twice, a row longer than 16 MB.
    """
    pa = _pyarrow()
    path = os.fspath(path)
    name = os.path.basename(path).lower()
    if name.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        try:
            _check_header(path, [str(n) if n else "x" for n in pq.read_schema(path).names])  # before the read: names
            at = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise ValueError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
        return _from_arrow(at, path, first_row=1, text_columns=text_columns)
    if name.endswith((".feather", ".arrow", ".ipc")):
        import pyarrow.feather as pf

        try:
            at = pf.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise ValueError(f"{path}: not a readable Feather/Arrow file ({_first_line(exc)})") from None
        return _from_arrow(at, path, first_row=1, text_columns=text_columns)
    return _read_csv_table(pa, path, name, delimiter, text_columns, progress)


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written, as :func:`csv_dialect` found it.

    Attributes
    ----------
    delimiter : str
        One character.
    decimal : str
        ``"."``, or ``","`` for a file that writes ``39,1``.
    header : list of str
        The first row's cells, stripped.
    notes : list of str
        What a user should be told (a sniffed delimiter, a decimal comma).
    sample : str
        The file's first 64 KB of whole lines (the sniffing sample).
    """

    delimiter: str
    decimal: str
    header: list
    notes: list
    sample: str


def csv_dialect(path, *, delimiter: str | None = None) -> CsvDialect:
    """The delimiter (``delimiter``, or sniffed from the first lines: comma, semicolon, tab or pipe;
    tab for a ``.tsv``), the decimal mark and the header of a CSV file, gzipped or not: what every
    reader of CSV here (in memory, and a Dask cluster's) reads it with."""
    path = os.fspath(path)
    name = path.lower()
    sample = _sample(path, name.endswith(".gz"))
    if not sample.strip():
        raise ValueError(f"{path}: the file is empty; expected a header row and data rows")
    notes = []
    d = _delimiter_flag(delimiter)
    if d is None:
        d = "\t" if name.endswith((".tsv", ".tsv.gz", ".tab")) else sniff_delimiter(sample)
        if d is None:
            d = ","
        elif d != ",":
            notes.append(f"{path}: {_named(d)}-separated (sniffed; --delimiter sets it)")
    header = next(iter(csv.reader([sample.splitlines()[0]], delimiter=d)))
    header = [h.strip() for h in header]
    _check_header(path, header)
    decimal = "," if _decimal_comma(sample, d) else "."
    if decimal == ",":
        notes.append(f"{path}: numbers are written with a decimal comma (39,1 is read as 39.1)")
    return CsvDialect(d, decimal, header, notes, sample)


def _read_csv_table(pa, path, name, delimiter, text_columns, progress) -> Table:
    import pyarrow.csv as pacsv

    gz = name.endswith(".gz")
    dialect = csv_dialect(path, delimiter=delimiter)
    d, decimal, header, notes, sample = dialect.delimiter, dialect.decimal, dialect.header, dialect.notes, dialect.sample
    text_columns = [c for c in text_columns if c in header]
    names = [h if h else f"column {i + 1}" for i, h in enumerate(header)]
    convert = pacsv.ConvertOptions(null_values=MISSING_CELLS, strings_can_be_null=True,
                                   quoted_strings_can_be_null=True, decimal_point=decimal,
                                   column_types={c: pa.string() for c in text_columns})
    parse = pacsv.ParseOptions(delimiter=d, newlines_in_values=True)
    total = os.path.getsize(path)
    if (total > _CHUNKED_FROM or gz) and '"' not in sample:
        table = _read_csv_chunked(pa, path, gz, names, convert, pacsv.ParseOptions(delimiter=d), total, progress)
        if table is not None:
            table.notes[:0] = notes
            return table
    read = pacsv.ReadOptions(block_size=_BLOCK, column_names=names, skip_rows=1)
    raw = open(path, "rb")
    source = _Counting(raw, total, progress)
    stream = pa.PythonFile(source, mode="r")
    if gz:
        stream = pa.CompressedInputStream(stream, "gzip")
    try:
        at = pacsv.read_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise ValueError(_csv_problem(path, str(exc), d, _first_ragged_row(path, gz, d, len(header)))) from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not readable as CSV ({exc})") from None
    finally:
        raw.close()
    if at.num_rows == 0:
        raise ValueError(f"{path}: no data rows after the header")
    table = _from_arrow(at, path, first_row=2, text_columns=text_columns)
    table.notes[:0] = notes
    return table


_CHUNKED_FROM = 32 << 20  # files larger than this are read in chunks into one preallocated block
_CHUNK = 6 << 20


def _read_csv_chunked(pa, path, gz, names, convert, parse, total, progress) -> Table | None:
    """A large CSV without quotes, read chunk by chunk (each chunk parsed by pyarrow's threads)
    into one float64 block for the number columns, so memory stays near the final arrays.

    Returns None (the caller then reads the file whole) when a chunk holds a quote, a row is
    longer than a chunk, or a later chunk does not fit the first chunk's column types.
    """
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    # the system allocator gives each chunk's memory back when the chunk is done (pyarrow's default
    # pool keeps what it once held, which made the peak that of all chunks at once)
    pool = pa.system_memory_pool()
    raw = open(path, "rb")
    stream = _Counting(raw, total, progress)
    if gz:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    try:
        first = True
        types, block, k_of, texts, m, kept = None, None, {}, {}, 0, 0
        # one buffer for every chunk (made on the first pass), with room for the unfinished last line moved to its
        # front: 1/16 of a chunk, far more than an ordinary row, so it is almost never replaced
        buf = bytearray()
        while True:
            if len(buf) < kept + _CHUNK:  # a new buffer, never a resize: pyarrow may not yet have let go of
                bigger = bytearray(kept + _CHUNK + (_CHUNK >> 4))  # the last chunk's export (a BufferError, seen in CI)
                bigger[:kept] = buf[:kept]
                buf = bigger
            got = stream.readinto(memoryview(buf)[kept:kept + _CHUNK])
            end, eof = kept + got, got == 0
            if eof and end == 0:
                break
            cut = end if eof else buf.rfind(b"\n", 0, end) + 1
            if cut == 0:
                if end > _BLOCK:
                    raise ValueError(f"{path}: row {m + 2} is longer than {_BLOCK >> 20} MB; expected a table of "
                                     "ordinary rows")
                kept = end
                continue
            if buf.find(b'"', 0, cut) >= 0:
                return None
            chunk = memoryview(buf)[buf.find(b"\n") + 1 if first else 0:cut]  # the first chunk holds the header
            opts = pacsv.ReadOptions(column_names=names, block_size=max(1 << 20, len(chunk) // 4 + 1))
            conv = convert if types is None else pacsv.ConvertOptions(
                null_values=convert.null_values, strings_can_be_null=True, quoted_strings_can_be_null=True,
                decimal_point=convert.decimal_point, column_types=types)
            try:
                at = pacsv.read_csv(pa.py_buffer(chunk), read_options=opts, parse_options=parse, convert_options=conv,
                                    memory_pool=pool)
            except pa.ArrowInvalid:
                return None
            if types is None:
                types = {n: (pa.float64() if _is_number_type(pa, t) else t) for n, t in zip(names, at.schema.types)}
                if any(pa.types.is_null(t) for t in types.values()):
                    return None  # a column empty in the first chunk: its type is unknown until later
                numeric = [n for n in names if pa.types.is_float64(types[n])]
                k_of = {n: k for k, n in enumerate(numeric)}
                per_row = max(1.0, len(chunk) / max(1, at.num_rows))
                size = _gzip_size(path, total) if gz else total
                capacity = at.num_rows + 1024 if eof else int(size / per_row * 1.05) + 1024
                block = np.empty((capacity, len(numeric)), dtype=np.float64, order="F")
                texts = {n: [] for n in names if n not in k_of}
            first = False
            n = at.num_rows
            if m + n > block.shape[0]:  # the estimate was short: grow (one copy each time)
                bigger = np.empty((max(m + n, int(block.shape[0] * 2)), block.shape[1]), dtype=np.float64, order="F")
                bigger[:m] = block[:m]
                block = bigger
            for name, col in zip(names, at.columns):
                if name in k_of:
                    if not pa.types.is_float64(col.type):
                        col = pc.cast(col, pa.float64(), safe=False)
                    block[m:m + n, k_of[name]] = col.to_numpy(zero_copy_only=False)
                else:
                    texts[name].extend(col.chunks)
            m += n
            del at, chunk
            buf[:end - cut] = buf[cut:end]  # the unfinished line, to the front
            kept = end - cut
            if eof:
                break
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    finally:
        raw.close()
    if block is None or m == 0:
        return None
    columns = {}
    for name in names:
        if name in k_of:
            columns[name] = block[:m, k_of[name]]
        else:
            col = pa.chunked_array(texts[name], type=types[name])
            if name in convert.column_types:  # read as text on request (a target): exact integers become int64
                columns[name] = _text_or_exact_ints(col)
            elif pa.types.is_boolean(col.type):
                columns[name] = np.asarray(col.to_pylist(), dtype=object)
            else:
                columns[name] = col.to_numpy(zero_copy_only=False).astype(object, copy=False)
    table = Table(columns, np.arange(2, 2 + m, dtype=np.int64), path, [], block[:m],
                  tuple(sorted(k_of, key=k_of.get)))
    _drop_index_column(table)
    return table


def _gzip_size(path, total) -> int:
    """The uncompressed size a gzip file states in its last four bytes (ISIZE, modulo 4 GiB; the last
    member's only), or four times the compressed size when that is implausible."""
    try:
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            isize = int.from_bytes(f.read(4), "little")
    except OSError:
        return 4 * total
    return isize if isize >= total else 4 * total


def _is_number_type(pa, t) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _check_header(path, header) -> None:
    seen = {}
    for c, h in enumerate(header):
        if not h and c > 0:
            raise ValueError(f"{path}: column {c + 1} of the header has no name")
        if h in seen:
            raise ValueError(f"{path}: duplicate column name {h!r} (columns {seen[h] + 1} and {c + 1})")
        seen[h] = c


def _first_ragged_row(path, gz, delimiter, n_header) -> tuple[int, int] | None:
    """(row, cells) of the first row whose cell count differs from the header's, counting rows as
    the reader does (the header is row 1, blank lines skipped); only called once reading has failed."""
    try:
        with (gzip.open if gz else open)(path, "rt", newline="", encoding="utf-8-sig", errors="replace") as f:
            row = 0
            for cells in csv.reader(f, delimiter=delimiter):
                if not any(c.strip() for c in cells):
                    continue
                row += 1
                if len(cells) != n_header:
                    return row, len(cells)
    except (OSError, EOFError, csv.Error):
        return None
    return None


def _csv_problem(path, message, delimiter, ragged) -> str:
    """pyarrow's parse error, said in the file's terms."""
    m = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if m:
        where, cells = (f"row {ragged[0]}", ragged[1]) if ragged else ("a row", m.group(2))
        return (f"{path}: {where} has {cells} cells but the header has {m.group(1)} columns "
                f"(delimiter {_named(delimiter)}; --delimiter sets another)")
    if "straddling" in message or "block" in message.lower():
        return f"{path}: a row is longer than {_BLOCK >> 20} MB; expected a table of ordinary rows"
    if "UTF8" in message or "utf8" in message.lower():
        return f"{path}: not a UTF-8 text file ({message.splitlines()[0]})"
    return f"{path}: not readable as CSV ({message.splitlines()[0]})"


def _first_line(exc) -> str:
    """A library's error message, cut to its first line (some span a whole schema)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _as_text(col) -> np.ndarray:
    """Any column as text cells (None where missing): nested values (lists, structs, maps) as JSON,
    bytes as their repr; such a column can be read, and is refused by name only if it is used."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(col, pa.string()).to_numpy(zero_copy_only=False).astype(object, copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.array([None if v is None else json.dumps(v, default=repr, sort_keys=True) for v in col.to_pylist()],
                        dtype=object)


def _text_or_exact_ints(col) -> np.ndarray:
    """A column read as text: int64 when every cell is an integer written plainly (its text is then
    ``str(value)`` exactly, so nothing is lost), else the cells' text (None where missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count == 0 and len(col):
        try:
            ints = pc.cast(col, pa.int64())
            if pc.all(pc.equal(pc.cast(ints, pa.string()), col)).as_py():
                return ints.to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return col.to_numpy(zero_copy_only=False).astype(object, copy=False)


def _from_arrow(at, path, *, first_row: int, text_columns=()) -> Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    names = [str(n) for n in at.column_names]
    _check_header(path, ["x" if (i == 0 and not n) else n for i, n in enumerate(names)])
    columns, notes = {}, []
    for name, col in zip(names, at.columns):
        t = col.type
        if name in text_columns:
            text = _as_text(col)
            columns[name] = _text_or_exact_ints(pa.chunked_array([pa.array(text.tolist(), pa.string())]))
            continue
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            columns[name] = pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        elif pa.types.is_boolean(t):
            columns[name] = np.asarray(col.to_pylist(), dtype=object)
        elif pa.types.is_null(t):
            columns[name] = np.full(len(col), None, dtype=object)
        else:
            columns[name] = _as_text(col)
        del col
    if at.num_rows == 0:
        raise ValueError(f"{path}: no data rows")
    rows = np.arange(first_row, first_row + at.num_rows, dtype=np.int64)
    del at
    table = Table(columns, rows, path, notes)
    _drop_index_column(table)
    return table


NAMELESS = ("", "column 1")  # a first header cell left empty, and the name the readers give it


def may_be_row_index(name: str) -> bool:
    """Whether a first column's name is one a written-out row index has: none (:data:`NAMELESS`),
    pandas' ``Unnamed: 0``, or pandas' Parquet ``__index_level_k__``. It is the index when its
    values count the rows from 0 or 1 (the readers check that; in memory and on a cluster)."""
    return name in NAMELESS or name == "Unnamed: 0" or name.startswith("__index_level_")


def row_index_note(source: str, start: float) -> str:
    """What the readers say when they leave a row-index column out."""
    return (f"{source}: column 1 has no name and counts the rows ({start:.0f}, {start + 1:.0f}, ...): read as a "
            "row index (pandas and R write one), not as a feature")


def _drop_index_column(table: Table) -> None:
    """A first column without a name (or pandas' ``Unnamed: 0``) that counts the rows from 0 or 1 is
    the row index pandas and R write: left out, and said. Any other nameless first column is refused."""
    names = list(table.columns)
    first = names[0] if names else None
    if first is not None and may_be_row_index(first):
        x = table.columns[first]
        if x.dtype.kind == "f" and len(x) and x[0] in (0, 1) and np.all(np.diff(x) == 1):
            del table.columns[first]
            table.notes.append(row_index_note(table.source, x[0]))
    if first is not None and first in table.columns and first in NAMELESS:
        raise ValueError(f"{table.source}: column 1 of the header has no name")


def read_csv(path, target: str | None = None, *, drop_missing: bool = False, columns: list | None = None,
             target_as_text: bool = False, delimiter: str | None = None) -> Dataset:
    """Read a CSV file with a header row into numbers (every feature column must hold numbers).

    Parameters
    ----------
    path : str
    target : str, optional
        Name of the target column; every other column is a feature.
    drop_missing : bool, default False
        Skip rows with a missing cell (empty, NA, N/A, nan, null, none, ?) instead of
        refusing the file.
    columns : list of str, optional
        Take exactly these feature columns, by name, in this order (the others are
        ignored); a missing one is an error.
    delimiter : str, optional
        See :func:`read_table` (sniffed by default).
    """
    table = read_table(path, delimiter=delimiter, text_columns=[target] if target is not None else ())
    return dataset_from_table(table, target, drop_missing=drop_missing, columns=columns, target_as_text=target_as_text)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a table column's cell is missing (NaN in numbers, None in text)."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape, dtype=bool)
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values.tolist()], dtype=bool)


def feature_columns(table: Table, target: str | None, *, features=None, ignore=()) -> list[str]:
    """The feature columns' names: ``features`` (in that order) or every column but the target and ``ignore``.

    Raises ValueError naming an unknown column, the target listed as a feature, or no feature left.
    """
    path = table.source
    names = list(table.columns)
    if target is not None and target not in table.columns:
        raise ValueError(f"{path}: no column named {target!r}; the columns are {', '.join(names)}")
    for flag, listed in (("--features", features or ()), ("--ignore", ignore or ())):
        unknown = [c for c in listed if c not in table.columns]
        if unknown:
            raise ValueError(f"{path}: {flag} names {', '.join(map(repr, unknown))}, not among the columns "
                             f"{', '.join(names)}")
    if features:
        if target is not None and target in features:
            raise ValueError(f"{path}: the target {target!r} cannot also be a feature (--features)")
        chosen = [c for c in features if c not in set(ignore or ())]
    else:
        chosen = [c for c in names if c != target and c not in set(ignore or ())]
    if not chosen:
        raise ValueError(f"{path}: no feature columns besides the target {target!r}")
    return chosen


def dataset_from_table(table: Table, target: str | None, *, drop_missing: bool = False, columns: list | None = None,
                       target_as_text: bool = False) -> Dataset:
    """Numbers from a table whose feature columns all hold numbers (what :func:`read_csv` returns)."""
    path = table.source
    if columns is not None:
        absent = [c for c in columns if c not in table.columns or c == target]
        if absent:
            raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, absent))} that the model needs")
        feat = list(columns)
    else:
        feat = feature_columns(table, target)
    used = feat + ([target] if target is not None else [])
    gaps = np.zeros(len(table), dtype=bool)
    first = None
    for c in used:
        mask = missing_mask(table.columns[c])
        if mask.any():
            i = int(np.argmax(mask))
            if first is None or i < first[0]:
                first = (i, c)
            gaps |= mask
    if first is not None:
        if not drop_missing:
            raise ValueError(f"{path}: row {table.rows[first[0]]}, column {first[1]!r}: missing value; pass "
                             "--drop-missing (drop_missing=True) to skip rows with missing values")
        if gaps.all():
            raise ValueError(f"{path}: every row has a missing value")
        table = table.take(~gaps)
    X = _block_of(table, feat)
    if X is None:
        X = np.empty((len(table), len(feat)), dtype=np.float64)
        for j, c in enumerate(feat):
            X[:, j] = _numbers(table, c)
    elif not all(np.isfinite(X[:, j]).all() for j in range(X.shape[1])):  # a column at a time: no m x n temporary
        for c in feat:
            _numbers(table, c)  # names the first non-finite cell
    y = None if target is None else target_values(table, target, as_text=target_as_text)
    return Dataset(X, y, feat, target, path, rows=table.rows)


def target_values(table: Table, target: str, *, as_text: bool = False) -> np.ndarray:
    """A table's target column as labels or numbers (:func:`target_column`), or as text with ``as_text``.

    Every cell must be present (drop or refuse rows with missing targets first).
    """
    cells = table.columns[target]
    if cells.dtype.kind == "i":  # every cell an integer written plainly (see read_table)
        return np.array([str(v) for v in cells.tolist()], dtype=object) if as_text else cells.astype(np.int64)
    if cells.dtype.kind == "f":  # a Parquet/Feather number column
        cells = [repr(float(v)) if not float(v).is_integer() else str(int(v)) for v in cells]
    cells = [str(v).strip() for v in cells]
    if as_text:
        return np.array(cells, dtype=object)
    return target_column(cells, where=lambda i: f"{table.source}: row {table.rows[i]}, column {target!r}")


def _block_of(table: Table, feat: list) -> np.ndarray | None:
    """The features as a view of the column-major block a chunked read filled, when they are its
    consecutive columns in order and no row has been taken out (no copy of the data); else None."""
    names = list(table.block_names)
    if table.block is None or not feat or feat[0] not in names or len(table.block) != len(table):
        return None
    k = names.index(feat[0])
    if names[k:k + len(feat)] != list(feat) or any(table.columns[c] is None for c in feat):
        return None
    return table.block[:, k:k + len(feat)]


def _numbers(table: Table, name: str) -> np.ndarray:
    values = table.columns[name]
    if values.dtype.kind != "f":
        out = np.empty(len(values), dtype=np.float64)
        for i, v in enumerate(values.tolist()):
            try:
                out[i] = float(v) if not isinstance(v, bool) else float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{table.source}: row {table.rows[i]}, column {name!r}: {v!r} is not a number") from None
        values = out
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{table.source}: row {table.rows[i]}, column {name!r}: '{values[i]:g}' is not a finite number")
    return values


def read_npz(path, target: str | None = None, *, columns: list | None = None) -> Dataset:
    """Read arrays ``X`` and ``y`` (or the name given as ``target``) from a .npz file; no pickles."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as exc:
        raise ValueError(f"{path}: cannot be read without pickle, or is not an .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    xkey = "X" if "X" in arrays else ("x" if "x" in arrays else None)
    if xkey is None:
        raise ValueError(f"{path}: no array named 'X'; the arrays are {', '.join(arrays) or 'none'}")
    X = arrays[xkey]
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: X must be a 2-D array of numbers, got {X.ndim}-D {X.dtype}")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{path}: X[{i}, {j}] is {X[i, j]}; expected finite numbers")
    if columns is not None and len(columns) != X.shape[1]:
        raise ValueError(f"{path}: X has {X.shape[1]} columns but the model needs {len(columns)}")
    y = None
    tkey = target or ("y" if "y" in arrays else ("Y" if "Y" in arrays else None))
    if target is not None and target not in arrays:
        raise ValueError(f"{path}: no array named {target!r}; the arrays are {', '.join(arrays)}")
    if tkey is not None and tkey in arrays:
        y = arrays[tkey]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{path}: {tkey} must have one value per row of X ({X.shape[0]}), got shape {y.shape}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise ValueError(f"{path}: {tkey}[{i}] is {y[i]}; a numeric target must be finite")
    return Dataset(X, y, columns, tkey if y is not None else None, path)


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_idx_array(path) -> np.ndarray:
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header is truncated")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - 4 - 4 * ndim != need:
        raise ValueError(f"{path}: IDX header promises {dims} ({need} bytes) but the file holds "
                         f"{len(data) - 4 - 4 * ndim} bytes")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)


def read_idx(path, labels: str | None = None) -> Dataset:
    """MNIST-style IDX images (rows become flattened pixels) and, if found, their labels.

    ``labels`` defaults to the MNIST naming convention: ``*-images-idx3-ubyte[.gz]`` pairs
    with ``*-labels-idx1-ubyte[.gz]`` in the same folder.
    """
    path = os.fspath(path)
    images = _read_idx_array(path)
    X = images.reshape(images.shape[0], -1).astype(np.float64)
    if labels is None:
        guess = path.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
        labels = guess if guess != path and os.path.exists(guess) else None
    y = None
    if labels is not None:
        y = _read_idx_array(labels)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{labels}: {y.shape[0]} labels for {X.shape[0]} images")
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.array_equal(y, np.round(y))):
            bad = int(np.flatnonzero(~(np.isfinite(y) & (y == np.round(y))))[0])
            raise ValueError(f"{labels}: label {bad + 1} is {float(y[bad])!r}; IDX labels must be whole numbers")
        y = y.astype(np.int64)
    return Dataset(X, y, None, "label" if y is not None else None, path)


def read_data(path, target: str | None = None, *, drop_missing: bool = False, columns: list | None = None,
              labels: str | None = None, target_as_text: bool = False, delimiter: str | None = None) -> Dataset:
    """Read any supported file into numbers, chosen by its name: ``.npz``, IDX (``idx`` in the name),
    Parquet (``.parquet``), Feather/Arrow (``.feather``, ``.arrow``), else CSV (any delimiter, gzipped or not).

    ``target_as_text``: a table's target column is returned as its cells' text, exactly as written
    (for a model whose classes are text: a test file holding only ``7`` and ``8`` of the
    classes ``007``, ``7``, ``8`` must not read them as numbers). Tables with text feature
    columns are read with :func:`read_table` and encoded by :class:`deltaprop.preprocess.Columns`.
    """
    path = check_path(path)
    name = os.path.basename(path).lower()
    if name.endswith(".npz"):
        return read_npz(path, target, columns=columns)
    if is_idx(name):
        return read_idx(path, labels)
    table = read_table(path, delimiter=delimiter, text_columns=[target] if target is not None else ())
    return dataset_from_table(table, target, drop_missing=drop_missing, columns=columns, target_as_text=target_as_text)


def check_path(path) -> str:
    """The path as text, or FileNotFoundError / ValueError for a missing file or a folder."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, expected a data file")
    return path


def is_idx(name: str) -> bool:
    """Whether a file name is MNIST's IDX format (``idx`` in the name, or ``-ubyte``)."""
    name = os.path.basename(name).lower()
    return "idx" in name or name.endswith("-ubyte") or name.endswith("-ubyte.gz")


def is_table(name: str) -> bool:
    """Whether a file is read with :func:`read_table` (not .npz, not IDX)."""
    name = os.path.basename(name).lower()
    return not name.endswith(".npz") and not is_idx(name)


# --- built-in data sets ------------------------------------------------------------------------------------

_BUILTIN = {
    "xor": ("XOR of two bits (4 rows): UFLDL's and AIMA's toy problem", "classification"),
    "iris": ("Fisher's iris flowers (150 x 4, 3 classes), scikit-learn's copy", "classification"),
    "digits": ("8x8 handwritten digits (1797 x 64, 10 classes), scikit-learn's copy", "classification"),
    "breast-cancer": ("Wisconsin breast cancer (569 x 30, 2 classes), scikit-learn's copy", "classification"),
    "wine": ("wine cultivars (178 x 13, 3 classes), scikit-learn's copy", "classification"),
    "diabetes": ("diabetes progression (442 x 10, regression), scikit-learn's copy", "regression"),
}


def builtin_datasets() -> dict:
    """Name -> (description, task) of every built-in data set."""
    return dict(_BUILTIN)


def load_builtin(name: str) -> Dataset:
    """A built-in data set by name (see :func:`builtin_datasets`)."""
    key = name.strip().lower().replace("_", "-")
    if key not in _BUILTIN:
        raise ValueError(f"unknown data set {name!r}; built in: {', '.join(_BUILTIN)}")
    if key == "xor":
        X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return Dataset(X, np.array([0, 1, 1, 0]), ["x1", "x2"], "xor", "xor")
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(
            f"the built-in data set {key!r} is scikit-learn's bundled copy; install it with "
            "pip install 'deltaprop[datasets]' (or pip install scikit-learn)"
        ) from None
    loader = {"iris": datasets.load_iris, "digits": datasets.load_digits, "wine": datasets.load_wine,
              "breast-cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}[key]
    bunch = loader()
    names = [str(n) for n in bunch.feature_names] if getattr(bunch, "feature_names", None) is not None else None
    target = bunch.target
    if key in ("iris", "wine", "breast-cancer"):
        target = np.asarray(bunch.target_names, dtype=object)[bunch.target]
        target = np.array([str(t) for t in target], dtype=object)
    return Dataset(np.asarray(bunch.data, dtype=np.float64), target, names, "target", key)
