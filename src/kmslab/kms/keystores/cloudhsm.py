"""A local model of AWS CloudHSM clusters, enough to teach what an AWS CloudHSM key store needs.

AWS's rules (KMS Developer Guide, "Create an AWS CloudHSM key store" and "Troubleshoot a
custom key store"; CloudHSM User Guide):

- the cluster must be ACTIVE and is used by at most one key store;
- CreateCustomKeyStore needs the cluster's trust anchor certificate and the password of the
  ``kmsuser`` crypto user (CU) that you create in the cluster;
- the cluster needs at least two active HSMs in different Availability Zones to create the
  key store and to create KMS keys in it; connecting with none fails with
  INSUFFICIENT_CLOUDHSM_HSMS;
- connecting fails with USER_NOT_FOUND when there is no ``kmsuser``, INVALID_CREDENTIALS for
  a wrong password, USER_LOCKED_OUT when the user is locked, USER_LOGGED_IN when someone is
  logged in as ``kmsuser``, CLUSTER_NOT_FOUND when the cluster was deleted.

The cluster holds the key material of the KMS keys created in its key store (``keys``);
the cluster and its ``kmsuser`` are managed with CloudHSM's tools, not with AWS KMS, so this
module's functions stand in for them.

>>> from kmslab.kms.keystores.cloudhsm import Clusters
>>> clusters = Clusters()
>>> cluster = clusters.create(hsms=2, kmsuser_password="kmsPswd")
>>> cluster.id.startswith("cluster-"), cluster.active_hsms()
(True, 2)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from kmslab.kms.keys import SEALED

__all__ = ["CONNECT_FAILURES", "Cluster", "Clusters", "Hsm", "connect_error"]

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_ZONES = ("a", "b", "c", "d")


@dataclass
class Hsm:
    id: str
    availability_zone: str
    state: str = "ACTIVE"


@dataclass(eq=False)
class Cluster:
    """One CloudHSM cluster: its HSMs, its trust anchor and its ``kmsuser`` crypto user."""

    id: str
    trust_anchor: str
    state: str = "ACTIVE"
    hsms: list[Hsm] = field(default_factory=list)
    kmsuser_password: str | None = field(default=None, repr=False, metadata={SEALED: True})
    kmsuser_locked: bool = False
    kmsuser_logged_in: bool = False
    deleted: bool = False
    #: Key material of KMS keys created in this cluster's key store (label -> bytes); a
    #: store (kmslab.kms.store) keeps it, and the ``kmsuser`` password, sealed.
    keys: dict[str, Any] = field(default_factory=dict, repr=False, metadata={SEALED: True})

    def active_hsms(self) -> int:
        return sum(1 for h in self.hsms if h.state == "ACTIVE")

    def zones(self) -> int:
        return len({h.availability_zone for h in self.hsms if h.state == "ACTIVE"})

    def add_hsm(self) -> Hsm:
        """Add an HSM in the next Availability Zone (CloudHSM's CreateHsm)."""
        zone = _ZONES[len(self.hsms) % len(_ZONES)]
        hsm = Hsm("hsm-" + _random_base32(11), f"us-east-1{zone}")
        self.hsms.append(hsm)
        return hsm

    def remove_hsm(self) -> None:
        """Delete the last HSM (CloudHSM's DeleteHsm)."""
        if self.hsms:
            self.hsms.pop()

    def can_create_keys(self) -> bool:
        """At least two active HSMs in different Availability Zones."""
        return self.active_hsms() >= 2 and self.zones() >= 2


def _random_base32(n: int) -> str:
    return "".join(secrets.choice(_BASE32) for _ in range(n))


class Clusters:
    """The CloudHSM clusters of the account (what CloudHSM's DescribeClusters would list)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Cluster] = {}

    def create(self, hsms: int = 2, kmsuser_password: str | None = "kmsPswd") -> Cluster:
        """A new ACTIVE cluster with ``hsms`` HSMs and, unless None, a ``kmsuser`` CU."""
        cluster = Cluster(
            "cluster-" + _random_base32(11),
            trust_anchor="-----BEGIN CERTIFICATE-----\n"
            + os.urandom(48).hex()
            + "\n-----END CERTIFICATE-----",
            kmsuser_password=kmsuser_password,
        )
        for _ in range(hsms):
            cluster.add_hsm()
        self.by_id[cluster.id] = cluster
        return cluster

    def get(self, cluster_id: str | None) -> Cluster | None:
        cluster = self.by_id.get(cluster_id or "")
        return None if cluster is None or cluster.deleted else cluster


#: (test, ConnectionErrorCode) in the order a connection attempt meets them.
CONNECT_FAILURES: tuple[tuple[str, str], ...] = (
    ("cluster_missing", "CLUSTER_NOT_FOUND"),
    ("no_hsms", "INSUFFICIENT_CLOUDHSM_HSMS"),
    ("no_user", "USER_NOT_FOUND"),
    ("locked", "USER_LOCKED_OUT"),
    ("logged_in", "USER_LOGGED_IN"),
    ("bad_password", "INVALID_CREDENTIALS"),
)


def connect_error(cluster: Cluster | None, password: str | None) -> str | None:
    """The ConnectionErrorCode a connection attempt ends with, or None when it connects."""
    checks = {
        "cluster_missing": cluster is None,
        "no_hsms": cluster is not None and cluster.active_hsms() == 0,
        "no_user": cluster is not None and cluster.kmsuser_password is None,
        "locked": cluster is not None and cluster.kmsuser_locked,
        "logged_in": cluster is not None and cluster.kmsuser_logged_in,
        "bad_password": cluster is not None
        and not secrets.compare_digest(cluster.kmsuser_password or "", password or ""),
    }
    for test, code in CONNECT_FAILURES:
        if checks[test]:
            return code
    return None
