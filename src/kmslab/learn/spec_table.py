"""The key-spec catalogue as text and JSON: a table, one spec in detail, or JSON records
(what ``kmslab specs`` prints, :mod:`kmslab.cli.specs`).

Everything printed comes from :mod:`kmslab.specs`; :func:`spec_to_dict` is the JSON form
of one row, also handy in a notebook (``pandas.DataFrame(map(spec_to_dict, ...))``).

>>> from kmslab import specs
>>> row = spec_to_dict(specs.get("HMAC_256"))
>>> row["name"], row["symmetric"], row["usages"][0]["algorithms"][0]["mac_bytes"]
('HMAC_256', True, 32)
>>> "curve" in row  # fields that do not apply are left out
False

From a shell::

    kmslab specs                          # the whole catalogue, one line per usage
    kmslab specs --usage KEY_AGREEMENT    # only the specs that allow a usage
    kmslab specs RSA_2048                 # one spec: every fact, every algorithm
    kmslab specs --json                   # all 20 rows as JSON
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from kmslab import specs

__all__ = ["render_detail", "render_table", "spec_to_dict", "summarise_algorithms"]


# -- JSON --------------------------------------------------------------------------------


def _plain(value: object) -> Any:
    """Dataclasses to dicts and tuples to lists, recursively, leaving out empty fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = _plain(getattr(value, f.name))
            if item is not None and item != []:
                out[f.name] = item
        return out
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def spec_to_dict(info: specs.KeySpecInfo) -> dict[str, Any]:
    """A catalogue row as JSON-ready data: every field of the dataclasses, recursively.

    Fields that do not apply (``None``, or an empty tuple such as a non-signing
    algorithm's ``message_types``) are left out.

    >>> from kmslab import specs
    >>> d = spec_to_dict(specs.get("ECC_NIST_P256"))
    >>> [u["name"] for u in d["usages"]], d["usages"][1]["algorithms"]
    (['SIGN_VERIFY', 'KEY_AGREEMENT'], [{'name': 'ECDH', 'kind': 'key_agreement', ...}])
    """
    data: dict[str, Any] = _plain(info)
    return data


# -- text --------------------------------------------------------------------------------

_TABLE_HEADER = (
    "KeySpec",
    "family",
    "type",
    "security bits",
    "public key bytes",
    "usage",
    "algorithms",
)
_RIGHT = {3, 4}  # numeric columns


