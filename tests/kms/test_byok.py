"""Key material wrapping for import, checked against cryptography doing it independently."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kmslab.crypto import CryptoFailure
from kmslab.kms.byok import WRAPPING_ALGORITHMS, unwrap_key_material, wrap_key_material

HASHES = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256}


@pytest.fixture(scope="module")
def wrapping() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 3072)


def _public_der(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _independent_unwrap(key: rsa.RSAPrivateKey, algorithm: str, wrapped: bytes) -> bytes:
    h = HASHES[algorithm[-5:] if algorithm.endswith("SHA_1") else algorithm[-7:]]()
    oaep = padding.OAEP(padding.MGF1(h), h, None)
    if "AES_KEY_WRAP" not in algorithm:
        return key.decrypt(wrapped, oaep)
    ephemeral = key.decrypt(wrapped[:384], oaep)
    return keywrap.aes_key_unwrap_with_padding(ephemeral, wrapped[384:])


RSA_WRAPPING = sorted(n for n, w in WRAPPING_ALGORITHMS.items() if w.family == "rsa")


@pytest.mark.parametrize("algorithm", RSA_WRAPPING)
def test_wrap_unwraps_independently_and_round_trips(
    wrapping: rsa.RSAPrivateKey, algorithm: str
) -> None:
    material = bytes(range(32))
    if "AES_KEY_WRAP" in algorithm:  # large material: a PKCS #8 private key
        material = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    wrapped = wrap_key_material(_public_der(wrapping), algorithm, material)
    assert _independent_unwrap(wrapping, algorithm, wrapped) == material
    assert unwrap_key_material(wrapping, algorithm, wrapped) == material


def test_unwrap_under_another_key_or_tampered_fails_cleanly(wrapping: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(65537, 3072)
    wrapped = wrap_key_material(_public_der(other), "RSA_AES_KEY_WRAP_SHA_256", bytes(64))
    with pytest.raises(CryptoFailure):
        unwrap_key_material(wrapping, "RSA_AES_KEY_WRAP_SHA_256", wrapped)
    good = wrap_key_material(_public_der(wrapping), "RSA_AES_KEY_WRAP_SHA_256", bytes(64))
    for bad in (good[:-1], good + b"\0", good[:-8]):
        with pytest.raises(CryptoFailure):
            unwrap_key_material(wrapping, "RSA_AES_KEY_WRAP_SHA_256", bad)


def test_sm2pke_wrapping_round_trips_and_openssl_unwraps(tmp_path) -> None:
    """SM2PKE wrapping (China Regions): OpenSSL's pkeyutl decrypts what kmslab wrapped."""
    import shutil
    import subprocess

    from kmslab import specs
    from kmslab.crypto import sm2

    key = sm2.generate(specs.get("SM2"))
    material = bytes(range(16))  # an SM4 key, as SYMMETRIC_DEFAULT takes in China
    wrapped = wrap_key_material(sm2.public_der(key), "SM2PKE", material)
    assert unwrap_key_material(key, "SM2PKE", wrapped) == material
    if shutil.which("openssl") is None:
        pytest.skip("openssl not on PATH")
    (tmp_path / "k.der").write_bytes(sm2.private_der(key))
    (tmp_path / "c.bin").write_bytes(wrapped)
    out = subprocess.run(
        ["openssl", "pkeyutl", "-decrypt", "-keyform", "DER", "-inkey", tmp_path / "k.der",
         "-in", tmp_path / "c.bin"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout == material
