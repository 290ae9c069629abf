"""The local KMS at scale: listings stable under concurrent change, pages and calls that do
not touch every key, timers instead of scans, key generation outside the lock.

Behaviour is asserted, never time: spies count what a call touches. benchmarks/scale.py
measures the speed.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kmslab.clock import Clock
from kmslab.kms import registry
from kmslab.kms.index import SequencedTable
from kmslab.kms.registry import PREPARERS, TIMERS
from kmslab.kms.service import LocalKMS

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS(clock=Clock(frozen_at=START))


def _full_listing(kms: LocalKMS, operation: str, member: str, ident: str) -> list[str]:
    out: list[str] = []
    marker = None
    for _ in range(100_000):
        page = kms.call(operation, Limit=3, **({"Marker": marker} if marker else {}))
        out += [item[ident] for item in page[member]]
        if not page["Truncated"]:
            return out
        marker = page["NextMarker"]
    raise AssertionError("listing did not end")


def test_listing_is_exactly_once_under_concurrent_create_and_delete(kms: LocalKMS) -> None:
    """Keys and aliases that exist for the whole listing come back once, whatever changes."""
    stable = [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(40)]
    for i, key_id in enumerate(stable):
        kms.call("CreateAlias", AliasName=f"alias/stable-{i:03d}", TargetKeyId=key_id)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn(worker: int) -> None:
        try:
            n = 0
            while not stop.is_set() and n < 5_000:
                n += 1
                # Each thread its own alias names: two threads sharing one would collide.
                name = f"alias/churn-{worker}-{n:05d}"
                key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
                kms.call("CreateAlias", AliasName=name, TargetKeyId=key_id)
                kms.call("DeleteAlias", AliasName=name)
                kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
                kms.clock.advance(days=8)  # the next call deletes it
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(15):
            keys = _full_listing(kms, "ListKeys", "Keys", "KeyId")
            counts = Counter(keys)
            assert all(counts[k] == 1 for k in stable)
            assert max(counts.values()) == 1  # nothing, stable or not, twice
            aliases = _full_listing(kms, "ListAliases", "Aliases", "AliasName")
            assert max(Counter(aliases).values()) == 1
            assert {f"alias/stable-{i:03d}" for i in range(40)} <= set(aliases)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []


class _SpyTable(SequencedTable[Any]):
    """A SequencedTable that counts whole-table scans and the entries pages read."""

    __slots__ = ()
    scans = 0
    read = 0

    def values(self) -> Any:
        type(self).scans += 1
        return super().values()

    def items(self) -> Any:
        type(self).scans += 1
        return super().items()

    def __iter__(self) -> Iterator[str]:
        type(self).scans += 1
        return super().__iter__()

    def after(self, seq: int | None) -> Iterator[tuple[int, Any]]:
        for entry in super().after(seq):
            type(self).read += 1
            yield entry


def test_a_page_reads_only_its_own_keys(kms: LocalKMS) -> None:
    for _ in range(2_000):
        kms.call("CreateKey")
    kms.keys.__class__ = _SpyTable
    _SpyTable.scans = _SpyTable.read = 0
    page = kms.call("ListKeys", Limit=10)
    later = kms.call("ListKeys", Limit=10, Marker=page["NextMarker"])
    assert len(later["Keys"]) == 10
    assert _SpyTable.scans == 0
    assert _SpyTable.read == 2 * 11  # each page: its 10 keys and one to see there is more


def test_calls_do_no_work_per_key_when_nothing_is_due(
    kms: LocalKMS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rotating, disabled and pending-deletion keys cost nothing on an unrelated call."""
    ids = [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(300)]
    for key_id in ids[:200]:
        kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    for key_id in ids[100:200]:
        kms.call("DisableKey", KeyId=key_id)
    for key_id in ids[200:250]:
        kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=30)
    fired: Counter[str] = Counter()
    for kind, fn in list(TIMERS.items()):

        def spy(kms: LocalKMS, key_id: str, when: datetime, kind: str = kind, fn: Any = fn) -> None:
            fired[kind] += 1
            fn(kms, key_id, when)

        monkeypatch.setitem(TIMERS, kind, spy)
    kms.keys.__class__ = _SpyTable
    _SpyTable.scans = 0
    for _ in range(50):
        kms.call("GenerateRandom", NumberOfBytes=8)
    assert fired == Counter() and _SpyTable.scans == 0
    # Past the dates: each rotating key's timer fires once, enabled or not, and each
    # deletion once ...
    kms.clock.advance(days=91)
    kms.call("GenerateRandom", NumberOfBytes=8)
    assert fired == Counter({"rotate": 200, "delete": 50})
    assert len(kms.keys) == 250
    # ... and then never again: a disabled key's date does not move on every call.
    disabled = ids[150]
    before = kms.call("GetKeyRotationStatus", KeyId=disabled)["NextRotationDate"]
    for _ in range(50):
        kms.call("GenerateRandom", NumberOfBytes=8)
    assert fired == Counter({"rotate": 200, "delete": 50}) and _SpyTable.scans == 0
    assert kms.timer("rotate", disabled) is None
    assert kms.call("GetKeyRotationStatus", KeyId=disabled)["NextRotationDate"] == before
    # Enabled again after its date: it rotates at once, then every period.
    kms.clock.advance(days=5)
    kms.call("EnableKey", KeyId=disabled)
    rotations = kms.call("ListKeyRotations", KeyId=disabled)["Rotations"]
    assert [r["RotationDate"] for r in rotations] == [kms.clock.now()]
    assert kms.timer("rotate", disabled) == kms.clock.now() + timedelta(days=90)


