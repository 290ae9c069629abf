"""The lessons as files: each ends with a Sources section that cites where its facts come from.

A lesson teaches facts about AWS KMS and the standards under it; a learner (or a reviewer)
must be able to check each one. So every notebook's last cell is a ``## Sources`` list of
links to AWS pages, RFCs, NIST publications or tool manuals.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9]*.ipynb"))
#: Where a source may live: AWS documentation and pricing, RFCs, NIST, tool manuals.
_SOURCE = re.compile(
    r"https://(docs\.aws\.amazon\.com|aws\.amazon\.com|boto3\.amazonaws\.com|"
    r"www\.rfc-editor\.org|doi\.org/10\.6028|csrc\.nist\.gov|docs\.openssl\.org)/\S+"
)


def _cells(path: Path) -> list[dict[str, object]]:
    cells: list[dict[str, object]] = json.loads(path.read_text())["cells"]
    return cells


def _text(cell: dict[str, object]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else str(source)


def test_every_lesson_is_found() -> None:
    assert len(NOTEBOOKS) >= 9


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_ends_with_sources(path: Path) -> None:
    last = _cells(path)[-1]
    text = _text(last)
    assert last["cell_type"] == "markdown", f"{path.name}: the last cell is not the Sources list"
    assert text.startswith("## Sources"), f"{path.name}: the last cell is not '## Sources'"
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert items, f"{path.name}: the Sources section lists nothing"
    for item in items:
        assert _SOURCE.search(item), f"{path.name}: a source without a link: {item!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_has_one_sources_section(path: Path) -> None:
    headings = [c for c in _cells(path) if _text(c).lstrip().startswith("## Sources")]
    assert len(headings) == 1
