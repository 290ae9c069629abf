"""Fixtures for the policy tests: a fresh LocalKMS and a caller of any principal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kmslab.exceptions import KMSError
from kmslab.kms.service import LocalKMS


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS()


@pytest.fixture
def as_principal(kms: LocalKMS) -> Callable[..., Any]:
    """``as_principal(arn, "Encrypt", KeyId=...)``: the call's result, or the KMSError."""

    def call(arn: str, operation: str, **params: Any) -> Any:
        with kms.acting_as(arn):
            try:
                return kms.call(operation, **params)
            except KMSError as err:
                return err

    return call
