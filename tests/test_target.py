"""Where kmslab.client() sends requests: errors read as AWS users see them, and an endpoint
that is not AWS works without AWS credentials."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import kmslab
from kmslab.exceptions import TargetError
from kmslab.server import serve


def test_errors_carry_no_retry_suffix() -> None:
    kms = kmslab.client()
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as raised:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    text = str(raised.value)
    assert "reached max retries" not in text
    assert text.startswith(
        "An error occurred (InvalidKeyUsageException) when calling the Encrypt operation: arn:"
    )


def test_a_local_endpoint_needs_no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    server = serve()
    try:
        monkeypatch.setenv("KMSLAB_TARGET", server.url)
        kms = kmslab.client()
        assert kms.create_key()["KeyMetadata"]["KeySpec"] == "SYMMETRIC_DEFAULT"
    finally:
        server.stop()


def test_the_aws_target_without_a_region_says_how_to_choose_one(monkeypatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(TargetError, match="No AWS Region is set"):
        kmslab.client(target="aws")
