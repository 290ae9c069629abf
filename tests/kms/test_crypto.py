"""Every cryptographic operation of the local KMS on every key type, through a real boto3
client, checked where possible by libraries kmslab does not drive: `cryptography` with the
public key from GetPublicKey, pycryptodome for Ed25519ph, kyber-py for ML-KEM-512, and the
standard library's hmac and hashlib."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import (
    ec,
    ed25519,
    mldsa,
    mlkem,
    padding,
    rsa,
    utils,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab import specs

RSA_SPECS = [s.name for s in specs.all_specs() if s.family == "rsa"]
OAEP_CASES = [
    (spec, alg) for spec in RSA_SPECS for alg in specs.get(spec).usage("ENCRYPT_DECRYPT").algorithms
]
SIGN_SPECS = [s for s in specs.for_usage("SIGN_VERIFY") if s.family != "sm2"]
SIGN_CASES = [
    pytest.param(info.name, alg, mt, id=f"{info.name}-{alg.name}-{mt}")
    for info in SIGN_SPECS
    for alg in info.usage("SIGN_VERIFY").algorithms
    for mt in alg.message_types
]
BAD_MESSAGE_TYPES = [
    pytest.param(info.name, alg, mt, id=f"{info.name}-{alg.name}-{mt}")
    for info in SIGN_SPECS
    for alg in info.usage("SIGN_VERIFY").algorithms
    for mt in specs.MESSAGE_TYPES
    if mt not in alg.message_types
]
ALL_SIGNING_ALGS = sorted(
    {a for info in SIGN_SPECS for a in specs.algorithm_names(info.name, "SIGN_VERIFY")}
)
HMAC_SPECS = [s.name for s in specs.for_usage("GENERATE_VERIFY_MAC")]
ECDH_SPECS = [s.name for s in specs.for_usage("KEY_AGREEMENT") if s.family == "ec"]
KEM_SPECS = [s.name for s in specs.for_usage("ENCAPSULATE_DECAPSULATE")]
PAIR_SPECS = [s for s in specs.DATA_KEY_PAIR_SPECS if s != "SM2"]
ASYMMETRIC_PAIRS = [
    (s, u) for s, u in specs.valid_pairs() if specs.get(s).is_asymmetric and s != "SM2"
]


def _hash(alg: specs.Algorithm) -> hashes.HashAlgorithm:
    assert alg.hash is not None
    return getattr(hashes, alg.hash)()


def _digest(alg: specs.Algorithm, message: bytes) -> bytes:
    assert alg.hash is not None
    return hashlib.new(alg.hash.lower(), message).digest()


def _public(client, key_id: str):
    return serialization.load_der_public_key(client.get_public_key(KeyId=key_id)["PublicKey"])


def _flip(data: bytes, index: int = -1) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def _mu(public_raw: bytes, message: bytes) -> bytes:
    """FIPS 204 mu for an empty context: SHAKE256(SHAKE256(pk, 64) || 0 || 0 || M, 64)."""
    tr = hashlib.shake_256(public_raw).digest(64)
    return hashlib.shake_256(tr + b"\x00\x00" + message).digest(64)


# -- symmetric encryption -------------------------------------------------------------------


def test_symmetric_round_trip(client, keys):
    meta = keys.meta("SYMMETRIC_DEFAULT")
    context = {"purpose": "test", "Tenant": "Ä-1"}
    out = client.encrypt(KeyId=meta["KeyId"], Plaintext=b"secret", EncryptionContext=context)
    assert out["KeyId"] == meta["Arn"]
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = out["CiphertextBlob"]
    for kwargs in ({}, {"KeyId": meta["KeyId"]}, {"KeyId": meta["Arn"]}):
        back = client.decrypt(CiphertextBlob=blob, EncryptionContext=context, **kwargs)
        assert back["Plaintext"] == b"secret"
        assert back["KeyId"] == meta["Arn"]
        assert back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
        assert back["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    plain = client.encrypt(KeyId=meta["KeyId"], Plaintext=b"no context")["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=plain)["Plaintext"] == b"no context"


def test_encrypt_response_members(kms, keys):
    out = kms.call("Encrypt", KeyId=keys.id("SYMMETRIC_DEFAULT"), Plaintext=b"x")
    assert set(out) == {"CiphertextBlob", "KeyId", "EncryptionAlgorithm"}


def test_symmetric_plaintext_limit(client, raw_client, keys, aws_error):
    key_id = keys.id("SYMMETRIC_DEFAULT")
    top = specs.get("SYMMETRIC_DEFAULT").algorithm("SYMMETRIC_DEFAULT")
    assert top is not None and top.max_plaintext_bytes is not None
    data = os.urandom(top.max_plaintext_bytes)
    blob = client.encrypt(KeyId=key_id, Plaintext=data)["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == data
    with aws_error("ValidationException"):
        raw_client.encrypt(KeyId=key_id, Plaintext=data + b"!")


def test_symmetric_blob_opens_with_aes_gcm_as_documented(kms, client, keys):
    """kmslab's blob format is documented (kmslab.kms.ciphertext); open one with AESGCM directly."""
    key_id = keys.id("SYMMETRIC_DEFAULT")
    context = {"b": "2", "a": "1"}
    blob = client.encrypt(KeyId=key_id, Plaintext=b"look inside", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    canonical = b"".join(
        len(part.encode()).to_bytes(4, "big") + part.encode()
        for k in sorted(context)
        for part in (k, context[k])
    )
    material = kms.keys[key_id].materials[0].secret
    opened = AESGCM(material).decrypt(blob[49:61], blob[61:], blob[:49] + canonical)
    assert opened == b"look inside"
    assert len(blob) == len(b"look inside") + 77


@pytest.mark.parametrize(
    "context",
    [None, {"purpose": "TEST"}, {"purpose": "test", "extra": "x"}, {"Purpose": "test"}, {}],
)
def test_wrong_or_missing_context_is_invalid_ciphertext(client, keys, aws_error, context):
    key_id = keys.id("SYMMETRIC_DEFAULT")
    blob = client.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"purpose": "test"})[
        "CiphertextBlob"
    ]
    kwargs = {"EncryptionContext": context} if context is not None else {}
    with aws_error("InvalidCiphertextException"):
        client.decrypt(CiphertextBlob=blob, **kwargs)


