"""The rules tables enforced: every operation of kmslab.kms.rules.OPERATIONS against every
key type (allowed, or refused with the row's error code), every key state against each
state rule (the exact code and message), and DryRun on every operation that has it.

Rotation and import operations belong to their own tests and are left out here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from botocore import xform_name
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kmslab import specs
from kmslab.exceptions import KMSError
from kmslab.kms.ops.manage import default_policy
from kmslab.kms.registry import HANDLERS
from kmslab.kms.rules import OPERATIONS, STATE_RULES, allowed
from kmslab.kms.service import LocalKMS
from kmslab.kms.wire import has_dry_run, service_model

Params = dict[str, Any]

LIFECYCLE = {
    name
    for name, rule in OPERATIONS.items()
    if rule.states in ("rotation", "rotate_on_demand", "import", "multi_region")
    or rule.external_only
    or rule.aws_kms_only
    or "Rotation" in name
}
KEYED = [n for n, r in OPERATIONS.items() if r.needs_key and n not in LIFECYCLE]
STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport")
#: A cheap key spec for each key type, for tests that need fresh keys.
CHEAP = {
    "SYM": ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "HMAC": ("HMAC_256", "GENERATE_VERIFY_MAC"),
    "A-SV": ("ECC_NIST_P256", "SIGN_VERIFY"),
    "A-KA": ("ECC_NIST_P256", "KEY_AGREEMENT"),
    "A-KEM": ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
    "A-ED": ("RSA_2048", "ENCRYPT_DECRYPT"),
}
_alias_numbers = itertools.count()
GRANTEE = "arn:aws:iam::111122223333:role/rules"


def _alg(key: Params, kind: specs.AlgorithmKind, default: str) -> str:
    """The key's first algorithm of this kind, or a valid enum value of it otherwise."""
    usage = specs.get(key["KeySpec"]).usage(key["KeyUsage"])
    assert usage is not None
    return usage.algorithms[0].name if usage.kind == kind else default


