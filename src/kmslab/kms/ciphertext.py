"""The ciphertext blob of a symmetric KMS key: a documented, versioned format.

AWS's blob is opaque; kmslab's is documented so learners can look inside. Version 1::

    offset  size  field
    0       1     version (0x01; 0x02 when the key is multi-Region)
    1       16    key id (the key's UUID, raw bytes; for a multi-Region key, the 32 hex
                  digits after "mrk-" as 16 bytes)
    17      32    key material id (raw bytes; hex of it is KeyMaterialId)
    49      12    AES-GCM nonce (random per encryption)
    61      n+16  AES-256-GCM ciphertext of the n-byte plaintext, then its 16-byte tag

The authenticated data is the header up to the nonce (49 bytes) followed by the canonical
encoding of the encryption context, so a changed header byte, key id or context fails
authentication.
A blob is therefore 77 bytes longer than its plaintext. Related multi-Region keys share
their key id and key material, so a blob made in one Region names the same key and material
in every Region that has a replica: it decrypts there as well.

>>> blob = Blob(key_id="0b4ef5a3-6a6b-4c5a-9d4a-2f1c5f8f1e11", material_id="ab" * 32,
...             nonce=bytes(12), sealed=bytes(20))
>>> parse(blob.to_bytes()).key_id
'0b4ef5a3-6a6b-4c5a-9d4a-2f1c5f8f1e11'
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

VERSION = 1
#: The version byte of a blob made by a multi-Region key (key id "mrk-" + 32 hex digits).
MULTI_REGION_VERSION = 2
_MRK = "mrk-"
HEADER_BYTES = 1 + 16 + 32 + 12
TAG_BYTES = 16
OVERHEAD = HEADER_BYTES + TAG_BYTES


class MalformedBlob(ValueError):
    """The bytes are not a kmslab ciphertext blob."""


@dataclass(frozen=True, slots=True)
class Blob:
    key_id: str
    material_id: str
    nonce: bytes
    sealed: bytes

    def header(self) -> bytes:
        return _prefix(self.key_id, self.material_id) + self.nonce

    def aad(self, context: Mapping[str, str] | None) -> bytes:
        """Authenticated data: the header up to the nonce (GCM binds the nonce itself),
        then the canonical encryption context."""
        return self.header()[: HEADER_BYTES - 12] + context_bytes(context)

    def to_bytes(self) -> bytes:
        return self.header() + self.sealed


@lru_cache(maxsize=1024)
def _prefix(key_id: str, material_id: str) -> bytes:
    """Version, key id and material id: the same for every blob of one key version."""
    if key_id.startswith(_MRK):
        head = bytes([MULTI_REGION_VERSION]) + bytes.fromhex(key_id[len(_MRK) :])
    else:
        head = bytes([VERSION]) + uuid.UUID(key_id).bytes
    return head + bytes.fromhex(material_id)


def parse(data: bytes) -> Blob:
    """Split a blob into its fields; raises MalformedBlob when it cannot be one."""
    if len(data) < OVERHEAD or data[0] not in (VERSION, MULTI_REGION_VERSION):
        raise MalformedBlob("not a kmslab ciphertext blob")
    raw_id = bytes(data[1:17])
    mrk = data[0] == MULTI_REGION_VERSION
    return Blob(
        key_id=_MRK + raw_id.hex() if mrk else str(uuid.UUID(bytes=raw_id)),
        material_id=bytes(data[17:49]).hex(),
        nonce=bytes(data[49:61]),
        sealed=bytes(data[61:]),
    )


def context_bytes(context: Mapping[str, str] | None) -> bytes:
    """Canonical encryption context: pairs sorted by key, each part length-prefixed UTF-8."""
    out = bytearray()
    for k in sorted(context or {}):
        for part in (k, (context or {})[k]):
            raw = part.encode("utf-8", "surrogatepass")
            out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)
