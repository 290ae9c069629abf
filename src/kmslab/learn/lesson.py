"""Small helpers the lessons use to show things: key metadata cards, calls that may fail, tools
of a party outside KMS.

A response from KMS is full of bytes and dates; :func:`summarize` turns it into something a
person can read (blobs become their size). :func:`card` shows a key's metadata as a table.
:func:`try_call` runs any call and shows either its result or the AWS error code and message,
without a traceback, so a lesson can show an error as the answer it is: AWS's error first,
exactly as a client of AWS receives it, and kmslab's explanation of it under it
(:func:`kmslab.explain`). :func:`show_error` does the same for an error already caught:

>>> import kmslab
>>> from kmslab.learn import lesson
>>> kms = kmslab.client()
>>> key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
>>> lesson.try_call(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"hi").error_code
'InvalidKeyUsageException'
>>> lesson.summarize(kms.generate_random(NumberOfBytes=16))
{'Plaintext': '<16 bytes>'}

Everything here returns an object with a text ``repr`` and an HTML ``_repr_html_``; the
notebook decides what to display.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kmslab import specs
from kmslab.exceptions import KMSError
from kmslab.learn.explain import Explanation, explain

__all__ = [
    "CallResult",
    "CleanupReport",
    "MetadataCard",
    "OpensslCheck",
    "WideText",
    "card",
    "clean_up",
    "ml_dsa_mu",
    "openssl_available",
    "openssl_command",
    "openssl_verify",
    "show_error",
    "signing_message",
    "summarize",
    "track_created_keys",
    "try_call",
    "wide",
]

# -- readable values ------------------------------------------------------------------------


@dataclass(frozen=True)
class WideText:
    """Text with long lines (a table): in a notebook it scrolls sideways instead of wrapping
    mid-word; as plain text it is the text itself.

    >>> table = wide("key spec   bits")
    >>> table
    key spec   bits
    >>> "overflow-x:auto" in table._repr_html_()
    True
    """

    text: str
    #: CSS font size of the block ("85%" fits a 14-column table in a laptop's window).
    font_size: str = "100%"

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        # JupyterLab wraps long output lines; a block of its own that scrolls keeps columns.
        style = (
            f"overflow-x:auto;white-space:pre;margin:0;padding-bottom:6px;"
            f"font-size:{self.font_size}"
        )
        return f'<pre style="{style}">{html.escape(self.text)}</pre>'


def wide(text: str, font_size: str = "100%") -> WideText:
    """Show ``text`` unwrapped, scrolling sideways when wider than the notebook."""
    return WideText(text, font_size)


def summarize(value: Any) -> Any:
    """A readable copy of a KMS response: blobs become ``'<n bytes>'``, dates ISO strings.

    ``ResponseMetadata`` (request ids, HTTP headers) is dropped.

    >>> summarize({"CiphertextBlob": b"x" * 151, "KeyId": "k", "ResponseMetadata": {}})
    {'CiphertextBlob': '<151 bytes>', 'KeyId': 'k'}
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: summarize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [summarize(v) for v in value]
    return value


def _text(value: Any) -> str:
    """One value as display text (lists joined with commas)."""
    value = summarize(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _html_rows(rows: Iterable[tuple[str, Any]]) -> str:
    cells = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{html.escape(k)}</th>'
        f'<td style="text-align:left"><code>{html.escape(_text(v))}</code></td></tr>'
        for k, v in rows
    )
    return f"<table>{cells}</table>"


def _text_rows(rows: Iterable[tuple[str, Any]]) -> str:
    pairs = [(k, _text(v)) for k, v in rows]
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


# -- key metadata ---------------------------------------------------------------------------

#: The order a card shows KeyMetadata fields in: what the key is first, then where it lives.
_CARD_ORDER = (
    "KeySpec",
    "KeyUsage",
    "KeyState",
    "Enabled",
    "Origin",
    *(member for _, member in specs.ALGORITHM_KINDS.values()),
    "Description",
    "KeyId",
    "Arn",
    "CreationDate",
    "DeletionDate",
    "PendingDeletionWindowInDays",
    "ValidTo",
    "ExpirationModel",
    "CurrentKeyMaterialId",
)
#: Fields every key has and that say nothing about it in a lesson.
_CARD_SKIP = frozenset({"AWSAccountId", "KeyManager", "CustomerMasterKeySpec", "MultiRegion"})


