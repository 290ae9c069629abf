"""Key policy first, delegation to IAM, explicit Deny, and the AWS Developer Guide's examples,
each behaving as its page says."""

from __future__ import annotations

import json

import pytest

import kmslab
from kmslab.exceptions import AccessDeniedException, MalformedPolicyDocumentException
from tests.kms.policy.helpers import (
    ACCOUNT,
    denied,
    identity_policy,
    key_policy,
    refused,
    role_arn,
    session_arn,
)

ALLOW_ALL = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}


def make_key(kms, policy=None, **params):
    if policy is not None:
        params.update(Policy=policy, BypassPolicyLockoutSafetyCheck=True)
    return kms.call("CreateKey", **params)["KeyMetadata"]


def test_default_client_is_the_admin_role_and_may_do_everything(kms):
    client = kms.client()
    key = client.create_key()["KeyMetadata"]
    client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    (event,) = kms.events(event_name="Encrypt")
    assert event["userIdentity"]["arn"] == session_arn("Admin")
    assert event["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role_arn("Admin")


def test_client_principal_through_boto3(kms):
    from botocore.exceptions import ClientError

    key = make_key(kms)
    analyst = kms.iam.create_role("Analyst")
    client = kmslab.client(kms=kms, principal=analyst.arn)
    with pytest.raises(ClientError) as info:
        client.describe_key(KeyId=key["KeyId"])
    error = info.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == denied(
        "kms:DescribeKey", session_arn("Analyst"), key["Arn"], "no identity-based policy"
    )
    # The response's request id is the recorded event's.
    rid = info.value.response["ResponseMetadata"]["RequestId"]
    assert kms.events(event_name="DescribeKey", outcome="denied")[-1]["requestID"] == rid


def test_unknown_principal_is_refused_plainly(kms):
    with pytest.raises(ValueError, match="No IAM principal"):
        kms.client(principal="arn:aws:iam::111122223333:role/Ghost")


def test_example_1_user_without_iam_policy_is_denied(kms):
    # policy-evaluation.html, Example 1: the default key policy, no IAM policy for Alice.
    key = make_key(kms)
    alice = kms.iam.create_user("Alice")
    blob = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with (
        kms.acting_as(alice),
        refused(denied("kms:Decrypt", alice.arn, key["Arn"], "no identity-based policy")),
    ):
        kms.call("Decrypt", CiphertextBlob=blob)


def test_iam_policy_works_only_when_the_key_policy_delegates(kms):
    user = kms.iam.create_user("Bob", policy=identity_policy(ALLOW_ALL))
    delegating = make_key(kms)
    with kms.acting_as(user):
        kms.call("DescribeKey", KeyId=delegating["KeyId"])
    closed = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": role_arn("Admin")},
                "Action": "kms:*",
                "Resource": "*",
            },
            root=False,
        ),
    )
    with (
        kms.acting_as(user),
        refused(denied("kms:DescribeKey", user.arn, closed["Arn"], "no resource-based policy")),
    ):
        kms.call("DescribeKey", KeyId=closed["KeyId"])


def test_key_policy_naming_the_principal_needs_no_iam_policy(kms):
    kms.iam.create_role("Reader")
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": role_arn("Reader")},
                "Action": "kms:DescribeKey",
                "Resource": "*",
            }
        ),
    )
    with kms.acting_as(role_arn("Reader")):
        kms.call("DescribeKey", KeyId=key["KeyId"])
        with refused():
            kms.call("GetKeyPolicy", KeyId=key["KeyId"])


def test_explicit_deny_in_key_policy_wins(kms):
    key = make_key(
        kms,
        key_policy(
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*"}
        ),
    )
    with refused(
        denied(
            "kms:Encrypt",
            session_arn("Admin"),
            key["Arn"],
            "explicit deny in a resource-based policy",
        )
    ):
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")


