"""Grants as AWS enforces them: for their grantee, with their constraints, usable at once
with a grant token, retired by whom the grant says, revoked with kms:RevokeGrant.

Sources: Developer Guide grants.html, create-grant-overview.html (constraints),
grant-manage.html (grant tokens), grant-delete.html (retiring and revoking).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kmslab.clock import Clock
from kmslab.exceptions import InvalidGrantTokenException
from kmslab.kms.service import LocalKMS
from tests.kms.policy.helpers import ACCOUNT, denied, refused


@pytest.fixture
def setup(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    worker = kms.iam.create_role("Worker")
    blob = kms.call(
        "Encrypt", KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "a", "env": "prod"}
    )["CiphertextBlob"]
    return kms, key, worker, blob


def _decrypt(kms, worker, blob, context, **extra):
    with kms.acting_as(worker):
        return kms.call("Decrypt", CiphertextBlob=blob, EncryptionContext=context, **extra)


def test_grant_allows_its_grantee_only_its_operations(setup):
    kms, key, worker, blob = setup
    context = {"app": "a", "env": "prod"}
    with refused():
        _decrypt(kms, worker, blob, context)
    grant = kms.call(
        "CreateGrant", KeyId=key["KeyId"], GranteePrincipal=worker.arn, Operations=["Decrypt"]
    )
    assert _decrypt(kms, worker, blob, context)["Plaintext"] == b"x"
    with kms.acting_as(worker), refused():
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"y")
    other = kms.iam.create_role("Other")
    with refused():
        _decrypt(kms, other, blob, context)
    kms.call("RevokeGrant", KeyId=key["KeyId"], GrantId=grant["GrantId"])
    with refused():
        _decrypt(kms, worker, blob, context)


@pytest.mark.parametrize(
    ("constraint", "allowed"),
    [
        ({"EncryptionContextSubset": {"app": "a"}}, True),
        ({"EncryptionContextSubset": {"app": "b"}}, False),
        ({"EncryptionContextEquals": {"app": "a", "env": "prod"}}, True),
        ({"EncryptionContextEquals": {"app": "a"}}, False),
        ({"EncryptionContextEquals": {"app": "A", "env": "prod"}}, False),
    ],
)
def test_constraints(setup, constraint, allowed):
    kms, key, worker, blob = setup
    kms.call(
        "CreateGrant",
        KeyId=key["KeyId"],
        GranteePrincipal=worker.arn,
        Operations=["Decrypt", "DescribeKey"],
        Constraints=constraint,
    )
    if allowed:
        _decrypt(kms, worker, blob, {"app": "a", "env": "prod"})
    else:
        with refused():
            _decrypt(kms, worker, blob, {"app": "a", "env": "prod"})
    with kms.acting_as(worker):  # DescribeKey takes no context: not constrained
        kms.call("DescribeKey", KeyId=key["KeyId"])


def test_deny_in_key_policy_beats_a_grant(setup):
    kms, key, worker, blob = setup
    policy = kms.call("GetKeyPolicy", KeyId=key["KeyId"])["Policy"]
    import json

    doc = json.loads(policy)
    doc["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"AWS": worker.arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    kms.call("PutKeyPolicy", KeyId=key["KeyId"], Policy=json.dumps(doc))
    kms.call("CreateGrant", KeyId=key["KeyId"], GranteePrincipal=worker.arn, Operations=["Decrypt"])
    with refused(
        denied(
            "kms:Decrypt", worker.caller_arn, key["Arn"], "explicit deny in a resource-based policy"
        )
    ):
        _decrypt(kms, worker, blob, {"app": "a", "env": "prod"})


def test_grant_token_before_consistency():
    clock = Clock()
    kms = LocalKMS(clock=clock)
    kms.access.grant_delay = timedelta(minutes=5)
    key = kms.call("CreateKey")["KeyMetadata"]
    worker = kms.iam.create_role("Worker")
    token = kms.call(
        "CreateGrant", KeyId=key["KeyId"], GranteePrincipal=worker.arn, Operations=["Encrypt"]
    )["GrantToken"]
    with kms.acting_as(worker):
        with refused():
            kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")  # not consistent yet
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=[token])
        with pytest.raises(InvalidGrantTokenException):
            kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=["not-a-token"])
    clock.advance(seconds=300)
    with kms.acting_as(worker):
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")


def test_who_may_retire(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    grantee, retirer, stranger = (
        kms.iam.create_role(n) for n in ("Grantee", "Retirer", "Stranger")
    )

    def grant(operations, **extra):
        return kms.call(
            "CreateGrant",
            KeyId=key["KeyId"],
            GranteePrincipal=grantee.arn,
            Operations=operations,
            **extra,
        )

    g = grant(["Encrypt"], RetiringPrincipal=retirer.arn)
    with (
        kms.acting_as(stranger),
        refused(
            denied("kms:RetireGrant", stranger.caller_arn, key["Arn"], "no identity-based policy")
        ),
    ):
        kms.call("RetireGrant", GrantToken=g["GrantToken"])
    with kms.acting_as(grantee), refused():  # the grant does not include RetireGrant
        kms.call("RetireGrant", KeyId=key["Arn"], GrantId=g["GrantId"])
    with kms.acting_as(retirer):
        kms.call("RetireGrant", KeyId=key["Arn"], GrantId=g["GrantId"])
    g = grant(["Encrypt", "RetireGrant"])
    with kms.acting_as(grantee):
        kms.call("RetireGrant", GrantToken=g["GrantToken"])
    g = grant(["Encrypt"])
    with kms.acting_as(f"arn:aws:iam::{ACCOUNT}:root"):
        kms.call("RetireGrant", GrantToken=g["GrantToken"])
    assert kms.call("ListGrants", KeyId=key["KeyId"])["Grants"] == []


def test_revoke_needs_permission(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    worker = kms.iam.create_role("Worker")
    g = kms.call(
        "CreateGrant",
        KeyId=key["KeyId"],
        GranteePrincipal=worker.arn,
        Operations=["Encrypt", "RetireGrant"],
    )
    with (
        kms.acting_as(worker),
        refused(
            denied("kms:RevokeGrant", worker.caller_arn, key["Arn"], "no identity-based policy")
        ),
    ):
        kms.call("RevokeGrant", KeyId=key["KeyId"], GrantId=g["GrantId"])


def test_grantee_with_create_grant_may_delegate_no_more_than_it_has(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    worker, helper = kms.iam.create_role("Worker"), kms.iam.create_role("Helper")
    kms.call(
        "CreateGrant",
        KeyId=key["KeyId"],
        GranteePrincipal=worker.arn,
        Operations=["Encrypt", "CreateGrant"],
    )
    with kms.acting_as(worker):
        kms.call(
            "CreateGrant", KeyId=key["KeyId"], GranteePrincipal=helper.arn, Operations=["Encrypt"]
        )
        with refused():
            kms.call(
                "CreateGrant",
                KeyId=key["KeyId"],
                GranteePrincipal=helper.arn,
                Operations=["Decrypt"],
            )
    with kms.acting_as(helper):
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")


def test_list_grants_shape(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    worker = kms.iam.create_role("Worker")
    kms.call(
        "CreateGrant",
        KeyId=key["KeyId"],
        GranteePrincipal=worker.arn,
        Operations=["Decrypt"],
        Name="n",
        Constraints={"EncryptionContextSubset": {"a": "b"}},
    )
    (entry,) = kms.client().list_grants(KeyId=key["KeyId"])["Grants"]
    assert set(entry) == {
        "KeyId",
        "GrantId",
        "Name",
        "CreationDate",
        "GranteePrincipal",
        "IssuingAccount",
        "Operations",
        "Constraints",
    }
    assert (
        entry["KeyId"] == key["Arn"] and entry["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT}:root"
    )