def test_timer_heap_stays_bounded_when_rescheduled_often(kms: LocalKMS) -> None:
    key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    for i in range(2_000):
        kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90 + i % 500)
        kms.call("DisableKeyRotation", KeyId=key_id)
    assert len(kms._timers) <= 2 * len(kms.timers()) + 64


def test_key_generation_does_not_hold_the_lock(
    kms: LocalKMS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While CreateKey generates its key, another thread's Encrypt completes."""
    key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    generating, release = threading.Event(), threading.Event()
    real = PREPARERS["CreateKey"]

    def slow(params: dict[str, Any]) -> Any:
        generating.set()
        release.wait(timeout=30)
        return real(params)

    monkeypatch.setitem(PREPARERS, "CreateKey", slow)
    made: list[Any] = []
    rsa_key = {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}
    creator = threading.Thread(target=lambda: made.append(kms.call("CreateKey", **rsa_key)))
    creator.start()
    try:
        assert generating.wait(timeout=30)
        # The creator is inside key generation; the lock must be free.
        assert kms._lock.acquire(blocking=False)
        kms._lock.release()
        blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"not blocked")["CiphertextBlob"]
        assert not release.is_set() and made == []  # finished while generation was running
    finally:
        release.set()
        creator.join()
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"not blocked"
    assert made[0]["KeyMetadata"]["KeySpec"] == "RSA_2048"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateKey", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
        ("GenerateDataKeyPair", {"KeyPairSpec": "ECC_NIST_P256"}),
        ("GetParametersForImport", {"WrappingKeySpec": "RSA_2048"}),
    ],
)
def test_prepared_keys_are_used(
    kms: LocalKMS, monkeypatch: pytest.MonkeyPatch, operation: str, params: dict[str, Any]
) -> None:
    """Each slow generation happens in its preparer, not again under the lock."""
    from kmslab.crypto import ec, rsa

    calls: Counter[str] = Counter()
    for module in (ec, rsa):
        real = module.generate

        def counted(info: Any, real: Any = real) -> Any:
            calls[threading.current_thread().name] += 1
            return real(info)

        monkeypatch.setattr(module, "generate", counted)
    if operation == "GenerateDataKeyPair":
        params = {**params, "KeyId": kms.call("CreateKey")["KeyMetadata"]["KeyId"]}
    if operation == "GetParametersForImport":
        key_id = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = {**params, "KeyId": key_id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256"}
    held: list[bool] = []
    real_prepare = PREPARERS[operation]

    def watching(p: dict[str, Any]) -> Any:
        held.append(kms._lock._is_owned())  # type: ignore[attr-defined]
        return real_prepare(p)

    monkeypatch.setitem(registry.PREPARERS, operation, watching)
    kms.call(operation, **params)
    assert held == [False]
    assert sum(calls.values()) == 1  # generated once, in the preparer
