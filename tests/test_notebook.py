"""docs/learner.ipynb runs from top to bottom (nbclient), and its displays are deltaprop's: the network's
diagram, the step-through explanation, the model's summary and the learning curve.

Skipped only where nbclient or ipykernel is missing and $CI is unset: CI must run it."""

from __future__ import annotations

import importlib.util
import os
import pathlib

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
MISSING = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING) and not os.environ.get("CI"), reason=f"needs {', '.join(MISSING)}")
def test_the_learners_notebook_runs_and_shows_deltaprops_displays():
    assert not MISSING, f"CI must install {', '.join(MISSING)} (the test extra has them)"
    import nbclient
    import nbformat

    nb = nbformat.read(DOCS / "learner.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "ship the notebook without outputs"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(DOCS)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    html = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]
    assert any("<svg" in h and "<circle" in h for h in html)  # a network's diagram
    assert sum("class='dp-explain'" in h for h in html) >= 3  # UFLDL, AIMA, and the iris model's row
    assert any("class='dp-model'" in h for h in html)  # the model's summary
    assert any("<polyline" in h for h in html)  # the learning curve
    assert any("the label &#x27;versicolor&#x27;" in h for h in html)  # the example, stated with its class
    text = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("a_j Delta_k" in t for t in text)
