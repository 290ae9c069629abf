"""A policy simulator for lesson 09: edit a key policy statement, see which operations each
principal may call. Every cell comes from a real call to the local KMS.

>>> from kmslab import LocalKMS
>>> from kmslab.learn import policy_sim
>>> kms = LocalKMS()
>>> _ = kms.iam.create_role("Analyst")
>>> grid = policy_sim.simulate(kms, {
...     "Effect": "Allow",
...     "Principal": {"AWS": "arn:aws:iam::111122223333:role/Analyst"},
...     "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"},
...     principals=["arn:aws:iam::111122223333:role/Analyst"],
...     operations=["Encrypt", "Decrypt", "DescribeKey"])
>>> print(grid)
principal     Encrypt  Decrypt  DescribeKey
role Analyst  allowed  denied   allowed

How each cell is decided: a sandbox key is created with the default key statement plus
yours (with BypassPolicyLockoutSafetyCheck, so a statement that would lock you out can
still be tried), then each principal makes the call. Calls that change nothing are made
as they are; calls that would change something are made with DryRun where AWS offers it
(DryRunOperationException means "allowed"). The evaluator's own decision is asked too and
must agree with the call, so a disagreement would show as "mismatch".
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import KMSError, MalformedPolicyDocumentException

if TYPE_CHECKING:
    from kmslab.kms.service import LocalKMS

__all__ = ["OPERATIONS", "Grid", "simulate", "simulator"]

Request = Callable[["LocalKMS", str, bytes], dict[str, Any]]

#: Operation -> the request the simulator sends (key id, a ciphertext of the sandbox key).
OPERATIONS: dict[str, Request] = {
    "Encrypt": lambda kms, key, blob: {"KeyId": key, "Plaintext": b"x", "DryRun": True},
    "Decrypt": lambda kms, key, blob: {"CiphertextBlob": blob, "DryRun": True},
    "GenerateDataKey": lambda kms, key, blob: {"KeyId": key, "KeySpec": "AES_256", "DryRun": True},
    "ReEncrypt": lambda kms, key, blob: {
        "CiphertextBlob": blob,
        "DestinationKeyId": key,
        "DryRun": True,
    },
    "DescribeKey": lambda kms, key, blob: {"KeyId": key},
    "GetKeyPolicy": lambda kms, key, blob: {"KeyId": key},
    "ListGrants": lambda kms, key, blob: {"KeyId": key},
    "CreateGrant": lambda kms, key, blob: {
        "KeyId": key,
        "GranteePrincipal": f"arn:aws:iam::{kms.account}:root",
        "Operations": ["Decrypt"],
        "DryRun": True,
    },
    "GetKeyRotationStatus": lambda kms, key, blob: {"KeyId": key},
}
_ALLOWED = ("allowed", "#27ae60")
_DENIED = ("denied", "#c0392b")


def _short(arn: str) -> str:
    tail = arn.split(":", 5)[-1]
    kind, _, name = tail.partition("/")
    return f"{kind} {name}" if name else tail


@dataclass(frozen=True)
class Grid:
    """Principal x operation -> "allowed", "denied", or another error code; and why."""

    principals: tuple[str, ...]
    operations: tuple[str, ...]
    cells: Mapping[tuple[str, str], str]
    reasons: Mapping[tuple[str, str], str]
    error: str | None = None

    def __repr__(self) -> str:
        if self.error:
            return f"The statement was refused: {self.error}"
        names = [_short(p) for p in self.principals]
        first = max([len("principal")] + [len(n) for n in names])
        widths = [max(len(op), 7) for op in self.operations]
        lines = [
            "principal".ljust(first)
            + "  "
            + "  ".join(o.ljust(w) for o, w in zip(self.operations, widths, strict=True))
        ]
        for p, name in zip(self.principals, names, strict=True):
            cells = [
                self.cells[p, o].ljust(w) for o, w in zip(self.operations, widths, strict=True)
            ]
            lines.append(name.ljust(first) + "  " + "  ".join(cells))
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        if self.error:
            return (
                "<p style='color:#c0392b'>The statement was refused: "
                f"<code>{html.escape(self.error)}</code></p>"
            )
        head = "".join(f"<th>{html.escape(o)}</th>" for o in self.operations)
        rows = []
        for p in self.principals:
            cells = []
            for o in self.operations:
                value = self.cells[p, o]
                colour = dict((_ALLOWED, _DENIED)).get(value, "#7f8c8d")
                cells.append(
                    f"<td style='color:{colour};text-align:center' "
                    f"title='{html.escape(self.reasons[p, o])}'>"
                    f"{html.escape(value)}</td>"
                )
            rows.append(
                f"<tr><th style='text-align:left;white-space:nowrap'>{html.escape(_short(p))}</th>"
                f"{''.join(cells)}</tr>"
            )
        return f"<table><tr><th>principal</th>{head}</tr>{''.join(rows)}</table>"


def _policy(kms: LocalKMS, statement: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> str:
    from kmslab.kms.ops.manage import default_policy

    doc = json.loads(default_policy(kms.account, kms.partition.name))
    doc["Statement"] += [statement] if isinstance(statement, Mapping) else list(statement)
    return json.dumps(doc)


def _outcome(kms: LocalKMS, principal: str, operation: str, params: dict[str, Any]) -> str:
    with kms.acting_as(principal):
        try:
            kms.call(operation, **params)
        except KMSError as err:
            if err.code == "DryRunOperationException":
                return "allowed"
            return "denied" if err.code == "AccessDeniedException" else err.code
    return "allowed"


def _reason(kms: LocalKMS, principal: str, operation: str, params: dict[str, Any]) -> str:
    from kmslab.kms.policy import context

    who = kms.iam.get(principal)
    checks = context.checks(kms, who, operation, params)
    decisions = [kms.access.decide(c, who) for c in checks]
    refused = [d for d in decisions if not d.allowed]
    chosen = refused[0] if refused else (decisions[-1] if decisions else None)
    if chosen is None:
        return "no key involved"
    where = f" (statement {chosen.statement})" if chosen.statement else ""
    if chosen.allowed:
        return f"allowed by {chosen.reason}{where}"
    # AWS's phrase: "because no identity-based policy allows the kms:X action".
    why = chosen.reason
    if why.startswith("no "):
        why += f" allows kms:{operation}"
    return f"refused: {why}{where}"


def simulate(
    kms: LocalKMS,
    statement: Mapping[str, Any] | Sequence[Mapping[str, Any]] | str,
    *,
    principals: Iterable[str],
    operations: Iterable[str] = tuple(OPERATIONS),
) -> Grid:
    """Which ``operations`` each principal may call on a key whose policy is the default
    statement plus ``statement`` (a dict, a list of them, or JSON text)."""
    principals, operations = tuple(principals), tuple(operations)
    try:
        parsed = json.loads(statement) if isinstance(statement, str) else statement
        policy = _policy(kms, parsed)
        key = kms.call("CreateKey", Policy=policy, BypassPolicyLockoutSafetyCheck=True)
    except MalformedPolicyDocumentException as err:  # before ValueError: it is one too
        return Grid(
            principals, operations, {}, {}, error=f"MalformedPolicyDocumentException: {err.message}"
        )
    except (ValueError, TypeError) as err:
        return Grid(principals, operations, {}, {}, error=f"not valid JSON ({err})")
    key_id = key["KeyMetadata"]["KeyId"]
    blob = (
        kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
        if "Decrypt" in operations or "ReEncrypt" in operations
        else b""
    )
    cells: dict[tuple[str, str], str] = {}
    reasons: dict[tuple[str, str], str] = {}
    for p in principals:
        for o in operations:
            params = OPERATIONS[o](kms, key_id, blob)
            outcome = _outcome(kms, p, o, params)
            reason = _reason(kms, p, o, {k: v for k, v in params.items() if k != "DryRun"})
            if (outcome == "allowed") != reason.startswith("allowed") and outcome in (
                "allowed",
                "denied",
            ):
                outcome = "mismatch"
            cells[p, o] = outcome
            reasons[p, o] = reason
    kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    return Grid(principals, operations, cells, reasons)


def simulator(
    kms: LocalKMS,
    principals: Iterable[str],
    statement: Mapping[str, Any] | None = None,
    operations: Iterable[str] = tuple(OPERATIONS),
) -> Any:
    """An editor for a key policy statement and the grid :func:`simulate` draws for it.

    Controls (``box.controls``): ``statement`` (Textarea of JSON), ``run`` (Button),
    ``result`` (HTML). Tests set ``statement.value`` and call ``run.click()``.
    """
    import ipywidgets as w

    principals, operations = tuple(principals), tuple(operations)
    start = statement or {
        "Sid": "Try me",
        "Effect": "Allow",
        "Principal": {"AWS": principals[0]},
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
    }
    text = w.Textarea(
        value=json.dumps(start, indent=2), layout=w.Layout(width="100%", height="14em")
    )
    run = w.Button(description="Simulate", button_style="primary")
    result = w.HTML()

    def update(_: Any = None) -> None:
        grid = simulate(kms, text.value, principals=principals, operations=operations)
        result.value = grid._repr_html_()

    run.on_click(update)
    update()
    box = w.VBox(
        [w.HTML("<b>A key policy statement (added to the default one)</b>"), text, run, result]
    )
    box.controls = SimpleNamespace(statement=text, run=run, result=result)
    return box
