"""The local KMS's key management through a real boto3 client: CreateKey for every key type,
DescribeKey metadata as AWS shapes it, ListKeys paging, enable/disable, deletion (with the
clock), descriptions, tags, aliases and key policies."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from kmslab import specs
from kmslab.clock import Clock
from kmslab.kms.account import DEFAULT_ACCOUNT
from kmslab.kms.ops.manage import default_policy
from kmslab.kms.service import DEFAULT_REGION, LocalKMS

VALID_PAIRS = specs.valid_pairs()
INVALID_PAIRS = [
    (s, u) for s, u in product(specs.KEY_SPECS, specs.KEY_USAGES) if (s, u) not in VALID_PAIRS
]
ARN_RE = re.compile(
    rf"arn:aws(-cn)?:kms:({DEFAULT_REGION}|cn-north-1):{DEFAULT_ACCOUNT}:key/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
BASE_FIELDS = {
    "AWSAccountId",
    "KeyId",
    "Arn",
    "CreationDate",
    "Enabled",
    "Description",
    "KeyUsage",
    "KeyState",
    "Origin",
    "KeyManager",
    "KeySpec",
    "MultiRegion",
}
ALGORITHM_LISTS = {lst for _, lst in specs.ALGORITHM_KINDS.values()}
FROZEN = datetime(2030, 1, 1, 12, tzinfo=timezone.utc)


def expected_fields(spec: str, usage: str) -> set[str]:
    """The KeyMetadata members AWS returns for an Enabled AWS_KMS key of this pair."""
    info = specs.get(spec)
    u = info.usage(usage)
    assert u is not None
    fields = BASE_FIELDS | {specs.ALGORITHM_KINDS[u.kind][1]}
    if info.in_customer_master_key_spec:
        fields.add("CustomerMasterKeySpec")
    if spec == "SYMMETRIC_DEFAULT":
        fields.add("CurrentKeyMaterialId")
    return fields


@pytest.fixture
def own():
    """A LocalKMS of this test's own, on a frozen clock, and its boto3 client."""
    kms = LocalKMS(clock=Clock(frozen_at=FROZEN))
    return kms, kms.client()


# -- CreateKey and DescribeKey ------------------------------------------------------------


@pytest.mark.parametrize(("spec", "usage"), VALID_PAIRS)
def test_create_key_every_valid_pair(keys, spec, usage):
    meta = keys.meta(spec, usage)  # made through boto3's create_key
    info = specs.get(spec)
    assert set(meta) == expected_fields(spec, usage)
    assert (meta["KeySpec"], meta["KeyUsage"]) == (spec, usage)
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["Origin"] == "AWS_KMS" and meta["KeyManager"] == "CUSTOMER"
    assert meta["MultiRegion"] is False and meta["Description"] == ""
    assert meta["AWSAccountId"] == DEFAULT_ACCOUNT
    assert ARN_RE.fullmatch(meta["Arn"]) and meta["Arn"].endswith("/" + meta["KeyId"])
    usage_row = info.usage(usage)
    assert usage_row is not None
    listed = specs.ALGORITHM_KINDS[usage_row.kind][1]
    assert meta[listed] == list(usage_row.algorithm_names)
    if info.in_customer_master_key_spec:
        assert meta["CustomerMasterKeySpec"] == spec


@pytest.mark.parametrize(("spec", "usage"), VALID_PAIRS)
def test_describe_key_fields_exactly_as_aws(keys, spec, usage):
    meta = keys.client_for(spec).describe_key(KeyId=keys.id(spec, usage))["KeyMetadata"]
    assert set(meta) == expected_fields(spec, usage)
    assert not (set(meta) & ALGORITHM_LISTS) - {
        specs.ALGORITHM_KINDS[specs.USAGE_KIND[usage]][1]
    }, "an algorithm list of another usage"
    assert meta == keys.meta(spec, usage)
    if spec == "SYMMETRIC_DEFAULT":
        assert re.fullmatch(r"[0-9a-f]{64}", meta["CurrentKeyMaterialId"])


@pytest.mark.parametrize(("spec", "usage"), INVALID_PAIRS)
def test_create_key_invalid_pair_is_validation_error(keys, aws_error, spec, usage):
    with aws_error("ValidationException"):
        keys.client_for(spec).create_key(KeySpec=spec, KeyUsage=usage)


