"""Hold the catalogue (:mod:`kmslab.specs`) to reality.

Names are diffed both ways against botocore's KMS service model (nothing missing, nothing
invented); sizes are checked against keys really generated with ``cryptography`` (and, where
it has no implementation, ``pycryptodome`` for Ed25519ph and kmslab's ML-KEM-512 wrapper).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from typing import Any

import botocore.session
import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kmslab import specs
from kmslab.crypto import mlkem as kmslab_mlkem
from kmslab.exceptions import KmslabError, UnknownKeySpecError

ROWS = list(specs.all_specs())
SPEC_NAMES = [s.name for s in ROWS]
RSA_SPECS = [
    pytest.param(s.name, marks=pytest.mark.slow) if s.key_bits == 4096 else s.name
    for s in ROWS
    if s.family == "rsa"
]
EC_SPECS = [s.name for s in ROWS if s.family == "ec"]
NIST_SPECS = [s.name for s in ROWS if s.family == "ec" and s.usage("KEY_AGREEMENT")]
ML_DSA_SPECS = [s.name for s in ROWS if s.family == "ml-dsa"]
ML_KEM_SPECS = [s.name for s in ROWS if s.family == "ml-kem"]
HMAC_SPECS = [s.name for s in ROWS if s.family == "hmac"]
#: Specs whose public key cryptography (or kmslab's ML-KEM-512) can generate here.
GENERATED_SPECS = [
    pytest.param(s.name, marks=pytest.mark.slow) if s.name == "RSA_4096" else s.name
    for s in ROWS
    if s.family in {"rsa", "ec", "edwards", "ml-dsa", "ml-kem"}
]

#: Algorithm kind -> the botocore enum shape that names algorithms of that kind.
KIND_SHAPES: dict[str, str] = {
    "encryption": "EncryptionAlgorithmSpec",
    "signing": "SigningAlgorithmSpec",
    "mac": "MacAlgorithmSpec",
    "key_agreement": "KeyAgreementAlgorithmSpec",
    "encapsulation": "EncapsulationAlgorithmSpec",
}


def _algorithms(kind: str | None = None) -> list[tuple[specs.KeySpecInfo, specs.Algorithm]]:
    """Every (row, algorithm) pair in the catalogue, optionally of one kind."""
    return [
        (s, a)
        for s in ROWS
        for u in s.usages
        for a in u.algorithms
        if kind is None or a.kind == kind
    ]


def _pairs(kind: str, family: str | None = None) -> list[Any]:
    """(spec name, algorithm name) params for one kind; RSA-4096 cases are marked slow."""
    out: list[Any] = []
    for s, a in _algorithms(kind):
        if family is not None and s.family != family:
            continue
        marks = [pytest.mark.slow] if s.name == "RSA_4096" else []
        out.append(pytest.param(s.name, a.name, marks=marks, id=f"{s.name}-{a.name}"))
    return out


# -- botocore's model --------------------------------------------------------------------


@pytest.fixture(scope="session")
def kms_model() -> Any:
    return botocore.session.get_session().get_service_model("kms")


def enum(model: Any, shape: str) -> list[str]:
    values: list[str] = model.shape_for(shape).enum
    assert values, f"botocore's {shape} has no enum values"
    return values


def assert_same_names(model_names: Iterable[str], ours: Iterable[str], what: str) -> None:
    """Nothing missing from the catalogue, nothing invented by it, no duplicates."""
    model_list, our_list = list(model_names), list(ours)
    missing = sorted(set(model_list) - set(our_list))
    invented = sorted(set(our_list) - set(model_list))
    assert not missing, f"{what}: in botocore but missing from the catalogue: {missing}"
    assert not invented, f"{what}: in the catalogue but not in botocore: {invented}"


def test_key_specs_match_botocore(kms_model: Any) -> None:
    assert_same_names(enum(kms_model, "KeySpec"), specs.KEY_SPECS, "KeySpec")
    assert len(ROWS) == len(specs.KEY_SPECS) == 20
    assert all(name == row.name for name, row in specs.KEY_SPECS.items())


def test_key_usages_match_botocore(kms_model: Any) -> None:
    model = enum(kms_model, "KeyUsageType")
    assert len(set(specs.KEY_USAGES)) == len(specs.KEY_USAGES)
    assert_same_names(model, specs.KEY_USAGES, "KeyUsageType (KEY_USAGES)")
    assert_same_names(model, {u.name for s in ROWS for u in s.usages}, "KeyUsageType (rows)")
    assert_same_names(model, specs.USAGE_KIND, "KeyUsageType (USAGE_KIND)")


@pytest.mark.parametrize("kind", sorted(KIND_SHAPES))
def test_algorithm_names_match_botocore(kms_model: Any, kind: str) -> None:
    ours = {a.name for _, a in _algorithms(kind)}
    assert_same_names(enum(kms_model, KIND_SHAPES[kind]), ours, KIND_SHAPES[kind])


def test_algorithm_kinds_name_real_members(kms_model: Any) -> None:
    """ALGORITHM_KINDS' request member and KeyMetadata list exist and carry the right enum."""
    assert set(specs.ALGORITHM_KINDS) == set(KIND_SHAPES) == set(specs.USAGE_KIND.values())
    request_members: dict[str, set[str]] = {}
    for op in kms_model.operation_names:
        shape = kms_model.operation_model(op).input_shape
        for member, member_shape in shape.members.items() if shape else ():
            request_members.setdefault(member, set()).add(member_shape.name)
    metadata = kms_model.shape_for("KeyMetadata").members
    for kind, (request_member, metadata_list) in specs.ALGORITHM_KINDS.items():
        assert request_members.get(request_member) == {KIND_SHAPES[kind]}, request_member
        assert metadata[metadata_list].member.name == KIND_SHAPES[kind], metadata_list


