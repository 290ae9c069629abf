"""The fidelity ledger (src/kmslab/kms/ledger.py) covers every error kmslab can return.

The scan reads the source of every module under src/kmslab (AST, no import) and collects
each (error code, message template) it can raise:

- ``SomeException(<literal or f-string>)``, or with no message (AWS sends none): raised
  at the call, or returned by a helper that builds it;
- ``error("Code", <literal or f-string>)`` and table rows ``("Code", "template")``: the
  helper and the tables that build errors from data (key-state rules);
- ``errors.append(<literal or f-string>)``: the parts of a ValidationException;
- ``Failure(<code>, <code>, <code>, <message>)`` rows of ``xks_failures.FAILURES`` (each code
  and the message a literal or a module constant): what a failed external key store proxy
  call becomes, raised through ``ERRORS[code](message)`` in a helper listed in
  ``_TABLE_HELPERS``. Such a call anywhere else fails the test.

A raise site whose message is neither a literal nor an f-string fails the test: write the
text at the raise site. New raise sites anywhere in the package are picked up by the scan.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kmslab.exceptions import ERRORS
from kmslab.kms import ledger

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kmslab"
#: Modules that define errors rather than raise them.
_SKIP = {SRC / "exceptions.py"}
_BUILDERS = {"error"}
#: (module, table-row type) whose arguments are codes then a message, each a literal or a
#: module constant: xks_failures.Failure(manage, create_key, crypto, message).
_ROW_TYPES = {("src/kmslab/kms/keystores/xks_failures.py", "Failure")}
#: (module, function) that may raise ``ERRORS[code](message)`` with data from those rows.
_TABLE_HELPERS = {("src/kmslab/kms/ops/keystores.py", "_error")}


@dataclass(frozen=True)
class Site:
    path: str
    line: int
    code: str
    template: str | None  # None: no message member
    part: bool = False  # a ValidationException part, not a whole message


def _template(node: ast.expr) -> str | None:
    """A literal's or f-string's text with each placeholder as ``{}``; raises if neither."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return ledger.normalize(node.value)
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.JoinedStr):
        out = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                out.append(ledger.normalize(str(value.value)))
            else:
                out.append("{}")
        return "".join(out)
    raise TypeError(ast.dump(node))


class Unanalysable(Exception):
    pass


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """The module's top-level ``NAME = "text"`` and ``A, B = "a", "b"`` constants."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
            found[target.id] = value
        if (
            isinstance(target, ast.Tuple)
            and isinstance(value, ast.Tuple)
            and len(target.elts) == len(value.elts)
        ):
            for name, item in zip(target.elts, value.elts, strict=True):
                if isinstance(name, ast.Name) and isinstance(item, ast.Constant):
                    found[name.id] = item
    return found


def _scan(path: Path) -> tuple[list[Site], list[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = str(path.relative_to(ROOT))
    sites: list[Site] = []
    problems: list[str] = []
    constants = _constants(tree)

    def resolve(node: ast.expr) -> ast.expr:
        return constants.get(node.id, node) if isinstance(node, ast.Name) else node

    helpers = {
        func: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for func in [node.name]
        if (rel, func) in _TABLE_HELPERS
    }
    allowed = {id(n) for f in helpers.values() for n in ast.walk(f)}

    def add(node: ast.AST, code: str, arg: ast.expr | None, part: bool = False) -> None:
        try:
            template = None if arg is None else _template(arg)
        except TypeError:
            problems.append(f"{rel}:{node.lineno}: {code} message is not a literal or f-string")
            return
        sites.append(Site(rel, node.lineno, code, template, part))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ERRORS:  # raised, or returned by a helper that builds it
                add(node, node.func.id, node.args[0] if node.args else None)
            if node.func.id in _BUILDERS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and first.value in ERRORS:
                    add(node, first.value, node.args[1] if len(node.args) > 1 else None)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "errors"
            and node.args
        ):
            add(node, "ValidationException", node.args[0], part=True)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and (rel, node.func.id) in _ROW_TYPES
            and node.args
        ):
            *codes, message = (resolve(a) for a in node.args)
            for code in codes:
                if isinstance(code, ast.Constant) and code.value in ERRORS:
                    add(node, code.value, message)
                else:
                    problems.append(f"{rel}:{node.lineno}: a {node.func.id} code is not read")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Subscript)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "ERRORS"
            and id(node) not in allowed
        ):
            problems.append(f"{rel}:{node.lineno}: ERRORS[...](...) outside a table helper")
        if (
            isinstance(node, ast.Tuple)
            and len(node.elts) == 2
            and isinstance(node.elts[0], ast.Constant)
            and node.elts[0].value in ERRORS
            and isinstance(node.elts[1], ast.Constant | ast.JoinedStr)
            and not (isinstance(node.elts[1], ast.Constant) and node.elts[1].value in ERRORS)
        ):
            add(node, node.elts[0].value, node.elts[1])
    return sites, problems


def raise_sites() -> tuple[list[Site], list[str]]:
    """Every (code, template) the package can return, and the raise sites it cannot read."""
    sites: list[Site] = []
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if path in _SKIP:
            continue
        found, bad = _scan(path)
        sites += found
        problems += bad
    return sites, problems


def test_every_raise_site_is_readable() -> None:
    _, problems = raise_sites()
    assert not problems, "\n".join(problems)


def test_every_error_kmslab_can_return_has_a_row() -> None:
    sites, _ = raise_sites()
    missing = sorted(
        {
            f"{s.code}: {s.template!r}{' (part)' if s.part else ''}   at {s.path}:{s.line}"
            for s in sites
            if ledger.find(s.code, s.template, part=s.part) is None
        }
    )
    assert not missing, "no ledger row for:\n" + "\n".join(missing)


def test_every_row_has_provenance_and_a_source() -> None:
    for row in ledger.LEDGER:
        assert row.provenance in ledger.PROVENANCE, row
        assert row.source.strip(), row
        assert row.code in ERRORS or row.http, row


def test_rows_are_unique() -> None:
    keys = [(r.code, r.key, r.part) for r in ledger.LEDGER]
    assert len(keys) == len(set(keys))
    ids = [r.id for r in ledger.LEDGER]
    assert len(ids) == len(set(ids))


def test_every_row_is_raised_somewhere() -> None:
    sites, _ = raise_sites()
    raised = {(s.code, s.template, s.part) for s in sites}
    unused = [r.id for r in ledger.LEDGER if (r.code, r.key, r.part) not in raised and not r.http]
    assert not unused, f"rows no code raises: {unused}"


def test_generated_docs_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_fidelity.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("message", "row_id"),
    [
        ("Invalid keyId 'fake-key-id'", "invalid-key-id"),
        ("Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found.", "alias-not-found"),
        (None, None),
    ],
)
def test_find_matches_a_message_to_its_row(message: str | None, row_id: str | None) -> None:
    row = ledger.match("NotFoundException", message)
    assert (row.id if row else None) == row_id


def test_placeholders_match_any_text_but_not_more() -> None:
    assert ledger.match("NotFoundException", "Invalid keyId 'x' and more") is None
    assert re.fullmatch(r"\{\}", ledger.normalize("<key ARN>"))
