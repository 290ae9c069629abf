"""The reference point (:mod:`kmslab.bench.openssl`): ``openssl speed`` output parsed, runs
split when a build lacks an algorithm, and (when openssl is installed) a real ratio."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from kmslab import bench
from kmslab.bench import openssl


@pytest.fixture(scope="module")
def results() -> bench.Results:
    """One test-mode run on the primitive layer: an ECDSA/ECDH spec and an HMAC spec."""
    return bench.benchmark("test", specs=["ECC_NIST_P256", "HMAC_224"], layers=["primitive"])


# Captured from `openssl speed -mr -seconds 1 -elapsed rsa2048 ecdsap256 ed25519 ecdhp256`
# and `-evp aes-256-gcm -bytes 16384`, `-hmac sha256 -bytes 32` (OpenSSL 3.0).
OPENSSL_MR = """\
+DTP:2048:private:rsa:1
+R1:1037:2048:1.00
+DTP:2048:public:rsa:1
+R2:42610:2048:1.00
+DTP:256:sign:ecdsa:1
+R5:41319:256:1.00
+DTP:256:verify:ecdsa:1
+R6:13704:256:1.00
+DTP:256::ecdh:1
+R7:18440:256:1.00
+DTP:253:sign:Ed25519:1
+R8:21829:253:Ed25519:1.00
+DTP:253:verify:Ed25519:1
+R9:8336:253:Ed25519:1.00
+F2:2:2048:1037.000000:42610.000000
+DT:AES-256-GCM:1:16384
+R:209157:AES-256-GCM:1.000000
+H:16384
+DT:hmac(sha256):1:32
+R:3740339:hmac(sha256):1.000000
"""


def test_parse_openssl_speed() -> None:
    figures = openssl.parse_openssl_speed(OPENSSL_MR)
    assert figures == {
        ("rsa", "sign", 2048): 1037.0,
        ("rsa", "verify", 2048): 42610.0,
        ("ecdsa", "sign", 256): 41319.0,
        ("ecdsa", "verify", 256): 13704.0,
        ("ecdh", "derive", 256): 18440.0,
        ("ed25519", "sign", 253): 21829.0,
        ("ed25519", "verify", 253): 8336.0,
        ("aes-256-gcm", "encrypt", 16384): 209157.0,
        ("hmac(sha256)", "generate_mac", 32): 3740339.0,
    }


def test_parse_openssl_speed_ignores_what_it_does_not_understand() -> None:
    text = "garbage\n+DTP:x:y\n+R1:notanumber:1:1\n+R:5:x:0"
    assert openssl.parse_openssl_speed(text) == {}


def test_openssl_missing_is_a_note(results: bench.Results, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert openssl.run_openssl_speed(results.records) == (
        [],
        ["openssl is not installed: no reference point."],
    )
    ratios, notes = openssl.run_openssl_speed(results.records[:3], openssl="/nonexistent/openssl")
    assert ratios == [] and any("failed" in n for n in notes)


FAKE_OPENSSL = """\
import sys
args = sys.argv[1:]
if args == ["version"]:
    print("OpenSSL 0.0 (a stand-in)")
    sys.exit(0)
names = args[5:]  # after: speed -mr -elapsed -seconds N
if len(names) > 1:
    sys.exit("speed: unknown algorithm")  # as a build that lacks one of them does
out = {
    "ecdsap256": "+DTP:256:sign:ecdsa:1\\n+R5:1000:256:1.00\\n"
    "+DTP:256:verify:ecdsa:1\\n+R6:500:256:2.0",
    "ecdhp256": "+DTP:256::ecdh:1\\n+R7:800:256:1.00",
}
sys.stderr.write(out[names[0]] + "\\n")
"""


def test_openssl_runs_each_algorithm_alone_when_a_joint_run_fails(
    results: bench.Results, tmp_path: Path
) -> None:
    fake = tmp_path / "openssl"
    fake.write_text(f"#!{sys.executable}\n{FAKE_OPENSSL}")
    fake.chmod(0o755)
    p256 = [r for r in results.records if r.key_spec == "ECC_NIST_P256" and r.layer == "primitive"]
    ratios, notes = openssl.run_openssl_speed(p256, openssl=str(fake))
    assert {(x.operation, x.openssl_ops_per_s) for x in ratios} == {
        ("sign", 1000.0),
        ("verify", 250.0),
        ("derive", 800.0),
    }
    assert len(notes) == 1 and "OpenSSL 0.0 (a stand-in)" in notes[0]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_speed_gives_a_ratio(results: bench.Results) -> None:
    mac = results.find("HMAC_224", "generate_mac")
    ratios, notes = openssl.run_openssl_speed([mac], seconds=1)
    assert all("compares two builds" in n for n in notes)  # at most the versions differ
    [ratio] = ratios
    assert ratio.openssl_algorithm == "sha224" and ratio.openssl_ops_per_s > 0
    assert ratio.ratio == pytest.approx(mac.ops_per_s / ratio.openssl_ops_per_s)
    assert "HMAC_224 generate_mac" in openssl.format_openssl(ratios)
