"""Tampering and bad input, by Hypothesis: a changed ciphertext, context, signature or MAC is
refused with exactly the AWS error, arbitrary bytes get only AWS errors, and no call changes
or breaks the key it names. Calls go through LocalKMS.call (the same validation and rules as
the wire, without boto3's cost)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab import specs
from kmslab.exceptions import KMSError
from kmslab.kms.wire import service_model

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Every error code AWS KMS defines (botocore's model) plus the unmodelled ValidationException.
AWS_CODES = {s.name for s in service_model().error_shapes} | {"ValidationException"}


# -- strategies -----------------------------------------------------------------------------


@st.composite
def tampered(draw: st.DrawFn, data: bytes, keep_prefix: int = 0) -> bytes:
    """``data`` with one bit flipped, cut short (never to nothing), or extended.

    ``keep_prefix``: leave the first bytes alone (flips only; cuts keep them too).
    """
    how = draw(st.sampled_from(["flip", "truncate", "extend"]))
    if how == "flip":
        bit = draw(st.integers(keep_prefix * 8, len(data) * 8 - 1))
        out = bytearray(data)
        out[bit // 8] ^= 1 << (bit % 8)
        return bytes(out)
    if how == "truncate":
        return data[: draw(st.integers(max(1, keep_prefix), len(data) - 1))]
    return data + draw(st.binary(min_size=1, max_size=64))


contexts = st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=4)


def _code(operation: str, kms: Any, **params: Any) -> str:
    try:
        kms.call(operation, **params)
    except KMSError as err:
        assert err.code in AWS_CODES, err.code
        return err.code
    return "ok"


def _fingerprint(kms: Any, key_id: str) -> Any:
    key = kms.keys[key_id]
    return key.state, [m.id for m in key.materials], key.usage, key.info.name


# -- symmetric ciphertext -------------------------------------------------------------------

KEY_ID_BYTES = 17  # version byte + key id: see kmslab.kms.ciphertext


@pytest.fixture(scope="module")
def sym_blob(kms, keys) -> tuple[str, bytes]:
    key_id = keys.id("SYMMETRIC_DEFAULT")
    blob = kms.call(
        "Encrypt", KeyId=key_id, Plaintext=b"tamper with me", EncryptionContext={"a": "b"}
    )
    return key_id, blob["CiphertextBlob"]


@SETTINGS
@given(data=st.data())
def test_tampered_ciphertext_is_invalid(kms, sym_blob, data):
    key_id, blob = sym_blob
    bad = data.draw(tampered(blob))
    assert _code("Decrypt", kms, CiphertextBlob=bad, EncryptionContext={"a": "b"}) == (
        "InvalidCiphertextException"
    )
    # Naming the key too: the same, as long as the blob still names that key.
    kept = data.draw(tampered(blob, keep_prefix=KEY_ID_BYTES))
    assert _code(
        "Decrypt", kms, CiphertextBlob=kept, KeyId=key_id, EncryptionContext={"a": "b"}
    ) == ("InvalidCiphertextException")
    out = kms.call("Decrypt", CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert out["Plaintext"] == b"tamper with me"


@SETTINGS
@given(sealed=contexts, offered=contexts, same=st.booleans())
def test_only_the_exact_context_decrypts(kms, keys, sealed, offered, same):
    key_id = keys.id("SYMMETRIC_DEFAULT")
    if same:
        offered = dict(reversed(list(sealed.items())))  # same pairs, another order
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"ctx", EncryptionContext=sealed)
    code = _code("Decrypt", kms, CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=offered)
    assert code == ("ok" if offered == sealed else "InvalidCiphertextException")


@SETTINGS
@given(junk=st.binary(min_size=1, max_size=400), named=st.booleans())
def test_arbitrary_ciphertext(kms, keys, junk, named):
    key_id = keys.id("SYMMETRIC_DEFAULT")
    before = _fingerprint(kms, key_id)
    params = {"KeyId": key_id} if named else {}
    code = _code("Decrypt", kms, CiphertextBlob=junk, **params)
    expected = {"InvalidCiphertextException"} | ({"IncorrectKeyException"} if named else set())
    assert code in expected
    assert _fingerprint(kms, key_id) == before
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"still works")["CiphertextBlob"]
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"still works"


@SETTINGS
@given(junk=st.binary(min_size=1, max_size=600))
def test_arbitrary_rsa_ciphertext(kms, keys, junk):
    key_id = keys.id("RSA_2048", "ENCRYPT_DECRYPT")
    alg = "RSAES_OAEP_SHA_256"
    code = _code("Decrypt", kms, KeyId=key_id, CiphertextBlob=junk, EncryptionAlgorithm=alg)
    assert code == "InvalidCiphertextException"
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"ok", EncryptionAlgorithm=alg)
    back = kms.call(
        "Decrypt", KeyId=key_id, CiphertextBlob=blob["CiphertextBlob"], EncryptionAlgorithm=alg
    )
    assert back["Plaintext"] == b"ok"


# -- signatures and MACs --------------------------------------------------------------------

SIGNERS = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
]


@pytest.fixture(scope="module")
def signatures(kms, keys) -> dict[str, tuple[str, bytes]]:
    out = {}
    for spec, alg in SIGNERS:
        key_id = keys.id(spec, "SIGN_VERIFY")
        sig = kms.call("Sign", KeyId=key_id, Message=b"signed", SigningAlgorithm=alg)["Signature"]
        out[spec] = (key_id, sig)
    return out


@pytest.mark.parametrize(("spec", "alg"), SIGNERS)
@SETTINGS
@given(data=st.data())
def test_tampered_signature_is_invalid(kms, signatures, spec, alg, data):
    key_id, sig = signatures[spec]
    bad = data.draw(tampered(sig))
    code = _code(
        "Verify", kms, KeyId=key_id, Message=b"signed", Signature=bad, SigningAlgorithm=alg
    )
    assert code == "KMSInvalidSignatureException"


@pytest.mark.parametrize(("spec", "alg"), SIGNERS)
@SETTINGS
@given(junk=st.binary(min_size=1, max_size=600), message=st.binary(min_size=1, max_size=64))
def test_arbitrary_signature(kms, signatures, spec, alg, junk, message):
    key_id, sig = signatures[spec]
    before = _fingerprint(kms, key_id)
    code = _code("Verify", kms, KeyId=key_id, Message=message, Signature=junk, SigningAlgorithm=alg)
    assert code == "KMSInvalidSignatureException"
    assert _fingerprint(kms, key_id) == before
    out = kms.call("Verify", KeyId=key_id, Message=b"signed", Signature=sig, SigningAlgorithm=alg)
    assert out["SignatureValid"] is True


@pytest.mark.parametrize("spec", [s.name for s in specs.for_usage("GENERATE_VERIFY_MAC")])
@SETTINGS
@given(data=st.data())
def test_tampered_mac_is_invalid(kms, keys, spec, data):
    key_id = keys.id(spec, "GENERATE_VERIFY_MAC")
    (alg,) = specs.algorithm_names(spec, "GENERATE_VERIFY_MAC")
    message = data.draw(st.binary(min_size=1, max_size=256))
    mac = kms.call("GenerateMac", KeyId=key_id, Message=message, MacAlgorithm=alg)["Mac"]
    bad = data.draw(tampered(mac))
    code = _code("VerifyMac", kms, KeyId=key_id, Message=message, Mac=bad, MacAlgorithm=alg)
    assert code == "KMSInvalidMacException"
    ok = kms.call("VerifyMac", KeyId=key_id, Message=message, Mac=mac, MacAlgorithm=alg)
    assert ok["MacValid"] is True


# -- key agreement and encapsulation --------------------------------------------------------


@SETTINGS
@given(junk=st.binary(min_size=1, max_size=200))
def test_arbitrary_peer_public_key(kms, keys, junk):
    key_id = keys.id("ECC_NIST_P256", "KEY_AGREEMENT")
    code = _code(
        "DeriveSharedSecret", kms, KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=junk
    )
    assert code == "ValidationException"
    own = kms.call("GetPublicKey", KeyId=key_id)["PublicKey"]
    serialization.load_der_public_key(own)
    out = kms.call("DeriveSharedSecret", KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=own)
    assert len(out["SharedSecret"]) == 32


@pytest.mark.parametrize("spec", [s.name for s in specs.for_usage("ENCAPSULATE_DECAPSULATE")])
@SETTINGS
@given(data=st.data())
def test_arbitrary_kem_ciphertext(kms, keys, spec, data):
    key_id = keys.id(spec, "ENCAPSULATE_DECAPSULATE")
    (alg,) = specs.get(spec).usage("ENCAPSULATE_DECAPSULATE").algorithms
    assert alg.ciphertext_bytes is not None
    size = data.draw(
        st.one_of(st.just(alg.ciphertext_bytes), st.integers(1, alg.ciphertext_bytes + 64))
    )
    junk = data.draw(st.binary(min_size=size, max_size=size))
    try:
        out = kms.call(
            "Decapsulate",
            KeyId=key_id,
            EncapsulationAlgorithm="ML_KEM",
            SharedSecretCiphertextBlob=junk,
        )
    except KMSError as err:
        assert err.code == "InvalidCiphertextException" and size != alg.ciphertext_bytes
    else:
        assert size == alg.ciphertext_bytes and len(out["SharedSecret"]) == 32
    fresh = kms.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    back = kms.call(
        "Decapsulate",
        KeyId=key_id,
        EncapsulationAlgorithm="ML_KEM",
        SharedSecretCiphertextBlob=fresh["SharedSecretCiphertextBlob"],
    )
    assert back["SharedSecret"] == fresh["SharedSecret"]
