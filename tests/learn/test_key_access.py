"""Lesson 09 helpers: explanations of AWS's refusals, the events table, the quiz."""

from __future__ import annotations

import pytest

from kmslab.kms.service import LocalKMS
from kmslab.learn import key_access, lesson

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CALLER = "arn:aws:sts::111122223333:assumed-role/Analyst/kmslab"


@pytest.mark.parametrize(
    ("tail", "page"),
    [
        ("because no identity-based policy allows the kms:Decrypt action", "iam-policies.html"),
        (
            "because no resource-based policy allows the kms:Decrypt action",
            "key-policy-overview.html",
        ),
        ("with an explicit deny in a resource-based policy", "policy-evaluation.html"),
        ("with an explicit deny in an identity-based policy", "policy-evaluation.html"),
    ],
)
def test_explain_each_aws_format(tail, page):
    message = f"User: {CALLER} is not authorized to perform: kms:Decrypt on resource: {KEY} {tail}"
    got = key_access.explain(message)
    assert (got.caller, got.action, got.resource) == (CALLER, "kms:Decrypt", KEY)
    assert got.page.endswith(page)
    assert "kms:Decrypt" in repr(got) and "kmslab explains" in got._repr_html_()


def test_explain_refuses_other_errors():
    with pytest.raises(ValueError):
        key_access.explain("Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found.")


def test_explain_a_real_refusal_through_boto3():
    kms = LocalKMS()
    key = kms.call("CreateKey")["KeyMetadata"]
    client = kms.client(principal=kms.iam.create_role("Analyst").arn)
    result = lesson.try_call(client.describe_key, KeyId=key["KeyId"])
    assert result.error_code == "AccessDeniedException"
    assert key_access.explain(result).resource == key["Arn"]


def test_events_table():
    kms = LocalKMS()
    key = kms.call("CreateKey")["KeyMetadata"]
    with kms.acting_as(kms.iam.create_user("alice").arn):
        lesson.try_call(kms.call, "DescribeKey", KeyId=key["KeyId"])
    table = key_access.events_table(kms.events())
    assert len(table) == 2
    lines = repr(table).splitlines()
    assert lines[0].split() == ["caller", "event", "key", "outcome"]
    assert lines[1].split() == ["role", "Admin", "CreateKey", key["KeyId"][:8], "OK"]
    assert lines[2].split() == [
        "user",
        "alice",
        "DescribeKey",
        key["KeyId"][:8],
        "AccessDeniedException",
    ]
    assert "<table>" in table._repr_html_()


def test_quiz_answers_are_what_the_local_kms_does():
    """Lesson 09's quiz (quizzes/09.toml) against real calls."""
    import json

    from kmslab.exceptions import AccessDeniedException
    from kmslab.learn import exercises

    quiz = exercises.quiz("09")
    kms = LocalKMS()
    key = kms.call("CreateKey")["KeyMetadata"]
    role = kms.iam.create_role("Role")
    code = lesson.try_call(
        kms.client(principal=role.arn).describe_key, KeyId=key["KeyId"]
    ).error_code
    assert quiz["delegation"].check(code).correct
    # deny: the key policy allows the role Decrypt, its IAM policy denies it.
    policy = json.loads(kms.call("GetKeyPolicy", KeyId=key["KeyId"])["Policy"])
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": role.arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    kms.call("PutKeyPolicy", KeyId=key["KeyId"], Policy=json.dumps(policy))
    kms.iam.put_policy(
        role, "deny", {"Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}
    )
    blob = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with kms.acting_as(role), pytest.raises(AccessDeniedException):
        kms.call("Decrypt", CiphertextBlob=blob)
    assert quiz["deny"].check("the request is refused").correct
