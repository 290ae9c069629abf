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
- Encrypt: not allowed. RSA_2048 with SIGN_VERIFY is of key type Asymmetric SIGN_VERIFY
  (A-SV); Encrypt takes Symmetric encryption or Asymmetric ENCRYPT_DECRYPT, so AWS answers
  InvalidKeyUsageException.
Hint: a key has exactly one key usage, fixed when it is created; the operations follow from it.

And each lesson's short quiz (:func:`quiz`), multiple-choice questions whose options each
carry their own explanation:

>>> q = exercises.quiz("04")
>>> print(q["calls"].text())
How many KMS calls does sealing a 1 GB file with envelope encryption take?
  a) 2
  b) 1
  c) one per 4 KiB
>>> q["calls"].check("c")
Not yet.
- one per 4 KiB: no: that would be Encrypt on every chunk, the slow way.
>>> q["calls"].check("b").correct
True
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

from kmslab import specs
from kmslab.kms import rules

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


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: ``correct``, one feedback line per point, and a hint.

    Truthy when correct. ``repr`` is plain text; ``_repr_html_`` the same, coloured.
    """

    correct: bool
    feedback: tuple[str, ...] = ()
    hint: str = ""
    summary: str = ""

    def __bool__(self) -> bool:
        return self.correct

    def _headline(self) -> str:
        if self.summary:
            return self.summary
        return "Correct!" if self.correct else "Not yet."

    def __repr__(self) -> str:
        lines = [self._headline(), *(f"- {line}" for line in self.feedback)]
        if self.hint and not self.correct:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#27ae60" if self.correct else "#c0392b"
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.feedback)
        hint = (
            f"<p><i>Hint:</i> {html.escape(self.hint)}</p>"
            if self.hint and not self.correct
            else ""
        )
        return (
            f'<div style="border-left:4px solid {colour};padding-left:8px">'
            f"<b>{html.escape(self._headline())}</b>"
            f"{f'<ul>{items}</ul>' if items else ''}{hint}</div>"
        )


def _verdict(wrong: list[str], total: int, right: list[str], hint: str) -> CheckResult:
    if not wrong:
        return CheckResult(True, tuple(right), summary=f"Correct! All {total} answers are right.")
    return CheckResult(
        False,
        tuple(wrong),
        hint,
        summary=f"Not yet: {len(wrong)} of {total} answers need another look.",
    )


#: What every check returns for ``...``, the placeholder the lessons leave for your answer.
NO_ANSWER = CheckResult(
    False, (), "Replace ... with your answer and run the cell again.", "No answer yet."
)

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


def _type_label(key_type: str) -> str:
    return specs.KEY_TYPES[key_type]


_ASYMMETRIC = frozenset(t for t in specs.KEY_TYPES if t.startswith("A-"))


def _types_text(key_types: Iterable[str]) -> str:
    chosen = set(key_types)
    if chosen == _ASYMMETRIC:
        return "an asymmetric key (any usage)"
    if chosen == set(specs.KEY_TYPES):
        return "any key"
    return " or ".join(_type_label(t) for t in specs.KEY_TYPES if t in chosen)


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
        need = _types_text(rule.key_types)
        if actual and rule.aws_kms_only:
            why = f"{op}: allowed for {_type_label(key_type)} keys whose Origin is AWS_KMS."
        elif actual:
            why = f"{op}: allowed; it takes {need}."
        else:
            why = (
                f"{op}: not allowed. {spec} with {usage} is of key type {_type_label(key_type)} "
                f"({key_type}); {op} takes {need}, so AWS answers {rule.refusal}."
            )
        (right if predicted == actual else wrong).append(why)
    return _verdict(
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
    return _verdict(
        wrong,
        len(expected | given),
        right,
        f"specs.for_usage({usage!r}) lists them; KeySpecInfo.usage_names shows a spec's usages.",
    )


_TYPE_ALIASES = {label.lower(): code for code, label in specs.KEY_TYPES.items()}


def check_key_type(metadata: Mapping[str, Any], answer: str | EllipsisType) -> CheckResult:
    """Check which key type (SYM, HMAC, A-ED, A-SV, A-KA, A-KEM) a key's metadata shows.

    ``metadata`` is DescribeKey's KeyMetadata (or the whole response); ``answer`` a type
    code or its long name ("Asymmetric SIGN_VERIFY").
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
        return CheckResult(True, (f"{reason}: an {_type_label(expected)} key ({expected}).",))
    if given not in specs.KEY_TYPES:
        detail = f"{answer!r} is not a key type. Key types: {', '.join(specs.KEY_TYPES)}."
    elif (given in ("SYM", "HMAC")) != info.symmetric:
        detail = (
            f"{spec} is {kind}: the symmetric specs are SYMMETRIC_DEFAULT and HMAC_*; every "
            "other spec has a public key."
        )
    else:
        detail = f"{reason}, so it is not {_type_label(given)}: look at KeyUsage."
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


