"""SM2 over OpenSSL's libcrypto: published vectors, and the openssl command line both ways.

The vectors (tests/vectors/sm/, with their sources) pin the arithmetic: Z_A and e as the
standard computes them, the published signature verifying, the published ciphertext
decrypting. The command line then checks every format kmslab hands out or takes in: DER
signatures with the default distinguishing ID, DER C1C3C2 ciphertext, SPKI and PKCS #8.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab import specs
from kmslab.crypto import CryptoFailure, sm2

pytestmark = pytest.mark.skipif(not sm2.available(), reason="no OpenSSL 3 libcrypto")

VECTORS = json.loads((Path(__file__).parents[1] / "vectors/sm/sm_vectors.json").read_text())
INFO = specs.get("SM2")
SM2DSA = INFO.algorithm("SM2DSA")
SM2PKE = INFO.algorithm("SM2PKE")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not on PATH")


def _der_int(value: bytes) -> bytes:
    value = value.lstrip(b"\0") or b"\0"
    if value[0] & 0x80:
        value = b"\0" + value
    return b"\x02" + bytes([len(value)]) + value


def _seq(body: bytes) -> bytes:
    return b"\x30" + bytes([len(body)]) + body


def pkcs8(d: bytes) -> bytes:
    """PKCS #8 for an SM2 private scalar: id-ecPublicKey with the SM2 curve (GM/T 0009 7.1)."""
    ec_private = _seq(b"\x02\x01\x01\x04\x20" + d)
    algorithm = _seq(bytes.fromhex("06072a8648ce3d020106082a811ccf5501822d"))
    return _seq(b"\x02\x01\x00" + algorithm + b"\x04" + bytes([len(ec_private)]) + ec_private)


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


@pytest.fixture(scope="module")
def key() -> sm2.SM2PrivateKey:
    return sm2.generate(INFO)


# -- published vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("v", VECTORS["sm2_sign"])
def test_signature_vector(v) -> None:
    key = sm2.load(INFO, pkcs8(bytes.fromhex(v["private_key"])))
    spki = sm2.public_der(key)
    assert spki[-64:] == bytes.fromhex(v["public_x"] + v["public_y"])
    assert v["id_ascii"].encode() == sm2.DEFAULT_ID
    z = sm2.sm3_z(key)
    assert z.hex() == v["z"]
    message = v["message_ascii"].encode()
    assert sm3(z + message).hex() == v["e"]
    signature = _seq(_der_int(bytes.fromhex(v["r"])) + _der_int(bytes.fromhex(v["s"])))
    sm2.verify(key.public_key(), SM2DSA, message, "RAW", signature)
    sm2.verify(key.public_key(), SM2DSA, bytes.fromhex(v["e"]), "DIGEST", signature)
    with pytest.raises(CryptoFailure):
        sm2.verify(key.public_key(), SM2DSA, message + b"!", "RAW", signature)


@pytest.mark.parametrize("v", VECTORS["sm2_encrypt"])
def test_encryption_vector(v) -> None:
    key = sm2.load(INFO, pkcs8(bytes.fromhex(v["private_key"])))
    c3, c2 = bytes.fromhex(v["c3"]), bytes.fromhex(v["c2"])
    body = _der_int(bytes.fromhex(v["c1_x"])) + _der_int(bytes.fromhex(v["c1_y"]))
    body += b"\x04\x20" + c3 + b"\x04" + bytes([len(c2)]) + c2
    assert sm2.decrypt(key, SM2PKE, _seq(body)) == v["message_ascii"].encode()


# -- properties ----------------------------------------------------------------------------------


def test_round_trips_and_sizes(key) -> None:
    assert len(sm2.public_der(key)) == INFO.public_key_der_bytes
    assert repr(key) == "SM2PrivateKey(<hidden>)"
    again = sm2.load(INFO, sm2.private_der(key))
    assert sm2.public_der(again) == sm2.public_der(key)
    for size in (1, 1024):
        ct = sm2.encrypt(key.public_key(), SM2PKE, bytes(size))
        # DER C1C3C2: x, y, a 32-byte SM3 hash and the plaintext-sized C2, plus headers.
        assert size + 96 < len(ct) <= size + 96 + 16
        assert sm2.decrypt(key, SM2PKE, ct) == bytes(size)
    sig = sm2.sign(key, SM2DSA, b"m", "RAW")
    assert len(sig) <= SM2DSA.signature_bytes
    other = sm2.generate(INFO)
    assert sm2.derive(key, sm2.public_der(other)) == sm2.derive(other, sm2.public_der(key))


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.integers(min_value=0, max_value=300))
def test_tampered_inputs_fail_cleanly(key, blob, index) -> None:
    ct = sm2.encrypt(key, SM2PKE, b"secret")
    flipped = bytearray(ct)
    flipped[index % len(ct)] ^= 0x01
    for bad in (bytes(flipped), blob):
        with pytest.raises(CryptoFailure):
            sm2.decrypt(key, SM2PKE, bad)
        with pytest.raises(CryptoFailure):
            sm2.verify(key, SM2DSA, b"m", "RAW", bad)
        with pytest.raises(CryptoFailure):
            sm2.derive(key, bad)


