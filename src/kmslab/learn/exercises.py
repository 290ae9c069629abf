"""Self-checks for the lessons: every check returns a :class:`CheckResult` that says what was
wrong and why, not just "wrong".

Two kinds of exercise live here. Checks of a prediction against the catalogue and the
operation rules (:func:`check_operations`, :func:`check_key_type`, ...), whose right answers
are read from :mod:`kmslab.specs` and :mod:`kmslab.kms.rules`, never written twice:

>>> from kmslab import exercises
>>> r = exercises.check_operations("RSA_2048", "SIGN_VERIFY", {"Sign": True, "Encrypt": True})
>>> r.correct
False
>>> print(r)  # doctest: +NORMALIZE_WHITESPACE
Not yet: 1 of 2 answers need another look.
- Encrypt: not allowed. RSA_2048 with SIGN_VERIFY is of key type Asymmetric KMS key (SIGN_VERIFY)
  (A-SV); Encrypt takes Symmetric encryption KMS key or Asymmetric KMS key (ENCRYPT_DECRYPT),
  so AWS answers InvalidKeyUsageException.
Hint: a key has exactly one key usage, fixed when it is created; the operations follow from it.

And each lesson's short quiz (:func:`quiz`), multiple-choice questions whose options each
carry their own explanation. The questions are data, one file per lesson, read by
:mod:`kmslab.learn.quiz`; this module re-exports :func:`quiz`, :class:`Question` and
:class:`Quiz` for the lessons:

>>> exercises.quiz("04")["calls"].check("c")
Not yet.
- one per 4 KiB: no: that would be Encrypt on every chunk, the slow way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import EllipsisType
from typing import Any

from kmslab import specs
from kmslab.kms import rules
from kmslab.learn.feedback import NO_ANSWER, CheckResult, type_label, types_text, verdict
from kmslab.learn.quiz import Question, Quiz, quiz

__all__ = [
    "NO_ANSWER",
    "PREDICTION_OPERATIONS",
    "CheckResult",
    "Question",
    "Quiz",
    "check_key_type",
    "check_max_plaintext",
    "check_operations",
    "check_shared_secret_bytes",
    "check_signature_bytes",
    "check_specs_for_usage",
    "check_state_error",
    "quiz",
]


# -- predictions checked against the tables ---------------------------------------------------

#: The operations :func:`check_operations` asks about when a prediction is a set of names.
PREDICTION_OPERATIONS: tuple[str, ...] = (
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateMac",
    "VerifyMac",
    "Sign",
    "Verify",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
    "GetPublicKey",
    "EnableKeyRotation",
)


def _unknown_spec(spec: str) -> CheckResult | None:
    if spec in specs.KEY_SPECS:
        return None
    return CheckResult(
        False,
        (f"{spec!r} is not a key spec. Key specs: {', '.join(specs.KEY_SPECS)}.",),
        summary="Not a key spec.",
    )


def check_operations(
    spec: str, usage: str, prediction: Mapping[str, bool] | Iterable[str] | EllipsisType
) -> CheckResult:
    """Check a prediction of which operations a (KeySpec, KeyUsage) key allows.

    ``prediction`` is either a mapping ``operation -> allowed?`` (only those operations are
    checked) or the set of operations predicted to be allowed (then every operation in
    :data:`PREDICTION_OPERATIONS` is checked, the unnamed ones as "not allowed").
    """
    if prediction is ...:
        return NO_ANSWER
    bad = _unknown_spec(spec)
    if bad is not None:
        return bad
    if specs.get(spec).usage(usage) is None:
        valid = ", ".join(specs.get(spec).usage_names)
        return CheckResult(
            False,
            (f"{spec} keys cannot have KeyUsage {usage}; they allow {valid}.",),
            summary="No such key.",
        )
    if isinstance(prediction, Mapping):
        answers = {str(op): bool(v) for op, v in prediction.items()}
    else:
        said = {str(op) for op in prediction}
        answers = {op: op in said for op in PREDICTION_OPERATIONS}
        answers.update({op: True for op in said if op not in answers})
    key_type = specs.key_type(spec, usage)
    wrong: list[str] = []
    right: list[str] = []
    for op, predicted in answers.items():
        rule = rules.OPERATIONS.get(op)
        if rule is None:
            wrong.append(f"{op}: kmslab does not know an operation of that name.")
            continue
        actual = key_type in rule.key_types
        need = types_text(rule.key_types)
        if actual and rule.aws_kms_only:
            why = f"{op}: allowed for {type_label(key_type)} keys whose Origin is AWS_KMS."
        elif actual:
            why = f"{op}: allowed; it takes {need}."
        else:
            why = (
                f"{op}: not allowed. {spec} with {usage} is of key type {type_label(key_type)} "
                f"({key_type}); {op} takes {need}, so AWS answers {rule.refusal}."
            )
        (right if predicted == actual else wrong).append(why)
    return verdict(
        wrong,
        len(answers),
        right,
        "a key has exactly one key usage, fixed when it is created; the operations follow from it.",
    )


def check_specs_for_usage(usage: str, answer: Iterable[str] | EllipsisType) -> CheckResult:
    """Check a list of the key specs that allow ``usage`` (all of them, no others)."""
    if answer is ...:
        return NO_ANSWER
    if usage not in specs.KEY_USAGES:
        return CheckResult(
            False,
            (f"{usage!r} is not a KeyUsage. Usages: {', '.join(specs.KEY_USAGES)}.",),
            summary="Not a key usage.",
        )
    expected = {s.name for s in specs.for_usage(usage)}
    given = {str(a) for a in answer}
    wrong: list[str] = []
    for name in sorted(given - expected):
        if name not in specs.KEY_SPECS:
            wrong.append(f"{name} is not a key spec.")
        else:
            allows = ", ".join(specs.get(name).usage_names)
            wrong.append(f"{name} does not allow {usage}; it allows {allows}.")
    for name in [s for s in specs.KEY_SPECS if s in expected - given]:
        wrong.append(f"missing {name}: {specs.get(name).summary}")
    right = [f"{name} allows {usage}." for name in specs.KEY_SPECS if name in given & expected]
    return verdict(
        wrong,
        len(expected | given),
        right,
        f"specs.for_usage({usage!r}) lists them; KeySpecInfo.usage_names shows a spec's usages.",
    )


_TYPE_ALIASES = {
    label.lower(): code
    for names in (specs.KEY_TYPES, specs.AWS_KEY_TYPES)
    for code, label in names.items()
}


def check_key_type(metadata: Mapping[str, Any], answer: str | EllipsisType) -> CheckResult:
    """Check which key type (SYM, HMAC, A-ED, A-SV, A-KA, A-KEM) a key's metadata shows.

    ``metadata`` is DescribeKey's KeyMetadata (or the whole response); ``answer`` a type
    code, AWS's name ("Asymmetric KMS key (SIGN_VERIFY)") or the short long name
    ("Asymmetric KMS key (SIGN_VERIFY)").
    """
    if answer is ...:
        return NO_ANSWER
    meta = metadata.get("KeyMetadata", metadata)
    spec, usage = str(meta.get("KeySpec")), str(meta.get("KeyUsage"))
    bad = _unknown_spec(spec)
    if bad is not None:
        return bad
    expected = specs.key_type(spec, usage)
    given = _TYPE_ALIASES.get(str(answer).strip().lower(), str(answer).strip().upper())
    info = specs.get(spec)
    kind = "symmetric" if info.symmetric else "asymmetric"
    reason = f"KeySpec {spec} is {kind} and KeyUsage is {usage}"
    if given == expected:
        return CheckResult(True, (f"{reason}: an {type_label(expected)} ({expected}).",))
    if given not in specs.KEY_TYPES:
        detail = f"{answer!r} is not a key type. Key types: {', '.join(specs.KEY_TYPES)}."
    elif (given in ("SYM", "HMAC")) != info.symmetric:
        detail = (
            f"{spec} is {kind}: the symmetric specs are SYMMETRIC_DEFAULT and HMAC_*; every "
            "other spec has a public key."
        )
    else:
        detail = f"{reason}, so it is not {type_label(given)}: look at KeyUsage."
    return CheckResult(False, (detail,), "KeySpec says symmetric or not; KeyUsage says which.")


def _algorithm(spec: str, algorithm: str) -> specs.Algorithm | CheckResult:
    bad = _unknown_spec(spec)
    if bad is not None:
        return bad
    alg = specs.get(spec).algorithm(algorithm)
    if alg is None:
        offered = [a.name for u in specs.get(spec).usages for a in u.algorithms]
        return CheckResult(
            False,
            (f"{spec} does not offer {algorithm}; it offers {', '.join(offered)}.",),
            summary="No such algorithm for this key.",
        )
    return alg


def check_max_plaintext(spec: str, algorithm: str, answer: int | EllipsisType) -> CheckResult:
    """Check the largest plaintext Encrypt accepts for a key spec and encryption algorithm."""
    if answer is ...:
        return NO_ANSWER
    alg = _algorithm(spec, algorithm)
    if isinstance(alg, CheckResult):
        return alg
    expected = alg.max_plaintext_bytes
    if expected is None:
        return CheckResult(False, (f"{algorithm} does not encrypt.",), summary="Not encryption.")
    info = specs.get(spec)
    if alg.padding == "OAEP" and alg.hash is not None:
        k, h = info.key_bits // 8, _hash_bytes(alg.hash)
        formula = f"k - 2*hLen - 2 = {k} - 2*{h} - 2 = {expected}"
        if answer == expected:
            return CheckResult(True, (f"{spec} with {algorithm}: {formula} bytes.",))
        if answer == k:
            detail = f"{k} bytes is the modulus: the size of the ciphertext, not of the plaintext."
        elif answer in _oaep_limits(spec):
            other = _oaep_limits(spec)[answer]
            detail = f"{answer} bytes is the limit with {other}; {algorithm}'s hash is {alg.hash}."
        else:
            detail = f"OAEP spends 2*hLen + 2 bytes of the {k}-byte block on padding."
        return CheckResult(False, (detail,), f"hLen is the hash length ({h} bytes for {alg.hash}).")
    if answer == expected:
        return CheckResult(True, (f"{spec} encrypts at most {expected} bytes with {algorithm}.",))
    return CheckResult(
        False,
        (f"{spec} encrypts at most {expected} bytes with {algorithm}, not {answer}.",),
        "Larger data needs a data key (envelope encryption).",
    )


def _hash_bytes(name: str) -> int:
    return specs.HASH_BYTES[name]


def _oaep_limits(spec: str) -> dict[int, str]:
    usage = specs.get(spec).usage("ENCRYPT_DECRYPT")
    algs = usage.algorithms if usage else ()
    return {a.max_plaintext_bytes: a.name for a in algs if a.max_plaintext_bytes is not None}


def check_signature_bytes(spec: str, algorithm: str, answer: int | EllipsisType) -> CheckResult:
    """Check the size of a signature (the largest one, for DER-encoded ECDSA)."""
    if answer is ...:
        return NO_ANSWER
    alg = _algorithm(spec, algorithm)
    if isinstance(alg, CheckResult):
        return alg
    expected = alg.signature_bytes
    if expected is None:
        return CheckResult(False, (f"{algorithm} does not sign.",), summary="Not a signature.")
    varies = alg.name.startswith("ECDSA")
    if answer == expected:
        extra = " at most: the DER encoding of r and s varies in length" if varies else ""
        return CheckResult(True, (f"{spec} {algorithm} signatures are {expected} bytes{extra}.",))
    info = specs.get(spec)
    if varies and answer == 2 * ((info.key_bits + 7) // 8):
        detail = (
            f"{answer} bytes is r || s side by side (the raw IEEE P1363 form); KMS returns a DER "
            f"SEQUENCE of two INTEGERs, up to {expected} bytes for {spec}."
        )
    elif varies and expected - 3 <= answer < expected:
        detail = (
            f"{answer} bytes happens, but it is not the largest: DER-encoded ECDSA signatures "
            f"vary in length, up to {expected} bytes for {spec}."
        )
    elif alg.padding is not None:
        detail = f"an RSA signature is as long as the modulus: {info.key_bits // 8} bytes."
    else:
        detail = f"{spec} {algorithm} signatures are {expected} bytes, not {answer}."
    return CheckResult(
        False, (detail,), "The catalogue has it: specs.get(spec).algorithm(name).signature_bytes."
    )


def check_shared_secret_bytes(spec: str, answer: int | EllipsisType) -> CheckResult:
    """Check the size of the shared secret DeriveSharedSecret or Encapsulate returns."""
    if answer is ...:
        return NO_ANSWER
    bad = _unknown_spec(spec)
    if bad is not None:
        return bad
    info = specs.get(spec)
    secrets = [a for u in info.usages for a in u.algorithms if a.shared_secret_bytes is not None]
    if not secrets:
        return CheckResult(
            False,
            (f"{spec} makes no shared secrets; it allows {', '.join(info.usage_names)}.",),
            summary="No shared secret.",
        )
    alg = secrets[0]
    expected = alg.shared_secret_bytes
    if alg.kind == "encapsulation":
        why = "ML-KEM always gives a 32-byte secret, whatever the security level."
    else:
        why = f"ECDH gives the x-coordinate: {info.key_bits} bits round up to {expected} bytes."
    if answer == expected:
        return CheckResult(True, (why,))
    return CheckResult(
        False, (f"{spec}: not {answer} bytes. {why}",), "Think about the field size."
    )


_SUCCESS = ("ok", "succeeds", "success", "none", "")


def check_state_error(operation: str, state: str, answer: str | EllipsisType | None) -> CheckResult:
    """Check what an operation does on a key in a state: ``"OK"`` or the error code.

    The right answer comes from :data:`kmslab.kms.rules.STATE_RULES`.
    """
    if answer is ...:
        return NO_ANSWER
    rule = rules.OPERATIONS.get(operation)
    if rule is None:
        return CheckResult(False, (f"{operation!r} is not an operation kmslab serves.",))
    if state not in specs.KEY_STATES:
        return CheckResult(
            False, (f"{state!r} is not a key state: {', '.join(specs.KEY_STATES)}.",)
        )
    refusal = rules.STATE_RULES[rule.states].get(state)
    said = "" if answer is None else str(answer).strip()
    said_ok = said.lower() in _SUCCESS
    if refusal is None:
        if said_ok:
            return CheckResult(True, (f"{operation} works on a key in state {state}.",))
        return CheckResult(
            False,
            (f"{operation} works on a key in state {state}; there is no {said}.",),
            "Management calls such as DescribeKey work in every state.",
        )
    code, template = refusal
    message = template.format(arn="<key ARN>")
    if said == code:
        return CheckResult(True, (f"{operation} in state {state}: {code}: {message}",))
    if said_ok:
        detail = f"{operation} is refused in state {state}: {code}: {message}"
    else:
        detail = f"{operation} in state {state} raises {code} ({message}), not {said}."
    return CheckResult(
        False,
        (detail,),
        "Disabled keys raise DisabledException; pending deletion or import raise "
        "KMSInvalidStateException.",
    )