def _peer_spki(key: Params) -> bytes:
    info = specs.get(key["KeySpec"])
    if info.family == "sm2":  # cryptography has no SM2 curve: the peer comes from OpenSSL
        from kmslab.crypto import sm2

        return sm2.public_der(sm2.generate(info))
    curve = (
        getattr(ec, info.curve.upper())() if info.family == "ec" and info.curve else ec.SECP256R1()
    )
    return (
        ec.generate_private_key(curve)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


# A request builder per operation: (kms, key metadata, usable) -> params. ``usable``: the key
# is Enabled and of a type the operation allows, so the builder may call KMS to make its
# inputs (a ciphertext, a signature); otherwise it sends well-formed placeholders, since the
# refusal must come first.


def _encrypt(kms: LocalKMS, key: Params, usable: bool) -> Params:
    return {
        "KeyId": key["KeyId"],
        "Plaintext": b"x",
        "EncryptionAlgorithm": _alg(key, "encryption", "SYMMETRIC_DEFAULT"),
    }


def _ciphertext(kms: LocalKMS, key: Params, usable: bool) -> bytes:
    if not usable:
        # A symmetric ciphertext of another key: AWS answers IncorrectKeyException when KeyId
        # names a key that cannot have made it (an HMAC key, a signing key...).
        other = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        made: bytes = kms.call("Encrypt", KeyId=other, Plaintext=b"x")["CiphertextBlob"]
        return made
    blob: bytes = kms.call("Encrypt", **_encrypt(kms, key, usable))["CiphertextBlob"]
    return blob


#: Operations that refuse a key of the wrong type with IncorrectKeyException: the ciphertext
#: was not made by the key KeyId names (LocalStack's recording of real AWS).
_CIPHERTEXT_OPERATIONS = frozenset({"Decrypt", "ReEncrypt"})


def _decrypt(kms: LocalKMS, key: Params, usable: bool) -> Params:
    return {
        "KeyId": key["KeyId"],
        "CiphertextBlob": _ciphertext(kms, key, usable),
        "EncryptionAlgorithm": _alg(key, "encryption", "SYMMETRIC_DEFAULT"),
    }


def _re_encrypt(kms: LocalKMS, key: Params, usable: bool) -> Params:
    alg = _alg(key, "encryption", "SYMMETRIC_DEFAULT")
    return {
        "CiphertextBlob": _ciphertext(kms, key, usable),
        "SourceKeyId": key["KeyId"],
        "SourceEncryptionAlgorithm": alg,
        "DestinationKeyId": key["KeyId"],
        "DestinationEncryptionAlgorithm": alg,
    }


def _mac(kms: LocalKMS, key: Params, usable: bool) -> Params:
    return {
        "KeyId": key["KeyId"],
        "Message": b"m",
        "MacAlgorithm": _alg(key, "mac", "HMAC_SHA_256"),
    }


def _verify_mac(kms: LocalKMS, key: Params, usable: bool) -> Params:
    params = _mac(kms, key, usable)
    params["Mac"] = kms.call("GenerateMac", **params)["Mac"] if usable else bytes(32)
    return params


def _sign(kms: LocalKMS, key: Params, usable: bool) -> Params:
    return {
        "KeyId": key["KeyId"],
        "Message": b"m",
        "SigningAlgorithm": _alg(key, "signing", "ECDSA_SHA_256"),
    }


def _verify(kms: LocalKMS, key: Params, usable: bool) -> Params:
    params = _sign(kms, key, usable)
    params["Signature"] = kms.call("Sign", **params)["Signature"] if usable else bytes(64)
    return params


def _decapsulate(kms: LocalKMS, key: Params, usable: bool) -> Params:
    params = {"KeyId": key["KeyId"], "EncapsulationAlgorithm": "ML_KEM"}
    params["SharedSecretCiphertextBlob"] = (
        kms.call("Encapsulate", **params)["SharedSecretCiphertextBlob"] if usable else bytes(768)
    )
    return params


def _update_alias(kms: LocalKMS, key: Params, usable: bool) -> Params:
    name = f"alias/rules-{next(_alias_numbers)}"
    kms.call("CreateAlias", AliasName=name, TargetKeyId=key["KeyId"])
    return {"AliasName": name, "TargetKeyId": key["KeyId"]}


def _key_only(kms: LocalKMS, key: Params, usable: bool) -> Params:
    return {"KeyId": key["KeyId"]}


def _create_grant(kms: LocalKMS, key: Params, usable: bool) -> Params:
    # DescribeKey: a grant operation every key type can take.
    return {"KeyId": key["KeyId"], "GranteePrincipal": GRANTEE, "Operations": ["DescribeKey"]}


def _grant(kms: LocalKMS, key: Params, usable: bool) -> Params:
    # A new grant to retire or revoke. Builders run before the key is put in its state, and
    # CreateGrant works in every state but PendingDeletion.
    made = kms.call("CreateGrant", **_create_grant(kms, key, usable))
    return {"KeyId": key["Arn"], "GrantId": made["GrantId"]}


def _plus(**extra: Any) -> Callable[[LocalKMS, Params, bool], Params]:
    def build(kms: LocalKMS, key: Params, usable: bool) -> Params:
        return {"KeyId": key["KeyId"], **extra}

    return build


REQUESTS: dict[str, Callable[[LocalKMS, Params, bool], Params]] = {
    "Encrypt": _encrypt,
    "Decrypt": _decrypt,
    "ReEncrypt": _re_encrypt,
    "GenerateDataKey": _plus(KeySpec="AES_256"),
    "GenerateDataKeyWithoutPlaintext": _plus(KeySpec="AES_256"),
    "GenerateDataKeyPair": _plus(KeyPairSpec="ECC_NIST_P256"),
    "GenerateDataKeyPairWithoutPlaintext": _plus(KeyPairSpec="ECC_NIST_P256"),
    "GenerateMac": _mac,
    "VerifyMac": _verify_mac,
    "Sign": _sign,
    "Verify": _verify,
    "DeriveSharedSecret": lambda kms, key, usable: {
        "KeyId": key["KeyId"],
        "KeyAgreementAlgorithm": "ECDH",
        "PublicKey": _peer_spki(key),
    },
    "Encapsulate": _plus(EncapsulationAlgorithm="ML_KEM"),
    "Decapsulate": _decapsulate,
    "GetPublicKey": _key_only,
    "DescribeKey": _key_only,
    "EnableKey": _key_only,
    "DisableKey": _key_only,
    "ScheduleKeyDeletion": _plus(PendingWindowInDays=7),
    "CancelKeyDeletion": _key_only,
    "UpdateKeyDescription": _plus(Description="rules"),
    "TagResource": _plus(Tags=[{"TagKey": "rules", "TagValue": "yes"}]),
    "UntagResource": _plus(TagKeys=["rules"]),
    "ListResourceTags": _key_only,
    "CreateAlias": lambda kms, key, usable: {
        "AliasName": f"alias/rules-{next(_alias_numbers)}",
        "TargetKeyId": key["KeyId"],
    },
    "UpdateAlias": _update_alias,
    "ListAliases": _key_only,
    "GetKeyPolicy": _plus(PolicyName="default"),
    # A policy that passes AWS's lockout safety check: the default one.
    "PutKeyPolicy": _plus(PolicyName="default", Policy=default_policy("111122223333")),
    "ListKeyPolicies": _key_only,
    "CreateGrant": _create_grant,
    "ListGrants": _key_only,
    "RetireGrant": _grant,
    "RevokeGrant": _grant,
}


def test_every_keyed_operation_has_a_request_builder():
    assert set(REQUESTS) == set(KEYED)


def _outcome(kms: LocalKMS, operation: str, params: Params) -> tuple[str, str | None]:
    """("ok", "") or (error code, message); the message is None where AWS sends none."""
    try:
        kms.call(operation, **params)
    except KMSError as err:
        return err.code, err.message
    return "ok", ""


def _restore(kms: LocalKMS, key: Params) -> None:
    """Put a cached key back as it was made (Enabled, its description, no grants) after an
    operation changed it."""
    key_id = key["KeyId"]
    state = kms.keys[key_id].state
    if state == "PendingDeletion":
        kms.call("CancelKeyDeletion", KeyId=key_id)
    if kms.keys[key_id].state == "Disabled":
        kms.call("EnableKey", KeyId=key_id)
    for grant in kms.call("ListGrants", KeyId=key_id, Limit=1000)["Grants"]:
        kms.call("RevokeGrant", KeyId=key_id, GrantId=grant["GrantId"])
    kms.call("UpdateKeyDescription", KeyId=key_id, Description=key["Description"])


# -- operation x key type -------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "usage"), specs.valid_pairs())
@pytest.mark.parametrize("operation", KEYED)
def test_operation_by_key_type(keys, operation, spec, usage):
    kms = keys.kms_for(spec)  # SM2 keys live in the China Regions
    key = keys.meta(spec, usage)
    rule = OPERATIONS[operation]
    ok = allowed(operation, spec, usage)
    try:
        if operation == "CancelKeyDeletion" and ok:
            kms.call("ScheduleKeyDeletion", KeyId=key["KeyId"], PendingWindowInDays=7)
        params = REQUESTS[operation](kms, key, ok)
        code, message = _outcome(kms, operation, params)
    finally:
        _restore(kms, key)
    if not ok and operation in _CIPHERTEXT_OPERATIONS:
        assert code == rule.refusal == "IncorrectKeyException", message
    elif not ok and message is None:  # rotation of a key that cannot rotate: no message
        assert code == rule.refusal == "UnsupportedOperationException"
    elif not ok and rule.implied_algorithm and usage == "ENCRYPT_DECRYPT":
        # Data keys: AWS's Encrypt text for the algorithm they encrypt with.
        assert code == rule.refusal == "InvalidKeyUsageException"
        assert message == f"Algorithm SYMMETRIC_DEFAULT is incompatible with key spec {spec}."
    elif not ok:
        assert code == rule.refusal, message
        assert key["Arn"] in message and operation in message
    else:
        assert code == "ok", message


def test_refusal_messages(kms, keys):
    sign_key = keys.meta("ECC_NIST_P256", "SIGN_VERIFY")
    code, message = _outcome(kms, "Encrypt", _encrypt(kms, sign_key, False))
    assert (code, message) == (
        "InvalidKeyUsageException",
        f"{sign_key['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.",
    )
    sym = keys.meta("SYMMETRIC_DEFAULT")
    code, message = _outcome(kms, "GetPublicKey", _key_only(kms, sym, False))
    assert (code, message) == (
        "UnsupportedOperationException",
        f"{sym['Arn']} key spec is SYMMETRIC_DEFAULT which is not valid for GetPublicKey.",
    )


def test_key_free_operations(kms):
    assert len(kms.call("GenerateRandom", NumberOfBytes=8)["Plaintext"]) == 8
    made = kms.call("CreateKey", KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC")
    key_id = made["KeyMetadata"]["KeyId"]
    assert key_id in [k["KeyId"] for k in kms.call("ListKeys", Limit=1000)["Keys"]]
    kms.call("CreateAlias", AliasName="alias/rules-free", TargetKeyId=key_id)
    assert kms.call("DeleteAlias", AliasName="alias/rules-free") == {}
    retiring = "arn:aws:iam::111122223333:role/rules-free"
    grant = kms.call(
        "CreateGrant", **_create_grant(kms, made["KeyMetadata"], True), RetiringPrincipal=retiring
    )
    listed = kms.call("ListRetirableGrants", RetiringPrincipal=retiring)["Grants"]
    assert [g["GrantId"] for g in listed] == [grant["GrantId"]]


# -- operation x key state ------------------------------------------------------------------


def _key_type_for(operation: str) -> tuple[str, str]:
    types = OPERATIONS[operation].key_types
    return next(CHEAP[t] for t in CHEAP if t in types)


def _in_state(kms: LocalKMS, operation: str, state: str) -> tuple[Params, Params]:
    """A fresh key of a type ``operation`` allows, in ``state``, and a request for it."""
    spec, usage = _key_type_for(operation)
    origin = "EXTERNAL" if state == "PendingImport" else "AWS_KMS"
    key = kms.call("CreateKey", KeySpec=spec, KeyUsage=usage, Origin=origin)["KeyMetadata"]
    params = REQUESTS[operation](kms, key, state != "PendingImport")
    if state == "Disabled":
        kms.call("DisableKey", KeyId=key["KeyId"])
    elif state == "PendingDeletion":
        kms.call("ScheduleKeyDeletion", KeyId=key["KeyId"], PendingWindowInDays=7)
    assert kms.keys[key["KeyId"]].state == state
    return key, params


STATE_CASES = [pytest.param(op, state, id=f"{op}-{state}") for op in KEYED for state in STATES]


@pytest.mark.parametrize(("operation", "state"), STATE_CASES)
def test_operation_by_key_state(kms, operation, state):
    key, params = _in_state(kms, operation, state)
    refusal = STATE_RULES[OPERATIONS[operation].states].get(state)
    code, message = _outcome(kms, operation, params)
    if refusal is None:
        assert code == "ok", message
    else:
        assert (code, message) == (refusal[0], refusal[1].format(arn=key["Arn"]))


def test_state_rules_cover_the_states_kmslab_reaches():
    for name, rule in STATE_RULES.items():
        # PendingReplicaDeletion: multi-Region primary keys only (tests/kms/test_multi_region.py);
        # Unavailable: a key in a disconnected custom key store (tests/kms/test_keystores.py).
        assert set(rule) <= {*STATES, "PendingReplicaDeletion", "Unavailable"}, name
    used = {OPERATIONS[op].states for op in KEYED}
    assert used >= {"crypto", "any", "enable_disable", "schedule_deletion", "cancel_deletion"}


def test_state_messages_are_awss(kms, fresh_key):
    key = fresh_key()
    kms.call("DisableKey", KeyId=key["KeyId"])
    assert _outcome(kms, "Encrypt", _encrypt(kms, key, False)) == (
        "DisabledException",
        f"{key['Arn']} is disabled.",
    )
    kms.call("ScheduleKeyDeletion", KeyId=key["KeyId"], PendingWindowInDays=7)
    assert _outcome(kms, "EnableKey", {"KeyId": key["KeyId"]}) == (
        "KMSInvalidStateException",
        f"{key['Arn']} is pending deletion.",
    )


# -- DryRun ---------------------------------------------------------------------------------

DRY_RUN_OPERATIONS = [
    op for op in service_model().operation_names if op not in LIFECYCLE and has_dry_run(op)
]
DRY_RUN_SERVED = [op for op in DRY_RUN_OPERATIONS if op in HANDLERS]


def _snapshot(kms: LocalKMS) -> Any:
    return (
        [
            (k.id, k.state, [m.id for m in k.materials], dict(k.tags), k.description, k.policy)
            for k in kms.keys.values()
        ],
        {name: dict(a) for name, a in kms.aliases.items()},
        {k: [(g.id, g.issued) for g in grants.values()] for k, grants in kms.grants.items()},
    )


def _refusing_state(operation: str) -> str | None:
    """Disabled or PendingDeletion, whichever the operation refuses first (None: neither)."""
    refusals = STATE_RULES[OPERATIONS[operation].states]
    return next((s for s in ("Disabled", "PendingDeletion") if s in refusals), None)


def _refused_type(operation: str) -> tuple[str, str] | None:
    types = OPERATIONS[operation].key_types
    return next((CHEAP[t] for t in CHEAP if t not in types), None)


@pytest.mark.parametrize("operation", DRY_RUN_SERVED)
def test_dry_run(aws_error, operation):
    # A LocalKMS of its own, so the snapshot sees nothing but this test.
    kms = LocalKMS()
    client = kms.client()
    spec, usage = _key_type_for(operation)
    key = kms.call("CreateKey", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    params = REQUESTS[operation](kms, key, True)
    before = _snapshot(kms)
    method = getattr(client, xform_name(operation))
    with aws_error(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
    ):
        method(DryRun=True, **params)
    assert _snapshot(kms) == before
    # The real error when the call would fail: wrong key type, key state, bad input. (Grant
    # operations take every key type; RetireGrant and RevokeGrant every key state.)
    refused = _refused_type(operation)
    if refused is not None:
        other = kms.call("CreateKey", KeySpec=refused[0], KeyUsage=refused[1])["KeyMetadata"]
        with aws_error(OPERATIONS[operation].refusal):
            method(DryRun=True, **REQUESTS[operation](kms, other, False))
    state = _refusing_state(operation)
    if state == "Disabled":
        kms.call("DisableKey", KeyId=key["KeyId"])
    elif state == "PendingDeletion":
        kms.call("ScheduleKeyDeletion", KeyId=key["KeyId"], PendingWindowInDays=7)
    if state is not None:
        code, template = STATE_RULES[OPERATIONS[operation].states][state]
        with aws_error(code, template.format(arn=key["Arn"])):
            method(DryRun=True, **params)
        _restore(kms, key)
    # Leave out a member the call needs (Decrypt's CiphertextBlob is optional in the model;
    # RetireGrant's members all are, but it needs a GrantToken or a KeyId and a GrantId).
    shape = service_model().operation_model(operation).input_shape
    needed = next(m for m in ("CiphertextBlob", *shape.required_members, *params) if m in params)
    unchecked = getattr(kms.client(parameter_validation=False), xform_name(operation))
    with aws_error("ValidationException"):
        unchecked(DryRun=True, **{k: v for k, v in params.items() if k != needed})
    assert _snapshot(kms)[1] == before[1]


def test_every_operation_with_dry_run_is_served(kms):
    # The grant operations were the last with a DryRun member that kmslab did not serve.
    assert set(DRY_RUN_OPERATIONS) <= set(HANDLERS)
    # An operation kmslab does not serve says so (kmslab.explain lists what it serves); the
    # custom key store operations are served now.
    assert _outcome(kms, "DescribeCustomKeyStores", {})[0] == "ok"
    from kmslab.kms.registry import HANDLERS as served

    unserved = sorted(set(_botocore_operations()) - set(served))
    if unserved:
        assert _outcome(kms, unserved[0], {}) == (
            "UnsupportedOperationException",
            f"kmslab does not implement {unserved[0]}.",
        )


def _botocore_operations() -> list[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("kms")
    # Those an empty request reaches (no required member for the validation to miss).
    return [
        op
        for op in model.operation_names
        if not model.operation_model(op).input_shape.required_members
    ]