def test_keys_of_other_curves_are_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = ec.generate_private_key(ec.SECP256R1())
    der = p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(CryptoFailure):
        sm2.load(INFO, der)
    with pytest.raises(CryptoFailure):
        sm2.load_public(
            p256.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


# -- the openssl command line, both directions ---------------------------------------------------


def openssl(*args: str | Path, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", *map(str, args)], input=data, capture_output=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory, key) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sm2")
    (d / "key.der").write_bytes(sm2.private_der(key))
    (d / "pub.der").write_bytes(sm2.public_der(key))
    (d / "msg").write_bytes(b"kmslab <-> OpenSSL: SM2 with SM3 and the default ID\n")
    return {name: d / name for name in ("key.der", "pub.der", "msg")} | {"dir": d}


ID_OPT = ["-sigopt", "distid:1234567812345678"]


@needs_openssl
def test_openssl_reads_our_keys(files) -> None:
    out = openssl("pkey", "-pubin", "-inform", "DER", "-in", files["pub.der"], "-text", "-noout")
    assert out.returncode == 0 and b"SM2" in out.stdout
    assert openssl("pkey", "-inform", "DER", "-in", files["key.der"], "-noout").returncode == 0


@needs_openssl
def test_openssl_verifies_our_signatures(key, files) -> None:
    message = files["msg"].read_bytes()
    sig = files["dir"] / "ours.sig"
    sig.write_bytes(sm2.sign(key, SM2DSA, message, "RAW"))
    out = openssl("dgst", "-sm3", "-verify", files["pub.der"], "-keyform", "DER", *ID_OPT,
                  "-signature", sig, files["msg"])  # fmt: skip
    assert out.returncode == 0, out.stderr
    # DIGEST: we sign e = SM3(Z_A || M); pkeyutl verifies a signature over e as given.
    e = sm3(sm2.sm3_z(key) + message)
    sig.write_bytes(sm2.sign(key, SM2DSA, e, "DIGEST"))
    (files["dir"] / "e").write_bytes(e)
    out = openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", files["pub.der"],
                  "-in", files["dir"] / "e", "-sigfile", sig)  # fmt: skip
    assert out.returncode == 0, out.stderr


@needs_openssl
def test_we_verify_openssl_signatures(key, files) -> None:
    message = files["msg"].read_bytes()
    sig = files["dir"] / "theirs.sig"
    out = openssl("dgst", "-sm3", "-sign", files["key.der"], "-keyform", "DER", *ID_OPT,
                  "-out", sig, files["msg"])  # fmt: skip
    assert out.returncode == 0, out.stderr
    sm2.verify(key.public_key(), SM2DSA, message, "RAW", sig.read_bytes())
    e = sm3(sm2.sm3_z(key) + message)
    (files["dir"] / "e").write_bytes(e)
    out = openssl("pkeyutl", "-sign", "-keyform", "DER", "-inkey", files["key.der"],
                  "-in", files["dir"] / "e", "-out", sig)  # fmt: skip
    assert out.returncode == 0, out.stderr
    sm2.verify(key.public_key(), SM2DSA, e, "DIGEST", sig.read_bytes())


@needs_openssl
@pytest.mark.parametrize("size", [1, 190, 1024])
def test_encryption_both_ways(key, files, size) -> None:
    plaintext = bytes(range(256)) * 4
    plaintext = plaintext[:size]
    ours = files["dir"] / "ours.ct"
    ours.write_bytes(sm2.encrypt(key.public_key(), SM2PKE, plaintext))
    out = openssl("pkeyutl", "-decrypt", "-keyform", "DER", "-inkey", files["key.der"], "-in", ours)
    assert out.returncode == 0 and out.stdout == plaintext, out.stderr
    out = openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", files["pub.der"],
                  data=plaintext)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert sm2.decrypt(key, SM2PKE, out.stdout) == plaintext
    parsed = openssl("asn1parse", "-inform", "DER", data=out.stdout).stdout.decode()
    # GM/T 0009 C1C3C2: INTEGER x, INTEGER y, OCTET STRING hash (32), OCTET STRING C2.
    kinds = re.findall(r"prim: (INTEGER|OCTET STRING)", parsed)
    assert kinds == ["INTEGER", "INTEGER", "OCTET STRING", "OCTET STRING"]
