"""Which key spec should I use? Rank the (KeySpec, KeyUsage) pairs that fit a set of needs.

Say what one KMS key must do with :class:`Needs`; :func:`choose` returns a
:class:`ChoiceResult`: the pairs that fit every need, best first, each with its reason,
and notes with AWS's advice (or, when no single key fits, why not).

>>> from kmslab.learn.choose import Needs, choose
>>> result = choose(Needs(sign=True, verify_outside_aws=True, min_security_bits=192))
>>> [(r.key_spec, r.key_usage) for r in result][:3]
[('ECC_NIST_P384', 'SIGN_VERIFY'), ('ML_DSA_65', 'SIGN_VERIFY'), ('ECC_NIST_P521', 'SIGN_VERIFY')]
>>> result[0].create_key_args
{'KeySpec': 'ECC_NIST_P384', 'KeyUsage': 'SIGN_VERIFY'}
>>> clash = choose(Needs(aws_service_integration=True, sign=True))
>>> len(clash)
0
>>> print(clash.notes[0])  # doctest: +NORMALIZE_WHITESPACE
No single KMS key can serve AWS services integrated with KMS (they call GenerateDataKey and
Decrypt) and also sign and verify signatures: aws_service_integration needs a key of type
SYM, the other needs leave only keys of type A-SV, and a KMS key has one key usage. Use one
key for each need (run choose for each).

How a pair fits: each need is a row of :data:`REQUIREMENTS`, either operations the key must
allow (read from :mod:`kmslab.kms.rules`: "encrypt outside AWS" means Decrypt and
GetPublicKey, which only asymmetric ENCRYPT_DECRYPT keys allow) or a test on catalogue facts
(security bits, family, regions). A KMS key has exactly one key usage, so needs that call
for different usages (sign and encrypt, say) cannot share a key: the result is empty and
the notes say to use one key per need. Contradictions never raise; check ``len(result)``.

How fitting pairs are ranked (every criterion is a catalogue fact, no spec is named):

1. symmetric before asymmetric: AWS advises symmetric keys unless you need a public key
   outside AWS (they are faster, and services integrated with KMS use them);
2. in the China Regions, specs that exist only there (SM2, the national standard) first;
3. pairs that reach the target strength first: ``min_security_bits``, or 128 bits when
   no minimum is given (RSA_2048's 112 bits still fit, but rank after);
4. fewer bits over the target first: no stronger (bigger, slower) than needed;
5. smaller footprint first: public key plus the largest signature, ciphertext, MAC or
   shared secret the usage produces;
6. smaller keys first (faster), then catalogue order.

So HMAC_224 ranks before HMAC_256 when no minimum is given: it already gives 192-bit
strength with the shortest tag. Ask for ``min_security_bits=256`` to rank HMAC_256 first.

From a shell::

    kmslab choose --encrypt-outside-aws --min-security 128
    kmslab choose --sign --post-quantum --json
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kmslab import specs
from kmslab.kms.rules import OPERATIONS

__all__ = [
    "DEFAULT_TARGET_BITS",
    "QUANTUM_RESISTANT_FAMILIES",
    "REQUIREMENTS",
    "ChoiceResult",
    "Needs",
    "Recommendation",
    "Requirement",
    "choose",
]

#: The strength ranking aims for when no minimum is given: NIST SP 800-57's 128-bit level
#: (AES-128, P-256). 112-bit keys (RSA_2048) remain acceptable through 2030.
DEFAULT_TARGET_BITS = 128

#: Families a large quantum computer would not break. Shor's algorithm breaks RSA and every
#: elliptic curve (ec, edwards, sm2); AES-256 and HMAC keep at least 128-bit strength
#: against Grover's search; ML-DSA and ML-KEM are NIST's post-quantum standards (FIPS 204, 203).
QUANTUM_RESISTANT_FAMILIES = frozenset({"aes", "hmac", "ml-dsa", "ml-kem"})


def _need(help_text: str, flag: str | None = None) -> Any:
    return field(default=False, metadata={"help": help_text, "flag": flag})


@dataclass(frozen=True)
class Needs:
    """What one KMS key must do. All default to False (0 bits: no minimum)."""

    encrypt_in_aws: bool = _need("encrypt and decrypt by calling KMS")
    encrypt_outside_aws: bool = _need(
        "parties who cannot call KMS encrypt with a public key; KMS decrypts"
    )
    sign: bool = _need("sign messages")
    verify_outside_aws: bool = _need("parties outside AWS verify signatures with a public key")
    mac: bool = _need("make and verify MACs (HMAC)")
    shared_secret: bool = _need("derive a shared secret with a peer's public key (ECDH)")
    kem: bool = _need("key encapsulation: share a secret with a KEM (ML-KEM)")
    post_quantum: bool = _need("resist attacks by quantum computers")
    min_security_bits: int = field(
        default=0,
        metadata={"help": "minimum security strength in bits, e.g. 128", "flag": "--min-security"},
    )
    china_regions: bool = _need("use the key in the AWS China Regions")
    data_key_pair_offline: bool = _need(
        "get data key pairs (GenerateDataKeyPair) to use outside KMS"
    )
    aws_service_integration: bool = _need(
        "AWS services integrated with KMS (S3, EBS, ...) encrypt with the key"
    )

    def given(self) -> list[str]:
        """The names of the needs that are set."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]


