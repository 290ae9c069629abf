"""Every lesson in JupyterLab in headless Chromium (a 1400x1000 window), checked the way a
learner sees it.

Each test opens a lesson in a fresh JupyterLab workspace, clears its saved outputs and runs
every cell from the Run menu. Then, for every lesson: no cell shows an error it is not meant
to, every widget renders, no output is wider than the notebook unless it scrolls on purpose,
no printed table wraps mid-line, no label is cut short, no image is broken or shrunk, and in
the quiz no answer overlaps another and a click on each answer selects that answer. Lessons 1
and 2 also have their widgets used with the mouse: options picked in the dropdowns, buttons
clicked, and what the page shows compared with the catalogue (:mod:`kmslab.specs`) and the
local KMS itself, never with the widget code.

Screenshots go to ``KMSLAB_SCREENSHOTS`` when set (``make screenshots`` sets docs/images),
else to a temporary folder: one per lesson (``lessonNN.png``, the window at the lesson's first
widget) and the README's close-ups. ``KMSLAB_PAGE_SHOTS=DIR`` also saves every lesson page by
page, window after window, for a person to look through.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from kmslab import specs
from kmslab.exceptions import KMSError
from kmslab.kms.service import LocalKMS
from tests.browser import pagechecks
from tests.browser.labserver import (
    REPO,
    LabServer,
    cells_with_errors,
    error_text,
    open_notebook,
    run_all_cells,
    screenshot,
)

pytestmark = pytest.mark.browser

LESSONS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("[0-9]*.ipynb"))
LESSON_1 = "notebooks/01_creating_keys.ipynb"
LESSON_2 = "notebooks/02_comparing_operations.ipynb"
#: What varies from run to run in an AWS message: ARNs and key ids.
_VARYING = re.compile(r"arn:aws:kms:\S+?:key/[0-9a-f-]+|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("KMSLAB_SCREENSHOTS")
    if not configured:
        return tmp_path_factory.mktemp("screenshots")
    path = Path(configured)
    path = path if path.is_absolute() else REPO / path
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page_errors(page: Page) -> Iterator[list[str]]:
    """JavaScript errors the page raised while the test ran (a widget that fails to render)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors


# -- what a learner sees -----------------------------------------------------------------------


def dropdown(scope: Locator, label: str) -> Locator:
    """The ``<select>`` of the ipywidgets Dropdown whose description is ``label``."""
    labelled = scope.page.locator(
        "label.widget-label", has_text=re.compile(rf"^{re.escape(label)}$")
    )
    return scope.locator(".widget-dropdown").filter(has=labelled).locator("select")


def widget_output(panel: Locator, button: str) -> Locator:
    """The cell output that holds a widget with a button labelled ``button``."""
    return (
        panel.locator(".jp-OutputArea-output")
        .filter(has=panel.page.get_by_role("button", name=button, exact=True))
        .first
    )


def cell_of(output: Locator) -> Locator:
    """The notebook cell (code and output) that holds ``output``: what a screenshot shows."""
    return output.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' jp-Cell ')]")


def option_patterns(names: list[str]) -> list[re.Pattern[str]]:
    """One pattern per option: the key spec name, then anything (a region note, say)."""
    return [re.compile(rf"^{re.escape(name)}\b") for name in names]


def run_lesson(page: Page, lab: LabServer, path: str) -> Locator:
    """Open ``path``, run all its cells, and check that only cells meant to raise show an error."""
    assert (REPO / path).is_file(), f"{path} is missing"
    panel = open_notebook(page, lab, path)
    run_all_cells(page, panel)
    cells = json.loads((REPO / path).read_text())["cells"]
    meant = {i for i, c in enumerate(cells) if "raises-exception" in c["metadata"].get("tags", [])}
    unexpected = {i: error_text(panel, i) for i in cells_with_errors(panel) if i not in meant}
    assert unexpected == {}
    expect(panel.get_by_text("Error displaying widget")).to_have_count(0)
    return panel