def test_decrypt_with_another_key_is_incorrect_key(client, keys, fresh_key, aws_error):
    blob = client.encrypt(KeyId=keys.id("SYMMETRIC_DEFAULT"), Plaintext=b"x")["CiphertextBlob"]
    with aws_error("IncorrectKeyException"):
        client.decrypt(CiphertextBlob=blob, KeyId=fresh_key()["KeyId"])


def test_re_encrypt_symmetric(client, keys, fresh_key):
    source, dest = keys.meta("SYMMETRIC_DEFAULT"), fresh_key()
    blob = client.encrypt(
        KeyId=source["KeyId"], Plaintext=b"move me", EncryptionContext={"a": "1"}
    )["CiphertextBlob"]
    out = client.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=dest["KeyId"],
        DestinationEncryptionContext={"b": "2"},
    )
    assert (out["SourceKeyId"], out["KeyId"]) == (source["Arn"], dest["Arn"])
    assert (
        out["SourceEncryptionAlgorithm"]
        == out["DestinationEncryptionAlgorithm"]
        == ("SYMMETRIC_DEFAULT")
    )
    assert out["SourceKeyMaterialId"] == source["CurrentKeyMaterialId"]
    assert out["DestinationKeyMaterialId"] == dest["CurrentKeyMaterialId"]
    back = client.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert (back["Plaintext"], back["KeyId"]) == (b"move me", dest["Arn"])


