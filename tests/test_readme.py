"""The README's Python examples run as written, and its Quick start has exactly two commands."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_python_block_runs(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[i], f"README.md block {i}", "exec"), {"__name__": "__readme__"})


def test_quickstart_has_exactly_two_commands():
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "quickstart.py"), str(ROOT / "README.md")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == 2
    assert "pytest" in out[1]


def test_readme_command_line_session_runs(tmp_path, monkeypatch):
    """Every `deltaprop ...` line of the README's session, in order, exits 0."""
    pytest.importorskip("sklearn")
    from deltaprop.cli import main

    block = README[README.index("## The command line"):]
    session = re.search(r"```bash\n(.*?)```", block, flags=re.S).group(1)
    lines = [line.split() for line in session.splitlines() if line.startswith("deltaprop ")]
    assert len(lines) >= 4
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    for argv in lines:
        assert main(argv[1:] + ["--quiet"] if argv[1] in ("train", "predict") else argv[1:]) == 0, argv
    assert (tmp_path / "iris.safetensors").exists() and (tmp_path / "predictions.csv").exists()


def test_readme_real_table_session_runs_and_prints_what_it_shows(tmp_path, monkeypatch, capsys):
    """The penguins session runs as written, and every decision line the README shows is printed."""
    from deltaprop.cli import main

    block = README[README.index("### Real tables"):]
    session = re.search(r"```bash\n(.*?)```", block, flags=re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", block, flags=re.S).group(1).splitlines()
    lines = [line.split() for line in session.splitlines() if line.startswith("deltaprop ")]
    assert [a[1] for a in lines] == ["train", "predict", "evaluate"]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "300")  # one decision per line, as shown
    capsys.readouterr()
    assert main(lines[0][1:]) == 0
    printed = " ".join(capsys.readouterr().err.split())
    for line in shown:
        if line.strip() != "...":
            assert " ".join(line.split()) in printed, line
    for argv in lines[1:]:
        assert main(argv[1:]) == 0, argv
    assert len((tmp_path / "species.csv").read_text().splitlines()) == 1 + 344


def test_readme_dask_command_trains_on_the_shipped_parquet_files(tmp_path, monkeypatch, capsys):
    """The Dask section's first command, as written: an embedded cluster of two worker processes."""
    pytest.importorskip("distributed")
    import deltaprop as dp
    from deltaprop.cli import main

    block = README[README.index("## On a Dask cluster"):]
    line = re.search(r"```bash\n(deltaprop train [^\n]*)\n```", block).group(1)
    assert "--scheduler local:2" in line
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    assert main(line.split()[1:] + ["--quiet"]) == 0
    model = dp.load(tmp_path / "penguins.safetensors")
    assert model.classes == ["Adelie", "Chinstrap", "Gentoo"] and model.columns.names[0] == "island"
