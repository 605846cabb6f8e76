"""docs/explain-example.html is what docs/make_example.py writes, and README and tutorial link it."""

from __future__ import annotations

import importlib.util
import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def _stable(html: str) -> str:
    """The page without its rounding noise: full-precision values to 9 digits, relative errors masked
    (they are differences of nearly equal numbers, so their digits depend on the machine's last bits)."""
    html = re.sub(r"data-(value|numeric)='([^']*)'",
                  lambda m: f"data-{m.group(1)}='{float(m.group(2)):.9g}'" if m.group(2) else m.group(0), html)
    html = re.sub(r"<td>\d\.\de-\d\d</td>", "<td>rel</td>", html)
    return re.sub(r"largest relative error \d\.\d\de-\d\d", "largest relative error rel", html)


def test_the_shipped_example_page_is_what_the_script_writes():
    spec = importlib.util.spec_from_file_location("make_example", DOCS / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.page()
    shipped = (DOCS / "explain-example.html").read_text(encoding="utf-8")
    assert _stable(shipped) == _stable(fresh), "run: python docs/make_example.py"
    assert "<svg" in shipped and "<math" in shipped and "<script>" in shipped
    assert "http://" not in shipped.replace("http://www.w3.org/2000/svg", "")  # nothing fetched


def test_readme_and_tutorial_link_the_step_through_page_and_the_notebook():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    explain = readme[readme.index("## Explain"):readme.index("## Training")]
    assert "(docs/explain-example.html)" in explain and "(docs/learner.ipynb)" in explain
    tutorial = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    assert "(explain-example.html)" in tutorial and "(learner.ipynb)" in tutorial
