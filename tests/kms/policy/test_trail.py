"""The record of calls: CloudTrail's fields, filters, request ids, GetKeyLastUsage, and no
secret anywhere in it."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kmslab.exceptions import KMSError
from kmslab.kms.byok import wrap_key_material
from kmslab.kms.service import LocalKMS
from tests.kms.policy.helpers import role_arn, session_arn
from tests.kms.policy.test_operations import REQUESTS

FIELDS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "managementEvent",
    "eventCategory",
    "recipientAccountId",
}


def test_event_fields_and_filters(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    reader = kms.iam.create_role("Reader")
    kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"dept": "it"})
    with kms.acting_as(reader), pytest.raises(KMSError):
        kms.call("DescribeKey", KeyId=key["KeyId"])
    with pytest.raises(KMSError):
        kms.call("DescribeKey", KeyId="alias/missing")
    events = kms.events()
    assert [e["eventName"] for e in events] == [
        "CreateKey",
        "Encrypt",
        "DescribeKey",
        "DescribeKey",
    ]
    assert all(set(e) >= FIELDS for e in events)
    encrypt = events[1]
    assert encrypt["requestParameters"] == {
        "keyId": key["KeyId"],
        "encryptionContext": {"dept": "it"},
    }
    assert encrypt["resources"] == [
        {"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": key["Arn"]}
    ]
    assert encrypt["readOnly"] is True and events[0]["readOnly"] is False
    assert [e["eventName"] for e in kms.events(key=key["KeyId"])] == [
        "CreateKey",
        "Encrypt",
        "DescribeKey",
    ]
    assert [e["eventName"] for e in kms.events(key=key["Arn"], outcome="success")] == [
        "CreateKey",
        "Encrypt",
    ]
    (refusal,) = kms.events(principal=reader.arn)
    assert kms.events(principal=session_arn("Reader")) == [refusal]
    assert refusal["errorCode"] == "AccessDeniedException" and refusal["errorMessage"].startswith(
        "User: "
    )
    (missing,) = kms.events(outcome="error")
    assert missing["errorCode"] == "NotFoundException"
    assert len(kms.events(principal=role_arn("Admin"))) == 3
    with pytest.raises(ValueError):
        kms.events(outcome="maybe")


def test_request_ids_match_the_responses(kms):
    client = kms.client()
    key = client.create_key()["KeyMetadata"]
    out = client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert kms.events(event_name="Encrypt")[0]["requestID"] == out["ResponseMetadata"]["RequestId"]
    ids = {e["requestID"] for e in kms.events()} | {e["eventID"] for e in kms.events()}
    assert len(ids) == 4


def test_dry_run_is_recorded_as_such(kms):
    key = kms.call("CreateKey")["KeyMetadata"]
    with pytest.raises(KMSError):
        kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x", DryRun=True)
    assert kms.events(event_name="Encrypt")[0]["errorCode"] == "DryRunOperationException"
    assert kms.call("GetKeyLastUsage", KeyId=key["KeyId"])["KeyLastUsage"] == {}


def test_record_is_bounded(kms):
    kms.access.trail._events = type(kms.access.trail._events)(maxlen=3)
    for _ in range(5):
        kms.call("ListKeys")
    assert len(kms.events()) == 3


def test_get_key_last_usage(kms):
    client = kms.client()
    a = client.create_key()["KeyMetadata"]
    b = client.create_key()["KeyMetadata"]
    usage = client.get_key_last_usage(KeyId=a["KeyId"])
    assert usage["KeyLastUsage"] == {} and usage["KeyCreationDate"] == a["CreationDate"]
    blob = client.encrypt(KeyId=a["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    client.describe_key(KeyId=a["KeyId"])  # not cryptographic: not tracked
    with pytest.raises(client.exceptions.InvalidCiphertextException):
        client.decrypt(CiphertextBlob=blob[:-1] + bytes([blob[-1] ^ 1]))  # failures: not tracked
    out = client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=b["KeyId"])
    for key in (a, b):
        last = client.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]
        assert last["Operation"] == "ReEncrypt"
        assert last["KmsRequestId"] == out["ResponseMetadata"]["RequestId"]
        event = kms.events(event_name="ReEncrypt")[0]
        assert last["CloudTrailEventId"] == event["eventID"]


# -- nothing secret in the record ------------------------------------------------------


def _private_der(secret: Any) -> bytes:
    if isinstance(secret, bytes):
        return secret
    try:
        return secret.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    except Exception:  # a key family with its own object (ML-KEM-512): use its repr bytes
        return b""


def _every_operation(kms: LocalKMS) -> list[bytes]:
    """Run every operation (successfully where it can) and return every secret involved."""
    secrets: list[bytes] = []

    def call(op: str, **params: Any) -> dict[str, Any]:
        secrets.extend(v for v in params.values() if isinstance(v, bytes))
        try:
            out = kms.call(op, **params)
        except KMSError:
            return {}
        secrets.extend(v for k, v in out.items() if isinstance(v, bytes) and k != "PublicKey")
        return out

    sym = call("CreateKey")["KeyMetadata"]["KeyId"]
    sym2 = call("CreateKey")["KeyMetadata"]["KeyId"]
    hmac = call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"][
        "KeyId"
    ]
    sign = call("CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "KeyId"
    ]
    agree = call("CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"][
        "KeyId"
    ]
    kem = call("CreateKey", KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE")[
        "KeyMetadata"
    ]["KeyId"]
    rsa = call("CreateKey", KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    ext = call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    mrk = call("CreateKey", MultiRegion=True)["KeyMetadata"]["KeyId"]
    plaintext = os.urandom(32)
    blob = call("Encrypt", KeyId=sym, Plaintext=plaintext, EncryptionContext={"c": "1"})[
        "CiphertextBlob"
    ]
    call("Decrypt", CiphertextBlob=blob, EncryptionContext={"c": "1"})
    call(
        "ReEncrypt", CiphertextBlob=blob, SourceEncryptionContext={"c": "1"}, DestinationKeyId=sym2
    )
    call("GenerateDataKey", KeyId=sym, KeySpec="AES_256")
    call("GenerateDataKeyWithoutPlaintext", KeyId=sym, NumberOfBytes=48)
    call("GenerateDataKeyPair", KeyId=sym, KeyPairSpec="ECC_NIST_P256")
    call("GenerateDataKeyPairWithoutPlaintext", KeyId=sym, KeyPairSpec="RSA_2048")
    call("GenerateRandom", NumberOfBytes=32)
    rsa_blob = call(
        "Encrypt", KeyId=rsa, Plaintext=os.urandom(24), EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )["CiphertextBlob"]
    call("Decrypt", KeyId=rsa, CiphertextBlob=rsa_blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    message = os.urandom(40)
    mac = call("GenerateMac", KeyId=hmac, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]
    call("VerifyMac", KeyId=hmac, Message=message, MacAlgorithm="HMAC_SHA_256", Mac=mac)
    sig = call("Sign", KeyId=sign, Message=message, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    call("Verify", KeyId=sign, Message=message, SigningAlgorithm="ECDSA_SHA_256", Signature=sig)
    peer = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    call("DeriveSharedSecret", KeyId=agree, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    enc = call("Encapsulate", KeyId=kem, EncapsulationAlgorithm="ML_KEM")
    call(
        "Decapsulate",
        KeyId=kem,
        EncapsulationAlgorithm="ML_KEM",
        SharedSecretCiphertextBlob=enc["SharedSecretCiphertextBlob"],
    )
    params = call(
        "GetParametersForImport",
        KeyId=ext,
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
        WrappingKeySpec="RSA_2048",
    )
    material = os.urandom(32)
    secrets.append(material)
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material)
    call(
        "ImportKeyMaterial",
        KeyId=ext,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    grant = call(
        "CreateGrant", KeyId=sym, GranteePrincipal=role_arn("Admin"), Operations=["Encrypt"]
    )
    secrets.append(grant["GrantToken"].encode())
    call("Encrypt", KeyId=sym, Plaintext=plaintext, GrantTokens=[grant["GrantToken"]])
    call("RetireGrant", GrantToken=grant["GrantToken"])
    # And every other operation, through the requests of the per-operation tests.
    keys = {
        name: {"KeyId": k, "Arn": kms.key_arn(k), "policy": kms.keys[k].policy}
        for name, k in (
            ("sym", sym),
            ("sym2", sym2),
            ("hmac", hmac),
            ("sign", sign),
            ("agree", agree),
            ("kem", kem),
            ("ext", ext),
            ("mrk", mrk),
        )
    }
    call("CreateAlias", AliasName="alias/sym", TargetKeyId=sym)
    for operation, (build, _, _) in sorted(REQUESTS.items()):
        call(operation, **build(kms, keys))
    for key in kms.keys.values():
        secrets.extend(_private_der(m.secret) for m in key.materials)
    return [s for s in secrets if len(s) >= 8]


def test_no_secret_in_any_event():
    kms = LocalKMS()
    secrets = _every_operation(kms)
    events = kms.events()
    assert {e["eventName"] for e in events} >= set(REQUESTS)
    text = json.dumps(events, default=str)
    for secret in secrets:
        for form in (base64.b64encode(secret).decode(), secret.hex(), secret.decode("latin-1")):
            assert form not in text


def test_request_ids_over_http():
    import boto3
    from botocore.config import Config

    from kmslab.server import serve

    kms = LocalKMS()
    server = serve(kms)
    try:
        client = boto3.client(
            "kms",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": 1}),
        )
        out = client.list_keys()
        assert kms.events()[-1]["requestID"] == out["ResponseMetadata"]["RequestId"]
    finally:
        server.stop()


def test_user_identity_names_the_principal_and_its_access_key() -> None:
    """CloudTrail User Guide, "CloudTrail userIdentity element": principalId, accessKeyId."""
    kms = LocalKMS()
    user = kms.iam.create_user("alice")
    kms.call("CreateKey")
    with kms.acting_as(user), pytest.raises(KMSError):  # refused calls are recorded too
        kms.call("ListKeys")
    admin, alice = (e["userIdentity"] for e in kms.events()[-2:])
    role_id = admin["sessionContext"]["sessionIssuer"]["principalId"]
    assert role_id.startswith("AROA") and len(role_id) == 21
    assert admin["principalId"] == f"{role_id}:kmslab"
    assert admin["accessKeyId"] == kms.iam.default.access_key_id
    assert admin["accessKeyId"].startswith("ASIA") and len(admin["accessKeyId"]) == 20
    assert alice["type"] == "IAMUser" and alice["userName"] == "alice"
    assert alice["principalId"].startswith("AIDA") and len(alice["principalId"]) == 21
    assert alice["accessKeyId"] == user.access_key_id and user.access_key_id.startswith("AKIA")
    assert kms.iam.root.identity()["principalId"] == kms.account
