"""The HTTP front: real clients reach the same LocalKMS; hostile HTTP gets AWS-shaped 4xx.

Every test talks to 127.0.0.1 and is bounded in time by socket timeouts and deadlines; none
asserts how fast anything is (benchmarks/server.py measures that).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kmslab import LocalKMS
from kmslab.cli import build_parser, main
from kmslab.cli import serve as serve_command
from kmslab.exceptions import ServerStartError
from kmslab.server import DEFAULT_LIMITS, KMSServer, ServerLimits, serve

TIMEOUT = 10.0  # seconds any single socket operation may take before the test fails


@pytest.fixture
def server() -> Iterator[KMSServer]:
    srv = serve(LocalKMS())
    yield srv
    srv.stop()


def _client(url: str) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _connect(server: KMSServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=TIMEOUT)


def _request(
    server: KMSServer,
    body: bytes = b"{}",
    *,
    method: str = "POST",
    target: str | None = "TrentService.ListKeys",
    headers: dict[str, str] | None = None,
) -> bytes:
    """One raw HTTP/1.1 request, exactly as written here."""
    lines = [f"{method} / HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    if target is not None:
        lines.append(f"X-Amz-Target: {target}")
    all_headers = {"Content-Length": str(len(body)), **(headers or {})}
    lines += [f"{k}: {v}" for k, v in all_headers.items() if v is not None]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def _response(sock: socket.socket, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """Read exactly one response (status, lower-case headers, body) and nothing after it."""
    reader = _readers.get(sock) or _readers.setdefault(sock, sock.makefile("rb"))
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline().decode("latin-1").strip()) != "":
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if method == "HEAD" else int(headers.get("content-length", 0))
    return status, headers, reader.read(length)


#: One buffered reader per socket, so no bytes are lost between two responses.
_readers: weakref.WeakKeyDictionary[socket.socket, Any] = weakref.WeakKeyDictionary()


def _with_host(server: KMSServer, host: str) -> bytes:
    """A ListKeys request whose Host header is ``host`` ("{port}" replaced by the port)."""
    ours = f"Host: 127.0.0.1:{server.port}".encode()
    return _request(server).replace(ours, f"Host: {host}".format(port=server.port).encode())


def _exchange(server: KMSServer, raw: bytes, method: str = "POST") -> tuple[int, Any, dict]:
    with _connect(server) as sock:
        sock.sendall(raw)
        status, headers, body = _response(sock, method)
    return status, json.loads(body) if body else None, headers


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


# -- real clients ----------------------------------------------------------------------------


def test_signed_boto3_client_round_trip_over_http(server: KMSServer) -> None:
    kms = _client(server.url)
    key = kms.create_key(Description="over http")["KeyMetadata"]
    assert key["KeyId"] in server.kms.keys
    blob = kms.encrypt(KeyId=key["Arn"], Plaintext=b"hi")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hi"


def test_errors_travel_as_aws_json(server: KMSServer) -> None:
    kms = _client(server.url)
    with pytest.raises(ClientError) as info:
        kms.describe_key(KeyId="alias/missing")
    assert info.value.response["Error"]["Code"] == "NotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_malformed_body_is_an_aws_error_not_a_crash(server: KMSServer) -> None:
    status, error, _ = _exchange(server, _request(server, b"{not json"))
    assert (status, error["__type"]) == (400, "SerializationException")


def test_each_response_has_its_own_uuid4_request_id(server: KMSServer) -> None:
    kms = _client(server.url)
    ids = [kms.list_keys()["ResponseMetadata"]["RequestId"] for _ in range(3)]
    with pytest.raises(ClientError) as info:
        kms.describe_key(KeyId="alias/missing")
    ids.append(info.value.response["ResponseMetadata"]["RequestId"])
    ids.append(
        _exchange(server, _request(server, headers={"Content-Length": "abc"}))[2][
            "x-amzn-requestid"
        ]
    )
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_a_response_leaves_in_one_send_headers_and_body_together(server: KMSServer) -> None:
    """waitress's default sends the headers, then the body: two segments, two client wakeups.

    kmslab's server buffers a response and sends it whole (``send_bytes`` in ``_http.py``),
    so the first read after a request already holds the whole answer, for several requests
    on one kept-alive connection.
    """
    with _connect(server) as sock:
        for _ in range(5):
            sock.sendall(_request(server))
            first = sock.recv(65536)
            head, _, body = first.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            assert len(body) == length
            assert json.loads(body) == {"Keys": [], "Truncated": False}


def test_the_access_key_id_chooses_the_principal(server: KMSServer) -> None:
    """A principal's access key acts as it; any other key as the default administrator."""
    kms = server.kms
    reader = kms.iam.create_user(
        "reader",
        policy={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}],
        },
    )
    admin = _client(server.url)  # dummy credentials: the administrator role
    key_id = admin.create_key()["KeyMetadata"]["KeyId"]
    as_reader = boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=reader.access_key_id,
        aws_secret_access_key="not checked",
    )
    assert as_reader.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    with pytest.raises(ClientError) as info:
        as_reader.encrypt(KeyId=key_id, Plaintext=b"x")
    error = info.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    denied = f"User: {reader.arn} is not authorized to perform: kms:Encrypt"
    assert error["Message"].startswith(denied)
    assert admin.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"].endswith(key_id)
    assert [e["userIdentity"]["arn"] for e in kms.events(key=key_id)][-2:] == [
        reader.arn,
        kms.iam.default.caller_arn,
    ]