@dataclass(frozen=True)
class MetadataCard:
    """DescribeKey's KeyMetadata as a small table, with the key type the catalogue derives.

    Build one with :func:`card`.
    """

    metadata: Mapping[str, Any]

    @property
    def key_type(self) -> str | None:
        """AWS's key type label (SYM, HMAC, A-ED, A-SV, A-KA, A-KEM), when the spec is known."""
        spec, usage = self.metadata.get("KeySpec"), self.metadata.get("KeyUsage")
        if spec not in specs.KEY_SPECS or not isinstance(usage, str):
            return None
        if specs.get(spec).usage(usage) is None:
            return None
        return specs.key_type(spec, usage)

    def rows(self) -> list[tuple[str, Any]]:
        """(field, value) pairs in display order; the derived key type comes third."""
        meta = self.metadata
        ordered = [k for k in _CARD_ORDER if k in meta]
        rest = [k for k in meta if k not in ordered and k not in _CARD_SKIP]
        # An empty Description says nothing; every other field is shown as it is.
        rows: list[tuple[str, Any]] = [
            (k, meta[k]) for k in [*ordered, *rest] if not (k == "Description" and not meta[k])
        ]
        if self.key_type is not None:
            label = f"{specs.AWS_KEY_TYPES[self.key_type]} ({self.key_type})"
            rows.insert(min(2, len(rows)), ("Key type", label))
        return rows

    def __repr__(self) -> str:
        return _text_rows(self.rows())

    def _repr_html_(self) -> str:
        title = html.escape(str(self.metadata.get("KeySpec", "KMS key")))
        return f"<div><b>{title}</b>{_html_rows(self.rows())}</div>"


def card(metadata: Mapping[str, Any]) -> MetadataCard:
    """A readable card of a key's metadata: pass KeyMetadata or a whole CreateKey/DescribeKey
    response.

    >>> c = card({"KeyMetadata": {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC",
    ...                           "MacAlgorithms": ["HMAC_SHA_256"], "MultiRegion": False}})
    >>> print(c)
    KeySpec        HMAC_256
    KeyUsage       GENERATE_VERIFY_MAC
    Key type       HMAC KMS key (HMAC)
    MacAlgorithms  HMAC_SHA_256
    """
    inner = metadata.get("KeyMetadata")
    return MetadataCard(dict(inner if isinstance(inner, Mapping) else metadata))


# -- calls that may fail --------------------------------------------------------------------


@dataclass(frozen=True)
class CallResult:
    """What a call returned, or the error it raised (code and message, no traceback).

    ``name`` is the AWS operation name for boto3 client methods (``Encrypt``), otherwise the
    function's name. ``value`` is the response as returned (bytes stay bytes), without
    ``ResponseMetadata``; the text and HTML forms show blobs as their size.
    """

    name: str
    value: Any = None
    error_code: str | None = None
    error_message: str | None = None
    #: kmslab's explanation of the error (None for a success, or an error it cannot explain).
    explanation: Explanation | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.error_code is None

    def __bool__(self) -> bool:
        return self.ok

    def _message(self) -> str:
        return self.error_message or "(the error has no message)"

    def _value_rows(self) -> list[tuple[str, Any]] | None:
        if isinstance(self.value, Mapping):
            return list(self.value.items())
        return None

    def _explained(self) -> str:
        e = self.explanation
        if e is None:
            return ""
        return f"\n  Why: {e.why}\n  Instead: {e.instead}\n  Read: {e.page}"

    def __repr__(self) -> str:
        if not self.ok:
            return f"{self.name} -> {self.error_code}\n  {self._message()}{self._explained()}"
        rows = self._value_rows()
        if rows is None:
            return f"{self.name} -> OK: {_text(self.value)}"
        body = _text_rows(rows)
        return f"{self.name} -> OK" + ("\n  " + body.replace("\n", "\n  ") if body else "")

    def _repr_html_(self) -> str:
        name = html.escape(self.name)
        if not self.ok:
            aws = (
                '<div style="border-left:4px solid #c0392b;padding-left:8px">'
                f"{name} &rarr; <b>{html.escape(str(self.error_code))}</b><br>"
                f"<code>{html.escape(self._message())}</code></div>"
            )
            e = self.explanation
            if e is None:
                return aws
            return (
                f"{aws}"
                '<div style="border-left:4px solid #2980b9;padding-left:8px;margin-top:4px">'
                f"<b>Why</b> {html.escape(e.why)}<br><b>Instead</b> {html.escape(e.instead)}"
                f'<br><b>Read</b> <a href="{html.escape(e.page)}" target="_blank">'
                f"{html.escape(e.page)}</a></div>"
            )
        rows = self._value_rows()
        body = _html_rows(rows) if rows else f"<code>{html.escape(_text(self.value))}</code>"
        return (
            '<div style="border-left:4px solid #27ae60;padding-left:8px">'
            f"{name} &rarr; <b>OK</b>{body}</div>"
        )


