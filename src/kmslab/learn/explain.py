"""kmslab's explanation of one failed KMS call, kept apart from AWS's error.

A client of the local KMS receives exactly what AWS sends: the error code and AWS's message
(or no message at all). What kmslab can teach about the failure lives here, one call away,
as ``rustc --explain`` keeps the teaching beside a terse compiler error:

>>> import kmslab
>>> kms = kmslab.client()
>>> try:
...     kms.describe_key(KeyId="fake-key-id")
... except kms.exceptions.NotFoundException as err:
...     explanation = kmslab.explain(err)
>>> explanation.message
"Invalid keyId 'fake-key-id'"
>>> explanation.page
'https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id'

:func:`explain` takes a botocore ``ClientError`` or a :class:`kmslab.exceptions.KMSError`.
It finds the failure by its request id (``ResponseMetadata.RequestId``, AWS's
``x-amzn-RequestId``) in the local KMS that answered it, so the explanation speaks of that
very call: the key it named, its key spec and usage, the algorithm it asked for. For an error
from real AWS (or another endpoint) it explains from the code and message alone.

The text of each explanation is kmslab's; the ``page`` is the AWS page to read next.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kmslab import specs
from kmslab.exceptions import KMSError
from kmslab.kms import ledger
from kmslab.kms.failures import Failure, find_failure
from kmslab.kms.service import LocalKMS
from kmslab.learn.guides import EXPLANATIONS, Guide

__all__ = ["Explanation", "explain"]

#: Words used where a fact of the failure is unknown (an error from real AWS, say).
_UNKNOWN = {
    "operation": "this operation",
    "key ARN": "the key",
    "KeySpec": "its key spec",
    "KeyUsage": "its usage",
    "Origin": "another origin",
    "ciphertext_key": "another key",
}


@dataclass(frozen=True)
class Explanation:
    """kmslab's explanation of one failure, under AWS's error.

    ``code`` and ``message`` are AWS's, exactly (``message`` None: AWS sent none).
    ``found`` says whether the failure itself was found by its request id (the explanation
    then names its key and values); otherwise it is explained from code and message only.
    ``provenance`` is the ledger's for AWS's text (observed, documented, inferred).
    """

    code: str
    message: str | None
    operation: str | None
    request_id: str | None
    why: str
    instead: str
    page: str
    row: str | None = None
    provenance: str | None = None
    found: bool = False
    facts: Mapping[str, str] = field(default_factory=dict, repr=False)

    def aws_error(self) -> str:
        """The error as botocore prints it (without a retry note)."""
        where = f" when calling the {self.operation} operation" if self.operation else ""
        return f"An error occurred ({self.code}){where}: {self.message or ''}".rstrip()

    def __repr__(self) -> str:
        lines = [
            self.aws_error(),
            "",
            f"Why: {self.why}",
            f"Instead: {self.instead}",
            f"Read: {self.page}",
        ]
        if self.request_id:
            lines.append(f"(request id {self.request_id})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        message = esc(self.message) if self.message else "<i>(no message)</i>"
        rid = f"<br><small>request id {esc(self.request_id)}</small>" if self.request_id else ""
        return (
            '<div style="border-left:4px solid #c0392b;padding-left:8px">'
            f"<b>{esc(self.code)}</b>: <code>{message}</code></div>"
            '<div style="border-left:4px solid #2980b9;padding-left:8px;margin-top:4px">'
            f"<b>Why</b> {esc(self.why)}<br><b>Instead</b> {esc(self.instead)}<br>"
            f'<b>Read</b> <a href="{esc(self.page)}" target="_blank">{esc(self.page)}</a>'
            f"{rid}</div>"
        )


def _parts(error: BaseException) -> tuple[str, str | None, str | None, str | None, dict[str, str]]:
    """(code, message, operation, request id, detail) of a ClientError or KMSError."""
    if isinstance(error, KMSError):
        return error.code, error.message, None, error.request_id, dict(error.detail)
    response = getattr(error, "response", None)
    if not isinstance(response, Mapping) or not isinstance(response.get("Error"), Mapping):
        raise TypeError(f"explain() takes a botocore ClientError or a KMSError, not {error!r}")
    err = response["Error"]
    meta = response.get("ResponseMetadata") or {}
    operation = getattr(error, "operation_name", None)
    return (
        str(err.get("Code", "")),
        err.get("Message") or None,
        str(operation) if operation else None,
        meta.get("RequestId"),
        {},
    )


def _facts(failure: Failure | None, row: ledger.Row | None, message: str | None) -> dict[str, str]:
    """Every value an explanation may name, by placeholder name."""
    facts: dict[str, str] = {}
    if row is not None and row.template is not None and message:
        names = re.findall(r"<([^<>]*)>", row.template)
        found = re.fullmatch(_capture(row.template), message, re.DOTALL)
        if found is not None:
            facts.update(zip(names, found.groups(), strict=False))
    if failure is not None:
        facts["operation"] = failure.operation
        for name, value in failure.params.items():
            if isinstance(value, str | int | bool):
                facts[name] = str(value)
        key = failure.keys.get("KeyId") or next(iter(failure.keys.values()), None)
        if key is not None:
            facts.setdefault("key ARN", key["Arn"])
            for name in ("KeySpec", "KeyUsage", "KeyState", "Origin"):
                facts[name] = key[name]
        facts.update(failure.detail)
    spec = facts.get("KeySpec")
    if spec in specs.KEY_SPECS:  # from the catalogue, never written twice
        facts["usages of KeySpec"] = " or ".join(specs.get(spec).usage_names)
    return facts


def _capture(template: str) -> str:
    pieces = re.split(r"<[^<>]*>", template)
    return "(.*?)".join(re.escape(p) for p in pieces)


def _fill(text: str, facts: Mapping[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        return facts.get(name) or _UNKNOWN.get(name, name)

    return re.sub(r"<([^<>]*)>", value, text)


def _generic(code: str) -> Guide:
    """An explanation from the error code alone: AWS's own description of the exception."""
    from kmslab.kms.wire import service_model

    try:
        doc = service_model().shape_for(code).documentation
    except Exception:  # a code not in the model (ValidationException, AccessDenied...)
        doc = ""
    why = " ".join(re.sub(r"<[^>]+>", "", doc).split()) or f"AWS KMS answered {code}."
    return Guide(why, "Read the error's section of the operation's API reference page.")


