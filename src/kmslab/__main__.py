"""``python -m kmslab``: the same as the ``kmslab`` console script.

>>> import subprocess, sys
>>> subprocess.run([sys.executable, "-m", "kmslab", "--version"],
...                capture_output=True, text=True).stdout.startswith("kmslab ")
True
"""

from __future__ import annotations

from kmslab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
