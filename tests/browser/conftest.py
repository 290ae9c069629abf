"""Fixtures of the browser test: Debian's Chromium through Playwright, and a JupyterLab server.

Playwright never downloads a browser here: it launches the system Chromium
(``scripts/install-browser.sh`` installs it; ``KMSLAB_CHROMIUM`` points at another binary).
Without a browser the tests skip with that advice, except under CI (``CI=true``), where a
missing browser is a failure: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.browser.labserver import CHROMIUM_ARGS, REPO, LabServer

DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: The window a workshop laptop shows; screenshots in docs/images/ have this width.
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("KMSLAB_CHROMIUM", DEFAULT_CHROMIUM)
    if not os.access(path, os.X_OK):
        _missing(
            f"no Chromium at {path}: run `make browser` as root (scripts/install-browser.sh), "
            "`sudo apt-get install chromium`, or set KMSLAB_CHROMIUM"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    # Chromium keeps crash reports and caches under HOME: a temporary one keeps them out of ours.
    env: dict[str, str | float | bool] = {**os.environ}
    env["HOME"] = str(tmp_path_factory.mktemp("chromium-home"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, env=env
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[LabServer]:
    """One JupyterLab server for the session, serving a copy of the repository's notebooks."""
    with LabServer(tmp_path_factory.mktemp("jupyterlab"), REPO / "notebooks") as server:
        yield server


@pytest.fixture
def page(browser: Browser, lab: LabServer) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
