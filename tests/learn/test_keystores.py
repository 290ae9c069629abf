"""Lesson 10's tools: keys in every home, the proxy stopped and restarted, the self-checks."""

from __future__ import annotations

import pytest

from kmslab import specs
from kmslab.kms.keystores import xks_client
from kmslab.learn import keystores


@pytest.fixture(scope="module")
def homes():
    h = keystores.KeyHomes()
    yield h
    h.close()


def test_every_home_has_its_origin(homes) -> None:
    for home, origin in keystores.HOMES.items():
        assert homes.describe(home)["Origin"] == origin
        assert homes.try_encrypt(home).ok


def test_stop_and_restart_the_proxy(homes) -> None:
    homes.proxy.stop()
    try:
        r = homes.try_encrypt("external key store")
        assert (r.error_code, r.error_message) == (
            "KMSInvalidStateException",
            xks_client.FAILURES["unreachable"].message,
        )
        assert homes.try_encrypt("AWS KMS").ok  # other homes do not depend on the proxy
        assert homes.store_state("external key store") == "CONNECTED"
    finally:
        homes.proxy.start()
    assert homes.try_encrypt("external key store").ok


def test_latency_reports_medians(homes) -> None:
    rows = homes.latency(samples=5)
    assert [r.home for r in rows] == list(keystores.HOMES)
    assert all(r.median_ms > 0 and r.iqr_ms >= 0 and "median" in str(r) for r in rows)


def test_partition_table_is_the_catalogue() -> None:
    rows = {r["KeySpec"]: r for r in keystores.partition_table()}
    assert set(rows) == set(specs.KEY_SPECS)
    assert (rows["SM2"]["aws"], rows["SM2"]["aws-cn"]) == ("no", "yes")
    assert (rows["ML_KEM_768"]["aws"], rows["ML_KEM_768"]["aws-cn"]) == ("yes", "no")
    assert [s for s, r in rows.items() if r["custom key store"] == "yes"] == ["SYMMETRIC_DEFAULT"]


def test_self_checks() -> None:
    assert not keystores.check_origin("external key store", ...).correct
    assert keystores.check_origin("external key store", "EXTERNAL_KEY_STORE").correct
    wrong = keystores.check_origin("AWS CloudHSM key store", "EXTERNAL")
    assert not wrong.correct and "AWS_CLOUDHSM" in repr(wrong) and wrong.hint
    assert keystores.check_partition("cn-northwest-1", "aws-cn").correct
    assert "aws-cn" in repr(keystores.check_partition("cn-north-1", "aws"))
