"""A throwaway JupyterLab server and the few things a user does in it, for the browser test.

``LabServer`` starts ``jupyter lab`` from this virtual environment on 127.0.0.1 with a random
free port, a random token and every Jupyter/IPython/matplotlib directory under one temporary
folder, so nothing is read from or written to the developer's own settings, and nothing
autosaved lands in the repository (the lessons are copied into the temporary folder first).
``stop()`` shuts the kernels down through the REST API, then the server, then ends any process
still holding one of the server's kernel connection files, so no kernel outlives the test.

The page helpers act as a user would: menus, clicks, the widgets' own controls.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, ViewportSize, expect

REPO = Path(__file__).resolve().parents[2]
#: Seconds the server gets to answer /api/status after start.
START_TIMEOUT_S = 90.0
#: Milliseconds a notebook's "Run All Cells" may take (the lessons run in a few seconds).
RUN_ALL_TIMEOUT_MS = 120_000

#: Chromium's flags for a machine without internet access, run as root: no sandbox (root), no
#: GPU, and none of the background connections (QUIC, component updates, sync) it would try.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Lab settings for a quiet test page: no "news" prompt, no update check toast.
_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LabServer:
    """``jupyter lab`` serving a copy of ``notebooks`` from ``workdir``; use as a context manager.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     server = LabServer(Path(tmp), notebooks=Path(tmp) / "none")
    ...     server.url("lab/tree/x.ipynb").startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, workdir: Path, notebooks: Path) -> None:
        self.workdir = workdir
        self.root = workdir / "root"
        self.notebooks = notebooks
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.runtime_dir = workdir / "runtime"
        self.log_path = workdir / "jupyterlab.log"
        self.process: subprocess.Popen[bytes] | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        """The address of ``path`` with the token (and ``query``) appended."""
        params = "&".join([f"token={self.token}", *(f"{k}={v}" for k, v in query.items())])
        return f"{self.base}/{path}?{params}"

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API; the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(
            f"{self.base}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    # -- life cycle --------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        dirs = {
            "HOME": "home",
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        for name, sub in dirs.items():
            path = self.workdir / sub
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        # The kernels must not pick up the developer's own matplotlib backend or a display.
        env.pop("MPLBACKEND", None)
        env.pop("DISPLAY", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> LabServer:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.notebooks.is_dir():
            shutil.copytree(self.notebooks, self.root / self.notebooks.name, dirs_exist_ok=True)
        env = self._environment()
        labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(json.dumps(_PAGE_CONFIG))
        jupyter_lab = Path(sys.executable).with_name("jupyter-lab")
        command = [
            str(jupyter_lab),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.allow_root=True",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
            f"--LabApp.user_settings_dir={self.workdir / 'settings'}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited at start:\n{self.log_tail()}")
            try:
                self.api("GET", "status")
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"jupyter lab did not answer in {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.25)

    def stop(self) -> None:
        """Shut kernels and server down; end any kernel the server left behind."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                for kernel in self.api("GET", "kernels") or []:
                    self.api("DELETE", f"kernels/{kernel['id']}")
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for pid in self._orphan_kernels():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _orphan_kernels(self) -> list[int]:
        """Processes whose command line names a connection file in this server's runtime dir."""
        marker = str(self.runtime_dir).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                pids.append(int(entry.name))
        return pids

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- what a user does in the page -----------------------------------------------------------


def open_notebook(page: Page, server: LabServer, path: str) -> Locator:
    """Open ``path`` (relative to the server root) in a fresh workspace; its notebook panel."""
    page.goto(server.url(f"lab/tree/{path}", reset=""))
    panel = page.locator(".jp-NotebookPanel:visible").first
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)
    return panel


def wait_kernel_idle(page: Page, timeout_ms: float = 60_000) -> None:
    """Wait until the status bar says the notebook's kernel is idle, as a user would read it."""
    kernel_status = page.locator('.jp-StatusBar-TextItem[title^="Change kernel"]')
    expect(kernel_status).to_have_text(re.compile(r"\|\s*Idle$"), timeout=timeout_ms)


def menu(page: Page, top: str, item: str) -> None:
    """Click ``top`` in the menu bar, then ``item`` in the menu that opens."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    entry = page.locator(".lm-Menu-item:visible").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))
    )
    entry.click()


def run_all_cells(page: Page, panel: Locator) -> None:
    """As a user: Edit > Clear Outputs of All Cells, then Run > Run All Cells; wait until every
    code cell has run (the lessons are saved with their outputs, so clearing comes first)."""
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    menu(page, "Edit", "Clear Outputs of All Cells")
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    expect(prompts.first).to_have_text(re.compile(r"^\[ \]:$"))
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """(panel) => {
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0
                && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
        }""",
        arg=panel.element_handle(),
        timeout=RUN_ALL_TIMEOUT_MS,
    )
    wait_kernel_idle(page, RUN_ALL_TIMEOUT_MS)


def cells_with_errors(panel: Locator) -> list[int]:
    """Indexes (among all cells, as in the .ipynb file) of cells that show an error or stderr."""
    found: list[int] = panel.evaluate(
        """(panel) => [...panel.querySelectorAll('.jp-Notebook .jp-Cell')]
            .map((cell, i) => cell.querySelector(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            ) ? i : -1)
            .filter(i => i >= 0)"""
    )
    return found


def error_text(panel: Locator, index: int) -> str:
    """The error or stderr text shown under cell ``index``."""
    cell = panel.locator(".jp-Notebook .jp-Cell").nth(index)
    outputs = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return "\n".join(text.strip() for text in outputs.all_text_contents())


def screenshot(page: Page, target: Locator, path: Path) -> Path:
    """Save a PNG of ``target`` whole: the window grows for the shot when ``target`` is taller
    or wider than it (a notebook scrolls inside its panel, so a plain element shot would clip),
    then returns to its size."""
    original = page.viewport_size
    assert original is not None
    width, height = target.evaluate(
        """(el) => {
            const widest = Math.max(el.scrollWidth,
                ...[...el.querySelectorAll('*')].map(child => child.scrollWidth));
            return [widest, el.scrollHeight];
        }"""
    )
    box = target.bounding_box()
    left = box["x"] if box else 0
    needed: ViewportSize = {
        "width": max(original["width"], int(left + width + 120)),
        "height": max(original["height"], int(height + 300)),
    }
    page.set_viewport_size(needed)
    try:
        target.scroll_into_view_if_needed()
        # The active cell's floating toolbar is not part of what the lesson shows.
        target.screenshot(
            path=path, animations="disabled", style=".jp-cell-toolbar { visibility: hidden; }"
        )
    finally:
        page.set_viewport_size(original)
    return path
