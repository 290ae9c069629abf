"""Lesson 09 helpers: who may use a key. Explanations of refusals and the record as a table
(the lesson's quiz is ``quizzes/09.toml``).

>>> from kmslab import LocalKMS
>>> from kmslab.learn import key_access, lesson
>>> kms = LocalKMS()
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> reader = kms.iam.create_role("Reader")
>>> with kms.acting_as(reader.arn):
...     refused = lesson.try_call(kms.call, "DescribeKey", KeyId=key_id)
>>> print(key_access.explain(refused).fix)  # doctest: +NORMALIZE_WHITESPACE
Give the caller an identity policy that allows kms:DescribeKey on this key (or a grant),
or name the caller in the key policy.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Explanation", "events_table", "explain"]

_DENIAL = re.compile(
    r"User: (?P<caller>\S+) is not authorized to perform: (?P<action>\S+) on resource: "
    r"(?P<resource>\S+) (?:because no (?P<missing>resource|identity)-based policy allows "
    r"the \S+ action|with an explicit deny in an? (?P<deny>resource|identity)-based policy)"
)
_DOCS = "https://docs.aws.amazon.com/kms/latest/developerguide/"

#: Reason in AWS's message -> (why, what to do, the AWS page).
_REASONS: dict[str, tuple[str, str, str]] = {
    "missing-identity": (
        "The key policy lets the account decide through IAM, but no IAM policy of the caller "
        "allows {action}.",
        "Give the caller an identity policy that allows {action} on this key (or a grant), "
        "or name the caller in the key policy.",
        _DOCS + "iam-policies.html",
    ),
    "missing-resource": (
        "The key policy neither allows the caller nor delegates to the caller's account, so "
        "no IAM policy can help.",
        "Add a key policy statement that names the caller (or its account, to delegate to "
        "IAM) for {action}, or give the caller a grant.",
        _DOCS + "key-policy-overview.html",
    ),
    "deny-resource": (
        "A Deny statement of the key policy matches this request; a Deny wins over every "
        "Allow and every grant.",
        "Change the Deny statement (its Principal, Action or Condition) if the request "
        "should pass.",
        _DOCS + "policy-evaluation.html",
    ),
    "deny-identity": (
        "A Deny statement of the caller's IAM policies matches this request; a Deny wins "
        "over every Allow, even in the key policy.",
        "Change the caller's IAM policy.",
        _DOCS + "policy-evaluation.html",
    ),
}


@dataclass(frozen=True)
class Explanation:
    """kmslab's reading of an AccessDeniedException: who, what, on which resource, why."""

    caller: str
    action: str
    resource: str
    headline: str
    fix: str
    page: str

    def __repr__(self) -> str:
        return (
            f"{self.headline}\n  caller: {self.caller}\n  action: {self.action}\n  "
            f"resource: {self.resource}\n  what to do: {self.fix}\n  read: {self.page}"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:8px'>{k}</th><td><code>"
            f"{html.escape(v)}</code></td></tr>"
            for k, v in (
                ("caller", self.caller),
                ("action", self.action),
                ("resource", self.resource),
            )
        )
        return (
            "<div style='border-left:4px solid #2980b9;padding-left:8px'><i>kmslab explains:</i> "
            f"{html.escape(self.headline)}<table>{rows}</table>"
            f"<p><b>What to do:</b> {html.escape(self.fix)} "
            f"<a href='{self.page}'>{html.escape(self.page)}</a></p></div>"
        )


def explain(error: Any) -> Explanation:
    """Explain an AccessDeniedException: a message, a CallResult, a KMSError or a ClientError.

    Raises ValueError for anything that is not an AccessDeniedException message in AWS's
    format (the fidelity ledger's AccessDeniedException rows).
    """
    message = getattr(error, "error_message", None) or getattr(error, "message", None)
    response = getattr(error, "response", None)
    if message is None and isinstance(response, Mapping):
        message = response.get("Error", {}).get("Message")
    text = message if isinstance(message, str) else str(error)
    m = _DENIAL.search(text)
    if m is None:
        raise ValueError("not an AccessDeniedException message in AWS's format")
    key = f"missing-{m['missing']}" if m["missing"] else f"deny-{m['deny']}"
    why, fix, page = _REASONS[key]
    return Explanation(
        m["caller"],
        m["action"],
        m["resource"],
        why.format(action=m["action"]),
        fix.format(action=m["action"]),
        page,
    )


def _short(arn: str) -> str:
    """arn:aws:sts::111122223333:assumed-role/Analyst/kmslab -> role Analyst."""
    tail = arn.split(":", 5)[-1]
    if tail.startswith("assumed-role/"):
        return "role " + tail.split("/")[1]
    if tail.startswith(("user/", "role/")):
        kind, _, name = tail.partition("/")
        return f"{kind} {name.rsplit('/', 1)[-1]}"
    return tail


class EventsTable:
    """Events as a table: who called what on which key, and the outcome."""

    def __init__(self, events: Iterable[Mapping[str, Any]], *, key_column: bool = True) -> None:
        self.columns = (
            ("caller", "event", "key", "outcome") if key_column else ("caller", "event", "outcome")
        )
        self.rows = [
            (
                _short(e["userIdentity"]["arn"]),
                str(e["eventName"]),
                *(
                    [", ".join(r["ARN"].rsplit("/", 1)[-1][:8] for r in e["resources"]) or "-"]
                    if key_column
                    else []
                ),
                str(e.get("errorCode") or "OK"),
            )
            for e in events
        ]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        widths = [
            max([len(c)] + [len(r[i]) for r in self.rows]) for i, c in enumerate(self.columns)
        ]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in self.columns)
        last = len(self.columns) - 1
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='color:{'#c0392b' if i == last and v != 'OK' else 'inherit'}'>"
                f"{html.escape(v)}</td>"
                for i, v in enumerate(r)
            )
            + "</tr>"
            for r in self.rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"


def events_table(events: Iterable[Mapping[str, Any]], *, key_column: bool = True) -> EventsTable:
    """``kms.events(...)`` as a table (key ids shortened to 8 characters; ``key_column=False``
    leaves them out, for the events of one key)."""
    return EventsTable(events, key_column=key_column)
