"""The HTTP front: a plain boto3 client with endpoint_url reaches the same LocalKMS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from kmslab import LocalKMS
from kmslab.server import KMSServer, serve


@pytest.fixture
def server() -> Iterator[KMSServer]:
    srv = serve(LocalKMS())
    yield srv
    srv.stop()


def _client(url: str) -> object:
    return boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_signed_boto3_client_round_trip_over_http(server: KMSServer) -> None:
    kms = _client(server.url)
    key = kms.create_key(Description="over http")["KeyMetadata"]  # type: ignore[attr-defined]
    assert key["KeyId"] in server.kms.keys
    blob = kms.encrypt(KeyId=key["Arn"], Plaintext=b"hi")["CiphertextBlob"]  # type: ignore[attr-defined]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hi"  # type: ignore[attr-defined]


def test_errors_travel_as_aws_json(server: KMSServer) -> None:
    kms = _client(server.url)
    with pytest.raises(ClientError) as info:
        kms.describe_key(KeyId="alias/missing")  # type: ignore[attr-defined]
    assert info.value.response["Error"]["Code"] == "NotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_malformed_body_is_an_aws_error_not_a_crash(server: KMSServer) -> None:
    request = urllib.request.Request(
        server.url,
        data=b"{not json",
        headers={"X-Amz-Target": "TrentService.ListKeys"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert json.loads(info.value.read())["__type"] == "SerializationException"


def test_kmslab_serve_command_answers_a_client() -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert f"http://127.0.0.1:{port}" in proc.stdout.readline()
        kms = _client(f"http://127.0.0.1:{port}")
        for _ in range(50):  # the banner comes just before serve_forever starts
            try:
                keys = kms.list_keys()["Keys"]  # type: ignore[attr-defined]
                break
            except Exception:
                time.sleep(0.1)
        assert keys == []
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the stdout pipe
