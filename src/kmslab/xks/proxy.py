"""The external key store proxy server (AWS's XKS Proxy API v1) over HTTP on 127.0.0.1.

What it does, from AWS's *External Key Store (XKS) Proxy API Specification*:

- ``POST {path}/kms/xks/v1/keys/{externalKeyId}/metadata|encrypt|decrypt`` and
  ``POST {path}/kms/xks/v1/health``, JSON bodies with base64 byte fields; a GET on those
  URIs is refused with 405;
- every request must carry a SigV4 signature (service ``kms-xks-proxy``) made with the
  proxy's authentication credential, else 401 ``AuthenticationFailedException``;
- errors are ``{"errorName": ..., "errorMessage": ...}`` with the specification's HTTP
  status: 400 ValidationException / InvalidStateException / InvalidCiphertextException /
  InvalidKeyUsageException, 401, 404 KeyNotFoundException / InvalidUriPathException, 500;
- Encrypt is AES-256-GCM with a 12-byte IV, and the AAD the external key manager sees is
  ``len(aad) (2 bytes) || aad || len(ciphertextMetadata) (1 byte) || ciphertextMetadata``.

The signature is checked by recomputing it with botocore's own SigV4 signer
(:class:`botocore.auth.SigV4Auth`) over the headers the request says it signed, at the
time it says it was signed; no signature code is written here.

Why waitress (through :mod:`kmslab._http`, shared with ``kmslab serve``) rather than the
standard library's ``ThreadingHTTPServer``: the proxy is a server any local process can
reach, and ``http.server`` has no idle or read timeout (a client that stops half-way through
a request holds a thread for ever), no body or header limit (it reads whatever
``Content-Length`` announces) and no bound on threads. waitress closes silent connections,
refuses oversized bodies and headers from the headers alone, runs a fixed pool of worker
threads behind a listen backlog, and is pure Python; its own framing errors are answered in
the specification's JSON error shape. (AWS requires HTTPS on port 443; on a learner's
machine the KMS reaches the proxy over plain HTTP, see
:mod:`kmslab.kms.keystores.xks_client`.)

>>> proxy = XksProxy()                                 # doctest: +SKIP
>>> proxy.keys.create("key-1")                         # doctest: +SKIP
>>> proxy.start(); proxy.url                           # doctest: +SKIP
'http://127.0.0.1:40417'
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab._http import ServerLimits, WaitressServer, bind

__all__ = ["PROXY_LIMITS", "ExternalKey", "ExternalKeyManager", "XksProxy", "new_credential"]

SERVICE = "kms-xks-proxy"
_ACCESS_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
#: errorName -> HTTP status (specification, "Error codes").
STATUS: dict[str, int] = {
    "ValidationException": 400,
    "InvalidStateException": 400,
    "InvalidCiphertextException": 400,
    "InvalidKeyUsageException": 400,
    "AuthenticationFailedException": 401,
    "AccessDeniedException": 403,
    "KeyNotFoundException": 404,
    "InvalidUriPathException": 404,
    "ThrottlingException": 429,
    "InternalException": 500,
    "UnsupportedOperationException": 501,
    "DependencyTimeoutException": 503,
}

#: What the proxy accepts. An XKS request body is small: KMS sends at most a 4,096-byte
#: plaintext (its Encrypt limit) once sealed by KMS, and AAD from an encryption context,
#: each base64-encoded, so well under 64 KiB; 256 KiB leaves room. Headers are a SigV4
#: Authorization and a few more (16 KiB). Connections idle for 30 s are closed.
PROXY_LIMITS = ServerLimits(
    max_body_bytes=256 * 1024, max_header_bytes=16 * 1024, idle_timeout_s=30, connections=100
)


def new_credential() -> tuple[str, str]:
    """A fresh (AccessKeyId, RawSecretAccessKey) in the forms AWS requires: 20-30 characters
    of A-Z and 2-7, and 43-64 of base64 characters."""
    access = "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(20))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(43))
    return access, secret


class ProxyError(Exception):
    """An XKS error response: ``name`` is its errorName."""

    def __init__(self, name: str, message: str = "") -> None:
        super().__init__(name)
        self.name, self.message = name, message


@dataclass(eq=False)
class ExternalKey:
    """One key in the external key manager. Its material never leaves this object."""

    id: str
    material: bytes = field(repr=False)
    status: str = "ENABLED"
    usage: tuple[str, ...] = ("ENCRYPT", "DECRYPT")
    spec: str = "AES_256"


class ExternalKeyManager:
    """The keys behind the proxy (the role of an HSM outside AWS)."""

    def __init__(self) -> None:
        self.by_id: dict[str, ExternalKey] = {}
        self._lock = threading.Lock()

    def create(self, key_id: str, **kw: Any) -> ExternalKey:
        """A new AES-256 external key (a key manager's own API, not the XKS API)."""
        key = ExternalKey(key_id, os.urandom(32), **kw)
        with self._lock:
            self.by_id[key_id] = key
        return key

    def get(self, key_id: str) -> ExternalKey:
        key = self.by_id.get(key_id)
        if key is None:
            raise ProxyError("KeyNotFoundException", "The external key was not found.")
        return key


def _aad(aad: bytes, metadata: bytes) -> bytes:
    """The AAD the key manager authenticates (specification, Encrypt, ciphertextMetadata)."""
    return len(aad).to_bytes(2, "big") + aad + bytes([len(metadata)]) + metadata


def _b64(body: dict[str, Any], name: str, required: bool = True) -> bytes:
    value = body.get(name)
    if value is None and not required:
        return b""
    if not isinstance(value, str):
        raise ProxyError("ValidationException", f"{name} is missing or not a string.")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ProxyError("ValidationException", f"{name} is not valid base64.") from None


def _usable(key: ExternalKey, use: str) -> None:
    if key.status != "ENABLED":
        raise ProxyError("InvalidStateException", "The external key is disabled.")
    if use not in key.usage:
        raise ProxyError("InvalidKeyUsageException", f"The external key does not allow {use}.")


def verify_sigv4(
    method: str, url: str, headers: dict[str, str], body: bytes, credentials: dict[str, str]
) -> bool:
    """Recompute the request's SigV4 signature with botocore's signer; True when it matches.

    Only the headers named in SignedHeaders are signed again, at the X-Amz-Date the request
    carries, in the scope (date, Region, service) its Credential names.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    try:
        algorithm, rest = auth.split(" ", 1)
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        access_key, day, region, service, terminator = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
        stamp = lower["x-amz-date"]
    except (KeyError, ValueError):
        return False
    secret = credentials.get(access_key)
    if (
        secret is None
        or algorithm != "AWS4-HMAC-SHA256"
        or service != SERVICE
        or terminator != "aws4_request"
        or not stamp.startswith(day)
    ):
        return False
    request = AWSRequest(
        method=method, url=url, data=body, headers={h: lower.get(h, "") for h in signed}
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(access_key, secret), SERVICE, region)
    if sorted(signer.headers_to_sign(request)) != sorted(signed):
        return False
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return hmac.compare_digest(expected, signature)


def _error_body(name: str, message: str) -> bytes:
    """The specification's error body."""
    return json.dumps({"errorName": name, "errorMessage": message}).encode()


def _json_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]


