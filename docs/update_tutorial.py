"""Run the tutorial's Python blocks in order, like a notebook, and write each block's output
into the ```text block that follows it. tests/test_tutorial.py checks that they still agree.

    python docs/update_tutorial.py
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import sys

PATH = pathlib.Path(__file__).with_name("tutorial.md")
BLOCK = re.compile(r"```python\n(.*?)```\n\n```text\n(.*?)```", re.S)


def run_blocks(text: str):
    """[(code, expected output, actual output)] for every python block followed by a text block."""
    namespace = {"__name__": "__tutorial__"}
    results = []
    for match in BLOCK.finditer(text):
        code, expected = match.group(1), match.group(2)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, "tutorial.md", "exec"), namespace)
        results.append((match, expected, buffer.getvalue()))
    return results


def main():
    text = PATH.read_text(encoding="utf-8")
    out, last = [], 0
    for match, _, actual in run_blocks(text):
        out.append(text[last:match.start(2)])
        out.append(actual)
        last = match.end(2)
    out.append(text[last:])
    PATH.write_text("".join(out), encoding="utf-8")
    print(f"updated {PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