def refusal(spec: str, usage: str, operation: str, **params: Any) -> KMSError:
    """The error the local KMS gives ``operation`` on a new (spec, usage) key."""
    kms = LocalKMS()
    key_id = kms.call("CreateKey", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    with pytest.raises(KMSError) as raised:
        kms.call(operation, KeyId=key_id, **params)
    return raised.value


# -- every lesson ------------------------------------------------------------------------------


def _saved_widget_cells(path: str) -> int:
    """How many cells of the lesson file show a widget when run."""
    mime = "application/vnd.jupyter.widget-view+json"
    cells = json.loads((REPO / path).read_text())["cells"]
    return sum(
        any(mime in o.get("data", {}) for o in c.get("outputs", []))
        for c in cells
        if c["cell_type"] == "code"
    )


def _scroller(panel: Locator) -> Locator:
    """The element that scrolls the notebook (JupyterLab 4's windowed panel)."""
    return panel.locator(".jp-WindowedPanel-outer").first


def _page_shots(page: Page, panel: Locator, folder: Path, stem: str) -> None:
    """Save the whole lesson, one window at a time, as a reader scrolls through it."""
    folder.mkdir(parents=True, exist_ok=True)
    scroller = _scroller(panel)
    height, view = scroller.evaluate("(el) => [el.scrollHeight, el.clientHeight]")
    top, n = 0, 0
    while n < 40:
        scroller.evaluate("(el, y) => { el.scrollTop = y; }", top)
        page.wait_for_timeout(300)
        page.screenshot(path=folder / f"{stem}-p{n:02d}.png")
        n += 1
        if top + view >= height:
            break
        top += view - 80


def _check_quiz_answers(page: Page, quiz: Locator) -> list[str]:
    """Click every answer of ``quiz`` where a reader would (its circle or box, then its text);
    the faults: a click that selected another answer, or none."""
    faults = []
    for question in quiz.locator(".widget-radio-box").all():
        for label in question.locator("label").all():
            for target in (label.locator("input"), label):
                target.scroll_into_view_if_needed()
                box = target.bounding_box()
                assert box is not None
                page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                checked = [
                    lab.inner_text().strip()
                    for lab in question.locator("label").all()
                    if lab.locator("input").is_checked()
                ]
                if checked != [label.inner_text().strip()]:
                    faults.append(f"clicked {label.inner_text().strip()!r}, selected {checked}")
    for answer in quiz.locator(".widget-checkbox").all():
        box_input = answer.locator("input")
        answer.scroll_into_view_if_needed()
        box = box_input.bounding_box()
        assert box is not None
        before = box_input.is_checked()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if box_input.is_checked() == before:
            faults.append(f"clicking {answer.inner_text().strip()!r} did not tick it")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return faults


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: Path(p).stem)
def test_lesson_reads_well(
    path: str, page: Page, lab: LabServer, screenshot_dir: Path, page_errors: list[str]
) -> None:
    panel = run_lesson(page, lab, path)
    stem = f"lesson{Path(path).stem.split('_')[0]}"  # lesson08b for 08b_rotation_...

    widgets_shown = pagechecks.widget_outputs(panel)
    assert len(widgets_shown) == _saved_widget_cells(path)
    assert [w for w in widgets_shown if not w["rendered"] or "children=" in w["text"]] == []
    assert pagechecks.too_wide(panel) == []
    assert pagechecks.wrapped_text(panel) == []
    assert pagechecks.truncated_labels(panel) == []
    assert pagechecks.image_faults(panel) == []
    assert pagechecks.figures_as_text(panel) == []

    quizzes = panel.locator(".kmslab-widget").filter(
        has=page.locator("h4", has_text=re.compile(r"^Quiz "))
    )
    expect(quizzes).to_have_count(1)
    quiz = quizzes.first
    assert pagechecks.answer_overlaps(quiz) == []
    assert _check_quiz_answers(page, quiz) == []

    # A widget's output area has no MIME type of its own (JupyterLab 4, ipywidgets 8).
    first_widget = panel.locator(".jp-OutputArea-output:not([data-mime-type])").first
    cell_of(first_widget).evaluate("(el) => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=screenshot_dir / f"{stem}.png")
    shots = os.environ.get("KMSLAB_PAGE_SHOTS")
    if shots:
        _page_shots(page, panel, Path(shots), stem)
    assert page_errors == []


# -- lesson 1: creating keys ---------------------------------------------------------------------


#: True when a <select>'s chosen option fits inside the box, padding (and arrow) aside.
_SELECTED_TEXT_FITS = """el => {
    const style = getComputedStyle(el);
    const probe = document.createElement("span");
    probe.style.font = style.font;
    probe.style.whiteSpace = "pre";
    probe.textContent = el.options[el.selectedIndex].text;
    document.body.appendChild(probe);
    const text = probe.getBoundingClientRect().width;
    probe.remove();
    const inner = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return inner >= text;
}"""


def test_lesson1_key_creator(
    page: Page, lab: LabServer, screenshot_dir: Path, page_errors: list[str]
) -> None:
    panel = run_lesson(page, lab, LESSON_1)
    creator = widget_output(panel, "Create key")
    creator.scroll_into_view_if_needed()
    usage, spec = dropdown(creator, "Usage"), dropdown(creator, "Key spec")
    expect(usage).to_be_visible()
    expect(usage.locator("option")).to_have_text(list(specs.KEY_USAGES))

    # Each usage offers exactly the catalogue's key specs for it.
    for chosen in ("SIGN_VERIFY", "KEY_AGREEMENT", "ENCRYPT_DECRYPT"):
        usage.select_option(chosen)
        offered = [s.name for s in specs.for_usage(chosen)]
        expect(spec.locator("option")).to_have_text(option_patterns(offered))

    # The longest usage shows whole in its box (it was cut to "ENCAPSULATE_DECAPSULAT").
    usage.select_option("ENCAPSULATE_DECAPSULATE")
    assert usage.evaluate(_SELECTED_TEXT_FITS), "the chosen usage is cut off"

    usage.select_option("SIGN_VERIFY")
    spec_option = spec.locator("option", has_text=re.compile(r"^ECC_NIST_P256$"))
    expect(spec_option).to_have_count(1)
    spec.select_option("ECC_NIST_P256")
    creator.get_by_role("button", name="Create key", exact=True).click()

    result = creator.locator(".widget-html").last
    for shown in ("ECC_NIST_P256", "SIGN_VERIFY", "Enabled", "ECDSA_SHA_256", "arn:aws:kms:"):
        expect(result).to_contain_text(shown)
    screenshot(page, cell_of(creator), screenshot_dir / "lesson1-key-creator.png")
    assert page_errors == []


# -- lesson 2: comparing operations ----------------------------------------------------------------


def test_lesson2_matrix_and_refused_operation(
    page: Page, lab: LabServer, screenshot_dir: Path, page_errors: list[str]
) -> None:
    panel = run_lesson(page, lab, LESSON_2)

    matrix = (
        panel.locator(".jp-OutputArea-output")
        .filter(has_text="Data plane")
        .filter(has_text="A-KEM")
        .first
    )
    expect(matrix).to_contain_text("IKU = InvalidKeyUsageException")
    matrix.scroll_into_view_if_needed()
    screenshot(page, cell_of(matrix), screenshot_dir / "lesson2-matrix.png")

    explorer = panel.locator(".jp-OutputArea-output").filter(
        has=page.locator("label.widget-label", has_text=re.compile(r"^Operation$"))
    )
    explorer = explorer.first
    explorer.scroll_into_view_if_needed()
    key, operation = dropdown(explorer, "Key"), dropdown(explorer, "Operation")
    expect(key).to_be_visible()

    # ipywidgets shows the spaces of an option's label as no-break spaces.
    labels = key.locator("option").all_text_contents()
    ecc_signing = next(
        label
        for label in labels
        if label.replace("\xa0", " ").startswith("ECC_NIST_P256 / SIGN_VERIFY ")
    )
    key.select_option(label=ecc_signing)
    result = explorer.locator(".widget-html").last

    operation.select_option("Sign")
    expect(result).to_contain_text("allowed")

    operation.select_option("Encrypt")
    refused = refusal("ECC_NIST_P256", "SIGN_VERIFY", "Encrypt", Plaintext=b"x")
    expect(result).to_contain_text(refused.code)
    shown = result.locator("code").inner_text()
    assert _VARYING.sub("<key>", shown) == _VARYING.sub("<key>", refused.message)
    screenshot(page, cell_of(explorer), screenshot_dir / "lesson2-refused-op.png")
    assert page_errors == []
