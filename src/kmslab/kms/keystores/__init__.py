"""Custom key stores: where a KMS key's material lives when it is not in AWS KMS's own HSMs.

Two kinds, as in AWS KMS (Developer Guide, "Custom key stores"):

- an **AWS CloudHSM key store** (:mod:`.cloudhsm`): keys live in a CloudHSM cluster you
  own; AWS KMS logs in as the ``kmsuser`` crypto user to use them;
- an **external key store** (:mod:`.xks_client`): keys live in an external key manager
  behind an external key store proxy that speaks AWS's XKS Proxy API over HTTP; every
  Encrypt and Decrypt goes to the proxy, so each ciphertext is protected twice, by the KMS
  key's own material and by the external key.

:class:`CustomKeyStore` is one store; the operations are in :mod:`kmslab.kms.ops.keystores`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmslab.kms.keys import SEALED

__all__ = ["CONNECTION_STATES", "CustomKeyStore", "new_store_id"]

#: ConnectionState values (botocore's ConnectionStateType).
CONNECTION_STATES = ("CONNECTED", "CONNECTING", "FAILED", "DISCONNECTED", "DISCONNECTING")


def new_store_id() -> str:
    """A CustomKeyStoreId: ``cks-`` and 17 hex digits, the form AWS uses."""
    return "cks-" + os.urandom(9).hex()[:17]


@dataclass(eq=False)
class CustomKeyStore:
    """One custom key store. Secrets (password, proxy credential) never show in its repr,
    and a store (kmslab.kms.store) keeps them sealed under its root key."""

    id: str
    name: str
    type: str  # AWS_CLOUDHSM or EXTERNAL_KEY_STORE
    created: datetime
    state: str = "DISCONNECTED"
    error_code: str | None = None
    # AWS_CLOUDHSM
    cluster_id: str | None = None
    trust_anchor: str | None = None
    password: str | None = field(default=None, repr=False, metadata={SEALED: True})
    # EXTERNAL_KEY_STORE
    uri_endpoint: str | None = None
    uri_path: str | None = None
    connectivity: str | None = None
    vpc_service_name: str | None = None
    vpc_service_owner: str | None = None
    access_key_id: str | None = field(default=None, repr=False, metadata={SEALED: True})
    secret_access_key: str | None = field(default=None, repr=False, metadata={SEALED: True})
    extra: dict[str, Any] = field(default_factory=dict, repr=False, metadata={SEALED: True})
    #: Creation order in the account's Region (DescribeCustomKeyStores lists in it).
    number: int = 0

    @property
    def is_cloudhsm(self) -> bool:
        return self.type == "AWS_CLOUDHSM"

    def entry(self) -> dict[str, Any]:
        """The CustomKeyStoresListEntry of DescribeCustomKeyStores."""
        out: dict[str, Any] = {
            "CustomKeyStoreId": self.id,
            "CustomKeyStoreName": self.name,
            "ConnectionState": self.state,
            "CreationDate": self.created,
            "CustomKeyStoreType": self.type,
        }
        if self.error_code is not None and self.state == "FAILED":
            out["ConnectionErrorCode"] = self.error_code
        if self.is_cloudhsm:
            out["CloudHsmClusterId"] = self.cluster_id
            out["TrustAnchorCertificate"] = self.trust_anchor
        else:
            config: dict[str, Any] = {
                "Connectivity": self.connectivity,
                "AccessKeyId": self.access_key_id,
                "UriEndpoint": self.uri_endpoint,
                "UriPath": self.uri_path,
            }
            if self.connectivity == "VPC_ENDPOINT_SERVICE":
                config["VpcEndpointServiceName"] = self.vpc_service_name
                if self.vpc_service_owner:
                    config["VpcEndpointServiceOwner"] = self.vpc_service_owner
            out["XksProxyConfiguration"] = config
        return out