@dataclass(frozen=True)
class Requirement:
    """What one need asks of a (KeySpec, KeyUsage) pair.

    ``operations``: the key must allow all of them (:func:`kmslab.kms.rules.allowed`).
    ``accepts``: a further test on the catalogue row. ``task``: what the need asks, as
    "the key can ..." ("sign and verify signatures"); ``advice``: AWS's advice, added to
    the notes when the need is set; ``refusal``: why nothing is left, given the pairs the
    earlier needs left.
    ``always``: applied whether or not the need is set (the region rule).
    """

    need: str
    task: str
    operations: tuple[str, ...] = ()
    accepts: Callable[[specs.KeySpecInfo, Needs], bool] | None = None
    advice: str = ""
    refusal: Callable[[Needs, list[tuple[str, str]]], str] | None = None
    always: bool = False

    def applies(self, needs: Needs) -> bool:
        return self.always or bool(getattr(needs, self.need))

    def admits(self, spec: str, usage: str, needs: Needs) -> bool:
        if not all(_allows(op, spec, usage) for op in self.operations):
            return False
        return self.accepts is None or self.accepts(specs.get(spec), needs)


def _allows(operation: str, spec: str, usage: str) -> bool:
    return specs.key_type(spec, usage) in OPERATIONS[operation].key_types


def _names(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(dict.fromkeys(spec for spec, _ in pairs))


def _too_weak(needs: Needs, left: list[tuple[str, str]]) -> str:
    strongest = max(specs.get(s).strength(needs.china_regions) for s, _ in left)
    return (
        f"None of the keys that fit the other needs ({_names(left)}) reaches "
        f"{needs.min_security_bits}-bit security; the strongest offers {strongest} bits."
    )


def _not_quantum_safe(needs: Needs, left: list[tuple[str, str]]) -> str:
    by_usage = {
        u: [s.name for s in specs.for_usage(u) if s.family in QUANTUM_RESISTANT_FAMILIES]
        for u in specs.KEY_USAGES
    }
    safe = [f"{u}: {', '.join(names)}" for u, names in by_usage.items() if names]
    missing = [u for u, names in by_usage.items() if not names]
    return (
        f"None of the keys that fit the other needs ({_names(left)}) resists quantum "
        f"computers. Quantum-resistant key specs by usage: {'; '.join(safe)}. "
        f"No {', '.join(missing)} key is: for a post-quantum shared secret use a KEM (kem)."
    )


def _region_refusal(needs: Needs, left: list[tuple[str, str]]) -> str:
    if needs.china_regions:
        return (
            f"The keys that fit the other needs ({_names(left)}) are not offered in the China "
            "Regions."
        )
    return (
        f"The keys that fit the other needs ({_names(left)}) exist only in the China Regions: "
        "set china_regions if that is where the key lives."
    )


def _region_ok(info: specs.KeySpecInfo, needs: Needs) -> bool:
    return info.regions != ("not-china" if needs.china_regions else "china-only")


#: One row per need, functional needs (operations) first, then filters on catalogue facts.
REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "encrypt_in_aws",
        "encrypt and decrypt by calling KMS",
        ("Encrypt", "Decrypt"),
        advice="AWS advises symmetric encryption keys unless a public key must be used "
        "outside AWS: they are faster and their key never leaves KMS unencrypted.",
    ),
    Requirement(
        "encrypt_outside_aws",
        "hand out a public key (GetPublicKey) anyone can encrypt with, and decrypt in KMS",
        ("Decrypt", "GetPublicKey"),
        advice="Parties who cannot call KMS encrypt with the public key of an asymmetric "
        "ENCRYPT_DECRYPT key; only KMS can decrypt.",
    ),
    Requirement("sign", "sign and verify signatures", ("Sign", "Verify")),
    Requirement(
        "verify_outside_aws",
        "hand out a public key (GetPublicKey) anyone can verify signatures with",
        ("Sign", "GetPublicKey"),
        advice="Signatures verify outside AWS with the public key from GetPublicKey: no KMS "
        "call or AWS credentials needed.",
    ),
    Requirement("mac", "make and verify HMAC tags", ("GenerateMac", "VerifyMac")),
    Requirement(
        "shared_secret",
        "derive a shared secret with a peer's public key (ECDH)",
        ("DeriveSharedSecret",),
    ),
    Requirement(
        "kem", "encapsulate and decapsulate shared secrets", ("Encapsulate", "Decapsulate")
    ),
    Requirement(
        "data_key_pair_offline",
        "generate data key pairs (GenerateDataKeyPair) to use outside KMS",
        ("GenerateDataKeyPair",),
        advice="Data key pairs come from GenerateDataKeyPair on a symmetric encryption key; "
        "the private key is returned encrypted under that key (and in plaintext unless you "
        "call the WithoutPlaintext variant).",
    ),
    Requirement(
        "aws_service_integration",
        "serve AWS services integrated with KMS (they call GenerateDataKey and Decrypt)",
        ("GenerateDataKey", "Decrypt"),
        advice="AWS services integrated with KMS (S3, EBS, RDS, ...) encrypt only with "
        "symmetric encryption keys.",
    ),
    Requirement(
        "post_quantum",
        "resist quantum computers",
        accepts=lambda info, needs: info.family in QUANTUM_RESISTANT_FAMILIES,
        advice="Post-quantum: ML-DSA signs and ML-KEM encapsulates (FIPS 204, 203); "
        "symmetric AES-256 and HMAC keys already resist quantum attacks. RSA and elliptic "
        "curves (including ECDH key agreement) do not.",
        refusal=_not_quantum_safe,
    ),
    Requirement(
        "china_regions",
        "be used in the China Regions",
        accepts=_region_ok,
        advice="In the China Regions SYMMETRIC_DEFAULT is SM4-128, and SM2 (the Chinese "
        "national standard) is offered; ML-KEM is not.",
        refusal=_region_refusal,
        always=True,
    ),
    Requirement(
        "min_security_bits",
        "meet your minimum strength",
        accepts=lambda info, needs: info.strength(needs.china_regions) >= needs.min_security_bits,
        refusal=_too_weak,
    ),
)