def test_the_region_a_request_is_signed_for_chooses_the_region(server: KMSServer) -> None:
    """One endpoint, every Region of the account: as region_name does in-process."""
    here, there = (
        _client(server.url),
        boto3.client(
            "kms",
            endpoint_url=server.url,
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ),
    )
    arn = there.create_key()["KeyMetadata"]["Arn"]
    assert arn.startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert [k["KeyArn"] for k in there.list_keys()["Keys"]] == [arn]
    assert here.list_keys()["Keys"] == []
    assert server.kms.aws_account.region("eu-west-1").keys  # the same account's Region
    china = boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="cn-north-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    assert china.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"].startswith(
        "arn:aws-cn:kms:cn-north-1:"
    )


@pytest.mark.parametrize("access_key_id", ["dummy_key", "fake-key", "x.y"])
def test_any_dummy_access_key_reaches_the_region_it_signs_for(
    server: KMSServer, access_key_id: str
) -> None:
    eu = boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key="test",
    )
    assert eu.create_key()["KeyMetadata"]["Arn"].startswith("arn:aws:kms:eu-west-1:")


@pytest.mark.parametrize("region", ["EU-WEST-1", "eu-west-1x", "us-iso-east-1"])
def test_a_signature_for_no_region_is_refused(server: KMSServer, region: str) -> None:
    """Not silently another Region's keys: AWS's answer to a credential it cannot serve."""
    raw = _request(
        server,
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20261130/{region}/kms/"
            "aws4_request, SignedHeaders=host, Signature=0"
        },
    )
    status, body, _ = _exchange(server, raw)
    assert status == 400
    assert body == {
        "__type": "InvalidSignatureException",
        "message": "Credential should be scoped to a valid region.",
    }
    assert server.kms.aws_account.regions.keys() == {"us-east-1"}


def _raising_handle(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a bug")


@pytest.mark.parametrize(
    ("headers", "status", "row_id"),
    [
        ({"Content-Length": "abc"}, 400, "http-bad-framing"),
        ({"Content-Length": str(10 * 2**30)}, 413, "http-body-too-large"),
        ({"X-Padding": "x" * (DEFAULT_LIMITS.max_header_bytes + 1)}, 431, "http-headers-too-large"),
        ({"Transfer-Encoding": "gzip"}, 501, "http-not-implemented"),
        ({"Host": "evil.example"}, 403, "http-host-refused"),
        ({}, 500, "http-internal"),
        (
            {"Authorization": "AWS4-HMAC-SHA256 Credential=a/20261130/Nowhere/kms/aws4_request"},
            400,
            "http-bad-region",
        ),
    ],
)
def test_each_answer_of_the_http_layer_is_a_ledger_row(
    server: KMSServer, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str], status: int,
    row_id: str,
) -> None:  # fmt: skip
    from kmslab.kms import ledger

    if status == 500:  # a bug escaping the KMS: waitress's own answer, in AWS's shape
        monkeypatch.setattr(server.kms, "handle", _raising_handle)
    raw = _request(server, headers=headers)
    if "Host" in headers:
        raw = raw.replace(f"Host: 127.0.0.1:{server.port}\r\n".encode(), b"")
    got_status, body, _ = _exchange(server, raw)
    assert got_status == status
    row = ledger.match(body["__type"], body.get("message"))
    assert row is not None and row.id == row_id, body


def test_a_tls_client_hello_is_closed_at_once(server: KMSServer) -> None:
    """An https:// URL for this plain-HTTP server: the client fails now, not at a timeout."""
    import ssl

    with _connect(server) as raw:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        # A TimeoutError (the socket's TIMEOUT) would be the hang this prevents.
        with pytest.raises((ssl.SSLError, ConnectionError)):
            context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert _client(server.url).list_keys()["Keys"] == []  # and the server serves on