def test_data_key_specs_match_botocore(kms_model: Any) -> None:
    assert_same_names(enum(kms_model, "DataKeySpec"), specs.DATA_KEY_SPECS, "DataKeySpec")
    for name, size in specs.DATA_KEY_SPECS.items():
        assert size * 8 == int(name.removeprefix("AES_")), name


def test_data_key_pair_specs_match_botocore(kms_model: Any) -> None:
    assert_same_names(
        enum(kms_model, "DataKeyPairSpec"), specs.DATA_KEY_PAIR_SPECS, "DataKeyPairSpec"
    )


def test_message_types_match_botocore(kms_model: Any) -> None:
    model = enum(kms_model, "MessageType")
    assert_same_names(model, specs.MESSAGE_TYPES, "MessageType (MESSAGE_TYPES)")
    used = {t for _, a in _algorithms("signing") for t in a.message_types}
    assert_same_names(model, used, "MessageType (signing algorithms)")
    for _, a in _algorithms("signing"):
        assert a.message_types, f"{a.name} accepts no MessageType"
    for s, a in _algorithms():
        if a.kind != "signing":
            assert a.message_types == (), f"{s.name} {a.name} is not a signing algorithm"


def test_key_states_match_botocore(kms_model: Any) -> None:
    assert_same_names(enum(kms_model, "KeyState"), specs.KEY_STATES, "KeyState")


def test_origins_match_botocore(kms_model: Any) -> None:
    assert_same_names(enum(kms_model, "OriginType"), specs.ORIGINS, "OriginType")


def test_customer_master_key_spec_matches_botocore(kms_model: Any) -> None:
    ours = [s.name for s in ROWS if s.in_customer_master_key_spec]
    assert_same_names(enum(kms_model, "CustomerMasterKeySpec"), ours, "CustomerMasterKeySpec")


