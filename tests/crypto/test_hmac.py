"""HMAC-SHA-224/256/384/512 (the HMAC_* key specs) against Wycheproof's hmac_sha*_test.json."""

from __future__ import annotations

import pytest

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from tests.wycheproof import Selection, expect, h, select

hmac = family("hmac")
BITS = (224, 256, 384, 512)


def _alg(bits: int):
    return specs.get(f"HMAC_{bits}").algorithm(f"HMAC_SHA_{bits}")


def _per_hash(keep) -> tuple[Selection, list]:
    """One selection over the four files, with the hash size in front of each param."""
    total, params = Selection(), []
    for bits in BITS:
        sel = select([f"hmac_sha{bits}_test.json"], lambda g, t, bits=bits: keep(bits, g, t))
        params += [pytest.param(bits, *p.values, id=p.id) for p in sel.params]
        total = total + sel
    return total, params


# KMS MACs are never truncated: full-length tags only ...
MACS, MAC_PARAMS = _per_hash(lambda bits, g, t: g["tagSize"] == bits)
# ... and a truncated tag, even a correct one, must not verify.
TRUNCATED, TRUNCATED_PARAMS = _per_hash(
    lambda bits, g, t: g["tagSize"] < bits and t["result"] == "valid"
)


@pytest.mark.parametrize(("bits", "group", "test"), MAC_PARAMS)
def test_mac(bits, group, test):
    alg = _alg(bits)
    key, msg, tag = h(test["key"]), h(test["msg"]), h(test["tag"])
    assert alg.mac_bytes == len(tag)
    expect(test["result"], lambda: hmac.verify_mac(key, alg, msg, tag))
    computed = hmac.mac(key, alg, msg)
    assert len(computed) == alg.mac_bytes
    assert (computed == tag) is (test["result"] == "valid")


@pytest.mark.parametrize(("bits", "group", "test"), TRUNCATED_PARAMS)
def test_truncated_tag_rejected(bits, group, test):
    alg = _alg(bits)
    key, msg, tag = h(test["key"]), h(test["msg"]), h(test["tag"])
    assert len(tag) < alg.mac_bytes
    assert hmac.mac(key, alg, msg).startswith(tag)  # right, but truncated
    with pytest.raises(CryptoFailure):
        hmac.verify_mac(key, alg, msg, tag)


@pytest.mark.parametrize("bits", BITS)
def test_load_checks_key_length(bits):
    info = specs.get(f"HMAC_{bits}")
    assert hmac.load(info, bytes(info.key_bytes)) == bytes(info.key_bytes)
    with pytest.raises(CryptoFailure):
        hmac.load(info, bytes(info.key_bytes - 1))


def test_vectors_selected():
    assert MACS.files == sorted(f"hmac_sha{bits}_test.json" for bits in BITS)
    MACS.assert_ran()
    TRUNCATED.assert_ran(invalid=False)
    for f in MACS.files:
        assert MACS.skipped(f) > 0, f"truncated-tag filter dropped nothing from {f}"
