"""Condition operators, one case per row of the operator table, and the set operators,
IfExists, Null and policy variables as the IAM User Guide defines them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmslab.exceptions import MalformedPolicyDocumentException
from kmslab.kms.policy.conditions import OPERATORS, like, parse_condition_block


def holds(block: dict, context: dict) -> bool:
    ctx = {k.lower(): v for k, v in context.items()}
    return all(c.holds(ctx) for c in parse_condition_block(block))


# operator, policy value, request value, expected
CASES = [
    ("StringEquals", "Alpha", "Alpha", True),
    ("StringEquals", "Alpha", "alpha", False),
    ("StringNotEquals", "Alpha", "Beta", True),
    ("StringNotEquals", "Alpha", "Alpha", False),
    ("StringEqualsIgnoreCase", "Alpha", "ALPHA", True),
    ("StringNotEqualsIgnoreCase", "Alpha", "ALPHA", False),
    ("StringLike", "App*", "AppServer", True),
    ("StringLike", "A?p", "App", True),
    ("StringLike", "A?p", "Ap", False),
    ("StringNotLike", "App*", "Web", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericNotEquals", "10", "11", True),
    ("NumericLessThan", "10", "9", True),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericEquals", "10", "ten", False),
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00", True),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", True),
    ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
    ("DateLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", True),
    ("DateGreaterThanEquals", "1704067200", "2024-01-01T00:00:00Z", True),
    ("Bool", "true", "true", True),
    ("Bool", True, "false", False),
    ("ArnEquals", "arn:aws:iam::111122223333:role/Ops", "arn:aws:iam::111122223333:role/Ops", True),
    ("ArnLike", "arn:aws:iam::*:role/Ops*", "arn:aws:iam::444455556666:role/OpsAdmin", True),
    ("ArnLike", "arn:aws:iam::*:role/Ops", "arn:aws:iam::444455556666:user/Ops", False),
    ("ArnLike", "arn:aws:iam::*:role/*", "not-an-arn", False),
    (
        "ArnNotEquals",
        "arn:aws:iam::111122223333:role/Ops",
        "arn:aws:iam::111122223333:role/X",
        True,
    ),
    ("ArnNotLike", "arn:aws:iam::*:role/Ops*", "arn:aws:iam::1:role/OpsA", False),
]


def test_every_operator_has_a_case():
    assert {c[0] for c in CASES} == set(OPERATORS)


@pytest.mark.parametrize(("operator", "wanted", "value", "expected"), CASES)
def test_operator(operator, wanted, value, expected):
    assert holds({operator: {"k:x": wanted}}, {"k:x": [value]}) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [("StringEquals", False), ("StringNotEquals", True), ("ArnNotLike", True), ("Bool", False)],
)
def test_absent_key_fails_positive_operators_and_satisfies_negated_ones(operator, expected):
    assert holds({operator: {"k:x": "v"}}, {}) is expected


def test_if_exists_makes_an_absent_key_pass_but_still_checks_a_present_one():
    block = {"StringEqualsIfExists": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}
    assert holds(block, {})
    assert holds(block, {"kms:EncryptionAlgorithm": ["SYMMETRIC_DEFAULT"]})
    assert not holds(block, {"kms:EncryptionAlgorithm": ["RSAES_OAEP_SHA_256"]})


def test_null():
    assert holds({"Null": {"kms:EncryptionContextKeys": "true"}}, {})
    assert not holds({"Null": {"kms:EncryptionContextKeys": "false"}}, {})
    assert holds(
        {"Null": {"kms:EncryptionContextKeys": False}}, {"kms:EncryptionContextKeys": ["a"]}
    )


def test_for_any_value():
    block = {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}}
    assert holds(block, {"kms:EncryptionContextKeys": ["AppName", "Project"]})
    assert not holds(block, {"kms:EncryptionContextKeys": ["Project"]})
    assert not holds(block, {})  # no encryption context: not satisfied (conditions-kms.html)


def test_for_all_values():
    block = {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}}
    assert holds(block, {"kms:GrantOperations": ["Encrypt"]})
    assert holds(block, {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]})
    assert not holds(block, {"kms:GrantOperations": ["Encrypt", "Decrypt"]})
    assert holds(block, {})  # ForAllValues holds for an absent key


def test_negated_set_operators():
    assert holds({"ForAllValues:StringNotEquals": {"k:x": ["a"]}}, {"k:x": ["b", "c"]})
    assert not holds({"ForAllValues:StringNotEquals": {"k:x": ["a"]}}, {"k:x": ["a", "c"]})
    assert holds({"ForAnyValue:StringNotEquals": {"k:x": ["a"]}}, {"k:x": ["a", "c"]})


def test_keys_are_case_insensitive_values_follow_the_operator():
    assert holds(
        {"StringEquals": {"KMS:ENCRYPTIONCONTEXT:APPNAME": "App"}},
        {"kms:encryptioncontext:appname": ["App"]},
    )
    assert not holds(
        {"StringEquals": {"kms:EncryptionContext:AppName": "App"}},
        {"kms:encryptioncontext:appname": ["app"]},
    )


def test_values_are_or_keys_and_operators_are_and():
    block = {
        "StringEquals": {"k:a": ["1", "2"], "k:b": "x"},
        "StringLike": {"k:c": "y*"},
    }
    assert holds(block, {"k:a": ["2"], "k:b": ["x"], "k:c": ["yes"]})
    assert not holds(block, {"k:a": ["3"], "k:b": ["x"], "k:c": ["yes"]})
    assert not holds(block, {"k:a": ["1"], "k:b": ["x"], "k:c": ["no"]})


def test_policy_variables():
    block = {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}
    assert holds(block, {"aws:username": ["bob"], "kms:encryptioncontext:user": ["bob"]})
    assert not holds(block, {"aws:username": ["bob"], "kms:encryptioncontext:user": ["alice"]})
    assert holds({"StringEquals": {"k:x": "a${*}b"}}, {"k:x": ["a*b"]})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "kms:EncryptionContext:Department",
            "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with "
            "a single-valued condition key matches requests without the specified encryption "
            "context or with an unspecified encryption context. To fix, remove ForAllValues.",
        ),
        (
            "aws:RequestTag/Project",
            "OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued "
            "condition key matches requests without the specified tag or with an unspecified tag. "
            "To fix, remove ForAllValues.",
        ),
    ],
)
def test_for_all_values_with_a_single_valued_key_is_refused(key, message):
    # Developer Guide conditions-kms.html, "Using set operators with condition keys".
    with pytest.raises(MalformedPolicyDocumentException) as info:
        parse_condition_block({"ForAllValues:StringEquals": {key: "IT"}})
    assert info.value.message == message


@pytest.mark.parametrize(
    "block",
    [
        {"StringEqualz": {"a": "b"}},
        {"NullIfExists": {"a": "true"}},
        [],
        {"StringEquals": {}},
        {"StringEquals": {"a": []}},
        {"StringEquals": {"a": {"b": 1}}},
    ],
)
def test_malformed_blocks(block):
    with pytest.raises(MalformedPolicyDocumentException):
        parse_condition_block(block)


@given(st.text(max_size=20), st.text(alphabet="ab*?", max_size=8))
def test_like_agrees_with_a_reference_matcher(value, pattern):
    import fnmatch

    escaped = pattern.replace("[", "[[]")
    assert like(value, pattern) == fnmatch.fnmatchcase(value, escaped)