def test_max_message_bytes_matches_botocore(kms_model: Any) -> None:
    for op, member in [
        ("Encrypt", "Plaintext"),
        ("Sign", "Message"),
        ("Verify", "Message"),
        ("GenerateMac", "Message"),
        ("VerifyMac", "Message"),
    ]:
        shape = kms_model.operation_model(op).input_shape.members[member]
        assert shape.metadata["max"] == specs.MAX_MESSAGE_BYTES, (op, member)
    symmetric = specs.get("SYMMETRIC_DEFAULT").algorithm("SYMMETRIC_DEFAULT")
    assert symmetric is not None
    assert symmetric.max_plaintext_bytes == specs.MAX_MESSAGE_BYTES


# -- internal consistency ----------------------------------------------------------------


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_algorithm_kind_matches_usage(name: str) -> None:
    info = specs.get(name)
    assert info.usages, f"{name} allows no usage"
    assert len(set(info.usage_names)) == len(info.usage_names)
    for u in info.usages:
        assert u.algorithms, f"{name} {u.name} offers no algorithm"
        assert u.kind == specs.USAGE_KIND[u.name]
        for a in u.algorithms:
            assert a.kind == specs.USAGE_KIND[u.name], (name, u.name, a.name, a.kind)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_default_usage_is_one_of_the_usages(name: str) -> None:
    info = specs.get(name)
    assert info.default_usage is None or info.default_usage in info.usage_names


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_symmetric_rows_have_key_bytes_and_no_public_key(name: str) -> None:
    info = specs.get(name)
    assert info.is_asymmetric is not info.symmetric
    if info.symmetric:
        assert info.key_bytes is not None and info.key_bytes * 8 == info.key_bits
        assert info.public_key_der_bytes is None
        assert not info.data_key_pair
    else:
        assert info.public_key_der_bytes is not None
        assert info.key_bytes is None


def test_security_bits_are_nist_strengths() -> None:
    # SP 800-57 strengths; RSA-4096 sits between categories (about 152 bits).
    for info in ROWS:
        allowed = {152} if info.name == "RSA_4096" else {112, 128, 192, 256}
        assert info.security_bits in allowed, (info.name, info.security_bits)


# -- sizes, against keys really generated ------------------------------------------------


@pytest.fixture(scope="session")
def private_key() -> Callable[[str], Any]:
    """A factory: the (one, cached) private key generated for a spec name."""

    @functools.cache
    def generate(name: str) -> Any:
        info = specs.get(name)
        if info.family == "rsa":
            return rsa.generate_private_key(public_exponent=65537, key_size=info.key_bits)
        if info.family == "ec":
            assert info.curve is not None
            return ec.generate_private_key(getattr(ec, info.curve.upper())())
        if info.family == "edwards":
            return ed25519.Ed25519PrivateKey.generate()
        level = name.rsplit("_", 1)[1]
        if info.family == "ml-dsa":
            return getattr(mldsa, f"MLDSA{level}PrivateKey").generate()
        if info.family == "ml-kem":
            if name == "ML_KEM_512":  # not in cryptography
                return kmslab_mlkem.generate(info)
            return getattr(mlkem, f"MLKEM{level}PrivateKey").generate()
        raise AssertionError(f"no generator for {name}")

    return generate


def _public_der(name: str, key: Any) -> bytes:
    if name == "ML_KEM_512":
        return kmslab_mlkem.public_der(key)
    der: bytes = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return der


def _algorithm(spec: str, alg: str) -> specs.Algorithm:
    a = specs.get(spec).algorithm(alg)
    assert a is not None, (spec, alg)
    return a


def _hash(name: str | None) -> hashes.HashAlgorithm:
    assert name is not None
    algorithm: hashes.HashAlgorithm = getattr(hashes, name)()
    return algorithm


@pytest.mark.parametrize("name", GENERATED_SPECS)
def test_public_key_der_size(private_key: Callable[[str], Any], name: str) -> None:
    der = _public_der(name, private_key(name))
    assert len(der) == specs.get(name).public_key_der_bytes


