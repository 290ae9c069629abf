"""Custom key store operations, and what keys in custom key stores do differently.

The six operations (CreateCustomKeyStore, DescribeCustomKeyStores, ConnectCustomKeyStore,
DisconnectCustomKeyStore, UpdateCustomKeyStore, DeleteCustomKeyStore), the checks CreateKey
makes for a key in a custom key store, GenerateRandom from a CloudHSM cluster, and the outer
layer of encryption that the external key store proxy adds to every ciphertext of a key in
an external key store.

Connecting is immediate in kmslab (AWS takes up to 20 minutes for a CloudHSM key store and
reports CONNECTING meanwhile); the outcome, CONNECTED or FAILED with a ConnectionErrorCode,
is AWS's.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> cluster = kms.cloudhsm.create(hsms=2, kmsuser_password="kmsPswd")
>>> store = kms.call("CreateCustomKeyStore", CustomKeyStoreName="hsm-store",
...     CloudHsmClusterId=cluster.id, TrustAnchorCertificate=cluster.trust_anchor,
...     KeyStorePassword="kmsPswd")["CustomKeyStoreId"]
>>> kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
{}
>>> key = kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")["KeyMetadata"]
>>> key["Origin"], key["CloudHsmClusterId"] == cluster.id
('AWS_CLOUDHSM', True)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import (
    ERRORS,
    CloudHsmClusterInUseException,
    CloudHsmClusterInvalidConfigurationException,
    CloudHsmClusterNotActiveException,
    CloudHsmClusterNotFoundException,
    CloudHsmClusterNotRelatedException,
    CustomKeyStoreHasCMKsException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNameInUseException,
    CustomKeyStoreNotFoundException,
    IncorrectTrustAnchorException,
    InvalidCiphertextException,
    KMSError,
    UnsupportedOperationException,
    ValidationException,
    XksKeyAlreadyInUseException,
    XksKeyInvalidConfigurationException,
    XksProxyUriInUseException,
    XksProxyUriUnreachableException,
    XksProxyVpcEndpointServiceNotFoundException,
)
from kmslab.kms.keys import Key
from kmslab.kms.keystores import CustomKeyStore, new_store_id
from kmslab.kms.keystores import cloudhsm as hsm
from kmslab.kms.keystores import xks_client as xks
from kmslab.kms.paging import page_sorted
from kmslab.kms.registry import operation, require

if TYPE_CHECKING:
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

__all__ = ["check_new_key", "outer_open", "outer_seal", "random_from_store"]

_CLOUDHSM_ONLY = ("CloudHsmClusterId", "TrustAnchorCertificate", "KeyStorePassword")
_XKS_ONLY = (
    "XksProxyUriEndpoint",
    "XksProxyUriPath",
    "XksProxyVpcEndpointServiceName",
    "XksProxyVpcEndpointServiceOwner",
    "XksProxyAuthenticationCredential",
    "XksProxyConnectivity",
)
#: XKS settings UpdateCustomKeyStore may change while the store is connected (KMS Developer
#: Guide, "Edit external key store properties"); the others need it disconnected.
_XKS_LIVE_UPDATES = ("NewCustomKeyStoreName", "XksProxyUriPath", "XksProxyAuthenticationCredential")


def _error(code: str, message: str) -> KMSError:
    # Only with a row of xks_failures.FAILURES: the ledger test reads that table, and refuses
    # ERRORS[code](message) anywhere but here.
    return ERRORS[code](message)


def _store(kms: LocalKMS, store_id: str) -> CustomKeyStore:
    store = kms.key_stores.get(store_id)
    if store is None:
        # No message member: AWS sends this error without one (ledger cks-not-found).
        raise CustomKeyStoreNotFoundException()
    return store


def _retried_cloudhsm(kms: LocalKMS, p: Params) -> CustomKeyStore | None:
    """The disconnected AWS CloudHSM key store a CreateCustomKeyStore request repeats, if any.

    AWS treats a request whose values are all those of a disconnected AWS CloudHSM key store
    as a retry: it creates nothing and returns that store's ID (KMS Developer Guide, "Create
    an AWS CloudHSM key store"). Any other request for a name in use is refused.
    """
    if (p.get("CustomKeyStoreType") or "AWS_CLOUDHSM") != "AWS_CLOUDHSM":
        return None
    wanted = (
        p["CustomKeyStoreName"],
        p.get("CloudHsmClusterId"),
        p.get("TrustAnchorCertificate"),
        p.get("KeyStorePassword"),
    )
    for store in kms.key_stores.values():
        if (
            store.is_cloudhsm
            and store.state == "DISCONNECTED"
            and (store.name, store.cluster_id, store.trust_anchor, store.password) == wanted
        ):
            return store
    return None


def _name_free(kms: LocalKMS, name: str, keep: CustomKeyStore | None = None) -> None:
    if any(s.name == name and s is not keep for s in kms.key_stores.values()):
        # AWS text unknown: inferred.
        raise CustomKeyStoreNameInUseException(
            f"A custom key store with name {name} already exists in this account and Region."
        )


def _not_for(p: Params, names: tuple[str, ...], store_type: str) -> None:
    given = [n for n in names if p.get(n) is not None]
    if given:
        # AWS text unknown: inferred.
        raise ValidationException(
            f"{', '.join(given)} cannot be used with a custom key store of type {store_type}."
        )


# -- AWS CloudHSM key stores ------------------------------------------------------------------


def _cluster_for(kms: LocalKMS, p: Params, keep: CustomKeyStore | None = None) -> hsm.Cluster:
    cluster_id = require(p, "CloudHsmClusterId")
    cluster = kms.cloudhsm.get(cluster_id)
    # AWS texts unknown for the cluster errors: inferred from the API reference's causes.
    if cluster is None:
        raise CloudHsmClusterNotFoundException(f"AWS CloudHSM cluster {cluster_id} not found.")
    if cluster.state != "ACTIVE":
        raise CloudHsmClusterNotActiveException(f"AWS CloudHSM cluster {cluster_id} is not active.")
    if any(s.cluster_id == cluster_id and s is not keep for s in kms.key_stores.values()):
        raise CloudHsmClusterInUseException(
            f"AWS CloudHSM cluster {cluster_id} is already associated with a custom key store."
        )
    if not cluster.can_create_keys():
        raise CloudHsmClusterInvalidConfigurationException(
            f"AWS CloudHSM cluster {cluster_id} must contain at least two active HSMs, each "
            "in a different Availability Zone."
        )
    return cluster


def _new_cloudhsm(kms: LocalKMS, p: Params, name: str) -> CustomKeyStore:
    _not_for(p, _XKS_ONLY, "AWS_CLOUDHSM")
    anchor = require(p, "TrustAnchorCertificate")
    password = require(p, "KeyStorePassword")
    cluster = _cluster_for(kms, p)
    if anchor.strip() != cluster.trust_anchor.strip():
        # AWS text unknown: inferred.
        raise IncorrectTrustAnchorException(
            f"The trust anchor certificate does not match the one of cluster {cluster.id}."
        )
    return CustomKeyStore(
        new_store_id(),
        name,
        "AWS_CLOUDHSM",
        kms.clock.now(),
        cluster_id=cluster.id,
        trust_anchor=anchor,
        password=password,
    )


# -- external key stores --------------------------------------------------------------------------


def _xks_call(
    kms: LocalKMS,
    store: CustomKeyStore,
    operation_name: str,
    body: dict[str, Any],
    external_key_id: str | None = None,
) -> dict[str, Any]:
    assert store.uri_path is not None and store.access_key_id and store.secret_access_key
    return xks.call(
        base_url=kms.xks_routes.get(store.uri_endpoint or ""),
        uri_path=store.uri_path,
        operation=operation_name,
        body=body,
        access_key_id=store.access_key_id,
        secret_access_key=store.secret_access_key,
        region=kms.region,
        external_key_id=external_key_id,
    )


def _health(kms: LocalKMS, store: CustomKeyStore, kms_operation: str) -> None:
    """GetHealthStatus; raises XksFailure, or XksProxyUriUnreachableException when every
    external key manager is unavailable."""
    body = {"requestMetadata": xks.request_metadata(kms_operation, None, kms.account)}
    reply = _xks_call(kms, store, "health", body)
    fleet = reply.get("ekmFleetDetails")
    if not isinstance(fleet, list) or not fleet:
        raise xks.XksFailure("malformed")
    if all(isinstance(e, dict) and e.get("healthStatus") == "UNAVAILABLE" for e in fleet):
        # KMS Developer Guide, "Troubleshooting external key stores" (ledger xks-unhealthy).
        raise XksProxyUriUnreachableException(
            "The external key store proxy is in an unhealthy state. If you see this message "
            "repeatedly, notify your external key store proxy administrator."
        )


def _credential(p: Params) -> tuple[str, str]:
    cred = require(p, "XksProxyAuthenticationCredential")
    return cred["AccessKeyId"], cred["RawSecretAccessKey"]


def _new_xks(kms: LocalKMS, p: Params, name: str) -> CustomKeyStore:
    _not_for(p, _CLOUDHSM_ONLY, "EXTERNAL_KEY_STORE")
    connectivity = require(p, "XksProxyConnectivity")
    endpoint, path = require(p, "XksProxyUriEndpoint"), require(p, "XksProxyUriPath")
    access_key_id, secret = _credential(p)
    if connectivity == "VPC_ENDPOINT_SERVICE":
        service = require(p, "XksProxyVpcEndpointServiceName")
        # A learner's machine has no Amazon VPC endpoint services. AWS text unknown: inferred.
        raise XksProxyVpcEndpointServiceNotFoundException(
            f"AWS KMS could not find the VPC endpoint service {service}."
        )
    _uri_free(kms, endpoint, path)
    store = CustomKeyStore(
        new_store_id(),
        name,
        "EXTERNAL_KEY_STORE",
        kms.clock.now(),
        uri_endpoint=endpoint,
        uri_path=path,
        connectivity=connectivity,
        access_key_id=access_key_id,
        secret_access_key=secret,
    )
    _proxy_check(kms, store, "CreateCustomKeyStore")
    return store


def _uri_free(kms: LocalKMS, endpoint: str, path: str, keep: CustomKeyStore | None = None) -> None:
    for other in kms.key_stores.values():
        if other is not keep and (other.uri_endpoint, other.uri_path) == (endpoint, path):
            # AWS text unknown: inferred.
            raise XksProxyUriInUseException(
                f"The proxy URI {endpoint}{path} is already used by another external key store."
            )


def _proxy_check(kms: LocalKMS, store: CustomKeyStore, kms_operation: str) -> None:
    """Create/UpdateCustomKeyStore check the proxy answers (GetHealthStatus)."""
    try:
        _health(kms, store, kms_operation)
    except xks.XksFailure as failure:
        row = xks.FAILURES[failure.kind]
        raise _error(row.manage, row.message) from None


# -- the operations --------------------------------------------------------------------------------


@operation("CreateCustomKeyStore")
def create_custom_key_store(kms: LocalKMS, p: Params) -> Params:
    name = p["CustomKeyStoreName"]
    retried = _retried_cloudhsm(kms, p)
    if retried is not None:
        return {"CustomKeyStoreId": retried.id}
    _name_free(kms, name)
    if (p.get("CustomKeyStoreType") or "AWS_CLOUDHSM") == "AWS_CLOUDHSM":
        store = _new_cloudhsm(kms, p, name)
    else:
        store = _new_xks(kms, p, name)
    # A creation number of the Region (kept by the store): never one a deleted store had, so
    # a DescribeCustomKeyStores marker naming that store never skips a new one.
    kms.numbers.saw(max((s.number for s in kms.key_stores.values()), default=0))
    store.number = kms.numbers.take()
    kms.key_stores[store.id] = store
    return {"CustomKeyStoreId": store.id}


@operation("DescribeCustomKeyStores")
def describe_custom_key_stores(kms: LocalKMS, p: Params) -> Params:
    store_id, name = p.get("CustomKeyStoreId"), p.get("CustomKeyStoreName")
    if store_id is not None and name is not None:
        # AWS text unknown: inferred.
        raise ValidationException(
            "Specify either CustomKeyStoreId or CustomKeyStoreName, not both."
        )
    stores = list(kms.key_stores.values())
    if store_id is not None:
        stores = [_store(kms, store_id)]
    elif name is not None:
        stores = [s for s in stores if s.name == name]
        if not stores:
            raise CustomKeyStoreNotFoundException()
    # Sorted by creation number (saved with each store, so markers survive a restart).
    entries = sorted(((f"{s.number:012d}", s.entry()) for s in stores), key=lambda e: e[0])
    chunk, extra = page_sorted(
        "DescribeCustomKeyStores", entries, p, lambda e: e[0], default_limit=1000
    )
    return {"CustomKeyStores": [e for _, e in chunk], **extra}


@operation("ConnectCustomKeyStore")
def connect_custom_key_store(kms: LocalKMS, p: Params) -> Params:
    store = _store(kms, p["CustomKeyStoreId"])
    if store.state in ("DISCONNECTING", "FAILED"):
        # AWS text unknown: inferred (the API reference: disconnect a FAILED store first).
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.id} is {store.state}: disconnect it before connecting."
        )
    if store.state == "CONNECTED":
        return {}
    code = _connect_error(kms, store)
    store.state, store.error_code = ("FAILED", code) if code else ("CONNECTED", None)
    return {}


def _connect_error(kms: LocalKMS, store: CustomKeyStore) -> str | None:
    if store.is_cloudhsm:
        return hsm.connect_error(kms.cloudhsm.get(store.cluster_id), store.password)
    try:
        _health(kms, store, "ConnectCustomKeyStore")
    except xks.XksFailure as failure:
        return xks.CONNECTION_ERROR_CODES.get(failure.kind, "XKS_PROXY_INVALID_RESPONSE")
    except XksProxyUriUnreachableException:
        return "XKS_PROXY_NOT_REACHABLE"
    return None


@operation("DisconnectCustomKeyStore")
def disconnect_custom_key_store(kms: LocalKMS, p: Params) -> Params:
    store = _store(kms, p["CustomKeyStoreId"])
    if store.state in ("DISCONNECTED", "DISCONNECTING"):
        # AWS text unknown: inferred.
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.id} is {store.state}: it is not connected."
        )
    store.state, store.error_code = "DISCONNECTED", None
    return {}


@operation("UpdateCustomKeyStore")
def update_custom_key_store(kms: LocalKMS, p: Params) -> Params:
    store = _store(kms, p["CustomKeyStoreId"])
    changes = [n for n in p if n != "CustomKeyStoreId" and p[n] is not None]
    live = store.state == "CONNECTED" and not store.is_cloudhsm
    if store.state != "DISCONNECTED" and not (live and set(changes) <= set(_XKS_LIVE_UPDATES)):
        # AWS text unknown: inferred.
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.id} is {store.state}: disconnect it to change "
            f"{', '.join(changes) or 'it'}."
        )
    if p.get("NewCustomKeyStoreName") is not None:
        _name_free(kms, p["NewCustomKeyStoreName"], keep=store)
    if store.is_cloudhsm:
        _not_for(p, _XKS_ONLY, "AWS_CLOUDHSM")
        if p.get("CloudHsmClusterId") is not None:
            cluster = _cluster_for(kms, p, keep=store)
            if cluster.trust_anchor != store.trust_anchor:  # not a backup of the same cluster
                # AWS text unknown: inferred.
                raise CloudHsmClusterNotRelatedException(
                    f"AWS CloudHSM cluster {cluster.id} does not share a backup history with "
                    f"cluster {store.cluster_id}."
                )
            store.cluster_id = cluster.id
        if p.get("KeyStorePassword") is not None:
            store.password = p["KeyStorePassword"]
    else:
        _update_xks(kms, store, p)
    if p.get("NewCustomKeyStoreName") is not None:
        store.name = p["NewCustomKeyStoreName"]
    return {}


def _update_xks(kms: LocalKMS, store: CustomKeyStore, p: Params) -> None:
    _not_for(p, _CLOUDHSM_ONLY, "EXTERNAL_KEY_STORE")
    if p.get("XksProxyConnectivity") == "VPC_ENDPOINT_SERVICE":
        service = require(p, "XksProxyVpcEndpointServiceName")
        raise XksProxyVpcEndpointServiceNotFoundException(
            f"AWS KMS could not find the VPC endpoint service {service}."
        )
    trial = CustomKeyStore(**{**store.__dict__})
    trial.uri_endpoint = p.get("XksProxyUriEndpoint") or store.uri_endpoint
    trial.uri_path = p.get("XksProxyUriPath") or store.uri_path
    if p.get("XksProxyAuthenticationCredential") is not None:
        trial.access_key_id, trial.secret_access_key = _credential(p)
    assert trial.uri_endpoint is not None and trial.uri_path is not None
    _uri_free(kms, trial.uri_endpoint, trial.uri_path, keep=store)
    if any(p.get(n) is not None for n in _XKS_ONLY):
        _proxy_check(kms, trial, "UpdateCustomKeyStore")
    store.__dict__.update(trial.__dict__)


@operation("DeleteCustomKeyStore")
def delete_custom_key_store(kms: LocalKMS, p: Params) -> Params:
    store = _store(kms, p["CustomKeyStoreId"])
    if store.state != "DISCONNECTED":
        # AWS text unknown: inferred.
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.id} is {store.state}: disconnect it before deleting it."
        )
    if any(k.custom_key_store_id == store.id for k in kms.keys.values()):
        # AWS text unknown: inferred.
        raise CustomKeyStoreHasCMKsException(
            f"Custom key store {store.id} still has KMS keys: schedule their deletion and wait "
            "until they are deleted."
        )
    del kms.key_stores[store.id]
    return {}


# -- keys in custom key stores -----------------------------------------------------------------


def check_new_key(kms: LocalKMS, p: Params, spec: str, origin: str) -> CustomKeyStore | None:
    """CreateKey's checks for CustomKeyStoreId, Origin and XksKeyId; the store, or None.

    AWS (CreateKey API reference): a key in a custom key store is a symmetric encryption key
    (SYMMETRIC_DEFAULT), single-Region, with Origin AWS_CLOUDHSM in a CloudHSM key store or
    EXTERNAL_KEY_STORE (and an XksKeyId) in an external key store, and the store must be
    CONNECTED.
    """
    store_id, xks_key_id = p.get("CustomKeyStoreId"), p.get("XksKeyId")
    in_store = origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
    # AWS texts unknown for these refusals: inferred.
    if store_id is None:
        if in_store:
            raise ValidationException(f"Origin {origin} requires a CustomKeyStoreId.")
        if xks_key_id is not None:
            raise ValidationException("XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.")
        return None
    store = _store(kms, store_id)
    wanted = "AWS_CLOUDHSM" if store.is_cloudhsm else "EXTERNAL_KEY_STORE"
    if origin != wanted:
        raise UnsupportedOperationException(
            f"Origin {origin} is not valid for custom key store {store.id}; use {wanted}."
        )
    if spec != "SYMMETRIC_DEFAULT" or p.get("KeyUsage") not in (None, "ENCRYPT_DECRYPT"):
        raise UnsupportedOperationException(
            f"KeySpec {spec} is not supported in a custom key store: only SYMMETRIC_DEFAULT."
        )
    if p.get("MultiRegion"):
        raise UnsupportedOperationException("Multi-Region keys cannot be in a custom key store.")
    if store.state != "CONNECTED" and not store.is_cloudhsm:
        # The XKS Proxy API specification's table of KMS exception messages.
        raise CustomKeyStoreInvalidStateException(
            "This KMS key is in a custom key store that is not connected to its external key "
            "store proxy. Connect the external key store and try the request again."
        )
    if store.state != "CONNECTED":
        # AWS text unknown: inferred.
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.id} is {store.state}, not CONNECTED."
        )
    if store.is_cloudhsm:
        if xks_key_id is not None:
            raise ValidationException("XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.")
        cluster = kms.cloudhsm.get(store.cluster_id)
        if cluster is None or not cluster.can_create_keys():
            raise CloudHsmClusterInvalidConfigurationException(
                f"AWS CloudHSM cluster {store.cluster_id} must contain at least two active HSMs, "
                "each in a different Availability Zone."
            )
        return store
    xks_key_id = require(p, "XksKeyId")
    if any(
        k.custom_key_store_id == store.id and k.xks_key_id == xks_key_id for k in kms.keys.values()
    ):
        raise XksKeyAlreadyInUseException(
            f"External key {xks_key_id} is already associated with a KMS key in {store.id}."
        )
    _check_external_key(kms, store, xks_key_id)
    return store


def _check_external_key(kms: LocalKMS, store: CustomKeyStore, xks_key_id: str) -> None:
    body = {"requestMetadata": xks.request_metadata("CreateKey", None, kms.account)}
    try:
        meta = _xks_call(kms, store, "metadata", body, xks_key_id)
    except xks.XksFailure as failure:
        row = xks.FAILURES[failure.kind]
        raise _error(row.create_key, row.message) from None
    spec, usage, status = meta.get("keySpec"), meta.get("keyUsage"), meta.get("keyStatus")
    # KMS Developer Guide, "Troubleshooting external key stores" (ledger xks-key-spec).
    if spec != "AES_256":
        raise XksKeyInvalidConfigurationException(
            f"The key spec of the external key must be AES_256. The key spec of specified "
            f"external key is {spec}."
        )
    if status != "ENABLED":
        raise XksKeyInvalidConfigurationException(
            f"The status of the external key must be ENABLED. The status of specified external "
            f"key is {status}."
        )
    if not isinstance(usage, list) or not {"ENCRYPT", "DECRYPT"} <= set(usage):
        raise XksKeyInvalidConfigurationException(
            f"The key usage of the external key must include ENCRYPT and DECRYPT. The key use of "
            f"specified external key is {usage}."
        )


def random_from_store(kms: LocalKMS, store_id: str, n: int) -> bytes:
    """GenerateRandom with a CustomKeyStoreId: random bytes from a connected CloudHSM cluster."""
    store = _store(kms, store_id)
    if not store.is_cloudhsm:
        # AWS text unknown: inferred (the API reference: CloudHSM key stores only).
        raise UnsupportedOperationException(
            f"GenerateRandom is not supported with external key store {store.id}."
        )
    if store.state != "CONNECTED":
        # AWS text unknown: inferred.
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.id} is {store.state}, not CONNECTED."
        )
    return os.urandom(n)


# -- the external key's layer of encryption ----------------------------------------------------


def _crypto_failure(kind: str) -> KMSError:
    row = xks.FAILURES[kind]
    return _error(row.crypto, row.message)


def outer_seal(kms: LocalKMS, key: Key, kms_operation: str, inner: bytes, aad: bytes) -> bytes:
    """Encrypt the KMS-sealed bytes again under the external key, through the proxy.

    Returns ``iv_len || iv || tag_len || tag || meta_len || meta || ciphertext`` (one length
    byte each): what the blob's ``sealed`` field carries for a key in an external key store.
    """
    store = kms.key_stores[key.custom_key_store_id or ""]
    body = {
        "requestMetadata": xks.request_metadata(kms_operation, key.arn, kms.account),
        "plaintext": xks.b64(inner),
        "encryptionAlgorithm": "AES_GCM",
        "additionalAuthenticatedData": xks.b64(aad),
    }
    try:
        out = _xks_call(kms, store, "encrypt", body, key.xks_key_id)
        iv, tag = (
            xks.unb64(out.get("initializationVector")),
            xks.unb64(out.get("authenticationTag")),
        )
        ct = xks.unb64(out.get("ciphertext"))
        meta = xks.unb64(out["ciphertextMetadata"]) if "ciphertextMetadata" in out else b""
    except xks.XksFailure as failure:
        raise _crypto_failure(failure.kind) from None
    if len(ct) != len(inner) or not (0 < len(iv) < 256 and 0 < len(tag) < 256 and len(meta) <= 20):
        raise _crypto_failure("malformed")
    return bytes([len(iv)]) + iv + bytes([len(tag)]) + tag + bytes([len(meta)]) + meta + ct


def outer_open(kms: LocalKMS, key: Key, kms_operation: str, sealed: bytes, aad: bytes) -> bytes:
    """Undo :func:`outer_seal` through the proxy; the KMS-sealed inner bytes."""
    parts: list[bytes] = []
    i = 0
    try:
        for _ in range(3):
            n = sealed[i]
            parts.append(sealed[i + 1 : i + 1 + n])
            if len(parts[-1]) != n:
                raise IndexError
            i += 1 + n
    except IndexError:
        # AWS sends InvalidCiphertextException with no message member (ledger invalid-ciphertext).
        raise InvalidCiphertextException() from None
    iv, tag, meta = parts
    store = kms.key_stores[key.custom_key_store_id or ""]
    body: dict[str, Any] = {
        "requestMetadata": xks.request_metadata(kms_operation, key.arn, kms.account),
        "encryptionAlgorithm": "AES_GCM",
        "ciphertext": xks.b64(sealed[i:]),
        "initializationVector": xks.b64(iv),
        "authenticationTag": xks.b64(tag),
        "additionalAuthenticatedData": xks.b64(aad),
    }
    if meta:
        body["ciphertextMetadata"] = xks.b64(meta)
    try:
        return xks.unb64(_xks_call(kms, store, "decrypt", body, key.xks_key_id).get("plaintext"))
    except xks.XksFailure as failure:
        raise _crypto_failure(failure.kind) from None
