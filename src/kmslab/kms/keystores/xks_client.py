"""AWS KMS's side of the XKS Proxy API: signed HTTP calls to an external key store proxy.

The protocol is AWS's published *External Key Store (XKS) Proxy API Specification* (v1):
JSON over HTTP POST to ``{UriEndpoint}{UriPath}/keys/{externalKeyId}/{metadata|encrypt|
decrypt}`` and ``{UriPath}/health``, each request signed with AWS Signature Version 4 under
the service name ``kms-xks-proxy`` with the store's proxy authentication credential.
Signing is botocore's own :class:`botocore.auth.SigV4Auth` (a well-kept implementation
already installed with boto3): kmslab writes no signature code.

AWS reaches a proxy only over HTTPS on port 443 (the endpoint must match
``https://[a-zA-Z0-9.-]+``). A proxy on a learner's machine listens on plain HTTP on a
loopback port, so the local KMS keeps a routing table, ``kms.xks_routes``, from a store's
``XksProxyUriEndpoint`` to the ``http://127.0.0.1:<port>`` address that serves it (what DNS,
TLS and a load balancer do for AWS). An endpoint with no route is unreachable.

Failures become :class:`XksFailure` with a ``kind``: an ``errorName`` of the specification's
error table, or ``unreachable``, ``timeout`` or ``malformed``; :data:`FAILURES` says which
AWS exception and message each kind gives in each kind of KMS operation.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONNECTION_ERROR_CODES",
    "FAILURES",
    "SERVICE",
    "TIMEOUT_S",
    "XksFailure",
    "call",
]

#: The SigV4 service name of the XKS Proxy API (specification, Appendix A).
SERVICE = "kms-xks-proxy"
#: AWS KMS gives a proxy 250 ms; kmslab allows 2 s because a proxy thread on a busy
#: two-core laptop can be slower than that without anything being wrong.
TIMEOUT_S = 2.0

_INTERPRET = (
    "AWS KMS cannot interpret the response from the external key store proxy. If you see "
    "this error repeatedly, consult your external key store proxy administrator."
)


@dataclass(frozen=True, slots=True)
class Failure:
    """What one kind of proxy failure becomes: the AWS exception in Create/Update-
    CustomKeyStore (``manage``), in CreateKey (``create_key``) and in cryptographic
    operations (``crypto``), and the message, which is the same in all three."""

    manage: str
    create_key: str
    crypto: str
    message: str


_KIS, _CSIS = "KMSInvalidStateException", "CustomKeyStoreInvalidStateException"
_UNREACHABLE = "XksProxyUriUnreachableException"

#: kind -> Failure. Messages: KMS Developer Guide "Troubleshooting external key stores"
#: (ledger rows xks-*) where it gives them, else the XKS Proxy API specification's
#: table of KMS exception messages (its "Error codes" section). Every (code, message) of a
#: row has a ledger row (xks-<failure>-manage/-create-key/-crypto): the ledger test reads
#: this table's ``Failure(...)`` calls, so codes and messages stay literals or module
#: constants. AuthenticationFailedException's text is the specification's; the archived
#: Developer Guide words it "Verify the credentials for your external key store ...".
FAILURES: dict[str, Failure] = {
    "ValidationException": Failure("XksProxyInvalidResponseException", _CSIS, _KIS, _INTERPRET),
    "malformed": Failure("XksProxyInvalidResponseException", _CSIS, _KIS, _INTERPRET),
    "InvalidStateException": Failure(
        "XksProxyInvalidResponseException",
        "XksKeyInvalidConfigurationException",
        _KIS,
        "The external key store proxy rejected the request because the external key is not "
        "enabled in the external key manager.",
    ),
    "InvalidCiphertextException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because the specified ciphertext "
        "or additional authenticated data is corrupted, missing, or otherwise invalid.",
    ),
    "InvalidKeyUsageException": Failure(
        "XksProxyInvalidResponseException",
        "XksKeyInvalidConfigurationException",
        _KIS,
        "The external key store proxy rejected the request because the external key does not "
        "support the requested operation.",
    ),
    "AuthenticationFailedException": Failure(
        "XksProxyIncorrectAuthenticationCredentialException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because it could not authenticate "
        "AWS KMS. Verify the XKS proxy authentication credentials for your external key store "
        "and update if necessary.",
    ),
    "AccessDeniedException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy denied access to the operation. Verify that the user and "
        "the external key are both authorized for this operation, and try the request again.",
    ),
    "KeyNotFoundException": Failure(
        "XksProxyInvalidResponseException",
        "XksKeyNotFoundException",
        _KIS,
        "The external key store proxy rejected the request because it could not find the "
        "external key.",
    ),
    "InvalidUriPathException": Failure(
        "XksProxyInvalidConfigurationException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because of an invalid URI path. "
        "Verify the URI path for your external key store and update if necessary.",
    ),
    "UnsupportedOperationException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because it does not support the "
        "requested cryptographic operation.",
    ),
    "ThrottlingException": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request due to a very high request rate. "
        "Reduce the frequency of your calls using KMS keys in this external key store.",
    ),
    "DependencyTimeoutException": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "The external key store proxy did not respond to the request in the time allotted. "
        "Retry the request. If you see this error repeatedly, report it to your external key "
        "store proxy administrator.",
    ),
    "InternalException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because it cannot communicate with "
        "the external key manager. Verify that the external key store proxy configuration is "
        "correct and that the external key manager is available.",
    ),
    "unreachable": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "AWS KMS cannot communicate with the external key store proxy. This might be a "
        "transient network issue. If you see this error repeatedly, verify that your external "
        "key store proxy is active and is connected to the network, and that its endpoint URI "
        "is correct in your external keystore.",
    ),
    "timeout": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "AWS KMS rejected the request because the external key store proxy did not respond in "
        "time. Retry the request. If you see this error repeatedly, report it to your external "
        "key store proxy administrator.",
    ),
}

#: kind -> the ConnectionErrorCode a failed ConnectCustomKeyStore records.
CONNECTION_ERROR_CODES: dict[str, str] = {
    "unreachable": "XKS_PROXY_NOT_REACHABLE",
    "timeout": "XKS_PROXY_TIMED_OUT",
    "DependencyTimeoutException": "XKS_PROXY_TIMED_OUT",
    "AuthenticationFailedException": "XKS_PROXY_ACCESS_DENIED",
    "InvalidUriPathException": "XKS_PROXY_INVALID_CONFIGURATION",
}


class XksFailure(Exception):
    """A proxy call failed; ``kind`` is a key of :data:`FAILURES`."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind if kind in FAILURES else "malformed"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise XksFailure("malformed")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise XksFailure("malformed") from None


