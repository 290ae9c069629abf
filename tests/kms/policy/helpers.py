"""Helpers for the policy tests: ARNs, policies and AWS's AccessDeniedException texts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kmslab.exceptions import AccessDeniedException

ACCOUNT = "111122223333"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session_arn(name: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/kmslab"


def key_policy(*statements: dict[str, Any], root: bool = True) -> str:
    """A key policy: the default statement delegating to IAM (if ``root``) plus these."""
    head = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    return json.dumps(
        {"Version": "2012-10-17", "Statement": (head if root else []) + list(statements)}
    )


def identity_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def denied(action: str, caller: str, resource: str, reason: str) -> str:
    """AWS's AccessDeniedException message (the fidelity ledger's AccessDeniedException rows)."""
    head = f"User: {caller} is not authorized to perform: {action} on resource: {resource}"
    if reason.startswith("explicit"):
        return f"{head} with an {reason}"
    return f"{head} because {reason} allows the {action} action"


@contextmanager
def refused(message: str | None = None) -> Iterator[None]:
    """Expect AccessDeniedException (with exactly ``message``, if given)."""
    with pytest.raises(AccessDeniedException) as info:
        yield
    if message is not None:
        assert info.value.message == message
