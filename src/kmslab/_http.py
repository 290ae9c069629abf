"""The HTTP serving both of kmslab's servers share: waitress with production limits.

``kmslab serve`` (:mod:`kmslab.server`) and the external key store proxy
(:mod:`kmslab.xks.proxy`) are siblings that must not import each other, so what they share
lives here, below both: the limits, binding a socket with a one-line reason when it fails,
a waitress server whose own framing errors (bad ``Content-Length``, a body or headers too
large) are answered in the caller's JSON error shape, and start/stop in a daemon thread.

Why waitress (https://docs.pylonsproject.org/projects/waitress/), not ``http.server``:
its defaults already do what a server facing arbitrary clients needs, in pure Python, and it
embeds in a thread of a notebook kernel: a timeout on every connection that sends nothing
(even one stopped half-way through a request), a body limit refused as soon as the headers
announce more, a header limit, a listen backlog, ``TCP_NODELAY`` on every connection and
digit-only ``Content-Length`` parsing. :mod:`kmslab.server` says how it was chosen over
cheroot, uvicorn, hypercorn and granian.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import ServerStartError

if TYPE_CHECKING:  # waitress loads when a server starts, so `import kmslab` stays light
    from waitress.server import BaseWSGIServer

__all__ = ["DEFAULT_LIMITS", "ErrorBody", "ServerLimits", "WaitressServer", "bind"]


@dataclass(frozen=True)
class ServerLimits:
    """What one server accepts; the defaults suit one learner and every valid KMS request.

    ``max_body_bytes``: the largest request body, refused with HTTP 413 as soon as the
    headers announce more (or a chunked body grows past it). The largest valid KMS request
    is under 400 KB: a Decrypt whose ``Recipient.AttestationDocument`` is at its 262,144-byte
    maximum (about 350 KB in base64, botocore's KMS model); a 32 KB key policy is at most
    about 200 KB even with every character escaped. 1 MiB leaves room above both.
    ``max_header_bytes``: all request headers together (HTTP 431 above).
    ``idle_timeout_s``: a connection that sends nothing for this long, between requests or
    in the middle of one, is closed; checked every ``cleanup_interval_s``.
    ``connections``: open connections served at once; more wait in the listen backlog.
    ``threads``: worker threads running requests.
    """

    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 64 * 1024
    idle_timeout_s: int = 60
    cleanup_interval_s: int = 5
    connections: int = 1000
    threads: int = 4
    backlog: int = 1024


DEFAULT_LIMITS = ServerLimits()

#: (HTTP status of a framing error waitress found, waitress's text) -> (body, headers).
ErrorBody = Callable[[int, str], tuple[bytes, list[tuple[str, str]]]]

#: Bytes a worker buffers before it sends (waitress's ``send_bytes``). waitress's default, 1,
#: sends every write at once, so a response leaves as two TCP segments (the status line and
#: headers, then the body): two send() calls, and a client woken twice. Above the size of
#: any KMS answer, the worker only buffers, and the serving loop sends headers and body in
#: one send() when the request is done (waitress wakes it then anyway). Measured with
#: ``benchmarks/server.py``: about 1.6x the calls/s under 16 clients, less CPU per call on both
#: sides. waitress marked the setting deprecated in 1.3 (Pylons/waitress#246) and still
#: honours it in 3.0; it is pinned, and an unknown setting would stop the server from
#: starting, which the test suite would show.
_SEND_BYTES = 256 * 1024

_IN_USE = {98, 48, 10048}  # EADDRINUSE on Linux, macOS, Windows


def bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket, or ServerStartError with one line saying why."""
    if not 0 <= port <= 65535:  # the socket module would silently take it modulo 65536
        raise ServerStartError(f"invalid port {port}: choose one from 0 to 65535")
    if host.startswith("[") and host.endswith("]"):  # "[::1]", as URLs write IPv6 addresses
        host = host[1:-1]
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ServerStartError(f"cannot listen on {host!r}: not an address ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart after Ctrl-C
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = "in use" if exc.errno in _IN_USE else (exc.strerror or str(exc))
        raise ServerStartError(f"cannot listen on {host} port {port}: {reason}") from None
    return sock


def _channel_class(error_body: ErrorBody) -> type[Any]:
    """waitress's connection class, answering its own request errors through ``error_body``."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class JSONErrorTask(ErrorTask):
        """waitress answers broken requests itself (plain text); this answers in JSON."""

        def execute(self) -> None:
            request: Any = self.request  # waitress's parser, holding the error it found
            error = request.error
            body, headers = error_body(error.code, str(error.body))
            self.status = f"{error.code} {error.reason}"
            self.response_headers = [*self.response_headers, *headers]
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JSONChannel(HTTPChannel):
        error_task_class = JSONErrorTask

        def received(self, data: bytes) -> bool:
            # A TLS handshake record (type 22, version 3.x: a ClientHello) where a request
            # should start: the client was given an https:// URL for this plain-HTTP
            # server. Close at once, so the client fails now with a TLS error instead of
            # waiting for its read timeout (minutes, with an SDK's retries).
            if self.request is None and not self.requests and data[:2] == b"\x16\x03":
                self.will_close = True
                return False
            return bool(super().received(data))

    return JSONChannel


class WaitressServer:
    """A waitress server on a socket bound by :func:`bind`, serving ``app`` (WSGI).

    :meth:`serve_forever` blocks; :meth:`start` serves in a daemon thread named ``name``;
    :meth:`stop` closes every connection and the listening socket.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        sock: socket.socket,
        limits: ServerLimits,
        error_body: ErrorBody,
        name: str = "kmslab-server",
    ) -> None:
        from waitress.server import create_server

        self.name = name
        self._thread: threading.Thread | None = None
        # Queue-depth warnings would only clutter a notebook; errors still show.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        with warnings.catch_warnings():  # send_bytes: deprecated, still honoured (above)
            warnings.filterwarnings("ignore", "send_bytes", DeprecationWarning)
            server: Any = create_server(
                app,
                sockets=[sock],
                threads=limits.threads,
                backlog=limits.backlog,
                connection_limit=limits.connections,
                channel_timeout=limits.idle_timeout_s,
                cleanup_interval=limits.cleanup_interval_s,
                max_request_body_size=limits.max_body_bytes,
                max_request_header_size=limits.max_header_bytes,
                asyncore_use_poll=True,  # select() fails past 1024 open connections
                log_socket_errors=False,  # a client hanging up is not an error to print
                send_bytes=_SEND_BYTES,
                ident="kmslab",
            )
        server.channel_class = _channel_class(error_body)
        self._server: BaseWSGIServer = server

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (from another thread) or Ctrl-C."""
        self._server.run()

    def start(self) -> None:
        """Serve in a daemon thread; returns at once."""
        self._thread = threading.Thread(target=self.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and the listening socket; the serving loop then ends."""
        server: Any = self._server
        connections: dict[int, Any] = server._map

        def close_all() -> None:  # runs in the serving loop's own thread
            for channel in list(connections.values()):
                channel.close()

        if self._thread is not None and self._thread.is_alive():
            # OSError: the loop already closed its trigger, so it is ending by itself.
            with contextlib.suppress(OSError):
                server.trigger.pull_trigger(close_all)
            self._thread.join(timeout=10)
        if connections:
            close_all()
        server.task_dispatcher.shutdown(timeout=5)