def _call_name(fn: Callable[..., Any]) -> str:
    """``client.encrypt`` -> "Encrypt" (botocore knows the mapping); else the function name."""
    name = str(getattr(fn, "__name__", type(fn).__name__))
    meta = getattr(getattr(fn, "__self__", None), "meta", None)
    mapping = getattr(meta, "method_to_api_mapping", None)
    if isinstance(mapping, Mapping) and name in mapping:
        return str(mapping[name])
    return name


def _error_of(exc: BaseException) -> tuple[str, str] | None:
    """(code, message) of an error a lesson wants to show, or None for a real bug."""
    if isinstance(exc, KMSError):
        return exc.code, exc.message or ""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping) and isinstance(response.get("Error"), Mapping):
        err = response["Error"]
        return str(err.get("Code", type(exc).__name__)), str(err.get("Message", ""))
    module = type(exc).__module__
    if module.startswith(("botocore", "cryptography")) or isinstance(exc, ValueError):
        # botocore's ParamValidationError (raised before sending), cryptography's
        # InvalidSignature / InvalidTag, and ValueError from libraries that refuse input.
        return type(exc).__name__, " ".join(str(exc).split())
    return None


def _explanation(exc: BaseException) -> Explanation | None:
    """kmslab's explanation of an AWS error (None for botocore's own parameter checks)."""
    try:
        return explain(exc)
    except TypeError:
        return None


def show_error(error: BaseException) -> Explanation:
    """An error a lesson caught, for display: AWS's error first (code and message exactly as
    the client received them), kmslab's explanation under it.

    >>> import kmslab
    >>> kms = kmslab.client()
    >>> try:
    ...     kms.describe_key(KeyId="fake-key-id")
    ... except Exception as err:
    ...     shown = show_error(err)
    >>> shown.code, shown.message
    ('NotFoundException', "Invalid keyId 'fake-key-id'")
    """
    return explain(error)


def try_call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> CallResult:
    """Call ``fn(*args, **kwargs)``; return its result or the error it raised as data.

    AWS errors (from boto3 or :meth:`kmslab.LocalKMS.call`), botocore's parameter checks,
    and ``ValueError`` or cryptography's exceptions become ``error_code`` and
    ``error_message``. Anything else is a bug and is raised.

    >>> from kmslab import LocalKMS
    >>> kms = LocalKMS()
    >>> r = try_call(kms.call, "DescribeKey", KeyId="alias/missing")
    >>> r.ok, r.error_code
    (False, 'NotFoundException')
    >>> print(r)  # doctest: +ELLIPSIS
    DescribeKey -> NotFoundException
      Alias arn:aws:kms:us-east-1:111122223333:alias/missing is not found.
      Why: No alias arn:aws:kms:us-east-1:111122223333:alias/missing exists in this account ...
      Instead: List the aliases with ListAliases, or create this one with CreateAlias.
      Read: https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html
    """
    name = _call_name(fn)
    if name == "call" and args and isinstance(args[0], str):
        name = args[0]  # LocalKMS.call("Encrypt", ...)
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        error = _error_of(exc)
        if error is None:
            raise
        return CallResult(name, None, *error, explanation=_explanation(exc))
    if isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k != "ResponseMetadata"}
    return CallResult(name, value)


