"""What every command shares: exit codes, usage errors, the parser class, checkers for number flags,
the console, and reading a model file and the data to use it on."""

from __future__ import annotations

import argparse
import math
import re
import sys

from ..core import Network
from ..io import as_model, load
from ..io.atomic import check_outputs
from ..model import Model

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_CHECK_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143


class UsageError(Exception):
    """A flag or argument that does not make sense (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors in two lines instead of the whole usage text."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


# --- small parsers for flag values ---------------------------------------------------------


def watched_metric(cost: str, task: str) -> str:
    """The metric training shows and records: accuracy for cross-entropy or a classification target
    (a classifier trained with the squared cost is still scored by accuracy), else R^2."""
    return "accuracy" if cost == "cross_entropy" or task == "classification" else "r2"


def int_list(text: str, flag: str) -> list[int]:
    """``128,64`` as ``[128, 64]``; ``""``, ``none`` and ``0`` as ``[]``."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        values = [int(t) for t in text.split(",")]
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated layer sizes such as 128,64; got {text!r}") from None
    if any(v < 1 for v in values):
        raise UsageError(f"{flag}: layer sizes must be >= 1, got {text!r}")
    return values


def checked(convert, accept, expected: str):
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


fraction = checked(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
positive_int = checked(int, lambda v: v >= 1, "a positive integer")
nonneg_float = checked(float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0")
positive_float = checked(float, lambda v: math.isfinite(v) and v > 0, "a number > 0")


# --- output ----------------------------------------------------------------------------------


def console(stderr: bool = False):
    """A rich console that prints text as it is (no markup, no highlighting, no wrapping)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False)


# C0 and C1 controls (ESC starts terminal sequences: clearing the screen, OSC 52 writing the clipboard),
# DEL, and the Unicode line separators and bidirectional overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match) -> str:
    c = ord(match.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def safe_text(value, *, keep_newlines: bool = False) -> str:
    """``value`` as text that cannot control a terminal: every control character is shown as an
    escape (``\\x1b``) instead of being sent. Everything read from a file goes through this
    before it is displayed."""
    pattern = _CONTROL_KEEP_LINES if keep_newlines else _CONTROL
    return pattern.sub(_visible, str(value))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(cell) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's CSV-injection advice): text that
    starts with ``= + - @``, a tab or a carriage return (or their full-width forms) gets a leading
    ``'``; plain numbers such as ``-1.5`` are left as they are; control characters are escaped."""
    text = safe_text(cell)
    if text.startswith(_FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def guard_outputs(outputs: dict, inputs: dict) -> None:
    """Before any work: no output may be an input or another output, or anything but a regular file."""
    check_outputs(outputs, inputs)


def fmt(v) -> str:
    """A number for a table: 4 significant digits, ``-`` for None."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


# --- model files and the data they are used on -------------------------------------------------------


def load_model(path) -> Model:
    """The :class:`Model` in a model file (a bare network is used as a regression model)."""
    obj = load(path)
    if isinstance(obj, Network):
        return Model(obj, "regression")
    model = as_model(obj)
    if model is None:
        if getattr(obj, "output_kind_", None) == "multilabel":
            raise ValueError(f"{path}: a multilabel {type(obj).__name__}, which the command line cannot use "
                             "(one label per row only); use it from Python with deltaprop.load")
        raise ValueError(f"{path}: not a model the command line can use")
    return model