def explain(error: BaseException, *, kms: LocalKMS | None = None) -> Explanation:
    """kmslab's explanation of a failed KMS call: why, what to do instead, the AWS page.

    ``error`` is a botocore ``ClientError`` (from ``kmslab.client()``, ``kmslab serve`` or
    real AWS) or a :class:`kmslab.exceptions.KMSError` (from ``LocalKMS.call``). The failure
    is looked up by its request id in ``kms`` (default: every live LocalKMS); a failure not
    found there is explained from its code and message. Raises TypeError for anything else.
    """
    code, message, operation, request_id, detail = _parts(error)
    failure: Failure | None = None
    if request_id:
        failure = kms.failures.get(request_id) if kms is not None else find_failure(request_id)
    if failure is not None:
        operation = operation or failure.operation
    row = ledger.match(code, message)
    facts = _facts(failure, row, message)
    facts.update(detail)
    if operation:
        facts.setdefault("operation", operation)
    guide = EXPLANATIONS.get(row.id) if row is not None else None
    guide = guide or _generic(code)
    page = guide.page.replace("{operation}", operation or "Operations")
    return Explanation(
        code=code,
        message=message,
        operation=operation,
        request_id=request_id,
        why=_fill(guide.why, facts),
        instead=_fill(guide.instead, facts),
        page=page,
        row=row.id if row is not None else None,
        provenance=row.provenance if row is not None else None,
        found=failure is not None,
        facts=facts,
    )
