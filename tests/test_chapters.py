"""Chapter 03's prose quotes only what its committed outputs show.

The walkthrough of ``notebooks/03_search.ipynb`` (from "## A model for tic-tac-toe" to the
end) writes every value it reads off an output in backticks, in the form the output prints it:
`P = 0.833`, `r = +1.04`, `cell 8`, `n36`, `simulation 15`, `[-1.000, +1.031]`. The tests
read the committed notebook (nbval keeps its outputs honest) and check that

* every such quote that contains a digit appears in the text outputs of the walkthrough's
  code cells (spaces around "=" ignored, so `P = 0.63` also matches Graphviz's "P=0.63");
* no number with two or more decimals, and no node name ``n<index>``, appears in its prose
  outside backticks and math, so a quote cannot dodge the first check by losing its backticks;
* the search speed it quotes is the README's, word for word;
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_03 = ROOT / "notebooks" / "03_search.ipynb"
README = ROOT / "README.md"
WALKTHROUGH_START = "## A model for tic-tac-toe"

CODE_SPAN = re.compile(r"`([^`\n]+)`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.DOTALL)
LOOSE_DECIMAL = re.compile(r"(?<![\w.])[+-]?\d+\.\d{2,}")
LOOSE_NODE = re.compile(r"\bn\d+\b")


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _output_text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append("".join(output["text"]))
        data = output.get("data", {})
        if "text/plain" in data:
            parts.append("".join(data["text/plain"]))
    return "\n".join(parts)


def _normalize(text: str) -> str:
    """Collapse whitespace and drop it around '=' (outputs print both P = 0.8 and P=0.8)."""
    return re.sub(r"\s*=\s*", "=", re.sub(r"\s+", " ", text))


def _load(path: Path = CHAPTER_03) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def walkthrough(cells: list[dict]) -> list[dict]:
    """The cells from the walkthrough's first heading to the end of the chapter."""
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and _source(cell).startswith(WALKTHROUGH_START):
            return cells[index:]
    raise AssertionError(f"chapter 03 has no markdown cell starting with {WALKTHROUGH_START!r}")


def quoted_values(markdown: str) -> list[str]:
    """The backticked quotes that carry a value: they contain a digit and are not paths or code
    (a "/", ".py" or "..." marks those)."""
    return [
        quote
        for quote in CODE_SPAN.findall(markdown)
        if re.search(r"\d", quote) and not re.search(r"/|\.py\b|\.\.\.", quote)
    ]


def _contains(outputs: str, quote: str) -> bool:
    """``quote`` in ``outputs`` as a whole: `N = 4` is not in "N = 46", nor `n1` in "n12"."""
    pattern = r"(?<![\w.])" + re.escape(_normalize(quote)) + r"(?!\w|\.\d)"
    return re.search(pattern, outputs) is not None


def missing_quotes(cells: list[dict]) -> list[str]:
    """Each quote of the walkthrough's prose that no walkthrough output contains."""
    section = walkthrough(cells)
    outputs = _normalize(
        "\n".join(_output_text(cell) for cell in section if cell["cell_type"] == "code")
    )
    missing = []
    for number, cell in enumerate(section):
        if cell["cell_type"] != "markdown":
            continue
        for quote in quoted_values(_source(cell)):
            if not _contains(outputs, quote):
                heading = _source(cell).splitlines()[0][:60]
                missing.append(f"`{quote}` (walkthrough markdown cell {number}: {heading!r})")
    return missing


def loose_numbers(cells: list[dict]) -> list[str]:
    """Decimals (2+ places) and node names in walkthrough prose outside backticks and math."""
    found = []
    for cell in walkthrough(cells):
        if cell["cell_type"] != "markdown":
            continue
        prose = MATH.sub(" ", CODE_SPAN.sub(" ", _source(cell)))
        found += LOOSE_DECIMAL.findall(prose) + LOOSE_NODE.findall(prose)
    return found


def test_every_quoted_value_is_in_the_outputs() -> None:
    cells = _load()
    assert any(quoted_values(_source(cell)) for cell in walkthrough(cells))  # not vacuous
    assert missing_quotes(cells) == []


def test_the_check_catches_a_wrong_number() -> None:
    """Change one quoted number in a copy of the prose: the check must report it."""
    cells = _load()
    quote, wrong = "`P = 0.833`", "`P = 0.834`"
    target = next(
        cell
        for cell in walkthrough(cells)
        if cell["cell_type"] == "markdown" and quote in _source(cell)
    )
    target["source"] = [_source(target).replace(quote, wrong)]
    assert any(item.startswith(wrong) for item in missing_quotes(cells))
    target["source"] = [_source(target).replace(wrong, "`n99`")]  # a node the tree lacks
    assert any(item.startswith("`n99`") for item in missing_quotes(cells))


def test_no_unquoted_numbers_in_the_walkthrough() -> None:
    assert loose_numbers(_load()) == []


def test_the_check_catches_an_unquoted_number() -> None:
    cells = _load()
    cells.append({"cell_type": "markdown", "source": ["the root value is 0.97 at n12"]})
    assert loose_numbers(cells)[-2:] == ["0.97", "n12"]


def test_search_speed_is_the_readme_number() -> None:
    row = next(
        (line for line in README.read_text(encoding="utf-8").splitlines()
         if line.startswith("| batched search")),
        None,
    )
    if row is None:
        pytest.fail("README's Results table has no '| batched search' row")
    measured = [field.strip() for field in row.strip("|").split("|")][-1]
    prose = "\n".join(_source(cell) for cell in _load() if cell["cell_type"] == "markdown")
    assert measured in prose, f"chapter 03 should quote the README's {measured!r}"
    assert "search_throughput.py" in prose


def test_a_quote_must_match_whole() -> None:
    outputs = _normalize("cell 8: N = 46, Q = +0.999 (n12)")
    assert _contains(outputs, "N = 46") and _contains(outputs, "Q = +0.999")
    assert not _contains(outputs, "N = 4")
    assert not _contains(outputs, "n1")
    assert not _contains(outputs, "Q = +0.99")
