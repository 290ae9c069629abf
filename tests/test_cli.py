"""The ``kmslab`` console script (:mod:`kmslab.cli`) and its ``specs`` command."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

import kmslab
from kmslab import cli, specs
from kmslab.learn.spec_table import render_detail, render_table, spec_to_dict, summarise_algorithms

SPEC_NAMES = list(specs.KEY_SPECS)


def table_specs(text: str) -> list[str]:
    """The KeySpec column of a ``kmslab specs`` table (continuation lines have none)."""
    lines = text.splitlines()
    assert lines[0].startswith("KeySpec")
    return [line.split()[0] for line in lines[1:] if line and not line[0].isspace()]


# -- the top-level command ---------------------------------------------------------------


def test_subcommand_table() -> None:
    assert cli.SUBCOMMANDS == {
        "specs": "kmslab.cli.specs",
        "compare": "kmslab.cli.compare",
        "choose": "kmslab.cli.choose",
        "bench": "kmslab.cli.bench",
        "serve": "kmslab.cli.serve",
        "xks-proxy": "kmslab.cli.xks_proxy",
    }


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"kmslab {kmslab.__version__}\n"


def test_help_lists_specs(capsys: pytest.CaptureFixture[str]) -> None:
    from kmslab.cli import specs

    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kmslab")
    assert "--version" in out
    assert "specs" in out
    assert specs.HELP.split()[0] in out


def test_no_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    assert "usage: kmslab" in capsys.readouterr().out


def test_unknown_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'frobnicate'" in err


def test_subcommand_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kmslab specs")
    assert "--json" in out
    assert "--usage" in out


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for throwaway subcommand modules, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("kmslab_test_"):
            del sys.modules[name]


FAKE = '''
"""A fake subcommand: exits with the status it is given."""
import argparse

HELP = "a fake subcommand for the tests"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    print("fake ran")
    return int(args.status)
'''


def test_missing_module_is_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.SUBCOMMANDS, "ghost", "kmslab_test_no_such_module")
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "ghost" not in out
    assert "specs" in out
    assert cli.main(["ghost"]) == 2
    assert "invalid choice: 'ghost'" in capsys.readouterr().err


def test_module_with_a_missing_import_is_an_error(
    module_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (module_dir / "kmslab_test_broken.py").write_text("import kmslab_test_not_installed\n")
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", "kmslab_test_broken")
    with pytest.raises(ModuleNotFoundError, match="kmslab_test_not_installed"):
        cli.main(["--help"])


def test_dispatch_returns_the_run_status(
    module_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (module_dir / "kmslab_test_fake.py").write_text(textwrap.dedent(FAKE))
    monkeypatch.setitem(cli.SUBCOMMANDS, "fake", "kmslab_test_fake")
    assert cli.main(["fake", "--status", "3"]) == 3
    assert capsys.readouterr().out == "fake ran\n"
    assert cli.main(["fake"]) == 0


def test_only_the_requested_subcommand_is_imported(
    module_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (module_dir / "kmslab_test_fake.py").write_text(textwrap.dedent(FAKE))
    (module_dir / "kmslab_test_broken.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.setitem(cli.SUBCOMMANDS, "fake", "kmslab_test_fake")
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", "kmslab_test_broken")
    assert cli.main(["fake"]) == 0
    assert "kmslab_test_broken" not in sys.modules
    with pytest.raises(RuntimeError, match="imported"):  # the top-level help needs them all
        cli.main(["--help"])


# -- kmslab specs: text ------------------------------------------------------------------


def test_specs_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs"]) == 0
    out = capsys.readouterr().out
    assert table_specs(out) == SPEC_NAMES
    lines = out.splitlines()
    header = lines[0]
    for column in ("KeySpec", "family", "type", "security bits", "public key bytes", "usage"):
        assert column in header
    # One line per (spec, usage), and the usage column is aligned under its header.
    assert len(lines) == 1 + len(specs.valid_pairs())
    start = header.index("usage")
    assert [line[start:].split()[0] for line in lines[1:]] == [u for _, u in specs.valid_pairs()]
    rsa = next(line for line in lines if line.startswith("RSA_2048 "))
    assert rsa.split()[1:6] == ["rsa", "asymmetric", "112", "294", "ENCRYPT_DECRYPT"]
    assert "RSAES_OAEP_SHA_{1,256}" in rsa
    hmac = next(line for line in lines if line.startswith("HMAC_224 "))
    assert hmac.split()[1:6] == ["hmac", "symmetric", "192", "-", "GENERATE_VERIFY_MAC"]


def test_summarise_algorithms_keeps_every_name() -> None:
    for info in specs.all_specs():
        for usage in info.usages:
            summary = summarise_algorithms(usage.algorithm_names)
            for name in usage.algorithm_names:
                prefix, _, last = name.rpartition("_")
                assert name in summary or (prefix in summary and last in summary), name


def test_specs_usage_filter(capsys: pytest.CaptureFixture[str]) -> None:
    for usage in specs.KEY_USAGES:
        assert cli.main(["specs", "--usage", usage]) == 0
        out = capsys.readouterr().out
        assert table_specs(out) == [s.name for s in specs.for_usage(usage)]
    assert table_specs(render_table(specs.for_usage("KEY_AGREEMENT"))) == [
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "SM2",
    ]


def test_specs_unknown_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "--usage", "SIGN"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "'SIGN'" in captured.err
    for usage in specs.KEY_USAGES:
        assert usage in captured.err


def test_specs_detail(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "RSA_2048"]) == 0
    out = capsys.readouterr().out
    info = specs.get("RSA_2048")
    assert out.startswith(f"RSA_2048: {info.summary}")
    # Human labels with units, not field names (spec_table.FIELD_LABELS).
    for label in (
        "family",
        "symmetric",
        "default KeyUsage",
        "security strength (bits)",
        "key size (bits)",
        "public key, DER SubjectPublicKeyInfo (bytes)",
        "offered as a data key pair",
        "AWS Regions",
        "also in the deprecated CustomerMasterKeySpec",
    ):
        assert f"\n{label} " in out, label
    assert "_" not in "".join(line.split("  ")[0] for line in out.splitlines()[2:12])
    for usage in info.usages:
        assert f"\n{usage.name} (" in out
        for algorithm in usage.algorithms:
            assert f"\n  {algorithm.name}\n" in out
    assert re.search(r"largest plaintext \(bytes\) +214", out)
    assert re.search(r"largest plaintext \(bytes\) +190", out)
    assert re.search(r"padding +OAEP", out)
    assert re.search(r"signature size, at most \(bytes\) +256", out)
    assert re.search(r"public key, DER SubjectPublicKeyInfo \(bytes\) +294", out)


def test_detail_puts_each_note_on_its_own_line() -> None:
    info = dataclasses.replace(specs.get("SM2"), notes=("First note.", "Second, longer note."))
    lines = render_detail(info).splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("notes "))
    assert lines[first].endswith("  First note.")
    assert lines[first + 1].strip() == "Second, longer note."
    assert lines[first + 1].index("Second") == lines[first].index("First")


def test_specs_detail_with_matching_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "ECC_NIST_P256", "--usage", "KEY_AGREEMENT"]) == 0
    assert re.search(r"shared secret size \(bytes\) +32", capsys.readouterr().out)


def test_specs_detail_with_other_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "ECC_SECG_P256K1", "--usage", "KEY_AGREEMENT"]) == 2
    err = capsys.readouterr().err
    assert "ECC_SECG_P256K1 does not allow key usage KEY_AGREEMENT" in err
    assert "SIGN_VERIFY" in err


def test_specs_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "RSA_1024"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Unknown key spec 'RSA_1024'" in captured.err
    for name in SPEC_NAMES:
        assert name in captured.err


# -- kmslab specs: JSON ------------------------------------------------------------------


def _expected_algorithm(algorithm: specs.Algorithm) -> dict[str, Any]:
    """The JSON an algorithm should become: its non-empty fields, tuples as lists."""
    out: dict[str, Any] = {}
    for field in algorithm.__dataclass_fields__:
        value = getattr(algorithm, field)
        if value is not None and value != ():
            out[field] = list(value) if isinstance(value, tuple) else value
    return out


def test_specs_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == SPEC_NAMES
    for row in rows:
        info = specs.get(row["name"])
        for key in ("family", "symmetric", "key_bits", "security_bits", "data_key_pair"):
            assert row[key] == getattr(info, key), (info.name, key)
        for key in ("regions", "standard"):
            assert row[key] == getattr(info, key), (info.name, key)
        for key in ("curve", "default_usage", "public_key_der_bytes", "key_bytes"):
            assert row.get(key) == getattr(info, key), (info.name, key)
        assert [u["name"] for u in row["usages"]] == list(info.usage_names)
        for u_json, usage in zip(row["usages"], info.usages, strict=True):
            assert u_json["algorithms"] == [_expected_algorithm(a) for a in usage.algorithms]


def test_spec_to_dict_leaves_out_fields_that_do_not_apply() -> None:
    sym = spec_to_dict(specs.get("SYMMETRIC_DEFAULT"))
    assert "curve" not in sym and "public_key_der_bytes" not in sym
    assert sym["key_bytes"] == 32
    (algorithm,) = sym["usages"][0]["algorithms"]
    assert algorithm == {
        "name": "SYMMETRIC_DEFAULT",
        "kind": "encryption",
        "standard": "FIPS 197 (AES-256), NIST SP 800-38D (GCM)",
        "max_plaintext_bytes": specs.MAX_MESSAGE_BYTES,
    }
    hmac = spec_to_dict(specs.get("HMAC_256"))
    assert "default_usage" not in hmac  # HMAC keys need an explicit KeyUsage
    assert json.loads(json.dumps(hmac)) == hmac


def test_specs_json_with_usage_and_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["specs", "--json", "--usage", "ENCAPSULATE_DECAPSULATE"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"]
    assert cli.main(["specs", "--json", "ML_DSA_65"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row == spec_to_dict(specs.get("ML_DSA_65"))
    assert row["usages"][0]["algorithms"][0]["message_types"] == ["RAW", "EXTERNAL_MU"]


# -- the installed command, in a fresh interpreter ---------------------------------------

KIND_SHAPES = {
    "encryption": "EncryptionAlgorithmSpec",
    "signing": "SigningAlgorithmSpec",
    "mac": "MacAlgorithmSpec",
    "key_agreement": "KeyAgreementAlgorithmSpec",
    "encapsulation": "EncapsulationAlgorithmSpec",
}


def test_python_m_kmslab_specs_json_matches_botocore(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kmslab", "specs", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    rows = json.loads(proc.stdout)
    model = botocore.session.get_session().get_service_model("kms")

    def enum(shape: str) -> set[str]:
        return set(model.shape_for(shape).enum)

    assert {r["name"] for r in rows} == enum("KeySpec")
    assert len(rows) == 20
    usages = {u["name"] for r in rows for u in r["usages"]}
    assert usages == enum("KeyUsageType")
    for kind, shape in KIND_SHAPES.items():
        names = {
            a["name"]
            for r in rows
            for u in r["usages"]
            for a in u["algorithms"]
            if a["kind"] == kind
        }
        assert names == enum(shape), kind
    # And per spec, exactly the catalogue's usages and algorithms.
    for row in rows:
        info = specs.get(row["name"])
        assert {u["name"] for u in row["usages"]} == set(info.usage_names)
        for u in row["usages"]:
            assert {a["name"] for a in u["algorithms"]} == set(
                specs.algorithm_names(info.name, u["name"])
            )


def test_console_script_version(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("kmslab")
    if not script.exists():
        pytest.skip("the kmslab console script is not installed next to this interpreter")
    proc = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, f"kmslab {kmslab.__version__}\n")