# -- framing and size ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "status", "code"),
    [
        ("-1", 400, "SerializationException"),
        ("abc", 400, "SerializationException"),
        (str(100 * 2**30), 413, "RequestEntityTooLargeException"),
        (str(10 * 2**30), 413, "RequestEntityTooLargeException"),  # and only 2 bytes sent
    ],
)
def test_bad_content_length_is_answered_at_once(
    server: KMSServer, length: str, status: int, code: str
) -> None:
    got, error, headers = _exchange(server, _request(server, headers={"Content-Length": length}))
    assert (got, error["__type"]) == (status, code)
    assert error["message"]
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["connection"] == "close"


def test_a_50_mb_body_is_refused_without_being_read_or_echoed(server: KMSServer) -> None:
    size = 50 * 2**20
    with _connect(server) as sock:
        sock.sendall(
            _request(server, b"")[: -len(b"\r\n\r\n")].replace(
                b"Content-Length: 0", f"Content-Length: {size}".encode()
            )
            + b"\r\n\r\n"
        )

        def send_body() -> None:
            chunk = b"A" * 2**20
            try:
                for _ in range(size // len(chunk)):
                    sock.sendall(chunk)
            except OSError:  # the server answered and closed: expected
                pass

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        status, _, body = _response(sock)
        sender.join(TIMEOUT)
    assert status == 413
    assert json.loads(body)["__type"] == "RequestEntityTooLargeException"
    assert len(body) < 1000


def test_the_largest_valid_kms_request_fits_under_the_limit(server: KMSServer) -> None:
    # Decrypt with an attestation document at its model maximum (262,144 bytes) is the largest
    # valid KMS request; it must reach the KMS (any KMS answer), not stop at the size limit.
    document = base64.b64encode(os.urandom(262144)).decode()
    body = json.dumps(
        {
            "CiphertextBlob": base64.b64encode(os.urandom(6144)).decode(),
            "Recipient": {
                "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                "AttestationDocument": document,
            },
            "EncryptionContext": {"k" * 100: "\u2603" * 1000},
        }
    ).encode()
    assert len(body) < DEFAULT_LIMITS.max_body_bytes / 2
    status, error, _ = _exchange(server, _request(server, body, target="TrentService.Decrypt"))
    assert status == 400 and error["__type"] != "RequestEntityTooLargeException"


def test_chunked_bodies_are_read_and_the_connection_stays_usable(server: KMSServer) -> None:
    key_id = _client(server.url).create_key()["KeyMetadata"]["KeyId"]
    body = json.dumps({"KeyId": key_id}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
    raw = _request(
        server,
        chunks + b"0\r\n\r\n",
        target="TrentService.DescribeKey",
        headers={"Content-Length": None, "Transfer-Encoding": "chunked"},
    )  # type: ignore[dict-item]
    with _connect(server) as sock:
        sock.sendall(raw + _request(server))  # a second request right behind the chunked one
        first = _response(sock)
        second = _response(sock)
    assert first[0] == 200 and json.loads(first[2])["KeyMetadata"]["KeyId"] == key_id
    assert second[0] == 200 and json.loads(second[2])["Keys"][0]["KeyId"] == key_id


# -- operations and methods ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["ListKeys", "TrentService.MakeCoffee", "Trent.ListKeys", None])
def test_unknown_operation_is_aws_unknown_operation_exception(
    server: KMSServer, target: str | None
) -> None:
    status, error, _ = _exchange(server, _request(server, target=target))
    assert (status, error) == (400, {"__type": "UnknownOperationException"})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_methods_other_than_post_are_unknown_operations(server: KMSServer, method: str) -> None:
    status, error, _ = _exchange(server, _request(server, method=method))
    assert (status, error) == (400, {"__type": "UnknownOperationException"})


def test_head_gets_headers_and_no_body(server: KMSServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_request(server, b"", method="HEAD") + _request(server))
        head = _response(sock, "HEAD")
        after = _response(sock)
    assert head[0] == 400 and head[2] == b""
    assert after[0] == 200  # nothing of the HEAD answer leaked into the next response


def test_connection_close_is_echoed_and_honoured(server: KMSServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_request(server, headers={"Connection": "close"}))
        status, headers, _ = _response(sock)
        assert (status, headers["connection"]) == (200, "close")
        assert _closed_by_peer(sock)


# -- many connections ------------------------------------------------------------------------


def test_300_connections_opened_at_once_are_all_answered(server: KMSServer) -> None:
    socks = [_connect(server) for _ in range(300)]
    try:
        for sock in socks:
            sock.sendall(_request(server))
        statuses = [_response(sock)[0] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert statuses == [200] * 300


def test_idle_and_half_sent_connections_time_out_while_others_are_served() -> None:
    limits = ServerLimits(idle_timeout_s=2, cleanup_interval_s=1)
    server = serve(LocalKMS(), limits=limits)
    try:
        idle = [_connect(server) for _ in range(200)]
        half = [_connect(server) for _ in range(200)]
        for sock in half:
            sock.sendall(_request(server, b'{"Limit": 1}')[:-5])  # headers, part of the body
        kms = _client(server.url)
        assert [kms.list_keys()["Keys"] for _ in range(20)] == [[]] * 20  # served meanwhile
        deadline = time.monotonic() + 30
        for sock in idle + half:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert _closed_by_peer(sock)
            sock.close()
        assert kms.list_keys()["Keys"] == []
    finally:
        server.stop()


# -- who may connect -------------------------------------------------------------------------


def test_binds_loopback_by_default(server: KMSServer) -> None:
    assert server.host == "127.0.0.1" and not server.exposed
    args = build_parser(["serve"]).parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", None)
    assert serve_command.DEFAULT_PORT == 8080


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:{port}",
        "127.0.0.1:{port}",
        "[::1]:{port}",
        "LOCALHOST:{port}",
        "kms.lab:{port}",
    ],
)
def test_host_header_naming_this_server_is_served(host: str) -> None:
    server = KMSServer(LocalKMS(), allowed_hosts=["kms.lab"]).start()
    try:
        assert _exchange(server, _with_host(server, host))[0] == 200
    finally:
        server.stop()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "0:{port}"])
