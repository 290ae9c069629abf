"""The operations matrix measured: a key of every (KeySpec, KeyUsage) pair, every operation called.

:func:`measured_matrix` creates a key of every pair in a fresh :class:`~kmslab.LocalKMS`
and calls every operation of :data:`kmslab.learn.compare.MATRIX_OPERATIONS` on it, with the
arguments a learner would pass (:data:`ARGUMENTS`) on a key put in the state the operation
needs (:data:`SETUPS`), recording success or the AWS error code. It is the second route to
the matrix :mod:`kmslab.learn.compare` derives from the rules; ``kmslab compare --check`` holds
the two against each other. Its names are re-exported by :mod:`kmslab.learn.compare`.

>>> from kmslab.learn.measure import ARGUMENTS, SETUPS
>>> SETUPS["CancelKeyDeletion"].before   # scheduled for deletion first, then cancelled
('ScheduleKeyDeletion',)
>>> ARGUMENTS["ScheduleKeyDeletion"](None, None, "SYMMETRIC_DEFAULT", "1234abcd")
{'KeyId': '1234abcd', 'PendingWindowInDays': 7}
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kmslab import specs
from kmslab.exceptions import KMSError, KmslabError
from kmslab.kms.byok import wrap_key_material
from kmslab.kms.rules import OPERATIONS

# kmslab.learn.compare re-exports this module's names, so this module reaches back for the
# matrix records (Cell, Matrix, the rules' matrix) when it measures, not when imported.
if TYPE_CHECKING:
    from kmslab.kms.service import LocalKMS
    from kmslab.learn.matrix import Cell, Matrix

__all__ = ["ARGUMENTS", "SETUPS", "MeasurementError", "Setup", "measured_matrix"]

Params = dict[str, Any]


class MeasurementError(KmslabError, RuntimeError):
    """The measurement itself broke (a setup or restore step failed): a bug, not a cell."""


@dataclass(frozen=True, slots=True)
class Setup:
    """What measuring one operation needs besides a fresh, Enabled key of the pair.

    ``origin``: which key of the pair to call it on (AWS_KMS, or an EXTERNAL key created
    without material). ``before``: operations run first to put the key in the state the
    operation needs; if one fails, the cell records that failure. ``after``: operations that
    undo what the operation did (run only when it succeeded), so every other cell sees an
    Enabled key. ``reuse``: steps of ``before`` skipped when they already succeeded on this
    key (an import token stays valid for 24 hours; imported material stays until deleted).
    ``crypto``: the operation (like every data-plane one) uses the cryptography of the key's
    family, which kmslab may not implement (SM2).
    """

    origin: str = "AWS_KMS"
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    reuse: tuple[str, ...] = ()
    crypto: bool = False
    #: What the measured cell means, shown in the hover text of allowed cells.
    meaning: str | None = None


#: Operation -> its setup; an operation not listed is called once on the Enabled key.
SETUPS: dict[str, Setup] = {
    "DisableKey": Setup(after=("EnableKey",)),
    "ScheduleKeyDeletion": Setup(after=("CancelKeyDeletion", "EnableKey")),
    "CancelKeyDeletion": Setup(
        before=("ScheduleKeyDeletion",),
        after=("EnableKey",),
        meaning="Measured on a key scheduled for deletion.",
    ),
    "UpdateAlias": Setup(
        before=("CreateAlias",), meaning="Measured by pointing a new alias at the same key."
    ),
    "CreateGrant": Setup(
        after=("RevokeGrant",),
        meaning="Measured with a grant for DescribeKey, which every key type can take (a key "
        "refuses grant operations it cannot do); then revoked.",
    ),
    "RetireGrant": Setup(
        before=("CreateGrant",), meaning="Measured on a grant created just before (DescribeKey)."
    ),
    "RevokeGrant": Setup(
        before=("CreateGrant",), meaning="Measured on a grant created just before (DescribeKey)."
    ),
    "EnableKeyRotation": Setup(after=("DisableKeyRotation",)),
    "GetParametersForImport": Setup(
        origin="EXTERNAL", crypto=True, meaning="Measured on a key created with Origin EXTERNAL."
    ),
    # The EXTERNAL key serves these three cells only, in this order, so ImportKeyMaterial
    # leaves its material in place for DeleteImportedKeyMaterial (and each RSA private key
    # is unwrapped and checked once).
    "ImportKeyMaterial": Setup(
        origin="EXTERNAL",
        before=("GetParametersForImport",),
        reuse=("GetParametersForImport",),
        crypto=True,
        meaning="Measured on a key created with Origin EXTERNAL.",
    ),
    "DeleteImportedKeyMaterial": Setup(
        origin="EXTERNAL",
        before=("GetParametersForImport", "ImportKeyMaterial"),
        reuse=("GetParametersForImport", "ImportKeyMaterial"),
        crypto=True,
        meaning="Measured on an EXTERNAL key after importing its material.",
    ),
}

_MESSAGE = b"kmslab compare"
#: The wrapping key AWS offers that is quickest to generate.
_WRAPPING_KEY_SPEC = "RSA_2048"


class _Lab:
    """One measurement: a key per pair, the products of earlier calls, and the call log."""

    def __init__(self, kms: LocalKMS, lab_for: Callable[[str], _Lab] | None = None) -> None:
        self.kms = kms
        #: The lab of the Region that holds a spec's keys (SM2's is a China Region).
        self.lab_for = lab_for or (lambda spec: self)
        self.keys: dict[tuple[str, str], str] = {}
        self.external: dict[tuple[str, str], str] = {}
        #: Responses of calls other cells need (ciphertexts, signatures, public keys...).
        self.products: dict[tuple[str, str, str], Params] = {}
        #: The last successful response of each operation on each key (for setup chains).
        self.last: dict[tuple[str, str], Params] = {}
        self.materials: dict[str, bytes] = {}
        self.aliases = 0

    def call(self, operation: str, params: Params) -> Params:
        response = self.kms.call(operation, **params)
        key_id = params.get("KeyId") or params.get("TargetKeyId")
        if key_id is not None:
            self.last[(operation, key_id)] = response
        return response

    def external_key(self, spec: str, usage: str) -> str:
        if (spec, usage) not in self.external:
            meta = self.kms.call("CreateKey", KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL")
            self.external[(spec, usage)] = meta["KeyMetadata"]["KeyId"]
        return self.external[(spec, usage)]

    def product(self, info: specs.KeySpecInfo, usage: str, operation: str) -> Params:
        """The response of ``operation`` on the key a learner would have made it with.

        That is this spec's key of ``usage`` when the spec offers the usage, otherwise the
        key of the first spec in the catalogue that does: a Verify on an RSA ENCRYPT_DECRYPT
        key gets a signature from the RSA SIGN_VERIFY key of the same size; one on an HMAC
        key gets an RSA_2048 signature. Either way the argument is valid for some key.
        """
        source = _stand_in(info, usage)
        owner = self.lab_for(source.name)
        if owner is not self:
            return owner.product(source, usage, operation)
        cache_key = (source.name, usage, operation)
        if cache_key not in self.products:
            key_id = self.keys[(source.name, usage)]
            try:
                self.products[cache_key] = self.kms.call(
                    operation, **ARGUMENTS[operation](self, source, usage, key_id)
                )
            except KMSError as exc:
                raise MeasurementError(
                    f"Could not make the input for a cell: {operation} on "
                    f"{source.name}/{usage} failed with {exc.code}: {exc.message}"
                ) from exc
        return self.products[cache_key]

    def material(self, info: specs.KeySpecInfo, usage: str) -> bytes:
        """Key material for ImportKeyMaterial: raw bytes (symmetric) or PKCS #8 DER.

        Symmetric material is random; a private key is the one the pair's AWS_KMS key holds,
        which saves generating more RSA keys (the measurement's main cost).
        """
        if info.name not in self.materials:
            if info.key_bytes is not None:
                self.materials[info.name] = os.urandom(info.key_bytes)
            else:
                from kmslab.crypto import family

                current = self.kms.keys[self.keys[(info.name, usage)]].current
                assert current is not None
                self.materials[info.name] = family(info.family).private_der(current.secret)
        return self.materials[info.name]


def _stand_in(info: specs.KeySpecInfo, usage: str) -> specs.KeySpecInfo:
    """``info`` if it offers ``usage``, else the first spec in the catalogue that does."""
    return info if info.usage(usage) is not None else specs.for_usage(usage)[0]


def _algorithm(info: specs.KeySpecInfo, usage: str) -> str:
    """The algorithm a learner would pass: the spec's first for ``usage``, else the first
    of the first spec that offers the usage (SYMMETRIC_DEFAULT for Encrypt on an HMAC key)."""
    row = _stand_in(info, usage).usage(usage)
    assert row is not None
    return row.algorithms[0].name


def _wrapping_algorithm(info: specs.KeySpecInfo) -> str:
    """The WrappingAlgorithm a learner would pick: RSA-OAEP for a symmetric key's few bytes,
    RSA_AES_KEY_WRAP_SHA_256 for a PKCS #8 private key (AWS requires it for RSA keys, and
    it takes material of any length)."""
    return "RSAES_OAEP_SHA_256" if info.symmetric else "RSA_AES_KEY_WRAP_SHA_256"


def _import_parameters(lab: _Lab, info: specs.KeySpecInfo, key_id: str) -> Params:
    return {
        "KeyId": key_id,
        "WrappingAlgorithm": _wrapping_algorithm(info),
        "WrappingKeySpec": _WRAPPING_KEY_SPEC,
    }


def _import_material(lab: _Lab, info: specs.KeySpecInfo, usage: str, key_id: str) -> Params:
    parameters = lab.last[("GetParametersForImport", key_id)]
    wrapped = wrap_key_material(
        parameters["PublicKey"], _wrapping_algorithm(info), lab.material(info, usage)
    )
    return {
        "KeyId": key_id,
        "ImportToken": parameters["ImportToken"],
        "EncryptedKeyMaterial": wrapped,
        "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
    }


def _new_alias(lab: _Lab, key_id: str) -> Params:
    lab.aliases += 1
    return {"AliasName": f"alias/kmslab-compare-{lab.aliases}", "TargetKeyId": key_id}


def _latest_alias(lab: _Lab, key_id: str) -> Params:
    # SETUPS runs CreateAlias just before UpdateAlias: repoint that alias at the same key.
    return {"AliasName": f"alias/kmslab-compare-{lab.aliases}", "TargetKeyId": key_id}


def _new_grant(lab: _Lab, key_id: str) -> Params:
    # DescribeKey: the one grant operation every key type can take.
    return {
        "KeyId": key_id,
        "GranteePrincipal": f"arn:aws:iam::{lab.kms.account}:role/kmslab-compare",
        "Operations": ["DescribeKey"],
    }


def _latest_grant(lab: _Lab, key_id: str) -> Params:
    # SETUPS runs CreateGrant just before RetireGrant, RevokeGrant (and after a CreateGrant
    # cell): name that grant, and the key by its ARN as RetireGrant documents it.
    grant_id = lab.last[("CreateGrant", key_id)]["GrantId"]
    return {"KeyId": lab.kms.key_arn(key_id), "GrantId": grant_id}


_Args = Callable[[_Lab, specs.KeySpecInfo, str, str], Params]


def _key_only(lab: _Lab, info: specs.KeySpecInfo, usage: str, key_id: str) -> Params:
    return {"KeyId": key_id}


def _with(**extra: Any) -> _Args:
    return lambda lab, info, usage, key_id: {"KeyId": key_id, **extra}


#: The DataKeyPairSpec with the smallest key (the quickest to generate).
_QUICK_KEY_PAIR = min(specs.DATA_KEY_PAIR_SPECS, key=lambda name: specs.get(name).key_bits)

_ED, _SV, _MAC = "ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"
_KA, _KEM = "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"

#: Operation -> the arguments a learner would pass, given (lab, spec row, usage, key id).
#: Algorithms come from the catalogue (:func:`_algorithm`); inputs such as a ciphertext to
#: decrypt come from a key that can make them (:meth:`_Lab.product`).
ARGUMENTS: dict[str, _Args] = {
    "Encrypt": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "Plaintext": _MESSAGE,
        "EncryptionAlgorithm": _algorithm(info, _ED),
    },
    "Decrypt": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "CiphertextBlob": lab.product(info, _ED, "Encrypt")["CiphertextBlob"],
        "EncryptionAlgorithm": _algorithm(info, _ED),
    },
    "ReEncrypt": lambda lab, info, usage, key_id: {
        "CiphertextBlob": lab.product(info, _ED, "Encrypt")["CiphertextBlob"],
        "SourceKeyId": key_id,
        "SourceEncryptionAlgorithm": _algorithm(info, _ED),
        "DestinationKeyId": key_id,
        "DestinationEncryptionAlgorithm": _algorithm(info, _ED),
    },
    "GenerateDataKey": _with(KeySpec="AES_256"),
    "GenerateDataKeyWithoutPlaintext": _with(KeySpec="AES_256"),
    "GenerateDataKeyPair": _with(KeyPairSpec=_QUICK_KEY_PAIR),
    "GenerateDataKeyPairWithoutPlaintext": _with(KeyPairSpec=_QUICK_KEY_PAIR),
    "GenerateMac": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "Message": _MESSAGE,
        "MacAlgorithm": _algorithm(info, _MAC),
    },
    "VerifyMac": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "Message": _MESSAGE,
        "MacAlgorithm": _algorithm(info, _MAC),
        "Mac": lab.product(info, _MAC, "GenerateMac")["Mac"],
    },
    "Sign": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "Message": _MESSAGE,
        "MessageType": "RAW",
        "SigningAlgorithm": _algorithm(info, _SV),
    },
    "Verify": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "Message": _MESSAGE,
        "MessageType": "RAW",
        "SigningAlgorithm": _algorithm(info, _SV),
        "Signature": lab.product(info, _SV, "Sign")["Signature"],
    },
    "DeriveSharedSecret": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "KeyAgreementAlgorithm": _algorithm(info, _KA),
        # A peer public key on the right curve (ECDH with a key's own public key is valid).
        "PublicKey": lab.product(info, _KA, "GetPublicKey")["PublicKey"],
    },
    "Encapsulate": _with(EncapsulationAlgorithm="ML_KEM"),
    "Decapsulate": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "EncapsulationAlgorithm": _algorithm(info, _KEM),
        "SharedSecretCiphertextBlob": lab.product(info, _KEM, "Encapsulate")[
            "SharedSecretCiphertextBlob"
        ],
    },
    "GetPublicKey": _key_only,
    "DescribeKey": _key_only,
    "EnableKey": _key_only,
    "DisableKey": _key_only,
    "ScheduleKeyDeletion": _with(PendingWindowInDays=7),
    "CancelKeyDeletion": _key_only,
    "UpdateKeyDescription": _with(Description="measured by kmslab.learn.compare"),
    "TagResource": _with(Tags=[{"TagKey": "lesson", "TagValue": "key types"}]),
    "UntagResource": _with(TagKeys=["lesson"]),
    "ListResourceTags": _key_only,
    "CreateAlias": lambda lab, info, usage, key_id: _new_alias(lab, key_id),
    "UpdateAlias": lambda lab, info, usage, key_id: _latest_alias(lab, key_id),
    "ListAliases": _key_only,
    "GetKeyPolicy": _with(PolicyName="default"),
    # Put back the policy the key has.
    "PutKeyPolicy": lambda lab, info, usage, key_id: {
        "KeyId": key_id,
        "PolicyName": "default",
        "Policy": lab.kms.call("GetKeyPolicy", KeyId=key_id)["Policy"],
    },
    "ListKeyPolicies": _key_only,
    "CreateGrant": lambda lab, info, usage, key_id: _new_grant(lab, key_id),
    "ListGrants": _key_only,
    "RetireGrant": lambda lab, info, usage, key_id: _latest_grant(lab, key_id),
    "RevokeGrant": lambda lab, info, usage, key_id: _latest_grant(lab, key_id),
    "GetKeyRotationStatus": _key_only,
    "EnableKeyRotation": _key_only,
    "DisableKeyRotation": _key_only,
    "RotateKeyOnDemand": _key_only,
    "ListKeyRotations": _key_only,
    "GetParametersForImport": lambda lab, info, usage, key_id: _import_parameters(
        lab, info, key_id
    ),
    "ImportKeyMaterial": _import_material,
    "DeleteImportedKeyMaterial": _key_only,
}


def _not_measured(lab: _Lab, info: specs.KeySpecInfo, operation: str) -> str | None:
    """Why kmslab cannot measure this cell, or None when it can."""
    from kmslab.kms.registry import HANDLERS

    setup = SETUPS.get(operation, Setup())
    missing = [op for op in (*setup.before, operation, *setup.after) if op not in HANDLERS]
    if missing:
        return f"not implemented in kmslab: {', '.join(missing)}"
    if OPERATIONS[operation].plane == "data" or setup.crypto:
        try:
            lab.kms.require_implemented(info, info.name)
        except KMSError:
            return f"not implemented in kmslab: {info.family.upper()} cryptography"
    return None


def _measure(lab: _Lab, info: specs.KeySpecInfo, usage: str, operation: str) -> Cell:
    from kmslab.learn.matrix import Cell

    key_type = specs.key_type(info.name, usage)
    setup = SETUPS.get(operation, Setup())
    if setup.origin == "EXTERNAL":
        key_id = lab.external_key(info.name, usage)
    else:
        key_id = lab.keys[(info.name, usage)]

    def params(op: str) -> Params:
        return ARGUMENTS[op](lab, info, usage, key_id)

    step = operation
    try:
        for step in setup.before:
            if step not in setup.reuse or (step, key_id) not in lab.last:
                lab.call(step, params(step))
        step = operation
        lab.call(operation, params(operation))
    except KMSError as exc:
        prefix = "" if step == operation else f"{step} (needed before {operation}) failed: "
        message = prefix + (exc.message or "")
        return Cell(operation, info.name, usage, key_type, False, exc.code, message)
    for step in setup.after:
        try:
            lab.call(step, params(step))
        except KMSError as exc:
            raise MeasurementError(
                f"Could not undo {operation} on {info.name}/{usage}: {step} failed with "
                f"{exc.code}: {exc.message}"
            ) from exc
    return Cell(operation, info.name, usage, key_type, True, None, setup.meaning)


def measured_matrix(kms: LocalKMS | None = None) -> Matrix:
    """The matrix as a local KMS behaves: create a key of every pair, call every operation.

    ``kms`` defaults to a fresh :class:`~kmslab.LocalKMS`; the keys stay in it. Each cell
    is the outcome of one call with the arguments in :data:`ARGUMENTS`, on a key put in the
    state the operation needs (:data:`SETUPS`). A CreateKey cell is the creation of the
    pair's key itself, in a Region that offers the spec (SM2: the first China Region).
    Cells kmslab cannot measure (operations it does not implement, cryptography this
    machine lacks) take the rules' answer and say why in ``note``.

    It takes a few seconds (RSA key generation)::

        m = measured_matrix()
        m.cell("Encrypt", "HMAC_256", "GENERATE_VERIFY_MAC").message
        # 'arn:aws:kms:us-east-1:111122223333:key/... key usage is GENERATE_VERIFY_MAC
        #  which is not valid for Encrypt.'
        m.diff(derived_matrix())   # [] : the rules and the local KMS agree
    """
    from kmslab.kms.service import LocalKMS
    from kmslab.learn.matrix import MATRIX_OPERATIONS, Cell, Matrix, derived_matrix

    if kms is None:
        kms = LocalKMS()
    # Each pair is measured in a Region that offers its spec: SM2 keys exist only in the
    # China Regions, so they get a LocalKMS of the same account in the first China Region.
    labs: dict[str, _Lab] = {}

    def lab_for(spec: str) -> _Lab:
        region = specs.region_for(spec, kms.region)
        if region not in labs:
            here = kms if region == kms.region else None
            here = here or kms.aws_account.region(region)  # same account and clock
            labs[region] = _Lab(here, lab_for)
        return labs[region]

    rules = derived_matrix()
    created: dict[tuple[str, str], Cell] = {}
    for spec, usage in specs.valid_pairs():
        key_type = specs.key_type(spec, usage)
        lab = lab_for(spec)
        try:
            meta = lab.kms.call("CreateKey", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        except KMSError as exc:
            created[(spec, usage)] = Cell(
                "CreateKey", spec, usage, key_type, False, exc.code, exc.message
            )
            continue
        lab.keys[(spec, usage)] = meta["KeyId"]
        created[(spec, usage)] = Cell("CreateKey", spec, usage, key_type, True)
    cells = []
    for operation in MATRIX_OPERATIONS:
        for spec, usage in specs.valid_pairs():
            info = specs.get(spec)
            lab = lab_for(spec)
            if operation == "CreateKey":
                cells.append(created[(spec, usage)])
                continue
            reason = _not_measured(lab, info, operation)
            if reason is None and (spec, usage) not in lab.keys:
                reason = "not measured: CreateKey failed for this pair"
            if reason is not None:
                fallback = rules.cell(operation, spec, usage)
                cells.append(replace(fallback, note=f"{reason}; from the rules instead"))
                continue
            cells.append(_measure(lab, info, usage, operation))
    return Matrix(tuple(cells), "measured")
