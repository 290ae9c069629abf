"""Keys, aliases and grants as JSON documents, read generically from their dataclass fields.

>>> from kmslab.kms.store.codec import Codec
>>> codec = Codec(sealer=None)
>>> codec.loads(codec.dumps("key-id", {"when": b"\\x00\\x01", "n": (1, 2)}), "key-id")
{'when': b'\\x00\\x01', 'n': (1, 2)}

A dataclass instance becomes ``{"$obj": "Class", "f": {field: value}}`` (``Class`` its
stable name in :data:`STORED_CLASSES`, whatever module holds it) with every
field that ``__init__`` takes except those starting with ``_`` (caches rebuilt on use), so a
field added to :class:`~kmslab.kms.keys.Key` (or to any dataclass it holds) is saved and
loaded with no change here; a field the class no longer has is dropped on load, and one the
document lacks takes the class's default. Only the classes of :data:`STORED_CLASSES` are
ever rebuilt from a document; a new class that a document may hold needs an entry there
(writing one without it is refused).

Secrets are sealed, never written in the clear: a field declared with ``repr=False`` (the
convention for what must not be shown) whose value is bytes or a key object is sealed with
:class:`~kmslab.kms.store.sealing.RootKey`, the associated data naming the document (the key
id), the owner (its ``id``, for key material the version; otherwise its path in the
document) and the field. Key objects are saved as PKCS #8 DER (``private_der`` of their
family in :mod:`kmslab.crypto`) and loaded back with ``load(..., trusted=True)``, the family
named by the nearest enclosing :class:`~kmslab.specs.KeySpecInfo` field.

A field declared with ``metadata={SEALED: True}`` (:data:`kmslab.kms.keys.SEALED`) is
sealed whole, whatever it holds (a custom key store's password, a CloudHSM cluster's table
of key material): its JSON text is sealed, with the same associated data, and an unchanged
value reuses its seal.

Other values: bytes, datetimes, timedeltas, tuples, sets, enums, key specs and dicts whose
keys are not plain strings are tagged objects (``{"$b": ...}``, ``{"$t": ...}``, ...).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import enum
import functools
import importlib
import json
import logging
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kmslab import specs
from kmslab.crypto import family
from kmslab.exceptions import StoreError
from kmslab.kms.keys import SEALED
from kmslab.kms.store.sealing import RootKey

__all__ = ["STORED_CLASSES", "Codec", "Shape", "StoredRef", "stored"]

log = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool, type(None))
_CONTAINERS = (str, list, tuple, dict, set, frozenset, type(None), bool, int, float)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclasses.dataclass(frozen=True)
class StoredRef:
    """Where a document pointed to another document (a key of another Region): what a
    restore hook replaces with the object itself once every document is loaded."""

    cls: str
    id: str
    region: str | None


#: What a document must hold to be loaded: (its description, a test of the loaded value).
Shape = tuple[str, Callable[[Any], bool]]


def stored(name: str, *, many: bool = False) -> Shape:
    """The :data:`Shape` of an instance (``many``: a list) of the stored class ``name``."""
    if many:
        return (
            f"a list of {name}",
            lambda v: isinstance(v, list) and all(isinstance(x, _class(name)) for x in v),
        )
    return f"a {name}", lambda v: isinstance(v, _class(name))


class Codec:
    """Turns documents into JSON text and back, sealing secrets with ``sealer``.

    ``sealer`` None refuses to write a secret (a document without secrets needs none).
    """

    def __init__(
        self, sealer: RootKey | None, *, refs: tuple[type, ...] = (), name: str = "The store"
    ) -> None:
        self.sealer = sealer
        #: How errors name the store ("The store PATH").
        self.name = name
        #: Classes saved as documents of their own: met inside another document (a
        #: multi-Region key's related keys), they are written as a :class:`StoredRef`.
        self.refs = refs
        # owner object -> field -> (value it sealed, associated data, sealed form): the same
        # material is sealed once, not at every save of its key (a TagResource, say).
        self._sealed: weakref.WeakKeyDictionary[Any, dict[str, tuple[Any, bytes, Any]]] = (
            weakref.WeakKeyDictionary()
        )
        # owner object -> field sealed whole -> the value it had (see _snapshot), or None.
        self._snapshots: weakref.WeakKeyDictionary[Any, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    # -- writing -------------------------------------------------------------------------

    def dumps(self, doc_id: str, value: Any) -> str:
        """The JSON text of ``value``; ``doc_id`` (a key id) goes into every seal's AAD."""
        return json.dumps(self._encode(value, doc_id, "", None, None), separators=(",", ":"))

    def _encode(
        self, value: Any, doc: str, path: str, owner: str | None, spec: specs.KeySpecInfo | None
    ) -> Any:
        if isinstance(value, _PLAIN):
            if isinstance(value, float) and value != value:  # NaN is not JSON
                raise StoreError(f"The store cannot save NaN at {path or '/'}.")
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {"$b": _b64(bytes(value))}
        if isinstance(value, datetime):
            return {"$t": value.isoformat()}
        if isinstance(value, timedelta):
            return {"$td": value.total_seconds()}
        if isinstance(value, specs.KeySpecInfo):
            return {"$spec": value.name}
        if isinstance(value, enum.Enum):
            return {
                "$enum": _class_name(type(value)),
                "v": self._encode(value.value, doc, path, owner, spec),
            }
        if isinstance(value, list):
            return [self._encode(v, doc, f"{path}/{i}", owner, spec) for i, v in enumerate(value)]
        if isinstance(value, tuple):
            items = [self._encode(v, doc, f"{path}/{i}", owner, spec) for i, v in enumerate(value)]
            return {"$tuple": items}
        if isinstance(value, (set, frozenset)):
            return {"$set": [self._encode(v, doc, path, owner, spec) for v in value]}
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {
                    k: self._encode(v, doc, f"{path}/{k}", owner, spec) for k, v in value.items()
                }
            pairs = []
            for k, v in value.items():
                label = _b64(k) if isinstance(k, bytes) else str(k)
                pairs.append(
                    [
                        self._encode(k, doc, path, owner, spec),
                        self._encode(v, doc, f"{path}/{label}", owner, spec),
                    ]
                )
            return {"$map": pairs}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if path and isinstance(value, self.refs):
                return {
                    "$ref": _class_name(type(value)),
                    "id": value.id,  # type: ignore[attr-defined]
                    "region": getattr(value, "region", None),
                }
            return self._encode_object(value, doc, path, spec)
        raise StoreError(f"The store cannot save a {type(value).__name__} (at {path or '/'}).")

    def _encode_object(self, obj: Any, doc: str, path: str, spec: specs.KeySpecInfo | None) -> Any:
        cls: type = type(obj)
        class_name, fields = _saved_fields(cls)
        values = [(name, shown, getattr(obj, name)) for name, shown, _ in fields]
        whole = {name for name, _, sealed in fields if sealed}
        for _, _, value in values:  # the key spec that says how this object's secrets are saved
            if isinstance(value, specs.KeySpecInfo):
                spec = value
                break
        own_id = getattr(obj, "id", None)
        owner = own_id if isinstance(own_id, str) else path or "/"
        out: dict[str, Any] = {}
        for name, shown, value in values:
            if name in whole and value is not None:
                out[name] = self._seal_whole(obj, name, value, doc, owner, path, spec)
            elif not shown and _is_secret(value):
                out[name] = self._seal(obj, name, value, doc, owner, spec)
            else:
                out[name] = self._encode(value, doc, f"{path}/{name}", owner, spec)
        return {"$obj": class_name, "f": out}

    def _seal(
        self, obj: Any, name: str, value: Any, doc: str, owner: str, spec: specs.KeySpecInfo | None
    ) -> Any:
        aad = _aad(doc, owner, name)
        try:
            cached = self._sealed.get(obj, {}).get(name)
        except TypeError:  # not weak-referenceable: seal every time
            cached = None
        if cached is not None and cached[0] is value and cached[1] == aad:
            return cached[2]
        if self.sealer is None:
            raise StoreError(f"The store has no root key to seal {name} of {doc}.")
        if isinstance(value, (bytes, bytearray)):
            kind, raw, spec_name = "bytes", bytes(value), None
        else:
            if spec is None:
                raise StoreError(f"The store cannot tell which key spec {name} of {doc} has.")
            kind, raw, spec_name = "der", family(spec.family).private_der(value), spec.name
        sealed = {"$sealed": _b64(self.sealer.seal(aad, raw)), "as": kind, "spec": spec_name}
        with contextlib.suppress(TypeError):
            self._sealed.setdefault(obj, {})[name] = (value, aad, sealed)
        return sealed

    def _seal_whole(
        self,
        obj: Any,
        name: str,
        value: Any,
        doc: str,
        owner: str,
        path: str,
        spec: specs.KeySpecInfo | None,
    ) -> Any:
        """A :data:`SEALED` field: its JSON text sealed; the seal reused while it is equal.

        A string, or a dict of strings to bytes or strings (a cluster's key material), is
        compared as it is, without encoding it: equal to what was sealed, the seal is
        reused at the cost of a comparison (every state-changing call compares them).
        """
        aad = _aad(doc, owner, name)
        snapshot = _snapshot(value)
        try:
            cached = self._sealed.get(obj, {}).get(name)
            seen = self._snapshots.get(obj, {}).get(name)
        except TypeError:  # not weak-referenceable: seal every time
            cached = seen = None
        if (
            snapshot is not None
            and cached is not None
            and seen is not None
            and cached[1] == aad
            and seen == snapshot
        ):
            return cached[2]
        text = json.dumps(
            self._encode(value, doc, f"{path}/{name}", owner, spec), separators=(",", ":")
        )
        if cached is None or cached[0] != text or cached[1] != aad:
            if self.sealer is None:
                raise StoreError(f"The store has no root key to seal {name} of {doc}.")
            sealed = {"$sealed": _b64(self.sealer.seal(aad, text.encode())), "as": "json"}
            cached = (text, aad, sealed)
        with contextlib.suppress(TypeError):
            self._sealed.setdefault(obj, {})[name] = cached
            self._snapshots.setdefault(obj, {})[name] = snapshot
        return cached[2]

    # -- reading -------------------------------------------------------------------------

    def loads(self, text: str, doc_id: str, shape: Shape | None = None, *, table: str = "") -> Any:
        """The value :meth:`dumps` wrote; :class:`StoreError` if it cannot be rebuilt or
        (with ``shape``) is not what the record must hold. ``table``: named in errors."""
        where = f"{doc_id} (table {table})" if table else doc_id
        try:
            value = self._decode(json.loads(text), doc_id, "")
        except StoreError:
            raise
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            IndexError,
            OverflowError,
            RecursionError,  # nested too deep, in json.loads or in _decode
        ) as exc:
            raise StoreError(
                f"{self.name}: its record {where} is damaged ({type(exc).__name__}); it cannot "
                "be loaded."
            ) from None
        if shape is not None and not shape[1](value):
            raise StoreError(
                f"{self.name}: its record {where} is damaged (it holds a "
                f"{type(value).__name__}, not {shape[0]}); it cannot be loaded."
            )
        return value

    def _decode(self, value: Any, doc: str, path: str) -> Any:
        if isinstance(value, list):
            return [self._decode(v, doc, f"{path}/{i}") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if "$obj" in value:
            return self._decode_object(value, doc, path)
        if "$ref" in value:
            return StoredRef(str(value["$ref"]), str(value["id"]), value.get("region"))
        if "$b" in value:
            return base64.b64decode(value["$b"])
        if "$t" in value:
            return datetime.fromisoformat(value["$t"])
        if "$td" in value:
            return timedelta(seconds=value["$td"])
        if "$spec" in value:
            return specs.get(value["$spec"])
        if "$tuple" in value:
            return tuple(self._decode(v, doc, f"{path}/{i}") for i, v in enumerate(value["$tuple"]))
        if "$set" in value:
            return {self._decode(v, doc, path) for v in value["$set"]}
        if "$enum" in value:
            return _class(value["$enum"])(self._decode(value["v"], doc, path))
        if "$map" in value:
            out = {}
            for k, v in value["$map"]:
                key = self._decode(k, doc, path)
                label = _b64(key) if isinstance(key, bytes) else str(key)
                out[key] = self._decode(v, doc, f"{path}/{label}")
            return out
        return {k: self._decode(v, doc, f"{path}/{k}") for k, v in value.items()}

    def _decode_object(self, value: dict[str, Any], doc: str, path: str) -> Any:
        cls = _class(value["$obj"])
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        stored: dict[str, Any] = value["f"]
        own_id = stored.get("id")
        owner = own_id if isinstance(own_id, str) else path or "/"
        kwargs: dict[str, Any] = {}
        texts: dict[str, str] = {}  # the JSON text of each field sealed whole
        for name, raw in stored.items():
            if name not in fields:
                log.warning("store: %s no longer has a field %s; dropped", cls.__name__, name)
                continue
            if isinstance(raw, dict) and raw.get("as") == "json" and "$sealed" in raw:
                texts[name] = self._open_text(raw, doc, owner, name)
                kwargs[name] = self._decode(json.loads(texts[name]), doc, f"{path}/{name}")
            elif isinstance(raw, dict) and "$sealed" in raw:
                kwargs[name] = self._open(raw, doc, owner, name)
            else:
                kwargs[name] = self._decode(raw, doc, f"{path}/{name}")
        try:
            obj = cls(**kwargs)
        except TypeError as exc:
            raise StoreError(
                f"{self.name} holds a {cls.__name__} in {doc} that this kmslab cannot "
                f"rebuild ({exc}); a schema migration is missing."
            ) from None
        for name, raw in stored.items():  # remember the seals, so an unchanged save reuses them
            if isinstance(raw, dict) and "$sealed" in raw and name in kwargs:
                with contextlib.suppress(TypeError):
                    self._sealed.setdefault(obj, {})[name] = (
                        texts.get(name, kwargs[name]),
                        _aad(doc, owner, name),
                        raw,
                    )
        return obj

    def _open_text(self, sealed: dict[str, Any], doc: str, owner: str, name: str) -> str:
        if self.sealer is None:
            raise StoreError(f"The store has no root key to open {name} of {doc}.")
        raw = self.sealer.open(_aad(doc, owner, name), base64.b64decode(sealed["$sealed"]))
        return raw.decode("utf-8")

    def _open(self, sealed: dict[str, Any], doc: str, owner: str, name: str) -> Any:
        if self.sealer is None:
            raise StoreError(f"The store has no root key to open {name} of {doc}.")
        raw = self.sealer.open(_aad(doc, owner, name), base64.b64decode(sealed["$sealed"]))
        if sealed.get("as") == "bytes":
            return raw
        info = specs.get(sealed["spec"])
        return family(info.family).load(info, raw, trusted=True)


def _snapshot(value: Any) -> Any:
    """An immutable copy of a string or a dict of strings to bytes or strings, to compare
    with later (equal: unchanged); None for anything else (encoded to compare)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and all(
        type(k) is str and type(v) in (bytes, str) for k, v in value.items()
    ):
        return tuple(value.items())
    return None


def _is_secret(value: Any) -> bool:
    """Bytes or a key object: anything but plain values, containers and KMS-layer records."""
    if isinstance(value, (bytes, bytearray)):
        return True
    if isinstance(value, (*_CONTAINERS, datetime, timedelta, enum.Enum, specs.KeySpecInfo)):
        return False
    # A dataclass of the KMS layer (Material, Grant, ...) is a record to walk, not a secret.
    return not (dataclasses.is_dataclass(value) and type(value).__module__.startswith("kmslab.kms"))


def _aad(doc: str, owner: str, name: str) -> bytes:
    """A seal's associated data: the key id, the owner (a material's id: its version), the field."""
    return f"{doc}\0{owner}\0{name}".encode()


@functools.cache
def _saved_fields(cls: type) -> tuple[str, tuple[tuple[str, bool, bool], ...]]:
    """A dataclass's name and its saved fields as (name, shown in repr, sealed whole),
    computed once."""
    fields = tuple(
        (f.name, f.repr, bool(f.metadata.get(SEALED)))
        for f in dataclasses.fields(cls)
        if f.init and not f.name.startswith("_")
    )
    return _class_name(cls), fields


#: Every class the store writes, by the stable name its documents carry (``"$obj"``,
#: ``"$enum"``, ``"$ref"``), -> where the class lives now (``"module:qualname"``). The
#: name never changes: a class that moves or is renamed gets a new location here, and
#: stores written before still open. Only these modules are ever imported to read a
#: document. A document written before these names existed names a class by its
#: ``"module:qualname"`` then; it is read by its qualname, which is its stable name here
#: (``"kmslab.kms.ops.lifecycle:WrappingParams"`` -> ``"WrappingParams"``).
STORED_CLASSES: dict[str, str] = {
    "Key": "kmslab.kms.keys:Key",
    "Material": "kmslab.kms.keys:Material",
    "MultiRegionSet": "kmslab.kms.keys:MultiRegionSet",
    "Grant": "kmslab.kms.ops.grants:Grant",
    "WrappingParams": "kmslab.kms.ops.imports:WrappingParams",
    "CustomKeyStore": "kmslab.kms.keystores:CustomKeyStore",
    "Cluster": "kmslab.kms.keystores.cloudhsm:Cluster",
    "Hsm": "kmslab.kms.keystores.cloudhsm:Hsm",
}


@functools.cache
def _class_name(cls: type) -> str:
    """The stable name of ``cls`` in :data:`STORED_CLASSES`; StoreError if it has none."""
    where = f"{cls.__module__}:{cls.__qualname__}"
    for name, location in STORED_CLASSES.items():
        if location == where:
            return name
    raise StoreError(
        f"The store has no stable name for the class {where}; add it to STORED_CLASSES in "
        f"{__name__}."
    )


def _class(name: str) -> Any:
    """The class a document names: a stable name of :data:`STORED_CLASSES`, or the legacy
    ``"module:qualname"`` of one of them. Nothing else is ever imported."""
    if not isinstance(name, str):
        raise StoreError(f"The store names a class by a {type(name).__name__}; refused.")
    module, colon, qualname = name.partition(":")
    if colon and not (module == "kmslab" or module.startswith("kmslab.")):
        raise StoreError(f"The store names a class outside kmslab ({name}); refused.")
    location = STORED_CLASSES.get(qualname if colon else name)
    if location is None:
        raise StoreError(f"The store names a class this kmslab does not have ({name}).")
    module, _, qualname = location.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)  # a location of STORED_CLASSES: a test checks each
    if not (
        isinstance(obj, type) and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum))
    ):
        raise StoreError(f"The store names {name}, which is not a kmslab data class.")
    return obj
