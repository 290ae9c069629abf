"""The catalogue: one frozen row per AWS KMS key spec, and the enums around them.

Everything else in kmslab (the local KMS, the comparison matrix, the chooser, the widgets
and the benchmark) reads key-spec facts from here; nothing else maps a spec to its
algorithms. ``tests/test_specs.py`` diffs every name against botocore's KMS model.

>>> from kmslab import specs
>>> specs.get("RSA_2048").usage_names
('ENCRYPT_DECRYPT', 'SIGN_VERIFY')
>>> specs.get("RSA_2048").algorithm("RSAES_OAEP_SHA_256").max_plaintext_bytes
190
>>> [s.name for s in specs.for_usage("KEY_AGREEMENT")]
['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'SM2']
>>> specs.is_symmetric("HMAC_256")
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from kmslab.exceptions import UnknownKeySpecError

__all__ = [
    "ALGORITHM_KINDS",
    "AWS_KEY_TYPES",
    "DATA_KEY_PAIR_SPECS",
    "DATA_KEY_SPECS",
    "HASH_BYTES",
    "KEY_SPECS",
    "KEY_STATES",
    "KEY_USAGES",
    "MESSAGE_TYPES",
    "ORIGINS",
    "PARTITIONS",
    "Algorithm",
    "AlgorithmKind",
    "KeySpecInfo",
    "Partition",
    "Usage",
    "algorithm_names",
    "all_specs",
    "for_usage",
    "get",
    "is_symmetric",
    "key_type",
    "offered",
    "partition",
    "region_for",
]

AlgorithmKind = Literal["encryption", "signing", "mac", "key_agreement", "encapsulation"]

#: The botocore request member that names an algorithm of each kind, and the
#: KeyMetadata list that carries them.
ALGORITHM_KINDS: dict[AlgorithmKind, tuple[str, str]] = {
    "encryption": ("EncryptionAlgorithm", "EncryptionAlgorithms"),
    "signing": ("SigningAlgorithm", "SigningAlgorithms"),
    "mac": ("MacAlgorithm", "MacAlgorithms"),
    "key_agreement": ("KeyAgreementAlgorithm", "KeyAgreementAlgorithms"),
    "encapsulation": ("EncapsulationAlgorithm", "EncapsulationAlgorithms"),
}

KEY_USAGES: tuple[str, ...] = (
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
)
#: Usage -> the kind of algorithm it uses.
USAGE_KIND: dict[str, AlgorithmKind] = {
    "ENCRYPT_DECRYPT": "encryption",
    "SIGN_VERIFY": "signing",
    "GENERATE_VERIFY_MAC": "mac",
    "KEY_AGREEMENT": "key_agreement",
    "ENCAPSULATE_DECAPSULATE": "encapsulation",
}
#: DataKeySpec -> key length in bytes.
DATA_KEY_SPECS: dict[str, int] = {"AES_256": 32, "AES_128": 16}
MESSAGE_TYPES: tuple[str, ...] = ("RAW", "DIGEST", "EXTERNAL_MU")
KEY_STATES: tuple[str, ...] = (
    "Creating",
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "PendingReplicaDeletion",
    "Unavailable",
    "Updating",
)
ORIGINS: tuple[str, ...] = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")

#: Largest message Sign, Verify, GenerateMac and VerifyMac accept, and largest
#: plaintext Encrypt accepts for a symmetric key.
MAX_MESSAGE_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One algorithm a key spec offers for one usage, with the facts that matter about it.

    Only the fields that apply to the algorithm's ``kind`` are set; the rest are ``None``.
    ``hash`` is the name of the hash in ``cryptography.hazmat.primitives.hashes``.
    """

    name: str
    kind: AlgorithmKind
    standard: str
    hash: str | None = None
    #: encryption: the largest plaintext Encrypt accepts.
    max_plaintext_bytes: int | None = None
    #: encryption: ciphertext size (RSA-OAEP: the modulus); encapsulation: the KEM ciphertext.
    ciphertext_bytes: int | None = None
    #: signing: the MessageType values Sign and Verify accept with this algorithm.
    message_types: tuple[str, ...] = ()
    #: signing: the exact length a DIGEST (or EXTERNAL_MU) message must have.
    digest_bytes: int | None = None
    #: signing: the signature size (the largest, for DER-encoded ECDSA).
    signature_bytes: int | None = None
    #: mac: the tag length (never truncated in KMS).
    mac_bytes: int | None = None
    #: key_agreement and encapsulation: the shared secret length.
    shared_secret_bytes: int | None = None
    #: padding scheme for RSA: "OAEP", "PSS" or "PKCS1v15".
    padding: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """A KeyUsage a key spec allows, with the algorithms it offers for it."""

    name: str
    algorithms: tuple[Algorithm, ...]

    @property
    def kind(self) -> AlgorithmKind:
        return USAGE_KIND[self.name]

    @property
    def algorithm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.algorithms)


