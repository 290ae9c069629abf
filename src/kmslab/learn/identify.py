"""What kind of KMS key is this? Read DescribeKey's KeyMetadata and explain it.

:func:`identify` takes the ``KeyMetadata`` of a DescribeKey (or CreateKey) response, from
kmslab or from real AWS, and says what the key is (symmetric or asymmetric, which family,
which of AWS's six key types), what it can do (from :mod:`kmslab.kms.rules`), what its
state blocks, and which fields told us so.

>>> import kmslab
>>> from kmslab.learn.identify import identify
>>> kms = kmslab.LocalKMS()
>>> meta = kms.call("CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
>>> who = identify(meta)                     # the whole response, or meta["KeyMetadata"]
>>> who.key_type, who.symmetric, who.family
('A-KA', False, 'ec')
>>> who.operations[:2]
('DeriveSharedSecret', 'GetPublicKey')
>>> [e.field for e in who.evidence][:3]
['KeySpec', 'CustomerMasterKeySpec', 'KeyUsage']

It tolerates what real responses do: missing optional fields, fields it does not know,
metadata of old keys that carries only the deprecated ``CustomerMasterKeySpec`` (or no key
spec at all), and key specs newer than kmslab's catalogue; what it had to guess is listed
in ``notes``. In a notebook a :class:`KeyIdentity` renders itself; ``print(who.explain())``
gives the same in plain text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from kmslab import specs
from kmslab.kms.rules import OPERATIONS, STATE_RULES

__all__ = ["Evidence", "KeyIdentity", "identify"]


class Evidence(NamedTuple):
    """One metadata field, its value, and what it tells us about the key."""

    field: str
    value: Any
    meaning: str


@dataclass(frozen=True)
class KeyIdentity:
    """What :func:`identify` found out about a key. Fields are None when unknown."""

    key_id: str | None
    arn: str | None
    key_spec: str | None
    key_usage: str | None
    #: One of :data:`kmslab.specs.KEY_TYPES` (SYM, HMAC, A-ED, A-SV, A-KA, A-KEM).
    key_type: str | None
    symmetric: bool | None
    #: Catalogue family: aes, hmac, rsa, ec, edwards, ml-dsa, ml-kem, sm2.
    family: str | None
    #: Whether the key spec is a row of kmslab's catalogue.
    in_catalogue: bool
    key_state: str | None
    origin: str | None
    #: The algorithms the key accepts (from the metadata, else from the catalogue).
    algorithms: tuple[str, ...]
    #: Operations on a key that this key type (and origin) allows, data plane first.
    operations: tuple[str, ...]
    #: (operation, AWS error code) for allowed operations the key's state refuses now.
    blocked: tuple[tuple[str, str], ...]
    evidence: tuple[Evidence, ...]
    notes: tuple[str, ...]

    @property
    def kind(self) -> str:
        """ "asymmetric SIGN_VERIFY key", "HMAC key", ... or "KMS key of unknown type"."""
        if self.key_type is None:
            return "KMS key of unknown type"
        label = specs.KEY_TYPES[self.key_type]
        return f"{label[0].lower()}{label[1:]} key" if label != "HMAC" else "HMAC key"

    @property
    def usable_now(self) -> tuple[str, ...]:
        """The allowed operations its current state does not block."""
        blocked = {op for op, _ in self.blocked}
        return tuple(op for op in self.operations if op not in blocked)

    def summary(self) -> str:
        """One line: the key spec, the kind of key and the family.

        >>> identify({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}).summary()
        'HMAC_256: HMAC key (hmac family)'
        """
        spec = self.key_spec or "unknown key spec"
        family = f" ({self.family} family)" if self.family else ""
        return f"{spec}: {self.kind}{family}"

    def _sections(self) -> list[tuple[str, list[str]]]:
        data = [o for o in self.operations if OPERATIONS[o].plane == "data"]
        manage = [o for o in self.operations if OPERATIONS[o].plane != "data"]
        can = []
        if data:
            can.append("cryptographic: " + ", ".join(data))
        if manage:
            can.append("key management: " + ", ".join(manage))
        if not can:
            can.append("unknown: the key type could not be determined")
        state = []
        if self.key_state is not None:
            # Group by refusal: "DisabledException (the key is disabled.): Sign, Verify".
            by_refusal: dict[tuple[str, str], list[str]] = {}
            for op, code in self.blocked:
                rule = STATE_RULES[OPERATIONS[op].states].get(self.key_state)
                text = rule[1].format(arn="the key") if rule else ""
                by_refusal.setdefault((code, text), []).append(op)
            state = [
                f"{code} ({text}): {', '.join(ops)}" for (code, text), ops in by_refusal.items()
            ]
        evidence = [f"{e.field} = {_show(e.value)}: {e.meaning}" for e in self.evidence]
        return [
            ("What it can do", can),
            (f"Blocked in state {self.key_state}", state),
            ("How we know", evidence),
            ("Notes", list(self.notes)),
        ]

    def explain(self) -> str:
        """Plain text: what the key is, what it can do, what is blocked, and the evidence."""
        lines = [self.summary()]
        if self.arn or self.key_id:
            lines.append(str(self.arn or self.key_id))
        for title, items in self._sections():
            if items:
                lines += ["", f"{title}:"] + [f"  - {item}" for item in items]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self.summary()}**"]
        if self.arn or self.key_id:
            lines.append(f"`{self.arn or self.key_id}`")
        for title, items in self._sections():
            if title == "How we know" and self.evidence:
                lines += [
                    "",
                    f"*{title}*",
                    "",
                    "| field | value | what it means |",
                    "|---|---|---|",
                ]
                lines += [
                    f"| {e.field} | `{_show(e.value)}` | {e.meaning.replace('|', '/')} |"
                    for e in self.evidence
                ]
            elif items:
                lines += ["", f"*{title}*", ""] + [f"- {item}" for item in items]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div class='kmslab-identity'><p><b>{esc(self.summary())}</b>"]
        if self.arn or self.key_id:
            parts.append(f"<br><code>{esc(str(self.arn or self.key_id))}</code>")
        parts.append("</p>")
        for title, items in self._sections():
            if title == "How we know" and self.evidence:
                left = "style='text-align:left'"  # JupyterLab right-aligns cells by default
                rows = "".join(
                    f"<tr><td {left}>{esc(e.field)}</td>"
                    f"<td {left}><code>{esc(_show(e.value))}</code></td>"
                    f"<td {left}>{esc(e.meaning)}</td></tr>"
                    for e in self.evidence
                )
                parts.append(
                    f"<p><i>{esc(title)}</i></p><table><tr><th {left}>field</th>"
                    f"<th {left}>value</th><th {left}>what it means</th></tr>{rows}</table>"
                )
            elif items:
                lis = "".join(f"<li>{esc(i)}</li>" for i in items)
                parts.append(f"<p><i>{esc(title)}</i></p><ul>{lis}</ul>")
        parts.append("</div>")
        return "".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- what the fields mean ------------------------------------------------------------------

_USAGE_MEANING = {
    "ENCRYPT_DECRYPT": "the key encrypts and decrypts",
    "SIGN_VERIFY": "the key signs messages and verifies signatures",
    "GENERATE_VERIFY_MAC": "the key makes and checks HMAC tags",
    "KEY_AGREEMENT": "the key derives shared secrets with a peer's public key (ECDH)",
    "ENCAPSULATE_DECAPSULATE": "the key encapsulates and decapsulates shared secrets (a KEM)",
}

_STATE_MEANING = {
    "Enabled": "usable",
    "Disabled": "turned off by its owner (EnableKey turns it back on)",
    "PendingDeletion": "scheduled for deletion (CancelKeyDeletion can still save it)",
    "PendingImport": "an EXTERNAL key without key material (none imported yet, or it was "
    "deleted or expired)",
    "Creating": "being created (multi-Region replicas and custom key stores pass through this)",
    "Unavailable": "its custom key store is disconnected: nothing can use it until it reconnects",
    "Updating": "a multi-Region primary key is being changed",
    "PendingReplicaDeletion": "a multi-Region primary key waiting for its replicas to be deleted",
}

_ORIGIN_MEANING = {
    "AWS_KMS": "AWS KMS generated the key material",
    "EXTERNAL": "you import the key material (bring your own key)",
    "AWS_CLOUDHSM": "the key material lives in your AWS CloudHSM cluster (custom key store)",
    "EXTERNAL_KEY_STORE": "the key material lives in your external key manager (XKS)",
}

_KEY_MANAGER_MEANING = {
    "CUSTOMER": "a customer managed key: you control its policy, rotation and deletion",
    "AWS": "an AWS managed key (alias aws/<service>): a service made it for you; you can view "
    "and use it, not manage it",
}


def _mapping(table: Mapping[str, str], unknown: str) -> Callable[[Any], str]:
    return lambda value: table.get(str(value), unknown)


#: Metadata field -> what its value means. Fields not listed (or handled by identify's
#: steps: key spec, usage, algorithm lists) are left out of the evidence.
FIELD_MEANINGS: dict[str, Callable[[Any], str]] = {
    "KeyState": _mapping(_STATE_MEANING, "a key state kmslab does not know"),
    "Enabled": lambda v: (
        "cryptographic operations may use the key" if v else "cryptographic operations refuse it"
    ),
    "Origin": _mapping(_ORIGIN_MEANING, "an origin kmslab does not know"),
    "KeyManager": _mapping(_KEY_MANAGER_MEANING, "a key manager kmslab does not know"),
    "MultiRegion": lambda v: (
        "a multi-Region key: related keys in other Regions share its material and key id"
        if v
        else "a single-Region key"
    ),
    "DeletionDate": lambda v: "AWS deletes the key then, unless CancelKeyDeletion runs first",
    "PendingDeletionWindowInDays": lambda v: "the waiting period chosen at ScheduleKeyDeletion",
    "ValidTo": lambda v: "the imported key material expires then (the key becomes PendingImport)",
    "ExpirationModel": lambda v: "whether the imported key material expires",
    "CurrentKeyMaterialId": lambda v: (
        "the key material version Encrypt uses now (rotation adds versions: only "
        "symmetric encryption keys have this field)"
    ),
    "CustomKeyStoreId": lambda v: "the key lives in a custom key store",
}

#: The key types whose specs are symmetric (SYM and HMAC), from the catalogue.
_SYMMETRIC_TYPES = frozenset(
    specs.key_type(s, u) for s, u in specs.valid_pairs() if specs.is_symmetric(s)
)

#: KeyMetadata algorithm list -> the usage whose algorithms it lists.
_LIST_USAGE: dict[str, str] = {
    specs.ALGORITHM_KINDS[kind][1]: usage for usage, kind in specs.USAGE_KIND.items()
}


# -- reading the metadata ------------------------------------------------------------------


class _Reading:
    """What identify has found so far: evidence and notes, in the order found."""

    def __init__(self, meta: Mapping[str, Any]) -> None:
        self.meta = meta
        self.evidence: list[Evidence] = []
        self.notes: list[str] = []

    def saw(self, name: str, meaning: str) -> None:
        self.evidence.append(Evidence(name, self.meta[name], meaning))


def _spec(r: _Reading) -> str | None:
    """The key spec: KeySpec, else the deprecated CustomerMasterKeySpec, else a guess."""
    key_spec, legacy = r.meta.get("KeySpec"), r.meta.get("CustomerMasterKeySpec")
    spec = key_spec or legacy
    if key_spec is not None:
        r.saw("KeySpec", _spec_meaning(str(key_spec)))
    if legacy is not None:
        if key_spec is None:
            r.saw(
                "CustomerMasterKeySpec",
                "the deprecated name of KeySpec, and here the only one: this metadata comes "
                f"from an older SDK or API version. {_spec_meaning(str(legacy))}",
            )
        elif legacy == key_spec:
            r.saw("CustomerMasterKeySpec", "the deprecated twin of KeySpec (same value)")
        else:
            r.saw("CustomerMasterKeySpec", "the deprecated twin of KeySpec")
            r.notes.append(
                f"KeySpec {key_spec} and CustomerMasterKeySpec {legacy} differ; AWS always "
                "gives them the same value. Using KeySpec."
            )
    if spec is not None:
        return str(spec)
    lists = [name for name in _LIST_USAGE if r.meta.get(name)]
    encryption = _strings(r.meta.get("EncryptionAlgorithms"))
    if r.meta.get("KeyUsage") in (None, "ENCRYPT_DECRYPT") and (
        not lists or encryption == ("SYMMETRIC_DEFAULT",)
    ):
        r.notes.append(
            "No KeySpec or CustomerMasterKeySpec: assuming SYMMETRIC_DEFAULT. Before asymmetric "
            "KMS keys (2019) every KMS key was a symmetric encryption key and metadata named no "
            "key spec."
        )
        return "SYMMETRIC_DEFAULT"
    r.notes.append("No KeySpec or CustomerMasterKeySpec: the key spec is unknown.")
    return None


def _spec_meaning(name: str) -> str:
    if name in specs.KEY_SPECS:
        info = specs.get(name)
        kind = "symmetric" if info.symmetric else "asymmetric"
        return f"{kind}, {info.family} family: {info.summary}"
    return "a key spec kmslab's catalogue does not have (newer than this kmslab?)"


def _family_guess(spec: str) -> str | None:
    """The family of catalogue specs named like ``spec`` ("RSA_8192" -> "rsa"), if one."""
    prefix = spec.rpartition("_")[0]
    families = {s.family for s in specs.all_specs() if s.name.rpartition("_")[0] == prefix}
    return families.pop() if prefix and len(families) == 1 else None


def _usage(r: _Reading, spec: str | None) -> str | None:
    usage = r.meta.get("KeyUsage")
    if usage is not None:
        r.saw("KeyUsage", _USAGE_MEANING.get(str(usage), "a key usage kmslab does not know"))
        return str(usage)
    listed = [u for name, u in _LIST_USAGE.items() if r.meta.get(name)]
    if len(listed) == 1:
        r.notes.append(f"No KeyUsage: taking {listed[0]} from the algorithm list present.")
        return listed[0]
    if spec in specs.KEY_SPECS and specs.get(spec).default_usage is not None:
        default = specs.get(spec).default_usage
        r.notes.append(f"No KeyUsage: assuming {default}, the default for {spec}.")
        return default
    r.notes.append("No KeyUsage: the key usage is unknown.")
    return None


def _key_type(r: _Reading, spec: str | None, usage: str | None) -> str | None:
    """The key type column: from the catalogue when it knows the pair, else inferred."""
    if usage is None:
        return None
    if spec in specs.KEY_SPECS:
        info = specs.get(spec)
        if info.usage(usage) is not None:
            return specs.key_type(spec, usage)
        r.notes.append(
            f"KeyUsage {usage} is not valid for {spec} in kmslab's catalogue (it allows "
            f"{', '.join(info.usage_names)}); inferring the key type from the usage."
        )
    # Specs that list one of the key's algorithms under this usage say which type it is;
    # failing that, the usage alone decides when every spec with it has the same type.
    algorithms = set(_listed(r.meta, usage))
    candidates = specs.for_usage(usage)
    matching = [s for s in candidates if algorithms & set(specs.algorithm_names(s.name, usage))]
    types = {specs.key_type(s.name, usage) for s in (matching or candidates)}
    if len(types) == 1:
        return types.pop()
    r.notes.append(f"KeyUsage {usage} fits several key types; the metadata does not say which.")
    return None


def _listed(meta: Mapping[str, Any], usage: str) -> tuple[str, ...]:
    name = specs.ALGORITHM_KINDS[specs.USAGE_KIND[usage]][1] if usage in specs.USAGE_KIND else ""
    return _strings(meta.get(name))


def _strings(value: Any) -> tuple[str, ...]:
    """An algorithm list as strings; anything that is not a list reads as empty."""
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()


def _algorithms(r: _Reading, spec: str | None, usage: str | None) -> tuple[str, ...]:
    for name, list_usage in _LIST_USAGE.items():
        if r.meta.get(name):
            r.saw(name, f"the algorithms the key accepts, which only {list_usage} keys list")
    if usage not in specs.USAGE_KIND:
        return ()
    listed = _listed(r.meta, usage)
    known = specs.algorithm_names(spec, usage) if spec in specs.KEY_SPECS else ()
    if listed and known and set(listed) != set(known):
        extra = sorted(set(listed) - set(known))
        missing = sorted(set(known) - set(listed))
        details = "; ".join(
            part
            for part in (
                f"not in kmslab's catalogue: {', '.join(extra)}" if extra else "",
                f"missing from the metadata: {', '.join(missing)}" if missing else "",
            )
            if part
        )
        r.notes.append(f"The metadata's algorithms differ from the catalogue's ({details}).")
    return listed or known


def _operations(r: _Reading, key_type: str | None, origin: str | None) -> tuple[str, ...]:
    if key_type is None:
        return ()
    if origin is None:
        r.notes.append("No Origin: assuming AWS_KMS, the default.")
        origin = "AWS_KMS"
    return tuple(
        name
        for plane in ("data", "management")
        for name, rule in OPERATIONS.items()
        if rule.plane == plane
        and rule.needs_key
        and key_type in rule.key_types
        and (not rule.external_only or origin == "EXTERNAL")
        and (not rule.aws_kms_only or origin == "AWS_KMS")
        and (not rule.multi_region or r.meta.get("MultiRegion") is True)
    )


def _blocked(
    r: _Reading, state: str | None, operations: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    if state is None:
        if r.meta.get("Enabled") is False:
            r.notes.append("No KeyState, and Enabled is false: the key cannot be used now.")
        return ()
    if not any(state in rules for rules in STATE_RULES.values()) and state != "Enabled":
        r.notes.append(
            f"KeyState {state}: {_STATE_MEANING.get(state, 'unknown to kmslab')}. kmslab has "
            "no rules for this state, so what it blocks is not listed."
        )
        return ()
    out = []
    for op in operations:
        refusal = STATE_RULES[OPERATIONS[op].states].get(state)
        if refusal is not None:
            out.append((op, refusal[0]))
    return tuple(out)


def identify(metadata: Mapping[str, Any]) -> KeyIdentity:
    """Explain a key from its KeyMetadata (a DescribeKey or CreateKey response also works).

    >>> old = {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "KeyUsage": "SIGN_VERIFY",
    ...        "KeyState": "Disabled", "CustomerMasterKeySpec": "RSA_2048",
    ...        "SigningAlgorithms": ["RSASSA_PSS_SHA_256"], "SomeFutureField": 1}
    >>> who = identify(old)
    >>> who.key_spec, who.key_type, who.blocked[0]
    ('RSA_2048', 'A-SV', ('Sign', 'DisabledException'))
    >>> identify({"KeySpec": "ML_DSA_128", "KeyUsage": "SIGN_VERIFY"}).family
    'ml-dsa'
    """
    meta: Mapping[str, Any] = metadata
    inner = metadata.get("KeyMetadata")
    if isinstance(inner, Mapping):
        meta = inner
    r = _Reading(meta)
    spec = _spec(r)
    usage = _usage(r, spec)
    key_type = _key_type(r, spec, usage)
    algorithms = _algorithms(r, spec, usage)
    in_catalogue = spec in specs.KEY_SPECS
    if spec is not None and in_catalogue:
        family: str | None = specs.get(spec).family
    else:
        family = _family_guess(spec) if spec is not None else None
        if spec is not None:
            guess = f"; by its name it looks like the {family} family" if family else ""
            r.notes.append(
                f"KeySpec {spec} is not in kmslab's catalogue (newer than this kmslab?){guess}. "
                "What it can do is inferred from KeyUsage and the algorithm lists."
            )
    for name, meaning in FIELD_MEANINGS.items():
        if meta.get(name) is not None:
            r.saw(name, meaning(meta[name]))
    origin = meta.get("Origin")
    state = meta.get("KeyState")
    operations = _operations(r, key_type, None if origin is None else str(origin))
    blocked = _blocked(r, None if state is None else str(state), operations)
    if meta.get("KeyManager") == "AWS":
        r.notes.append(
            "An AWS managed key: services use it on your behalf; its policy, rotation and "
            "deletion are AWS's, so the key management operations listed are not yours to call."
        )
    return KeyIdentity(
        key_id=None if meta.get("KeyId") is None else str(meta["KeyId"]),
        arn=None if meta.get("Arn") is None else str(meta["Arn"]),
        key_spec=spec,
        key_usage=usage,
        key_type=key_type,
        symmetric=None if key_type is None else key_type in _SYMMETRIC_TYPES,
        family=family,
        in_catalogue=in_catalogue,
        key_state=None if state is None else str(state),
        origin=None if origin is None else str(origin),
        algorithms=algorithms,
        operations=operations,
        blocked=blocked,
        evidence=tuple(r.evidence),
        notes=tuple(r.notes),
    )
