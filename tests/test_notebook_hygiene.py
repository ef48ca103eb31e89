"""Repository hygiene: notebooks carry no run timings, and no file points at a missing file.

(a) ``nbconvert --execute`` stamps every cell with ``metadata.execution`` timings, which change
on every run and bury the real changes in a diff: ``tools/strip_notebook_metadata.py`` removes
them, and committed notebooks must not hold them.

(b) Docstrings, chapters and the README may name files of the repository (``ARCHITECTURE.md``,
``tests/nbval_sanitize.cfg``, ``data/runs/reanalyze_gain.json``, ...). Every such name must
exist in the repository: a user who clones it gets nothing else (a design document that
was never part of it, for one). Paths under ``runs/`` are what a run writes and are not checked.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SKIP_DIRS = {".venv", "runs", ".git", "__pycache__", "build", "dist", ".ipynb_checkpoints",
             ".pytest_cache", ".ruff_cache"}
# (file, name) pairs allowed to name a missing file, each with its reason.
ALLOWED: set[tuple[str, str]] = set()
CHAPTER = re.compile(r"\d\d_[\w-]+\.ipynb")
TOP_DIRS = ("muzero_lite", "tests", "benchmarks", "notebooks", "tools", "data")
EXTENSIONS = ("md", "py", "ipynb", "json", "jsonl", "cfg", "toml", "yml", "yaml", "csv", "pt",
              "txt")
# A path-like name: optional ../, optional top-level folder, then name(/name)*.ext, not part
# of a longer word, path, URL or <placeholder>.
PATH_NAME = re.compile(
    r"(?<![\w./<>:-])((?:\.\./)?(?:(?:{})/)?[\w.-]+(?:/[\w.-]+)*\.(?:{}))(?![\w/-])".format(
        "|".join(TOP_DIRS), "|".join(EXTENSIONS)
    )
)


def _load_strip_tool():
    spec = importlib.util.spec_from_file_location(
        "strip_notebook_metadata", ROOT / "tools" / "strip_notebook_metadata.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in parts):
            continue
        if path.resolve() == Path(__file__).resolve():
            continue  # this file names missing files on purpose
        if path.suffix in (".py", ".md", ".ipynb") and path.is_file():
            found.append(path)
    return sorted(found)


def _text(path: Path) -> str:
    """A file's text; for a notebook, its cells' sources (outputs may quote anything)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(cell["source"]) for cell in cells)
    return path.read_text(encoding="utf-8")


def _exists(reference: str, referrer: Path) -> bool:
    candidates = [ROOT / reference, referrer.parent / reference,
                  ROOT / "muzero_lite" / reference]  # docstrings name search/api.py etc.
    if "/" not in reference:
        candidates.append(ROOT / "notebooks" / reference)  # chapters by bare name
    # Only files inside the repository count: a clone elsewhere has nothing beside it.
    return any(candidate.resolve().is_relative_to(ROOT) and candidate.exists()
               for candidate in candidates)


def _dangling(path: Path) -> list[str]:
    missing = []
    for match in PATH_NAME.finditer(_text(path)):
        reference = match.group(1)
        if reference.startswith(("runs/", "../runs/")):
            continue  # written by a run, not part of the repository (data/runs/ is checked)
        if "/" not in reference and not (reference.endswith(".md") or CHAPTER.fullmatch(reference)):
            continue  # a bare "a.json" or "board.ipynb" is an example, not a file of the repo
        if not _exists(reference, path):
            missing.append(reference)
    return missing


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_no_execution_timings(notebook: Path) -> None:
    noisy = _load_strip_tool().NOISY_KEYS
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    stamped = [i for i, cell in enumerate(cells) if any(k in cell.get("metadata", {})
                                                        for k in noisy)]
    assert not stamped, (
        f"{notebook.name}: cells {stamped} hold run metadata ({', '.join(noisy)}); "
        f"run: python tools/strip_notebook_metadata.py notebooks/{notebook.name}"
    )


def test_strip_tool_keeps_outputs_and_tags_and_is_idempotent(tmp_path: Path) -> None:
    tool = _load_strip_tool()
    cell = {"cell_type": "code", "execution_count": 1, "id": "abc", "source": ["1"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["é\n"]}],
            "metadata": {"execution": {"iopub.status.idle": "now"}, "scrolled": True,
                         "collapsed": False, "tags": ["solution"],
                         "jupyter": {"source_hidden": True}}}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    assert tool.main(["--check", str(path)]) == 1
    assert tool.main([str(path)]) == 0
    written = path.read_text(encoding="utf-8")
    assert written.endswith("}\n") and "é" in written and '\n "cells": [' in written
    stripped = json.loads(written)["cells"][0]
    assert stripped["metadata"] == {"tags": ["solution"], "jupyter": {"source_hidden": True}}
    assert stripped["outputs"] == cell["outputs"]
    mtime = path.stat().st_mtime_ns
    assert tool.main(["--check", str(path)]) == 0
    assert tool.main([str(path)]) == 0 and path.stat().st_mtime_ns == mtime  # not rewritten


def test_no_reference_to_files_the_repository_lacks() -> None:
    problems = []
    for path in _source_files():
        relative = path.relative_to(ROOT).as_posix()
        problems += [f"{relative}: {name}" for name in _dangling(path)
                     if (relative, name) not in ALLOWED]
    assert not problems, "references to files the repository does not hold:\n" + "\n".join(
        sorted(set(problems))
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saving_an_unchanged_chapter_changes_no_byte(path):
    """Jupyter saves through nbformat: a chapter committed in nbformat's own layout comes back
    byte for byte, so opening and saving it does not dirty git (run `make strip` after
    re-executing, which writes that layout)."""
    import nbformat

    raw = path.read_text()
    assert nbformat.writes(nbformat.read(path, as_version=4)) + "\n" == raw