@dataclass(frozen=True, slots=True)
class KeySpecInfo:
    """Everything kmslab knows about one KeySpec.

    >>> info = get("ECC_NIST_P384")
    >>> info.family, info.curve, info.security_bits, info.public_key_der_bytes
    ('ec', 'secp384r1', 192, 120)
    """

    name: str
    #: primitive family: aes, hmac, rsa, ec, edwards, ml-dsa, ml-kem, sm2.
    family: str
    symmetric: bool
    usages: tuple[Usage, ...]
    #: the usage CreateKey picks when KeyUsage is omitted, or None when it must be given.
    default_usage: str | None
    #: security strength in bits (NIST SP 800-57 Part 1 tables 2 and 3; ML-* by NIST category).
    security_bits: int
    standard: str
    #: key size in bits (AES, HMAC, RSA modulus; for curves the field size).
    key_bits: int
    curve: str | None = None
    #: DER SubjectPublicKeyInfo size from GetPublicKey (None for symmetric keys).
    public_key_der_bytes: int | None = None
    #: raw key material size for symmetric keys (what ImportKeyMaterial expects).
    key_bytes: int | None = None
    data_key_pair: bool = False
    #: "all", "china-only" or "not-china".
    regions: str = "all"
    region_note: str = ""
    #: whether the deprecated CustomerMasterKeySpec enum also has this value.
    in_customer_master_key_spec: bool = True
    #: security strength in the China Regions when it differs (SYMMETRIC_DEFAULT is SM4-128).
    security_bits_china: int | None = None
    #: the primitive family in the China Regions when it differs (SYMMETRIC_DEFAULT: "sm4").
    family_china: str | None = None
    #: one-line explanation for learners.
    summary: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def usage_names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.usages)

    def usage(self, name: str) -> Usage | None:
        """The :class:`Usage` row for ``name``, or None when the spec does not allow it."""
        for u in self.usages:
            if u.name == name:
                return u
        return None

    def algorithm(self, name: str, usage: str | None = None) -> Algorithm | None:
        """The algorithm called ``name`` (optionally under one usage), or None."""
        for u in self.usages:
            if usage is not None and u.name != usage:
                continue
            for a in u.algorithms:
                if a.name == name:
                    return a
        return None

    @property
    def is_asymmetric(self) -> bool:
        return not self.symmetric

    def strength(self, china_regions: bool = False) -> int:
        """Security strength in bits, in the China Regions if asked.

        >>> get("SYMMETRIC_DEFAULT").strength(), get("SYMMETRIC_DEFAULT").strength(True)
        (256, 128)
        """
        if china_regions and self.security_bits_china is not None:
            return self.security_bits_china
        return self.security_bits

    def family_in(self, china_regions: bool = False) -> str:
        """The primitive family that serves this spec, in the China Regions if asked.

        >>> get("SYMMETRIC_DEFAULT").family_in(), get("SYMMETRIC_DEFAULT").family_in(True)
        ('aes', 'sm4')
        """
        if china_regions and self.family_china is not None:
            return self.family_china
        return self.family

    def key_bytes_in(self, china_regions: bool = False) -> int | None:
        """Raw symmetric key size (what ImportKeyMaterial takes), in the China Regions if asked."""
        if china_regions and self.family_china is not None:
            return self.strength(True) // 8
        return self.key_bytes


