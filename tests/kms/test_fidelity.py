"""AWS's exact answers for the cases issue 13 lists: code, message and members.

Each case goes through a real boto3 client (in-process) and checks what botocore parsed:
``Error.Code``, ``Error.Message`` and, for the errors in KMS's model, the top-level
``message`` member that botocore copies from the body (absent when AWS sends none). Sources
are in the ledger (src/kmslab/kms/ledger.py) and at each raise site.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kmslab import LocalKMS
from kmslab.exceptions import KMSError
from kmslab.kms.failures import MAX_FAILURES


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS()


@pytest.fixture
def client(kms: LocalKMS) -> Any:
    return kms.client()


def _fails(call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value


def _assert_error(err: ClientError, code: str, message: str | None) -> None:
    """Exactly this code and message; ``message=None``: AWS sends no message member."""
    assert err.response["Error"]["Code"] == code
    if message is None:
        assert err.response["Error"]["Message"] == ""
        assert "message" not in err.response and "Message" not in err.response
    else:
        assert err.response["Error"]["Message"] == message
    # The text a learner sees ends with AWS's message: no retry note, nothing appended.
    assert "reached max retries" not in str(err)
    assert str(err).endswith(f"operation: {message or ''}")


def test_invalid_key_id_is_quoted(client: Any) -> None:
    err = _fails(client.describe_key, KeyId="fake-key-id")
    _assert_error(err, "NotFoundException", "Invalid keyId 'fake-key-id'")
    assert err.response["message"] == "Invalid keyId 'fake-key-id'"


def test_sign_digest_of_the_wrong_length(client: Any) -> None:
    key = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    err = _fails(
        client.sign,
        KeyId=key["KeyId"],
        Message=b"x" * 28,
        MessageType="DIGEST",
        SigningAlgorithm="ECDSA_SHA_256",
    )
    _assert_error(
        err, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256."
    )


INCORRECT = "The key ID in the request does not identify a CMK that can perform this operation."


@pytest.mark.parametrize(
    ("spec", "usage"),
    [("HMAC_256", "GENERATE_VERIFY_MAC"), ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")],
)
def test_decrypt_with_a_key_that_did_not_encrypt(client: Any, spec: str, usage: str) -> None:
    made = client.create_key()["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=made, Plaintext=b"secret")["CiphertextBlob"]
    other = client.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    err = _fails(client.decrypt, KeyId=other, CiphertextBlob=blob)
    _assert_error(err, "IncorrectKeyException", INCORRECT)
    assert err.response["message"] == INCORRECT
    # ReEncrypt's source key, the same.
    err = _fails(client.re_encrypt, CiphertextBlob=blob, SourceKeyId=other, DestinationKeyId=made)
    _assert_error(err, "IncorrectKeyException", INCORRECT)


def test_reencrypt_destination_key_is_refused_as_reencrypt_to(client: Any) -> None:
    made = client.create_key()["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=made, Plaintext=b"secret")["CiphertextBlob"]
    mac = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    err = _fails(client.re_encrypt, CiphertextBlob=blob, DestinationKeyId=mac["KeyId"])
    _assert_error(
        err,
        "InvalidKeyUsageException",
        f"{mac['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for ReEncryptTo.",
    )


@pytest.mark.parametrize("tag_key", ["aws:x", "AWS:x", "Aws:x"])
def test_reserved_tag_prefix_in_any_case(client: Any, tag_key: str) -> None:
    tags = [{"TagKey": tag_key, "TagValue": "v"}]
    err = _fails(client.create_key, Tags=tags)
    _assert_error(err, "TagException", "Tags beginning with aws: are reserved")
    key = client.create_key()["KeyMetadata"]["KeyId"]
    _assert_error(
        _fails(client.tag_resource, KeyId=key, Tags=tags),
        "TagException",
        "Tags beginning with aws: are reserved",
    )


def test_duplicate_tag_keys(client: Any, kms: LocalKMS) -> None:
    tags = [{"TagKey": "team", "TagValue": "a"}, {"TagKey": "team", "TagValue": "b"}]
    before = len(kms.keys)
    _assert_error(_fails(client.create_key, Tags=tags), "TagException", "Duplicate tag keys")
    assert len(kms.keys) == before  # a failed call changes nothing
    key = client.create_key()["KeyMetadata"]["KeyId"]
    _assert_error(
        _fails(client.tag_resource, KeyId=key, Tags=tags), "TagException", "Duplicate tag keys"
    )
    assert client.list_resource_tags(KeyId=key)["Tags"] == []


def test_too_many_tags(client: Any) -> None:
    tags = [{"TagKey": f"t{i}", "TagValue": "v"} for i in range(51)]
    _assert_error(_fails(client.create_key, Tags=tags), "TagException", "Too many tags")
    assert client.create_key(Tags=tags[:50])["KeyMetadata"]["KeyId"]


@pytest.mark.parametrize("spec", ["HMAC_256", "RSA_2048", "ECC_NIST_P256", "ML_DSA_44", "SM2"])
def test_key_usage_is_required_except_for_symmetric_encryption_keys(
    client: Any, kms: LocalKMS, spec: str
) -> None:
    if spec == "SM2":  # SM2 exists only in the China Regions
        kms = LocalKMS(region="cn-north-1")
        client = kms.client()
    err = _fails(client.create_key, KeySpec=spec)
    _assert_error(
        err,
        "ValidationException",
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
    )
    assert "message" not in err.response  # ValidationException is not in KMS's model
    assert kms.keys == {}
    assert client.create_key()["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"


def test_key_usage_incompatible_with_spec(client: Any) -> None:
    err = _fails(client.create_key, KeySpec="RSA_2048", KeyUsage="KEY_AGREEMENT")
    _assert_error(
        err, "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
    )


def test_rotate_key_on_demand_returns_the_key_arn(client: Any) -> None:
    key = client.create_key()["KeyMetadata"]
    assert client.rotate_key_on_demand(KeyId=key["KeyId"])["KeyId"] == key["Arn"]


def test_on_demand_rotation_start_date_only_while_in_progress(client: Any) -> None:
    key = client.create_key()["KeyMetadata"]["KeyId"]
    client.rotate_key_on_demand(KeyId=key)
    # kmslab's rotation has finished when RotateKeyOnDemand returns.
    assert "OnDemandRotationStartDate" not in client.get_key_rotation_status(KeyId=key)


@pytest.mark.parametrize(
    ("spec", "usage"), [("RSA_2048", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC")]
)
def test_rotation_of_a_key_that_cannot_rotate_has_no_message(
    client: Any, spec: str, usage: str
) -> None:
    key = client.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    for call in (client.rotate_key_on_demand, client.enable_key_rotation):
        _assert_error(_fails(call, KeyId=key), "UnsupportedOperationException", None)


def test_errors_without_a_message_member(client: Any) -> None:
    key = client.create_key()["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"a": "b"})["CiphertextBlob"]
    _assert_error(_fails(client.decrypt, CiphertextBlob=blob), "InvalidCiphertextException", None)
    _assert_error(
        _fails(client.decrypt, CiphertextBlob=blob[:-1]), "InvalidCiphertextException", None
    )
    sign = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    _assert_error(
        _fails(
            client.verify,
            KeyId=sign["KeyId"],
            Message=b"m",
            Signature=b"\x30\x06\x02\x01\x01\x02\x01\x01",
            SigningAlgorithm="ECDSA_SHA_256",
        ),
        "KMSInvalidSignatureException",
        None,
    )
    mac = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    _assert_error(
        _fails(
            client.verify_mac,
            KeyId=mac["KeyId"],
            Message=b"m",
            Mac=bytes(32),
            MacAlgorithm="HMAC_SHA_256",
        ),
        "KMSInvalidMacException",
        None,
    )


def test_generate_random_without_a_size(kms: LocalKMS) -> None:
    with pytest.raises(KMSError) as info:
        kms.call("GenerateRandom")
    assert (info.value.code, info.value.message) == (
        "ValidationException",
        "NumberOfBytes is required.",
    )


def test_invalid_arn_names_the_region(client: Any) -> None:
    arn = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _assert_error(
        _fails(client.describe_key, KeyId=arn), "NotFoundException", "Invalid arn us-west-2"
    )


@pytest.mark.parametrize("days", [6, 31])
def test_pending_window_out_of_range(client: Any, days: int) -> None:
    key = client.create_key()["KeyMetadata"]["KeyId"]
    err = _fails(client.schedule_key_deletion, KeyId=key, PendingWindowInDays=days)
    _assert_error(err, "ValidationException", "PendingWindowInDays must be between 7 and 30")
    assert client.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_rsa_plaintext_too_large(client: Any) -> None:
    key = client.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    err = _fails(
        client.encrypt, KeyId=key, Plaintext=bytes(191), EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    _assert_error(
        err,
        "ValidationException",
        "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 "
        "bytes.",
    )


# -- the wire: no message member, request ids -------------------------------------------------


def test_wire_body_has_no_message_member_where_aws_sends_none(kms: LocalKMS) -> None:
    status, body = kms.handle("Decrypt", json.dumps({"CiphertextBlob": "AAAA"}).encode())
    assert status == 400
    assert json.loads(body) == {"__type": "InvalidCiphertextException"}
    status, body = kms.handle("Frobnicate", b"{}")
    assert json.loads(body) == {"__type": "UnknownOperationException"}


def test_access_denied_uses_capital_message() -> None:
    from kmslab.exceptions import AccessDeniedException
    from kmslab.kms.wire import error_body

    _, body = error_body(AccessDeniedException("User: x is not authorized"))
    assert json.loads(body) == {
        "__type": "AccessDeniedException",
        "Message": "User: x is not authorized",
    }


def test_every_response_has_its_own_uuid4_request_id(client: Any) -> None:
    ids = [client.list_keys()["ResponseMetadata"]["RequestId"] for _ in range(3)]
    err = _fails(client.describe_key, KeyId="alias/none")
    ids.append(err.response["ResponseMetadata"]["RequestId"])
    assert len(set(ids)) == 4
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_failures_are_kept_by_request_id_and_bounded(kms: LocalKMS, client: Any) -> None:
    err = _fails(client.describe_key, KeyId="fake-key-id")
    rid = err.response["ResponseMetadata"]["RequestId"]
    failure = kms.failures[rid]
    assert (failure.operation, failure.code, failure.message) == (
        "DescribeKey",
        "NotFoundException",
        "Invalid keyId 'fake-key-id'",
    )
    assert failure.params == {"KeyId": "fake-key-id"}
    for _ in range(MAX_FAILURES + 5):
        with pytest.raises(KMSError):
            kms.call("DescribeKey", KeyId="alias/none")
    assert len(kms.failures) == MAX_FAILURES
    assert rid not in kms.failures


def test_failures_keep_no_secrets(kms: LocalKMS) -> None:
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    secret = b"correct horse battery staple"
    with pytest.raises(KMSError) as info:
        kms.call("Encrypt", KeyId=key, Plaintext=secret, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    failure = kms.failures[info.value.request_id or ""]
    assert "Plaintext" not in failure.params
    assert secret.decode() not in repr(failure)


def test_request_ids_over_http() -> None:
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    from kmslab.server import serve

    server = serve(LocalKMS())
    try:
        seen = []
        for _ in range(2):
            req = Request(
                server.url,
                data=b'{"KeyId": "fake-key-id"}',
                headers={"X-Amz-Target": "TrentService.DescribeKey"},
                method="POST",
            )
            with pytest.raises(HTTPError) as info:
                urlopen(req, timeout=10)
            seen.append(info.value.headers["x-amzn-RequestId"])
            assert json.loads(info.value.read()) == {
                "__type": "NotFoundException",
                "message": "Invalid keyId 'fake-key-id'",
            }
        assert len(set(seen)) == 2 and all(uuid.UUID(s).version == 4 for s in seen)
        # The failure is kept under the request id the server sent.
        assert server.kms.failures[seen[0]].code == "NotFoundException"
    finally:
        server.stop()
