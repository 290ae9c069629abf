"""Cryptographic operations: encryption, data keys, signatures, MACs, ECDH, ML-KEM."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kmslab import specs
from kmslab.crypto import CryptoFailure, aes, family
from kmslab.exceptions import (
    IncorrectKeyException,
    InvalidCiphertextException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    ValidationException,
)
from kmslab.kms import ciphertext
from kmslab.kms.keys import Key
from kmslab.kms.service import PREPARED, operation, require

if TYPE_CHECKING:
    from kmslab.kms.service import LocalKMS, Params

_SYMMETRIC = "SYMMETRIC_DEFAULT"


# -- encryption ---------------------------------------------------------------------------


def _encrypt(
    kms: LocalKMS,
    op: str,
    key_id: str,
    plaintext: bytes,
    context: Mapping[str, str] | None,
    alg_name: str,
) -> Params:
    key = kms.key_for(op, key_id)
    alg = kms.algorithm(key, alg_name)
    if alg.name == _SYMMETRIC:
        material = key.current
        assert material is not None
        head = ciphertext.Blob(key.id, material.id, b"", b"")
        nonce, sealed = aes.seal(material.aead(), plaintext, head.aad(context))
        blob = ciphertext.Blob(key.id, material.id, nonce, sealed)
        return {
            "CiphertextBlob": blob.to_bytes(),
            "KeyId": key.arn,
            "EncryptionAlgorithm": alg.name,
            "KeyMaterialId": material.id,
        }
    if context:
        raise ValidationException(
            f"EncryptionContext is not supported with {alg.name}: an encryption context "
            "applies only to symmetric encryption keys."
        )
    secret = kms.secret(key)
    assert alg.max_plaintext_bytes is not None
    if len(plaintext) > alg.max_plaintext_bytes:
        raise ValidationException(
            f"Plaintext is {len(plaintext)} bytes; {alg.name} with key spec {key.info.name} "
            f"encrypts at most {alg.max_plaintext_bytes} bytes. Use a data key (envelope "
            "encryption) for larger data."
        )
    return {
        "CiphertextBlob": family(key.info.family).encrypt(secret, alg, plaintext),
        "KeyId": key.arn,
        "EncryptionAlgorithm": alg.name,
    }


def _decrypt(
    kms: LocalKMS,
    op: str,
    key_id: str | None,
    blob_bytes: bytes,
    context: Mapping[str, str] | None,
    alg_name: str,
) -> Params:
    named = kms.key_for(op, key_id) if key_id else None
    if named is not None:
        kms.algorithm(named, alg_name)
    if alg_name != _SYMMETRIC:
        if named is None:
            raise ValidationException(
                f"KeyId is required to decrypt with {alg_name}: asymmetric ciphertext does not "
                "say which key made it."
            )
        alg = kms.algorithm(named, alg_name)
        if context:
            raise ValidationException(
                f"EncryptionContext is not supported with {alg.name}: an encryption context "
                "applies only to symmetric encryption keys."
            )
        secret = kms.secret(named)
        try:
            if len(blob_bytes) != alg.ciphertext_bytes:
                raise CryptoFailure("wrong length")
            plaintext = family(named.info.family).decrypt(secret, alg, blob_bytes)
        except CryptoFailure:
            raise InvalidCiphertextException("") from None
        return {"KeyId": named.arn, "Plaintext": plaintext, "EncryptionAlgorithm": alg.name}
    try:
        blob = ciphertext.parse(blob_bytes)
    except ciphertext.MalformedBlob:
        raise InvalidCiphertextException("") from None
    if named is not None and named.id != blob.key_id:
        raise IncorrectKeyException(
            "The key ID in the request does not identify a CMK that can perform this operation."
        )
    key = named
    if key is None:
        owner = kms.keys.get(blob.key_id)
        if owner is None:
            raise InvalidCiphertextException("")
        key = kms.key_for(op, owner.id)
        kms.algorithm(key, alg_name)
    material = key.material(blob.material_id)
    if material is None:
        raise InvalidCiphertextException("")
    try:
        plaintext = aes.open_(material.aead(), blob.nonce, blob.sealed, blob.aad(context))
    except CryptoFailure:
        raise InvalidCiphertextException("") from None
    return {
        "KeyId": key.arn,
        "Plaintext": plaintext,
        "EncryptionAlgorithm": _SYMMETRIC,
        "KeyMaterialId": material.id,
    }


@operation("Encrypt")
def encrypt(kms: LocalKMS, p: Params) -> Params:
    out = _encrypt(
        kms,
        "Encrypt",
        p["KeyId"],
        p["Plaintext"],
        p.get("EncryptionContext"),
        p.get("EncryptionAlgorithm", _SYMMETRIC),
    )
    out.pop("KeyMaterialId", None)  # AWS's Encrypt response has no KeyMaterialId
    return out


@operation("Decrypt")
def decrypt(kms: LocalKMS, p: Params) -> Params:
    return _decrypt(
        kms,
        "Decrypt",
        p.get("KeyId"),
        require(p, "CiphertextBlob"),  # optional in the model (Recipient), needed here
        p.get("EncryptionContext"),
        p.get("EncryptionAlgorithm", _SYMMETRIC),
    )


@operation("ReEncrypt")
def re_encrypt(kms: LocalKMS, p: Params) -> Params:
    source = _decrypt(
        kms,
        "ReEncrypt",
        p.get("SourceKeyId"),
        require(p, "CiphertextBlob"),
        p.get("SourceEncryptionContext"),
        p.get("SourceEncryptionAlgorithm", _SYMMETRIC),
    )
    dest = _encrypt(
        kms,
        "ReEncrypt",
        p["DestinationKeyId"],
        source["Plaintext"],
        p.get("DestinationEncryptionContext"),
        p.get("DestinationEncryptionAlgorithm", _SYMMETRIC),
    )
    out: Params = {
        "CiphertextBlob": dest["CiphertextBlob"],
        "SourceKeyId": source["KeyId"],
        "KeyId": dest["KeyId"],
        "SourceEncryptionAlgorithm": source["EncryptionAlgorithm"],
        "DestinationEncryptionAlgorithm": dest["EncryptionAlgorithm"],
    }
    # Material ids exist for symmetric keys only; AWS omits them otherwise.
    if "KeyMaterialId" in source:
        out["SourceKeyMaterialId"] = source["KeyMaterialId"]
    if "KeyMaterialId" in dest:
        out["DestinationKeyMaterialId"] = dest["KeyMaterialId"]
    return out


# -- data keys ------------------------------------------------------------------------


def _protected(kms: LocalKMS, op: str, key: Key, secret: bytes, p: Params, member: str) -> Params:
    """``secret`` encrypted under the symmetric KMS key, as data-key responses carry it."""
    out = _encrypt(kms, op, key.id, secret, p.get("EncryptionContext"), _SYMMETRIC)
    return {member: out["CiphertextBlob"], "KeyId": key.arn, "KeyMaterialId": out["KeyMaterialId"]}


def _data_key(kms: LocalKMS, op: str, p: Params, with_plaintext: bool) -> Params:
    key = kms.key_for(op, p["KeyId"])
    spec, n = p.get("KeySpec"), p.get("NumberOfBytes")
    if (spec is None) == (n is None):
        raise ValidationException(
            "Specify either KeySpec (AES_128 or AES_256) or NumberOfBytes, but not both."
        )
    size: int = specs.DATA_KEY_SPECS[spec] if spec is not None else require(p, "NumberOfBytes")
    plaintext = os.urandom(size)
    result = _protected(kms, op, key, plaintext, p, "CiphertextBlob")
    if with_plaintext:
        result["Plaintext"] = plaintext
    return result


@operation("GenerateDataKey")
def generate_data_key(kms: LocalKMS, p: Params) -> Params:
    return _data_key(kms, "GenerateDataKey", p, True)


@operation("GenerateDataKeyWithoutPlaintext")
def generate_data_key_without_plaintext(kms: LocalKMS, p: Params) -> Params:
    return _data_key(kms, "GenerateDataKeyWithoutPlaintext", p, False)


def _data_key_pair(kms: LocalKMS, op: str, p: Params, with_plaintext: bool) -> Params:
    key = kms.key_for(op, p["KeyId"])
    pair = specs.get(p["KeyPairSpec"])
    module = family(pair.family)
    kms.require_implemented(pair, f"KeyPairSpec {pair.name}")
    private = p.get(PREPARED) or module.generate(pair)
    private_der = module.private_der(private)
    result = _protected(kms, op, key, private_der, p, "PrivateKeyCiphertextBlob")
    result.update(PublicKey=module.public_der(private), KeyPairSpec=pair.name)
    if with_plaintext:
        result["PrivateKeyPlaintext"] = private_der
    return result


def _prepare_pair(p: Params) -> Any:
    """The data key pair, generated before the lock (RSA_4096 can take seconds)."""
    pair = specs.get(p["KeyPairSpec"])
    return None if pair.family == "sm2" else family(pair.family).generate(pair)


@operation("GenerateDataKeyPair", prepare=_prepare_pair)
def generate_data_key_pair(kms: LocalKMS, p: Params) -> Params:
    return _data_key_pair(kms, "GenerateDataKeyPair", p, True)


@operation("GenerateDataKeyPairWithoutPlaintext", prepare=_prepare_pair)
def generate_data_key_pair_without_plaintext(kms: LocalKMS, p: Params) -> Params:
    return _data_key_pair(kms, "GenerateDataKeyPairWithoutPlaintext", p, False)


@operation("GenerateRandom")
def generate_random(kms: LocalKMS, p: Params) -> Params:
    if p.get("CustomKeyStoreId"):
        raise ValidationException("kmslab does not model custom key stores.")
    return {"Plaintext": os.urandom(require(p, "NumberOfBytes"))}


# -- signatures -----------------------------------------------------------------------


def _signing(kms: LocalKMS, op: str, p: Params) -> tuple[Key, specs.Algorithm, bytes, str]:
    key = kms.key_for(op, p["KeyId"])
    alg = kms.algorithm(key, p["SigningAlgorithm"])
    message_type = p.get("MessageType", "RAW")
    message: bytes = p["Message"]
    if message_type not in alg.message_types:
        raise ValidationException(
            f"MessageType {message_type} is not valid for {alg.name}. "
            f"Use {' or '.join(alg.message_types)}."
        )
    if message_type != "RAW" and len(message) != alg.digest_bytes:
        raise ValidationException(
            f"Digest is invalid length for algorithm {alg.name}: a {message_type} message must "
            f"be exactly {alg.digest_bytes} bytes, not {len(message)}."
        )
    return key, alg, message, message_type


@operation("Sign")
def sign(kms: LocalKMS, p: Params) -> Params:
    key, alg, message, message_type = _signing(kms, "Sign", p)
    secret = kms.secret(key)  # first: refuses SM2 before its (absent) primitive is looked up
    signature = family(key.info.family).sign(secret, alg, message, message_type)
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": alg.name}


@operation("Verify")
def verify(kms: LocalKMS, p: Params) -> Params:
    key, alg, message, message_type = _signing(kms, "Verify", p)
    kms.secret(key)  # first: refuses SM2 before its (absent) primitive is looked up
    assert key.current is not None
    public = key.current.public()
    try:
        family(key.info.family).verify(public, alg, message, message_type, p["Signature"])
    except CryptoFailure:
        raise KMSInvalidSignatureException("") from None
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": alg.name}


# -- MACs -----------------------------------------------------------------------------


@operation("GenerateMac")
def generate_mac(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GenerateMac", p["KeyId"])
    alg = kms.algorithm(key, p["MacAlgorithm"])
    tag = family("hmac").mac(kms.secret(key), alg, p["Message"])
    return {"Mac": tag, "MacAlgorithm": alg.name, "KeyId": key.arn}


@operation("VerifyMac")
def verify_mac(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("VerifyMac", p["KeyId"])
    alg = kms.algorithm(key, p["MacAlgorithm"])
    try:
        family("hmac").verify_mac(kms.secret(key), alg, p["Message"], p["Mac"])
    except CryptoFailure:
        raise KMSInvalidMacException("") from None
    return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": alg.name}


# -- shared secrets -----------------------------------------------------------------------


@operation("DeriveSharedSecret")
def derive_shared_secret(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("DeriveSharedSecret", p["KeyId"])
    alg = kms.algorithm(key, p["KeyAgreementAlgorithm"])
    secret = kms.secret(key)
    try:
        shared = family(key.info.family).derive(secret, p["PublicKey"])
    except CryptoFailure:
        raise ValidationException(
            f"PublicKey must be a valid DER-encoded SubjectPublicKeyInfo on the same curve as "
            f"{key.info.name} ({key.info.curve})."
        ) from None
    return {
        "KeyId": key.arn,
        "SharedSecret": shared,
        "KeyAgreementAlgorithm": alg.name,
        "KeyOrigin": key.origin,
    }


@operation("Encapsulate")
def encapsulate(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("Encapsulate", p["KeyId"])
    alg = kms.algorithm(key, require(p, "EncapsulationAlgorithm"))
    shared, ct = family(key.info.family).encapsulate(kms.secret(key))
    return {
        "KeyId": key.arn,
        "SharedSecret": shared,
        "SharedSecretCiphertextBlob": ct,
        "EncapsulationAlgorithm": alg.name,
    }


@operation("Decapsulate")
def decapsulate(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("Decapsulate", p["KeyId"])
    alg = kms.algorithm(key, require(p, "EncapsulationAlgorithm"))
    ct: bytes = p["SharedSecretCiphertextBlob"]
    if len(ct) != alg.ciphertext_bytes:
        raise InvalidCiphertextException(
            f"SharedSecretCiphertextBlob must be {alg.ciphertext_bytes} bytes for "
            f"{key.info.name}, not {len(ct)}."
        )
    try:
        shared = family(key.info.family).decapsulate(kms.secret(key), ct)
    except CryptoFailure:
        raise InvalidCiphertextException("") from None
    return {"KeyId": key.arn, "SharedSecret": shared, "EncapsulationAlgorithm": alg.name}


# -- public keys ----------------------------------------------------------------------


@operation("GetPublicKey")
def get_public_key(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GetPublicKey", p["KeyId"])
    kms.secret(key)  # refuses SM2 plainly
    usage = key.info.usage(key.usage)
    assert usage is not None
    out: dict[str, Any] = {
        "KeyId": key.arn,
        "PublicKey": key.public_der(),
        "KeySpec": key.info.name,
        "KeyUsage": key.usage,
        specs.ALGORITHM_KINDS[usage.kind][1]: list(usage.algorithm_names),
    }
    if key.info.in_customer_master_key_spec:
        out["CustomerMasterKeySpec"] = key.info.name
    return out