# -- row builders: small factories so each row below reads as data ----------------------

#: Digest length in bytes of each hash the algorithms name (RSA-OAEP limits, DIGEST sizes).
HASH_BYTES: dict[str, int] = {"SHA1": 20, "SHA224": 28, "SHA256": 32, "SHA384": 48, "SHA512": 64}
_RSA_STD = "RFC 8017 (PKCS #1 v2.2)"


def _rsa_usages(bits: int) -> tuple[Usage, ...]:
    k = bits // 8
    oaep = tuple(
        Algorithm(
            f"RSAES_OAEP_{h[:3]}_{h[3:]}",
            "encryption",
            _RSA_STD,
            hash=h,
            padding="OAEP",
            max_plaintext_bytes=k - 2 * HASH_BYTES[h] - 2,
            ciphertext_bytes=k,
        )
        for h in ("SHA1", "SHA256")
    )
    signing = tuple(
        Algorithm(
            f"RSASSA_{pad}_SHA_{h[3:]}",
            "signing",
            _RSA_STD,
            hash=h,
            padding=padding,
            message_types=("RAW", "DIGEST"),
            digest_bytes=HASH_BYTES[h],
            signature_bytes=k,
        )
        for pad, padding in (("PSS", "PSS"), ("PKCS1_V1_5", "PKCS1v15"))
        for h in ("SHA256", "SHA384", "SHA512")
    )
    return (Usage("ENCRYPT_DECRYPT", oaep), Usage("SIGN_VERIFY", signing))


def _ecdsa(h: str, max_sig: int) -> Algorithm:
    return Algorithm(
        f"ECDSA_SHA_{h[3:]}",
        "signing",
        "FIPS 186-5 (ECDSA), RFC 3279 (DER signature)",
        hash=h,
        message_types=("RAW", "DIGEST"),
        digest_bytes=HASH_BYTES[h],
        signature_bytes=max_sig,
    )


def _ecdh(secret: int) -> Usage:
    return Usage(
        "KEY_AGREEMENT",
        (
            Algorithm(
                "ECDH",
                "key_agreement",
                "NIST SP 800-56A (ECC CDH primitive, raw x-coordinate)",
                shared_secret_bytes=secret,
            ),
        ),
    )


def _ml_dsa(sig: int) -> tuple[Usage, ...]:
    return (
        Usage(
            "SIGN_VERIFY",
            (
                Algorithm(
                    "ML_DSA_SHAKE_256",
                    "signing",
                    "FIPS 204 (ML-DSA, empty context)",
                    hash="SHAKE256",
                    message_types=("RAW", "EXTERNAL_MU"),
                    digest_bytes=64,
                    signature_bytes=sig,
                ),
            ),
        ),
    )


def _ml_kem(ciphertext: int) -> tuple[Usage, ...]:
    return (
        Usage(
            "ENCAPSULATE_DECAPSULATE",
            (
                Algorithm(
                    "ML_KEM",
                    "encapsulation",
                    "FIPS 203 (ML-KEM)",
                    ciphertext_bytes=ciphertext,
                    shared_secret_bytes=32,
                ),
            ),
        ),
    )


def _hmac(bits: int) -> tuple[Usage, ...]:
    h = f"SHA{bits}"
    return (
        Usage(
            "GENERATE_VERIFY_MAC",
            (
                Algorithm(
                    f"HMAC_SHA_{bits}", "mac", "RFC 2104, FIPS 198-1", hash=h, mac_bytes=bits // 8
                ),
            ),
        ),
    )