def test_re_encrypt_between_symmetric_and_rsa(kms, client, keys):
    sym, rsa_key = keys.meta("SYMMETRIC_DEFAULT"), keys.meta("RSA_2048", "ENCRYPT_DECRYPT")
    blob = client.encrypt(KeyId=sym["KeyId"], Plaintext=b"to rsa")["CiphertextBlob"]
    to_rsa = kms.call(
        "ReEncrypt",
        CiphertextBlob=blob,
        DestinationKeyId=rsa_key["KeyId"],
        DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert "DestinationKeyMaterialId" not in to_rsa and to_rsa["KeyId"] == rsa_key["Arn"]
    back = client.re_encrypt(
        CiphertextBlob=to_rsa["CiphertextBlob"],
        SourceKeyId=rsa_key["KeyId"],
        SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
        DestinationKeyId=sym["Arn"],
    )
    assert back["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    assert client.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"] == b"to rsa"


# -- RSA encryption -------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "alg"), OAEP_CASES, ids=lambda v: getattr(v, "name", v))
def test_rsa_oaep_limits_and_round_trip(client, raw_client, keys, aws_error, spec, alg):
    key_id = keys.id(spec, "ENCRYPT_DECRYPT")
    biggest = os.urandom(alg.max_plaintext_bytes)
    out = client.encrypt(KeyId=key_id, Plaintext=biggest, EncryptionAlgorithm=alg.name)
    assert len(out["CiphertextBlob"]) == alg.ciphertext_bytes
    assert out["EncryptionAlgorithm"] == alg.name
    back = client.decrypt(
        KeyId=key_id, CiphertextBlob=out["CiphertextBlob"], EncryptionAlgorithm=alg.name
    )
    assert back["Plaintext"] == biggest and back["EncryptionAlgorithm"] == alg.name
    with aws_error("ValidationException"):
        raw_client.encrypt(KeyId=key_id, Plaintext=biggest + b"!", EncryptionAlgorithm=alg.name)


@pytest.mark.parametrize(("spec", "alg"), OAEP_CASES, ids=lambda v: getattr(v, "name", v))
def test_rsa_decrypts_ciphertext_made_outside(client, keys, spec, alg):
    key_id = keys.id(spec, "ENCRYPT_DECRYPT")
    public = _public(client, key_id)
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(_hash(alg)), algorithm=_hash(alg), label=None)
    ciphertext = public.encrypt(b"made by cryptography", oaep)
    back = client.decrypt(KeyId=key_id, CiphertextBlob=ciphertext, EncryptionAlgorithm=alg.name)
    assert back["Plaintext"] == b"made by cryptography"


def test_rsa_needs_its_algorithm(client, keys, aws_error):
    key_id = keys.id("RSA_2048", "ENCRYPT_DECRYPT")
    message = "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    with aws_error("InvalidKeyUsageException", message):
        client.encrypt(KeyId=key_id, Plaintext=b"x")
    sha1 = client.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    with aws_error("InvalidCiphertextException"):  # decrypting with the other OAEP hash
        client.decrypt(
            KeyId=key_id,
            CiphertextBlob=sha1["CiphertextBlob"],
            EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        )


# -- data keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16)]
    + [({"NumberOfBytes": n}, n) for n in (1, 64, 1024)],
)
def test_generate_data_key(client, keys, kwargs, size):
    meta = keys.meta("SYMMETRIC_DEFAULT")
    out = client.generate_data_key(KeyId=meta["KeyId"], EncryptionContext={"k": "v"}, **kwargs)
    assert len(out["Plaintext"]) == size
    assert out["KeyId"] == meta["Arn"]
    assert out["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    back = client.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})
    assert back["Plaintext"] == out["Plaintext"]
    bare = client.generate_data_key_without_plaintext(KeyId=meta["KeyId"], **kwargs)
    assert "Plaintext" not in bare and bare["KeyId"] == meta["Arn"]
    assert len(client.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]) == size


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"KeySpec": "AES_256", "NumberOfBytes": 32},
        {"NumberOfBytes": 0},
        {"NumberOfBytes": 1025},
    ],
)
@pytest.mark.parametrize("operation", ["generate_data_key", "generate_data_key_without_plaintext"])
def test_generate_data_key_size_rules(raw_client, keys, aws_error, operation, kwargs):
    with aws_error("ValidationException"):
        getattr(raw_client, operation)(KeyId=keys.id("SYMMETRIC_DEFAULT"), **kwargs)


def _private_matches_public(spec: str, private_der: bytes, public_der: bytes) -> None:
    if spec == "ML_KEM_512":  # cryptography has no ML-KEM-512: derive with kyber-py instead
        from kyber_py.ml_kem import ML_KEM_512

        # RFC 9935 seed form: PrivateKeyInfo with the 64-byte seed (d || z) as [0].
        assert private_der[-66:-64] == b"\x80\x40" and len(private_der) == 86
        ek, _ = ML_KEM_512.key_derive(private_der[-64:])
        assert public_der.endswith(ek) and len(public_der) == len(ek) + 22
        return
    private = serialization.load_der_private_key(private_der, None)
    derived = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert derived == public_der
    assert len(public_der) == specs.get(spec).public_key_der_bytes