def test_explicit_deny_in_identity_policy_wins_over_the_key_policy(kms):
    role = kms.iam.create_role(
        "Careful",
        policy=identity_policy(
            ALLOW_ALL, {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
        ),
    )
    key = make_key(
        kms,
        key_policy(
            {"Effect": "Allow", "Principal": {"AWS": role.arn}, "Action": "kms:*", "Resource": "*"}
        ),
    )
    blob = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with (
        kms.acting_as(role),
        refused(
            denied(
                "kms:Decrypt",
                role.caller_arn,
                key["Arn"],
                "explicit deny in an identity-based policy",
            )
        ),
    ):
        kms.call("Decrypt", CiphertextBlob=blob)


def test_iam_only_operations(kms):
    role = kms.iam.create_role("NoCreate")
    with (
        kms.acting_as(role),
        refused(denied("kms:CreateKey", role.caller_arn, "*", "no identity-based policy")),
    ):
        kms.call("CreateKey")
    kms.iam.put_policy(
        role,
        "create",
        identity_policy(
            {
                "Effect": "Allow",
                "Action": "kms:CreateKey",
                "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:*",
            }
        ),
    )
    with kms.acting_as(role):
        kms.call("CreateKey")


def test_root_may_do_what_the_account_is_allowed(kms):
    key = make_key(kms)
    with kms.acting_as(f"arn:aws:iam::{ACCOUNT}:root"):
        kms.call("DescribeKey", KeyId=key["KeyId"])
        kms.call("ListKeys")


# -- conditions-kms.html examples -------------------------------------------------------


@pytest.fixture
def app_key(kms):
    kms.iam.create_role("RoleForExampleApp")

    def make(*conditions_and_actions):
        statements = [
            {
                "Effect": "Allow",
                "Principal": {"AWS": role_arn("RoleForExampleApp")},
                "Action": action,
                "Resource": "*",
                "Condition": condition,
            }
            for action, condition in conditions_and_actions
        ]
        return make_key(kms, key_policy(*statements))

    return make


def _gdk(kms, key, context=None):
    params = {"KeyId": key["KeyId"], "KeySpec": "AES_256"}
    if context is not None:
        params["EncryptionContext"] = context
    with kms.acting_as(role_arn("RoleForExampleApp")):
        try:
            kms.call("GenerateDataKey", **params)
        except AccessDeniedException:
            return False
    return True


def test_encryption_context_pair_required(kms, app_key):
    key = app_key(
        ("kms:GenerateDataKey", {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}})
    )
    assert _gdk(kms, key, {"AppName": "ExampleApp"})
    assert _gdk(kms, key, {"AppName": "ExampleApp", "Other": "ok"})  # other pairs permitted
    assert _gdk(kms, key, {"appname": "ExampleApp"})  # the context key is not case-sensitive
    assert not _gdk(kms, key, {"AppName": "exampleapp"})  # the value is
    assert not _gdk(kms, key, {})
    assert not _gdk(kms, key)


def test_encryption_context_pair_required_and_others_forbidden(kms, app_key):
    key = app_key(
        (
            "kms:GenerateDataKey",
            {
                "StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"},
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]},
            },
        )
    )
    assert _gdk(kms, key, {"AppName": "ExampleApp"})
    assert not _gdk(kms, key, {"AppName": "ExampleApp", "Other": "no"})
    assert not _gdk(kms, key)


def test_encryption_context_keys_for_any_value(kms, app_key):
    key = app_key(
        (
            "kms:GenerateDataKey*",
            {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}},
        )
    )
    assert _gdk(kms, key, {"AppName": "Helper", "Project": "Alpha"})
    assert not _gdk(kms, key, {"Project": "Alpha"})
    assert not _gdk(kms, key)


def test_encryption_context_required_with_null(kms, app_key):
    key = app_key(("kms:GenerateDataKey*", {"Null": {"kms:EncryptionContextKeys": False}}))
    assert _gdk(kms, key, {"Any": "thing"})
    assert not _gdk(kms, key)


def test_deny_one_pair(kms):
    kms.iam.create_role("RoleForExampleApp", policy=identity_policy(ALLOW_ALL))
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Deny",
                "Principal": {"AWS": role_arn("RoleForExampleApp")},
                "Action": "kms:GenerateDataKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionContext:Stage": "Restricted"}},
            }
        ),
    )
    assert _gdk(kms, key, {"Stage": "Test"})
    assert not _gdk(kms, key, {"Stage": "Restricted"})