def _hmac_row(bits: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"HMAC_{bits}",
        "hmac",
        True,
        _hmac(bits),
        default_usage=None,
        # NIST SP 800-57 Part 1 table 3: HMAC-SHA-224 gives 192 bits, SHA-256 and up >= 256.
        security_bits=192 if bits < 256 else 256,
        standard="FIPS 198-1 (HMAC), FIPS 180-4 (SHA-2)",
        key_bits=bits,
        key_bytes=bits // 8,
        summary=f"HMAC with SHA-{bits}: a symmetric key that makes and checks MACs.",
    )


def _rsa_row(bits: int, security: int, der: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"RSA_{bits}",
        "rsa",
        False,
        _rsa_usages(bits),
        default_usage="ENCRYPT_DECRYPT",
        security_bits=security,
        standard=f"{_RSA_STD}, FIPS 186-5",
        key_bits=bits,
        public_key_der_bytes=der,
        data_key_pair=True,
        summary=f"RSA with a {bits}-bit modulus: encrypt (OAEP) or sign (PSS, PKCS #1 v1.5).",
    )


def _nist_row(name: str, curve: str, h: str, bits: int, sig: int, der: int) -> KeySpecInfo:
    return KeySpecInfo(
        name,
        "ec",
        False,
        (Usage("SIGN_VERIFY", (_ecdsa(h, sig),)), _ecdh((bits + 7) // 8)),
        default_usage=None,
        security_bits=bits // 2 if bits < 521 else 256,
        standard="FIPS 186-5, NIST SP 800-186",
        key_bits=bits,
        curve=curve,
        public_key_der_bytes=der,
        data_key_pair=True,
        summary=f"Elliptic curve {curve}: sign with ECDSA or agree on a secret with ECDH.",
    )


def _ml_dsa_row(level: int, sig: int, pk: int, security: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"ML_DSA_{level}",
        "ml-dsa",
        False,
        _ml_dsa(sig),
        default_usage=None,
        security_bits=security,
        standard="FIPS 204",
        key_bits=pk * 8,
        public_key_der_bytes=pk + 22,
        in_customer_master_key_spec=False,
        summary=f"ML-DSA-{level}: post-quantum signatures (lattice based), {sig}-byte signatures.",
    )


def _ml_kem_row(level: int, pk: int, ciphertext: int, security: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"ML_KEM_{level}",
        "ml-kem",
        False,
        _ml_kem(ciphertext),
        default_usage=None,
        security_bits=security,
        standard="FIPS 203",
        key_bits=pk * 8,
        public_key_der_bytes=pk + 22,
        data_key_pair=True,
        regions="not-china",
        region_note="Not available in the China Regions.",
        in_customer_master_key_spec=False,
        summary=f"ML-KEM-{level}: post-quantum key encapsulation, a 32-byte shared secret.",
    )


# -- the table --------------------------------------------------------------------------

KEY_SPECS: dict[str, KeySpecInfo] = {
    row.name: row
    for row in (
        KeySpecInfo(
            "SYMMETRIC_DEFAULT",
            "aes",
            True,
            (
                Usage(
                    "ENCRYPT_DECRYPT",
                    (
                        Algorithm(
                            "SYMMETRIC_DEFAULT",
                            "encryption",
                            "FIPS 197 (AES-256), NIST SP 800-38D (GCM)",
                            max_plaintext_bytes=MAX_MESSAGE_BYTES,
                            ciphertext_bytes=None,
                        ),
                    ),
                ),
            ),
            default_usage="ENCRYPT_DECRYPT",
            security_bits=256,
            standard="FIPS 197, NIST SP 800-38D",
            key_bits=256,
            key_bytes=32,
            region_note="In the China Regions SYMMETRIC_DEFAULT is SM4-128 (GB/T 32907).",
            security_bits_china=128,
            family_china="sm4",
            summary="AES-256-GCM: the default KMS key. Encrypt up to 4 KiB, or make data keys.",
            notes=(
                "The only spec with data keys, data key pairs, rotation and custom key stores.",
            ),
        ),
        _hmac_row(224),
        _hmac_row(256),
        _hmac_row(384),
        _hmac_row(512),
        _rsa_row(2048, 112, 294),
        _rsa_row(3072, 128, 422),
        _rsa_row(4096, 152, 550),
        _nist_row("ECC_NIST_P256", "secp256r1", "SHA256", 256, 72, 91),
        _nist_row("ECC_NIST_P384", "secp384r1", "SHA384", 384, 104, 120),
        _nist_row("ECC_NIST_P521", "secp521r1", "SHA512", 521, 139, 158),
        KeySpecInfo(
            "ECC_SECG_P256K1",
            "ec",
            False,
            (Usage("SIGN_VERIFY", (_ecdsa("SHA256", 72),)),),
            default_usage=None,
            security_bits=128,
            standard="SEC 2 (secp256k1), FIPS 186-5 (ECDSA)",
            key_bits=256,
            curve="secp256k1",
            public_key_der_bytes=88,
            data_key_pair=True,
            summary="secp256k1 (the Bitcoin/Ethereum curve): ECDSA signing only.",
        ),
        KeySpecInfo(
            "ECC_NIST_EDWARDS25519",
            "edwards",
            False,
            (
                Usage(
                    "SIGN_VERIFY",
                    (
                        Algorithm(
                            "ED25519_SHA_512",
                            "signing",
                            "RFC 8032 (PureEdDSA), FIPS 186-5",
                            hash="SHA512",
                            message_types=("RAW",),
                            signature_bytes=64,
                        ),
                        Algorithm(
                            "ED25519_PH_SHA_512",
                            "signing",
                            "RFC 8032 (Ed25519ph, HashEdDSA)",
                            hash="SHA512",
                            message_types=("DIGEST",),
                            digest_bytes=64,
                            signature_bytes=64,
                        ),
                    ),
                ),
            ),
            default_usage=None,
            security_bits=128,
            standard="RFC 8032, FIPS 186-5",
            key_bits=255,
            curve="ed25519",
            public_key_der_bytes=44,
            data_key_pair=True,
            in_customer_master_key_spec=False,
            summary="Ed25519: fast, deterministic EdDSA signatures of 64 bytes.",
            notes=("ED25519_SHA_512 takes RAW messages only; ED25519_PH_SHA_512 DIGEST only.",),
        ),
        _ml_dsa_row(44, 2420, 1312, 128),
        _ml_dsa_row(65, 3309, 1952, 192),
        _ml_dsa_row(87, 4627, 2592, 256),
        _ml_kem_row(512, 800, 768, 128),
        _ml_kem_row(768, 1184, 1088, 192),
        _ml_kem_row(1024, 1568, 1568, 256),
        KeySpecInfo(
            "SM2",
            "sm2",
            False,
            (
                Usage(
                    "ENCRYPT_DECRYPT",
                    (
                        Algorithm(
                            "SM2PKE",
                            "encryption",
                            "GB/T 32918.4 (SM2 public key encryption)",
                            hash="SM3",
                            max_plaintext_bytes=1024,
                        ),
                    ),
                ),
                Usage(
                    "SIGN_VERIFY",
                    (
                        Algorithm(
                            "SM2DSA",
                            "signing",
                            "GB/T 32918.2 (SM2 signatures, SM3, ID 1234567812345678)",
                            hash="SM3",
                            message_types=("RAW", "DIGEST"),
                            digest_bytes=32,
                            signature_bytes=72,
                        ),
                    ),
                ),
                _ecdh(32),
            ),
            # AWS: "You must specify a KeyUsage value for all KMS keys except for symmetric
            # encryption keys." (recorded ValidationException)
            default_usage=None,
            security_bits=128,
            standard="GB/T 32918 (SM2), GB/T 32905 (SM3)",
            key_bits=256,
            curve="sm2p256v1",
            public_key_der_bytes=91,
            data_key_pair=True,
            regions="china-only",
            region_note="China Regions only.",
            summary="SM2, the Chinese national elliptic curve standard (China Regions only).",
        ),
    )
}

#: DataKeyPairSpec values, in the catalogue's order.
DATA_KEY_PAIR_SPECS: tuple[str, ...] = tuple(n for n, s in KEY_SPECS.items() if s.data_key_pair)


# -- queries ----------------------------------------------------------------------------


# -- Regions and partitions ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Partition:
    """An AWS partition: the ARN prefix its Regions use and the key specs KMS offers there.

    ``offers`` lists the :attr:`KeySpecInfo.regions` values whose specs exist in the
    partition. Sources: the AWS KMS key spec reference on docs.aws.amazon.com and on
    docs.amazonaws.cn (``asymmetric-key-specs``: SM2 "China Regions only"; the China page
    lists no ML-KEM spec), and "Supported cryptographic algorithms" (SM4-128 in China).
    ``region_pattern``: the names of its Regions, and ``dns_suffix``: the domain of its
    service endpoints, as botocore's ``endpoints.json`` gives them (each partition's
    ``regionRegex`` and ``dnsSuffix``; a test compares them).
    """

    name: str
    #: the Regions of the partition, as examples (lessons list them).
    regions: tuple[str, ...]
    china: bool
    offers: frozenset[str]
    region_pattern: str
    dns_suffix: str = "amazonaws.com"


#: Partition rows (the partitions kmslab models), checked in order.
PARTITIONS: tuple[Partition, ...] = (
    Partition(
        "aws-cn",
        ("cn-north-1", "cn-northwest-1"),
        china=True,
        offers=frozenset({"all", "china-only"}),
        region_pattern=r"^cn\-\w+\-\d+$",
        dns_suffix="amazonaws.com.cn",
    ),
    Partition(
        "aws-us-gov",
        ("us-gov-west-1", "us-gov-east-1"),
        china=False,
        offers=frozenset({"all", "not-china"}),
        region_pattern=r"^us\-gov\-\w+\-\d+$",
    ),
    Partition(
        "aws",
        (),
        china=False,
        offers=frozenset({"all", "not-china"}),
        region_pattern=r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$",
    ),
)


def partition(region: str) -> Partition:
    """The partition a Region belongs to; ValueError for a name no partition has.

    >>> partition("cn-north-1").name, partition("eu-west-1").name, partition("us-gov-east-1").name
    ('aws-cn', 'aws', 'aws-us-gov')
    >>> partition("us-est1")
    Traceback (most recent call last):
    ...
    ValueError: 'us-est1' is not an AWS Region name (like us-east-1, eu-west-1 or cn-north-1)
    """
    for row in PARTITIONS:
        if re.fullmatch(row.region_pattern, region):
            return row
    raise ValueError(
        f"{region!r} is not an AWS Region name (like us-east-1, eu-west-1 or cn-north-1)"
    )


def is_region(name: str) -> bool:
    """Whether ``name`` is a Region name of a partition kmslab models.

    >>> is_region("ap-southeast-7"), is_region("x y"), is_region("")
    (True, False, False)
    """
    return any(re.fullmatch(row.region_pattern, name) for row in PARTITIONS)


def offered(spec: str | KeySpecInfo, region: str) -> bool:
    """Whether AWS KMS offers a key spec in a Region.

    >>> offered("SM2", "us-east-1"), offered("SM2", "cn-northwest-1")
    (False, True)
    >>> offered("ML_KEM_768", "cn-north-1")
    False
    """
    info = spec if isinstance(spec, KeySpecInfo) else get(spec)
    return info.regions in partition(region).offers


def region_for(spec: str | KeySpecInfo, preferred: str = "us-east-1") -> str:
    """A Region where AWS KMS offers the spec: ``preferred`` if it does, else the first
    Region of the first partition that does.

    >>> region_for("RSA_2048"), region_for("SM2")
    ('us-east-1', 'cn-north-1')
    """
    if offered(spec, preferred):
        return preferred
    return next(r for p in PARTITIONS for r in p.regions if offered(spec, r))


def get(name: str) -> KeySpecInfo:
    """The row for a KeySpec name.

    >>> get("HMAC_384").key_bytes
    48
    >>> get("RSA_1024")
    Traceback (most recent call last):
    ...
    kmslab.exceptions.UnknownKeySpecError: Unknown key spec 'RSA_1024'. Valid key specs: ...
    """
    try:
        return KEY_SPECS[name]
    except (KeyError, TypeError):
        raise UnknownKeySpecError(name, tuple(KEY_SPECS)) from None


def all_specs() -> Iterator[KeySpecInfo]:
    """Every row, in the catalogue's order (symmetric first, then by family)."""
    return iter(KEY_SPECS.values())


def for_usage(usage: str) -> list[KeySpecInfo]:
    """The specs that allow a KeyUsage, in catalogue order."""
    return [s for s in KEY_SPECS.values() if s.usage(usage) is not None]


def algorithm_names(spec: str, usage: str) -> tuple[str, ...]:
    """The algorithm names a spec offers for a usage (empty when the pair is invalid).

    >>> algorithm_names("ECC_NIST_P521", "SIGN_VERIFY")
    ('ECDSA_SHA_512',)
    """
    u = get(spec).usage(usage)
    return u.algorithm_names if u else ()


def is_symmetric(spec: str) -> bool:
    """True for SYMMETRIC_DEFAULT and the HMAC specs."""
    return get(spec).symmetric


#: Key type labels used by the comparison matrix and the AWS documentation.
KEY_TYPES: dict[str, str] = {
    "SYM": "Symmetric encryption",
    "HMAC": "HMAC",
    "A-ED": "Asymmetric ENCRYPT_DECRYPT",
    "A-SV": "Asymmetric SIGN_VERIFY",
    "A-KA": "Asymmetric KEY_AGREEMENT",
    "A-KEM": "Asymmetric ENCAPSULATE_DECAPSULATE",
}
#: AWS's own name of each key type, as the column heads of the Developer Guide's "Key type
#: reference" name them (symm-asymm-compare.html), in the singular. What learners read;
#: kmslab's short codes (the keys) only abbreviate them.
AWS_KEY_TYPES: dict[str, str] = {
    "SYM": "Symmetric encryption KMS key",
    "HMAC": "HMAC KMS key",
    "A-ED": "Asymmetric KMS key (ENCRYPT_DECRYPT)",
    "A-SV": "Asymmetric KMS key (SIGN_VERIFY)",
    "A-KA": "Asymmetric KMS key (KEY_AGREEMENT)",
    "A-KEM": "Asymmetric KMS key (ENCAPSULATE_DECAPSULATE)",
}
_ASYMMETRIC_TYPE = {
    "ENCRYPT_DECRYPT": "A-ED",
    "SIGN_VERIFY": "A-SV",
    "KEY_AGREEMENT": "A-KA",
    "ENCAPSULATE_DECAPSULATE": "A-KEM",
}


def key_type(spec: str, usage: str) -> str:
    """The key type column of AWS's comparison table for a (KeySpec, KeyUsage) pair.

    >>> key_type("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), key_type("RSA_2048", "SIGN_VERIFY")
    ('SYM', 'A-SV')
    """
    info = get(spec)
    if info.symmetric:
        return "HMAC" if info.family == "hmac" else "SYM"
    return _ASYMMETRIC_TYPE[usage]


def valid_pairs() -> list[tuple[str, str]]:
    """Every (KeySpec, KeyUsage) pair CreateKey accepts, in catalogue order."""
    return [(s.name, u.name) for s in KEY_SPECS.values() for u in s.usages]
