"""Write docs/explain-example.html: the step-through page for UFLDL's 2-3-2 sigmoid network on one
example, the network and example of the tutorial's section 4. tests/test_docs_example.py checks that
the shipped page is what this script writes.

    python docs/make_example.py
"""

from __future__ import annotations

import pathlib
import sys

import deltaprop as dp

PATH = pathlib.Path(__file__).with_name("explain-example.html")


def page() -> str:
    """The page's HTML: dp.explain on the tutorial's 2-3-2 network, x = (1, 0.5), y = (0, 1)."""
    net = dp.Network.layered([2, 3, 2], hidden="sigmoid", output="sigmoid", seed=3)
    return dp.explain(net, [1.0, 0.5], [0.0, 1.0]).to_html()


def main() -> None:
    PATH.write_text(page(), encoding="utf-8")
    print(f"wrote {PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
