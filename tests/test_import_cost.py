"""``import kmslab`` stays light: the heavy libraries load on first use, not on import.

Each check runs in a fresh interpreter, so modules other tests imported do not count. The
import time is printed (``pytest -s`` shows it), never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("matplotlib", "ipywidgets", "boto3", "botocore", "IPython")

PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "modules": sorted(sys.modules)}}))
"""


@pytest.mark.parametrize("module", ["kmslab", "kmslab.cli", "kmslab.cli.specs"])
def test_import_does_not_load_heavy_modules(module: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    result = json.loads(proc.stdout)
    modules: list[str] = result["modules"]
    assert module in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"import {module} loaded {heavy}"
    print(f"import {module}: {result['seconds'] * 1000:.1f} ms, {len(modules)} modules loaded")
