"""Condition operators of the IAM policy language, one table row per operator.

>>> from kmslab.kms.policy.conditions import parse_condition_block
>>> (cond,) = parse_condition_block({"StringEquals": {"kms:EncryptionContext:AppName": "App"}})
>>> cond.holds({"kms:encryptioncontext:appname": ["App"]})
True
>>> cond.holds({})                      # the key is absent: a positive operator fails
False

Semantics, from the IAM User Guide ("IAM JSON policy elements: Condition operators",
"Single-valued vs. multivalued context keys", "...IfExists condition operators",
"Condition operator to check existence of condition keys"):

- several operators in a block, and several keys under one operator, must all hold (AND);
  several values for one key: any may match (OR);
- a key absent from the request context fails a positive operator and satisfies a negated
  one (StringNotEquals ...); ``...IfExists`` makes an absent key satisfy any operator;
- ``ForAnyValue:`` holds if at least one request value matches (fails for an absent key);
  ``ForAllValues:`` holds if every request value matches (holds for an absent key);
- ``Null``: ``true`` holds when the key is absent, ``false`` when it is present;
- condition keys are case-insensitive (the context is keyed by lowercase names); values
  compare as the operator says (StringEqualsIgnoreCase ignores case, the others do not);
- ``${aws:username}``-style policy variables in values are replaced from the context.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from kmslab.exceptions import KMSError, MalformedPolicyDocumentException

__all__ = ["OPERATORS", "Condition", "Context", "Operator", "parse_condition_block"]

#: Request context: lowercase condition key -> its values (one for single-valued keys).
Context = Mapping[str, Sequence[str]]


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` one character; everything else literal."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), flags | re.DOTALL)


def like(value: str, pattern: str) -> bool:
    """StringLike matching (case-sensitive, ``*`` and ``?`` wildcards)."""
    if pattern == "*":  # the common cases first: every request checks "kms:*" and "*"
        return True
    if "?" not in pattern and pattern.count("*") == 1 and pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if "*" not in pattern and "?" not in pattern:
        return value == pattern
    return _wildcard(pattern).fullmatch(value) is not None


def _arn_like(value: str, pattern: str) -> bool:
    # ARNs compare part by part (arn:partition:service:region:account:resource).
    v, p = value.split(":", 5), pattern.split(":", 5)
    return len(v) == len(p) == 6 and all(like(a, b) for a, b in zip(v, p, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), timezone.utc)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _compare(
    parse: Callable[[str], Any], test: Callable[[Any, Any], bool]
) -> Callable[[str, str], bool]:
    def match(value: str, wanted: str) -> bool:
        a, b = parse(value), parse(wanted)
        return a is not None and b is not None and bool(test(a, b))

    return match


@dataclass(frozen=True, slots=True)
class Operator:
    """One condition operator: its positive test and whether the operator negates it."""

    name: str
    match: Callable[[str, str], bool]
    negated: bool = False


def _ops() -> dict[str, Operator]:
    eq: Callable[[Any, Any], bool] = lambda a, b: a == b  # noqa: E731
    rows: list[tuple[str, Callable[[str, str], bool], bool]] = [
        ("StringEquals", lambda v, p: v == p, False),
        ("StringNotEquals", lambda v, p: v == p, True),
        ("StringEqualsIgnoreCase", lambda v, p: v.lower() == p.lower(), False),
        ("StringNotEqualsIgnoreCase", lambda v, p: v.lower() == p.lower(), True),
        ("StringLike", like, False),
        ("StringNotLike", like, True),
        ("NumericEquals", _compare(_number, eq), False),
        ("NumericNotEquals", _compare(_number, eq), True),
        ("NumericLessThan", _compare(_number, lambda a, b: a < b), False),
        ("NumericLessThanEquals", _compare(_number, lambda a, b: a <= b), False),
        ("NumericGreaterThan", _compare(_number, lambda a, b: a > b), False),
        ("NumericGreaterThanEquals", _compare(_number, lambda a, b: a >= b), False),
        ("DateEquals", _compare(_date, eq), False),
        ("DateNotEquals", _compare(_date, eq), True),
        ("DateLessThan", _compare(_date, lambda a, b: a < b), False),
        ("DateLessThanEquals", _compare(_date, lambda a, b: a <= b), False),
        ("DateGreaterThan", _compare(_date, lambda a, b: a > b), False),
        ("DateGreaterThanEquals", _compare(_date, lambda a, b: a >= b), False),
        ("Bool", lambda v, p: v.lower() == p.lower(), False),
        ("ArnEquals", _arn_like, False),
        ("ArnLike", _arn_like, False),
        ("ArnNotEquals", _arn_like, True),
        ("ArnNotLike", _arn_like, True),
    ]
    return {name: Operator(name, fn, negated) for name, fn, negated in rows}


#: Operator name -> row. ``Null`` is handled apart: it tests presence, not values.
OPERATORS: dict[str, Operator] = _ops()
_SET_OPERATORS = ("ForAnyValue", "ForAllValues")
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _malformed(fault: str) -> KMSError:
    # AWS text unknown: inferred. AWS names a malformed policy in few words; kmslab names
    # the fault.
    return MalformedPolicyDocumentException(f"The policy document is malformed: {fault}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    # AWS text unknown: inferred.
    raise _malformed("condition values must be strings, numbers or booleans.")


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) test of a Condition block."""

    operator: str  # as written, e.g. "ForAnyValue:StringEqualsIgnoreCaseIfExists"
    base: str  # the row name, e.g. "StringEqualsIgnoreCase", or "Null"
    set_operator: str | None
    if_exists: bool
    key: str  # lowercase
    values: tuple[str, ...]

    def _resolved(self, context: Context) -> list[str]:
        def variable(m: re.Match[str]) -> str:
            name = m[1]
            if name in _ESCAPES:
                return _ESCAPES[name]
            found = context.get(name.lower())
            return found[0] if found else m[0]

        return [_VARIABLE.sub(variable, v) if "${" in v else v for v in self.values]

    def holds(self, context: Context) -> bool:
        """Whether the request context satisfies this test."""
        found = context.get(self.key)
        if self.base == "Null":
            absent = not found
            return any((v.lower() == "true") == absent for v in self.values)
        if not found:
            if self.if_exists or self.set_operator == "ForAllValues":
                return True
            if self.set_operator == "ForAnyValue":
                return False
            return OPERATORS[self.base].negated
        op = OPERATORS[self.base]
        wanted = self._resolved(context)

        def matches(value: str) -> bool:
            return any(op.match(value, w) for w in wanted)

        if self.set_operator == "ForAllValues":
            return all(matches(v) != op.negated for v in found)
        if self.set_operator == "ForAnyValue":
            return any(matches(v) != op.negated for v in found)
        hit = any(matches(v) for v in found)
        return hit != op.negated


