"""Key policy and identity policy documents: what parses, what AWS refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab import LocalKMS
from kmslab.exceptions import MalformedPolicyDocumentException
from kmslab.kms.policy.document import (
    parse_identity_policy,
    parse_key_policy,
    validate_principals,
)

INVALID = "Policy contains a statement with one or more invalid principals."


def doc(**statement):
    base = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}
    base.update(statement)
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{k: v for k, v in base.items() if v is not None}]}
    )


def test_statement_may_be_one_object():
    text = json.dumps(
        {
            "Statement": {
                "Effect": "Deny",
                "Principal": "*",
                "NotAction": "kms:Describe*",
                "Resource": "*",
            }
        }
    )
    (statement,) = parse_key_policy(text).statements
    assert statement.effect == "Deny" and statement.negated_action
    assert statement.principals == (("AWS", "*"),)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": []}),
        json.dumps({"Version": "2013-01-01", "Statement": []}),
        doc(Effect="Maybe"),
        doc(Action=None),
        doc(Resource=None),
        doc(Action=[]),
        doc(Action=3),
        doc(Extra="x"),
        doc(NotAction="kms:Decrypt"),
        doc(Condition={"StringEqualz": {"a": "b"}}),
    ],
)
def test_malformed(text):
    with pytest.raises(MalformedPolicyDocumentException):
        parse_key_policy(text)


@pytest.mark.parametrize(
    "principal",
    [{"Nobody": "x"}, "root", {"AWS": 123}, {"AWS": ["", "arn:aws:iam::111122223333:root"]}],
)
def test_invalid_principals_get_aws_text(principal):
    with pytest.raises(MalformedPolicyDocumentException) as info:
        parse_key_policy(doc(Principal=principal))
    assert info.value.message == INVALID


# AWS: "no principal" for an empty principal list (a template variable left empty) and an
# empty ARN (ledger policy-no-principal); None here drops the Principal element.
@pytest.mark.parametrize("principal", [None, {}, "", {"AWS": []}, {"AWS": ""}, {"AWS": [""]}])
def test_a_missing_or_empty_principal_is_no_principal(principal):
    with pytest.raises(MalformedPolicyDocumentException) as info:
        parse_key_policy(doc(Principal=principal))
    assert info.value.message == "Policy contains a statement with no principal."


@pytest.mark.parametrize("text", ["{not json", "[]", "1"])
def test_a_policy_that_is_not_a_json_object_gets_no_message(text):
    kms = LocalKMS()
    with pytest.raises(MalformedPolicyDocumentException) as info:
        kms.call("CreateKey", Policy=text)
    assert info.value.message is None  # AWS sends no message member (ledger policy-not-json)


@pytest.mark.parametrize(
    ("principal", "ok"),
    [
        ({"AWS": "*"}, True),
        ({"AWS": "111122223333"}, True),
        ({"AWS": "arn:aws:iam::111122223333:root"}, True),
        ({"AWS": "arn:aws:iam::111122223333:role/Exists"}, True),
        ({"AWS": "arn:aws:iam::111122223333:role/Missing"}, False),
        ({"AWS": "arn:aws:iam::444455556666:role/Elsewhere"}, True),
        ({"AWS": "arn:aws:iam::111122223333:role/*"}, False),
        ({"AWS": "arn:aws:iam::1111:root"}, False),
        ({"Service": "ec2.amazonaws.com"}, True),
        ({"Service": "not a service"}, False),
    ],
)
def test_principals_must_exist(principal, ok):
    policy = parse_key_policy(doc(Principal=principal))
    exists = {"arn:aws:iam::111122223333:role/Exists"}.__contains__
    if ok:
        validate_principals(policy, "111122223333", exists)
    else:
        with pytest.raises(MalformedPolicyDocumentException) as info:
            validate_principals(policy, "111122223333", exists)
        assert info.value.message == INVALID


def test_identity_policies_name_no_principal():
    ok = json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})
    assert parse_identity_policy(ok).statements[0].principals == ()
    with pytest.raises(MalformedPolicyDocumentException):
        parse_identity_policy(doc())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_statement = st.fixed_dictionaries(
    {},
    optional={
        "Effect": st.sampled_from(["Allow", "Deny", "allow", 1]),
        "Principal": st.sampled_from(["*", {"AWS": "*"}, {"AWS": "111122223333"}, {"AWS": []}, 3]),
        "Action": st.sampled_from(["kms:*", ["kms:Decrypt"], "", []]),
        "Resource": st.sampled_from(["*", [], 1]),
        "Condition": _json,
    },
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _json,
        st.lists(_statement, max_size=3).map(lambda s: {"Version": "2012-10-17", "Statement": s}),
    )
)
def test_hostile_policies_get_aws_errors_never_a_crash(document):
    """Whatever the document, PutKeyPolicy answers success or MalformedPolicyDocumentException,
    and a key with whatever was accepted still answers requests with an AWS error or success."""
    from kmslab.exceptions import KMSError
    from kmslab.kms.service import LocalKMS

    kms = LocalKMS()
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    try:
        kms.call(
            "PutKeyPolicy",
            KeyId=key,
            Policy=json.dumps(document),
            BypassPolicyLockoutSafetyCheck=True,
        )
    except MalformedPolicyDocumentException:
        return
    try:
        kms.call("Encrypt", KeyId=key, Plaintext=b"x", EncryptionContext={"a": "b"})
    except KMSError as err:
        assert err.code == "AccessDeniedException"