@pytest.mark.parametrize(
    ("condition", "ok", "bad"),
    [
        (
            {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}},
            {},
            {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        ),
        (
            {"StringEquals": {"kms:KeyUsage": "SIGN_VERIFY"}},
            {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
            {},
        ),
        ({"StringEquals": {"kms:KeyOrigin": "EXTERNAL"}}, {"Origin": "EXTERNAL"}, {}),
    ],
)
def test_key_property_conditions(kms, condition, ok, bad):
    kms.iam.create_role("Describer")
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": role_arn("Describer")},
        "Action": "kms:DescribeKey",
        "Resource": "*",
        "Condition": condition,
    }
    good, wrong = (
        make_key(kms, key_policy(statement), **ok),
        make_key(kms, key_policy(statement), **bad),
    )
    with kms.acting_as(role_arn("Describer")):
        kms.call("DescribeKey", KeyId=good["KeyId"])
        with refused():
            kms.call("DescribeKey", KeyId=wrong["KeyId"])


@pytest.mark.parametrize(
    ("spec", "usage", "operation", "params", "condition", "ok", "bad"),
    [
        (
            "RSA_2048",
            "ENCRYPT_DECRYPT",
            "Encrypt",
            {"Plaintext": b"x"},
            "kms:EncryptionAlgorithm",
            "RSAES_OAEP_SHA_256",
            "RSAES_OAEP_SHA_1",
        ),
        (
            "RSA_2048",
            "SIGN_VERIFY",
            "Sign",
            {"Message": b"x"},
            "kms:SigningAlgorithm",
            "RSASSA_PSS_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_256",
        ),
        (
            "HMAC_256",
            "GENERATE_VERIFY_MAC",
            "GenerateMac",
            {"Message": b"x"},
            "kms:MacAlgorithm",
            "HMAC_SHA_256",
            None,
        ),
    ],
)
def test_algorithm_conditions(kms, spec, usage, operation, params, condition, ok, bad):
    member = condition.split(":")[1]
    role = kms.iam.create_role("Algo")
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": role.arn},
                "Action": f"kms:{operation}",
                "Resource": "*",
                "Condition": {"StringEquals": {condition: ok}},
            }
        ),
        KeySpec=spec,
        KeyUsage=usage,
    )
    with kms.acting_as(role):
        kms.call(operation, KeyId=key["KeyId"], **params, **{member: ok})
        if bad is not None:
            with refused():
                kms.call(operation, KeyId=key["KeyId"], **params, **{member: bad})


def test_symmetric_default_counts_when_the_algorithm_is_omitted(kms):
    role = kms.iam.create_role("Default")
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": role.arn},
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}},
            }
        ),
    )
    with kms.acting_as(role):
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")


def test_request_alias_and_resource_aliases(kms):
    role = kms.iam.create_role(
        "ByAlias",
        policy=identity_policy(
            {
                "Effect": "Allow",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:RequestAlias": "alias/finance"}},
            },
            {
                "Effect": "Allow",
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/fin*"}},
            },
        ),
    )
    key = make_key(kms)
    kms.call("CreateAlias", AliasName="alias/finance", TargetKeyId=key["KeyId"])
    other = make_key(kms)
    with kms.acting_as(role):
        kms.call("Encrypt", KeyId="alias/finance", Plaintext=b"x")
        kms.call("Encrypt", KeyId=kms.alias_arn("alias/finance"), Plaintext=b"x")
        with refused():
            kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")  # no alias in the request
        kms.call("DescribeKey", KeyId=key["KeyId"])
        with refused():
            kms.call("DescribeKey", KeyId=other["KeyId"])


def test_caller_account_principal_arn_and_via_service(kms):
    role = kms.iam.create_role("Ops")
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": ACCOUNT},
                    "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/Op*"},
                },
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:GetKeyPolicy",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            },
        ),
    )
    with kms.acting_as(role):
        kms.call("DescribeKey", KeyId=key["KeyId"])
        with refused():  # no request comes through an AWS service locally
            kms.call("GetKeyPolicy", KeyId=key["KeyId"])


def test_grant_is_for_aws_resource_is_never_true_locally(kms):
    # key-policy-default.html, "Allow attachment of persistent resources".
    user = kms.iam.create_user("ExampleUser")
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user.arn},
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
            }
        ),
    )
    with kms.acting_as(user), refused():
        kms.call(
            "CreateGrant", KeyId=key["KeyId"], GranteePrincipal=user.arn, Operations=["Encrypt"]
        )


