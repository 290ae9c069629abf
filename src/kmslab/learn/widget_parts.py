"""The parts every lesson widget is built from: the CSS, the box that carries its controls,
rows that wrap, buttons as wide as their labels, the result pane and a note.

:mod:`kmslab.learn.widgets` and :mod:`kmslab.learn.bench_widgets` build on these (their
leading underscore: they are for those modules, not for lessons). This module imports
ipywidgets; ``import kmslab`` does not import it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import ipywidgets as w

__all__ = ["CSS_CLASS"]

#: The class every lesson widget's box carries, and the CSS it brings: labels of radio buttons
#: and checkboxes wrap inside the widget's width instead of running past it (so one answer
#: never lies under another's label and each click selects the answer clicked), and buttons
#: are as wide as their text. Scoped to the class, so nothing else on the page changes.
CSS_CLASS = "kmslab-widget"
_CSS = f"""<style>
.{CSS_CLASS} .widget-radio-box {{ width: 100%; height: auto; }}
.{CSS_CLASS} .widget-radio-box label {{
  height: auto; min-height: var(--jp-widgets-inline-height); line-height: 1.35;
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
  align-items: flex-start; padding: 3px 0; box-sizing: border-box;
}}
.{CSS_CLASS} .widget-radio-box label input {{ flex: none; margin-top: 2px; }}
.{CSS_CLASS} .widget-vbox > .widget-checkbox {{
  height: auto; width: calc(100% - 2 * var(--jp-widgets-margin));
}}
.{CSS_CLASS} .widget-checkbox label {{
  height: auto; line-height: 1.35; white-space: normal; overflow-wrap: anywhere;
  align-items: flex-start; padding: 3px 0;
}}
.{CSS_CLASS} .widget-checkbox label input {{ flex: none; margin-top: 2px; }}
.{CSS_CLASS} .jupyter-button {{ width: auto; min-width: 6em; }}
.{CSS_CLASS} pre {{ overflow-x: auto; white-space: pre; }}
</style>"""


def _box(children: Sequence[Any], **controls: Any) -> Any:
    box = w.VBox([w.HTML(_CSS), *children], layout=w.Layout(max_width="100%"))
    box.add_class(CSS_CLASS)
    box.controls = SimpleNamespace(**controls)
    return box


def _row(children: Sequence[Any]) -> Any:
    """Controls side by side, wrapping onto the next line when the notebook is narrow."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap"))


def _button(description: str, **kwargs: Any) -> Any:
    """A button as wide as its label (ipywidgets' default width cuts long labels short)."""
    layout = w.Layout(width="auto", align_self="flex-start")
    return w.Button(description=description, layout=layout, **kwargs)


def _result() -> Any:
    return w.HTML(value="")


def _note(text: str) -> str:
    return f"<p><i>{html.escape(text)}</i></p>"
