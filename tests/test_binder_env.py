"""The Binder environment, rebuilt the way mybinder.org builds it, runs every lesson.

With a ``binder/`` folder, repo2docker reads only that folder: it takes the Python version
from ``binder/runtime.txt``, runs ``pip install -r binder/requirements.txt``, copies the
repository, then runs ``binder/postBuild`` from the repository root (which installs kmslab
itself). This module replays those steps in a fresh virtual environment under a temporary
folder, on a copy of the working tree, then executes every ``notebooks/*.ipynb`` with
``jupyter nbconvert --execute`` from that environment (JupyterLab brings nbconvert; nothing
test-only is installed into it) and checks that no cell raised.

It is stricter than Binder in one way: repo2docker starts from a base image that already has
Jupyter, while this environment starts empty, so the pins alone must bring everything.

Building the environment takes about a minute with a warm pip cache (the cache is used, unlike
in repo2docker), so the tests run only when selected: ``make binder-test`` (part of
``make test``) or ``pytest -m binder``. In any other run they skip and say so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.binder

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: What repo2docker would not copy either, or what only this checkout has.
_NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    "tmp",
)
#: Seconds one notebook may run (the lessons take seconds; the timing lesson runs its quick mode).
CELL_TIMEOUT_S = 600


def runtime_python_version() -> tuple[int, int]:
    """The Python version binder/runtime.txt asks for.

    >>> runtime_python_version()
    (3, 11)
    """
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert match, f"binder/runtime.txt must read python-X.Y (repo2docker's format), not {text!r}"
    return int(match[1]), int(match[2])


def _interpreter(version: tuple[int, int]) -> str | None:
    if sys.version_info[:2] == version:
        return getattr(sys, "_base_executable", sys.executable)
    return shutil.which("python{}.{}".format(*version))


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} exited with {done.returncode}\n"
        f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
    )
    return done.stdout


@dataclass(frozen=True)
class BinderEnv:
    """A virtual environment built from binder/ alone, and the repository copy it was built from."""

    repo: Path
    venv: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, *, isolated_home: bool = False) -> dict[str, str]:
        """Environment variables as in the image: the venv first on PATH, no PYTHONPATH.

        With ``isolated_home`` every Jupyter directory points into the temporary folder, so a
        kernel spec or setting of the developer's own cannot stand in for the image's.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        for name in ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "DISPLAY"):
            env.pop(name, None)
        env["VIRTUAL_ENV"] = str(self.venv)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["PIP_PROGRESS_BAR"] = "off"
        if isolated_home:
            for name, sub in {
                "HOME": "home",
                "JUPYTER_CONFIG_DIR": "jupyter-config",
                "JUPYTER_DATA_DIR": "jupyter-data",
                "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
                "IPYTHONDIR": "ipython",
                "MPLCONFIGDIR": "matplotlib",
            }.items():
                path = self.home / sub
                path.mkdir(parents=True, exist_ok=True)
                env[name] = str(path)
        return env

    def execute(self, notebook: Path, output_dir: Path) -> dict[str, object]:
        """Run ``notebook`` with nbconvert from this environment; the executed notebook's JSON."""
        _run(
            [
                str(self.bin / "jupyter"),
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                f"--ExecutePreprocessor.timeout={CELL_TIMEOUT_S}",
                "--ExecutePreprocessor.kernel_name=python3",
                "--output-dir",
                str(output_dir),
                str(notebook),
            ],
            cwd=notebook.parent,
            env=self.env(isolated_home=True),
        )
        executed: dict[str, object] = json.loads((output_dir / notebook.name).read_text())
        return executed


@pytest.fixture(scope="module")
def selected(request: pytest.FixtureRequest) -> None:
    """Skip unless the run selected these tests by their marker (``-m binder``)."""
    if "binder" not in (request.config.option.markexpr or ""):
        pytest.skip("builds the Binder environment (a minute or more): `make binder-test`")