def test_grant_operations_condition(kms):
    user = kms.iam.create_user("ExampleUser")
    key = make_key(
        kms,
        key_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user.arn},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {
                    "ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}
                },
            }
        ),
    )
    with kms.acting_as(user):
        kms.call(
            "CreateGrant", KeyId=key["KeyId"], GranteePrincipal=user.arn, Operations=["Encrypt"]
        )
        with refused():
            kms.call(
                "CreateGrant",
                KeyId=key["KeyId"],
                GranteePrincipal=user.arn,
                Operations=["Encrypt", "Decrypt"],
            )


def test_resource_tag_condition(kms):
    role = kms.iam.create_role(
        "Tagged",
        policy=identity_policy(
            {
                "Effect": "Allow",
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/Project": "Alpha"}},
            }
        ),
    )
    alpha = make_key(kms, Tags=[{"TagKey": "Project", "TagValue": "Alpha"}])
    beta = make_key(kms, Tags=[{"TagKey": "Project", "TagValue": "Beta"}])
    with kms.acting_as(role):
        kms.call("DescribeKey", KeyId=alpha["KeyId"])
        with refused():
            kms.call("DescribeKey", KeyId=beta["KeyId"])


# -- PutKeyPolicy and CreateKey: validation and the lockout safety check -------------------


LOCKOUT = "The new key policy will not allow you to update the key policy in the future."


def test_lockout_safety_check(kms):
    key = make_key(kms)
    other = key_policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": role_arn("Admin")},
            "Action": "kms:Encrypt",
            "Resource": "*",
        },
        root=False,
    )
    for call in (
        lambda: kms.call("PutKeyPolicy", KeyId=key["KeyId"], Policy=other),
        lambda: kms.call("CreateKey", Policy=other),
    ):
        with pytest.raises(MalformedPolicyDocumentException) as info:
            call()
        assert info.value.message == LOCKOUT
    assert json.loads(kms.call("GetKeyPolicy", KeyId=key["KeyId"])["Policy"])["Statement"][0][
        "Principal"
    ] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    # With the bypass, the caller locks itself out, as on AWS.
    kms.call("PutKeyPolicy", KeyId=key["KeyId"], Policy=other, BypassPolicyLockoutSafetyCheck=True)
    with refused(
        denied("kms:GetKeyPolicy", session_arn("Admin"), key["Arn"], "no resource-based policy")
    ):
        kms.call("GetKeyPolicy", KeyId=key["KeyId"])


def test_unknown_principal_in_key_policy(kms):
    ghost = key_policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": role_arn("Ghost")},
            "Action": "kms:Encrypt",
            "Resource": "*",
        }
    )
    with pytest.raises(MalformedPolicyDocumentException) as info:
        kms.call("CreateKey", Policy=ghost)
    assert info.value.message == "Policy contains a statement with one or more invalid principals."
    kms.iam.create_role("Ghost")
    kms.call("CreateKey", Policy=ghost)


def test_failed_policy_change_changes_nothing(kms):
    key = make_key(kms)
    before = kms.call("GetKeyPolicy", KeyId=key["KeyId"])["Policy"]
    with pytest.raises(MalformedPolicyDocumentException):
        kms.call("PutKeyPolicy", KeyId=key["KeyId"], Policy='{"Statement": []}')
    assert kms.call("GetKeyPolicy", KeyId=key["KeyId"])["Policy"] == before
    count = len(kms.keys)
    with pytest.raises(MalformedPolicyDocumentException):
        kms.call("CreateKey", Policy='{"Statement": []}')
    assert len(kms.keys) == count


def test_requested_region_and_principal_type_conditions(kms):
    """aws:RequestedRegion is the Region the request reached; aws:PrincipalType names the
    caller's kind as IAM does (Account, User, AssumedRole)."""
    condition = {"StringEquals": {"aws:RequestedRegion": "eu-west-1", "aws:PrincipalType": "User"}}
    user = kms.iam.create_user("ana", policy=identity_policy({**ALLOW_ALL, "Condition": condition}))
    eu = kms.aws_account.region("eu-west-1")
    with eu.acting_as(user):
        eu.call("CreateKey")  # allowed: the request reached eu-west-1, from a user
    with kms.acting_as(user), refused():
        kms.call("CreateKey")  # us-east-1: the condition does not hold
    role = kms.iam.create_role(
        "Regional", policy=identity_policy({**ALLOW_ALL, "Condition": condition})
    )
    with eu.acting_as(role), refused():
        eu.call("CreateKey")  # an AssumedRole, not a User
