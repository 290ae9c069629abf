"""The benchmark (:mod:`kmslab.bench`, :mod:`kmslab.bench.kms_view`, :mod:`kmslab.bench.plots`).

The harness runs in its "test" mode (samples of about 2 ms, 5 of them) on a few families.
Checked: the records' shape, that every pair the catalogue implies is measured, sizes
against the catalogue, and orderings that must hold whatever the machine (compared on the
fastest sample, the least noisy figure). Absolute times are never asserted.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kmslab import bench, cli, specs
from kmslab.bench import harness as bench_harness
from kmslab.bench import kms_view as bench_kms
from kmslab.bench import openssl as bench_openssl
from kmslab.bench import plots as bench_plots
from kmslab.bench import progress as bench_progress
from kmslab.crypto import aes
from kmslab.kms import ciphertext

MEASURED_FAMILIES = ("aes", "hmac", "ec")


@pytest.fixture(scope="module")
def results() -> bench.Results:
    """One test-mode run: the weakest spec of three families, both layers."""
    return bench.benchmark("test", families=MEASURED_FAMILIES)


def _key(r: Any) -> tuple[str, str, str, int, str]:
    return (r.key_spec, r.operation, r.algorithm, r.message_bytes, r.layer)


def _task_key(t: bench.Task) -> tuple[str, str, str, int, str]:
    alg = t.algorithm.name if t.algorithm else ""
    return (t.info.name, t.operation, alg, t.message_bytes, t.layer)


# -- what is measured ----------------------------------------------------------------------


def test_every_planned_pair_is_measured_once(results: bench.Results) -> None:
    tasks, _ = bench.plan("test", families=MEASURED_FAMILIES)
    assert [_task_key(t) for t in tasks] == [_key(r) for r in results.records]


def test_operations_follow_the_catalogue(results: bench.Results) -> None:
    for info in bench.select_specs(bench.MODES["test"], MEASURED_FAMILIES):
        expected = {"keygen"}
        for usage in info.usages:
            expected |= set(bench.OPERATIONS_BY_KIND[usage.kind])
        for layer in bench.LAYERS:
            got = {
                r.operation for r in results.records if (r.key_spec, r.layer) == (info.name, layer)
            }
            assert got == expected, (info.name, layer)


def test_plan_covers_every_family() -> None:
    tasks, notes = bench.plan("quick")
    assert {t.info.family for t in tasks} == set(bench.FAMILIES)
    assert notes == []
    assert {t.operation for t in tasks} == {"keygen"} | {
        op for ops in bench.OPERATIONS_BY_KIND.values() for op in ops
    }


def test_quick_mode_takes_each_familys_weakest_and_strongest_spec() -> None:
    picked = bench.select_specs(bench.MODES["quick"])
    for fam in set(bench.FAMILIES):
        members = [s for s in specs.all_specs() if s.family == fam]
        bits = {s.security_bits for s in picked if s.family == fam}
        assert bits == {
            min(s.security_bits for s in members),
            max(s.security_bits for s in members),
        }
    assert [s.name for s in picked if s.family == "rsa"] == ["RSA_2048", "RSA_4096"]


def test_full_mode_takes_every_spec_and_algorithm() -> None:
    tasks, _ = bench.plan("full", layers=["primitive"])
    for info in specs.all_specs():
        if info.family == "sm2":
            continue
        for usage in info.usages:
            for alg in usage.algorithms:
                assert any(t.algorithm == alg and t.info == info for t in tasks), alg.name


def test_quick_mode_times_one_algorithm_per_kind_of_work() -> None:
    tasks, _ = bench.plan(
        "quick", specs=["RSA_2048", "ECC_NIST_EDWARDS25519"], layers=["primitive"]
    )
    algs = sorted({t.algorithm.name for t in tasks if t.algorithm})
    assert algs == [
        "ED25519_PH_SHA_512",
        "ED25519_SHA_512",
        "RSAES_OAEP_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PSS_SHA_256",
    ]


def test_rsa_oaep_is_timed_at_the_largest_plaintext() -> None:
    tasks, _ = bench.plan("full", families=["rsa"], operations=["encrypt"], layers=["primitive"])
    assert tasks
    for t in tasks:
        assert t.algorithm is not None
        assert t.message_bytes == t.algorithm.max_plaintext_bytes


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown families"):
        bench.select_specs(bench.MODES["quick"], ["dsa"])


def test_a_mode_needs_five_samples() -> None:
    with pytest.raises(ValueError, match="at least 5 samples"):
        bench.Mode("tiny", 0.001, 3, 0.0, 5, 5, (16,), "weakest", False)


# -- record shape and statistics -----------------------------------------------------------


def test_records_are_sane(results: bench.Results) -> None:
    measured = [r for r in results.records if r.applicable]
    assert measured
    for r in measured:
        assert 0 < r.min_s <= r.median_s <= r.p90_s <= r.max_s, r
        assert r.iqr_s >= 0
        assert r.ops_per_s == pytest.approx(1 / r.median_s)
        assert r.samples >= 5 and r.loops >= 1
        assert r.layer in bench.LAYERS
        assert r.security_bits == specs.get(r.key_spec).security_bits


def test_record_dataclass_is_frozen(results: bench.Results) -> None:
    with pytest.raises(AttributeError):
        results.records[0].median_s = 0.0  # type: ignore[misc]


def test_kms_layer_refuses_what_encrypt_refuses(results: bench.Results) -> None:
    limit = specs.get("SYMMETRIC_DEFAULT").algorithm("SYMMETRIC_DEFAULT").max_plaintext_bytes
    aes_kms = [r for r in results.records if r.family == "aes" and r.layer == "kms"]
    for r in aes_kms:
        if r.operation == "keygen":
            continue
        assert r.applicable == (r.message_bytes <= limit), r
        if not r.applicable:
            assert math.isnan(r.median_s) and r.samples == 0
            assert "envelope" in r.note
    assert any(not r.applicable for r in aes_kms)


def test_time_callable_calibrates_the_loop_count() -> None:
    per_call, loops = bench.time_callable(lambda: None, min_sample_s=0.001, samples=5)
    assert len(per_call) == 5 and loops >= 1000  # a no-op needs many calls per sample
    per_call, loops = bench.time_callable(lambda: None, min_sample_s=1.0, samples=5, loops=3)
    assert loops == 3


# -- orderings that must hold (fastest samples compared) -----------------------------------


def test_kms_layer_costs_more_than_the_primitive(results: bench.Results) -> None:
    by_key = {_key(r): r for r in results.records if r.applicable}
    pairs = 0
    for (spec, op, alg, size, layer), r in by_key.items():
        if layer == "kms":
            prim = by_key[(spec, op, alg, size, "primitive")]
            assert r.min_s > prim.min_s, (spec, op, alg, size)
            pairs += 1
    assert pairs >= 10


def test_aes_of_1_mib_takes_longer_than_16_bytes(results: bench.Results) -> None:
    for op in ("encrypt", "decrypt"):
        small = results.find("SYMMETRIC_DEFAULT", op, message_bytes=16)
        big = results.find("SYMMETRIC_DEFAULT", op, message_bytes=2**20)
        assert big.min_s > small.min_s


@pytest.mark.slow
def test_rsa_4096_signs_slower_than_rsa_2048() -> None:
    run = bench.benchmark(
        "test", specs=["RSA_2048", "RSA_4096"], operations=["sign"], layers=["primitive"]
    )
    for alg in {r.algorithm for r in run.records}:
        small = run.find("RSA_2048", "sign", algorithm=alg)
        big = run.find("RSA_4096", "sign", algorithm=alg)
        assert big.min_s > small.min_s, alg


# -- sizes -----------------------------------------------------------------------------------


def test_sizes_match_the_catalogue(results: bench.Results) -> None:
    for r in results.records:
        info = specs.get(r.key_spec)
        assert r.public_key_bytes == info.public_key_der_bytes
        if info.symmetric:
            assert r.private_key_bytes == info.key_bits // 8
        if r.operation in ("generate_mac", "verify_mac", "derive"):
            assert r.artifact_bytes == r.catalogue_bytes
        if r.operation in ("sign", "verify"):  # DER ECDSA: at most the catalogue's figure
            assert r.artifact_bytes is not None and r.catalogue_bytes is not None
            assert 0 < r.artifact_bytes <= r.catalogue_bytes


def test_ciphertext_overhead_is_measured(results: bench.Results) -> None:
    for r in results.records:
        if r.family == "aes" and r.operation in ("encrypt", "decrypt") and r.applicable:
            expected = (
                aes.NONCE_BYTES + aes.TAG_BYTES if r.layer == "primitive" else ciphertext.OVERHEAD
            )
            assert r.overhead_bytes == expected
            assert r.artifact_bytes == r.message_bytes + expected


# -- equal security ------------------------------------------------------------------------


def test_strength_groups_partition_the_catalogue() -> None:
    groups = bench.strength_groups()
    names = [n for members in groups.values() for n in members]
    assert sorted(names) == sorted(specs.KEY_SPECS)
    for bits, members in groups.items():
        assert {specs.get(n).security_bits for n in members} == {bits}
    assert {"RSA_3072", "ECC_NIST_P256", "ML_DSA_44", "ML_KEM_512"} <= set(groups[128])


# -- output ----------------------------------------------------------------------------------

REQUIRED = {
    "key_spec",
    "operation",
    "message_bytes",
    "layer",
    "median_s",
    "iqr_s",
    "ops_per_s",
    "samples",
}


def test_json_and_csv_export(results: bench.Results, tmp_path: Path) -> None:
    env_path = bench.write_json(tmp_path / "b.json", results)
    data = json.loads((tmp_path / "b.json").read_text())
    assert isinstance(data, list) and len(data) == len(results.records)
    assert all(set(row) >= REQUIRED for row in data)
    assert any(row["median_s"] is None and row["applicable"] is False for row in data)
    again = bench.read_json(tmp_path / "b.json")
    assert [r.to_dict() for r in again] == [r.to_dict() for r in results.records]
    env = json.loads(env_path.read_text())
    assert env_path.name == "b.environment.json"
    assert env["openssl"].startswith("OpenSSL") and env["cpu_count"] >= 1
    assert {"python", "cryptography", "boto3", "machine", "date", "notes"} <= set(env)

    bench.write_csv(tmp_path / "b.csv", results)
    with (tmp_path / "b.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results.records)
    assert float(rows[0]["median_s"]) == results.records[0].median_s


def test_table_shows_every_record(results: bench.Results) -> None:
    lines = bench.format_table(results.records).splitlines()
    assert lines[0].split()[:2] == ["key", "spec"]
    assert len(lines) == len(results.records) + 1
    assert any("n/a" in line and "envelope" in line for line in lines)


# -- progress ----------------------------------------------------------------------------------


def test_progress_is_told_after_each_measurement() -> None:
    seen: list[tuple[int, int, str]] = []
    run = bench.benchmark(
        "test", specs=["HMAC_256"], layers=["primitive"], progress=lambda *a: seen.append(a)
    )
    assert [d for d, _, _ in seen] == list(range(1, len(run.records) + 1))
    assert {t for _, t, _ in seen} == {len(run.records)}
    assert seen[-1][2] == "HMAC_256 verify_mac HMAC_SHA_256 32 B [primitive]"


# -- the KMS view ------------------------------------------------------------------------------


def test_call_costs_add_the_round_trip(results: bench.Results) -> None:
    costs = bench_kms.call_costs(results.records, round_trip_s=0.01)
    assert costs and all(c.operation != "keygen" for c in costs)
    for c in costs:
        assert c.aws_s == pytest.approx(0.01 + c.local_s)
        # Both layers are measured; which is faster is noise-prone, so not asserted here
        # (kmslab bench warns when a layer beats the layer it contains).
        assert c.primitive_s is not None and c.primitive_s > 0 and c.local_s > 0
        assert (
            c.quota_per_s
            == bench_kms.QUOTAS[bench_kms.FAMILY_QUOTA[specs.get(c.key_spec).family]].requests_per_s
        )


def test_envelope_vs_encrypt_per_record(results: bench.Results) -> None:
    per, env = bench_kms.envelope_vs_encrypt(
        results.records, n_records=1000, record_bytes=1024, round_trip_s=0.005
    )
    assert per.kms_calls == 1000 and env.kms_calls == 1
    assert per.seconds == pytest.approx(per.network_s + per.kms_s)
    assert per.network_s == pytest.approx(1000 * 0.005)
    assert env.seconds == pytest.approx(0.005 + env.kms_s + env.local_crypto_s)
    assert env.seconds < per.seconds


def test_many_callers_hit_the_quota(results: bench.Results) -> None:
    per, _ = bench_kms.envelope_vs_encrypt(
        results.records, n_records=100_000, record_bytes=16, concurrency=1000
    )
    quota = bench_kms.QUOTAS["symmetric"].requests_per_s
    assert per.seconds == pytest.approx(100_000 / quota)
    assert per.note == "limited by the request quota"


def test_encrypt_per_record_is_impossible_above_4_kib(results: bench.Results) -> None:
    per, env = bench_kms.envelope_vs_encrypt(results.records, n_records=5, record_bytes=4097)
    assert not per.feasible and math.isnan(per.seconds) and "4096" in per.note
    assert env.feasible and env.seconds > 0


def test_envelope_needs_aes_figures() -> None:
    with pytest.raises(ValueError, match="aes family"):
        bench_kms.envelope_vs_encrypt([], n_records=1, record_bytes=16)


def test_interpolation() -> None:
    pts = [(16, 1e-6), (1024, 4e-6), (2**20, 1e-3)]
    f = bench_kms._interpolate
    assert f(pts, 16) == 1e-6 and f(pts, 1) == 1e-6
    assert f(pts, 2**21) == pytest.approx(2e-3)
    assert 1e-6 < f(pts, 128) < 4e-6
    assert f(pts, 128) == pytest.approx(2e-6)  # log-log: half-way in log size


def test_summary_text(results: bench.Results) -> None:
    text = bench_kms.summary(results.records, round_trip_s=0.002)
    assert "2 ms" in text and "500/s" in text and "impossible" in text
    assert bench_kms.summary([]) == ""


# -- plots ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plot",
    [
        bench_plots.plot_ops_per_second,
        bench_plots.plot_latency_vs_size,
        bench_plots.plot_sign_verify,
        bench_plots.plot_sizes,
        bench_plots.plot_by_strength,
        bench_kms.plot_envelope,
        bench_plots.plot_overview,
    ],
)
def test_plots_return_figures(results: bench.Results, plot: Any) -> None:
    from matplotlib.figure import Figure

    fig = plot(results.records)
    assert isinstance(fig, Figure)
    assert fig.axes and all(ax.has_data() or not ax.axison for ax in fig.axes)


def test_ops_per_second_has_a_bar_per_pair_and_layer(results: bench.Results) -> None:
    fig = bench_plots.plot_ops_per_second(results.records, operations=["sign", "verify"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "ECC_NIST_P256 sign ECDSA_SHA_256",
        "ECC_NIST_P256 verify ECDSA_SHA_256",
    ]
    assert len(ax.patches) == 4  # two operations, two layers
    assert ax.get_xscale() == "log"


# -- the command line and the names kmslab.bench re-exports -----------------------------------


def test_cli_bench(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = {ext: tmp_path / f"bench.{ext}" for ext in ("json", "csv", "png")}
    argv = ["bench", "--mode", "test", "--only", "hmac", "--json", str(paths["json"])]
    argv += ["--csv", str(paths["csv"]), "--plot", str(paths["png"])]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "HMAC_224" in out and "generate_mac" in out and "test mode" in out
    rows = json.loads(paths["json"].read_text())
    assert {r["key_spec"] for r in rows} == {"HMAC_224"}
    assert all(set(r) >= REQUIRED for r in rows)
    assert paths["csv"].exists() and paths["png"].read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_an_unknown_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--only", "dsa"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_importing_bench_stays_light() -> None:
    # The split-out modules first: each imports without kmslab.bench having been imported.
    code = (
        "import sys, kmslab.bench.harness, kmslab.bench.openssl, kmslab.bench.progress, "
        "kmslab.bench, kmslab.bench.kms_view, kmslab.bench.plots; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'boto3', 'botocore') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (bench_openssl, bench_openssl.__all__),
        (bench_harness, bench_harness.__all__),
        (bench_progress, bench_progress.__all__),
    ],
)
def test_moved_names_are_still_found_in_bench(module: Any, names: list[str]) -> None:
    # Notebooks, widgets and scripts call bench.notebook_progress, bench.default_progress...
    for name in names:
        assert getattr(bench, name) is getattr(module, name)
        assert name in bench.__all__
