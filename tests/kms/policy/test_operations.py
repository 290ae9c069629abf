"""Operation by operation: each needs its own permission on its own resource, and a caller
without it gets AWS's AccessDeniedException naming exactly that action and resource.

Sources: Developer Guide kms-api-permissions-reference.html (permission, policy type and
resource per operation), the fidelity ledger (the message formats).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kmslab.exceptions import AccessDeniedException, KMSError
from kmslab.kms.registry import HANDLERS
from kmslab.kms.service import LocalKMS
from tests.kms.policy.helpers import identity_policy, session_arn

Keys = dict[str, dict[str, Any]]
Build = Callable[[LocalKMS, Keys], dict[str, Any]]


def _key(name: str, **extra: Any) -> Build:
    return lambda kms, keys: {"KeyId": keys[name]["KeyId"], **extra}


def _ciphertext(kms: LocalKMS, keys: Keys) -> bytes:
    return kms.call("Encrypt", KeyId=keys["sym"]["KeyId"], Plaintext=b"p")["CiphertextBlob"]


def _grant(kms: LocalKMS, keys: Keys) -> str:
    return kms.call(
        "CreateGrant",
        KeyId=keys["sym"]["KeyId"],
        GranteePrincipal="arn:aws:iam::111122223333:role/Admin",
        Operations=["Decrypt"],
    )["GrantId"]


#: Operation -> (request builder, permission, resource kind: "sym"... key name, "alias", "*").
REQUESTS: dict[str, tuple[Build, str, str]] = {
    "CreateKey": (lambda kms, keys: {}, "kms:CreateKey", "*"),
    "ListKeys": (lambda kms, keys: {}, "kms:ListKeys", "*"),
    "ListAliases": (lambda kms, keys: {}, "kms:ListAliases", "*"),
    "GenerateRandom": (lambda kms, keys: {"NumberOfBytes": 8}, "kms:GenerateRandom", "*"),
    "ListRetirableGrants": (
        lambda kms, keys: {"RetiringPrincipal": "arn:aws:iam::111122223333:root"},
        "kms:ListRetirableGrants",
        "*",
    ),
    "CreateAlias": (
        lambda kms, keys: {"AliasName": "alias/new", "TargetKeyId": keys["sym"]["KeyId"]},
        "kms:CreateAlias",
        "alias",
    ),
    "UpdateAlias": (
        lambda kms, keys: {"AliasName": "alias/sym", "TargetKeyId": keys["sym2"]["KeyId"]},
        "kms:UpdateAlias",
        "alias",
    ),
    "DeleteAlias": (lambda kms, keys: {"AliasName": "alias/sym"}, "kms:DeleteAlias", "alias"),
    "Encrypt": (_key("sym", Plaintext=b"p"), "kms:Encrypt", "sym"),
    "Decrypt": (lambda kms, keys: {"CiphertextBlob": _ciphertext(kms, keys)}, "kms:Decrypt", "sym"),
    "ReEncrypt": (
        lambda kms, keys: {
            "CiphertextBlob": _ciphertext(kms, keys),
            "DestinationKeyId": keys["sym2"]["KeyId"],
        },
        "kms:ReEncryptFrom",
        "sym",
    ),
    "GenerateDataKey": (_key("sym", KeySpec="AES_256"), "kms:GenerateDataKey", "sym"),
    "GenerateDataKeyWithoutPlaintext": (
        _key("sym", KeySpec="AES_256"),
        "kms:GenerateDataKeyWithoutPlaintext",
        "sym",
    ),
    "GenerateDataKeyPair": (
        _key("sym", KeyPairSpec="ECC_NIST_P256"),
        "kms:GenerateDataKeyPair",
        "sym",
    ),
    "GenerateDataKeyPairWithoutPlaintext": (
        _key("sym", KeyPairSpec="ECC_NIST_P256"),
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "sym",
    ),
    "GenerateMac": (
        _key("hmac", Message=b"m", MacAlgorithm="HMAC_SHA_256"),
        "kms:GenerateMac",
        "hmac",
    ),
    "VerifyMac": (
        _key("hmac", Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"x" * 32),
        "kms:VerifyMac",
        "hmac",
    ),
    "Sign": (_key("sign", Message=b"m", SigningAlgorithm="ECDSA_SHA_256"), "kms:Sign", "sign"),
    "Verify": (
        _key("sign", Message=b"m", SigningAlgorithm="ECDSA_SHA_256", Signature=b"s"),
        "kms:Verify",
        "sign",
    ),
    "GetPublicKey": (_key("sign"), "kms:GetPublicKey", "sign"),
    "DeriveSharedSecret": (
        _key("agree", KeyAgreementAlgorithm="ECDH", PublicKey=b"k"),
        "kms:DeriveSharedSecret",
        "agree",
    ),
    "Encapsulate": (_key("kem", EncapsulationAlgorithm="ML_KEM"), "kms:Encapsulate", "kem"),
    "Decapsulate": (
        _key("kem", EncapsulationAlgorithm="ML_KEM", SharedSecretCiphertextBlob=b"c"),
        "kms:Decapsulate",
        "kem",
    ),
    "DescribeKey": (_key("sym"), "kms:DescribeKey", "sym"),
    "EnableKey": (_key("sym"), "kms:EnableKey", "sym"),
    "DisableKey": (_key("sym"), "kms:DisableKey", "sym"),
    "ScheduleKeyDeletion": (_key("sym", PendingWindowInDays=7), "kms:ScheduleKeyDeletion", "sym"),
    "CancelKeyDeletion": (_key("sym"), "kms:CancelKeyDeletion", "sym"),
    "UpdateKeyDescription": (_key("sym", Description="d"), "kms:UpdateKeyDescription", "sym"),
    "TagResource": (_key("sym", Tags=[{"TagKey": "a", "TagValue": "b"}]), "kms:TagResource", "sym"),
    "UntagResource": (_key("sym", TagKeys=["a"]), "kms:UntagResource", "sym"),
    "ListResourceTags": (_key("sym"), "kms:ListResourceTags", "sym"),
    "GetKeyPolicy": (_key("sym"), "kms:GetKeyPolicy", "sym"),
    "PutKeyPolicy": (
        lambda kms, keys: {"KeyId": keys["sym"]["KeyId"], "Policy": keys["sym"]["policy"]},
        "kms:PutKeyPolicy",
        "sym",
    ),
    "ListKeyPolicies": (_key("sym"), "kms:ListKeyPolicies", "sym"),
    "CreateGrant": (
        _key("sym", GranteePrincipal="arn:aws:iam::111122223333:root", Operations=["Encrypt"]),
        "kms:CreateGrant",
        "sym",
    ),
    "ListGrants": (_key("sym"), "kms:ListGrants", "sym"),
    "RevokeGrant": (
        lambda kms, keys: {"KeyId": keys["sym"]["KeyId"], "GrantId": _grant(kms, keys)},
        "kms:RevokeGrant",
        "sym",
    ),
    "RetireGrant": (
        lambda kms, keys: {"KeyId": keys["sym"]["Arn"], "GrantId": _grant(kms, keys)},
        "kms:RetireGrant",
        "sym",
    ),
    "GetKeyRotationStatus": (_key("sym"), "kms:GetKeyRotationStatus", "sym"),
    "EnableKeyRotation": (_key("sym"), "kms:EnableKeyRotation", "sym"),
    "DisableKeyRotation": (_key("sym"), "kms:DisableKeyRotation", "sym"),
    "RotateKeyOnDemand": (_key("sym"), "kms:RotateKeyOnDemand", "sym"),
    "ListKeyRotations": (_key("sym"), "kms:ListKeyRotations", "sym"),
    "GetKeyLastUsage": (_key("sym"), "kms:GetKeyLastUsage", "sym"),
    "ReplicateKey": (_key("mrk", ReplicaRegion="us-west-2"), "kms:ReplicateKey", "mrk"),
    "UpdatePrimaryRegion": (
        _key("mrk", PrimaryRegion="us-west-2"),
        "kms:UpdatePrimaryRegion",
        "mrk",
    ),
    "GetParametersForImport": (
        _key("ext", WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"),
        "kms:GetParametersForImport",
        "ext",
    ),
    "ImportKeyMaterial": (
        _key(
            "ext",
            ImportToken=b"t",
            EncryptedKeyMaterial=b"m",
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        ),
        "kms:ImportKeyMaterial",
        "ext",
    ),
    "DeleteImportedKeyMaterial": (_key("ext"), "kms:DeleteImportedKeyMaterial", "ext"),
    # Custom key stores: account-level permissions (resource "*").
    "CreateCustomKeyStore": (
        lambda kms, keys: {
            "CustomKeyStoreName": "policy-test",
            "CloudHsmClusterId": "cluster-234567abcdefg",
            "TrustAnchorCertificate": "anchor",
            "KeyStorePassword": "kmsPswd",
        },
        "kms:CreateCustomKeyStore",
        "*",
    ),
    "DescribeCustomKeyStores": (lambda kms, keys: {}, "kms:DescribeCustomKeyStores", "*"),
    **{
        op: (lambda kms, keys: {"CustomKeyStoreId": "cks-1234567890abcdef0"}, f"kms:{op}", "*")
        for op in (
            "ConnectCustomKeyStore",
            "DisconnectCustomKeyStore",
            "UpdateCustomKeyStore",
            "DeleteCustomKeyStore",
        )
    },
}


def test_every_served_operation_is_covered():
    assert set(REQUESTS) == set(HANDLERS)


@pytest.fixture(scope="module")
def world() -> tuple[LocalKMS, Keys]:
    kms = LocalKMS()
    made = {
        "sym": {},
        "sym2": {},
        "hmac": {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        "sign": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        "agree": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"},
        "kem": {"KeySpec": "ML_KEM_768", "KeyUsage": "ENCAPSULATE_DECAPSULATE"},
        "ext": {"Origin": "EXTERNAL"},
        "mrk": {"MultiRegion": True},
    }
    keys: Keys = {}
    for name, params in made.items():
        meta = kms.call("CreateKey", **params)["KeyMetadata"]
        meta["policy"] = kms.call("GetKeyPolicy", KeyId=meta["KeyId"])["Policy"]
        keys[name] = meta
    kms.call("CreateAlias", AliasName="alias/sym", TargetKeyId=keys["sym"]["KeyId"])
    kms.iam.create_role("Nobody")
    return kms, keys


def _resource(kms: LocalKMS, keys: Keys, kind: str) -> str:
    if kind == "*":
        return "*"
    if kind == "alias":
        return ""  # filled per operation below
    return str(keys[kind]["Arn"])


@pytest.mark.parametrize("operation", sorted(REQUESTS))
def test_refused_without_permission(world, operation):
    kms, keys = world
    build, action, kind = REQUESTS[operation]
    params = build(kms, keys)
    resource = kms.alias_arn(params["AliasName"]) if kind == "alias" else _resource(kms, keys, kind)
    with (
        kms.acting_as("arn:aws:iam::111122223333:role/Nobody"),
        pytest.raises(AccessDeniedException) as info,
    ):
        kms.call(operation, **params)
    assert info.value.message == (
        f"User: {session_arn('Nobody')} is not authorized to perform: {action} on resource: "
        f"{resource} because no identity-based policy allows the {action} action"
    )
    # A refused call changes nothing and is recorded as refused.
    (event,) = kms.events(event_name=operation, outcome="denied")[-1:]
    assert event["errorCode"] == "AccessDeniedException"


@pytest.mark.parametrize("operation", sorted(REQUESTS))
def test_passes_with_exactly_that_permission(world, operation):
    kms, keys = world
    build, action, _ = REQUESTS[operation]
    name = f"Only{operation}"
    # "*" covers the alias and the key(s) behind it; ReEncrypt needs its two permissions.
    wanted = "kms:ReEncrypt*" if operation == "ReEncrypt" else action
    role = kms.iam.create_role(
        name, policy=identity_policy({"Effect": "Allow", "Action": wanted, "Resource": "*"})
    )
    params = build(kms, keys)
    with kms.acting_as(role):
        try:
            kms.call(operation, **params)
        except AccessDeniedException as err:  # pragma: no cover - the failure to report
            pytest.fail(f"{operation} refused with its own permission: {err.message}")
        except KMSError:
            pass  # authorized; the request itself may be one the key cannot do
    # Put back what the call may have changed.
    state = kms.keys[keys["sym"]["KeyId"]].state
    if state == "PendingDeletion":
        kms.call("CancelKeyDeletion", KeyId=keys["sym"]["KeyId"])
    kms.call("EnableKey", KeyId=keys["sym"]["KeyId"])
    if "alias/sym" not in kms.aliases:
        kms.call("CreateAlias", AliasName="alias/sym", TargetKeyId=keys["sym"]["KeyId"])
    kms.call("UpdateAlias", AliasName="alias/sym", TargetKeyId=keys["sym"]["KeyId"])


def test_a_permission_for_one_key_is_not_one_for_another(world):
    kms, keys = world
    arn = keys["sym"]["Arn"]
    role = kms.iam.create_role(
        "OneKey",
        policy=identity_policy({"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": arn}),
    )
    with kms.acting_as(role):
        assert kms.call("DescribeKey", KeyId="alias/sym")["KeyMetadata"]["Arn"] == arn
        with pytest.raises(AccessDeniedException):
            kms.call("DescribeKey", KeyId=keys["sym2"]["KeyId"])


def test_alias_operations_need_the_key_too(world):
    kms, keys = world
    role = kms.iam.create_role(
        "AliasOnly",
        policy=identity_policy(
            {"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": kms.alias_arn("alias/*")}
        ),
    )
    with kms.acting_as(role), pytest.raises(AccessDeniedException) as info:
        kms.call("CreateAlias", AliasName="alias/x", TargetKeyId=keys["sym"]["KeyId"])
    assert info.value.message.endswith(
        f"kms:CreateAlias on resource: {keys['sym']['Arn']} because no identity-based policy "
        "allows the kms:CreateAlias action"
    )


def test_reencrypt_needs_both_halves(world):
    kms, keys = world
    blob = kms.call("Encrypt", KeyId=keys["sym"]["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    role = kms.iam.create_role(
        "FromOnly",
        policy=identity_policy({"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": "*"}),
    )
    with kms.acting_as(role), pytest.raises(AccessDeniedException) as info:
        kms.call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=keys["sym2"]["KeyId"])
    assert f"kms:ReEncryptTo on resource: {keys['sym2']['Arn']}" in info.value.message
    kms.iam.put_policy(
        role,
        "to",
        identity_policy({"Effect": "Allow", "Action": "kms:ReEncrypt*", "Resource": "*"}),
    )
    with kms.acting_as(role):
        kms.call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=keys["sym2"]["KeyId"])


def test_unknown_key_is_not_found_not_denied(world):
    kms, _ = world
    with kms.acting_as("arn:aws:iam::111122223333:role/Nobody"), pytest.raises(KMSError) as info:
        kms.call("DescribeKey", KeyId="00000000-0000-4000-8000-000000000000")
    assert info.value.code == "NotFoundException"


def test_dry_run_of_a_refused_call_is_refused(world):
    kms, keys = world
    with (
        kms.acting_as("arn:aws:iam::111122223333:role/Nobody"),
        pytest.raises(AccessDeniedException),
    ):
        kms.call("Encrypt", KeyId=keys["sym"]["KeyId"], Plaintext=b"p", DryRun=True)


def test_wire_body_uses_capital_message(world):
    kms, keys = world
    body = json.dumps({"KeyId": keys["sym"]["KeyId"]}).encode()
    with kms.acting_as("arn:aws:iam::111122223333:role/Nobody"):
        status, payload = kms.handle("DescribeKey", body)
    doc = json.loads(payload)
    assert status == 400 and doc["__type"] == "AccessDeniedException"
    assert "Message" in doc and "message" not in doc  # as AWS sends it (ledger)