@pytest.mark.parametrize("pair_spec", PAIR_SPECS)
def test_generate_data_key_pair(client, keys, pair_spec):
    meta = keys.meta("SYMMETRIC_DEFAULT")
    out = client.generate_data_key_pair(KeyId=meta["KeyId"], KeyPairSpec=pair_spec)
    assert (out["KeyPairSpec"], out["KeyId"]) == (pair_spec, meta["Arn"])
    assert out["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    _private_matches_public(pair_spec, out["PrivateKeyPlaintext"], out["PublicKey"])
    opened = client.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])["Plaintext"]
    assert opened == out["PrivateKeyPlaintext"]


@pytest.mark.parametrize("pair_spec", ["ECC_NIST_P256", "ECC_NIST_EDWARDS25519", "ML_KEM_512"])
def test_generate_data_key_pair_without_plaintext(client, keys, pair_spec):
    out = client.generate_data_key_pair_without_plaintext(
        KeyId=keys.id("SYMMETRIC_DEFAULT"), KeyPairSpec=pair_spec, EncryptionContext={"c": "1"}
    )
    assert "PrivateKeyPlaintext" not in out
    opened = client.decrypt(
        CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"c": "1"}
    )["Plaintext"]
    _private_matches_public(pair_spec, opened, out["PublicKey"])


@pytest.mark.parametrize(
    "operation", ["generate_data_key_pair", "generate_data_key_pair_without_plaintext"]
)
def test_generate_data_key_pair_sm2_outside_china_is_unsupported(
    client, keys, aws_error, operation
):
    # SM2 exists only in the China Regions (tests/kms/test_china.py makes SM2 pairs there).
    with aws_error(
        "UnsupportedOperationException", "KeyPairSpec SM2 is not supported in this Region"
    ):
        getattr(client, operation)(KeyId=keys.id("SYMMETRIC_DEFAULT"), KeyPairSpec="SM2")


@pytest.mark.parametrize("n", [1, 2, 32, 1023, 1024])
def test_generate_random(client, n):
    first = client.generate_random(NumberOfBytes=n)["Plaintext"]
    assert len(first) == n
    if n >= 32:
        assert client.generate_random(NumberOfBytes=n)["Plaintext"] != first


@pytest.mark.parametrize("n", [0, 1025])
def test_generate_random_range(raw_client, aws_error, n):
    with aws_error("ValidationException"):
        raw_client.generate_random(NumberOfBytes=n)


# -- signatures -----------------------------------------------------------------------------


def _verify_outside(spec: str, alg: specs.Algorithm, public, message: bytes, sig: bytes) -> None:
    """Check a KMS signature of the RAW ``message`` with a library kmslab does not drive."""
    family = specs.get(spec).family
    if family == "rsa":
        pad = (
            padding.PSS(mgf=padding.MGF1(_hash(alg)), salt_length=alg.digest_bytes)
            if alg.padding == "PSS"
            else padding.PKCS1v15()
        )
        public.verify(sig, message, pad, _hash(alg))
        assert len(sig) == alg.signature_bytes
    elif family == "ec":
        public.verify(sig, message, ec.ECDSA(_hash(alg)))  # DER-encoded (r, s)
        utils.decode_dss_signature(sig)
        assert len(sig) <= alg.signature_bytes
    elif alg.name == "ED25519_SHA_512":
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(sig, message)
    elif alg.name == "ED25519_PH_SHA_512":
        from Crypto.Hash import SHA512
        from Crypto.Signature import eddsa

        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        verifier = eddsa.new(eddsa.import_public_key(raw), "rfc8032")
        # AWS: the 64-byte DIGEST is the Ed25519ph message M; PH(M) = SHA-512(M).
        verifier.verify(SHA512.new(hashlib.sha512(message).digest()), sig)
    elif family == "ml-dsa":
        assert isinstance(
            public, mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey
        )
        public.verify(sig, message)
        assert len(sig) == alg.signature_bytes
    else:  # pragma: no cover - a new family needs a check here
        raise AssertionError(f"no outside check for {spec}")