def test_other_host_headers_are_refused_against_dns_rebinding(server: KMSServer, host: str) -> None:
    status, error, _ = _exchange(server, _with_host(server, host))
    assert (status, error["__type"]) == (403, "AccessDeniedException")
    assert server.kms.keys == {}


@pytest.mark.parametrize("host", ["::1", "[::1]"])  # bare, or as URLs write it
def test_serves_ipv6_loopback_too(host: str) -> None:
    try:
        server = KMSServer(LocalKMS(), host).start()
    except (OSError, ServerStartError):
        pytest.skip("no IPv6 loopback here")
    try:
        assert server.url == f"http://[::1]:{server.port}" and not server.exposed
        assert _client(server.url).list_keys()["Keys"] == []
    finally:
        server.stop()


def test_serving_another_address_warns_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only loopback is bound here; the check that decides is tested on the address itself.
    monkeypatch.setattr(KMSServer, "exposed", property(lambda self: True))
    monkeypatch.setattr(KMSServer, "serve_forever", lambda self: None)
    assert main(["serve", "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert "WARNING" in err and "no authentication" in err


# -- startup ---------------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        yield blocker.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "70000"], "invalid port 70000"),
        (["--port", "-1"], "invalid port -1"),
        (["--port", "http"], "invalid port 'http'"),
        (["--host", "192.0.2.1", "--port", "0"], "cannot listen on 192.0.2.1"),  # not ours
        (["--region", "us-est1", "--port", "0"], "'us-est1' is not an AWS Region name"),
        (["--region", "", "--port", "0"], "'' is not an AWS Region name"),
    ],
)
def test_startup_errors_print_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and says in err


def test_port_in_use_prints_one_line_and_exits_2(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", str(taken_port)]) == 2
    err = capsys.readouterr().err
    assert err == f"kmslab serve: cannot listen on 127.0.0.1 port {taken_port}: in use\n"


def test_default_port_taken_says_how_to_choose_another(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(serve_command, "DEFAULT_PORT", taken_port)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {taken_port}: in use" in err
    assert "--port N" in err and "--port 0" in err


# -- the command -----------------------------------------------------------------------------


def _start_command(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # printed once the socket is bound
    url = banner.split(" on ")[1].split()[0]
    return proc, url


def test_kmslab_serve_command_answers_a_client_and_hangups_print_nothing() -> None:
    proc, url = _start_command()
    try:
        assert url.startswith("http://127.0.0.1:")
        kms = _client(url)
        assert kms.list_keys()["Keys"] == []
        host, port = url.removeprefix("http://").split(":")
        for cut in (10, 60, None):  # hang up mid-headers, mid-body, before reading the answer
            with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
                raw = (
                    f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Amz-Target: "
                    "TrentService.ListKeys\r\nContent-Length: 2\r\n\r\n{}"
                ).encode()
                sock.sendall(raw[:cut])
                # Close with a reset, the rudest hang-up there is.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert kms.create_key()["KeyMetadata"]["Enabled"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=TIMEOUT)
    assert "Traceback" not in err and "Error" not in err, err
