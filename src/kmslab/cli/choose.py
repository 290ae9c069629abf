"""``kmslab choose``: the key specs that fit what a KMS key must do, ranked, with reasons
(:mod:`kmslab.learn.choose`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from kmslab.learn.choose import Needs, choose

__all__ = ["HELP", "configure", "run"]

HELP = "recommend key specs for what a KMS key must do (ranked, with reasons)"


def _flag(f: dataclasses.Field[Any]) -> str:
    flag: str | None = f.metadata.get("flag")
    return flag or "--" + f.name.replace("_", "-")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`Needs` field, and ``--json``."""
    for f in dataclasses.fields(Needs):
        if f.type in (int, "int"):
            parser.add_argument(
                _flag(f), dest=f.name, type=int, default=0, metavar="BITS", help=f.metadata["help"]
            )
        else:
            parser.add_argument(_flag(f), dest=f.name, action="store_true", help=f.metadata["help"])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    """Print the ranked table (or JSON); 1 when no single key fits, else 0."""
    needs = Needs(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Needs)})
    result = choose(needs)
    print(json.dumps(result.to_json(), indent=2) if args.json else result.to_text())
    return 0 if result.recommendations else 1
