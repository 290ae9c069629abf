"""The operations matrix: derived from the rules, measured on a local KMS, and both held to
AWS's "operations by key type" table, copied here by hand from the AWS KMS Developer Guide
(symm-asymm-compare.html), independently of kmslab's code."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from matplotlib.figure import Figure

from kmslab import specs
from kmslab.cli import main
from kmslab.kms.registry import HANDLERS
from kmslab.kms.rules import OPERATIONS
from kmslab.kms.service import LocalKMS
from kmslab.learn.compare import (
    ARGUMENTS,
    MATRIX_OPERATIONS,
    SETUPS,
    Cell,
    Matrix,
    derived_matrix,
    diff,
    measured_matrix,
    plot,
    to_html,
    to_markdown,
    to_records,
    to_text,
)

COLUMNS = ("SYM", "HMAC", "A-ED", "A-SV", "A-KA", "A-KEM")

# AWS KMS Developer Guide, "Key type reference": Y = the key type may use the operation.
# Rows the guide groups ("aliases", "tags", "grants", "key policies") are spelled out per
# operation (ListRetirableGrants names no key, so it has no row).
# The import operations need Origin EXTERNAL and the rotation ones Origin AWS_KMS; the
# guide allows import for symmetric, HMAC and asymmetric keys alike.
AWS_TABLE = """
operation                            SYM HMAC A-ED A-SV A-KA A-KEM
Encrypt                              Y   N    Y    N    N    N
Decrypt                              Y   N    Y    N    N    N
ReEncrypt                            Y   N    Y    N    N    N
GenerateDataKey                      Y   N    N    N    N    N
GenerateDataKeyWithoutPlaintext      Y   N    N    N    N    N
GenerateDataKeyPair                  Y   N    N    N    N    N
GenerateDataKeyPairWithoutPlaintext  Y   N    N    N    N    N
GenerateMac                          N   Y    N    N    N    N
VerifyMac                            N   Y    N    N    N    N
Sign                                 N   N    N    Y    N    N
Verify                               N   N    N    Y    N    N
DeriveSharedSecret                   N   N    N    N    Y    N
Encapsulate                          N   N    N    N    N    Y
Decapsulate                          N   N    N    N    N    Y
GetPublicKey                         N   N    Y    Y    Y    Y
CreateKey                            Y   Y    Y    Y    Y    Y
DescribeKey                          Y   Y    Y    Y    Y    Y
EnableKey                            Y   Y    Y    Y    Y    Y
DisableKey                           Y   Y    Y    Y    Y    Y
ScheduleKeyDeletion                  Y   Y    Y    Y    Y    Y
CancelKeyDeletion                    Y   Y    Y    Y    Y    Y
UpdateKeyDescription                 Y   Y    Y    Y    Y    Y
TagResource                          Y   Y    Y    Y    Y    Y
UntagResource                        Y   Y    Y    Y    Y    Y
ListResourceTags                     Y   Y    Y    Y    Y    Y
CreateAlias                          Y   Y    Y    Y    Y    Y
UpdateAlias                          Y   Y    Y    Y    Y    Y
ListAliases                          Y   Y    Y    Y    Y    Y
GetKeyPolicy                         Y   Y    Y    Y    Y    Y
PutKeyPolicy                         Y   Y    Y    Y    Y    Y
ListKeyPolicies                      Y   Y    Y    Y    Y    Y
CreateGrant                          Y   Y    Y    Y    Y    Y
ListGrants                           Y   Y    Y    Y    Y    Y
RetireGrant                          Y   Y    Y    Y    Y    Y
RevokeGrant                          Y   Y    Y    Y    Y    Y
GetKeyRotationStatus                 Y   Y    Y    Y    Y    Y
EnableKeyRotation                    Y   N    N    N    N    N
DisableKeyRotation                   Y   N    N    N    N    N
RotateKeyOnDemand                    Y   N    N    N    N    N
ListKeyRotations                     Y   N    N    N    N    N
GetParametersForImport               Y   Y    Y    Y    Y    Y
ImportKeyMaterial                    Y   Y    Y    Y    Y    Y
DeleteImportedKeyMaterial            Y   Y    Y    Y    Y    Y
"""

# The error a refused key type gets (reference section 6): InvalidKeyUsageException for
# cryptographic operations, UnsupportedOperationException for GetPublicKey and rotation.
AWS_REFUSALS = {
    # The key KeyId names did not make the ciphertext (LocalStack's recording of real AWS,
    # test_error_messaging_for_invalid_keys/decrypt-invalid-key-id).
    "Decrypt": "IncorrectKeyException",
    "ReEncrypt": "IncorrectKeyException",
    "GetPublicKey": "UnsupportedOperationException",
    "EnableKeyRotation": "UnsupportedOperationException",
    "DisableKeyRotation": "UnsupportedOperationException",
    "RotateKeyOnDemand": "UnsupportedOperationException",
    "ListKeyRotations": "UnsupportedOperationException",
}
DEFAULT_REFUSAL = "InvalidKeyUsageException"


def _aws_table() -> dict[tuple[str, str], bool]:
    lines = [line.split() for line in AWS_TABLE.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[1:]) == COLUMNS
    table = {}
    for row in rows:
        assert len(row) == 7, row
        for column, mark in zip(COLUMNS, row[1:], strict=True):
            assert mark in "YN"
            table[(row[0], column)] = mark == "Y"
    return table


AWS = _aws_table()


@pytest.fixture(scope="session")
def derived() -> Matrix:
    return derived_matrix()


@pytest.fixture(scope="session")
def lab_kms() -> LocalKMS:
    return LocalKMS()


@pytest.fixture(scope="session")
def measured(lab_kms: LocalKMS) -> Matrix:
    # One measurement for the module: a key of all 28 pairs, RSA-4096 included.
    return measured_matrix(lab_kms)


# -- the three sources agree -------------------------------------------------------------


def test_the_hand_table_covers_exactly_the_matrix_operations() -> None:
    assert {op for op, _ in AWS} == set(MATRIX_OPERATIONS)


def test_every_cell_is_one_operation_on_one_valid_pair(derived: Matrix) -> None:
    pairs = specs.valid_pairs()
    assert len(pairs) == 28
    assert derived.pairs == tuple(pairs)
    assert derived.operations == MATRIX_OPERATIONS
    assert len(derived) == len(MATRIX_OPERATIONS) * len(pairs)
    assert len({(c.operation, c.key_spec, c.key_usage) for c in derived}) == len(derived)


def test_every_key_type_column_is_represented(derived: Matrix) -> None:
    assert {c.key_type for c in derived} == set(COLUMNS)


def _against_aws(m: Matrix) -> list[str]:
    wrong = []
    for c in m:
        expected = AWS[(c.operation, c.key_type)]
        refusal = None if expected else AWS_REFUSALS.get(c.operation, DEFAULT_REFUSAL)
        if (c.allowed, c.error) != (expected, refusal):
            wrong.append(
                f"{c.operation} {c.pair}: {c.allowed} {c.error}, AWS: {expected} {refusal}"
            )
    return wrong


def test_derived_matrix_agrees_with_aws_table(derived: Matrix) -> None:
    assert _against_aws(derived) == []


def test_measured_matrix_agrees_with_aws_table(measured: Matrix) -> None:
    assert _against_aws(measured) == []


def test_derived_and_measured_agree_cell_for_cell(derived: Matrix, measured: Matrix) -> None:
    assert diff(derived, measured) == []
    assert [(c.operation, c.key_spec, c.key_usage) for c in derived] == [
        (c.operation, c.key_spec, c.key_usage) for c in measured
    ]


def test_every_cell_is_measured(measured: Matrix) -> None:
    # kmslab implements every operation of the rules table and every key family (SM2 keys
    # are measured in a China Region, the only place AWS offers them).
    assert set(OPERATIONS) <= set(HANDLERS)
    assert measured.unmeasured == ()
    sm2 = measured.cell("Sign", "SM2", "SIGN_VERIFY")
    assert sm2.allowed and sm2.note is None


def test_measured_refusals_carry_the_aws_message(measured: Matrix) -> None:
    cell = measured.cell("Encrypt", "HMAC_256", "GENERATE_VERIFY_MAC")
    assert cell.message is not None
    assert cell.message.startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert cell.message.endswith("key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.")
    get_public = measured.cell("GetPublicKey", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert get_public.error == "UnsupportedOperationException"


def test_refused_calls_use_arguments_valid_for_a_key_type_that_can() -> None:
    # Encrypt on an HMAC key passes SYMMETRIC_DEFAULT, so only the key type refuses it.
    lab_args = ARGUMENTS["Encrypt"]
    info = specs.get("HMAC_256")
    assert lab_args(None, info, "GENERATE_VERIFY_MAC", "k")["EncryptionAlgorithm"] == (  # type: ignore[arg-type]
        "SYMMETRIC_DEFAULT"
    )
    # Sign on an RSA ENCRYPT_DECRYPT key passes RSA's own first signing algorithm.
    sign = ARGUMENTS["Sign"](None, specs.get("RSA_3072"), "ENCRYPT_DECRYPT", "k")  # type: ignore[arg-type]
    assert sign["SigningAlgorithm"] == "RSASSA_PSS_SHA_256"


def test_measurement_leaves_every_key_enabled(lab_kms: LocalKMS, measured: Matrix) -> None:
    states = {(k.info.name, k.usage, k.origin): k.state for k in lab_kms.keys.values()}
    # The AWS_KMS key of each pair is back to Enabled; EXTERNAL keys end without material.
    assert {s for (_, _, origin), s in states.items() if origin == "AWS_KMS"} == {"Enabled"}
    assert {s for (_, _, origin), s in states.items() if origin == "EXTERNAL"} == {"PendingImport"}
    # SM2's three pairs live in a China Region's LocalKMS, not in this one.
    assert sum(1 for (_, _, origin) in states if origin == "AWS_KMS") == 25


def test_the_measurement_module_imports_first_and_is_re_exported() -> None:
    # kmslab.learn.compare imports kmslab.learn.measure; the reverse happens only when measuring.
    code = (
        "import sys, kmslab.learn.measure as m, kmslab.learn.compare as c; "
        "assert c.measured_matrix is m.measured_matrix and c.SETUPS is m.SETUPS; "
        "assert c.ARGUMENTS is m.ARGUMENTS and c.MeasurementError is m.MeasurementError; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_measured_operation_has_arguments() -> None:
    assert set(MATRIX_OPERATIONS) - {"CreateKey"} <= set(ARGUMENTS)
    for op, setup in SETUPS.items():
        assert op in MATRIX_OPERATIONS
        assert set(setup.before) | set(setup.after) <= set(ARGUMENTS)
        assert set(setup.reuse) <= set(setup.before)


# -- diff ------------------------------------------------------------------------------------


def test_diff_reports_changed_missing_and_extra_cells(derived: Matrix) -> None:
    cells = list(derived)
    first, second = cells[0], cells[1]
    changed = Cell(
        first.operation, first.key_spec, first.key_usage, first.key_type, False, "DisabledException"
    )
    extra = Cell("Frobnicate", "RSA_2048", "SIGN_VERIFY", "A-SV", True)
    other = [changed, *cells[2:], extra]
    found = {(d.operation, d.key_spec, d.key_usage): d for d in diff(derived, other)}
    assert set(found) == {
        (first.operation, first.key_spec, first.key_usage),
        (second.operation, second.key_spec, second.key_usage),
        ("Frobnicate", "RSA_2048", "SIGN_VERIFY"),
    }
    assert found[(second.operation, second.key_spec, second.key_usage)].right is None
    assert found[("Frobnicate", "RSA_2048", "SIGN_VERIFY")].left is None
    assert "allowed vs refused (DisabledException)" in str(
        found[(first.operation, first.key_spec, first.key_usage)]
    )


def test_diff_ignores_messages(derived: Matrix) -> None:
    reworded = [replace(c, message="other words") for c in derived]
    assert diff(derived, reworded) == []


# -- views and renderings --------------------------------------------------------------------


def test_by_key_type_groups_the_pairs_of_each_type(derived: Matrix) -> None:
    groups = derived.by_key_type()
    assert len(groups) == len(MATRIX_OPERATIONS) * len(COLUMNS)
    sign = groups[("Sign", "A-SV")]
    # RSA x3, NIST curves x3, secp256k1, Ed25519, ML-DSA x3, SM2: 12 signing pairs.
    assert sign.allowed is True and len(sign.cells) == 12 and sign.errors == ()
    assert groups[("Sign", "SYM")].errors == ("InvalidKeyUsageException",)


def test_text_table_by_key_type(derived: Matrix) -> None:
    text = to_text(derived)
    lines = text.splitlines()
    assert lines[0].split() == ["operation", *COLUMNS]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if line.startswith("  ")}
    assert rows["Encrypt"] == ["yes", "IKU", "yes", "IKU", "IKU", "IKU"]
    assert rows["GetPublicKey"] == ["UO", "UO", "yes", "yes", "yes", "yes"]
    assert rows["RotateKeyOnDemand"] == ["yes", "UO", "UO", "UO", "UO", "UO"]
    assert lines.index("Data plane") < lines.index("Key management")
    assert (
        "IK = IncorrectKeyException, IKU = InvalidKeyUsageException, "
        "UO = UnsupportedOperationException"
    ) in lines


def test_text_table_by_spec_has_a_column_per_pair(derived: Matrix) -> None:
    text = to_text(derived, by="spec", operations=["Sign"])
    sign = next(line for line in text.splitlines() if line.strip().startswith("Sign"))
    marks = sign.split()[1:]
    assert len(marks) == 28
    expected = ["yes" if specs.key_type(s, u) == "A-SV" else "IKU" for s, u in specs.valid_pairs()]
    assert marks == expected
    assert "SV = SIGN_VERIFY" in text


def test_markdown_table(derived: Matrix) -> None:
    lines = to_markdown(derived).splitlines()
    assert lines[0] == "| operation | SYM | HMAC | A-ED | A-SV | A-KA | A-KEM |"
    row = next(line for line in lines if line.startswith("| DeriveSharedSecret |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells == ["InvalidKeyUsageException"] * 4 + ["✓", "InvalidKeyUsageException"]


def test_html_table_colours_and_hover_text(derived: Matrix) -> None:
    page = to_html(derived)
    assert page.count("<tr>") == 1 + 2 + len(MATRIX_OPERATIONS)  # header, 2 planes, rows
    assert page.count("background:#c8e6c9") == sum(AWS.values())
    assert page.count("background:#ffcdd2") == sum(not v for v in AWS.values())
    assert 'title="UnsupportedOperationException: GetPublicKey is not valid for HMAC' in page
    assert derived._repr_html_() == page


def test_html_by_spec_escapes_and_abbreviates(measured: Matrix) -> None:
    page = to_html(measured, by="spec")
    assert page.count("<th style") >= 28
    assert ">IKU</td>" in page
    assert "arn:aws:kms:us-east-1:111122223333:key/" in page  # measured messages as hover
    assert "<script" not in page


def test_plot_returns_a_figure_without_pyplot(derived: Matrix) -> None:
    import sys

    fig = plot(derived)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(COLUMNS)
    assert len(ax.get_yticklabels()) == len(MATRIX_OPERATIONS)
    assert "matplotlib.pyplot" not in sys.modules or fig.canvas.manager is None
    by_spec = derived.plot(by="spec")
    assert len(by_spec.axes[0].get_xticklabels()) == 28


def test_records(derived: Matrix) -> None:
    records = to_records(derived)
    assert len(records) == len(derived)
    assert records[0] == {
        "operation": "Encrypt",
        "key_type": "SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT",
        "allowed": True,
        "error": None,
    }
    assert all(set(r) == {"operation", "key_type", "allowed", "error"} for r in records)


def test_unknown_view_is_refused(derived: Matrix) -> None:
    with pytest.raises(ValueError, match="by must be"):
        derived.to_text(by="family")  # type: ignore[arg-type]


# -- command line ------------------------------------------------------------------------


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_prints_the_key_type_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["operation", *COLUMNS]
    assert "GenerateDataKeyPair" in out


def test_cli_by_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--by", "spec"]) == 0
    encrypt = next(line for line in capsys.readouterr().out.splitlines() if "  Encrypt " in line)
    assert len(encrypt.split()) == 1 + 28


def test_cli_json_records(capsys: pytest.CaptureFixture[str]) -> None:
    records = _json(capsys, ["compare", "--json"])
    assert len(records) == len(MATRIX_OPERATIONS) * 28
    by_key = {(r["operation"], r["key_type"]): r for r in records}
    assert by_key[("Encrypt", "RSA_2048/ENCRYPT_DECRYPT")] == {
        "operation": "Encrypt",
        "key_type": "RSA_2048/ENCRYPT_DECRYPT",
        "allowed": True,
        "error": None,
    }
    assert by_key[("Encrypt", "RSA_2048/SIGN_VERIFY")]["error"] == "InvalidKeyUsageException"


def test_cli_markdown_and_html(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("| operation | SYM |")
    assert main(["compare", "--format", "html", "--by", "spec"]) == 0
    assert capsys.readouterr().out.startswith('<table class="kmslab-matrix"')


def test_cli_rejects_json_with_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--json", "--format", "html"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_cli_measured_json_and_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, measured: Matrix
) -> None:
    # The session's measurement stands in for a new one (the CLI wiring is what is tested).
    monkeypatch.setattr("kmslab.cli.compare.measured_matrix", lambda: measured)
    records = _json(capsys, ["compare", "--measured", "--json"])
    assert not [r for r in records if "note" in r]  # every cell measured, SM2's included
    assert main(["compare", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(measured)} of {len(measured)} cells agree")


def test_cli_check_reports_disagreement(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, derived: Matrix
) -> None:
    broken = Matrix(
        tuple(replace(c, allowed=True, error=None) if c.operation == "Sign" else c for c in derived)
    )
    monkeypatch.setattr("kmslab.cli.compare.measured_matrix", lambda: broken)
    assert main(["compare", "--check"]) == 1
    out = capsys.readouterr().out
    assert (
        "Sign on SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT: refused (InvalidKeyUsageException) vs allowed"
        in out
    )