def _as_message(public, alg: specs.Algorithm, message_type: str, message: bytes) -> bytes:
    """What to send as Message with ``message_type`` for the RAW ``message``."""
    if message_type == "RAW":
        return message
    if message_type == "EXTERNAL_MU":
        return _mu(public.public_bytes_raw(), message)
    return _digest(alg, message)


@pytest.mark.parametrize(("spec", "alg", "message_type"), SIGN_CASES)
def test_sign_verify_every_algorithm(client, keys, spec, alg, message_type):
    key = keys.meta(spec, "SIGN_VERIFY")
    public = _public(client, key["KeyId"])
    message = b"the message: " + os.urandom(16)
    sent = _as_message(public, alg, message_type, message)
    out = client.sign(
        KeyId=key["KeyId"], Message=sent, MessageType=message_type, SigningAlgorithm=alg.name
    )
    assert (out["KeyId"], out["SigningAlgorithm"]) == (key["Arn"], alg.name)
    sig = out["Signature"]
    checked = client.verify(
        KeyId=key["Arn"],
        Message=sent,
        MessageType=message_type,
        Signature=sig,
        SigningAlgorithm=alg.name,
    )
    assert checked["SignatureValid"] is True and checked["KeyId"] == key["Arn"]
    _verify_outside(spec, alg, public, message, sig)
    # AWS: a signature of RAW m also verifies as the DIGEST (or mu) of m.
    for other in alg.message_types:
        if other != message_type and alg.name != "ED25519_PH_SHA_512":
            assert client.verify(
                KeyId=key["KeyId"],
                Message=_as_message(public, alg, other, message),
                MessageType=other,
                Signature=sig,
                SigningAlgorithm=alg.name,
            )["SignatureValid"]


@pytest.mark.parametrize("spec", [s.name for s in SIGN_SPECS if s.family == "ml-dsa"])
def test_ml_dsa_external_mu_computed_here(client, keys, spec):
    key_id = keys.id(spec, "SIGN_VERIFY")
    public = _public(client, key_id)
    message = b"a message too large to send, signed by its mu"
    mu = _mu(public.public_bytes_raw(), message)
    sig = client.sign(
        KeyId=key_id, Message=mu, MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256"
    )["Signature"]
    public.verify(sig, message)  # cryptography: a plain FIPS 204 signature of M


