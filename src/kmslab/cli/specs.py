"""``kmslab specs``: the key-spec catalogue as a table, one spec in detail, or JSON
(rendered by :mod:`kmslab.learn.spec_table`).

From a shell::

    kmslab specs                          # the whole catalogue, one line per usage
    kmslab specs --usage KEY_AGREEMENT    # only the specs that allow a usage
    kmslab specs RSA_2048                 # one spec: every fact, every algorithm
    kmslab specs --json                   # all 20 rows as JSON
"""

from __future__ import annotations

import argparse
import json
import sys

from kmslab import specs
from kmslab.exceptions import UnknownKeySpecError
from kmslab.learn.spec_table import render_detail, render_table, spec_to_dict

__all__ = ["HELP", "configure", "run"]

HELP = "show the key-spec catalogue: every KeySpec, its usages, algorithms and sizes"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``specs`` arguments to ``parser``."""
    parser.add_argument(
        "name", nargs="?", metavar="KEY_SPEC", help="show one key spec in detail, e.g. RSA_2048"
    )
    parser.add_argument(
        "--usage",
        metavar="KEY_USAGE",
        help=f"only the key specs that allow this KeyUsage ({', '.join(specs.KEY_USAGES)})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Print what ``args`` asks for; 2 for an unknown key spec or key usage, else 0."""
    rows = list(specs.all_specs())
    usage: str | None = args.usage
    if usage is not None:
        if usage not in specs.KEY_USAGES:
            return _fail(
                f"Unknown key usage {usage!r}. Valid key usages: {', '.join(specs.KEY_USAGES)}."
            )
        rows = specs.for_usage(usage)
    if args.name is not None:
        try:
            info = specs.get(args.name)
        except UnknownKeySpecError as exc:
            return _fail(str(exc))
        if usage is not None and info not in rows:
            return _fail(
                f"{info.name} does not allow key usage {usage}; "
                f"it allows {', '.join(info.usage_names)}."
            )
        print(json.dumps(spec_to_dict(info), indent=2) if args.json else render_detail(info))
        return 0
    if args.json:
        print(json.dumps([spec_to_dict(r) for r in rows], indent=2))
    else:
        print(render_table(rows))
    return 0


def _fail(message: str) -> int:
    print(f"kmslab specs: error: {message}", file=sys.stderr)
    return 2
