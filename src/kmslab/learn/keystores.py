"""Lesson 10's tools: one account with keys in every place a KMS key can live.

:class:`KeyHomes` builds, in one local account: a key in AWS KMS's own key store, a key in
an AWS CloudHSM key store (over kmslab's cluster model), and a key in an external key store
whose proxy (:class:`kmslab.xks.XksProxy`) runs on 127.0.0.1 with its own keys. The lesson
encrypts with each, stops and restarts the proxy, and measures what each home costs.

>>> homes = KeyHomes()                          # doctest: +SKIP
>>> homes.try_encrypt("external key store")     # doctest: +SKIP
Encrypt -> ok
>>> homes.proxy.stop()                          # doctest: +SKIP
>>> homes.try_encrypt("external key store").error_code  # doctest: +SKIP
'KMSInvalidStateException'
>>> homes.close()                               # doctest: +SKIP
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from kmslab import specs
from kmslab.learn.feedback import NO_ANSWER, CheckResult

__all__ = [
    "HOMES",
    "KeyHomes",
    "Latency",
    "check_origin",
    "check_partition",
    "partition_table",
]

#: The key homes of the lesson, with the Origin each one's keys report.
HOMES: dict[str, str] = {
    "AWS KMS": "AWS_KMS",
    "AWS CloudHSM key store": "AWS_CLOUDHSM",
    "external key store": "EXTERNAL_KEY_STORE",
}
_ENDPOINT = "https://xks.kmslab.example"


@dataclass(frozen=True)
class Latency:
    """Median and spread (interquartile range) of one home's Encrypt, in milliseconds."""

    home: str
    median_ms: float
    iqr_ms: float
    samples: int

    def __str__(self) -> str:
        return f"{self.home:24} median {self.median_ms:7.3f} ms  (IQR {self.iqr_ms:.3f} ms)"


class KeyHomes:
    """A local account with a key in each home; ``client`` is its boto3 client.

    ``proxy`` is the running external key store proxy; ``cluster`` the CloudHSM cluster;
    ``key_ids`` maps each home of :data:`HOMES` to its key id. Call :meth:`close` at the end.
    """

    def __init__(self, region: str = "us-east-1") -> None:
        from kmslab.kms.service import LocalKMS
        from kmslab.xks import XksProxy

        self.kms = LocalKMS(region=region)
        self.client = self.kms.client()
        self.cluster = self.kms.cloudhsm.create(hsms=2, kmsuser_password="kmsPswd")
        hsm_store = self.client.create_custom_key_store(
            CustomKeyStoreName="lesson-cloudhsm",
            CloudHsmClusterId=self.cluster.id,
            TrustAnchorCertificate=self.cluster.trust_anchor,
            KeyStorePassword="kmsPswd",
        )["CustomKeyStoreId"]
        self.proxy = XksProxy()
        self.proxy.keys.create("lesson-external-key")
        self.proxy.start()
        # AWS reaches the proxy at an https:// name; this machine routes it to loopback.
        self.kms.xks_routes[_ENDPOINT] = self.proxy.url
        xks_store = self.client.create_custom_key_store(
            CustomKeyStoreName="lesson-external",
            CustomKeyStoreType="EXTERNAL_KEY_STORE",
            XksProxyUriEndpoint=_ENDPOINT,
            XksProxyUriPath=self.proxy.uri_path,
            XksProxyAuthenticationCredential=self.proxy.authentication_credential,
            XksProxyConnectivity="PUBLIC_ENDPOINT",
        )["CustomKeyStoreId"]
        self.store_ids = {"AWS CloudHSM key store": hsm_store, "external key store": xks_store}
        for store_id in self.store_ids.values():
            self.client.connect_custom_key_store(CustomKeyStoreId=store_id)
        create = {
            "AWS KMS": {},
            "AWS CloudHSM key store": {"CustomKeyStoreId": hsm_store, "Origin": "AWS_CLOUDHSM"},
            "external key store": {
                "CustomKeyStoreId": xks_store,
                "Origin": "EXTERNAL_KEY_STORE",
                "XksKeyId": "lesson-external-key",
            },
        }
        self.key_ids = {
            home: self.client.create_key(Description=f"lesson 10: {home}", **params)["KeyMetadata"][
                "KeyId"
            ]
            for home, params in create.items()
        }

    def __repr__(self) -> str:
        return f"KeyHomes(proxy {'running' if self.proxy.running else 'stopped'})"

    def describe(self, home: str) -> dict[str, Any]:
        """The fields of DescribeKey that say where the key lives."""
        meta = self.client.describe_key(KeyId=self.key_ids[home])["KeyMetadata"]
        fields = ("Origin", "KeyState", "CustomKeyStoreId", "XksKeyConfiguration")
        return {f: meta[f] for f in fields if f in meta}

    def store_state(self, home: str) -> str:
        store = self.client.describe_custom_key_stores(CustomKeyStoreId=self.store_ids[home])
        return str(store["CustomKeyStores"][0]["ConnectionState"])

    def try_encrypt(self, home: str, plaintext: bytes = b"where do keys live?") -> Any:
        """Encrypt with the home's key; the outcome as :func:`kmslab.learn.lesson.try_call`."""
        from kmslab.learn.lesson import try_call

        return try_call(self.client.encrypt, KeyId=self.key_ids[home], Plaintext=plaintext)

    def latency(self, samples: int = 200) -> list[Latency]:
        """Encrypt's latency with each home's key: medians and spreads, never asserted."""
        out = []
        for home, key_id in self.key_ids.items():
            self.client.encrypt(KeyId=key_id, Plaintext=b"warm-up")
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                self.client.encrypt(KeyId=key_id, Plaintext=b"x" * 32)
                times.append((time.perf_counter() - start) * 1000)
            q1, _, q3 = statistics.quantiles(times, n=4)
            out.append(Latency(home, statistics.median(times), q3 - q1, samples))
        return out

    def close(self) -> None:
        """Stop the proxy."""
        self.proxy.stop()


def partition_table() -> list[dict[str, str]]:
    """Each key spec, and whether AWS KMS offers it in each partition (catalogue rows)."""
    rows = []
    for info in specs.all_specs():
        row = {"KeySpec": info.name}
        for part in specs.PARTITIONS:
            region = part.regions[0] if part.regions else "us-east-1"
            row[part.name] = "yes" if specs.offered(info, region) else "no"
        row["custom key store"] = "yes" if info.name == "SYMMETRIC_DEFAULT" else "no"
        rows.append(row)
    return rows


def check_origin(home: str, answer: str | EllipsisType) -> CheckResult:
    """Self-check: the Origin DescribeKey reports for a key in ``home``."""
    if answer is ...:
        return NO_ANSWER
    right = HOMES[home]
    if answer == right:
        return CheckResult(True, (f"A key in {home} has Origin {right}.",), summary="Correct!")
    return CheckResult(
        False,
        (f"{answer} is not it: a key in {home} reports Origin {right}.",),
        "Origin says who holds the key material: AWS KMS, an import (EXTERNAL), your CloudHSM "
        "cluster, or your external key manager.",
    )


def check_partition(region: str, answer: str | EllipsisType) -> CheckResult:
    """Self-check: the partition (the second field of an ARN) of a Region."""
    if answer is ...:
        return NO_ANSWER
    right = specs.partition(region).name
    if answer == right:
        return CheckResult(True, (f"{region} ARNs start arn:{right}:kms.",), summary="Correct!")
    return CheckResult(
        False,
        (f"{answer} is not it: {region} is in the {right} partition.",),
        "The China Regions (cn-north-1, cn-northwest-1) form their own partition, aws-cn.",
    )
