"""AWS's resource quotas and document limits (src/kmslab/kms/quotas.py), enforced with the
error AWS gives, and CreateGrant's documented idempotency for a repeated named grant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmslab.exceptions import (
    InvalidGrantTokenException,
    InvalidImportTokenException,
    KMSError,
    LimitExceededException,
    MalformedPolicyDocumentException,
    ValidationException,
)
from kmslab.kms.account import DEFAULT_ACCOUNT
from kmslab.kms.ops.manage import default_policy
from kmslab.kms.quotas import QUOTAS, default_quotas
from kmslab.kms.service import LocalKMS

PRINCIPAL = "arn:aws:iam::111122223333:role/app"


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS()


def _key(kms: LocalKMS, **params: Any) -> str:
    return str(kms.call("CreateKey", **params)["KeyMetadata"]["KeyId"])


def test_the_table_has_aws_values_and_sources() -> None:
    expected = {
        "keys": 100_000,
        "aliases_per_key": 50,
        "grants_per_key": 50_000,
        "on_demand_rotations": 25,
        "tags_per_key": 50,
        "key_policy_bytes": 32_768,
    }
    assert {name: QUOTAS[name].value for name in expected} == expected
    for quota in QUOTAS.values():
        assert quota.source.startswith("https://docs.aws.amazon.com/kms/latest/developerguide/")
    assert default_quotas() == {name: q.value for name, q in QUOTAS.items()}
    assert LocalKMS().quotas == default_quotas()


def test_key_quota_with_aws_text(kms: LocalKMS) -> None:
    kms.quotas["keys"] = 2
    _key(kms)
    _key(kms)
    with pytest.raises(LimitExceededException) as err:
        _key(kms)
    assert err.value.message == (
        "Key quota for this account in this region is 2 but the current usage is 2."
    )
    assert len(kms.keys) == 2


def test_aws_managed_keys_do_not_count_toward_the_key_quota(kms: LocalKMS) -> None:
    kms.quotas["keys"] = 1
    kms.call("DescribeKey", KeyId="alias/aws/s3")  # creates the AWS managed key
    _key(kms)  # the one customer managed key the quota allows
    with pytest.raises(LimitExceededException) as err:
        _key(kms)
    assert err.value.message.endswith("is 1 but the current usage is 1.")


def test_aliases_per_key(kms: LocalKMS) -> None:
    full, other = _key(kms), _key(kms)
    for i in range(50):
        kms.call("CreateAlias", AliasName=f"alias/full-{i}", TargetKeyId=full)
    with pytest.raises(LimitExceededException):
        kms.call("CreateAlias", AliasName="alias/one-too-many", TargetKeyId=full)
    kms.call("CreateAlias", AliasName="alias/other", TargetKeyId=other)
    with pytest.raises(LimitExceededException):  # UpdateAlias onto the full key, too
        kms.call("UpdateAlias", AliasName="alias/other", TargetKeyId=full)
    assert kms.aliases["alias/other"]["TargetKeyId"] == other
    kms.call("UpdateAlias", AliasName="alias/full-0", TargetKeyId=full)  # same key: fine
    kms.call("DeleteAlias", AliasName="alias/full-1")
    kms.call("UpdateAlias", AliasName="alias/other", TargetKeyId=full)
    assert len(kms.call("ListAliases", KeyId=full, Limit=100)["Aliases"]) == 50


def _grant(kms: LocalKMS, key_id: str, **params: Any) -> dict[str, Any]:
    params = {"GranteePrincipal": PRINCIPAL, "Operations": ["Encrypt"], **params}
    return kms.call("CreateGrant", KeyId=key_id, **params)


def test_grants_per_key(kms: LocalKMS) -> None:
    kms.quotas["grants_per_key"] = 3
    key_id = _key(kms)
    grants = [_grant(kms, key_id) for _ in range(3)]
    with pytest.raises(LimitExceededException):
        _grant(kms, key_id)
    kms.call("RevokeGrant", KeyId=key_id, GrantId=grants[0]["GrantId"])
    _grant(kms, key_id)
    assert len(kms.grants[key_id]) == 3


def test_named_grant_repeated_is_one_grant_with_interchangeable_tokens(kms: LocalKMS) -> None:
    """AWS: a retry with identical parameters returns the original GrantId; every call gets
    a new token; all tokens of the grant are interchangeable (API Reference, CreateGrant)."""
    kms.quotas["grants_per_key"] = 1  # a repeat does not count as another grant
    key_id = _key(kms)
    made = [_grant(kms, key_id, Name="backup") for _ in range(500)]
    assert {m["GrantId"] for m in made} == {made[0]["GrantId"]}
    assert len({m["GrantToken"] for m in made}) == 500
    grant = kms.grants[key_id][made[0]["GrantId"]]
    assert grant.issued == 500 and len(kms.grants[key_id]) == 1
    # A different request under the same name is another grant (and over the quota here).
    with pytest.raises(LimitExceededException):
        _grant(kms, key_id, Name="backup", Operations=["Decrypt"])
    kms.call("RetireGrant", GrantToken=made[371]["GrantToken"])
    with pytest.raises(InvalidGrantTokenException):
        kms.call("RetireGrant", GrantToken=made[0]["GrantToken"])


def test_grant_tokens_cannot_be_forged(kms: LocalKMS) -> None:
    key_id = _key(kms)
    token = _grant(kms, key_id)["GrantToken"]
    other = LocalKMS()  # another KMS's token key
    with pytest.raises(InvalidGrantTokenException):
        other.call("RetireGrant", GrantToken=token)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, token[:-4], "x" * 20, "=" * 8):
        with pytest.raises(InvalidGrantTokenException):
            kms.call("RetireGrant", GrantToken=bad)
    kms.call("RetireGrant", GrantToken=token)


@pytest.mark.parametrize(
    ("policy", "error"),
    [
        ("1", MalformedPolicyDocumentException),
        ("[]", MalformedPolicyDocumentException),
        ('"text"', MalformedPolicyDocumentException),
        ("{", MalformedPolicyDocumentException),
        ('{"Sid": "\u0100"}', ValidationException),  # outside Latin-1: the model's pattern
        ('{"Sid": "\u0007"}', ValidationException),  # a control character, likewise
        (json.dumps({"Pad": "x" * 32_760}), LimitExceededException),  # 32,771 bytes
    ],
)
def test_policy_documents_aws_refuses(kms: LocalKMS, policy: str, error: type[KMSError]) -> None:
    key_id = _key(kms)
    before = kms.keys[key_id].policy
    with pytest.raises(error):
        kms.call("PutKeyPolicy", KeyId=key_id, Policy=policy, PolicyName="default")
    assert kms.keys[key_id].policy == before
    with pytest.raises(error):
        _key(kms, Policy=policy)


def _valid_policy(sid: str) -> str:
    """The default key policy with this Sid (a document that passes every other check)."""
    document = json.loads(default_policy(DEFAULT_ACCOUNT))
    document["Statement"][0]["Sid"] = sid
    return json.dumps(document, ensure_ascii=False)


def test_policy_at_the_size_limit_is_kept(kms: LocalKMS) -> None:
    pad = 32_768 - len(_valid_policy("").encode())
    policy = _valid_policy("x" * pad)
    assert len(policy.encode()) == 32_768
    key_id = _key(kms, Policy=policy)
    assert kms.call("GetKeyPolicy", KeyId=key_id, PolicyName="default")["Policy"] == policy
    latin = _valid_policy("caf\u00e9\tok")
    kms.call("PutKeyPolicy", KeyId=key_id, Policy=latin, PolicyName="default")


def test_import_tokens_are_bounded(kms: LocalKMS) -> None:
    kms.quotas["import_tokens_per_key"] = 3
    key_id = _key(kms, Origin="EXTERNAL")
    tokens = [
        kms.call(
            "GetParametersForImport",
            KeyId=key_id,
            WrappingKeySpec="RSA_2048",
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
        )["ImportToken"]
        for _ in range(5)
    ]
    assert list(kms.keys[key_id].import_state["tokens"]) == tokens[2:]
    with pytest.raises(InvalidImportTokenException):
        kms.call(
            "ImportKeyMaterial",
            KeyId=key_id,
            ImportToken=tokens[0],
            EncryptedKeyMaterial=b"\0" * 256,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )


def test_grant_indexes_follow_retire_revoke_and_key_deletion(kms: LocalKMS) -> None:
    key_id = _key(kms)
    named = _grant(kms, key_id, Name="n", RetiringPrincipal=PRINCIPAL)
    other = _grant(kms, key_id, Name="m")
    kms.call("RevokeGrant", KeyId=key_id, GrantId=other["GrantId"])
    assert list(kms.grant_names) == [(key_id, "n")] and list(kms.retirable) == [PRINCIPAL]
    kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    kms.clock.advance(days=7, seconds=1)
    kms.call("ListKeys")
    assert kms.grant_names == {} and kms.retirable == {} and kms.grants == {}
    assert key_id not in kms.keys and named["GrantId"]
