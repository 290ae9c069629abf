"""The request layer: AWS JSON 1.1 bodies in and out of LocalKMS.handle, validation errors
as AWS reports them, ARNs in responses, and where kmslab.client() sends its requests."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

import kmslab
from kmslab import target
from kmslab.exceptions import TargetError
from kmslab.kms.service import LocalKMS


def _handle(kms: LocalKMS, operation: str, body: object) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, payload = kms.handle(operation, raw)
    return status, json.loads(payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"KeyId": ',
        b"\xff\xfe\x00",
        b"[" * 100_000,  # deeper than Python's parser goes
        b'{"KeyId": "x"} trailing',
    ],
    ids=["broken", "truncated", "not-utf8", "too-deep", "trailing"],
)
def test_malformed_json(kms, body):
    status, error = _handle(kms, "DescribeKey", body)
    assert status == 400
    assert error["__type"] == "SerializationException" and error["message"]


@pytest.mark.parametrize("body", [[], [1, 2], "text", 42, None, True])
def test_json_that_is_not_an_object(kms, body):
    status, error = _handle(kms, "DescribeKey", body)
    assert (status, error["__type"]) == (400, "SerializationException")


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("DescribeKey", {"KeyId": 5}),
        ("DescribeKey", {"KeyId": ["a"]}),
        ("Encrypt", {"KeyId": "k", "Plaintext": 5}),
        ("Encrypt", {"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": "x"}),
        ("Encrypt", {"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"a": 1}}),
        ("GenerateRandom", {"NumberOfBytes": "32"}),
        ("GenerateRandom", {"NumberOfBytes": 3.5}),
        ("GenerateRandom", {"NumberOfBytes": True}),
        ("Encrypt", {"KeyId": "k", "Plaintext": "eA==", "DryRun": "yes"}),
        ("CreateKey", {"Tags": {"TagKey": "a"}}),
        ("CreateKey", {"Tags": ["a"]}),
        ("UntagResource", {"KeyId": "k", "TagKeys": "a"}),
    ],
)
def test_wrong_member_types(kms, operation, body):
    status, error = _handle(kms, operation, body)
    assert (status, error["__type"]) == (400, "SerializationException"), error


@pytest.mark.parametrize("blob", ["not base64!", "eA=", "eA==\n", "é"])
def test_bad_base64(kms, keys, blob):
    status, error = _handle(
        kms, "Encrypt", {"KeyId": keys.id("SYMMETRIC_DEFAULT"), "Plaintext": blob}
    )
    assert (status, error["__type"]) == (400, "SerializationException")
    assert blob not in error["message"]


def test_unknown_and_unserved_operations(kms):
    status, error = _handle(kms, "MakeCoffee", {})
    assert error == {"__type": "UnknownOperationException"}  # AWS sends no message member
    assert status == 400
    import botocore.session

    from kmslab.kms.registry import HANDLERS

    model = botocore.session.get_session().get_service_model("kms")
    unserved = sorted(
        op
        for op in set(model.operation_names) - set(HANDLERS)
        if not model.operation_model(op).input_shape.required_members
    )
    if unserved:  # every operation may be served one day
        status, error = _handle(kms, unserved[0], {})
        assert (status, error["__type"]) == (400, "UnsupportedOperationException")
        assert unserved[0] in error["message"]


def test_empty_body_is_an_empty_request(kms):
    status, out = _handle(kms, "ListKeys", b"")
    assert status == 200 and "Keys" in out


def test_validation_errors_are_reported_together(kms):
    status, error = _handle(kms, "CreateKey", {"KeySpec": "RSA_1024", "KeyUsage": "SIGN"})
    assert (status, error["__type"]) == (400, "ValidationException")
    message = error["message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'RSA_1024' at 'keySpec' failed to satisfy constraint" in message
    assert "Value 'SIGN' at 'keyUsage' failed to satisfy constraint" in message
    assert message.count("; ") == 1


def test_three_validation_errors_including_missing_members(kms):
    _, error = _handle(kms, "Sign", {"Message": "", "SigningAlgorithm": "MD5"})
    assert error["__type"] == "ValidationException"
    assert error["message"].startswith("3 validation errors detected: ")
    assert (
        "Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        in (error["message"])
    )


def test_one_validation_error_wording(kms):
    _, error = _handle(kms, "GenerateRandom", {"NumberOfBytes": 1025})
    assert error["message"] == (
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
        "constraint: Member must have value less than or equal to 1024"
    )


def test_blob_lengths_are_not_echoed(kms, keys):
    _, error = _handle(
        kms, "Encrypt", {"KeyId": keys.id("SYMMETRIC_DEFAULT"), "Plaintext": _b64(b"s" * 4097)}
    )
    assert error["__type"] == "ValidationException"
    assert "Value at 'plaintext'" in error["message"] and "sss" not in error["message"]


def test_decrypt_needs_a_ciphertext(client, aws_error):
    with aws_error("ValidationException"):
        client.decrypt()


def test_responses_carry_the_key_arn(kms, keys):
    sym = keys.meta("SYMMETRIC_DEFAULT")
    sign = keys.meta("ECC_NIST_P256", "SIGN_VERIFY")
    mac = keys.meta("HMAC_256", "GENERATE_VERIFY_MAC")
    kem = keys.meta("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")

    def ok(operation: str, body: dict) -> dict:
        status, out = _handle(kms, operation, body)
        assert status == 200, out
        return out

    blob = ok("Encrypt", {"KeyId": sym["KeyId"], "Plaintext": _b64(b"x")})
    assert blob["KeyId"] == sym["Arn"]
    assert ok("Decrypt", {"CiphertextBlob": blob["CiphertextBlob"]})["KeyId"] == sym["Arn"]
    re = ok(
        "ReEncrypt", {"CiphertextBlob": blob["CiphertextBlob"], "DestinationKeyId": sym["KeyId"]}
    )
    assert re["KeyId"] == re["SourceKeyId"] == sym["Arn"]
    for op in ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext"):
        assert ok(op, {"KeyId": sym["KeyId"], "KeySpec": "AES_256"})["KeyId"] == sym["Arn"]
    signed = ok(
        "Sign", {"KeyId": sign["KeyId"], "Message": _b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}
    )
    assert signed["KeyId"] == sign["Arn"]
    verified = ok(
        "Verify",
        {
            "KeyId": sign["KeyId"],
            "Message": _b64(b"m"),
            "Signature": signed["Signature"],
            "SigningAlgorithm": "ECDSA_SHA_256",
        },
    )
    assert verified["KeyId"] == sign["Arn"] and verified["SignatureValid"] is True
    assert ok("GetPublicKey", {"KeyId": sign["KeyId"]})["KeyId"] == sign["Arn"]
    tag = ok(
        "GenerateMac",
        {"KeyId": mac["KeyId"], "Message": _b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"},
    )
    assert tag["KeyId"] == mac["Arn"]
    assert (
        ok("Encapsulate", {"KeyId": kem["KeyId"], "EncapsulationAlgorithm": "ML_KEM"})["KeyId"]
        == (kem["Arn"])
    )
    described = ok("DescribeKey", {"KeyId": sym["KeyId"]})["KeyMetadata"]
    assert described["Arn"] == sym["Arn"] and isinstance(described["CreationDate"], float)


def test_validation_exception_in_boto3_is_a_client_error(raw_client):
    with pytest.raises(ClientError) as info:
        raw_client.generate_random(NumberOfBytes=0)
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("1 validation error detected")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not hasattr(raw_client.exceptions, "ValidationException")  # not a modelled shape


def test_modelled_errors_are_boto3_exception_classes(client, keys):
    with pytest.raises(client.exceptions.NotFoundException):
        client.describe_key(KeyId="alias/no-such-alias")
    with pytest.raises(client.exceptions.InvalidCiphertextException):
        client.decrypt(CiphertextBlob=b"\x01" * 100)


def test_python_call_takes_str_blobs_as_utf8_like_boto3(kms, client, keys):
    key_id = keys.id("HMAC_256", "GENERATE_VERIFY_MAC")
    text = "aGVsbG8="  # also valid base64: must not be decoded
    via_call = kms.call("GenerateMac", KeyId=key_id, Message=text, MacAlgorithm="HMAC_SHA_256")
    via_boto3 = client.generate_mac(KeyId=key_id, Message=text, MacAlgorithm="HMAC_SHA_256")
    assert via_call["Mac"] == via_boto3["Mac"]
    as_bytes = kms.call(
        "GenerateMac", KeyId=key_id, Message=text.encode(), MacAlgorithm="HMAC_SHA_256"
    )
    assert as_bytes["Mac"] == via_call["Mac"]


# -- targets --------------------------------------------------------------------------------


@pytest.fixture
def no_target_env(monkeypatch, tmp_path):
    """No KMSLAB_TARGET, and no AWS settings of this machine that would move endpoints."""
    monkeypatch.delenv(target.ENV_VAR, raising=False)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return monkeypatch


def test_default_target_is_one_local_account(no_target_env):
    # Like boto3 clients of one AWS account: the same Region sees the same keys, and each
    # Region of the account is its own LocalKMS.
    first, second = kmslab.client(), kmslab.client()
    west = kmslab.client(region_name="us-west-2")
    assert isinstance(first.local_kms, LocalKMS)
    assert first.local_kms is second.local_kms
    assert west.local_kms.aws_account is first.local_kms.aws_account
    key = first.create_key()["KeyMetadata"]
    assert key["Arn"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert key["KeyId"] in [k["KeyId"] for k in second.list_keys()["Keys"]]
    assert key["KeyId"] not in [k["KeyId"] for k in west.list_keys()["Keys"]]


def test_local_target_shares_a_given_kms_and_region(no_target_env):
    kms = LocalKMS(region="eu-central-1")
    client = kmslab.client(kms=kms)
    assert client.local_kms is kms and client.meta.region_name == "eu-central-1"
    key = client.create_key()["KeyMetadata"]
    assert key["Arn"].startswith("arn:aws:kms:eu-central-1:")
    assert kmslab.client(region_name="ap-south-1").meta.region_name == "ap-south-1"


def test_aws_target_is_a_plain_boto3_client(no_target_env):
    # Only constructed: building a client contacts nothing.
    client = kmslab.client(target="aws", region_name="eu-west-1")
    assert client.meta.service_model.service_name == "kms"
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "https://kms.eu-west-1.amazonaws.com"
    assert not hasattr(client, "local_kms")


def test_url_target(no_target_env):
    client = kmslab.client(target="http://localhost:4566")
    assert client.meta.endpoint_url == "http://localhost:4566"
    assert client.meta.region_name == "us-east-1"
    assert not hasattr(client, "local_kms")


@pytest.mark.parametrize("name", ["moto", "ftp://example.invalid", "AWS"])
def test_unknown_target(no_target_env, name):
    with pytest.raises(TargetError) as info:
        kmslab.client(target=name)
    assert isinstance(info.value, ValueError)
    assert repr(name) in str(info.value) and "'local', 'aws'" in str(info.value)


def test_environment_variable_picks_the_target(no_target_env):
    no_target_env.setenv(target.ENV_VAR, "aws")
    assert target.target_name() == "aws"
    client = kmslab.client(region_name="us-west-2")
    assert client.meta.endpoint_url == "https://kms.us-west-2.amazonaws.com"
    no_target_env.setenv(target.ENV_VAR, "http://127.0.0.1:9999")
    assert kmslab.client().meta.endpoint_url == "http://127.0.0.1:9999"
    no_target_env.setenv(target.ENV_VAR, "nowhere")
    with pytest.raises(TargetError):
        kmslab.client()
    assert isinstance(kmslab.client(target="local").local_kms, LocalKMS)  # argument wins
    no_target_env.delenv(target.ENV_VAR)
    assert target.target_name() == "local"