@pytest.mark.parametrize(("spec", "alg"), _pairs("signing", "rsa"))
def test_rsa_signature_size(private_key: Callable[[str], Any], spec: str, alg: str) -> None:
    a = _algorithm(spec, alg)
    h = _hash(a.hash)
    pad: padding.AsymmetricPadding
    if a.padding == "PSS":
        pad = padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.DIGEST_LENGTH)
    else:
        assert a.padding == "PKCS1v15"
        pad = padding.PKCS1v15()
    key = private_key(spec)
    sig = key.sign(b"kmslab", pad, h)
    key.public_key().verify(sig, b"kmslab", pad, h)
    assert len(sig) == a.signature_bytes == specs.get(spec).key_bits // 8


def _max_der_ecdsa_signature(order_bits: int) -> int:
    """Longest DER ECDSA-Sig-Value: two INTEGERs of the order's size (plus a sign byte)."""
    int_len = (order_bits + 7) // 8 + (1 if order_bits % 8 == 0 else 0)
    content = 2 * (2 + int_len)
    return content + (2 if content < 128 else 3)


@pytest.mark.parametrize(("spec", "alg"), _pairs("signing", "ec"))
def test_ecdsa_signature_size(private_key: Callable[[str], Any], spec: str, alg: str) -> None:
    a = _algorithm(spec, alg)
    key = private_key(spec)
    sizes = {len(key.sign(bytes([i]) * 32, ec.ECDSA(_hash(a.hash)))) for i in range(8)}
    assert a.signature_bytes is not None
    assert max(sizes) <= a.signature_bytes
    # The catalogue gives the tight bound, not just any upper bound.
    assert a.signature_bytes == _max_der_ecdsa_signature(key.curve.key_size)


def test_ed25519_signature_sizes(private_key: Callable[[str], Any]) -> None:
    from Crypto.Hash import SHA512
    from Crypto.PublicKey import ECC
    from Crypto.Signature import eddsa

    pure = _algorithm("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")
    assert len(private_key("ECC_NIST_EDWARDS25519").sign(b"kmslab")) == pure.signature_bytes
    assert pure.signature_bytes == 64
    # Ed25519ph (RFC 8032 HashEdDSA) is not in cryptography; pycryptodome has it.
    ph = _algorithm("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512")
    sig = eddsa.new(ECC.generate(curve="ed25519"), "rfc8032").sign(SHA512.new(b"kmslab"))
    assert len(sig) == ph.signature_bytes == 64


@pytest.mark.parametrize("spec", ML_DSA_SPECS)
def test_ml_dsa_signature_size(private_key: Callable[[str], Any], spec: str) -> None:
    a = _algorithm(spec, "ML_DSA_SHAKE_256")
    key = private_key(spec)
    sig = key.sign(b"kmslab")
    key.public_key().verify(sig, b"kmslab")
    assert len(sig) == a.signature_bytes


@pytest.mark.parametrize(("spec", "alg"), _pairs("encryption", "rsa"))
def test_rsa_oaep_limits(private_key: Callable[[str], Any], spec: str, alg: str) -> None:
    a = _algorithm(spec, alg)
    assert a.max_plaintext_bytes is not None
    h = _hash(a.hash)
    pad = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    key = private_key(spec)
    plaintext = b"\xa5" * a.max_plaintext_bytes
    ciphertext = key.public_key().encrypt(plaintext, pad)
    assert len(ciphertext) == a.ciphertext_bytes
    assert key.decrypt(ciphertext, pad) == plaintext
    with pytest.raises(ValueError):
        key.public_key().encrypt(plaintext + b"\xa5", pad)


@pytest.mark.parametrize("spec", HMAC_SPECS)
def test_hmac_tag_size(spec: str) -> None:
    info = specs.get(spec)
    (a,) = info.usages[0].algorithms
    assert info.key_bytes is not None
    mac = hmac.HMAC(b"\x0b" * info.key_bytes, _hash(a.hash))
    mac.update(b"kmslab")
    assert len(mac.finalize()) == a.mac_bytes


