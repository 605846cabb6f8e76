"""docs/tutorial.md: every code block runs and prints exactly the output written under it."""

from __future__ import annotations

import importlib.util
import pathlib


DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def test_tutorial_outputs_are_what_the_code_prints():
    spec = importlib.util.spec_from_file_location("update_tutorial", DOCS / "update_tutorial.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.run_blocks((DOCS / "tutorial.md").read_text(encoding="utf-8"))
    assert len(results) >= 9
    for match, expected, actual in results:
        assert actual == expected, f"tutorial block at character {match.start()} printed:\n{actual}"


def test_tutorial_answers_every_question():
    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    for heading in ("Why the 1/2", "Why average over the m examples", "why not on the biases",
                    "swap to W_ji", "Backprop is gradient descent"):
        assert heading in text