def test_ed25519ph_checked_with_pycryptodome(client, keys):
    from Crypto.Hash import SHA512
    from Crypto.Signature import eddsa

    key_id = keys.id("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    digest = hashlib.sha512(b"prehashed message").digest()
    sig = client.sign(
        KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512"
    )["Signature"]
    raw = _public(client, key_id).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    eddsa.new(eddsa.import_public_key(raw), "rfc8032").verify(SHA512.new(digest), sig)
    with pytest.raises(ValueError):  # not a pure Ed25519 signature of the digest
        eddsa.new(eddsa.import_public_key(raw), "rfc8032").verify(digest, sig)


@pytest.mark.parametrize(
    ("spec", "alg"),
    [
        (info.name, alg)
        for info in SIGN_SPECS
        for alg in info.usage("SIGN_VERIFY").algorithms
        if alg.digest_bytes is not None
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_wrong_digest_length(client, keys, aws_error, spec, alg):
    key_id = keys.id(spec, "SIGN_VERIFY")
    (kind,) = [mt for mt in alg.message_types if mt != "RAW"]
    for n in (alg.digest_bytes - 1, alg.digest_bytes + 1):
        with aws_error("ValidationException"):
            client.sign(KeyId=key_id, Message=bytes(n), MessageType=kind, SigningAlgorithm=alg.name)
        with aws_error("ValidationException"):
            client.verify(
                KeyId=key_id,
                Message=bytes(n),
                MessageType=kind,
                Signature=b"s" * 64,
                SigningAlgorithm=alg.name,
            )


@pytest.mark.parametrize(("spec", "alg", "message_type"), BAD_MESSAGE_TYPES)
def test_message_type_not_allowed(client, keys, aws_error, spec, alg, message_type):
    key_id = keys.id(spec, "SIGN_VERIFY")
    message = bytes(alg.digest_bytes or 64)
    with aws_error("ValidationException"):
        client.sign(
            KeyId=key_id, Message=message, MessageType=message_type, SigningAlgorithm=alg.name
        )


@pytest.mark.parametrize("spec", [s.name for s in SIGN_SPECS])
def test_wrong_algorithm_for_spec(client, keys, aws_error, spec):
    key_id = keys.id(spec, "SIGN_VERIFY")
    for name in ALL_SIGNING_ALGS:
        if name in specs.algorithm_names(spec, "SIGN_VERIFY"):
            continue
        message = f"Algorithm {name} is incompatible with key spec {spec}."
        with aws_error("InvalidKeyUsageException", message):
            client.sign(KeyId=key_id, Message=b"m", SigningAlgorithm=name)
        with aws_error("InvalidKeyUsageException", message):
            client.verify(KeyId=key_id, Message=b"m", Signature=b"s", SigningAlgorithm=name)


@pytest.mark.parametrize("spec", [s.name for s in SIGN_SPECS])
def test_bad_signature_raises(client, keys, spec):
    key_id = keys.id(spec, "SIGN_VERIFY")
    alg = specs.get(spec).usage("SIGN_VERIFY").algorithms[0]
    message = b"m" if "RAW" in alg.message_types else bytes(alg.digest_bytes or 0)
    mt = alg.message_types[0]
    sig = client.sign(KeyId=key_id, Message=message, MessageType=mt, SigningAlgorithm=alg.name)[
        "Signature"
    ]
    bad = client.exceptions.KMSInvalidSignatureException
    for tampered_sig, tampered_msg in ((_flip(sig, 10), message), (sig, _flip(message))):
        with pytest.raises(bad):
            client.verify(
                KeyId=key_id,
                Message=tampered_msg,
                MessageType=mt,
                Signature=tampered_sig,
                SigningAlgorithm=alg.name,
            )


# -- MACs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", HMAC_SPECS)
def test_mac_every_hmac_spec(kms, client, keys, aws_error, spec):
    key_id = keys.id(spec, "GENERATE_VERIFY_MAC")
    (alg,) = specs.get(spec).usage("GENERATE_VERIFY_MAC").algorithms
    out = client.generate_mac(KeyId=key_id, Message=b"message", MacAlgorithm=alg.name)
    tag = out["Mac"]
    assert len(tag) == alg.mac_bytes and out["MacAlgorithm"] == alg.name
    assert (
        client.generate_mac(KeyId=key_id, Message=b"message", MacAlgorithm=alg.name)["Mac"] == tag
    )
    assert (
        client.generate_mac(KeyId=key_id, Message=b"messagf", MacAlgorithm=alg.name)["Mac"] != tag
    )
    # The material is visible in-process: the standard library's HMAC agrees.
    material = kms.keys[key_id].materials[0].secret
    assert hmac.new(material, b"message", alg.hash.lower()).digest() == tag
    ok = client.verify_mac(KeyId=key_id, Message=b"message", Mac=tag, MacAlgorithm=alg.name)
    assert ok["MacValid"] is True
    for bit in (0, len(tag) * 8 - 1):
        flipped = bytearray(tag)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(client.exceptions.KMSInvalidMacException):
            client.verify_mac(
                KeyId=key_id, Message=b"message", Mac=bytes(flipped), MacAlgorithm=alg.name
            )
    with pytest.raises(client.exceptions.KMSInvalidMacException):
        client.verify_mac(KeyId=key_id, Message=b"message", Mac=tag[:-1], MacAlgorithm=alg.name)
    other = next(a for a in ("HMAC_SHA_224", "HMAC_SHA_512") if a != alg.name)
    with aws_error(
        "InvalidKeyUsageException", f"Algorithm {other} is incompatible with key spec {spec}."
    ):
        client.generate_mac(KeyId=key_id, Message=b"message", MacAlgorithm=other)


# -- key agreement --------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ECDH_SPECS)
def test_derive_shared_secret(client, keys, aws_error, spec):
    key_id = keys.id(spec, "KEY_AGREEMENT")
    info = specs.get(spec)
    kms_public = _public(client, key_id)
    assert isinstance(kms_public, ec.EllipticCurvePublicKey)
    assert kms_public.curve.name == info.curve
    peer = ec.generate_private_key(kms_public.curve)
    peer_spki = peer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out = client.derive_shared_secret(
        KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_spki
    )
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), kms_public)
    (alg,) = info.usage("KEY_AGREEMENT").algorithms
    assert len(out["SharedSecret"]) == alg.shared_secret_bytes
    assert (out["KeyAgreementAlgorithm"], out["KeyOrigin"]) == ("ECDH", "AWS_KMS")
    other_curve = ec.SECP256R1() if info.curve != "secp256r1" else ec.SECP384R1()
    for wrong in (ec.generate_private_key(other_curve), ed25519.Ed25519PrivateKey.generate()):
        spki = wrong.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with aws_error("ValidationException"):
            client.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=spki)