def _split(operator: str) -> tuple[str | None, str, bool]:
    set_op = None
    name = operator
    for prefix in _SET_OPERATORS:
        if name.startswith(prefix + ":"):
            set_op, name = prefix, name[len(prefix) + 1 :]
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base not in OPERATORS and not (base == "Null" and not if_exists):
        # AWS text unknown: inferred.
        raise _malformed(f"unknown condition operator {operator}.")
    return set_op, base, if_exists


def parse_condition_block(raw: Any) -> tuple[Condition, ...]:
    """A statement's Condition element as a tuple of tests (all must hold)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _malformed("Condition must be a JSON object.")
    out: list[Condition] = []
    for operator, tests in raw.items():
        set_op, base, if_exists = _split(operator)
        if not isinstance(tests, dict) or not tests:
            raise _malformed(f"{operator} must map condition keys to values.")
        for key, value in tests.items():
            values = value if isinstance(value, list) else [value]
            if not values:
                raise _malformed(f"{key} has no values.")
            lowered = key.lower()
            # ForAllValues with these single-valued keys is overly permissive; AWS refuses it.
            # Source: Developer Guide conditions-kms.html ("Using set operators with
            # condition keys"), both texts.
            if set_op == "ForAllValues" and lowered.startswith("kms:encryptioncontext:"):
                raise MalformedPolicyDocumentException(
                    "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set "
                    "operator with a single-valued condition key matches requests without the "
                    "specified encryption context or with an unspecified encryption context. "
                    "To fix, remove ForAllValues."
                )
            if set_op == "ForAllValues" and lowered.startswith("aws:requesttag/"):
                raise MalformedPolicyDocumentException(
                    "OverlyPermissiveCondition: Using the ForAllValues set operator with a "
                    "single-valued condition key matches requests without the specified tag or "
                    "with an unspecified tag. To fix, remove ForAllValues."
                )
            out.append(
                Condition(operator, base, set_op, if_exists, lowered, tuple(map(_text, values)))
            )
    return tuple(out)