# -- keys a lesson created ------------------------------------------------------------------

_CREATED_ATTR = "kmslab_created_keys"


def track_created_keys(client: Any) -> list[str]:
    """Record the KeyId of every key ``client`` creates from now on; returns the live list.

    :func:`clean_up` schedules exactly those keys for deletion, so a lesson run against real
    AWS leaves nothing behind (and never touches keys it did not create).
    """
    created: list[str] | None = getattr(client, _CREATED_ATTR, None)
    if created is not None:
        return created
    created = []

    def remember(parsed: Any = None, **_: Any) -> None:
        metadata = (parsed or {}).get("KeyMetadata") or {}
        if "KeyId" in metadata:
            created.append(metadata["KeyId"])

    client.meta.events.register("after-call.kms.CreateKey", remember)
    setattr(client, _CREATED_ATTR, created)
    return created


@dataclass(frozen=True)
class CleanupReport:
    """Which keys :func:`clean_up` scheduled for deletion, and which it could not."""

    scheduled: tuple[str, ...]
    window_days: int
    failed: tuple[CallResult, ...] = field(default=())

    def __repr__(self) -> str:
        lines = [f"{len(self.scheduled)} key(s) scheduled for deletion in {self.window_days} days."]
        lines += [f"not scheduled: {r.error_code}: {r.error_message}" for r in self.failed]
        return "\n".join(lines)


def clean_up(client: Any, *, window_days: int = 7) -> CleanupReport:
    """Schedule deletion of every key ``client`` created since :func:`track_created_keys`.

    Seven days is the shortest waiting period AWS allows; until then CancelKeyDeletion
    brings a key back. Keys already pending deletion are left as they are.
    """
    created: list[str] = getattr(client, _CREATED_ATTR, [])
    scheduled: list[str] = []
    failed: list[CallResult] = []
    for key_id in list(created):
        state = try_call(client.describe_key, KeyId=key_id)
        if state.ok and state.value["KeyMetadata"]["KeyState"] == "PendingDeletion":
            created.remove(key_id)
            continue
        result = try_call(
            client.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=window_days
        )
        if result.ok:
            scheduled.append(key_id)
            created.remove(key_id)
        elif result.error_code == "NotFoundException":
            created.remove(key_id)
        else:
            failed.append(result)
    return CleanupReport(tuple(scheduled), window_days, tuple(failed))


# -- a party outside KMS: the openssl command line ------------------------------------------

#: The file names the openssl command reads, so the command shown is always the same.
OPENSSL_FILES = {"public_key": "public_key.der", "message": "message.bin", "sig": "signature.bin"}


def _signing_algorithm(name: str) -> specs.Algorithm:
    for info in specs.all_specs():
        for usage in info.usages:
            for alg in usage.algorithms:
                if alg.name == name and alg.kind == "signing":
                    return alg
    raise ValueError(f"{name} is not a KMS signing algorithm")


def openssl_command(signing_algorithm: str, message_type: str = "RAW") -> list[str] | None:
    """The ``openssl pkeyutl -verify`` command for a KMS signature, or None when OpenSSL 3.0
    cannot verify that algorithm (Ed25519ph, ML-DSA, SM2).

    The files it reads are named in :data:`OPENSSL_FILES`.

    >>> " ".join(openssl_command("RSASSA_PSS_SHA_256"))  # doctest: +NORMALIZE_WHITESPACE
    'openssl pkeyutl -verify -pubin -keyform DER -inkey public_key.der -sigfile signature.bin
     -in message.bin -rawin -digest sha256 -pkeyopt rsa_padding_mode:pss
     -pkeyopt rsa_pss_saltlen:digest'
    """
    alg = _signing_algorithm(signing_algorithm)
    if alg.name in ("ED25519_PH_SHA_512", "ML_DSA_SHAKE_256", "SM2DSA"):
        return None
    f = OPENSSL_FILES
    cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER"]
    cmd += ["-inkey", f["public_key"], "-sigfile", f["sig"], "-in", f["message"]]
    digest = (alg.hash or "").lower()
    if alg.name == "ED25519_SHA_512":
        cmd += ["-rawin"]  # pure Ed25519 hashes inside the algorithm
    elif message_type == "RAW":
        cmd += ["-rawin", "-digest", digest]
    else:
        cmd += ["-pkeyopt", f"digest:{digest}"]
    if alg.padding == "PSS":
        cmd += ["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest"]
    return cmd


