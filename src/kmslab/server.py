"""Serve a LocalKMS over HTTP, so the AWS CLI and other SDKs can use it too.

>>> from kmslab.server import serve
>>> server = serve(port=0)              # doctest: +SKIP
>>> server.url                          # doctest: +SKIP
'http://127.0.0.1:40123'

Then ``aws kms list-keys --endpoint-url http://127.0.0.1:40123`` (any dummy credentials),
or ``AWS_ENDPOINT_URL_KMS=http://127.0.0.1:40123`` for every SDK. The server speaks the
same AWS JSON 1.1 protocol as the in-process client, through the same :meth:`LocalKMS.handle`.
It does not check SigV4 signatures. It binds to 127.0.0.1 by default: it is for one learner.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kmslab.kms.service import LocalKMS, new_request_id

__all__ = ["KMSServer", "serve"]

_PREFIX = "TrentService."


class _Handler(BaseHTTPRequestHandler):
    server: KMSServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        request_id = new_request_id()  # AWS: a new UUID4 per request, in x-amzn-RequestId
        status, payload = self.server.kms.handle(
            target.removeprefix(_PREFIX), body, request_id=request_id
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines would only clutter a notebook."""


class KMSServer(ThreadingHTTPServer):
    """An HTTP server in front of one LocalKMS; ``url`` is its endpoint."""

    daemon_threads = True

    def __init__(self, kms: LocalKMS, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.kms = kms

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def serve(
    kms: LocalKMS | None = None, host: str = "127.0.0.1", port: int = 0, *, background: bool = True
) -> KMSServer:
    """Start serving ``kms`` (a new LocalKMS by default); returns the running server.

    With ``background=True`` the server runs in a daemon thread and this returns at once;
    otherwise it serves until interrupted.
    """
    server = KMSServer(kms or LocalKMS(), host, port)
    if background:
        threading.Thread(target=server.serve_forever, name="kmslab-server", daemon=True).start()
    else:  # pragma: no cover - interactive
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.stop()
    return server
