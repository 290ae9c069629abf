"""AWS managed keys: predefined alias/aws/<service> aliases, the key made on first use, and
what a customer may not do with it.

Sources: ListAliases and RotateKeyOnDemand in the AWS KMS API Reference; "AWS managed keys"
in the Developer Guide; AccessDeniedException text: the fidelity ledger (it cites recordings).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kmslab.clock import Clock
from kmslab.exceptions import ValidationException
from kmslab.kms import managed
from kmslab.kms.account import DEFAULT_ACCOUNT
from kmslab.kms.service import LocalKMS

START = datetime(2033, 1, 10, 7, tzinfo=timezone.utc)
ROOT = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
#: The default client's caller: the account's administrator role, through a session.
ADMIN = f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/Admin/kmslab"


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS(clock=Clock(frozen_at=START))


@pytest.fixture
def client(kms: LocalKMS) -> Any:
    return kms.client()


def _error(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def test_predefined_aliases_are_listed_without_a_key(kms: LocalKMS, client: Any) -> None:
    aliases = client.list_aliases()["Aliases"]
    assert [a["AliasName"] for a in aliases] == sorted(managed.PREDEFINED)
    assert aliases[0] == {
        "AliasName": "alias/aws/dynamodb",
        "AliasArn": f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:alias/aws/dynamodb",
    }
    assert all("TargetKeyId" not in a for a in aliases)
    assert client.list_keys()["Keys"] == []


def test_using_an_alias_creates_the_aws_managed_key(kms: LocalKMS, client: Any) -> None:
    meta = client.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert meta["Description"] == (
        "Default master key that protects my S3 objects when no other key is defined"
    )
    assert (meta["KeySpec"], meta["KeyUsage"], meta["Origin"], meta["KeyState"]) == (
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "AWS_KMS",
        "Enabled",
    )
    assert meta["MultiRegion"] is False and "CurrentKeyMaterialId" in meta
    # The same key every time; the alias now has its TargetKeyId.
    alias_arn = f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:alias/aws/s3"
    assert client.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyId"] == meta["KeyId"]
    (s3,) = [a for a in client.list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/s3"]
    assert s3["TargetKeyId"] == meta["KeyId"] and s3["CreationDate"] == START
    assert client.list_aliases(KeyId=meta["KeyId"])["Aliases"] == [s3]
    assert [k["KeyId"] for k in client.list_keys()["Keys"]] == [meta["KeyId"]]


def test_a_request_refused_before_it_uses_the_alias_makes_no_key(kms: LocalKMS) -> None:
    # Recording the failure (for kmslab.explain) looks the key up without making it.
    with pytest.raises(ValidationException):
        kms.call("Encrypt", KeyId="alias/aws/s3", Plaintext=b"")
    assert kms.call("ListKeys")["Keys"] == []
    (s3,) = [a for a in kms.call("ListAliases")["Aliases"] if a["AliasName"] == "alias/aws/s3"]
    assert "TargetKeyId" not in s3


def test_using_an_alias_creates_the_key_but_only_services_may_encrypt(
    kms: LocalKMS, client: Any
) -> None:
    # The key policy allows cryptographic use only through the service (kms:ViaService),
    # and no request reaches the local KMS through an AWS service.
    code, message = _error(client.encrypt, KeyId="alias/aws/ebs", Plaintext=b"volume key")
    meta = client.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert (code, message) == (
        "AccessDeniedException",
        f"User: {ADMIN} is not authorized to perform: kms:Encrypt on resource: "
        f"{meta['Arn']} because no resource-based policy allows the kms:Encrypt action",
    )


def test_yearly_rotation(kms: LocalKMS, client: Any) -> None:
    key_id = client.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["KeyId"]
    status = client.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    assert status["NextRotationDate"] == START + timedelta(days=365)
    kms.clock.advance(days=365)
    rotations = client.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]


def test_the_fixed_key_policy(client: Any) -> None:
    key_id = client.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    policy = json.loads(client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Id"] == "auto-s3-2"
    use, read = policy["Statement"]
    assert use["Principal"] == {"AWS": "*"}
    assert use["Condition"]["StringEquals"] == {
        "kms:CallerAccount": DEFAULT_ACCOUNT,
        "kms:ViaService": "s3.us-east-1.amazonaws.com",
    }
    assert read["Principal"] == {"AWS": ROOT}
    assert read["Action"] == ["kms:Describe*", "kms:Get*", "kms:List*"]


MANAGEMENT = {
    "DisableKey": {},
    "EnableKey": {},
    "ScheduleKeyDeletion": {"PendingWindowInDays": 7},
    "PutKeyPolicy": {"PolicyName": "default", "Policy": "{}"},
    "EnableKeyRotation": {},
    "DisableKeyRotation": {},
    "RotateKeyOnDemand": {},
    "UpdateKeyDescription": {"Description": "mine now"},
    "TagResource": {"Tags": [{"TagKey": "k", "TagValue": "v"}]},
    "CreateGrant": {"GranteePrincipal": ROOT, "Operations": ["Decrypt"]},
}


@pytest.mark.parametrize("operation", sorted(MANAGEMENT))
def test_customers_cannot_manage_it(kms: LocalKMS, client: Any, operation: str) -> None:
    meta = client.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    key = kms.keys[meta["KeyId"]]
    before = (key.state, key.policy, key.description, dict(key.tags), len(key.materials))
    method = getattr(client, "".join("_" + c.lower() if c.isupper() else c for c in operation)[1:])
    assert _error(method, KeyId=meta["KeyId"], **MANAGEMENT[operation]) == (
        "AccessDeniedException",
        f"User: {ADMIN} is not authorized to perform: kms:{operation} on resource: "
        f"{meta['Arn']} because no resource-based policy allows the kms:{operation} action",
    )
    assert (key.state, key.policy, key.description, dict(key.tags), len(key.materials)) == before


def test_aws_aliases_cannot_be_repointed(kms: LocalKMS, client: Any) -> None:
    aws_key = client.describe_key(KeyId="alias/aws/glue")["KeyMetadata"]
    mine = client.create_key()["KeyMetadata"]
    for call, params in (
        (client.create_alias, {"AliasName": "alias/aws/mine", "TargetKeyId": mine["KeyId"]}),
        (client.update_alias, {"AliasName": "alias/aws/glue", "TargetKeyId": mine["KeyId"]}),
        (client.delete_alias, {"AliasName": "alias/aws/glue"}),
    ):
        code, _ = _error(call, **params)
        assert code == "InvalidAliasNameException"
    # A customer alias cannot name the AWS managed key either.
    code, message = _error(
        client.create_alias, AliasName="alias/mine", TargetKeyId=aws_key["KeyId"]
    )
    assert code == "AccessDeniedException" and "kms:CreateAlias" in message
    assert kms.aliases["alias/aws/glue"]["TargetKeyId"] == aws_key["KeyId"]
    assert "alias/mine" not in kms.aliases


def test_unknown_aws_alias(client: Any) -> None:
    assert _error(client.describe_key, KeyId="alias/aws/nothing") == (
        "NotFoundException",
        f"Alias arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:alias/aws/nothing is not found.",
    )
