"""Fixtures for the store tests: a store path, a scenario that makes every state-changing
call, and a snapshot of everything a learner can read back about the keys."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from kmslab.kms import LocalKMS
from kmslab.xks import XksProxy

#: Known AES key material imported by the scenario (the at-rest test searches for it).
KNOWN_MATERIAL = bytes.fromhex("5a" * 8 + "c3" * 8 + "0f" * 8 + "e1" * 8)
ROLE = "arn:aws:iam::111122223333:role/store-test"
#: The kmsuser password of the keystore scenario: distinctive, so the at-rest test can
#: search the files for it.
KMSUSER_PASSWORD = "kmslab-kmsuser-Pswd-7f3a91c2"
#: The external key store proxy's endpoint, routed to the proxy on 127.0.0.1.
XKS_ENDPOINT = "https://xks.example.com"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "kms.sqlite3"


def import_material(kms: LocalKMS, key_id: str, material: bytes, **extra: Any) -> Any:
    params = kms.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingKeySpec="RSA_2048",
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
    )
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    public = serialization.load_der_public_key(params["PublicKey"])
    wrapped = public.encrypt(material, oaep)  # type: ignore[union-attr]
    return kms.call(
        "ImportKeyMaterial",
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        **extra,
    )


def every_change(kms: LocalKMS) -> dict[str, Any]:
    """Make every state-changing operation happen at least once; returns names to check.

    ``OPERATIONS_MADE`` lists them: a test compares it with the operations that change state.
    """
    made: dict[str, Any] = {"ciphertexts": []}
    sym = kms.call("CreateKey", Description="symmetric", Tags=[{"TagKey": "t", "TagValue": "1"}])
    sym_id = sym["KeyMetadata"]["KeyId"]
    specs = [
        ("RSA_2048", "SIGN_VERIFY"),
        ("ECC_NIST_P256", "KEY_AGREEMENT"),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
        ("ML_DSA_44", "SIGN_VERIFY"),
        ("ML_KEM_512", "KEY_AGREEMENT"),
        ("ML_KEM_768", "KEY_AGREEMENT"),
        # SM2 exists only in the China Regions (tests/kms/test_china.py), not in us-east-1.
    ]
    ids = {"sym": sym_id}
    for spec, usage in specs:
        if spec.startswith("ML_KEM"):
            usage = "ENCAPSULATE_DECAPSULATE"
        meta = kms.call("CreateKey", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        ids[spec] = meta["KeyId"]
    kms.call("UpdateKeyDescription", KeyId=sym_id, Description="described")
    kms.call("TagResource", KeyId=sym_id, Tags=[{"TagKey": "u", "TagValue": "2"}])
    kms.call("UntagResource", KeyId=sym_id, TagKeys=["t"])
    kms.call("CreateAlias", AliasName="alias/first", TargetKeyId=sym_id)
    other = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    kms.call("CreateAlias", AliasName="alias/moving", TargetKeyId=sym_id)
    kms.call("UpdateAlias", AliasName="alias/moving", TargetKeyId=other)
    kms.call("CreateAlias", AliasName="alias/gone", TargetKeyId=other)
    kms.call("DeleteAlias", AliasName="alias/gone")
    kms.call(
        "PutKeyPolicy",
        KeyId=other,
        Policy=kms.call("GetKeyPolicy", KeyId=other)["Policy"].replace("Enable", "Allow"),
    )
    made["ciphertexts"].append(
        (kms.call("Encrypt", KeyId=sym_id, Plaintext=b"v1")["CiphertextBlob"], b"v1")
    )
    kms.call("EnableKeyRotation", KeyId=sym_id, RotationPeriodInDays=90)
    kms.call("RotateKeyOnDemand", KeyId=sym_id)
    made["ciphertexts"].append(
        (kms.call("Encrypt", KeyId=sym_id, Plaintext=b"v2")["CiphertextBlob"], b"v2")
    )
    kms.call("EnableKeyRotation", KeyId=other)
    kms.call("DisableKeyRotation", KeyId=other)
    kms.call("DisableKey", KeyId=other)
    kms.call("EnableKey", KeyId=other)
    doomed = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    kms.call("ScheduleKeyDeletion", KeyId=doomed, PendingWindowInDays=7)
    kms.call("ScheduleKeyDeletion", KeyId=other, PendingWindowInDays=30)
    kms.call("CancelKeyDeletion", KeyId=other)
    kms.call("EnableKey", KeyId=other)
    grant = kms.call(
        "CreateGrant",
        KeyId=sym_id,
        GranteePrincipal=ROLE,
        Operations=["Decrypt"],
        RetiringPrincipal=ROLE,
    )
    kept = kms.call(
        "CreateGrant", KeyId=sym_id, GranteePrincipal=ROLE, Operations=["Encrypt"], Name="kept"
    )
    revoked = kms.call(
        "CreateGrant", KeyId=sym_id, GranteePrincipal=ROLE, Operations=["DescribeKey"]
    )
    kms.call("RetireGrant", GrantToken=grant["GrantToken"])
    kms.call("RevokeGrant", KeyId=sym_id, GrantId=revoked["GrantId"])
    external = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_material(kms, external, KNOWN_MATERIAL, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    made["ciphertexts"].append(
        (kms.call("Encrypt", KeyId=external, Plaintext=b"imported")["CiphertextBlob"], b"imported")
    )
    dropped = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_material(kms, dropped, os.urandom(32), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.call("DeleteImportedKeyMaterial", KeyId=dropped)
    kms.call(
        "GetParametersForImport",
        KeyId=dropped,
        WrappingKeySpec="RSA_3072",
        WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
    )  # an open import token, kept
    # The clock: 100 days rotate `sym` automatically and delete `doomed`.
    # Multi-Region keys: a primary with two replicas, whose primary then moves to eu-west-1.
    mrk = kms.call("CreateKey", MultiRegion=True, Description="mrk")["KeyMetadata"]["KeyId"]
    kms.call("ReplicateKey", KeyId=mrk, ReplicaRegion="eu-west-1")
    kms.call("ReplicateKey", KeyId=mrk, ReplicaRegion="us-west-2")
    kms.call("EnableKeyRotation", KeyId=mrk, RotationPeriodInDays=90)
    made["ciphertexts"].append(
        (kms.call("Encrypt", KeyId=mrk, Plaintext=b"mrk")["CiphertextBlob"], b"mrk")
    )
    kms.call("UpdatePrimaryRegion", KeyId=mrk, PrimaryRegion="eu-west-1")
    # An AWS managed key, made on first use (its key policy lets only the service encrypt
    # with it, and no request comes through a service locally, so a read makes it here).
    kms.call("DescribeKey", KeyId="alias/aws/s3")
    kms.clock.advance(days=100)
    kms.call("ListKeys")
    made.update(
        mrk=mrk, ids=ids, other=other, doomed=doomed, external=external, dropped=dropped, kept=kept
    )
    return made


#: The operations every_change calls that change state.
OPERATIONS_MADE = frozenset(
    {
        "CreateKey",
        "UpdateKeyDescription",
        "TagResource",
        "UntagResource",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "PutKeyPolicy",
        "EnableKeyRotation",
        "RotateKeyOnDemand",
        "DisableKeyRotation",
        "DisableKey",
        "EnableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "CreateGrant",
        "RetireGrant",
        "RevokeGrant",
        "GetParametersForImport",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
        "ReplicateKey",
        "UpdatePrimaryRegion",
    }
)


def keystore_changes(kms: LocalKMS, proxy: XksProxy) -> dict[str, Any]:
    """Make every custom key store operation that changes state happen, and change a
    CloudHSM cluster outside any call; returns the ids and ciphertexts to check.

    Leaves a CONNECTED CloudHSM key store (``hsm``) and a CONNECTED external key store
    (``xks``), each with one key, and deletes a third store (``gone``).
    """
    cluster = kms.cloudhsm.create(hsms=2, kmsuser_password=KMSUSER_PASSWORD)
    hsm = kms.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName="hsm",
        CloudHsmClusterId=cluster.id,
        TrustAnchorCertificate=cluster.trust_anchor,
        KeyStorePassword="not-the-password",
    )["CustomKeyStoreId"]
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=hsm)  # FAILED: INVALID_CREDENTIALS
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=hsm)
    kms.call(
        "UpdateCustomKeyStore",
        CustomKeyStoreId=hsm,
        NewCustomKeyStoreName="hsm-store",
        KeyStorePassword=KMSUSER_PASSWORD,
    )
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=hsm)
    hsm_key = kms.call("CreateKey", CustomKeyStoreId=hsm, Origin="AWS_CLOUDHSM")["KeyMetadata"]
    cluster.add_hsm()  # CloudHSM's tools, not a KMS call: saved with the next call
    kms.xks_routes[XKS_ENDPOINT] = proxy.url
    xks = kms.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName="xks",
        CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=XKS_ENDPOINT,
        XksProxyUriPath=proxy.uri_path,
        XksProxyAuthenticationCredential=proxy.authentication_credential,
        XksProxyConnectivity="PUBLIC_ENDPOINT",
    )["CustomKeyStoreId"]
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=xks)
    xks_key = kms.call(
        "CreateKey", CustomKeyStoreId=xks, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1"
    )["KeyMetadata"]
    other = kms.cloudhsm.create(hsms=2, kmsuser_password=KMSUSER_PASSWORD)
    gone = kms.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName="gone",
        CloudHsmClusterId=other.id,
        TrustAnchorCertificate=other.trust_anchor,
        KeyStorePassword=KMSUSER_PASSWORD,
    )["CustomKeyStoreId"]
    kms.call("DeleteCustomKeyStore", CustomKeyStoreId=gone)
    ciphertexts = [
        (kms.call("Encrypt", KeyId=k["KeyId"], Plaintext=p)["CiphertextBlob"], p)
        for k, p in ((hsm_key, b"in the cluster"), (xks_key, b"behind the proxy"))
    ]
    return {
        "hsm": hsm,
        "xks": xks,
        "gone": gone,
        "cluster": cluster.id,
        "hsm_key": hsm_key["KeyId"],
        "xks_key": xks_key["KeyId"],
        "ciphertexts": ciphertexts,
    }


#: The operations keystore_changes calls that change state (beside those of every_change).
KEYSTORE_OPERATIONS_MADE = frozenset(
    {
        "CreateCustomKeyStore",
        "ConnectCustomKeyStore",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
        "DeleteCustomKeyStore",
    }
)


def keystore_snapshot(kms: LocalKMS) -> dict[str, Any]:
    """What the read operations say about the custom key stores and the keys in them."""
    stores = kms.call("DescribeCustomKeyStores")["CustomKeyStores"]
    keys = {
        k["KeyId"]: kms.call("DescribeKey", KeyId=k["KeyId"])["KeyMetadata"]
        for k in kms.call("ListKeys")["Keys"]
    }
    return {"stores": stores, "keys": keys}


def snapshot(kms: LocalKMS) -> dict[str, Any]:
    """Everything the read operations say about every key, alias and grant, in every
    Region of the account (the clock's time under "now")."""
    out: dict[str, Any] = {"now": kms.clock.now()}
    for name, region in sorted(kms.aws_account.regions.items()):
        out[name] = _region_snapshot(region)
    return out


def _region_snapshot(kms: LocalKMS) -> dict[str, Any]:
    out: dict[str, Any] = {
        "keys": kms.call("ListKeys")["Keys"],
        "aliases": kms.call("ListAliases")["Aliases"],
    }
    for entry in out["keys"]:
        key_id = entry["KeyId"]
        meta = kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]
        per: dict[str, Any] = {
            "meta": meta,
            "tags": kms.call("ListResourceTags", KeyId=key_id),
            "policy": kms.call("GetKeyPolicy", KeyId=key_id),
            "grants": kms.call("ListGrants", KeyId=key_id),
        }
        if meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyState"] != "PendingImport":
            per["rotations"] = kms.call(
                "ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL"
            )
            if meta["Origin"] == "AWS_KMS":
                per["rotation"] = kms.call("GetKeyRotationStatus", KeyId=key_id)
        elif (
            meta["KeySpec"] != "SYMMETRIC_DEFAULT"
            and meta["KeyState"] == "Enabled"
            and meta["KeyUsage"] != "GENERATE_VERIFY_MAC"
            and meta["KeySpec"] != "SM2"
        ):
            per["public"] = kms.call("GetPublicKey", KeyId=key_id)
        out[key_id] = per
    return out


@pytest.fixture
def scenario() -> Callable[[LocalKMS], dict[str, Any]]:
    return every_change


@pytest.fixture
def take_snapshot() -> Callable[[LocalKMS], dict[str, Any]]:
    return snapshot


@pytest.fixture
def known_material() -> bytes:
    return KNOWN_MATERIAL


@pytest.fixture
def operations_made() -> frozenset[str]:
    return OPERATIONS_MADE


@pytest.fixture
def importer() -> Callable[..., Any]:
    return import_material


@pytest.fixture
def xks_proxy() -> Iterator[XksProxy]:
    """An external key store proxy on 127.0.0.1 holding the external key ``ext-1``."""
    proxy = XksProxy()
    proxy.keys.create("ext-1")
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def keystore_scenario() -> Callable[[LocalKMS, XksProxy], dict[str, Any]]:
    return keystore_changes


@pytest.fixture
def keystore_snap() -> Callable[[LocalKMS], dict[str, Any]]:
    return keystore_snapshot


@pytest.fixture
def keystore_operations_made() -> frozenset[str]:
    return KEYSTORE_OPERATIONS_MADE


@pytest.fixture
def kmsuser_password() -> str:
    return KMSUSER_PASSWORD
