"""The ``deltaprop`` command: train, predict, evaluate, gradcheck, explain, info, export, datasets, plot.

A thin shell around the library: it reads files, chooses sensible defaults, shows
progress, and turns every error into one or two lines and an exit code:
0 success, 1 a data, file or training error, 2 a usage error, 3 a failed gradient
check, 130 interrupted (Ctrl-C). ``--debug`` shows the Python traceback instead.

Modules: :mod:`.common` (exit codes, flag checkers, console, model loading),
:mod:`.parser` (the arguments), :mod:`.app` (``main``), one module per group of
commands (:mod:`.train`, :mod:`.use`, :mod:`.check`) and :mod:`.progress` (what the
terminal shows while training).
"""

from .app import entry, main
from .common import UsageError
from .parser import build_parser

__all__ = ["UsageError", "build_parser", "entry", "main"]