# -- quizzes ----------------------------------------------------------------------------------

_LETTERS = "abcdefghij"


@dataclass(frozen=True)
class Question:
    """A multiple-choice question; every option has its own explanation.

    ``check`` takes an option's letter ("b") or its text; for ``multiple`` questions, an
    iterable of them.
    """

    key: str
    prompt: str
    options: tuple[str, ...]
    answer: frozenset[str]
    explain: Mapping[str, str] = field(default_factory=dict)
    multiple: bool = False

    def _resolve(self, choice: object) -> str | None:
        text = str(choice).strip()
        if len(text) == 1 and text.lower() in _LETTERS[: len(self.options)]:
            return self.options[_LETTERS.index(text.lower())]
        for option in self.options:
            if option.lower() == text.lower():
                return option
        return None

    def check(self, answer: object) -> CheckResult:
        if answer is None or answer is ...:
            return CheckResult(False, (), "Pick an option by letter or text.", "No answer yet.")
        raw = (
            list(answer)
            if self.multiple and isinstance(answer, Iterable) and not isinstance(answer, str)
            else [answer]
        )
        chosen: list[str] = []
        for choice in raw:
            option = self._resolve(choice)
            if option is None:
                letters = ", ".join(_LETTERS[: len(self.options)])
                return CheckResult(
                    False, (f"{choice!r} is not one of the options ({letters}).",), "", "Not yet."
                )
            chosen.append(option)
        if not self.multiple and len(chosen) != 1:
            return CheckResult(False, ("Choose exactly one option.",), summary="Not yet.")
        picked = set(chosen)
        if picked == self.answer:
            right = [f"{o}: {self.explain[o]}" for o in self.options if o in picked]
            return CheckResult(True, tuple(right))
        if not self.multiple:
            (only,) = picked
            return CheckResult(False, (f"{only}: {self.explain.get(only, 'not this one.')}",))
        wrong = [f"{o}: {self.explain[o]}" for o in self.options if o in picked - self.answer]
        missed = len(self.answer - picked)
        if missed:
            wrong.append(f"{missed} right option(s) not chosen yet.")
        return CheckResult(False, tuple(wrong), "More than one option may be right.")

    def text(self) -> str:
        lines = [self.prompt + (" (choose all that apply)" if self.multiple else "")]
        lines += [f"  {_LETTERS[i]}) {o}" for i, o in enumerate(self.options)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Quiz:
    """A lesson's questions; ``quiz[key]`` or ``quiz[1]`` picks one, ``check(**answers)``
    marks several at once."""

    lesson: str
    title: str
    questions: tuple[Question, ...]

    def __getitem__(self, key: str | int) -> Question:
        if isinstance(key, int):
            return self.questions[key - 1]
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(f"no question {key!r}; questions: {', '.join(self.keys())}")

    def keys(self) -> list[str]:
        return [q.key for q in self.questions]

    def check(self, **answers: object) -> CheckResult:
        """Mark the answers given (by question key); unanswered questions are listed."""
        wrong: list[str] = []
        for q in self.questions:
            result = q.check(answers.get(q.key))
            if not result.correct:
                reason = "; ".join(result.feedback) or result.summary
                wrong.append(f"{q.key}: {reason}")
        unknown = sorted(set(answers) - set(self.keys()))
        wrong += [f"{k}: no such question." for k in unknown]
        return _verdict(wrong, len(self.questions), [], "Check one question at a time: quiz[key].")

    def __repr__(self) -> str:
        blocks = [f"{i}. [{q.key}] {q.text()}" for i, q in enumerate(self.questions, 1)]
        return f"Quiz {self.lesson}: {self.title}\n\n" + "\n\n".join(blocks)

    def _repr_html_(self) -> str:
        items = []
        for q in self.questions:
            options = "".join(
                f"<li><code>{_LETTERS[i]}</code>) {html.escape(o)}</li>"
                for i, o in enumerate(q.options)
            )
            many = " <i>(choose all that apply)</i>" if q.multiple else ""
            items.append(
                f"<li><b>{html.escape(q.prompt)}</b>{many} <code>[{q.key}]</code>"
                f'<ul style="list-style:none">{options}</ul></li>'
            )
        title = f"Quiz {self.lesson}: {html.escape(self.title)}"
        return f"<div><b>{title}</b><ol>{''.join(items)}</ol></div>"


def _q(
    key: str,
    prompt: str,
    options: dict[str, str],
    answer: Iterable[str] | str,
    *,
    multiple: bool = False,
) -> Question:
    correct = frozenset([answer] if isinstance(answer, str) else answer)
    assert correct <= set(options), (key, correct)
    # A fixed shuffle, so the right answer is not always option a).
    names = list(options)
    turn = sum(map(ord, key)) % len(names)
    return Question(key, prompt, tuple(names[turn:] + names[:turn]), correct, options, multiple)


def _spec_usage_question(key: str, usage: str, candidates: Iterable[str]) -> Question:
    """Which of these specs allow ``usage``? Answers and reasons read from the catalogue."""
    options = {}
    for name in candidates:
        info = specs.get(name)
        verb = "allows" if info.usage(usage) else "does not allow"
        options[name] = f"{verb} {usage} (its usages: {', '.join(info.usage_names)})."
    answer = [n for n in options if specs.get(n).usage(usage) is not None]
    return _q(key, f"Which key specs can have KeyUsage {usage}?", options, answer, multiple=True)


def _operation_question(key: str, spec: str, usage: str, candidates: Iterable[str]) -> Question:
    options = {}
    for op in candidates:
        rule = rules.OPERATIONS[op]
        if rules.allowed(op, spec, usage):
            options[op] = f"allowed: it takes {_types_text(rule.key_types)}."
        else:
            options[op] = f"{rule.refusal}: it takes {_types_text(rule.key_types)}."
    answer = [op for op in options if rules.allowed(op, spec, usage)]
    kind = _type_label(specs.key_type(spec, usage))
    prompt = f"Which operations does a key with KeySpec {spec} ({kind}) allow?"
    return _q(key, prompt, options, answer, multiple=True)


def _security_question(key: str, spec: str, family: str) -> Question:
    bits = specs.get(spec).security_bits
    options = {
        s.name: f"{s.security_bits}-bit security strength."
        for s in specs.all_specs()
        if s.family == family
    }
    answer = [n for n in options if specs.get(n).security_bits == bits]
    prompt = f"{spec} gives {bits}-bit security. Which {family.upper()} key spec matches it?"
    return _q(key, prompt, options, answer)


def _refusal(op: str) -> str:
    return rules.OPERATIONS[op].refusal


def _alg(spec: str, name: str) -> specs.Algorithm:
    alg = specs.get(spec).algorithm(name)
    assert alg is not None
    return alg


def _lesson_00() -> Quiz:
    return Quiz(
        "00",
        "Start here",
        (
            _q(
                "aws",
                "Which of these give a client for real AWS KMS?",
                {
                    "kmslab.client()": "the local KMS, unless KMSLAB_TARGET says otherwise.",
                    'kmslab.client(target="aws")': "real AWS, with your usual credentials.",
                    'boto3.client("kms")': "plain boto3: real AWS, no kmslab involved.",
                    "kmslab.LocalKMS().client()": "always the in-process local KMS.",
                },
                ['kmslab.client(target="aws")', 'boto3.client("kms")'],
                multiple=True,
            ),
            _q(
                "wire",
                "What happens when the local client calls Encrypt?",
                {
                    "botocore builds a real AWS request and kmslab answers it in-process": (
                        "botocore serializes and validates as for AWS; a before-send hook "
                        "hands the request to the local KMS."
                    ),
                    "kmslab replaces boto3 with a look-alike object": (
                        "no: it is the real boto3 client class, only the transport differs."
                    ),
                    "the request goes to AWS but nothing is stored": (
                        "no: nothing leaves your machine, and no account is needed."
                    ),
                },
                "botocore builds a real AWS request and kmslab answers it in-process",
            ),
            _q(
                "error",
                "You call Encrypt with a signing key on the local KMS. What do you get?",
                {
                    "InvalidKeyUsageException": "right: the same error AWS KMS returns.",
                    "a Python TypeError": "no: bad input gets the AWS error, never a traceback.",
                    "an empty ciphertext": "no: KMS refuses instead of guessing.",
                },
                _refusal("Encrypt"),
            ),
        ),
    )


def _lesson_01() -> Quiz:
    hmac = specs.get("HMAC_256")
    return Quiz(
        "01",
        "Creating keys",
        (
            _spec_usage_question(
                "agreement",
                "KEY_AGREEMENT",
                [
                    "ECC_NIST_P256",
                    "ECC_NIST_P521",
                    "ECC_SECG_P256K1",
                    "ECC_NIST_EDWARDS25519",
                    "RSA_2048",
                ],
            ),
            _q(
                "hmac_default",
                "CreateKey(KeySpec='HMAC_256') without a KeyUsage gives...",
                {
                    "an HMAC key": "no: HMAC keys have no default usage; KeyUsage must be given.",
                    "ValidationException": (
                        "right: the default KeyUsage is ENCRYPT_DECRYPT, which HMAC_256 "
                        f"does not allow (it allows {', '.join(hmac.usage_names)})."
                    ),
                    "a symmetric encryption key": "no: KeySpec is kept; the usage does not fit it.",
                },
                "ValidationException" if hmac.default_usage is None else "an HMAC key",
            ),
            _q(
                "symmetric",
                "Which KeyMetadata field tells a symmetric key from an asymmetric one?",
                {
                    "KeySpec": "SYMMETRIC_DEFAULT and HMAC_* are symmetric; all others asymmetric.",
                    "KeyUsage": (
                        "no: ENCRYPT_DECRYPT is the usage of symmetric and RSA keys alike."
                    ),
                    "Origin": "no: Origin says where the material came from (AWS_KMS, EXTERNAL).",
                    "KeyState": "no: KeyState is Enabled, Disabled, PendingDeletion...",
                },
                "KeySpec",
            ),
        ),
    )


def _lesson_02() -> Quiz:
    # No key type is in both rows: the answer below is read from the table.
    both = rules.OPERATIONS["Encrypt"].key_types & rules.OPERATIONS["Sign"].key_types
    return Quiz(
        "02",
        "Comparing operations",
        (
            _operation_question(
                "hmac_ops",
                "HMAC_256",
                "GENERATE_VERIFY_MAC",
                ["Encrypt", "GenerateMac", "VerifyMac", "Sign", "GetPublicKey"],
            ),
            _q(
                "public_key",
                "GetPublicKey on a SYMMETRIC_DEFAULT key fails with...",
                {
                    "InvalidKeyUsageException": (
                        "no: that is for a usage that does not fit; a symmetric key has no "
                        "public key at all."
                    ),
                    "UnsupportedOperationException": "right: the key type cannot do it at all.",
                    "NotFoundException": "no: the key exists.",
                },
                _refusal("GetPublicKey"),
            ),
            _q(
                "encrypt_and_sign",
                "Which key type can both Encrypt and Sign?",
                {
                    "RSA_2048 with ENCRYPT_DECRYPT": "it encrypts but cannot Sign.",
                    "RSA_2048 with SIGN_VERIFY": "it signs but cannot Encrypt.",
                    "SYMMETRIC_DEFAULT": "it encrypts but cannot Sign.",
                    "none: a key has one KeyUsage": (
                        "right: RSA allows both usages, but each key gets one of them."
                    ),
                },
                "none: a key has one KeyUsage" if not both else sorted(both),
            ),
        ),
    )


def _lesson_03() -> Quiz:
    return Quiz(
        "03",
        "Timing",
        (
            _security_question("rsa_match", "ECC_NIST_P256", "rsa"),
            _q(
                "keygen",
                "Which key takes longest to create?",
                {
                    "RSA_4096": "right: RSA key generation searches for two 2048-bit primes.",
                    "ECC_NIST_P256": "no: an EC private key is a random number below the order.",
                    "SYMMETRIC_DEFAULT": "no: 32 random bytes.",
                    "ECC_NIST_EDWARDS25519": "no: 32 random bytes, hashed.",
                },
                "RSA_4096",
            ),
            _q(
                "round_trip",
                "On real AWS, what dominates the time of one Sign call?",
                {
                    "the network round trip": (
                        "right: milliseconds on the wire against microseconds of ECDSA."
                    ),
                    "the signature algorithm": (
                        "only for the slowest (RSA-4096 signing); mostly the network wins."
                    ),
                    "botocore's JSON parsing": "no: tens of microseconds.",
                },
                "the network round trip",
            ),
        ),
    )


def _lesson_04() -> Quiz:
    data_key_types = rules.OPERATIONS["GenerateDataKey"].key_types
    return Quiz(
        "04",
        "Envelope encryption",
        (
            _q(
                "calls",
                "How many KMS calls does sealing a 1 GB file with envelope encryption take?",
                {
                    "1": "right: one GenerateDataKey; the data is encrypted locally.",
                    "one per 4 KiB": "no: that would be Encrypt on every chunk, the slow way.",
                    "2": "no: GenerateDataKey already returns the encrypted copy of the key.",
                },
                "1",
            ),
            _q(
                "store",
                "Where does the encrypted data key go?",
                {
                    "beside the ciphertext": "right: it is useless without the KMS key.",
                    "in KMS": "no: KMS does not store data keys.",
                    "nowhere: throw it away": "no: without it the data cannot be decrypted.",
                },
                "beside the ciphertext",
            ),
            _q(
                "context",
                "Decrypt with a different encryption context gives...",
                {
                    "InvalidCiphertextException": "right: the context is authenticated data.",
                    "the plaintext": "no: the context must match exactly, case included.",
                    "IncorrectKeyException": "no: that is for a KeyId that names another key.",
                },
                "InvalidCiphertextException",
            ),
            _q(
                "data_key_specs",
                "Which keys can make data keys (GenerateDataKey)?",
                {
                    "SYMMETRIC_DEFAULT": "right: only symmetric encryption keys.",
                    "RSA_2048 (ENCRYPT_DECRYPT)": "no: InvalidKeyUsageException.",
                    "HMAC_256": "no: HMAC keys make MACs only.",
                },
                [
                    name
                    for name, t in (
                        ("SYMMETRIC_DEFAULT", "SYM"),
                        ("RSA_2048 (ENCRYPT_DECRYPT)", "A-ED"),
                        ("HMAC_256", "HMAC"),
                    )
                    if t in data_key_types
                ],
                multiple=True,
            ),
        ),
    )


def _lesson_05() -> Quiz:
    sha1 = _alg("RSA_2048", "RSAES_OAEP_SHA_1")
    sha256 = _alg("RSA_2048", "RSAES_OAEP_SHA_256")
    limits = {
        str(sha1.max_plaintext_bytes): "right: 256 - 2*20 - 2.",
        str(sha256.max_plaintext_bytes): "no: that is the limit with SHA-256 (2*32 + 2 bytes).",
        "256": "no: that is the modulus, the size of the ciphertext.",
        str(specs.MAX_MESSAGE_BYTES): "no: that is Encrypt's limit for symmetric keys.",
    }
    return Quiz(
        "05",
        "Public keys outside KMS",
        (
            _q(
                "who",
                "Who can verify a signature made by a KMS signing key?",
                {
                    "anyone with the public key": "right: GetPublicKey's DER is all they need.",
                    "only callers with kms:Verify": "no: Verify is a convenience, not a must.",
                    "only the key's account": "no: public keys can be shared freely.",
                },
                "anyone with the public key",
            ),
            _q(
                "decrypt_needs",
                "KMS decrypts RSA ciphertext made outside KMS. What must Decrypt be told?",
                {
                    "KeyId": "right: raw RSA-OAEP output does not say which key made it.",
                    "EncryptionAlgorithm": "right: OAEP with SHA-1 or SHA-256 is not in the bytes.",
                    "EncryptionContext": "no: encryption context is for symmetric keys only.",
                },
                ["KeyId", "EncryptionAlgorithm"],
                multiple=True,
            ),
            _q(
                "oaep_sha1",
                "At most how many bytes does RSA_2048 encrypt with RSAES_OAEP_SHA_1?",
                limits,
                str(sha1.max_plaintext_bytes),
            ),
        ),
    )


def _lesson_06() -> Quiz:
    ecdsa = _alg("ECC_NIST_P384", "ECDSA_SHA_384")
    ed_ph = _alg("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512")
    types = {
        "RAW": "no: RAW messages go with ED25519_SHA_512 (pure Ed25519).",
        "DIGEST": "right: a 64-byte SHA-512 digest, which Ed25519ph hashes once more.",
        "EXTERNAL_MU": "no: EXTERNAL_MU is for ML-DSA only.",
    }
    return Quiz(
        "06",
        "Signatures and MACs",
        (
            _q(
                "digest_len",
                "Sign with ECDSA_SHA_384 and MessageType DIGEST: how long must the message be?",
                {
                    str(ecdsa.digest_bytes): "right: a SHA-384 digest.",
                    "32": "no: that is a SHA-256 digest.",
                    "up to 4096": "no: that is the RAW limit.",
                },
                str(ecdsa.digest_bytes),
            ),
            _q(
                "bad_signature",
                "Verify with a wrong signature...",
                {
                    "raises KMSInvalidSignatureException": "right: it never returns false.",
                    "returns SignatureValid=False": "no: that is what some emulators do.",
                    "raises ValidationException": "no: the request is well formed.",
                },
                "raises KMSInvalidSignatureException",
            ),
            _q(
                "ed25519ph",
                "Which MessageType does ED25519_PH_SHA_512 accept?",
                types,
                list(ed_ph.message_types),
            ),
            _q(
                "deterministic",
                "Which signatures are the same every time for the same key and message?",
                {
                    "Ed25519": "right: EdDSA derives its nonce from the key and message.",
                    "RSASSA_PKCS1_V1_5": "right: no randomness in the padding.",
                    "RSASSA_PSS": "no: PSS uses a random salt.",
                    "ECDSA": "no: a fresh random nonce each time (and a DER length that varies).",
                },
                ["Ed25519", "RSASSA_PKCS1_V1_5"],
                multiple=True,
            ),
        ),
    )


def _lesson_07() -> Quiz:
    return Quiz(
        "07",
        "Shared secrets",
        (
            _spec_usage_question(
                "ecdh_specs",
                "KEY_AGREEMENT",
                ["ECC_NIST_P384", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_KEM_768"],
            ),
            _q(
                "raw",
                "What does DeriveSharedSecret return?",
                {
                    "the raw ECDH x-coordinate": "right: run a KDF (such as HKDF) on it yourself.",
                    "an AES key derived with HKDF": "no: KMS applies no KDF.",
                    "a ciphertext for the peer": "no: that is Encapsulate (ML-KEM).",
                },
                "the raw ECDH x-coordinate",
            ),
            _q(
                "implicit_rejection",
                "Decapsulate gets random bytes of the right length. What happens?",
                {
                    "a different 32-byte secret comes back": (
                        "right: implicit rejection; the mismatch shows when the secrets are used."
                    ),
                    "InvalidCiphertextException": "only when the length is wrong.",
                    "the same secret as Encapsulate gave": "no: that would break ML-KEM.",
                },
                "a different 32-byte secret comes back",
            ),
        ),
    )


def _lesson_08() -> Quiz:
    rotation = rules.OPERATIONS["EnableKeyRotation"]
    return Quiz(
        "08",
        "Key lifecycle",
        (
            _q(
                "cancel",
                "After CancelKeyDeletion the key is...",
                {
                    "Disabled": "right: enable it again when you are sure.",
                    "Enabled": "no: AWS brings it back disabled, as a precaution.",
                    "PendingDeletion": "no: the deletion is cancelled.",
                },
                "Disabled",
            ),
            _q(
                "window",
                "What is the shortest waiting period ScheduleKeyDeletion accepts?",
                {
                    "7 days": "right (the default is 30).",
                    "0 days": "no: never immediate.",
                    "30 days": "the default and the maximum.",
                },
                "7 days",
            ),
            _q(
                "old_ciphertext",
                "After a key rotates, ciphertext made before the rotation...",
                {
                    "still decrypts": "right: the blob names the material version that made it.",
                    "must be re-encrypted first": "no: KMS keeps every version of the material.",
                    "fails with InvalidCiphertextException": "no: rotation never breaks old data.",
                },
                "still decrypts",
            ),
            _q(
                "rotatable",
                "Which keys can rotate automatically?",
                {
                    "SYMMETRIC_DEFAULT created by KMS": "right: Origin AWS_KMS.",
                    "SYMMETRIC_DEFAULT with imported material": (
                        "no: with Origin EXTERNAL, rotate on demand after importing new material."
                    ),
                    "RSA_2048": f"no: {rotation.refusal}.",
                    "HMAC_256": f"no: {rotation.refusal}.",
                },
                "SYMMETRIC_DEFAULT created by KMS",
            ),
        ),
    )


_QUIZZES = {
    "00": _lesson_00,
    "01": _lesson_01,
    "02": _lesson_02,
    "03": _lesson_03,
    "04": _lesson_04,
    "05": _lesson_05,
    "06": _lesson_06,
    "07": _lesson_07,
    "08": _lesson_08,
}


def quiz(lesson: str | int) -> Quiz:
    """The self-check quiz of a lesson ("00".."08", or the number).

    >>> quiz(1)["hmac_default"].check("b")  # doctest: +NORMALIZE_WHITESPACE
    Correct!
    - ValidationException: right: the default KeyUsage is ENCRYPT_DECRYPT, which HMAC_256
      does not allow (it allows GENERATE_VERIFY_MAC).
    """
    name = f"{int(lesson):02d}" if not isinstance(lesson, str) else lesson.zfill(2)
    if name not in _QUIZZES:
        raise KeyError(f"no quiz for lesson {lesson!r}; lessons: {', '.join(_QUIZZES)}")
    return _QUIZZES[name]()
