"""Interoperability with OpenSSL's command line, a tool kmslab did not write.

Keys come from the primitive layer; their DER (SPKI, PKCS #8) goes to files, and OpenSSL
verifies kmslab's signatures, signs for kmslab to verify, and encrypts and decrypts RSA-OAEP
across the boundary. OpenSSL 3.0 has no Ed25519ph, ML-DSA or ML-KEM, so those are left to
the vector tests (``asn1parse`` still checks the hand-written ML-KEM-512 DER).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from kmslab import specs
from kmslab.crypto import family

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not on PATH")

MESSAGE = b"kmslab <-> OpenSSL interop: the quick brown fox jumps over the lazy dog\n"

# (key spec, signing algorithm) pairs; each runs with MessageType RAW and DIGEST.
RSA_SIGNING = [
    ("RSA_2048", f"RSASSA_{pad}_SHA_{bits}")
    for pad in ("PSS", "PKCS1_V1_5")
    for bits in (256, 384, 512)
]
EC_SIGNING = [
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]
SIGNING = RSA_SIGNING + EC_SIGNING


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="session")
def interop_keys():
    """One key per spec for the whole session, from the primitive layer (RSA keygen once)."""
    names = sorted({spec for spec, _ in SIGNING} | {"ECC_NIST_EDWARDS25519"})
    return {name: family(specs.get(name).family).generate(specs.get(name)) for name in names}


def _dgst_args(alg) -> list[str]:
    """The `openssl dgst` options for a catalogue algorithm: hash, and PSS parameters."""
    args = [f"-{alg.hash.lower()}"]
    if alg.padding == "PSS":
        # AWS KMS: MGF1 with the message hash, salt as long as the digest.
        args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
        args += ["-sigopt", f"rsa_mgf1_md:{alg.hash.lower()}"]
    return args


def _flip(sig: bytes) -> bytes:
    return sig[:-1] + bytes([sig[-1] ^ 0x01])


@pytest.mark.parametrize("message_type", ["RAW", "DIGEST"])
@pytest.mark.parametrize(("spec", "alg_name"), SIGNING, ids=[f"{s}-{a}" for s, a in SIGNING])
def test_openssl_verifies_kmslab_signature(interop_keys, tmp_path, spec, alg_name, message_type):
    info = specs.get(spec)
    prim = family(info.family)
    alg = info.algorithm(alg_name)
    key = interop_keys[spec]
    message = MESSAGE if message_type == "RAW" else hashlib.new(alg.hash.lower(), MESSAGE).digest()
    sig = prim.sign(key, alg, message, message_type)
    pub = write(tmp_path / "pub.der", prim.public_der(key))
    msg = write(tmp_path / "msg", MESSAGE)  # OpenSSL always hashes the message itself

    good = write(tmp_path / "sig", sig)
    ok = openssl(
        "dgst", *_dgst_args(alg), "-verify", pub, "-keyform", "DER", "-signature", good, msg
    )
    assert ok.returncode == 0, ok.stderr
    assert "Verified OK" in ok.stdout

    bad = write(tmp_path / "bad.sig", _flip(sig))
    no = openssl(
        "dgst", *_dgst_args(alg), "-verify", pub, "-keyform", "DER", "-signature", bad, msg
    )
    assert no.returncode != 0
    assert "Verified OK" not in no.stdout


@pytest.mark.parametrize(("spec", "alg_name"), SIGNING, ids=[f"{s}-{a}" for s, a in SIGNING])
def test_kmslab_verifies_openssl_signature(interop_keys, tmp_path, spec, alg_name):
    info = specs.get(spec)
    prim = family(info.family)
    alg = info.algorithm(alg_name)
    key = interop_keys[spec]
    priv = write(tmp_path / "priv.der", prim.private_der(key))
    msg = write(tmp_path / "msg", MESSAGE)
    out = tmp_path / "sig"
    run = openssl("dgst", *_dgst_args(alg), "-sign", priv, "-keyform", "DER", "-out", out, msg)
    assert run.returncode == 0, run.stderr
    sig = out.read_bytes()
    prim.verify(key, alg, MESSAGE, "RAW", sig)
    prim.verify(
        key.public_key(), alg, hashlib.new(alg.hash.lower(), MESSAGE).digest(), "DIGEST", sig
    )
    if alg.padding == "PKCS1v15":  # deterministic: the same bytes from both
        assert sig == prim.sign(key, alg, MESSAGE, "RAW")


def test_ed25519_both_ways(interop_keys, tmp_path):
    info = specs.get("ECC_NIST_EDWARDS25519")
    edwards = family("edwards")
    alg = info.algorithm("ED25519_SHA_512")
    key = interop_keys["ECC_NIST_EDWARDS25519"]
    pub = write(tmp_path / "pub.der", edwards.public_der(key))
    priv = write(tmp_path / "priv.der", edwards.private_der(key))
    msg = write(tmp_path / "msg", MESSAGE)

    sig = edwards.sign(key, alg, MESSAGE, "RAW")
    verify = ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-keyform", "DER", "-rawin"]
    ok = openssl(*verify, "-in", msg, "-sigfile", write(tmp_path / "sig", sig))
    assert ok.returncode == 0, ok.stderr
    assert "Signature Verified Successfully" in ok.stdout
    no = openssl(*verify, "-in", msg, "-sigfile", write(tmp_path / "bad.sig", _flip(sig)))
    assert no.returncode != 0
    assert "Signature Verified Successfully" not in no.stdout

    out = tmp_path / "openssl.sig"
    run = openssl(
        "pkeyutl", "-sign", "-inkey", priv, "-keyform", "DER", "-rawin", "-in", msg, "-out", out
    )
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == sig  # Ed25519 is deterministic
    edwards.verify(key.public_key(), alg, MESSAGE, "RAW", out.read_bytes())


@pytest.mark.parametrize("hash_name", ["SHA_1", "SHA_256"])
def test_rsa_oaep_both_ways(interop_keys, tmp_path, hash_name):
    info = specs.get("RSA_2048")
    rsa = family("rsa")
    alg = info.algorithm(f"RSAES_OAEP_{hash_name}")
    key = interop_keys["RSA_2048"]
    md = alg.hash.lower()
    oaep = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}"]
    oaep += ["-pkeyopt", f"rsa_mgf1_md:{md}"]
    plaintext = bytes(range(256))[: alg.max_plaintext_bytes]  # the largest KMS allows

    pub = write(tmp_path / "pub.der", rsa.public_der(key))
    pt = write(tmp_path / "pt", plaintext)
    ct = tmp_path / "ct"
    run = openssl(
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-keyform",
        "DER",
        "-inkey",
        pub,
        *oaep,
        "-in",
        pt,
        "-out",
        ct,
    )
    assert run.returncode == 0, run.stderr
    assert len(ct.read_bytes()) == alg.ciphertext_bytes
    assert rsa.decrypt(key, alg, ct.read_bytes()) == plaintext

    priv = write(tmp_path / "priv.der", rsa.private_der(key))
    ours = write(tmp_path / "ours", rsa.encrypt(key, alg, plaintext))
    back = tmp_path / "back"
    run = openssl(
        "pkeyutl", "-decrypt", "-keyform", "DER", "-inkey", priv, *oaep, "-in", ours, "-out", back
    )
    assert run.returncode == 0, run.stderr
    assert back.read_bytes() == plaintext


def test_mlkem512_der_parses(tmp_path):
    """kmslab frames ML-KEM-512 keys by hand; OpenSSL's DER parser must read them whole."""
    mlkem = family("ml-kem")
    info = specs.get("ML_KEM_512")
    key = mlkem.generate(info)
    for name, der, inner in (
        ("spki", mlkem.public_der(key), "BIT STRING"),
        ("pkcs8", mlkem.private_der(key), "OCTET STRING"),
    ):
        run = openssl("asn1parse", "-inform", "DER", "-in", write(tmp_path / name, der))
        assert run.returncode == 0, run.stderr
        assert "2.16.840.1.101.3.4.4.1" in run.stdout, run.stdout
        assert inner in run.stdout
        # The outer SEQUENCE covers the whole encoding: header length + content length.
        first = run.stdout.splitlines()[0]
        header = int(first.split("hl=")[1].split()[0])
        length = int(first.split("l=")[2].split()[0])
        assert header + length == len(der), first
    assert len(mlkem.public_der(key)) == info.public_key_der_bytes


def test_openssl_checks_pss_salt_length(interop_keys, tmp_path):
    """The PSS verification above is strict: a maximum-salt signature (what some emulators
    make) fails `rsa_pss_saltlen:digest`, so a pass proves kmslab's salt is the digest length."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = interop_keys["RSA_2048"]
    alg = specs.get("RSA_2048").algorithm("RSASSA_PSS_SHA_256")
    max_salt = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    sig = write(tmp_path / "sig", key.sign(MESSAGE, max_salt, hashes.SHA256()))
    pub = write(tmp_path / "pub.der", family("rsa").public_der(key))
    msg = write(tmp_path / "msg", MESSAGE)
    run = openssl(
        "dgst", *_dgst_args(alg), "-verify", pub, "-keyform", "DER", "-signature", sig, msg
    )
    assert run.returncode != 0
    assert "Verified OK" not in run.stdout