def summarise_algorithms(names: Iterable[str]) -> str:
    """Algorithm names, with a shared prefix written once.

    >>> summarise_algorithms(["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "ECDH"])
    'RSASSA_PSS_SHA_{256,384}, ECDH'
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        prefix, _, last = name.rpartition("_")
        if prefix and last.isdigit():
            groups.setdefault(prefix + "_", []).append(last)
        else:
            groups.setdefault(name, [])
    parts = []
    for prefix, suffixes in groups.items():
        if len(suffixes) == 1:
            parts.append(prefix + suffixes[0])
        elif suffixes:
            parts.append(f"{prefix}{{{','.join(suffixes)}}}")
        else:
            parts.append(prefix)
    return ", ".join(parts)


def render_table(rows: Iterable[specs.KeySpecInfo]) -> str:
    """An aligned text table: one line per (key spec, usage).

    >>> from kmslab import specs
    >>> print(render_table([specs.get("ECC_NIST_P521")]))  # doctest: +NORMALIZE_WHITESPACE
    KeySpec        family  type        security bits  public key bytes  usage          algorithms
    ECC_NIST_P521  ec      asymmetric            256               158  SIGN_VERIFY    ECDSA_SHA_512
                                                                        KEY_AGREEMENT  ECDH
    """
    lines: list[tuple[str, ...]] = [_TABLE_HEADER]
    for info in rows:
        for i, usage in enumerate(info.usages):
            spec_columns = (
                info.name,
                info.family,
                "symmetric" if info.symmetric else "asymmetric",
                str(info.security_bits),
                "-" if info.public_key_der_bytes is None else str(info.public_key_der_bytes),
            )
            lines.append(
                (
                    *(spec_columns if i == 0 else ("",) * len(spec_columns)),
                    usage.name,
                    summarise_algorithms(usage.algorithm_names),
                )
            )
    widths = [max(len(line[c]) for line in lines) for c in range(len(_TABLE_HEADER))]
    out = []
    for line in lines:
        cells = [
            cell.rjust(width) if c in _RIGHT else cell.ljust(width)
            for c, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


#: What ``kmslab specs NAME`` calls each catalogue field: words a reader knows, with units.
#: A field missing here falls back to its name with spaces.
FIELD_LABELS: dict[str, str] = {
    "family": "family",
    "symmetric": "symmetric",
    "default_usage": "default KeyUsage",
    "security_bits": "security strength (bits)",
    "security_bits_china": "security strength in the China Regions (bits)",
    "standard": "standard",
    "key_bits": "key size (bits)",
    "curve": "curve",
    "public_key_der_bytes": "public key, DER SubjectPublicKeyInfo (bytes)",
    "key_bytes": "key size (bytes)",
    "data_key_pair": "offered as a data key pair",
    "regions": "AWS Regions",
    "region_note": "Region note",
    "in_customer_master_key_spec": "also in the deprecated CustomerMasterKeySpec",
    "notes": "notes",
    "hash": "hash",
    "message_types": "MessageType values",
    "digest_bytes": "digest length for DIGEST (bytes)",
    "signature_bytes": "signature size, at most (bytes)",
    "max_plaintext_bytes": "largest plaintext (bytes)",
    "ciphertext_bytes": "ciphertext size (bytes)",
    "shared_secret_bytes": "shared secret size (bytes)",
    "mac_bytes": "MAC size (bytes)",
    "padding": "padding",
}


def _label(field_name: str) -> str:
    return FIELD_LABELS.get(field_name, field_name.replace("_", " "))


def _value(value: object) -> str:
    if value is None or value == () or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _field_lines(pairs: Sequence[tuple[str, object]], indent: str) -> list[str]:
    width = max(len(_label(name)) for name, _ in pairs)
    lines = []
    for name, value in pairs:
        if name == "notes" and isinstance(value, tuple) and len(value) > 1:
            text = ("\n" + indent + " " * (width + 2)).join(str(v) for v in value)
        else:
            text = _value(value)
        lines.append(f"{indent}{_label(name).ljust(width)}  {text}")
    return lines


def render_detail(info: specs.KeySpecInfo) -> str:
    """Every fact about one key spec, then each usage and its algorithms with their facts.

    >>> from kmslab import specs
    >>> print(render_detail(specs.get("HMAC_224")))  # doctest: +ELLIPSIS
    HMAC_224: HMAC with SHA-224: a symmetric key that makes and checks MACs.
    <BLANKLINE>
    family                                         hmac
    ...
      HMAC_SHA_224
        standard          RFC 2104, FIPS 198-1
        hash              SHA224
        MAC size (bytes)  28
    """
    skip = {"name", "summary", "usages"}
    if info.family_china is None:  # shown only for the one spec it changes (SM4 in China)
        skip.add("family_china")
    pairs = [
        (f.name, getattr(info, f.name)) for f in dataclasses.fields(info) if f.name not in skip
    ]
    lines = [f"{info.name}: {info.summary}" if info.summary else info.name, ""]
    lines += _field_lines(pairs, "")
    for usage in info.usages:
        note = "the default usage" if usage.name == info.default_usage else "KeyUsage must be given"
        lines += ["", f"{usage.name} ({usage.kind.replace('_', ' ')} algorithms; {note})"]
        for algorithm in usage.algorithms:
            facts = [
                (f.name, getattr(algorithm, f.name))
                for f in dataclasses.fields(algorithm)
                if f.name not in {"name", "kind"} and getattr(algorithm, f.name) not in (None, ())
            ]
            lines.append(f"  {algorithm.name}")
            lines += _field_lines(facts, "    ")
    return "\n".join(lines)
