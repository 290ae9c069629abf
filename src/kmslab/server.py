"""Serve a LocalKMS over HTTP, so the AWS CLI and every SDK can use it too.

>>> from kmslab.server import serve
>>> server = serve(port=0)              # doctest: +SKIP
>>> server.url                          # doctest: +SKIP
'http://127.0.0.1:40123'
>>> server.stop()                       # doctest: +SKIP

Then ``aws kms list-keys --endpoint-url http://127.0.0.1:40123`` (any dummy credentials),
or ``AWS_ENDPOINT_URL_KMS=http://127.0.0.1:40123`` for every SDK. The server speaks AWS JSON
1.1 (``POST /`` with ``X-Amz-Target: TrentService.<Operation>``) through the same
:meth:`LocalKMS.handle` as the in-process client. It does not check SigV4 signatures: it has
no authentication, so it binds to 127.0.0.1 by default and answers only requests whose
``Host`` header names it (a web page cannot reach it by DNS rebinding). The access key ID a
request is signed with chooses who it comes from: a principal's ``access_key_id`` (see
:mod:`kmslab.kms.iam`) acts as that principal, any other key as the administrator role, as
an in-process client does by default; the Region it is signed for chooses the Region of the
account it reaches, as a client's ``region_name`` does in-process.

The HTTP layer is waitress (https://docs.pylonsproject.org/projects/waitress/), chosen over
cheroot, uvicorn, hypercorn and granian because it is the one whose defaults already do
what a server facing arbitrary clients needs, in pure Python (no compiled wheel to find on
Binder or a new platform), and it embeds in a thread of a notebook kernel:

- a timeout on every connection that sends nothing, including one that stopped half-way
  through a request (``channel_timeout``; uvicorn only times out idle keep-alive
  connections after a response, cheroot ties a worker thread to each waiting connection);
- a limit on the body, refused as soon as the headers announce too much, and on the headers
  (uvicorn has no body limit at all); chunked bodies are de-chunked under the same limit;
- a listen backlog of 1024, keep-alive, ``TCP_NODELAY`` on every connection (the Nagle and
  delayed-ACK stall that cost ``http.server`` 45 ms per kept-alive request), and digit-only
  ``Content-Length`` parsing.

Measured with boto3 on one kept-alive connection (``benchmarks/server.py``), waitress,
cheroot and uvicorn+httptools all add well under 1 ms per call to the in-process cost.
Under 16 clients waitress serves over 4,000 calls/s once a response leaves in one send()
(``kmslab._http`` says how); most of a served call's time is then the client's own (boto3
and HTTP), which the benchmark measures against a server that does no work.

Errors the HTTP layer finds itself (framing, size, method, Host, target) are answered with
an AWS-shaped JSON body ``{"__type": ..., "message": ...}``, like every error from the KMS.
Where AWS's answer is unknown the choice is marked below.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

from kmslab import specs
from kmslab._http import DEFAULT_LIMITS, ServerLimits, WaitressServer, bind
from kmslab.kms.failures import new_request_id
from kmslab.kms.iam import Principal
from kmslab.kms.service import LocalKMS

__all__ = ["DEFAULT_LIMITS", "KMSServer", "ServerLimits", "is_exposed", "serve"]

log = logging.getLogger(__name__)

_PREFIX = "TrentService."
_JSON = "application/x-amz-json-1.1"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: The access key ID and Region of a SigV4 Authorization header's credential scope
#: (``Credential=<id>/<date>/<region>/kms/aws4_request``; AWS General Reference, "Signature
#: Version 4 signing process").
_CREDENTIAL = re.compile(r"Credential=([^/\s,]{1,128})/[0-9]{8}/([^/\s,]{1,64})/")


def _aws_error(code: str, message: str | None = None) -> bytes:
    """An AWS JSON 1.1 error body; no ``message`` member when AWS sends none."""
    body = {"__type": code} if message is None else {"__type": code, "message": message}
    return json.dumps(body).encode()


#: waitress's own request errors (by HTTP status) -> the ``__type`` answered. AWS's answers
#: to broken framing are unknown: inferred. 400 is a body the protocol cannot read, as
#: SerializationException says for bad JSON.
_FRAMING_ERRORS: dict[int, str] = {
    400: "SerializationException",
    413: "RequestEntityTooLargeException",
    431: "RequestHeaderFieldsTooLargeException",
    # waitress's answer when the application raised: a bug of kmslab's, as KMS's own
    # internal error (500 KMSInternalException, the API reference's common errors).
    500: "KMSInternalException",
    501: "NotImplementedException",
}


def _host_names(host: str, port: int, extra: Iterable[str]) -> frozenset[str]:
    """The ``Host`` header values this server answers: its names, with or without the port."""
    bound = f"[{host}]" if ":" in host else host
    names = {n.lower() for n in (*_LOOPBACK_NAMES, bound, *extra)}
    return frozenset(names | {f"{n}:{port}" for n in names})


class _App:
    """The WSGI application: checks what HTTP carries, then hands the body to the KMS."""

    def __init__(self, kms: LocalKMS, hosts: frozenset[str]) -> None:
        self.kms = kms
        self.hosts = hosts

    def respond(self, environ: dict[str, Any], request_id: str) -> tuple[int, bytes]:
        host = environ.get("HTTP_HOST")
        if host is not None and host.lower() not in self.hosts:
            # No AWS counterpart: kmslab's guard against DNS rebinding. AWS text unknown.
            return 403, _aws_error("AccessDeniedException", f"Host '{host}' is not served here.")
        # AWS JSON 1.1 is POST / only (Smithy's awsJson1_1 protocol). AWS's answer to another
        # method is unknown: inferred as the answer to a request that names no operation.
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if environ["REQUEST_METHOD"] != "POST" or not target.startswith(_PREFIX):
            # AWS: {"__type":"UnknownOperationException"}, no message (ledger: unknown-operation;
            # 400 as seen for another JSON 1.1 service, aws/aws-sdk-net#1536).
            return 400, _aws_error("UnknownOperationException")
        body = environ["wsgi.input"].read()
        scope = self._scope(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None:
            # Signed for a name that is no Region: what a JSON 1.1 service of AWS answers to
            # a credential scoped to a Region it does not serve (ledger http-bad-region).
            return 400, _aws_error(
                "InvalidSignatureException", "Credential should be scoped to a valid region."
            )
        kms, principal = scope
        with kms.acting_as(principal):
            return kms.handle(target[len(_PREFIX) :], body, request_id=request_id)

    def _scope(self, authorization: str) -> tuple[LocalKMS, Principal | None] | None:
        """The Region's local KMS and the principal a request's signature names.

        AWS has an endpoint per Region; here one endpoint serves every Region of the account,
        chosen by the Region the request was signed for, as a client's ``region_name``
        chooses it in-process. The access key ID names the caller (None: the default).
        Unsigned requests go to this server's Region; None for a Region name no partition
        has.
        """
        found = _CREDENTIAL.search(authorization)
        if found is None:
            return self.kms, None
        access_key_id, region = found.groups()
        kms = self.kms
        if region != kms.region:
            if not specs.is_region(region):
                return None
            kms = kms.aws_account.region(region)
        return kms, kms.iam.find_access_key(access_key_id)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Sequence[bytes]:
        request_id = new_request_id()  # AWS: a new UUID4 per request, in x-amzn-RequestId
        status, body = self.respond(environ, request_id)
        start_response(f"{status} {HTTPStatus(status).phrase}", _headers(body, request_id))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]  # HEAD: headers only


def _headers(body: bytes, request_id: str | None = None) -> list[tuple[str, str]]:
    return [
        ("Content-Type", _JSON),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id or new_request_id()),
    ]


def _framing_error(
    status: int, text: str, limits: ServerLimits
) -> tuple[bytes, list[tuple[str, str]]]:
    """waitress's own request error (HTTP ``status``, its ``text``) as an AWS JSON body."""
    code = _FRAMING_ERRORS.get(status, "SerializationException")
    if status == 413:
        message = f"Request body is larger than {limits.max_body_bytes} bytes."
    else:
        message = text  # waitress's text: "Content-Length is invalid"
    body = _aws_error(code, message)
    return body, _headers(body)


