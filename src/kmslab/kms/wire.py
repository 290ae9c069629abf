"""The request/response layer: AWS JSON 1.1 in, AWS JSON 1.1 out, checked against botocore's model.

This layer does not care how a request arrives (a boto3 ``before-send`` hook today, an HTTP
server tomorrow): :func:`handle` takes the ``X-Amz-Target`` operation name and the JSON body
and returns an HTTP status and a JSON body. Requests are validated the way AWS validates
them, from the shapes in botocore's KMS model: required members, enum values, lengths and
ranges, all reported in one ValidationException ("2 validation errors detected: ...").
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from typing import Any

from kmslab.exceptions import (
    KMSError,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)

Params = dict[str, Any]


@cache
def service_model() -> Any:
    """botocore's KMS service model (loaded once, on first use)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("kms")


class _Shape:
    """A botocore shape with what validation reads computed once.

    botocore's ``Shape.metadata`` and ``required_members`` build new objects on every access;
    validating every request through them would cost more than the cryptography does.
    """

    __slots__ = ("key", "member", "members", "metadata", "required_members", "type_name", "value")

    def __init__(self, shape: Any) -> None:
        self.type_name: str = shape.type_name
        self.metadata: dict[str, Any] = dict(shape.metadata)
        self.required_members: tuple[str, ...] = ()
        self.members: dict[str, _Shape] = {}
        self.member = self.key = self.value = None
        if self.type_name == "structure":
            self.required_members = tuple(shape.required_members)
            self.members = {name: _Shape(m) for name, m in shape.members.items()}
        elif self.type_name == "list":
            self.member = _Shape(shape.member)
        elif self.type_name == "map":
            self.key, self.value = _Shape(shape.key), _Shape(shape.value)


@cache
def input_shape(operation: str) -> _Shape | None:
    model = service_model()
    if operation not in model.operation_names:
        # Observed: no message member (ledger unknown-operation).
        raise UnknownOperationException(operation=operation)
    shape = model.operation_model(operation).input_shape
    return _Shape(shape) if shape is not None else None


@cache
def output_shape(operation: str) -> _Shape | None:
    """The operation's response shape (what the CloudTrail-style record reads)."""
    shape = service_model().operation_model(operation).output_shape
    return _Shape(shape) if shape is not None else None


@cache
def has_dry_run(operation: str) -> bool:
    shape = input_shape(operation)
    return shape is not None and "DryRun" in shape.members


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@cache
def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


#: The most characters of a value a validation message repeats; longer values are cut to
#: this prefix and "...". AWS repeats values in full (the fidelity ledger) but bounds its
#: requests; kmslab bounds the answer instead, so a huge request cannot get a huger error.
ECHO_LIMIT = 256
#: The most violations a ValidationException lists (it still counts them all). AWS text for
#: a request with thousands of violations unknown: inferred.
MAX_LISTED_ERRORS = 10
#: The values the model's integer and long members can hold (Java int and long, as AWS's
#: services are written): anything else cannot be read as the member at all.
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
#: Epoch seconds a timestamp member can hold: datetime's range (years 1 to 9999).
_EPOCH_RANGE = (
    datetime(1, 1, 2, tzinfo=timezone.utc).timestamp(),
    datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp(),
)


def _wrong_type(what: str, path: str) -> KMSError:
    """A member whose JSON type is not the model's. AWS's SerializationException texts for
    KMS are not recorded: inferred (ledger serialization-type)."""
    return SerializationException(f"Expected {what} at '{path}'.")


def _echo(value: str) -> str:
    """A value as a validation message repeats it: at most :data:`ECHO_LIMIT` characters."""
    return value if len(value) <= ECHO_LIMIT else value[:ECHO_LIMIT] + "..."


