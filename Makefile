# Two commands: `make lab` starts JupyterLab on the lessons; `make test` runs every check.
# Both build their own virtual environment from the pinned files first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kmslab-installed

.PHONY: lab reset-workspace test check lint typecheck pytest browser binder-test screenshots docs clean

$(STAMP): pyproject.toml binder/requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# Learners work on copies in workspace/ (ignored by git), so the committed lessons never
# change: JupyterLab autosaves after every widget click. Copies are made once; a learner's
# edits survive the next `make lab`. `make reset-workspace` starts over from the lessons.
WORKSPACE := workspace

lab: $(STAMP)
	bash binder/start true
	$(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=$(WORKSPACE) $(WORKSPACE)/00_start_here.ipynb

reset-workspace:
	rm -rf $(WORKSPACE)

test: $(STAMP) lint typecheck browser pytest binder-test

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/lint-imports --config .importlinter

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

# Debian's Chromium for the browser test (tests/browser/): installed with apt-get as root,
# otherwise the script says how (the test then skips, or fails under CI=true).
browser:
	bash scripts/install-browser.sh

# The Binder image's environment, rebuilt from binder/ alone in a temporary venv (as
# repo2docker builds it), runs every notebook: tests/test_binder_env.py.
binder-test: $(STAMP)
	$(BIN)/python -m pytest -m binder tests/test_binder_env.py

# The README's images: timing plots (quick benchmark) and lesson screenshots (browser test).
screenshots: $(STAMP) browser
	$(BIN)/python scripts/make_screenshots.py
	KMSLAB_SCREENSHOTS=docs/images $(BIN)/python -m pytest -m browser tests/browser

# docs/fidelity.md and the README's fidelity counts, from src/kmslab/kms/ledger.py
# (tests/kms/test_ledger.py fails when they are out of date).
docs: $(STAMP)
	$(BIN)/python scripts/make_fidelity.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