@pytest.mark.parametrize("spec", NIST_SPECS)
def test_ecdh_shared_secret_size(private_key: Callable[[str], Any], spec: str) -> None:
    a = _algorithm(spec, "ECDH")
    ours = private_key(spec)
    peer = ec.generate_private_key(ours.curve)
    secret = ours.exchange(ec.ECDH(), peer.public_key())
    assert secret == peer.exchange(ec.ECDH(), ours.public_key())
    assert len(secret) == a.shared_secret_bytes


@pytest.mark.parametrize("spec", ML_KEM_SPECS)
def test_ml_kem_sizes(private_key: Callable[[str], Any], spec: str) -> None:
    a = _algorithm(spec, "ML_KEM")
    key = private_key(spec)
    if spec == "ML_KEM_512":
        secret, ciphertext = kmslab_mlkem.encapsulate(key)
        assert kmslab_mlkem.decapsulate(key, ciphertext) == secret
    else:
        secret, ciphertext = key.public_key().encapsulate()
        assert key.decapsulate(ciphertext) == secret
    assert len(ciphertext) == a.ciphertext_bytes
    assert len(secret) == a.shared_secret_bytes


@pytest.mark.parametrize(("spec", "alg"), _pairs("signing"))
def test_digest_bytes(spec: str, alg: str) -> None:
    a = _algorithm(spec, alg)
    if "EXTERNAL_MU" in a.message_types:  # ML-DSA: mu is 64 bytes of SHAKE256
        assert (a.hash, a.digest_bytes) == ("SHAKE256", 64)
    elif "DIGEST" in a.message_types:  # includes ED25519_PH_SHA_512: a SHA-512 digest
        assert a.digest_bytes == _hash(a.hash).digest_size
    else:  # RAW only (ED25519_SHA_512): no digest to size
        assert a.digest_bytes is None


# -- query helpers -----------------------------------------------------------------------


def test_for_usage() -> None:
    for usage in specs.KEY_USAGES:
        expected = [s for s in ROWS if usage in s.usage_names]
        assert specs.for_usage(usage) == expected
    assert [s.name for s in specs.for_usage("GENERATE_VERIFY_MAC")] == HMAC_SPECS
    assert [s.name for s in specs.for_usage("ENCAPSULATE_DECAPSULATE")] == ML_KEM_SPECS
    assert [s.name for s in specs.for_usage("KEY_AGREEMENT")] == [*NIST_SPECS, "SM2"]
    assert specs.for_usage("NOT_A_USAGE") == []


def test_algorithm_names() -> None:
    assert specs.algorithm_names("RSA_2048", "ENCRYPT_DECRYPT") == (
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
    )
    assert specs.algorithm_names("ECC_NIST_EDWARDS25519", "SIGN_VERIFY") == (
        "ED25519_SHA_512",
        "ED25519_PH_SHA_512",
    )
    assert specs.algorithm_names("ECC_SECG_P256K1", "KEY_AGREEMENT") == ()
    with pytest.raises(UnknownKeySpecError):
        specs.algorithm_names("RSA_1024", "SIGN_VERIFY")


def test_is_symmetric() -> None:
    assert {n for n in SPEC_NAMES if specs.is_symmetric(n)} == {"SYMMETRIC_DEFAULT", *HMAC_SPECS}
    with pytest.raises(UnknownKeySpecError):
        specs.is_symmetric("AES_256")