def is_exposed(address: str) -> bool:
    """True unless ``address`` (numeric, as bound) is a loopback address (an IPv4 one
    written as IPv6, ``::ffff:127.0.0.1``, too).

    >>> is_exposed("127.0.0.1"), is_exposed("::1"), is_exposed("0.0.0.0"), is_exposed("10.1.2.3")
    (False, False, True, True)
    >>> is_exposed("::ffff:127.0.0.1")
    False
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return not (mapped or ip).is_loopback


class KMSServer:
    """An HTTP server in front of one LocalKMS; ``url`` is its endpoint.

    The socket is bound here (ServerStartError if it cannot be); requests are served by
    :meth:`serve_forever` (blocking) or :meth:`start` (a daemon thread), until :meth:`stop`.
    ``allowed_hosts``: further names the ``Host`` header may carry (when bound to an
    address other clients reach by name).
    """

    def __init__(
        self,
        kms: LocalKMS,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: ServerLimits = DEFAULT_LIMITS,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.kms = kms
        self.limits = limits
        sock = bind(host, port)
        self.host: str = sock.getsockname()[0]
        self.port: int = sock.getsockname()[1]
        app = _App(kms, _host_names(self.host, self.port, allowed_hosts))
        self._http = WaitressServer(
            app, sock, limits, lambda status, text: _framing_error(status, text, limits)
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def exposed(self) -> bool:
        """True when bound to an address other machines may reach (no authentication!)."""
        return is_exposed(self.host)

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (from another thread) or Ctrl-C."""
        self._http.serve_forever()

    def start(self) -> KMSServer:
        """Serve in a daemon thread; returns self at once."""
        self._http.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; the serving loop then ends."""
        self._http.stop()


def serve(
    kms: LocalKMS | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    background: bool = True,
    limits: ServerLimits = DEFAULT_LIMITS,
) -> KMSServer:
    """Start serving ``kms`` (a new LocalKMS by default); returns the running server.

    With ``background=True`` the server runs in a daemon thread and this returns at once;
    otherwise it serves until interrupted. Raises ServerStartError if it cannot listen.
    """
    server = KMSServer(kms or LocalKMS(), host, port, limits=limits)
    if server.exposed:
        log.warning("kmslab serve: %s is reachable from other machines; it has no auth", server.url)
    if background:
        return server.start()
    try:  # pragma: no cover - interactive
        server.serve_forever()
    except KeyboardInterrupt:  # pragma: no cover
        server.stop()
    return server
