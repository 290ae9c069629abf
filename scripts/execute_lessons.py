"""Execute the lessons in fresh kernels and store them as the repository keeps them.

    python scripts/execute_lessons.py                   # every lesson in notebooks/
    python scripts/execute_lessons.py notebooks/03_timing.ipynb

Each notebook runs with ``jupyter nbconvert --execute --inplace`` (widget state not stored,
as CONTRIBUTING.md says). A widget output saved without its state would show its Python repr
(``VBox(children=...)``) until the cell runs again, so the plain-text fallback of every widget
output is replaced by a line that tells the reader to run the cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: What a saved widget output reads before its cell has run in this session.
WIDGET_PLACEHOLDER = "Run this cell to show the interactive widget."


def placeholder_widgets(path: Path) -> int:
    """Replace the text fallback of each widget output in ``path``; how many were replaced."""
    notebook = json.loads(path.read_text())
    replaced = 0
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME in data:
                data["text/plain"] = [WIDGET_PLACEHOLDER]
                replaced += 1
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return replaced


def execute(path: Path) -> None:
    """Run ``path`` in a fresh kernel, in place, with this interpreter's Jupyter."""
    subprocess.run(
        [
            sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
            "--inplace", "--ExecutePreprocessor.store_widget_state=False",
            "--ExecutePreprocessor.timeout=600", str(path),
        ],
        check=True,
        cwd=path.parent,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(n).resolve() for n in names] or sorted((REPO / "notebooks").glob("*.ipynb"))
    for path in paths:
        execute(path)
        print(f"{path.name}: executed, {placeholder_widgets(path)} widget output(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