def test_key_type() -> None:
    assert specs.key_type("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") == "SYM"
    assert specs.key_type("HMAC_512", "GENERATE_VERIFY_MAC") == "HMAC"
    assert specs.key_type("RSA_3072", "ENCRYPT_DECRYPT") == "A-ED"
    assert specs.key_type("SM2", "KEY_AGREEMENT") == "A-KA"
    assert specs.key_type("ML_KEM_768", "ENCAPSULATE_DECAPSULATE") == "A-KEM"
    assert specs.key_type("ML_DSA_44", "SIGN_VERIFY") == "A-SV"
    assert {specs.key_type(s, u) for s, u in specs.valid_pairs()} == set(specs.KEY_TYPES)


def test_valid_pairs() -> None:
    pairs = specs.valid_pairs()
    assert len(pairs) == len(set(pairs)) == 28
    assert pairs == [(s.name, u) for s in ROWS for u in s.usage_names]
    assert ("RSA_2048", "SIGN_VERIFY") in pairs
    assert ("ECC_NIST_P384", "KEY_AGREEMENT") in pairs
    assert ("ECC_SECG_P256K1", "KEY_AGREEMENT") not in pairs
    assert ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT") not in pairs
    assert ("SYMMETRIC_DEFAULT", "SIGN_VERIFY") not in pairs


def test_get_returns_the_row() -> None:
    for name in SPEC_NAMES:
        assert specs.get(name) is specs.KEY_SPECS[name]
        assert specs.get(name).name == name


@pytest.mark.parametrize("bad", ["RSA_1024", "rsa_2048", "", ["RSA_2048"]])
def test_get_unknown_raises(bad: Any) -> None:
    with pytest.raises(UnknownKeySpecError) as info:
        specs.get(bad)
    err = info.value
    assert isinstance(err, KeyError)
    assert isinstance(err, ValueError)
    assert isinstance(err, KmslabError)
    assert err.valid == tuple(SPEC_NAMES)
    message = str(err)
    assert repr(bad) in message
    for name in SPEC_NAMES:
        assert name in message


def test_get_unknown_is_catchable_as_builtins() -> None:
    with pytest.raises(KeyError):
        specs.get("AES_128")
    with pytest.raises(ValueError):
        specs.get("AES_128")


def test_usage_and_algorithm_lookups() -> None:
    info = specs.get("SM2")
    assert info.usage("KEY_AGREEMENT") is not None
    assert info.usage("GENERATE_VERIFY_MAC") is None
    assert info.algorithm("SM2DSA", usage="SIGN_VERIFY") is not None
    assert info.algorithm("SM2DSA", usage="ENCRYPT_DECRYPT") is None
    assert info.algorithm("ECDSA_SHA_256") is None


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (specs.get("RSA_2048"), "security_bits"),
        (specs.get("RSA_2048").usages[0], "name"),
        (specs.get("RSA_2048").usages[0].algorithms[0], "max_plaintext_bytes"),
    ],
    ids=["KeySpecInfo", "Usage", "Algorithm"],
)
def test_rows_are_frozen(obj: Any, field: str) -> None:
    before = getattr(obj, field)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, 1)
    assert getattr(obj, field) == before


# -- partitions and Region names -------------------------------------------------------------


def _botocore_partitions() -> dict[str, dict[str, Any]]:
    loader = botocore.session.get_session().get_component("data_loader")
    return {p["partition"]: p for p in loader.load_data("endpoints")["partitions"]}


def test_partition_region_patterns_are_botocores() -> None:
    partitions = _botocore_partitions()
    for row in specs.PARTITIONS:
        assert row.region_pattern == partitions[row.name]["regionRegex"], row.name
        assert row.dns_suffix == partitions[row.name]["dnsSuffix"], row.name
        for region in partitions[row.name]["regions"]:
            assert specs.partition(region).name == row.name, region


@pytest.mark.parametrize("name", ["", "x y", "us-est1", "US-EAST-1", "us-east-1 ", "eu_west_1"])
def test_what_is_no_region_name_is_refused(name: str) -> None:
    assert not specs.is_region(name)
    with pytest.raises(ValueError, match="is not an AWS Region name"):
        specs.partition(name)
