"""How a LocalKMS names keys and aliases, finds the key a request names, and checks it
against the operation's rules (key state, key type, origin, algorithm).

Each function here is a method of :class:`~kmslab.kms.service.LocalKMS`, assigned in its
class body (``resolve = checks.resolve``), so its first argument is that LocalKMS; they live
apart to keep service.py to the service's state and entry points.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> kms.resolve(key_id) is kms.keys[key_id], kms.resolve(key_id).arn == kms.key_arn(key_id)
(True, True)
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from kmslab import specs
from kmslab.crypto import family
from kmslab.exceptions import (
    IncorrectKeyException,
    InvalidKeyUsageException,
    KMSInternalException,
    NotFoundException,
    UnsupportedOperationException,
    error,
)
from kmslab.kms import managed
from kmslab.kms.rules import OPERATIONS, STATE_RULES, OperationRule

if TYPE_CHECKING:
    from kmslab.kms.keys import Key, Material
    from kmslab.kms.service import LocalKMS

__all__ = [
    "algorithm",
    "alias_arn",
    "check_state",
    "check_type",
    "key_arn",
    "key_for",
    "key_state",
    "require_implemented",
    "resolve",
    "secret",
]


# -- names ------------------------------------------------------------------------------


def key_arn(self: LocalKMS, key_id: str) -> str:
    return f"arn:{self.partition.name}:kms:{self.region}:{self.account}:key/{key_id}"


def alias_arn(self: LocalKMS, name: str) -> str:
    return f"arn:{self.partition.name}:kms:{self.region}:{self.account}:{name}"


def resolve(self: LocalKMS, key_id: str, *, aliases: bool = True, make: bool = True) -> Key:
    """Find a key by key id, key ARN, alias name or alias ARN (the last two if allowed).

    ``make``: a predefined ``alias/aws/<service>`` whose AWS managed key does not exist yet
    makes it (AWS creates it on first use); False only looks (NotFoundException).

    AWS's texts (recorded; ledger invalid-key-id): ``Invalid keyId '<id>'`` for a
    malformed id, ``Key '<key ARN>' does not exist`` for a well-formed one that does not
    exist, ``Alias <alias ARN> is not found.``, and ``Invalid arn <Region>`` for an ARN of
    another Region (AWS names the Region, not the ARN).
    """
    ref = key_id
    prefix = f"arn:{self.partition.name}:kms:{self.region}:{self.account}:"
    if ref.startswith("arn:"):
        if not ref.startswith(prefix):
            parts = ref.split(":")
            region = parts[3] if len(parts) > 3 else ""
            # Observed: "Invalid arn us-west-2" (LocalStack's recordings of real AWS,
            # test_get_key_in_different_region). For an ARN of another account or
            # partition AWS's text is unknown: inferred, the same form.
            raise NotFoundException(f"Invalid arn {region or key_id}")
        ref = ref[len(prefix) :]
        if ref.startswith("key/") and not ref.startswith("key/alias/"):
            ref = ref[4:]
        elif not ref.startswith("alias/"):
            raise NotFoundException(f"Invalid arn {key_id}")
    if ref.startswith("alias/"):
        if not aliases:
            # AWS text for an alias where none is accepted: unknown (inferred, as a
            # malformed key id, ledger invalid-key-id).
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        alias = self.aliases.get(ref)
        if alias is None:
            # A predefined alias/aws/<service> alias: AWS creates its key on first use.
            made = managed.create(self, ref) if make else None
            if made is not None:
                return made
            raise NotFoundException(f"Alias {self.alias_arn(ref)} is not found.")
        found = self.keys[alias["TargetKeyId"]]
        if self.store is not None:
            self._resolved.add(found.id)
        return found
    key = self.keys.get(ref)
    if key is None:
        if not _is_key_id(ref):
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        raise NotFoundException(f"Key '{self.key_arn(ref)}' does not exist")
    if self.store is not None:  # a state-changing call saves the keys it resolved
        self._resolved.add(key.id)
    return key


# -- rule checks ------------------------------------------------------------------------


def key_for(self: LocalKMS, operation: str, key_id: str, *, action: str | None = None) -> Key:
    """Resolve KeyId and apply the operation's rules: state, key type and origin.

    ``action`` is the name AWS's messages use when it is not the operation's
    (ReEncrypt's destination key is refused for ``ReEncryptTo``).
    """
    rule = OPERATIONS[operation]
    key = self.resolve(key_id, aliases=rule.aliases)
    self.check_state(rule, key)
    self.check_type(rule, key, action or operation)
    return key


def key_state(self: LocalKMS, key: Key) -> str:
    """The KeyState AWS reports: a key in a custom key store that is not connected is
    Unavailable (until it is connected again, or while it waits for deletion)."""
    if key.custom_key_store_id is not None and key.state != "PendingDeletion":
        store = self.key_stores.get(key.custom_key_store_id)
        if store is None or store.state != "CONNECTED":
            return "Unavailable"
    return key.state


def check_state(self: LocalKMS, rule: OperationRule, key: Key) -> None:
    refusal = STATE_RULES[rule.states].get(self.key_state(key))
    if refusal is not None:
        code, template = refusal
        raise error(code, template.format(arn=key.arn))


def check_type(self: LocalKMS, rule: OperationRule, key: Key, action: str | None = None) -> None:
    name = action or rule.name
    if specs.key_type(key.info.name, key.usage) not in rule.key_types:
        if rule.refusal == "IncorrectKeyException" and name != "ReEncryptTo":
            # Decrypt, ReEncrypt: a key that cannot decrypt. Recorded for a symmetric
            # ciphertext (ops/crypto.py); with an asymmetric algorithm, inferred the same.
            raise IncorrectKeyException(
                "The key ID in the request does not identify a CMK that can perform this operation."
            )
        if rule.refusal in ("InvalidKeyUsageException", "IncorrectKeyException"):
            if rule.implied_algorithm is not None and key.usage == "ENCRYPT_DECRYPT":
                # The right usage, but a spec that does not take the algorithm the operation
                # encrypts with. AWS text unknown: inferred, the observed Encrypt text (ledger
                # algorithm-incompatible).
                raise InvalidKeyUsageException(
                    f"Algorithm {rule.implied_algorithm} is incompatible with key spec "
                    f"{key.info.name}."
                )
            # Observed (ledger key-usage-invalid): Encrypt, Sign, Verify, GenerateMac,
            # DeriveSharedSecret, ReEncryptTo.
            raise InvalidKeyUsageException(
                f"{key.arn} key usage is {key.usage} which is not valid for {name}."
            )
        if rule.name in _NO_MESSAGE_REFUSALS:
            # Observed: no message member (ledger unsupported-no-message).
            raise UnsupportedOperationException()
        # AWS text unknown (GetPublicKey of a symmetric key, ListKeyRotations of an
        # asymmetric one): inferred, the form of the recorded origin text.
        raise UnsupportedOperationException(
            f"{key.arn} key spec is {key.info.name} which is not valid for {name}."
        )
    required_origin = "EXTERNAL" if rule.external_only else "AWS_KMS" if rule.aws_kms_only else None
    if required_origin is not None and key.origin != required_origin:
        # Observed (ledger origin-invalid).
        raise UnsupportedOperationException(
            f"{key.arn} origin is {key.origin} which is not valid for this operation."
        )


def algorithm(self: LocalKMS, key: Key, name: str) -> specs.Algorithm:
    """The algorithm row ``name`` for this key's usage, or InvalidKeyUsageException."""
    alg = key.info.algorithm(name, key.usage)
    if alg is None:
        raise InvalidKeyUsageException(
            f"Algorithm {name} is incompatible with key spec {key.info.name}."
        )
    return alg


def require_implemented(self: LocalKMS, info: specs.KeySpecInfo, subject: str) -> None:
    """Refuse, plainly, cryptography this machine cannot do (SM2 needs OpenSSL 3)."""
    module = family(info.family)
    if not getattr(module, "available", lambda: True)():
        # kmslab's own text: no AWS error fits a missing library on the local machine.
        raise UnsupportedOperationException(
            f"{subject} is {info.name}, and this machine's OpenSSL cannot do it."
        )


def secret(self: LocalKMS, key: Key, material: Material | None = None) -> Any:
    """The key object of the current (or given) material; refuses what kmslab cannot do."""
    self.require_implemented(key.info, key.arn)
    m = material or key.current
    if m is None:  # pragma: no cover - PendingImport is refused before this
        raise KMSInternalException(f"kmslab internal error: {key.arn} has no key material.")
    return m.secret


#: Refusals AWS sends with no message member (rotation of a key that cannot rotate).
_NO_MESSAGE_REFUSALS = frozenset({"EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"})


def _is_key_id(text: str) -> bool:
    """A well-formed key id: a UUID, or "mrk-" and 32 lowercase hex digits (multi-Region)."""
    if text.startswith("mrk-"):
        return _MRK_ID.fullmatch(text) is not None
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


_MRK_ID = re.compile(r"mrk-[0-9a-f]{32}")