@pytest.fixture(scope="module")
def binder_env(selected: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BinderEnv]:
    version = runtime_python_version()
    python = _interpreter(version)
    if python is None:
        reason = "no Python {}.{} (binder/runtime.txt) on this machine".format(*version)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)

    work = tmp_path_factory.mktemp("binder")
    repo = work / "repo"
    shutil.copytree(REPO, repo, ignore=_NOT_COPIED, symlinks=True)
    built = BinderEnv(repo=repo, venv=work / "venv", home=work / "home")
    env = built.env()
    # repo2docker: a Python of runtime.txt's version, then `pip install -r binder/requirements.txt`
    # (it adds --no-cache-dir; here pip's cache makes a rebuild fast, and --no-compile leaves
    # bytecode to the first import), then binder/postBuild.
    _run([python, "-m", "venv", str(built.venv)], cwd=work, env=env)
    pip_install = [str(built.bin / "python"), "-m", "pip", "install", "--no-compile"]
    _run([*pip_install, "-r", "binder/requirements.txt"], cwd=repo, env=env)
    post_build = repo / "binder" / "postBuild"
    post_build.chmod(post_build.stat().st_mode | 0o111)  # repo2docker does chmod +x, then runs it
    _run([str(post_build)], cwd=repo, env=env)
    yield built
    shutil.rmtree(work, ignore_errors=True)  # a few hundred MB: not for pytest to keep around


def _probe(binder_env: BinderEnv, code: str) -> str:
    """Run ``code`` with the environment's Python, outside the repository copy."""
    return _run(
        [str(binder_env.bin / "python"), "-c", code],
        cwd=binder_env.home.parent,
        env=binder_env.env(isolated_home=True),
    ).strip()


def test_python_is_runtime_txt_version(binder_env: BinderEnv) -> None:
    got = _probe(binder_env, "import sys; print('%d.%d' % sys.version_info[:2])")
    assert got == "{}.{}".format(*runtime_python_version())


def test_every_pin_is_installed_and_consistent(binder_env: BinderEnv) -> None:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    requirements = [line.split("#", 1)[0].strip() for line in lines]
    pins = dict(line.split("==", 1) for line in requirements if line)
    assert pins, "binder/requirements.txt pins nothing"
    installed = json.loads(
        _probe(
            binder_env,
            "import json, importlib.metadata as m; "
            f"print(json.dumps({{n: m.version(n) for n in {sorted(pins)!r}}}))",
        )
    )
    assert installed == {name: version.strip() for name, version in pins.items()}
    # No installed distribution misses a dependency or holds a version another one refuses.
    _run(
        [str(binder_env.bin / "python"), "-m", "pip", "check"],
        cwd=binder_env.repo,
        env=binder_env.env(),
    )


def test_postbuild_installed_kmslab_into_the_environment(binder_env: BinderEnv) -> None:
    location = Path(_probe(binder_env, "import kmslab; print(kmslab.__file__)"))
    assert location.is_relative_to(binder_env.venv), location
    from kmslab import __version__

    assert _probe(binder_env, "import kmslab; print(kmslab.__version__)") == __version__


def test_notebook_kernel_runs_in_the_environment(binder_env: BinderEnv, tmp_path: Path) -> None:
    """The kernel nbconvert starts is the environment's own Python, with kmslab importable."""
    probe = tmp_path / "probe.ipynb"
    probe.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "cells": [
                    {
                        "cell_type": "code",
                        "id": "probe",
                        "metadata": {},
                        "execution_count": None,
                        "outputs": [],
                        "source": "import sys, kmslab\nprint(sys.prefix)\nprint(kmslab.__file__)",
                    }
                ],
            }
        )
    )
    executed = binder_env.execute(probe, tmp_path / "out")
    cells = executed["cells"]
    assert isinstance(cells, list)
    prefix, module = "".join(cells[0]["outputs"][0]["text"]).split()
    assert Path(prefix) == binder_env.venv
    assert Path(module).is_relative_to(binder_env.venv)


def test_there_are_lessons(selected: None) -> None:
    assert NOTEBOOKS, "notebooks/ holds no .ipynb: Binder would open an empty lab"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_lesson_runs_without_errors(binder_env: BinderEnv, notebook: Path, tmp_path: Path) -> None:
    executed = binder_env.execute(binder_env.repo / "notebooks" / notebook.name, tmp_path)
    cells = executed["cells"]
    assert isinstance(cells, list)
    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    # A cell tagged raises-exception shows an error on purpose (nbconvert, nbval and
    # JupyterLab all let it); any other error fails the lesson.
    errors = [
        f"cell {n}: {out['ename']}: {out['evalue']}"
        for n, cell in enumerate(code_cells)
        if "raises-exception" not in cell["metadata"].get("tags", [])
        for out in cell["outputs"]
        if out["output_type"] == "error"
    ]
    assert errors == []
    assert all(cell["execution_count"] is not None for cell in code_cells if cell["source"])
