"""Hostile input over the whole model: every operation's input shape, filled by Hypothesis
with extreme numbers, timestamps, Unicode digits, nulls, nested junk and wrong types, gets
an AWS error or succeeds -- never an internal error, never a dropped connection. Through
``LocalKMS.handle()`` (the wire layer) and through the HTTP server (``kmslab.server.serve``,
whatever library serves it), plus the regressions the issue reported.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.clock import LATEST, Clock
from kmslab.kms.service import LocalKMS
from kmslab.kms.wire import service_model

OPERATIONS = sorted(service_model().operation_names)
#: Every error code AWS KMS defines (botocore's model) plus the unmodelled ones.
AWS_CODES = {s.name for s in service_model().error_shapes} | {
    "ValidationException",
    "SerializationException",
    "UnknownOperationException",
}
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Values that broke, or could break, a naive decoder.
HOSTILE: list[Any] = [
    None,
    0,
    -1,
    2**31,
    2**63,
    -(2**64),
    10**30,
    1e20,
    -1e20,
    math.nan,
    math.inf,
    -math.inf,
    1.5,
    True,
    "",
    "\u00b2",
    "\u0661\u0662",
    "\ud800",
    "x" * 5000,
    "alias/",
    "arn:aws:kms:us-east-1:111122223333:key/",
    [],
    [None],
    {},
    {"a": [{"b": None}]},
    [[[[]]]],
]


@cache
def _key_refs() -> tuple[str, ...]:
    return ()


def _shape_values(
    shape: Any, refs: tuple[str, ...], depth: int = 0, *, rough: bool = True
) -> st.SearchStrategy[Any]:
    """A value for one shape: plausible, or (``rough``) often hostile."""
    hostile = st.sampled_from(HOSTILE) if rough else st.nothing()
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if depth > 3:
            return hostile
        members = {
            name: _shape_values(member, refs, depth + 1, rough=rough)
            for name, member in shape.members.items()
        }
        required = {} if rough else {n: members.pop(n) for n in shape.required_members}
        return st.fixed_dictionaries(required, optional=members)
    if kind == "string":
        plausible: list[st.SearchStrategy[Any]] = [st.text(max_size=20)]
        if meta.get("enum"):
            plausible.append(st.sampled_from(meta["enum"]))
        if refs and shape.name in ("KeyIdType", "GrantIdType", "AliasNameType"):
            plausible.append(st.sampled_from(refs))
        return st.one_of(*plausible, hostile)
    if kind in ("integer", "long"):
        low, high = meta.get("min", -(2**40)), meta.get("max", 2**40)
        return st.one_of(st.integers(low - 2, high + 2), hostile)
    if kind == "blob":
        return st.one_of(st.binary(max_size=600).map(_b64), st.text(max_size=8), hostile)
    if kind == "boolean":
        return st.one_of(st.booleans(), hostile)
    if kind == "timestamp":
        now = 1.9e9  # plausible: around now; hostile: any float or integer
        return st.one_of(st.floats(now - 1e8, now + 1e8), st.floats(), st.integers(), hostile)
    if kind == "list":
        if depth > 3:
            return hostile
        return st.one_of(
            st.lists(_shape_values(shape.member, refs, depth + 1), max_size=3), hostile
        )
    if kind == "map":
        value = _shape_values(shape.value, refs, depth + 1)
        return st.one_of(st.dictionaries(st.text(max_size=6), value, max_size=3), hostile)
    return hostile


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def body_for(operation: str, refs: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        params: st.SearchStrategy[Any] = st.just({})
    else:  # half the requests plausible all through, to reach the operations themselves
        params = st.one_of(_shape_values(shape, refs, rough=False), _shape_values(shape, refs))
    return st.one_of(
        params.map(lambda p: json.dumps(p).encode()),  # NaN/Infinity tokens as Python writes
        st.sampled_from([b"", b"null", b"[]", b"{", b'{"a":' * 50_000, b"\xff\xfe"]),
    )


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[LocalKMS, tuple[str, ...]]]:
    """A LocalKMS with a key of each kind (and their aliases) for requests to hit.

    RSA generation is served from a cache during the sweep (a fuzzed CreateKey RSA_4096
    would otherwise cost up to seconds per example).
    """
    from kmslab.crypto import rsa

    mp = pytest.MonkeyPatch()
    real = rsa.generate
    made: dict[str, Any] = {}
    mp.setattr(
        rsa, "generate", lambda info: made.get(info.name) or made.setdefault(info.name, real(info))
    )
    kms = LocalKMS()
    refs: list[str] = []
    for params in (
        {},
        {"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        {"KeySpec": "ML_KEM_512", "KeyUsage": "ENCAPSULATE_DECAPSULATE"},
        {"Origin": "EXTERNAL"},
    ):
        key_id = kms.call("CreateKey", **params)["KeyMetadata"]["KeyId"]
        kms.call("CreateAlias", AliasName=f"alias/h{len(refs)}", TargetKeyId=key_id)
        refs += [key_id, kms.key_arn(key_id), f"alias/h{len(refs)}"]
    yield kms, tuple(refs)
    mp.undo()


def _state(kms: LocalKMS) -> Any:
    """What a failed call must leave as it was: keys, materials, aliases, grants, timers."""
    return (
        [
            (
                k.id,
                k.state,
                [m.id for m in k.materials],
                dict(k.tags),
                k.description,
                k.policy,
                k.rotation_enabled,
                k.next_rotation,
                k.deletion_date,
                k.on_demand_rotations,
                k.valid_to,
                len(k.import_state.get("tokens", ())),
            )
            for k in kms.keys.values()
        ],
        {name: dict(alias) for name, alias in kms.aliases.items()},
        {key: [(g.id, g.issued) for g in grants.values()] for key, grants in kms.grants.items()},
        kms.timers(),
    )


def _assert_aws(status: int, payload: bytes) -> None:
    assert status in (200, 400), (status, payload[:300])
    answer = json.loads(payload)
    if status == 400:
        assert answer["__type"] in AWS_CODES, answer
        assert len(payload) < 20_000  # a bounded answer, whatever the request
    else:
        assert "__type" not in answer


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_answers_hostile_input_with_aws_errors(
    world: tuple[LocalKMS, tuple[str, ...]], operation: str
) -> None:
    kms, refs = world

    @SETTINGS
    @given(body_for(operation, refs))
    def check(body: bytes) -> None:
        before = _state(kms)
        status, payload = kms.handle(operation, body)
        _assert_aws(status, payload)
        if status != 200:  # a failed call changes nothing
            assert _state(kms) == before

    check()


@pytest.fixture(scope="module")
def server(world: tuple[LocalKMS, tuple[str, ...]]) -> Iterator[str]:
    from kmslab.server import serve

    running = serve(world[0], port=0)
    yield running.url
    running.stop()


def _post(url: str, operation: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url + "/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"TrentService.{operation}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_http_answers_hostile_input_with_aws_errors(
    world: tuple[LocalKMS, tuple[str, ...]], server: str, data: st.DataObject
) -> None:
    operation = data.draw(st.sampled_from(OPERATIONS))
    body = data.draw(body_for(operation, world[1]))
    _assert_aws(*_post(server, operation, body))


# -- the regressions the issue reported ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"ValidTo": 1e20}', b'{"ValidTo": NaN}', b'{"ValidTo": -1e20}', b'{"ValidTo": Infinity}'],
)
def test_timestamps_out_of_range(server: str, body: bytes) -> None:
    for status, payload in (
        LocalKMS().handle("ImportKeyMaterial", body),
        _post(server, "ImportKeyMaterial", body),
    ):
        assert status == 400
        assert json.loads(payload)["__type"] == "SerializationException"


@pytest.mark.parametrize(
    "operation",
    [
        "ListKeys",
        "ListAliases",
        "ListGrants",
        "ListRetirableGrants",
        "ListKeyRotations",
        "ListResourceTags",
    ],
)
def test_unicode_digit_marker(world: tuple[LocalKMS, tuple[str, ...]], operation: str) -> None:
    kms, refs = world
    params = {"Marker": "\u00b2", "KeyId": refs[0], "RetiringPrincipal": "p"}
    status, payload = kms.handle(operation, json.dumps(params).encode())
    assert status == 400
    assert json.loads(payload)["__type"] == "InvalidMarkerException"


def test_clock_refuses_overflow_and_stays_put() -> None:
    kms = LocalKMS()
    before = kms.clock.now()
    for days in (3_000_000, 1e300, math.inf):
        with pytest.raises(ValueError):
            kms.clock.advance(days=days)
    assert kms.clock.now() - before < (LATEST - before) / 1000  # not moved
    with pytest.raises(ValueError):
        Clock(frozen_at=LATEST.replace(year=9999, month=12, day=20))
    # At the latest time allowed, every date the KMS computes still fits.
    late = LocalKMS(clock=Clock(frozen_at=LATEST))
    key_id = late.call("CreateKey")["KeyMetadata"]["KeyId"]
    late.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=2560)
    out = late.call("ScheduleKeyDeletion", KeyId=key_id)
    assert out["KeyState"] == "PendingDeletion" and out["DeletionDate"] > LATEST


def test_huge_request_gets_a_small_error() -> None:
    """0.8 MB of empty grant tokens once produced a 23.7 MB ValidationException."""
    kms = LocalKMS()
    key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    body = json.dumps({"KeyId": key_id, "Plaintext": "AA==", "GrantTokens": [""] * 200_000})
    status, payload = kms.handle("Encrypt", body.encode())
    assert status == 400 and len(payload) < 2_000
    assert json.loads(payload)["__type"] == "ValidationException"
