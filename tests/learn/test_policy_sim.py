"""The policy simulator: every cell is a real call, and agrees with the evaluator."""

from __future__ import annotations

import json

import pytest

from kmslab.kms.service import LocalKMS
from kmslab.learn import policy_sim

ANALYST = "arn:aws:iam::111122223333:role/Analyst"
AUDITOR = "arn:aws:iam::111122223333:role/Auditor"


@pytest.fixture
def kms():
    kms = LocalKMS()
    kms.iam.create_role("Analyst")
    kms.iam.create_role(
        "Auditor",
        policy={"Statement": [{"Effect": "Allow", "Action": "kms:Describe*", "Resource": "*"}]},
    )
    return kms


def test_grid_from_real_calls(kms):
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": ANALYST},
        "Action": ["kms:Decrypt", "kms:ReEncrypt*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}},
    }
    grid = policy_sim.simulate(kms, statement, principals=[ANALYST, AUDITOR])
    assert grid.error is None
    expected_analyst = {"Decrypt", "ReEncrypt"}
    for op in policy_sim.OPERATIONS:
        assert grid.cells[ANALYST, op] == ("allowed" if op in expected_analyst else "denied"), op
        assert grid.cells[AUDITOR, op] == ("allowed" if op == "DescribeKey" else "denied"), op
    assert grid.reasons[ANALYST, "Decrypt"].startswith("allowed by key policy")
    assert grid.reasons[AUDITOR, "DescribeKey"].startswith("allowed by IAM policy")
    assert "mismatch" not in grid.cells.values()


def test_deny_statement(kms):
    grid = policy_sim.simulate(
        kms,
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Describe*", "Resource": "*"},
        principals=[AUDITOR],
        operations=["DescribeKey"],
    )
    assert grid.cells[AUDITOR, "DescribeKey"] == "denied"
    assert "explicit deny in a resource-based policy" in grid.reasons[AUDITOR, "DescribeKey"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{not json", "not valid JSON"),
        (
            json.dumps(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/Nobody"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ),
            "invalid principals",
        ),
    ],
)
def test_refused_statements(kms, text, error):
    grid = policy_sim.simulate(kms, text, principals=[ANALYST])
    assert error in (grid.error or "")
    assert "refused" in repr(grid)


def test_widget(kms):
    box = policy_sim.simulator(kms, [ANALYST, AUDITOR])
    assert "allowed" in box.controls.result.value
    box.controls.statement.value = json.dumps(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ANALYST},
            "Action": "kms:GetKeyPolicy",
            "Resource": "*",
        }
    )
    box.controls.run.click()
    html = box.controls.result.value
    assert html.count(">allowed<") == 2  # Analyst GetKeyPolicy, Auditor DescribeKey
    box.controls.statement.value = "{"
    box.controls.run.click()
    assert "not valid JSON" in box.controls.result.value


def test_a_statement_kms_refuses_is_not_called_bad_json(kms):
    nobody = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Nobody"},
              "Action": "kms:*", "Resource": "*"}  # fmt: skip
    grid = policy_sim.simulate(kms, nobody, principals=[ANALYST])
    assert grid.error is not None and grid.error.startswith("MalformedPolicyDocumentException")


def test_hover_text_says_what_no_policy_allows(kms):
    grid = policy_sim.simulate(kms, [], principals=[AUDITOR], operations=["Encrypt"])
    assert "no identity-based policy allows kms:Encrypt" in grid.reasons[AUDITOR, "Encrypt"]
