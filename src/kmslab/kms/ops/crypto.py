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
    UnsupportedOperationException,
    ValidationException,
)
from kmslab.kms import ciphertext
from kmslab.kms.keys import Key
from kmslab.kms.ops.keystores import outer_open, outer_seal, random_from_store
from kmslab.kms.registry import PREPARED, operation, require
from kmslab.kms.rules import OPERATIONS

if TYPE_CHECKING:
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

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
    # ReEncrypt's destination key is refused as ReEncryptTo (ledger key-usage-invalid).
    key = kms.key_for(op, key_id, action="ReEncryptTo" if op == "ReEncrypt" else None)
    alg = kms.algorithm(key, alg_name)
    if alg.name == _SYMMETRIC:
        material = key.current
        assert material is not None
        aad = ciphertext.Blob(key.id, material.id, b"", b"").aad(context)
        nonce, sealed = aes.seal(material.aead(), plaintext, aad)
        if key.xks_key_id is not None:  # double encryption: the external key seals it again
            sealed = outer_seal(kms, key, op, sealed, aad)
        blob = ciphertext.Blob(key.id, material.id, nonce, sealed)
        return {
            "CiphertextBlob": blob.to_bytes(),
            "KeyId": key.arn,
            "EncryptionAlgorithm": alg.name,
            "KeyMaterialId": material.id,
        }
    if context:
        # AWS text unknown: inferred (ledger context-asymmetric names the evidence).
        raise ValidationException(
            "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."
        )
    secret = kms.secret(key)
    assert alg.max_plaintext_bytes is not None
    if len(plaintext) > alg.max_plaintext_bytes:
        # Observed (ledger rsa-plaintext-too-large): LocalStack's recordings of real AWS,
        # test_encrypt_validate_plaintext_size_per_key_type.
        raise ValidationException(
            f"Algorithm {alg.name} and key spec {key.info.name} cannot encrypt data larger "
            f"than {alg.max_plaintext_bytes} bytes."
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
    # ReEncrypt's source key: named for the ReEncryptFrom permission (inferred from the
    # recorded ReEncryptTo, ledger key-usage-invalid).
    action = "ReEncryptFrom" if op == "ReEncrypt" else None
    # AWS sends InvalidCiphertextException with no message member (ledger invalid-ciphertext).
    if alg_name != _SYMMETRIC:
        named = kms.key_for(op, key_id, action=action) if key_id else None
        if named is None:
            # AWS text unknown: inferred (ledger decrypt-needs-key-id names the evidence).
            raise ValidationException("KeyId must not be null")
        alg = kms.algorithm(named, alg_name)
        if context:
            # AWS text unknown: inferred (ledger context-asymmetric names the evidence).
            raise ValidationException(
                "EncryptionContext is not supported when encrypting/decrypting "
                "with asymmetric CMKs."
            )
        secret = kms.secret(named)
        try:
            # RSA-OAEP ciphertext has one size; SM2PKE's grows with the plaintext.
            if alg.ciphertext_bytes is not None and len(blob_bytes) != alg.ciphertext_bytes:
                raise CryptoFailure("wrong length")
            plaintext = family(named.info.family).decrypt(secret, alg, blob_bytes)
        except CryptoFailure:
            raise InvalidCiphertextException() from None
        return {"KeyId": named.arn, "Plaintext": plaintext, "EncryptionAlgorithm": alg.name}
    named = kms.resolve(key_id) if key_id else None
    if named is not None:
        kms.check_state(OPERATIONS[op], named)  # the key's state first, then the ciphertext
    try:
        blob = ciphertext.parse(blob_bytes)
    except ciphertext.MalformedBlob:
        raise InvalidCiphertextException() from None
    if named is not None and named.id != blob.key_id:
        # Observed (ledger incorrect-key): also when KeyId names an HMAC or asymmetric
        # key, which cannot have made a symmetric ciphertext.
        raise IncorrectKeyException(
            "The key ID in the request does not identify a CMK that can perform this operation.",
            ciphertext_key=kms.key_arn(blob.key_id),
        )
    owner = named or kms.keys.get(blob.key_id)
    if owner is None:
        raise InvalidCiphertextException(ciphertext_key=kms.key_arn(blob.key_id))
    key = kms.key_for(op, owner.id, action=action)
    kms.algorithm(key, alg_name)
    material = key.material(blob.material_id)
    if material is None:
        raise InvalidCiphertextException()
    aad, sealed = blob.aad(context), blob.sealed
    if key.xks_key_id is not None:  # the external key's layer first, through the proxy
        sealed = outer_open(kms, key, op, sealed, aad)
    try:
        plaintext = aes.open_(material.aead(), blob.nonce, sealed, aad)
    except CryptoFailure:
        raise InvalidCiphertextException() from None
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
        # AWS's text when neither is given (a user's report of real AWS, 2019:
        # nsmithuk/local-kms#6); for both, inferred the same.
        raise ValidationException("Please specify either number of bytes or key spec.")
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
    if key.custom_key_store_id is not None:
        # AWS refuses data key pairs for keys in custom key stores (GenerateDataKeyPair API
        # reference); text inferred from the origin refusals.
        raise UnsupportedOperationException(
            f"{key.arn} origin is {key.origin} which is not valid for this operation."
        )
    pair = specs.get(p["KeyPairSpec"])
    if not specs.offered(pair, kms.region):
        # AWS text unknown: inferred from CreateKey's (ledger region-pair-spec).
        raise UnsupportedOperationException(
            f"KeyPairSpec {pair.name} is not supported in this Region"
        )
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
    n = p.get("NumberOfBytes")
    if n is None:
        # Observed (ledger random-needs-size): LocalStack's recordings of real AWS,
        # test_generate_random_invalid_number_of_bytes[None].
        raise ValidationException("NumberOfBytes is required.")
    if p.get("CustomKeyStoreId"):
        return {"Plaintext": random_from_store(kms, p["CustomKeyStoreId"], n)}
    return {"Plaintext": os.urandom(n)}


# -- signatures -----------------------------------------------------------------------


def _signing(kms: LocalKMS, op: str, p: Params) -> tuple[Key, specs.Algorithm, bytes, str]:
    key = kms.key_for(op, p["KeyId"])
    alg = kms.algorithm(key, p["SigningAlgorithm"])
    message_type = p.get("MessageType", "RAW")
    message: bytes = p["Message"]
    if message_type not in alg.message_types:
        # Inferred: an issue author's report of real AWS for ML-DSA with DIGEST
        # (floci-io/floci#3025, ledger message-type-incompatible), not a recording.
        raise ValidationException(
            f"Message type {message_type} is incompatible with key spec {key.info.name}."
        )
    if message_type != "RAW" and len(message) != alg.digest_bytes:
        # Observed (ledger digest-length): LocalStack's recordings of real AWS, bad-digest.
        raise ValidationException(f"Digest is invalid length for algorithm {alg.name}.")
    return key, alg, message, message_type


@operation("Sign")
def sign(kms: LocalKMS, p: Params) -> Params:
    key, alg, message, message_type = _signing(kms, "Sign", p)
    secret = kms.secret(key)
    signature = family(key.info.family).sign(secret, alg, message, message_type)
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": alg.name}


@operation("Verify")
def verify(kms: LocalKMS, p: Params) -> Params:
    key, alg, message, message_type = _signing(kms, "Verify", p)
    kms.secret(key)  # first: refuses a family this machine cannot do
    assert key.current is not None
    public = key.current.public()
    try:
        family(key.info.family).verify(public, alg, message, message_type, p["Signature"])
    except CryptoFailure:
        raise KMSInvalidSignatureException() from None  # no message (ledger invalid-signature)
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
        raise KMSInvalidMacException() from None  # no message (ledger invalid-mac)
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
        # Observed: a ValidationException with an empty message (ledger bad-public-key).
        raise ValidationException() from None
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
    # No message member: inferred from AWS's other ciphertext errors (ledger invalid-ciphertext).
    if len(ct) != alg.ciphertext_bytes:
        raise InvalidCiphertextException()
    try:
        shared = family(key.info.family).decapsulate(kms.secret(key), ct)
    except CryptoFailure:
        raise InvalidCiphertextException() from None
    return {"KeyId": key.arn, "SharedSecret": shared, "EncapsulationAlgorithm": alg.name}


# -- public keys ----------------------------------------------------------------------


@operation("GetPublicKey")
def get_public_key(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GetPublicKey", p["KeyId"])
    kms.secret(key)  # refuses a family this machine cannot do
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
