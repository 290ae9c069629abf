"""identify(): real DescribeKey output for every (KeySpec, KeyUsage) pair, key states, and
hand-written KeyMetadata shaped like real AWS responses (old keys, AWS managed keys, key
specs newer than the catalogue, fields missing or unknown)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab import specs
from kmslab.learn.identify import KeyIdentity, identify

# What each key type may do on the data plane, written out by hand from AWS's key type
# reference (the Developer Guide's symm-asymm-compare page).
DATA_PLANE = {
    "SYM": {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    },
    "HMAC": {"GenerateMac", "VerifyMac"},
    "A-ED": {"Encrypt", "Decrypt", "ReEncrypt", "GetPublicKey"},
    "A-SV": {"Sign", "Verify", "GetPublicKey"},
    "A-KA": {"DeriveSharedSecret", "GetPublicKey"},
    "A-KEM": {"Encapsulate", "Decapsulate", "GetPublicKey"},
}
ROTATION = {"EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand", "ListKeyRotations"}
IMPORT = {"GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"}
ALGORITHM_LIST = {
    "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
    "SIGN_VERIFY": "SigningAlgorithms",
    "GENERATE_VERIFY_MAC": "MacAlgorithms",
    "KEY_AGREEMENT": "KeyAgreementAlgorithms",
    "ENCAPSULATE_DECAPSULATE": "EncapsulationAlgorithms",
}
PAIRS = [
    pytest.param(s, u, marks=pytest.mark.slow) if s == "RSA_4096" else (s, u)
    for s, u in specs.valid_pairs()
]


@pytest.mark.parametrize(("spec", "usage"), PAIRS)
def test_every_key_type_from_a_real_describe_key(
    spec: str, usage: str, keys: Any, client: Any
) -> None:
    response = keys.client_for(spec).describe_key(KeyId=keys.id(spec, usage))
    who = identify(response)  # the whole boto3 response
    assert who == identify(response["KeyMetadata"])
    assert (who.key_spec, who.key_usage, who.in_catalogue) == (spec, usage, True)
    expected_type = specs.key_type(spec, usage)
    assert who.key_type == expected_type
    assert who.symmetric is (expected_type in ("SYM", "HMAC"))
    assert who.family == specs.get(spec).family
    assert who.key_id == keys.id(spec, usage) and who.arn == keys.arn(spec, usage)
    data = {op for op in who.operations if op in set().union(*DATA_PLANE.values())}
    assert data == DATA_PLANE[expected_type]
    assert (set(who.operations) >= ROTATION) is (expected_type == "SYM")
    assert not IMPORT & set(who.operations)  # Origin AWS_KMS
    assert {"DescribeKey", "ScheduleKeyDeletion", "TagResource"} <= set(who.operations)
    assert who.algorithms == specs.algorithm_names(spec, usage)
    fields = [e.field for e in who.evidence]
    assert fields[:1] == ["KeySpec"]
    assert {"KeyUsage", ALGORITHM_LIST[usage], "KeyState", "Origin"} <= set(fields)
    # Enabled: only CancelKeyDeletion (the key is not pending deletion) is refused.
    assert who.blocked == (("CancelKeyDeletion", "KMSInvalidStateException"),)
    assert who.notes == ()
    assert spec in who.explain() and who.kind in who.explain()


def test_disabled_key_blocks_cryptography(fresh_key: Callable[..., Any], kms: Any) -> None:
    meta = fresh_key("HMAC_256", "GENERATE_VERIFY_MAC")
    kms.call("DisableKey", KeyId=meta["KeyId"])
    who = identify(kms.call("DescribeKey", KeyId=meta["KeyId"]))
    assert who.key_state == "Disabled"
    blocked = dict(who.blocked)
    assert blocked["GenerateMac"] == blocked["VerifyMac"] == "DisabledException"
    assert "DescribeKey" in who.usable_now and "GenerateMac" not in who.usable_now
    text = who.explain()
    assert "Blocked in state Disabled" in text
    assert "DisabledException (the key is disabled.): GenerateMac, VerifyMac" in text


def test_pending_deletion_blocks_use_and_management(
    fresh_key: Callable[..., Any], kms: Any
) -> None:
    meta = fresh_key("ECC_NIST_P256", "SIGN_VERIFY")
    kms.call("ScheduleKeyDeletion", KeyId=meta["KeyId"], PendingWindowInDays=7)
    who = identify(kms.call("DescribeKey", KeyId=meta["KeyId"]))
    blocked = dict(who.blocked)
    assert blocked["Sign"] == "KMSInvalidStateException"
    assert blocked["TagResource"] == "KMSInvalidStateException"
    assert "CancelKeyDeletion" in who.usable_now and "DescribeKey" in who.usable_now
    assert any(e.field == "DeletionDate" for e in who.evidence)


def test_external_key_pending_import(fresh_key: Callable[..., Any], kms: Any) -> None:
    meta = fresh_key("SYMMETRIC_DEFAULT", Origin="EXTERNAL")
    who = identify(meta)
    assert who.origin == "EXTERNAL" and who.key_state == "PendingImport"
    assert set(who.operations) >= IMPORT
    # Automatic rotation needs Origin AWS_KMS; on-demand rotation takes new imported
    # material (since 2025); ListKeyRotations lists the imported material too.
    assert set(who.operations) & ROTATION == {"ListKeyRotations", "RotateKeyOnDemand"}
    assert dict(who.blocked)["Encrypt"] == "KMSInvalidStateException"
    assert "GetParametersForImport" in who.usable_now


def test_multi_region_operations_only_for_multi_region_keys(kms: Any) -> None:
    multi = kms.call("CreateKey", MultiRegion=True)["KeyMetadata"]
    assert {"ReplicateKey", "UpdatePrimaryRegion"} <= set(identify(multi).operations)
    single = kms.call("CreateKey")["KeyMetadata"]
    assert not {"ReplicateKey", "UpdatePrimaryRegion"} & set(identify(single).operations)


# -- hand-written metadata, shaped like real AWS responses -------------------------------

# The DescribeKey example of the AWS KMS API reference, as the AWS CLI prints it.
AWS_SYMMETRIC = {
    "AWSAccountId": "111122223333",
    "Arn": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "CreationDate": "2017-07-05T14:04:55-07:00",
    "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
    "Description": "",
    "Enabled": True,
    "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "KeyManager": "CUSTOMER",
    "KeySpec": "SYMMETRIC_DEFAULT",
    "KeyState": "Enabled",
    "KeyUsage": "ENCRYPT_DECRYPT",
    "MultiRegion": False,
    "Origin": "AWS_KMS",
    "CurrentKeyMaterialId": "a" * 64,
}


def test_aws_symmetric_example() -> None:
    who = identify({"KeyMetadata": AWS_SYMMETRIC})
    assert (who.key_type, who.family, who.symmetric) == ("SYM", "aes", True)
    assert who.notes == ()
    assert who.arn == AWS_SYMMETRIC["Arn"]
    meanings = {e.field: e.meaning for e in who.evidence}
    assert "deprecated twin" in meanings["CustomerMasterKeySpec"]
    assert "rotation adds versions" in meanings["CurrentKeyMaterialId"]
    assert "customer managed" in meanings["KeyManager"]


def test_old_key_with_only_customer_master_key_spec() -> None:
    old = {
        "AWSAccountId": "111122223333",
        "KeyId": "0987dcba-09fe-87dc-65ba-ab0987654321",
        "Arn": "arn:aws:kms:us-east-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
        "CreationDate": datetime(2019, 12, 2, tzinfo=timezone.utc),
        "Enabled": True,
        "Description": "",
        "KeyUsage": "SIGN_VERIFY",
        "KeyState": "Enabled",
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": "ECC_NIST_P384",
        "SigningAlgorithms": ["ECDSA_SHA_384"],
    }
    who = identify(old)
    assert (who.key_spec, who.key_type, who.family) == ("ECC_NIST_P384", "A-SV", "ec")
    cmks = next(e for e in who.evidence if e.field == "CustomerMasterKeySpec")
    assert "older SDK or API version" in cmks.meaning
    assert {"Sign", "Verify", "GetPublicKey"} <= set(who.operations)


def test_very_old_key_with_no_key_spec_at_all() -> None:
    # Before asymmetric keys (2019) KeyMetadata named no key spec and no algorithms.
    ancient = {
        "AWSAccountId": "111122223333",
        "KeyId": "abcd1234-12ab-34cd-56ef-1234567890ab",
        "Arn": "arn:aws:kms:us-east-1:111122223333:key/abcd1234-12ab-34cd-56ef-1234567890ab",
        "CreationDate": "2015-01-01T00:00:00Z",
        "Enabled": True,
        "Description": "old",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": "Enabled",
    }
    who = identify(ancient)
    assert (who.key_spec, who.key_type) == ("SYMMETRIC_DEFAULT", "SYM")
    assert any("assuming SYMMETRIC_DEFAULT" in n for n in who.notes)
    assert any("No Origin" in n for n in who.notes)
    assert "GenerateDataKey" in who.operations


def test_aws_managed_key() -> None:
    managed = {**AWS_SYMMETRIC, "KeyManager": "AWS", "Description": "Default key for S3"}
    who = identify(managed)
    assert any("AWS managed key" in n for n in who.notes)
    assert "AWS managed" in {e.field: e.meaning for e in who.evidence}["KeyManager"]


def test_hmac_example() -> None:
    hmac = {
        "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "KeySpec": "HMAC_512",
        "KeyUsage": "GENERATE_VERIFY_MAC",
        "MacAlgorithms": ["HMAC_SHA_512"],
        "KeyState": "Enabled",
        "Origin": "AWS_KMS",
        "MultiRegion": True,
    }
    who = identify(hmac)
    assert (who.key_type, who.symmetric, who.algorithms) == ("HMAC", True, ("HMAC_SHA_512",))
    assert "multi-Region" in {e.field: e.meaning for e in who.evidence}["MultiRegion"]
    assert "GetPublicKey" not in who.operations


def test_future_key_spec_is_inferred_from_usage_and_algorithms() -> None:
    future = {
        "KeyId": "k",
        "KeySpec": "ML_DSA_128",
        "KeyUsage": "SIGN_VERIFY",
        "SigningAlgorithms": ["ML_DSA_SHAKE_256"],
        "KeyState": "Enabled",
        "Origin": "AWS_KMS",
        "SomethingNew": {"nested": [1, 2]},
    }
    who = identify(future)
    assert (who.key_type, who.in_catalogue, who.family) == ("A-SV", False, "ml-dsa")
    assert who.symmetric is False
    assert any("not in kmslab's catalogue" in n for n in who.notes)
    assert {"Sign", "Verify", "GetPublicKey"} <= set(who.operations)


def test_future_encryption_spec_is_typed_by_its_algorithms() -> None:
    rsa = identify(
        {
            "KeySpec": "RSA_8192",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "EncryptionAlgorithms": ["RSAES_OAEP_SHA_256"],
        }
    )
    assert (rsa.key_type, rsa.family) == ("A-ED", "rsa")
    # With no algorithm list, ENCRYPT_DECRYPT fits SYM and A-ED: the type stays unknown.
    vague = identify({"KeySpec": "AES_512", "KeyUsage": "ENCRYPT_DECRYPT"})
    assert vague.key_type is None and vague.operations == () and vague.symmetric is None
    assert any("several key types" in n for n in vague.notes)
    assert "unknown" in vague.explain()


def test_unknown_usage_and_state_do_not_raise() -> None:
    who = identify({"KeySpec": "FUTURE_THING", "KeyUsage": "TELEPORT", "KeyState": "Updating"})
    assert who.key_type is None and who.operations == () and who.blocked == ()
    assert {e.field: e.meaning for e in who.evidence}["KeyUsage"] == (
        "a key usage kmslab does not know"
    )
    assert any("multi-Region primary key is being changed" in n for n in who.notes)


def test_mismatched_key_spec_fields_and_algorithms() -> None:
    who = identify(
        {
            "KeySpec": "RSA_2048",
            "CustomerMasterKeySpec": "RSA_4096",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "EncryptionAlgorithms": ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_512"],
            "Origin": "AWS_KMS",
        }
    )
    assert who.key_spec == "RSA_2048"
    assert any("differ" in n and "RSA_4096" in n for n in who.notes)
    assert any("not in kmslab's catalogue: RSAES_OAEP_SHA_512" in n for n in who.notes)
    assert any("missing from the metadata: RSAES_OAEP_SHA_1" in n for n in who.notes)


def test_missing_key_usage_is_read_from_the_algorithm_list() -> None:
    who = identify({"KeySpec": "ECC_NIST_P256", "KeyAgreementAlgorithms": ["ECDH"]})
    assert (who.key_usage, who.key_type) == ("KEY_AGREEMENT", "A-KA")
    assert any("No KeyUsage" in n for n in who.notes)


def test_usage_that_does_not_fit_the_spec() -> None:
    who = identify({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"})
    assert who.key_type == "A-KA"  # from the usage; the note says the pair is not valid
    assert any("not valid for ECC_SECG_P256K1" in n for n in who.notes)


def test_empty_metadata() -> None:
    who = identify({})
    assert isinstance(who, KeyIdentity)
    assert who.key_id is None and who.arn is None
    assert who.notes  # everything it assumed is said


def test_renderings_escape_values() -> None:
    who = identify({**AWS_SYMMETRIC, "KeyId": "<b>x</b>", "Arn": None})
    page = who._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "<table>" in page and "KeySpec" in page
    markdown = who._repr_markdown_()
    assert markdown.startswith("**SYMMETRIC_DEFAULT: symmetric encryption key (aes family)**")
    assert "| field | value | what it means |" in markdown
    assert who.explain().splitlines()[0] == who.summary()


METADATA_FIELDS = [
    "KeySpec",
    "CustomerMasterKeySpec",
    "KeyUsage",
    "KeyState",
    "Origin",
    "KeyManager",
    "Enabled",
    "MultiRegion",
    "EncryptionAlgorithms",
    "SigningAlgorithms",
    "MacAlgorithms",
    "KeyAgreementAlgorithms",
    "EncapsulationAlgorithms",
    "KeyId",
    "Arn",
    "DeletionDate",
    "ValidTo",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from([*specs.KEY_SPECS, *specs.KEY_USAGES, *specs.KEY_STATES, *specs.ORIGINS]),
    st.lists(st.sampled_from(["SYMMETRIC_DEFAULT", "ECDH", "ML_KEM", "HMAC_SHA_256", "x"])),
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(METADATA_FIELDS) | st.text(max_size=8), VALUES))
def test_any_metadata_is_explained_without_raising(meta: dict[str, Any]) -> None:
    who = identify(meta)
    assert isinstance(who.explain(), str)
    assert who._repr_html_().startswith("<div")
    assert set(who.usable_now) <= set(who.operations)
