"""``kmslab compare``: which operations each key type allows, derived from the rules or
measured on a local KMS (:mod:`kmslab.learn.compare`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping

from kmslab.learn.availability import (
    availability_diff,
    availability_text,
    derived_availability,
    measured_availability,
)
from kmslab.learn.compare import (
    By,
    Matrix,
    derived_matrix,
    diff,
    measured_matrix,
    to_html,
    to_markdown,
    to_records,
    to_text,
)

__all__ = ["HELP", "configure", "run"]

HELP = "show which operations each key type allows (derived from the rules, or measured)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``compare`` arguments to ``parser``."""
    parser.add_argument(
        "--by",
        choices=("type", "spec"),
        default="type",
        help="columns: the six key types (default) or every KeySpec/KeyUsage pair",
    )
    parser.add_argument(
        "--measured",
        action="store_true",
        help="measure the matrix on a fresh local KMS instead of deriving it from the rules",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="one JSON record per (operation, KeySpec/KeyUsage)"
    )
    output.add_argument(
        "--format",
        choices=("text", "markdown", "html"),
        default="text",
        help="table format (default: text)",
    )
    output.add_argument(
        "--where",
        action="store_true",
        help="where each KeySpec can live: the partitions that offer it, custom key stores",
    )
    output.add_argument(
        "--check",
        action="store_true",
        help="derive and measure, print any disagreement; exit status 1 if they disagree",
    )


def run(args: argparse.Namespace) -> int:
    """Print the matrix ``args`` asks for; with ``--check``, 1 if derived != measured."""
    by: By = args.by
    if args.check:
        derived, measured = derived_matrix(), measured_matrix()
        differences = diff(derived, measured)
        for d in differences:
            print(d)
        unmeasured = len(measured.unmeasured)
        print(
            f"{len(derived) - len(differences)} of {len(derived)} cells agree "
            f"({unmeasured} taken from the rules because kmslab cannot measure them)."
        )
        where, where_measured = derived_availability(), measured_availability()
        elsewhere = availability_diff(where, where_measured)
        for line in elsewhere:
            print(line)
        print(
            f"{len(where) - len(elsewhere)} of {len(where)} (KeySpec, partition or custom key "
            "store) availabilities agree."
        )
        return 1 if differences or elsewhere else 0
    if args.where:
        print(availability_text(derived_availability()))
        return 0
    m = measured_matrix() if args.measured else derived_matrix()
    if args.json:
        print(json.dumps(to_records(m), indent=2))
        return 0
    renderers: Mapping[str, Callable[[Matrix, By], str]] = {
        "text": lambda mx, b: to_text(mx, b),
        "markdown": to_markdown,
        "html": to_html,
    }
    print(renderers[args.format](m, by))
    return 0
