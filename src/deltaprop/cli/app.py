"""Run one command and turn every error into one or two lines and an exit code."""

from __future__ import annotations

import sys

from ..io import FileFormatError
from ..train import DivergenceError
from .common import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, safe_text
from .parser import build_parser


def main(argv: list[str] | None = None) -> int:
    """Run ``deltaprop ARGV...``; returns the exit code (``--debug`` lets exceptions through)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"deltaprop {args.command}: error: {safe_text(exc)}\n(see deltaprop {args.command} --help)",
              file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError, ImportError, DivergenceError, FileFormatError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"deltaprop {args.command}: error: {safe_text(exc)}", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("deltaprop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
