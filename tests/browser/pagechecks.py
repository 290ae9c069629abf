"""What the browser test checks on a lesson page after every cell has run, as a reader sees it.

Each check runs in the page and returns a list of faults (empty when all is well), each a short
text naming the cell and what is wrong, so a failing test says where to look.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator

#: Which cell an element is in, as "cell N" (N counts all cells, as in the .ipynb file).
_CELL_OF = """
const cellOf = (el) => {
  const cells = [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
  const cell = el.closest('.jp-Cell');
  return 'cell ' + cells.indexOf(cell);
};
const describe = (el) => {
  const text = (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  return `${cellOf(el)} <${el.tagName.toLowerCase()} class="${el.className}"> "${text}"`;
};
"""

_TOO_WIDE = (
    "(panel) => {"
    + _CELL_OF
    + """
  const faults = [];
  for (const out of panel.querySelectorAll('.jp-OutputArea-output')) {
    const limit = out.getBoundingClientRect().right + 1;
    for (const el of out.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || r.right <= limit) continue;
      // Wider than the output is fine inside a block that scrolls sideways on purpose.
      let up = el.parentElement, scrolls = false;
      while (up && up !== out) {
        const x = getComputedStyle(up).overflowX;
        if ((x === 'auto' || x === 'scroll') && up.getBoundingClientRect().right <= limit) {
          scrolls = true; break;
        }
        up = up.parentElement;
      }
      if (!scrolls) {
        const at = `ends at ${Math.round(r.right)} px, past ${Math.round(limit)} px`;
        faults.push(`${describe(el)} ${at}`);
        break;
      }
    }
  }
  return faults;
}"""
)

_WRAPPED_TEXT = (
    "(panel) => {"
    + _CELL_OF
    + """
  // Printed tables wrap their long lines mid-word: more rendered lines than text lines.
  const faults = [];
  // Errors are prose and may wrap.
  const printed =
    '.jp-OutputArea-output:not([data-mime-type="application/vnd.jupyter.stderr"]) pre';
  for (const pre of panel.querySelectorAll(printed)) {
    const lines = pre.textContent.replace(/\\n+$/, '').split('\\n').length;
    const range = document.createRange();
    range.selectNodeContents(pre);
    const rects = [...range.getClientRects()].filter(r => r.width > 0);
    const tops = new Set(rects.map(r => Math.round(r.top)));
    if (tops.size > lines) faults.push(`${describe(pre)}: ${lines} lines shown on ${tops.size}`);
  }
  return faults;
}"""
)

_TRUNCATED = (
    "(panel) => {"
    + _CELL_OF
    + """
  // A label cut short with an ellipsis ("Check my predict...").
  const faults = [];
  for (const el of panel.querySelectorAll('.jp-OutputArea-output *')) {
    const style = getComputedStyle(el);
    if (style.textOverflow !== 'ellipsis' || el.clientWidth === 0) continue;
    const cut = el.scrollWidth > el.clientWidth + 1;
    if (cut && (el.innerText || '').trim()) faults.push(describe(el));
  }
  return faults;
}"""
)

_IMAGES = (
    "(panel) => {"
    + _CELL_OF
    + """
  // A broken-image icon, or a picture shrunk so far that its labels are hard to read.
  const faults = [];
  for (const img of panel.querySelectorAll('.jp-OutputArea-output img')) {
    const r = img.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (!img.complete || img.naturalWidth === 0) {
      faults.push(`${describe(img)}: broken image`);
      continue;
    }
    if (img.naturalWidth > 1.25 * r.width) {
      faults.push(`${describe(img)}: ${img.naturalWidth} px shown in ${Math.round(r.width)} px`);
    }
  }
  return faults;
}"""
)

_FIGURES_AS_TEXT = (
    "(panel) => {"
    + _CELL_OF
    + """
  // A figure whose picture never came (no inline backend): only its repr is shown.
  return [...panel.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')]
    .filter(out => /^<Figure size/.test((out.innerText || '').trim()))
    .map(out => `${describe(out)}: a figure shown as text`);
}"""
)

_WIDGET_OUTPUTS = """(panel) => [...panel.querySelectorAll(
    '.jp-OutputArea-output:not([data-mime-type])')]
  .map(out => ({
    rendered: !!out.querySelector('.jupyter-widgets') && out.getBoundingClientRect().height > 0,
    text: (out.innerText || '').slice(0, 80),
  }))"""

_ANSWER_OVERLAPS = (
    "(quiz) => {"
    + _CELL_OF
    + """
  // Every answer (a radio label or a checkbox) of one quiz: none overlaps another, and each
  // stays inside the quiz's width.
  const faults = [];
  const answers = [...quiz.querySelectorAll('.widget-radio-box label, .widget-checkbox')];
  const right = quiz.getBoundingClientRect().right + 1;
  const rects = answers.map(a => a.getBoundingClientRect());
  rects.forEach((a, i) => {
    if (a.right > right) faults.push(`${describe(answers[i])} runs past the quiz's width`);
    for (let j = i + 1; j < rects.length; j++) {
      const b = rects[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) faults.push(`${describe(answers[i])} overlaps ${describe(answers[j])}`);
    }
  });
  return faults;
}"""
)


def too_wide(panel: Locator) -> list[str]:
    """Output elements wider than their output area that do not scroll on purpose."""
    found: list[str] = panel.evaluate(_TOO_WIDE)
    return found


def wrapped_text(panel: Locator) -> list[str]:
    """Printed outputs whose lines the page wraps (a table broken mid-word)."""
    found: list[str] = panel.evaluate(_WRAPPED_TEXT)
    return found


def truncated_labels(panel: Locator) -> list[str]:
    """Labels shown cut short with an ellipsis."""
    found: list[str] = panel.evaluate(_TRUNCATED)
    return found


def image_faults(panel: Locator) -> list[str]:
    """Broken images, and pictures shrunk to fit (their text becomes too small to read)."""
    found: list[str] = panel.evaluate(_IMAGES)
    return found


def figures_as_text(panel: Locator) -> list[str]:
    """Figures shown as their repr (``<Figure size ...>``) instead of a picture."""
    found: list[str] = panel.evaluate(_FIGURES_AS_TEXT)
    return found


def widget_outputs(panel: Locator) -> list[dict[str, Any]]:
    """One entry per widget output: whether it rendered, and the start of its text."""
    found: list[dict[str, Any]] = panel.evaluate(_WIDGET_OUTPUTS)
    return found


def answer_overlaps(quiz: Locator) -> list[str]:
    """Quiz answers that overlap each other or run past the quiz."""
    found: list[str] = quiz.evaluate(_ANSWER_OVERLAPS)
    return found