def test_create_key_defaults_to_symmetric_encryption(client):
    meta = client.create_key()["KeyMetadata"]
    assert (meta["KeySpec"], meta["KeyUsage"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")


@pytest.mark.parametrize("spec", [s.name for s in specs.all_specs() if s.default_usage is None])
def test_create_key_usage_required_where_there_is_no_default(keys, aws_error, spec):
    with aws_error("ValidationException"):
        keys.client_for(spec).create_key(KeySpec=spec)


def test_create_key_bad_enums_and_both_spec_members(client, aws_error):
    with aws_error("ValidationException"):
        client.create_key(KeySpec="RSA_1024")
    with aws_error("ValidationException"):
        client.create_key(KeySpec="RSA_2048", CustomerMasterKeySpec="RSA_2048")


def test_create_key_deprecated_customer_master_key_spec(client):
    meta = client.create_key(CustomerMasterKeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    assert meta["KeyMetadata"]["KeySpec"] == "HMAC_256"


def test_external_origin_key_is_pending_import(client):
    meta = client.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert (meta["Origin"], meta["KeyState"], meta["Enabled"]) == (
        "EXTERNAL",
        "PendingImport",
        False,
    )
    assert "CurrentKeyMaterialId" not in meta  # no material yet


def test_key_references_all_reach_the_same_key(client, fresh_key):
    meta = fresh_key("ECC_NIST_P256", "SIGN_VERIFY")
    client.create_alias(AliasName="alias/refs-sign", TargetKeyId=meta["KeyId"])
    alias_arn = f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:alias/refs-sign"
    for ref in (meta["KeyId"], meta["Arn"], "alias/refs-sign", alias_arn):
        assert client.describe_key(KeyId=ref)["KeyMetadata"]["Arn"] == meta["Arn"]
        signed = client.sign(KeyId=ref, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        assert signed["KeyId"] == meta["Arn"]
    sym = fresh_key()
    client.create_alias(AliasName="alias/refs-enc", TargetKeyId=sym["Arn"])
    sym_alias_arn = f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:alias/refs-enc"
    for ref in (sym["KeyId"], sym["Arn"], "alias/refs-enc", sym_alias_arn):
        blob = client.encrypt(KeyId=ref, Plaintext=b"p")
        assert blob["KeyId"] == sym["Arn"]
        assert client.decrypt(CiphertextBlob=blob["CiphertextBlob"], KeyId=ref)["Plaintext"] == b"p"


@pytest.mark.parametrize(
    "ref",
    [
        "alias/nope",
        f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:alias/nope",
        "00000000-0000-4000-8000-000000000000",
        f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:key/00000000-0000-4000-8000-000000000000",
        "not-a-key-id",
        "arn:aws:kms:eu-west-1:999999999999:key/00000000-0000-4000-8000-000000000000",
    ],
)
def test_unknown_references_are_not_found(client, aws_error, ref):
    with aws_error("NotFoundException"):
        client.describe_key(KeyId=ref)


def test_unknown_key_message_names_the_arn(client, aws_error):
    key_id = "00000000-0000-4000-8000-000000000000"
    arn = f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:key/{key_id}"
    with aws_error("NotFoundException", f"Key '{arn}' does not exist"):
        client.describe_key(KeyId=key_id)


@pytest.mark.parametrize("operation", ["ScheduleKeyDeletion", "EnableKey", "DisableKey"])
def test_key_management_refuses_aliases(kms, client, aws_error, fresh_key, operation):
    meta = fresh_key()
    name = f"alias/mgmt-{operation.lower()}"
    client.create_alias(AliasName=name, TargetKeyId=meta["KeyId"])
    for ref in (name, kms.alias_arn(name)):
        with aws_error("NotFoundException"):
            kms.call(operation, KeyId=ref)
    assert kms.keys[meta["KeyId"]].state == "Enabled"


# -- ListKeys -------------------------------------------------------------------------------


def test_list_keys_paging(own):
    _, client = own
    made = [client.create_key()["KeyMetadata"] for _ in range(7)]
    pages, marker = [], None
    while True:
        kwargs = {"Limit": 3} | ({"Marker": marker} if marker else {})
        page = client.list_keys(**kwargs)
        pages.append(page["Keys"])
        assert len(page["Keys"]) <= 3
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert [len(p) for p in pages] == [3, 3, 1]
    listed = [k for p in pages for k in p]
    assert listed == [{"KeyId": m["KeyId"], "KeyArn": m["Arn"]} for m in made]
    whole = client.list_keys()
    assert whole["Truncated"] is False and whole["Keys"] == listed
    paginated = client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
    assert [k for p in paginated for k in p["Keys"]] == listed


@pytest.mark.parametrize("marker", ["bogus", "9999", "-1"])
def test_list_keys_bad_marker(own, aws_error, marker):
    _, client = own
    client.create_key()
    with aws_error("InvalidMarkerException"):
        client.list_keys(Marker=marker)


@pytest.mark.parametrize("limit", [0, 1001])
def test_list_keys_limit_range(own, aws_error, limit):
    kms, _ = own
    with aws_error("ValidationException"):
        kms.client(parameter_validation=False).list_keys(Limit=limit)


# -- enable, disable, deletion ------------------------------------------------------------


def test_disable_and_enable(client, aws_error, fresh_key):
    meta = fresh_key()
    client.disable_key(KeyId=meta["KeyId"])
    described = client.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("Disabled", False)
    with aws_error("DisabledException", f"{meta['Arn']} is disabled."):
        client.encrypt(KeyId=meta["KeyId"], Plaintext=b"x")
    client.disable_key(KeyId=meta["KeyId"])  # idempotent
    client.enable_key(KeyId=meta["KeyId"])
    described = client.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("Enabled", True)
    assert client.encrypt(KeyId=meta["KeyId"], Plaintext=b"x")["KeyId"] == meta["Arn"]


@pytest.mark.parametrize("days", [7, 18, 30, None])
def test_schedule_key_deletion_window(own, days):
    _, client = own
    meta = client.create_key()["KeyMetadata"]
    kwargs = {"PendingWindowInDays": days} if days is not None else {}
    out = client.schedule_key_deletion(KeyId=meta["Arn"], **kwargs)
    expected_days = days or 30
    assert out["KeyId"] == meta["Arn"]
    assert out["KeyState"] == "PendingDeletion"
    assert out["PendingWindowInDays"] == expected_days
    assert out["DeletionDate"] == FROZEN + timedelta(days=expected_days)
    described = client.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion" and described["Enabled"] is False
    assert described["DeletionDate"] == out["DeletionDate"]
    # Only multi-Region primary keys carry PendingDeletionWindowInDays.
    assert set(described) == expected_fields("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") | {
        "DeletionDate"
    }


@pytest.mark.parametrize("days", [1, 6, 31, 365, 0, 366])
def test_schedule_key_deletion_window_out_of_range(raw_client, aws_error, fresh_key, kms, days):
    meta = fresh_key()
    with aws_error("ValidationException"):
        raw_client.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=days)
    assert kms.keys[meta["KeyId"]].state == "Enabled"


def test_cancel_key_deletion_leaves_key_disabled(client, aws_error, fresh_key):
    meta = fresh_key()
    client.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    with aws_error("KMSInvalidStateException", f"{meta['Arn']} is pending deletion."):
        client.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    assert client.cancel_key_deletion(KeyId=meta["KeyId"])["KeyId"] == meta["Arn"]
    described = client.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "Disabled" and "DeletionDate" not in described
    with aws_error("KMSInvalidStateException", f"{meta['Arn']} is not pending deletion."):
        client.cancel_key_deletion(KeyId=meta["KeyId"])


def test_cancel_key_deletion_without_material_returns_to_pending_import(client, fresh_key):
    meta = fresh_key(Origin="EXTERNAL")
    client.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    client.cancel_key_deletion(KeyId=meta["KeyId"])
    assert client.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"


def test_deletion_happens_when_the_clock_passes_the_date(own, aws_error):
    kms, client = own
    doomed = client.create_key()["KeyMetadata"]
    kept = client.create_key()["KeyMetadata"]
    blob = client.encrypt(KeyId=doomed["KeyId"], Plaintext=b"gone soon")["CiphertextBlob"]
    client.create_alias(AliasName="alias/doomed", TargetKeyId=doomed["KeyId"])
    client.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    kms.clock.advance(days=6, hours=23)
    assert client.describe_key(KeyId=doomed["KeyId"])["KeyMetadata"]["KeyState"] == (
        "PendingDeletion"
    )
    kms.clock.advance(hours=1)
    with aws_error("NotFoundException"):
        client.describe_key(KeyId=doomed["KeyId"])
    with aws_error("InvalidCiphertextException"):
        client.decrypt(CiphertextBlob=blob)
    assert [k["KeyId"] for k in client.list_keys()["Keys"]] == [kept["KeyId"]]
    # Only AWS's predefined aliases are left (listed without TargetKeyId until used).
    assert [a for a in client.list_aliases()["Aliases"] if "TargetKeyId" in a] == []
    with aws_error("NotFoundException"):
        client.describe_key(KeyId="alias/doomed")


# -- description and tags -----------------------------------------------------------------


def test_update_key_description(client, fresh_key):
    meta = fresh_key(Description="before")
    assert meta["Description"] == "before"
    client.update_key_description(KeyId=meta["Arn"], Description="after")
    assert client.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == "after"


def test_update_key_description_refuses_alias(client, aws_error, fresh_key):
    meta = fresh_key()
    client.create_alias(AliasName="alias/describe-me", TargetKeyId=meta["KeyId"])
    with aws_error("NotFoundException"):
        client.update_key_description(KeyId="alias/describe-me", Description="x")


def test_tags_round_trip(client, fresh_key):
    meta = fresh_key(Tags=[{"TagKey": "team", "TagValue": "crypto"}])

    def tags():
        return {
            t["TagKey"]: t["TagValue"] for t in client.list_resource_tags(KeyId=meta["Arn"])["Tags"]
        }

    assert tags() == {"team": "crypto"}
    client.tag_resource(
        KeyId=meta["KeyId"],
        Tags=[{"TagKey": "team", "TagValue": "kms"}, {"TagKey": "env", "TagValue": "lab"}],
    )
    assert tags() == {"team": "kms", "env": "lab"}
    client.untag_resource(KeyId=meta["KeyId"], TagKeys=["team", "absent"])
    assert tags() == {"env": "lab"}
    assert client.list_resource_tags(KeyId=meta["KeyId"])["Truncated"] is False


def test_tags_with_aws_prefix_are_refused(client, aws_error, fresh_key):
    reserved = [{"TagKey": "aws:owner", "TagValue": "me"}]
    with aws_error("TagException"):
        client.create_key(Tags=reserved)
    meta = fresh_key()
    with aws_error("TagException"):
        client.tag_resource(KeyId=meta["KeyId"], Tags=reserved)
    with aws_error("TagException"):
        client.untag_resource(KeyId=meta["KeyId"], TagKeys=["aws:owner"])
    assert client.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == []


def test_at_most_fifty_tags(client, aws_error, fresh_key):
    meta = fresh_key(Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    with aws_error("TagException"):
        client.tag_resource(KeyId=meta["KeyId"], Tags=[{"TagKey": "one-more", "TagValue": "v"}])
    assert len(client.list_resource_tags(KeyId=meta["KeyId"], Limit=100)["Tags"]) == 50


# -- aliases --------------------------------------------------------------------------------


def test_alias_lifecycle(own, aws_error):
    _, client = own
    first = client.create_key()["KeyMetadata"]
    second = client.create_key()["KeyMetadata"]
    client.create_alias(AliasName="alias/app", TargetKeyId=first["Arn"])
    (alias,) = [a for a in client.list_aliases()["Aliases"] if "TargetKeyId" in a]
    assert alias["AliasName"] == "alias/app"
    assert alias["AliasArn"] == f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:alias/app"
    assert alias["TargetKeyId"] == first["KeyId"]
    with aws_error("AlreadyExistsException"):
        client.create_alias(AliasName="alias/app", TargetKeyId=second["KeyId"])
    client.update_alias(AliasName="alias/app", TargetKeyId=second["KeyId"])
    assert client.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == second["KeyId"]
    client.create_alias(AliasName="alias/other", TargetKeyId=first["KeyId"])
    by_key = client.list_aliases(KeyId=first["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in by_key] == ["alias/other"]
    client.delete_alias(AliasName="alias/app")
    listed = client.list_aliases()["Aliases"]
    assert [a["AliasName"] for a in listed if "TargetKeyId" in a] == ["alias/other"]
    with aws_error("NotFoundException"):
        client.delete_alias(AliasName="alias/app")
    with aws_error("NotFoundException"):
        client.update_alias(AliasName="alias/app", TargetKeyId=first["KeyId"])
    with aws_error("NotFoundException"):
        client.describe_key(KeyId="alias/app")


def test_alias_names(client, aws_error, fresh_key):
    meta = fresh_key()
    with aws_error("InvalidAliasNameException"):
        client.create_alias(AliasName="alias/aws/mine", TargetKeyId=meta["KeyId"])
    with aws_error("ValidationException"):
        client.create_alias(AliasName="no-prefix", TargetKeyId=meta["KeyId"])
    with aws_error("ValidationException"):
        client.create_alias(AliasName="alias/bad name!", TargetKeyId=meta["KeyId"])
    with aws_error("NotFoundException"):  # TargetKeyId takes a key id or key ARN only
        client.create_alias(AliasName="alias/x", TargetKeyId="alias/whatever")


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), True),
        (("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"), True),
        (("HMAC_256", "GENERATE_VERIFY_MAC"), ("HMAC_512", "GENERATE_VERIFY_MAC"), True),
        (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC"), False),
        (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("RSA_2048", "ENCRYPT_DECRYPT"), False),
        (("RSA_2048", "SIGN_VERIFY"), ("RSA_2048", "ENCRYPT_DECRYPT"), False),
        (("ECC_NIST_P256", "SIGN_VERIFY"), ("ECC_NIST_P256", "KEY_AGREEMENT"), False),
        (("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"), ("ML_DSA_44", "SIGN_VERIFY"), False),
    ],
)
def test_update_alias_needs_same_type_and_usage(
    client, keys, aws_error, fresh_key, old, new, allowed
):
    name = f"alias/update-{old[0]}-{old[1]}-{new[0]}-{new[1]}".lower()
    old_meta, new_meta = fresh_key(*old), keys.meta(*new)
    client.create_alias(AliasName=name, TargetKeyId=old_meta["KeyId"])
    if allowed:
        client.update_alias(AliasName=name, TargetKeyId=new_meta["KeyId"])
        assert client.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == new_meta["KeyId"]
    else:
        with aws_error("ValidationException"):
            client.update_alias(AliasName=name, TargetKeyId=new_meta["KeyId"])
        assert client.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == old_meta["KeyId"]
    client.delete_alias(AliasName=name)


# -- key policies ---------------------------------------------------------------------------


def test_default_key_policy(client, fresh_key):
    meta = fresh_key()
    out = client.get_key_policy(KeyId=meta["KeyId"])
    assert out["PolicyName"] == "default"
    policy = json.loads(out["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}
    assert statement["Action"] == "kms:*" and statement["Effect"] == "Allow"
    assert client.list_key_policies(KeyId=meta["KeyId"])["PolicyNames"] == ["default"]


def test_put_and_get_key_policy(client, aws_error, fresh_key):
    # Policies that keep the caller able to change them (AWS's lockout safety check).
    statement = json.loads(default_policy(DEFAULT_ACCOUNT))["Statement"]
    doc = json.dumps({"Version": "2012-10-17", "Statement": statement})
    meta = fresh_key(Policy=doc)
    assert client.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"] == doc
    new = json.dumps({"Version": "2012-10-17", "Id": "mine", "Statement": statement})
    client.put_key_policy(KeyId=meta["Arn"], PolicyName="default", Policy=new)
    assert client.get_key_policy(KeyId=meta["KeyId"])["Policy"] == new
    with aws_error("MalformedPolicyDocumentException"):
        client.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy="{not json")
    with aws_error("MalformedPolicyDocumentException"):
        client.create_key(Policy="{not json")
    with aws_error("NotFoundException"):
        client.get_key_policy(KeyId=meta["KeyId"], PolicyName="other")
    assert client.get_key_policy(KeyId=meta["KeyId"])["Policy"] == new
