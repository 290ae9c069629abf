"""The AWS CLI, a client we did not write, against ``kmslab serve``.

The CLI (PyPI ``awscli``, pinned in requirements-dev.txt; it carries its own copy of
botocore, so it does not conflict with ours) runs as a subprocess with dummy credentials and
``--endpoint-url``, reading and writing binary files with ``fileb://`` as a learner would.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 60  # seconds for one CLI call (its start-up alone is about half a second)


def _aws_executable() -> str:
    beside = Path(sys.executable).with_name("aws")  # the venv `make test` built
    found = str(beside) if beside.exists() else shutil.which("aws")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("the AWS CLI is missing: `make test` installs it from requirements-dev.txt")
        pytest.skip("the AWS CLI is not installed (pip install -r requirements-dev.txt)")
    return found


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # printed once the socket is bound
    try:
        yield banner.split(" on ")[1].split()[0]
    finally:
        proc.terminate()
        proc.communicate(timeout=TIMEOUT)


class AWS:
    """``aws kms ...`` against one endpoint, with dummy credentials and no user config."""

    def __init__(self, executable: str, endpoint: str, home: Path) -> None:
        self.argv = [executable, "kms", "--endpoint-url", endpoint, "--region", "us-east-1"]
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.argv, *args, "--output", "json"],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=TIMEOUT,
        )

    def __call__(self, *args: str) -> Any:
        proc = self.run(*args)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None


@pytest.fixture(scope="module")
def aws(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> AWS:
    return AWS(_aws_executable(), endpoint, tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def keys(aws: AWS) -> dict[str, str]:
    """One key per (spec, usage) the tests below use, created by the CLI."""
    specs = {
        "SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT",
        "RSA_2048": "ENCRYPT_DECRYPT",
        "ECC_NIST_P256": "SIGN_VERIFY",
        "ECC_NIST_EDWARDS25519": "SIGN_VERIFY",
        "HMAC_256": "GENERATE_VERIFY_MAC",
    }
    created = {}
    for spec, usage in specs.items():
        meta = aws("create-key", "--key-spec", spec, "--key-usage", usage)["KeyMetadata"]
        assert (meta["KeySpec"], meta["KeyUsage"], meta["KeyState"]) == (spec, usage, "Enabled")
        created[spec] = meta["KeyId"]
    return created


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return f"fileb://{path}"


@pytest.mark.parametrize(
    ("spec", "algorithm"), [("SYMMETRIC_DEFAULT", None), ("RSA_2048", "RSAES_OAEP_SHA_256")]
)
def test_encrypt_and_decrypt_binary_files(
    aws: AWS, keys: dict[str, str], spec: str, algorithm: str | None, tmp_path: Path
) -> None:
    plaintext = bytes(range(256)) * 2 if spec == "SYMMETRIC_DEFAULT" else bytes(range(190))
    chosen = ["--encryption-algorithm", algorithm] if algorithm else []
    out = aws("encrypt", "--key-id", keys[spec], "--plaintext",
              _write(tmp_path / "plain.bin", plaintext), *chosen)  # fmt: skip
    blob = base64.b64decode(out["CiphertextBlob"])
    back = aws("decrypt", "--key-id", keys[spec], "--ciphertext-blob",
               _write(tmp_path / "cipher.bin", blob), *chosen)  # fmt: skip
    assert base64.b64decode(back["Plaintext"]) == plaintext
    assert back["KeyId"].endswith(keys[spec])


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")],
)
def test_sign_and_verify(
    aws: AWS, keys: dict[str, str], spec: str, algorithm: str, tmp_path: Path
) -> None:
    message = _write(tmp_path / "message.bin", b"\x00\xffpay 100 to alice\n")
    common = ["--key-id", keys[spec], "--message-type", "RAW", "--signing-algorithm", algorithm]
    signature = base64.b64decode(aws("sign", *common, "--message", message)["Signature"])
    sig_file = _write(tmp_path / "sig.bin", signature)
    verified = aws("verify", *common, "--message", message, "--signature", sig_file)
    assert verified["SignatureValid"] is True
    forged = _write(tmp_path / "forged.bin", b"\x00\xffpay 900 to alice\n")
    refused = aws.run("verify", *common, "--message", forged, "--signature", sig_file)
    assert refused.returncode == 255 and "KMSInvalidSignatureException" in refused.stderr


def test_generate_data_key_and_decrypt_it(aws: AWS, keys: dict[str, str], tmp_path: Path) -> None:
    key_id = keys["SYMMETRIC_DEFAULT"]
    out = aws("generate-data-key", "--key-id", key_id, "--key-spec", "AES_256")
    plaintext = base64.b64decode(out["Plaintext"])
    assert len(plaintext) == 32
    blob = _write(tmp_path / "wrapped.bin", base64.b64decode(out["CiphertextBlob"]))
    back = aws("decrypt", "--ciphertext-blob", blob)
    assert base64.b64decode(back["Plaintext"]) == plaintext


def test_generate_and_verify_mac(aws: AWS, keys: dict[str, str], tmp_path: Path) -> None:
    common = ["--key-id", keys["HMAC_256"], "--mac-algorithm", "HMAC_SHA_256"]
    message = _write(tmp_path / "m.bin", b"hello")
    mac = base64.b64decode(aws("generate-mac", *common, "--message", message)["Mac"])
    out = aws("verify-mac", *common, "--message", message,
              "--mac", _write(tmp_path / "mac.bin", mac))  # fmt: skip
    assert out["MacValid"] is True


def test_list_keys_pages(aws: AWS, keys: dict[str, str]) -> None:
    # --page-size: the CLI asks for 2 keys a call and follows NextMarker through every page.
    every = {k["KeyId"] for k in aws("list-keys", "--page-size", "2")["Keys"]}
    assert every == set(keys.values())
    # --max-items: the CLI stops after 3 and hands back a token to resume from.
    first = aws("list-keys", "--max-items", "3", "--page-size", "2")
    assert len(first["Keys"]) == 3 and first["NextToken"]
    rest = aws("list-keys", "--starting-token", first["NextToken"], "--page-size", "2")
    assert "NextToken" not in rest
    ids = [k["KeyId"] for k in first["Keys"] + rest["Keys"]]
    assert sorted(ids) == sorted(keys.values())


def test_errors_reach_the_cli_as_aws_errors(aws: AWS) -> None:
    missing = aws.run("describe-key", "--key-id", "alias/does-not-exist")  # CLI v1: 255
    assert missing.returncode == 255
    assert "NotFoundException" in missing.stderr and "DescribeKey" in missing.stderr


@contextmanager
def _served(store: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``kmslab serve --store STORE --port 0``; yields (process, endpoint URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    banner = ""
    while " on http" not in banner:  # "keys kept in ..." comes first
        banner = proc.stdout.readline()
        assert banner, proc.stderr.read() if proc.stderr else ""
    try:
        yield proc, banner.split(" on ")[1].split()[0]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


def test_a_restart_on_the_same_store_decrypts_earlier_ciphertext(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    executable, home = _aws_executable(), tmp_path_factory.mktemp("aws-home-store")
    store = tmp_path / "keys.sqlite3"
    plaintext = b"\x00\x01 written before the restart \xfe\xff"
    with _served(store) as (proc, url):
        aws = AWS(executable, url, home)
        key_id = aws("create-key", "--description", "kept")["KeyMetadata"]["KeyId"]
        aws("create-alias", "--alias-name", "alias/kept", "--target-key-id", key_id)
        out = aws("encrypt", "--key-id", "alias/kept",
                  "--plaintext", _write(tmp_path / "plain.bin", plaintext))  # fmt: skip
        blob = _write(tmp_path / "cipher.bin", base64.b64decode(out["CiphertextBlob"]))
        proc.kill()  # no clean shutdown: what was answered was already committed
        proc.wait(timeout=TIMEOUT)
    with _served(store) as (proc, url):
        aws = AWS(executable, url, home)
        back = aws("decrypt", "--ciphertext-blob", blob)
        assert base64.b64decode(back["Plaintext"]) == plaintext
        assert back["KeyId"].endswith(key_id)
        meta = aws("describe-key", "--key-id", "alias/kept")["KeyMetadata"]
        assert meta["Description"] == "kept"


def test_the_access_key_chooses_the_iam_identity_of_a_stored_account(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An IAM user made in Python is kept in the store; its access key acts as it in the CLI."""
    from kmslab import LocalKMS

    store = tmp_path / "keys.sqlite3"
    with LocalKMS(store=store) as kms:
        auditor = kms.iam.create_user(
            "auditor",
            policy={
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}],
            },
        )
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    executable, home = _aws_executable(), tmp_path_factory.mktemp("aws-home-iam")
    with _served(store) as (proc, url):
        assert proc.stdout is not None
        printed = [proc.stdout.readline() for _ in range(5)]
        assert any(auditor.access_key_id in line and auditor.arn in line for line in printed)
        aws = AWS(executable, url, home)
        aws.env["AWS_ACCESS_KEY_ID"] = auditor.access_key_id
        assert aws("describe-key", "--key-id", key_id)["KeyMetadata"]["KeyId"] == key_id
        refused = aws.run("encrypt", "--key-id", key_id, "--plaintext", "aGk=")
        assert refused.returncode != 0
        assert "AccessDeniedException" in refused.stderr
        assert f"User: {auditor.arn} is not authorized to perform: kms:Encrypt" in refused.stderr