def call(
    *,
    base_url: str | None,
    uri_path: str,
    operation: str,
    body: dict[str, Any],
    access_key_id: str,
    secret_access_key: str,
    region: str,
    external_key_id: str | None = None,
) -> dict[str, Any]:
    """POST one signed XKS request; returns the JSON response or raises :class:`XksFailure`.

    ``operation`` is ``health``, ``metadata``, ``encrypt`` or ``decrypt``; ``base_url`` the
    routed ``http://host:port`` (None: no route, so unreachable).
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if base_url is None:
        raise XksFailure("unreachable")
    tail = "health" if operation == "health" else f"keys/{external_key_id}/{operation}"
    url = f"{base_url}{uri_path}/{tail}"
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST", url=url, data=data, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(access_key_id, secret_access_key), SERVICE, region).add_auth(request)
    prepared = request.prepare()
    outgoing = urllib.request.Request(
        url, data=data, headers=dict(prepared.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=TIMEOUT_S) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        raise XksFailure(_error_name(err.read())) from None
    except TimeoutError:
        raise XksFailure("timeout") from None
    except (urllib.error.URLError, ConnectionError, OSError) as err:
        reason = getattr(err, "reason", err)
        kind = "timeout" if isinstance(reason, (TimeoutError, socket.timeout)) else "unreachable"
        raise XksFailure(kind) from None
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise XksFailure("malformed") from None
    if not isinstance(parsed, dict):
        raise XksFailure("malformed")
    return parsed


def _error_name(raw: bytes) -> str:
    try:
        name = json.loads(raw).get("errorName")
    except (ValueError, AttributeError):
        return "malformed"
    return name if isinstance(name, str) else "malformed"


def request_metadata(kms_operation: str, key_arn: str | None, account: str) -> dict[str, str]:
    """The requestMetadata every XKS request carries (specification, Appendix B)."""
    meta = {
        "awsPrincipalArn": f"arn:aws:iam::{account}:root",
        "kmsOperation": kms_operation,
        "kmsRequestId": str(uuid.uuid4()),
    }
    if key_arn is not None:
        meta["kmsKeyArn"] = key_arn
    return meta