def _timestamp(value: Any, path: str) -> datetime:
    """A timestamp member: a datetime (Python callers) or epoch seconds (JSON)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = _EPOCH_RANGE
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif low <= value <= high:
            return datetime.fromtimestamp(value, timezone.utc)
    # AWS text unknown: inferred (a timestamp that no date can hold cannot be deserialized).
    raise _wrong_type("a timestamp", path)


def _check(shape: Any, value: Any, path: str, errors: list[str], wire: bool = True) -> Any:
    """Validate (and, for wire input, decode) one value; returns the decoded value.

    ``wire``: the value came as JSON, so a blob is a base64 string. From Python a ``str``
    blob is its UTF-8 bytes, as boto3 sends it.
    """
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            raise _wrong_type("an object", path or "request")
        out = {}
        for req in shape.required_members:
            if value.get(req) is None:
                errors.append(
                    f"Value null at '{_camel(req) if not path else path + '.' + _camel(req)}' "
                    "failed to satisfy constraint: Member must not be null"
                )
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                sub = _camel(name) if not path else f"{path}.{_camel(name)}"
                out[name] = _check(member, value[name], sub, errors, wire)
        return out
    if kind == "blob":
        if isinstance(value, str) and not wire:
            try:
                value = value.encode("utf-8")
            except UnicodeEncodeError:
                raise SerializationException(f"'{path}' is not valid UTF-8 text.") from None
        elif isinstance(value, str):
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise SerializationException(f"'{path}' is not valid base64.") from None
        elif not isinstance(value, bytes | bytearray | memoryview):
            raise _wrong_type("a blob", path)
        value = bytes(value)
        _length(meta, len(value), path, errors, shown="")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong_type("a string", path)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON) is not text
                # AWS text unknown: inferred.
                raise SerializationException(f"'{path}' is not valid UTF-8 text.") from None
        # Sensitive members (botocore marks them: KeyStorePassword, RawSecretAccessKey, ...)
        # are never repeated, as AWS drops the value for sensitive members (the fidelity ledger).
        shown = "" if meta.get("sensitive") else _echo(value)
        value_at = f"Value '{shown}' at" if shown else "Value at"
        enum = meta.get("enum")
        if enum and value not in enum:
            errors.append(
                f"{value_at} '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        _length(meta, len(value), path, errors, shown=shown)
        pattern = meta.get("pattern")
        if pattern and value and _pattern(pattern).fullmatch(value) is None:
            errors.append(
                f"{value_at} '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )
        return value
    if kind == "integer" or kind == "long":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type("an integer", path)
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            # AWS text unknown: inferred (the number does not fit the member's type).
            raise _wrong_type("an integer", path)
        _bounds(meta, value, f"Value '{value}' at", path, "value", errors)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong_type("a boolean", path)
        return value
    if kind == "timestamp":
        return _timestamp(value, path)
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong_type("a list", path)
        before = len(errors)
        _length(meta, len(value), path, errors, shown="")
        if len(value) > meta.get("max", len(value)) and len(errors) > before:
            return value  # too long: its members are not worth checking (nor listing)
        return [
            _check(shape.member, v, f"{path}.{i + 1}.member", errors, wire)
            for i, v in enumerate(value)
        ]
    if kind == "map":
        if not isinstance(value, dict):
            raise _wrong_type("a map", path)
        return {
            _check(shape.key, k, f"{path}.key", errors, wire): _check(
                shape.value, v, f"{path}.value", errors, wire
            )
            for k, v in value.items()
        }
    return value


def _length(meta: dict[str, Any], n: int, path: str, errors: list[str], shown: str) -> None:
    # Blobs (often sensitive) and lists are not echoed, as AWS does not echo them.
    _bounds(meta, n, f"Value '{shown}' at" if shown else "Value at", path, "length", errors)


def _bounds(
    meta: dict[str, Any], n: int, value: str, path: str, what: str, errors: list[str]
) -> None:
    """The model's min/max on a value or a length, in AWS's wording."""
    for bound, fails, relation in (
        ("min", n < meta.get("min", n), "greater"),
        ("max", n > meta.get("max", n), "less"),
    ):
        if fails:
            errors.append(
                f"{value} '{path}' failed to satisfy constraint: "
                f"Member must have {what} {relation} than or equal to {meta[bound]}"
            )


def validate(operation: str, params: Params, *, wire: bool = False) -> Params:
    """Check params against the operation's input shape; returns them decoded.

    Raises ValidationException listing every violation, as AWS does. ``wire=True`` for a
    decoded JSON body (blobs are base64 strings); otherwise Python values (blobs are bytes,
    or a ``str`` taken as UTF-8, as boto3 takes it).
    """
    shape = input_shape(operation)
    if shape is None:
        return {}
    errors: list[str] = []
    decoded = _check(shape, params, "", errors, wire)
    if errors:
        n = len(errors)
        noun = "error" if n == 1 else "errors"
        listed = "; ".join(errors[:MAX_LISTED_ERRORS])
        # Observed (ledger validation): AWS's validation wording, the violations joined by
        # "; ", with no trailing period.
        raise ValidationException(f"{n} validation {noun} detected: {listed}")
    return decoded  # type: ignore[no-any-return]


_PLAIN = frozenset({str, int, float, bool})


def _encode(value: Any) -> Any:
    """JSON-ready: blobs as base64, timestamps as epoch seconds, absent members dropped."""
    kind = type(value)
    if kind in _PLAIN:  # most values: checked first, this runs for every member
        return value
    if kind is dict:
        return {k: _encode(v) for k, v in value.items() if v is not None}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def error_body(err: KMSError) -> tuple[int, bytes]:
    """HTTP status and JSON body of an error: ``{"__type": code, "message": text}``, with no
    message member at all where AWS sends none (``err.message is None``)."""
    body = {"__type": err.code}
    if err.message is not None:
        body[err.member] = err.message
    return err.status, json.dumps(body).encode()


def handle(
    dispatch: Callable[[str, Params], Params],
    operation: str,
    body: bytes,
    on_error: Callable[[KMSError, Params], None] | None = None,
) -> tuple[int, bytes]:
    """Serve one AWS JSON 1.1 request: decode, validate, dispatch, encode.

    ``dispatch(operation, params)`` runs the operation on decoded params (bytes, datetimes).
    Every failure becomes an AWS-shaped error body; nothing escapes as a traceback.
    ``on_error(err, raw_params)`` is told of each failure before its body is made.
    """
    raw: Any = {}
    try:
        try:
            raw = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise SerializationException("The request body is not valid JSON.") from None
        if not isinstance(raw, dict):
            raise SerializationException("The request body must be a JSON object.")
        result = dispatch(operation, validate(operation, raw, wire=True))
        return 200, json.dumps(_encode(result)).encode()
    except KMSError as err:
        if on_error is not None:
            on_error(err, raw if isinstance(raw, dict) else {})
        return error_body(err)