# -- key encapsulation ----------------------------------------------------------------------


def _encapsulate_outside(spec: str, spki: bytes) -> tuple[bytes, bytes]:
    if spec == "ML_KEM_512":
        from kyber_py.ml_kem import ML_KEM_512

        return ML_KEM_512.encaps(spki[22:])
    public = serialization.load_der_public_key(spki)
    assert isinstance(public, mlkem.MLKEM768PublicKey | mlkem.MLKEM1024PublicKey)
    return public.encapsulate()


@pytest.mark.parametrize("spec", KEM_SPECS)
def test_encapsulate_decapsulate(client, keys, aws_error, spec):
    key_id = keys.id(spec, "ENCAPSULATE_DECAPSULATE")
    (alg,) = specs.get(spec).usage("ENCAPSULATE_DECAPSULATE").algorithms
    out = client.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    secret, ct = out["SharedSecret"], out["SharedSecretCiphertextBlob"]
    assert len(secret) == alg.shared_secret_bytes == 32 and len(ct) == alg.ciphertext_bytes

    def decapsulate(blob: bytes) -> bytes:
        return client.decapsulate(
            KeyId=key_id, EncapsulationAlgorithm="ML_KEM", SharedSecretCiphertextBlob=blob
        )["SharedSecret"]

    assert decapsulate(ct) == secret
    # A sender outside kmslab, with only the public key from GetPublicKey.
    outside_secret, outside_ct = _encapsulate_outside(
        spec, client.get_public_key(KeyId=key_id)["PublicKey"]
    )
    assert decapsulate(outside_ct) == outside_secret
    for wrong_length in (ct[:-1], ct + b"\x00"):
        with aws_error("InvalidCiphertextException"):
            decapsulate(wrong_length)
    # Right length, wrong content: implicit rejection, a pseudo-random but repeatable secret.
    garbage = _flip(ct, 0)
    rejected = decapsulate(garbage)
    assert len(rejected) == 32 and rejected != secret
    assert decapsulate(garbage) == rejected


# -- public keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "usage"), ASYMMETRIC_PAIRS)
def test_get_public_key(client, keys, spec, usage):
    info = specs.get(spec)
    key = keys.meta(spec, usage)
    out = client.get_public_key(KeyId=key["KeyId"])
    listed = specs.ALGORITHM_KINDS[specs.USAGE_KIND[usage]][1]
    expected = {"KeyId", "PublicKey", "KeySpec", "KeyUsage", listed, "ResponseMetadata"}
    if info.in_customer_master_key_spec:
        expected.add("CustomerMasterKeySpec")
    assert set(out) == expected
    assert (out["KeyId"], out["KeySpec"], out["KeyUsage"]) == (key["Arn"], spec, usage)
    assert out[listed] == list(specs.algorithm_names(spec, usage))
    assert len(out["PublicKey"]) == info.public_key_der_bytes
    if spec != "ML_KEM_512":
        serialization.load_der_public_key(out["PublicKey"])


@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", *HMAC_SPECS])
def test_get_public_key_symmetric_is_unsupported(client, keys, aws_error, spec):
    with aws_error("UnsupportedOperationException"):
        client.get_public_key(KeyId=keys.id(spec))


# -- SM2 ------------------------------------------------------------------------------------
