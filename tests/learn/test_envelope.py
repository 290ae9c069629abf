"""kmslab.learn.envelope: seal and unseal payloads of any size under a data key.

The format is checked byte by byte and against an independent reader (boto3's Decrypt and
cryptography's AESGCM, called directly); tampering is explored with Hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.kms.ciphertext import context_bytes
from kmslab.learn import envelope
from kmslab.learn.envelope import Envelope, MalformedEnvelope

CONTEXT = {"purpose": "lesson 04", "file": "report.csv"}


@pytest.fixture(scope="module")
def key_id(keys: Any) -> str:
    return str(keys.id("SYMMETRIC_DEFAULT"))


@contextmanager
def count_calls(client: Any) -> Iterator[list[str]]:
    """The KMS operations ``client`` calls inside the block."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.kms", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.kms", record)


@pytest.mark.parametrize("size", [0, 1, 4096, 4097, 1 << 20])
def test_round_trip_any_size_with_one_kms_call_each_way(
    client: Any, key_id: str, size: int
) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    with count_calls(client) as calls:
        sealed = envelope.seal(client, key_id, payload, encryption_context=CONTEXT)
    assert calls == ["GenerateDataKey"]
    stored = sealed.to_bytes()
    assert len(stored) == size + sealed.overhead
    assert sealed.payload_bytes == size
    with count_calls(client) as calls:
        assert envelope.unseal(client, stored, encryption_context=CONTEXT) == payload
    assert calls == ["Decrypt"]


def test_format_fields_and_an_independent_reader(client: Any, key_id: str) -> None:
    sealed = envelope.seal(client, key_id, b"attack at dawn", encryption_context=CONTEXT)
    data = sealed.to_bytes()
    n = len(sealed.encrypted_data_key)
    assert data[0] == envelope.VERSION == 1
    assert int.from_bytes(data[1:3], "big") == n
    assert data[3 : 3 + n] == sealed.encrypted_data_key
    assert data[3 + n : 15 + n] == sealed.nonce and len(sealed.nonce) == 12
    assert sealed.overhead == 3 + n + 12 + 16
    assert Envelope.from_bytes(data) == sealed
    # Read it back without kmslab.learn.envelope: boto3 Decrypt, then AES-GCM by hand.
    data_key = client.decrypt(CiphertextBlob=data[3 : 3 + n], EncryptionContext=CONTEXT)[
        "Plaintext"
    ]
    assert len(data_key) == 32
    aad = data[: 3 + n] + context_bytes(CONTEXT)
    assert AESGCM(data_key).decrypt(data[3 + n : 15 + n], data[15 + n :], aad) == b"attack at dawn"


def test_the_plaintext_data_key_never_shows(client: Any, key_id: str) -> None:
    sealed = envelope.seal(client, key_id, b"secret")
    assert repr(sealed) == (
        f"Envelope(encrypted_data_key=<{len(sealed.encrypted_data_key)} bytes>, "
        f"nonce=<12 bytes>, payload=<6 bytes>, overhead={sealed.overhead} bytes)"
    )
    assert not hasattr(sealed, "data_key")


def test_each_envelope_gets_its_own_data_key_and_nonce(client: Any, key_id: str) -> None:
    a, b = (envelope.seal(client, key_id, b"same") for _ in range(2))
    assert a.encrypted_data_key != b.encrypted_data_key
    assert a.nonce != b.nonce and a.ciphertext != b.ciphertext


def test_aes_128_data_keys(client: Any, key_id: str) -> None:
    sealed = envelope.seal(client, key_id, b"short key", data_key_spec="AES_128")
    data_key = client.decrypt(CiphertextBlob=sealed.encrypted_data_key)["Plaintext"]
    assert len(data_key) == 16
    assert envelope.unseal(client, sealed) == b"short key"


@pytest.mark.parametrize(
    "context",
    [None, {"purpose": "lesson 04"}, {**CONTEXT, "file": "REPORT.csv"}, {**CONTEXT, "x": "y"}],
)
def test_a_different_encryption_context_is_refused_by_kms(
    client: Any, key_id: str, context: dict[str, str] | None
) -> None:
    sealed = envelope.seal(client, key_id, b"payload", encryption_context=CONTEXT)
    with pytest.raises(ClientError) as info:
        envelope.unseal(client, sealed, encryption_context=context)
    assert info.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_the_context_is_also_authenticated_locally() -> None:
    sealed = envelope.seal_with_data_key(bytes(32), b"edk", b"payload", encryption_context=CONTEXT)
    assert envelope.unseal_with_data_key(bytes(32), sealed, encryption_context=CONTEXT)
    with pytest.raises(MalformedEnvelope, match="encryption context differs"):
        envelope.unseal_with_data_key(bytes(32), sealed, encryption_context={"a": "b"})


def test_another_keys_data_key_cannot_be_swapped_in(client: Any, key_id: str) -> None:
    a = envelope.seal(client, key_id, b"first")
    b = envelope.seal(client, key_id, b"second")
    swapped = Envelope(b.encrypted_data_key, a.nonce, a.ciphertext)
    with pytest.raises(MalformedEnvelope):
        envelope.unseal(client, swapped)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "unknown version"),
        (b"\x02\x00\x00" + bytes(28), "unknown version"),
        (b"\x01\x00\x05abc", "truncated"),
        (b"\x01\x00\x01" + bytes(28), "truncated"),
        (b"\x01\x00\x00" + bytes(40), "of 0 bytes"),
        (b"\x01\x18\x01" + bytes(7000), "of 6145 bytes"),
    ],
)
def test_malformed_bytes(data: bytes, message: str) -> None:
    with pytest.raises(MalformedEnvelope, match=message):
        Envelope.from_bytes(data)


def test_an_encrypted_data_key_must_be_a_kms_blob() -> None:
    for size in (0, 6145):
        with pytest.raises(ValueError, match="1 to 6144 bytes"):
            envelope.seal_with_data_key(bytes(32), bytes(size), b"x")


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.sampled_from([b"tamper with me", bytes(8000)]),
    # Half the draws hit the header (version, length, data key), where parsing happens.
    position=st.one_of(st.integers(0, 120), st.integers(min_value=0)),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_changed_byte_is_refused(
    client: Any, key_id: str, payload: bytes, position: int, flip: int
) -> None:
    sealed = envelope.seal(client, key_id, payload, encryption_context=CONTEXT)
    data = bytearray(sealed.to_bytes())
    data[position % len(data)] ^= flip
    with pytest.raises((MalformedEnvelope, ClientError)) as info:
        envelope.unseal(client, bytes(data), encryption_context=CONTEXT)
    if isinstance(info.value, ClientError):
        assert info.value.response["Error"]["Code"] == "InvalidCiphertextException"