def _framing_error(status: int, text: str) -> tuple[bytes, list[tuple[str, str]]]:
    """waitress's own request errors (bad framing, a body or headers too large) in the
    specification's error shape. The specification names no error for these: its
    ValidationException (a request the proxy cannot read) is inferred; waitress's status
    (400, 413, 431, 501) is kept."""
    body = _error_body("ValidationException", text)
    return body, _json_headers(body)


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers from a WSGI environ (``HTTP_X_AMZ_DATE`` -> ``x-amz-date``)."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


class _App:
    """The WSGI application: checks the signature, then hands the request to the proxy."""

    def __init__(self, proxy: XksProxy) -> None:
        self.proxy = proxy

    def respond(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        path = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] != "POST":
            return 405, {"errorName": "ValidationException", "errorMessage": "Use POST."}
        body = environ["wsgi.input"].read()
        proxy = self.proxy
        try:
            headers = _request_headers(environ)
            url = f"http://{headers.get('host', '')}{path}"
            if not verify_sigv4("POST", url, headers, body, proxy.credentials):
                raise ProxyError("AuthenticationFailedException", "Invalid SigV4 signature.")
            try:
                request = json.loads(body)
            except ValueError:
                raise ProxyError("ValidationException", "The body is not JSON.") from None
            if not isinstance(request, dict) or not isinstance(
                request.get("requestMetadata"), dict
            ):
                raise ProxyError("ValidationException", "requestMetadata is missing.")
            return 200, proxy.dispatch(path, request)
        except ProxyError as err:
            return STATUS[err.name], {"errorName": err.name, "errorMessage": err.message}
        except Exception:  # a proxy bug: answer as the specification says, never a traceback
            return 500, {"errorName": "InternalException"}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Sequence[bytes]:
        started = time.perf_counter()
        status, reply = self.respond(environ)
        path = environ.get("PATH_INFO", "")
        self.proxy.log.append((path.rsplit("/", 1)[-1], status, time.perf_counter() - started))
        payload = json.dumps(reply).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}", _json_headers(payload))
        return [payload]


