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
error table, or ``unreachable``, ``timeout`` or ``malformed``; :data:`FAILURES` (kept in
:mod:`kmslab.kms.keystores.xks_failures`) says which AWS exception and message each kind
gives in each kind of KMS operation.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
import uuid
from typing import Any

from kmslab.kms.keystores.xks_failures import FAILURES

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
