"""The ``kmslab`` console script: a thin argparse front over a table of subcommand modules,
one module per command in this package (the top layer: it may import everything below).

Each subcommand lives in its own module that defines ``HELP: str``,
``configure(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int``. :data:`SUBCOMMANDS` maps the command name to the
module; a module that does not exist (yet) is skipped, so the script works while the
toolkit grows. This module imports nothing heavy, and only the subcommand being run is
imported (all of them only to print the top-level help).

>>> from kmslab.cli import main
>>> main(["specs", "--usage", "ENCAPSULATE_DECAPSULATE"])  # doctest: +ELLIPSIS
KeySpec      family  type        security bits  public key bytes  usage ...
ML_KEM_512   ml-kem  asymmetric            128               822  ENCAPSULATE_DECAPSULATE ...
...
0

From a shell: ``kmslab --help``, ``kmslab --version``, ``kmslab specs RSA_2048``, or
``python -m kmslab specs --json``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from types import ModuleType

from kmslab._version import __version__

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: Subcommand name -> the module that implements it (``HELP``, ``configure``, ``run``).
SUBCOMMANDS: dict[str, str] = {
    "specs": "kmslab.cli.specs",
    "compare": "kmslab.cli.compare",
    "choose": "kmslab.cli.choose",
    "bench": "kmslab.cli.bench",
    "serve": "kmslab.cli.serve",
    "xks-proxy": "kmslab.cli.xks_proxy",
}

_RUN = "_kmslab_run"  # the Namespace attribute that carries the chosen module's run()


def _load(module_name: str) -> ModuleType | None:
    """The subcommand module, or None when that module (and only it) does not exist."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise  # the module exists but something it imports is missing: a real error


def _requested(argv: Sequence[str]) -> list[str]:
    """The subcommands to load: the one named in ``argv``, or all of them (for help).

    The top-level parser has no option that takes a value, so the first argument that
    is not an option is the subcommand.
    """
    first = next((a for a in argv if not a.startswith("-")), None)
    return [first] if first in SUBCOMMANDS else list(SUBCOMMANDS)


def build_parser(names: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser, with a subparser for each available subcommand in ``names``.

    >>> parser = build_parser(["specs"])
    >>> parser.parse_args(["specs", "--json"]).json
    True
    """
    parser = argparse.ArgumentParser(
        prog="kmslab",
        description="Learn AWS KMS key types: the key-spec catalogue, comparisons and benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"kmslab {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS if names is None else names:
        module = _load(SUBCOMMANDS[name])
        if module is None:
            continue
        help_text: str = module.HELP
        configure: Callable[[argparse.ArgumentParser], None] = module.configure
        run: Callable[[argparse.Namespace], int] = module.run
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        configure(sub)
        sub.set_defaults(**{_RUN: run})
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kmslab`` command line and return its exit status (it never exits itself).

    ``argv`` defaults to ``sys.argv[1:]``. Usage errors return 2, as argparse does; with no
    subcommand the help is printed and 0 returned.

    >>> main(["specs", "NOT_A_SPEC"])
    2
    """
    import sys

    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_requested(args_list))
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, _RUN, None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return run(args)
    except BrokenPipeError:  # `kmslab compare | head`: the reader left, which is fine
        import os

        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
