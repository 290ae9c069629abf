"""Shared fixtures for the local KMS tests.

One :class:`~kmslab.LocalKMS` and one boto3 client serve the whole session, and each
(KeySpec, KeyUsage) pair gets one key, made on first use (RSA-4096 keygen alone costs about
0.6 s). Tests must not change the state of a cached key for good: a test that disables,
deletes, tags or aliases a key makes a fresh one with ``fresh_key``, or restores what it
changed before it returns.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kmslab.exceptions import KMSError
from kmslab.kms.service import LocalKMS

Meta = dict[str, Any]


class KeyCache:
    """One key per (KeySpec, KeyUsage) in the session's LocalKMS, created on first use.

    ``keys.meta(spec, usage)`` is CreateKey's KeyMetadata (as boto3 parsed it); ``keys.id``
    and ``keys.arn`` are shortcuts. ``usage`` defaults to the spec's default usage (or its
    only usage).
    """

    def __init__(self, kms: LocalKMS, client: Any, kms_cn: LocalKMS, client_cn: Any) -> None:
        self.kms = kms
        self.client = client
        #: SM2 exists only in the China Regions: its keys live in a cn-north-1 LocalKMS.
        self.kms_cn = kms_cn
        self.client_cn = client_cn
        self._cache: dict[tuple[str, str], Meta] = {}

    def kms_for(self, spec: str) -> LocalKMS:
        """The session's LocalKMS, or the China one for specs that exist only there."""
        from kmslab import specs

        return self.kms if specs.offered(spec, self.kms.region) else self.kms_cn

    def client_for(self, spec: str) -> Any:
        return self.client if self.kms_for(spec) is self.kms else self.client_cn

    @staticmethod
    def _usage(spec: str, usage: str | None) -> str:
        if usage is not None:
            return usage
        from kmslab import specs

        info = specs.get(spec)
        return info.default_usage or info.usage_names[0]

    def meta(self, spec: str, usage: str | None = None) -> Meta:
        pair = (spec, self._usage(spec, usage))
        if pair not in self._cache:
            # Through boto3, so tests/kms/test_keys.py sees CreateKey as AWS shapes it.
            made = self.client_for(spec).create_key(KeySpec=pair[0], KeyUsage=pair[1])
            self._cache[pair] = made["KeyMetadata"]
        meta = self._cache[pair]
        # A test that forgot to restore a cached key would poison the others: say so early.
        state = self.kms_for(spec).keys[meta["KeyId"]].state
        assert state == "Enabled", f"cached key {pair} changed"
        return meta

    def id(self, spec: str, usage: str | None = None) -> str:
        return str(self.meta(spec, usage)["KeyId"])

    def arn(self, spec: str, usage: str | None = None) -> str:
        return str(self.meta(spec, usage)["Arn"])


@pytest.fixture(scope="session")
def kms() -> LocalKMS:
    """The session's local KMS."""
    return LocalKMS()


@pytest.fixture(scope="session")
def client(kms: LocalKMS) -> Any:
    """A real boto3 KMS client answered by the session's LocalKMS."""
    return kms.client()


@pytest.fixture(scope="session")
def raw_client(kms: LocalKMS) -> Any:
    """The same, with botocore's client-side checks off, so the server's validation answers."""
    return kms.client(parameter_validation=False)


@pytest.fixture(scope="session")
def kms_cn() -> LocalKMS:
    """A local KMS in the Beijing Region (partition aws-cn): SM2, and SM4 for SYMMETRIC_DEFAULT."""
    return LocalKMS(region="cn-north-1")


@pytest.fixture(scope="session")
def client_cn(kms_cn: LocalKMS) -> Any:
    return kms_cn.client()


@pytest.fixture(scope="session")
def keys(kms: LocalKMS, client: Any, kms_cn: LocalKMS, client_cn: Any) -> KeyCache:
    """Cached keys: ``keys.id("RSA_2048", "SIGN_VERIFY")`` (SM2 ones in the China KMS)."""
    return KeyCache(kms, client, kms_cn, client_cn)


@pytest.fixture(scope="session")
def fresh_key(kms: LocalKMS) -> Callable[..., Meta]:
    """Make a new key in the session's LocalKMS (for tests that change a key's state).

    ``fresh_key("ECC_NIST_P256", "KEY_AGREEMENT", Origin="EXTERNAL")`` -> KeyMetadata.
    """

    def make(spec: str = "SYMMETRIC_DEFAULT", usage: str | None = None, **params: Any) -> Meta:
        usage = KeyCache._usage(spec, usage)
        meta: Meta = kms.call("CreateKey", KeySpec=spec, KeyUsage=usage, **params)["KeyMetadata"]
        return meta

    return make


@contextmanager
def _aws_error(code: str, message: str | None = None) -> Iterator[pytest.ExceptionInfo[Any]]:
    with pytest.raises((ClientError, KMSError)) as info:
        yield info
    err = info.value
    if isinstance(err, ClientError):
        got_code, got_message = err.response["Error"]["Code"], err.response["Error"]["Message"]
    else:
        got_code, got_message = err.code, err.message
    assert got_code == code, f"expected {code}, got {got_code}: {got_message}"
    if message is not None:
        assert got_message == message


@pytest.fixture(scope="session")
def aws_error() -> Callable[..., Any]:
    """``with aws_error("NotFoundException"):`` -- the AWS error code, from boto3 or kms.call.

    boto3 raises ClientError with ``response["Error"]["Code"]``; ``LocalKMS.call`` raises the
    kmslab.exceptions class whose ``code`` is the same name. An optional ``message`` must
    match exactly.
    """
    return _aws_error


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 300 KiB tmpfs to fill (root only; skipped otherwise), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "small"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(folder)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
