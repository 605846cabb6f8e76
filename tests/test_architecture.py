"""The layout is enforced, not hoped for: no module reads another module's underscore names,
the command line stays thin, each concept has one home. (The layer and no-cycle contracts are
import-linter's, run by ``lint-imports`` in CI; see pyproject.toml.)"""

from __future__ import annotations

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "deltaprop"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined_here(tree: ast.AST) -> set[str]:
    """Underscore names a module defines itself: functions, classes, assignments, attributes it sets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.attr)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if _private(n)}


def reach_ins(source: str, filename: str = "<module>") -> list[str]:
    """Every place where ``source`` imports or reads an underscore name it does not define."""
    tree = ast.parse(source, filename)
    own = _defined_here(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{filename}:{node.lineno} imports {alias.name} from {node.module or '.'}")
            if node.module and any(_private(part) for part in node.module.split(".")):
                found.append(f"{filename}:{node.lineno} imports from the private module {node.module}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(_private(part) for part in alias.name.split(".")) and alias.name.split(".")[0] == "deltaprop":
                    found.append(f"{filename}:{node.lineno} imports the private module {alias.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
            found.append(f"{filename}:{node.lineno} reads .{node.attr}, which this module does not define")
    return found


def _modules():
    return sorted(SRC.rglob("*.py"))


def test_the_checker_can_fail():
    """Each kind of reach-in is caught; a module's own private names are not."""
    bad = (
        "from .network import _views\n"
        "from ._validation import as_rng\n"
        "import deltaprop._internal\n"
        "def f(net):\n"
        "    return net._outputs\n"
    )
    assert len(reach_ins(bad)) == 4
    good = (
        "class A:\n"
        "    def __init__(self):\n"
        "        self._cache = {}\n"
        "    def get(self, other):\n"
        "        return other._cache, self.__class__\n"
        "def _helper():\n"
        "    return _helper.__name__\n"
    )
    assert reach_ins(good) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_reads_another_modules_underscore_names(path):
    found = reach_ins(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))
    assert not found, "\n".join(found)


def test_no_private_module_names():
    private = [p.relative_to(SRC) for p in _modules() if _private(p.stem) and p.stem != "__init__"]
    assert not private, f"modules with underscore names (other modules would import them): {private}"


@pytest.mark.parametrize("path", sorted((SRC / "cli").glob("*.py")), ids=lambda p: p.name)
def test_command_line_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 300, f"cli/{path.name} has {lines} lines; split it (the CLI is a thin shell)"


def test_one_definition_of_each_metric():
    """Accuracy and R^2 are defined once, in deltaprop.train.metrics, and used everywhere else."""
    homes = {"accuracy": [], "r2": []}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in homes:
                homes[node.name.lstrip("_")].append(str(path.relative_to(SRC)))
    assert homes == {"accuracy": ["train/metrics.py"], "r2": ["train/metrics.py"]}


def test_no_assert_guards_a_user_visible_check():
    """``python -O`` strips assert statements: no module of the library relies on them."""
    asserts = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert):
                asserts.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not asserts, asserts


def test_library_code_never_prints():
    """Progress belongs to callbacks and the command line; print() appears only in the CLI and in the
    estimators' opt-in ``verbose`` callback."""
    allowed = {"sklearn.py"}
    printing = []
    for path in _modules():
        rel = path.relative_to(SRC)
        if rel.parts[0] == "cli" or str(rel) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                printing.append(f"{rel}:{node.lineno}")
    assert not printing, printing