class XksProxy:
    """An XKS proxy with its own keys and credential.

    ``uri_path`` is the XksProxyUriPath it serves (default ``/kms/xks/v1``);
    ``credentials`` maps AccessKeyId -> secret (two at once let you rotate them, as the
    specification recommends); ``keys`` is its :class:`ExternalKeyManager`; ``limits`` what
    its HTTP server accepts (:data:`PROXY_LIMITS`). ``start()``
    serves on ``host:port`` (port 0: any free) in a thread; ``stop()`` stops it.
    """

    def __init__(
        self,
        uri_path: str = "/kms/xks/v1",
        credential: tuple[str, str] | None = None,
        keys: ExternalKeyManager | None = None,
        limits: ServerLimits = PROXY_LIMITS,
    ) -> None:
        self.uri_path = uri_path
        self.limits = limits
        self.access_key_id, self.secret_access_key = credential or new_credential()
        self.credentials = {self.access_key_id: self.secret_access_key}
        self.keys = keys or ExternalKeyManager()
        #: (operation, HTTP status, seconds) per request, never any key or plaintext.
        self.log: list[tuple[str, int, float]] = []
        self._http: WaitressServer | None = None
        self.port: int | None = None

    def __repr__(self) -> str:
        state = f"serving {self.url}" if self.running else "stopped"
        return f"XksProxy({state}, keys={len(self.keys.by_id)})"

    @property
    def running(self) -> bool:
        return self._http is not None

    @property
    def url(self) -> str:
        """The http://127.0.0.1:<port> address (route a store's endpoint here)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def authentication_credential(self) -> dict[str, str]:
        """XksProxyAuthenticationCredential for CreateCustomKeyStore."""
        return {"AccessKeyId": self.access_key_id, "RawSecretAccessKey": self.secret_access_key}

    def _bind(self, host: str, port: int) -> WaitressServer:
        """Bind (ServerStartError if it cannot) and make the waitress server."""
        sock = bind(host, port)
        self.port = sock.getsockname()[1]
        self._http = WaitressServer(_App(self), sock, self.limits, _framing_error, "kmslab-xks")
        return self._http

    def start(self, host: str = "127.0.0.1", port: int | None = None) -> XksProxy:
        """Serve in a daemon thread; restarting reuses the previous port. Raises
        ServerStartError when it cannot listen."""
        if self._http is None:
            self._bind(host, port if port is not None else self.port or 0).start()
        return self

    def stop(self) -> None:
        """Stop serving (the keys stay; ``start()`` again serves them on the same port)."""
        server, self._http = self._http, None
        if server is not None:
            server.stop()

    def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        ready: Callable[[XksProxy], None] | None = None,
    ) -> None:
        """Serve in this thread until interrupted (``kmslab xks-proxy``); ``ready`` is
        called once the port is bound."""
        server = self._bind(host, port)
        if ready is not None:
            ready(self)
        try:
            server.serve_forever()
        finally:
            self.stop()

    # -- the four operations -----------------------------------------------------------

    def dispatch(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        if not path.startswith(self.uri_path + "/"):
            raise ProxyError("InvalidUriPathException", "The URI path is not valid.")
        parts = path[len(self.uri_path) + 1 :].split("/")
        if parts == ["health"]:
            return self.health()
        if len(parts) == 3 and parts[0] == "keys":
            handler = {"metadata": self.metadata, "encrypt": self.encrypt, "decrypt": self.decrypt}
            if parts[2] in handler:
                return handler[parts[2]](self.keys.get(parts[1]), request)
        raise ProxyError("InvalidUriPathException", "The URI path is not valid.")

    def health(self) -> dict[str, Any]:
        return {
            "xksProxyFleetSize": 1,
            "xksProxyVendor": "kmslab",
            "xksProxyModel": "kmslab XKS proxy",
            "ekmVendor": "kmslab",
            "ekmFleetDetails": [{"id": "ekm-1", "model": "in-memory", "healthStatus": "ACTIVE"}],
        }

    def metadata(self, key: ExternalKey, request: dict[str, Any]) -> dict[str, Any]:
        return {"keySpec": key.spec, "keyUsage": list(key.usage), "keyStatus": key.status}

    def encrypt(self, key: ExternalKey, request: dict[str, Any]) -> dict[str, Any]:
        _usable(key, "ENCRYPT")
        if request.get("encryptionAlgorithm") != "AES_GCM":
            raise ProxyError("ValidationException", "encryptionAlgorithm must be AES_GCM.")
        plaintext = _b64(request, "plaintext")
        aad = _b64(request, "additionalAuthenticatedData", required=False)
        iv = os.urandom(12)
        sealed = AESGCM(key.material).encrypt(iv, plaintext, _aad(aad, b""))
        return {
            "ciphertext": base64.b64encode(sealed[:-16]).decode(),
            "authenticationTag": base64.b64encode(sealed[-16:]).decode(),
            "initializationVector": base64.b64encode(iv).decode(),
        }

    def decrypt(self, key: ExternalKey, request: dict[str, Any]) -> dict[str, Any]:
        _usable(key, "DECRYPT")
        if request.get("encryptionAlgorithm") != "AES_GCM":
            raise ProxyError("ValidationException", "encryptionAlgorithm must be AES_GCM.")
        ct, iv = _b64(request, "ciphertext"), _b64(request, "initializationVector")
        tag = _b64(request, "authenticationTag")
        aad = _b64(request, "additionalAuthenticatedData", required=False)
        meta = _b64(request, "ciphertextMetadata", required=False)
        try:
            plaintext = AESGCM(key.material).decrypt(iv, ct + tag, _aad(aad, meta))
        except (InvalidTag, ValueError):
            raise ProxyError("InvalidCiphertextException", "The ciphertext is not valid.") from None
        return {"plaintext": base64.b64encode(plaintext).decode()}