_DEFAULT_USE = "encrypt_in_aws"


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    """One (KeySpec, KeyUsage) pair that fits, with its rank, reason and score."""

    rank: int
    key_spec: str
    key_usage: str
    key_type: str
    security_bits: int
    reason: str
    #: The sort key (see the module docstring); smaller is better.
    score: tuple[int, ...]

    @property
    def create_key_args(self) -> dict[str, str]:
        """Keyword arguments for CreateKey: ``kms.create_key(**rec.create_key_args)``."""
        return {"KeySpec": self.key_spec, "KeyUsage": self.key_usage}

    def to_record(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "key_spec": self.key_spec,
            "key_usage": self.key_usage,
            "key_type": self.key_type,
            "security_bits": self.security_bits,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ChoiceResult:
    """The ranked recommendations (empty when no single key fits) and the notes.

    Behaves as a sequence of :class:`Recommendation`.
    """

    needs: Needs
    recommendations: tuple[Recommendation, ...]
    notes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.recommendations)

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.recommendations)

    def __getitem__(self, index: int) -> Recommendation:
        return self.recommendations[index]

    @property
    def best(self) -> Recommendation | None:
        return self.recommendations[0] if self.recommendations else None

    def to_json(self) -> dict[str, Any]:
        return {
            "needs": {name: getattr(self.needs, name) for name in self.needs.given()},
            "recommendations": [r.to_record() for r in self.recommendations],
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        """An aligned table (reasons on the line below each pair), then the notes."""
        lines = []
        if self.recommendations:
            header = ("#", "KeySpec", "KeyUsage", "type", "bits")
            rows = [
                (str(r.rank), r.key_spec, r.key_usage, r.key_type, str(r.security_bits))
                for r in self.recommendations
            ]
            widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
            lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
            ranked = self.recommendations
            for i, (row, rec) in enumerate(zip(rows, ranked, strict=True)):
                lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
                lines.append(" " * (widths[0] + 2) + rec.reason)
                if i + 1 < len(ranked):
                    why = rank_reason(rec, ranked[i + 1])
                    lines.append(" " * (widths[0] + 2) + f"before {ranked[i + 1].key_spec}: {why}.")
        else:
            lines.append("No single KMS key fits these needs.")
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(line.rstrip() for line in lines)

    def _repr_markdown_(self) -> str:
        lines = []
        if self.recommendations:
            lines += ["| # | KeySpec | KeyUsage | type | bits | why |", "|---|---|---|---|---|---|"]
            lines += [
                f"| {r.rank} | {r.key_spec} | {r.key_usage} | {r.key_type} | "
                f"{r.security_bits} | {r.reason} |"
                for r in self.recommendations
            ]
        else:
            lines.append("**No single KMS key fits these needs.**")
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = []
        if self.recommendations:
            rows = "".join(
                f"<tr><td>{r.rank}</td><td><b>{esc(r.key_spec)}</b></td>"
                f"<td>{esc(r.key_usage)}</td><td>{esc(r.key_type)}</td>"
                f"<td>{r.security_bits}</td><td style='text-align:left'>{esc(r.reason)}</td></tr>"
                for r in self.recommendations
            )
            parts.append(
                "<table><tr><th>#</th><th>KeySpec</th><th>KeyUsage</th><th>type</th>"
                f"<th>bits</th><th>why</th></tr>{rows}</table>"
            )
        else:
            parts.append("<p><b>No single KMS key fits these needs.</b></p>")
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>")
        return "".join(parts)


# -- choosing --------------------------------------------------------------------------------

#: Usage kind -> (Algorithm field with the size of what it produces, its plural name).
_OUTPUTS: dict[str, tuple[str, str]] = {
    "encryption": ("ciphertext_bytes", "ciphertexts"),
    "signing": ("signature_bytes", "signatures"),
    "mac": ("mac_bytes", "MACs"),
    "key_agreement": ("shared_secret_bytes", "shared secrets"),
    "encapsulation": ("ciphertext_bytes", "KEM ciphertexts"),
}


def _output_bytes(info: specs.KeySpecInfo, usage: str) -> int | None:
    row = info.usage(usage)
    assert row is not None
    attribute = _OUTPUTS[row.kind][0]
    sizes = [getattr(a, attribute) for a in row.algorithms if getattr(a, attribute) is not None]
    return max(sizes) if sizes else None


#: Why one pair ranks above the next, one entry per element of :func:`_score`'s tuple: the
#: first element on which two pairs differ names the criterion that put one first.
RANKING_CRITERIA: tuple[str, ...] = (
    "symmetric keys first (AWS's advice: asymmetric only when a public key is needed)",
    "in the China Regions, the specs that exist only there first",
    "reaches the target strength (your minimum, else 128 bits)",
    "closer to the target strength: no stronger, bigger or slower than needed",
    "smaller footprint: public key plus the largest signature, ciphertext, MAC or secret",
    "smaller key, so faster",
    "catalogue order (a tie on every criterion)",
)


def rank_reason(above: Recommendation, below: Recommendation) -> str:
    """Why ``above`` ranks before ``below``: the first criterion on which their scores differ.

    >>> ranked = choose(Needs(sign=True, verify_outside_aws=True)).recommendations
    >>> rank_reason(ranked[1], ranked[2])  # secp256k1 before P-256  # doctest: +ELLIPSIS
    'smaller footprint: ... (160 vs 163 bytes)'
    """
    units = {3: "bits over the target", 4: "bytes", 5: "key bits"}
    for i, (criterion, a, b) in enumerate(
        zip(RANKING_CRITERIA, above.score, below.score, strict=False)
    ):
        if a != b:
            return f"{criterion} ({a:,} vs {b:,} {units[i]})" if i in units else criterion
    return RANKING_CRITERIA[-1]


def _score(info: specs.KeySpecInfo, usage: str, needs: Needs, order: int) -> tuple[int, ...]:
    target = needs.min_security_bits or DEFAULT_TARGET_BITS
    bits = info.strength(needs.china_regions)
    return (
        0 if info.symmetric else 1,
        0 if needs.china_regions and info.regions == "china-only" else 1,
        0 if bits >= target else 1,
        abs(bits - target),
        (info.public_key_der_bytes or 0) + (_output_bytes(info, usage) or 0),
        info.key_bits,
        order,
    )


def _reason(info: specs.KeySpecInfo, usage: str, needs: Needs, tasks: list[str]) -> str:
    strength = info.strength(needs.china_regions)
    bits = f"{strength}-bit security"
    if needs.min_security_bits:
        bits += f" ({strength - needs.min_security_bits} over your minimum)"
    elif strength < DEFAULT_TARGET_BITS:
        bits += " (below 128 bits; NIST accepts 112 bits through 2030)"
    sizes = []
    if info.public_key_der_bytes:
        sizes.append(f"public key {info.public_key_der_bytes} bytes")
    output = _output_bytes(info, usage)
    row = info.usage(usage)
    assert row is not None
    if output:
        sizes.append(f"{_OUTPUTS[row.kind][1]} up to {output} bytes")
    parts = [
        info.summary,
        f"With KeyUsage {usage} it can {'; '.join(tasks)}.",
        "; ".join([bits, *sizes]) + ".",
    ]
    if needs.data_key_pair_offline:
        pairs = [
            name
            for name in specs.DATA_KEY_PAIR_SPECS
            if all(
                r.accepts is None or r.accepts(specs.get(name), needs)
                for r in REQUIREMENTS
                if r.applies(needs) and not r.operations
            )
        ]
        parts.append(f"KeyPairSpec choices that meet your needs: {', '.join(pairs) or 'none'}.")
    if needs.china_regions and info.region_note and info.regions != "china-only":
        parts.append(info.region_note)
    return " ".join(parts)


def _types(pairs: Sequence[tuple[str, str]]) -> str:
    types = {specs.key_type(s, u) for s, u in pairs}
    return " or ".join(t for t in specs.KEY_TYPES if t in types)


def _conflict(
    requirement: Requirement, earlier: list[Requirement], left: list[tuple[str, str]]
) -> str:
    """Why no key can do what ``requirement`` asks on top of the ``earlier`` needs."""
    wanted = [p for p in specs.valid_pairs() if requirement.admits(*p, Needs())]
    return (
        f"No single KMS key can {requirement.task} and also "
        f"{' and '.join(r.task for r in earlier)}: {requirement.need} needs a key of type "
        f"{_types(wanted)}, the other needs leave only keys of type {_types(left)}, and a KMS "
        "key has one key usage. Use one key for each need (run choose for each)."
    )


def choose(needs: Needs) -> ChoiceResult:
    """The (KeySpec, KeyUsage) pairs that fit ``needs``, best first, with notes.

    With no use given (only filters such as ``min_security_bits``), it assumes encryption
    inside AWS, the default KMS key's job, and says so. See the module docstring for how
    pairs are ranked.

    >>> [r.key_spec for r in choose(Needs(encrypt_outside_aws=True))]
    ['RSA_3072', 'RSA_4096', 'RSA_2048']
    >>> choose(Needs(kem=True, min_security_bits=192)).best.key_spec
    'ML_KEM_768'
    """
    notes: list[str] = []
    functional = [r for r in REQUIREMENTS if r.operations]
    if not any(r.applies(needs) for r in functional):
        needs = dataclasses.replace(needs, **{_DEFAULT_USE: True})
        notes.append("No use given: assuming encryption by calling KMS, the default KMS key's job.")
    left = list(specs.valid_pairs())
    applied: list[Requirement] = []
    tasks: list[str] = []
    for requirement in REQUIREMENTS:
        if not requirement.applies(needs):
            continue
        kept = [(s, u) for s, u in left if requirement.admits(s, u, needs)]
        if not kept:
            if requirement.operations:
                message = _conflict(requirement, [r for r in applied if r.operations], left)
            else:
                assert requirement.refusal is not None
                message = requirement.refusal(needs, left)
            return ChoiceResult(needs, (), (message, *notes))
        left = kept
        applied.append(requirement)
        if getattr(needs, requirement.need):  # not for the region rule outside China
            tasks.append(requirement.task)
            if requirement.advice:
                notes.append(requirement.advice)
    order = {pair: i for i, pair in enumerate(specs.valid_pairs())}
    scored = sorted(left, key=lambda p: _score(specs.get(p[0]), p[1], needs, order[p]))
    if any(specs.is_symmetric(s) for s, _ in scored) and not all(
        specs.is_symmetric(s) for s, _ in scored
    ):
        notes.append("Symmetric keys rank first: use asymmetric keys only when you need to.")
    recommendations = tuple(
        Recommendation(
            rank=i + 1,
            key_spec=spec,
            key_usage=usage,
            key_type=specs.key_type(spec, usage),
            security_bits=specs.get(spec).strength(needs.china_regions),
            reason=_reason(specs.get(spec), usage, needs, tasks),
            score=_score(specs.get(spec), usage, needs, order[(spec, usage)]),
        )
        for i, (spec, usage) in enumerate(scored)
    )
    return ChoiceResult(needs, recommendations, tuple(notes))
