"""Any sequence of calls, failed ones included, reads back the same after a reopen."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.exceptions import KMSError
from kmslab.kms import LocalKMS

ROLE = "arn:aws:iam::111122223333:role/property"

# Each step: (operation, key index, a small integer) -> the call it makes.
_STEPS: dict[str, Callable[[str, int], tuple[str, dict[str, Any]]]] = {
    "create": lambda key, n: ("CreateKey", {"Description": f"k{n}"}),
    "create-hmac": lambda key, n: (
        "CreateKey",
        {"KeySpec": "HMAC_224", "KeyUsage": "GENERATE_VERIFY_MAC"},
    ),
    "tag": lambda key, n: (
        "TagResource",
        {"KeyId": key, "Tags": [{"TagKey": f"t{n % 3}", "TagValue": str(n)}]},
    ),
    "untag": lambda key, n: ("UntagResource", {"KeyId": key, "TagKeys": [f"t{n % 3}"]}),
    "alias": lambda key, n: ("CreateAlias", {"AliasName": f"alias/a{n % 4}", "TargetKeyId": key}),
    "realias": lambda key, n: ("UpdateAlias", {"AliasName": f"alias/a{n % 4}", "TargetKeyId": key}),
    "unalias": lambda key, n: ("DeleteAlias", {"AliasName": f"alias/a{n % 4}"}),
    "disable": lambda key, n: ("DisableKey", {"KeyId": key}),
    "enable": lambda key, n: ("EnableKey", {"KeyId": key}),
    "describe": lambda key, n: ("UpdateKeyDescription", {"KeyId": key, "Description": f"d{n}"}),
    "schedule": lambda key, n: (
        "ScheduleKeyDeletion",
        {"KeyId": key, "PendingWindowInDays": 7 + n % 24},
    ),
    "cancel": lambda key, n: ("CancelKeyDeletion", {"KeyId": key}),
    "rotate": lambda key, n: ("RotateKeyOnDemand", {"KeyId": key}),
    "rotation": lambda key, n: (
        "EnableKeyRotation",
        {"KeyId": key, "RotationPeriodInDays": 90 + n},
    ),
    "grant": lambda key, n: (
        "CreateGrant",
        {"KeyId": key, "GranteePrincipal": ROLE, "Operations": ["Decrypt"]},
    ),
    "encrypt": lambda key, n: ("Encrypt", {"KeyId": key, "Plaintext": b"p"}),
}

_step = st.tuples(
    st.sampled_from([*sorted(_STEPS), "advance"]), st.integers(0, 5), st.integers(0, 50)
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_step, min_size=1, max_size=25))
def test_any_calls_read_back_the_same(
    steps: list[tuple[str, int, int]], take_snapshot: Callable[[LocalKMS], dict[str, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kms.sqlite3"
        with LocalKMS(store=path) as kms:
            kms.call("CreateKey")
            for name, index, n in steps:
                if name == "advance":
                    kms.clock.advance(days=n * 3)
                    continue
                ids = list(kms.keys)
                key = ids[index % len(ids)] if ids else "00000000-0000-4000-8000-000000000000"
                operation, params = _STEPS[name](key, n)
                # A refused call changes nothing, in memory or in the store.
                with contextlib.suppress(KMSError):
                    kms.call(operation, **params)
            before = take_snapshot(kms)
        with LocalKMS(store=path) as again:
            after = take_snapshot(again)
    assert after.pop("now") >= before.pop("now")
    assert after == before