def openssl_available() -> bool:
    """Whether an ``openssl`` command is on PATH."""
    return shutil.which("openssl") is not None


@dataclass(frozen=True)
class OpensslCheck:
    """The outcome of verifying a KMS signature with the openssl command line.

    ``verified`` is None when the check did not run (no openssl, or an algorithm OpenSSL 3.0
    lacks); ``note`` says why.
    """

    command: str
    verified: bool | None
    output: str = ""
    note: str = ""

    def __repr__(self) -> str:
        lines = [f"$ {self.command}"] if self.command else []
        lines += [line for line in (self.output, self.note) if line]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return WideText(repr(self))._repr_html_()


def openssl_verify(
    public_key_der: bytes,
    message: bytes,
    signature: bytes,
    signing_algorithm: str,
    message_type: str = "RAW",
) -> OpensslCheck:
    """Verify a KMS signature with the openssl command, in a temporary directory.

    A machine without openssl gets ``verified=None`` and a note, not an error.
    """
    cmd = openssl_command(signing_algorithm, message_type)
    if cmd is None:
        return OpensslCheck(
            "", None, note=f"OpenSSL 3.0 cannot verify {signing_algorithm}; use cryptography."
        )
    shown = " ".join(cmd)
    if not openssl_available():
        return OpensslCheck(shown, None, note="openssl is not installed here: check skipped.")
    with tempfile.TemporaryDirectory() as tmp:
        files = {"public_key": public_key_der, "message": message, "sig": signature}
        for role, data in files.items():
            Path(tmp, OPENSSL_FILES[role]).write_bytes(data)
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=30)
    text = proc.stdout.strip() or proc.stderr.strip()
    return OpensslCheck(shown, proc.returncode == 0, text.splitlines()[0] if text else "")


# -- messages for Sign and Verify -----------------------------------------------------------


def ml_dsa_mu(public_key_der: bytes, message: bytes) -> bytes:
    """The 64-byte mu that MessageType EXTERNAL_MU signs (FIPS 204, empty context):
    SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || message, 64).

    Computing mu yourself lets you sign a message of any size while sending KMS 64 bytes.
    """
    import hashlib

    from cryptography.hazmat.primitives.serialization import load_der_public_key

    raw = load_der_public_key(public_key_der).public_bytes_raw()  # type: ignore[union-attr]
    tr = hashlib.shake_256(raw).digest(64)
    return hashlib.shake_256(tr + b"\x00\x00" + message).digest(64)


def signing_message(
    signing_algorithm: str,
    message_type: str,
    message: bytes,
    public_key_der: bytes | None = None,
) -> bytes:
    """What to send as Sign's ``Message`` for a message type: the message itself (RAW), its
    digest with the algorithm's hash (DIGEST), or ML-DSA's mu (EXTERNAL_MU, needs the key).

    >>> len(signing_message("ECDSA_SHA_384", "DIGEST", b"hello"))
    48
    """
    import hashlib

    if message_type == "RAW":
        return message
    if message_type == "EXTERNAL_MU":
        if public_key_der is None:
            raise ValueError("EXTERNAL_MU needs the public key (GetPublicKey) to compute mu")
        return ml_dsa_mu(public_key_der, message)
    alg = _signing_algorithm(signing_algorithm)
    if alg.hash is None:
        raise ValueError(f"{signing_algorithm} has no hash to make a digest with")
    return hashlib.new(alg.hash.lower(), message).digest()
