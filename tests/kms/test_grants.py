"""Grants in the local KMS (kmslab.kms.ops.grants), through a real boto3 client: create, list,
retire and revoke; Name idempotence; which grant operations each key type takes; constraints;
paging; DryRun without side effects; key states; grants gone with their key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from kmslab.kms.ops.grants import GRANT_OPERATIONS
from kmslab.kms.service import LocalKMS
from kmslab.kms.wire import service_model

Meta = dict[str, Any]

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:role/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:role/bob"
RETIRER = f"arn:aws:iam::{ACCOUNT}:role/retirer"
DRY_RUN = "The request would have succeeded, but the DryRun option is set."

#: A cheap key of each key type.
KEY_TYPES = {
    "SYM": ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "HMAC": ("HMAC_256", "GENERATE_VERIFY_MAC"),
    "A-ED": ("RSA_2048", "ENCRYPT_DECRYPT"),
    "A-SV": ("ECC_NIST_P256", "SIGN_VERIFY"),
    "A-KA": ("ECC_NIST_P256", "KEY_AGREEMENT"),
    "A-KEM": ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
}

# Which grant operations each key type takes, written out by hand from the AWS KMS Developer
# Guide ("Grant operations" and the key type reference), not read from kmslab's tables.
_EVERY_KEY = {"DescribeKey", "CreateGrant", "RetireGrant"}
GRANTABLE = {
    "SYM": _EVERY_KEY
    | {
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    },
    "HMAC": _EVERY_KEY | {"GenerateMac", "VerifyMac"},
    "A-ED": _EVERY_KEY | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
    "A-SV": _EVERY_KEY | {"Sign", "Verify", "GetPublicKey"},
    "A-KA": _EVERY_KEY | {"DeriveSharedSecret", "GetPublicKey"},
    "A-KEM": _EVERY_KEY | {"Encapsulate", "Decapsulate", "GetPublicKey"},
}
GRANT_OPERATION_ENUM = list(service_model().shape_for("GrantOperation").enum)


@pytest.fixture(scope="module")
def kms() -> LocalKMS:
    """A LocalKMS of this module's own, so grants never reach the session's cached keys."""
    return LocalKMS()


@pytest.fixture(scope="module")
def client(kms: LocalKMS) -> Any:
    return kms.client()


@pytest.fixture(scope="module")
def typed_keys(kms: LocalKMS) -> dict[str, Meta]:
    """One key per key type, shared by the tests that only add grants and remove them."""
    return {
        label: kms.call("CreateKey", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        for label, (spec, usage) in KEY_TYPES.items()
    }


@pytest.fixture
def key(kms: LocalKMS) -> Meta:
    """A fresh symmetric encryption key, for tests that change or fill a key."""
    meta: Meta = kms.call("CreateKey")["KeyMetadata"]
    return meta


def _grant(client: Any, key: Meta, **params: Any) -> Meta:
    """CreateGrant for ALICE to Decrypt, unless ``params`` say otherwise (None: leave out)."""
    request = {"KeyId": key["KeyId"], "GranteePrincipal": ALICE, "Operations": ["Decrypt"]}
    request.update(params)
    made: Meta = client.create_grant(**{k: v for k, v in request.items() if v is not None})
    return made


def _ids(client: Any, key: Meta, **params: Any) -> list[str]:
    grants = client.list_grants(KeyId=key["KeyId"], Limit=1000, **params)["Grants"]
    return [g["GrantId"] for g in grants]


# -- round trips -----------------------------------------------------------------------------


def test_create_list_and_retire_by_token(client: Any, key: Meta) -> None:
    made = _grant(
        client,
        key,
        Name="reports",
        Operations=["Encrypt", "Decrypt", "DescribeKey"],
        RetiringPrincipal=RETIRER,
        Constraints={"EncryptionContextEquals": {"Department": "IT"}},
    )
    assert set(made) - {"ResponseMetadata"} == {"GrantId", "GrantToken"}
    assert len(made["GrantId"]) == 64 and int(made["GrantId"], 16) >= 0
    assert made["GrantId"] == made["GrantId"].lower()
    assert len(made["GrantToken"]) >= 128

    [entry] = client.list_grants(KeyId=key["KeyId"])["Grants"]
    assert isinstance(entry.pop("CreationDate"), datetime)
    assert entry == {
        "KeyId": key["Arn"],
        "GrantId": made["GrantId"],
        "Name": "reports",
        "GranteePrincipal": ALICE,
        "RetiringPrincipal": RETIRER,
        "IssuingAccount": f"arn:aws:iam::{ACCOUNT}:root",
        "Operations": ["Encrypt", "Decrypt", "DescribeKey"],
        "Constraints": {"EncryptionContextEquals": {"Department": "IT"}},
    }
    client.retire_grant(GrantToken=made["GrantToken"])
    assert _ids(client, key) == []


def test_retire_by_key_and_grant_id_and_revoke(client: Any, key: Meta) -> None:
    first, second, third = (_grant(client, key) for _ in range(3))
    assert len({first["GrantId"], second["GrantId"], third["GrantId"]}) == 3  # no Name
    client.retire_grant(KeyId=key["Arn"], GrantId=first["GrantId"])
    client.retire_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    assert _ids(client, key) == [third["GrantId"]]
    client.revoke_grant(KeyId=key["KeyId"], GrantId=third["GrantId"])
    assert _ids(client, key) == []


def test_an_entry_without_optional_members(client: Any, key: Meta) -> None:
    _grant(client, key)
    [entry] = client.list_grants(KeyId=key["KeyId"])["Grants"]
    assert set(entry) == {
        "KeyId",
        "GrantId",
        "CreationDate",
        "GranteePrincipal",
        "IssuingAccount",
        "Operations",
    }


def test_service_principals(client: Any, key: Meta) -> None:
    made = _grant(
        client,
        key,
        GranteePrincipal=None,
        GranteeServicePrincipal="logs.us-east-1.amazonaws.com",
        RetiringServicePrincipal="logs.us-east-1.amazonaws.com",
    )
    [entry] = client.list_grants(
        KeyId=key["KeyId"], GranteeServicePrincipal="logs.us-east-1.amazonaws.com"
    )["Grants"]
    assert entry["GranteeServicePrincipal"] == entry["GranteePrincipal"]
    assert entry["RetiringServicePrincipal"] == "logs.us-east-1.amazonaws.com"
    retirable = client.list_retirable_grants(
        RetiringServicePrincipal="logs.us-east-1.amazonaws.com"
    )["Grants"]
    assert [g["GrantId"] for g in retirable] == [made["GrantId"]]


def test_grant_repr_keeps_tokens_out(kms: LocalKMS, client: Any, key: Meta) -> None:
    made = _grant(client, key)
    grant = kms.grants[key["KeyId"]][made["GrantId"]]
    assert made["GrantToken"] not in repr(grant)
    assert made["GrantId"] in repr(grant)


# -- idempotence by Name -----------------------------------------------------------------------


def test_same_named_request_returns_the_same_grant(kms: LocalKMS, client: Any, key: Meta) -> None:
    first = _grant(client, key, Name="retry-me", Operations=["Encrypt", "Decrypt"])
    again = _grant(client, key, Name="retry-me", Operations=["Decrypt", "Encrypt"])
    assert again["GrantId"] == first["GrantId"]
    assert again["GrantToken"] != first["GrantToken"]
    assert _ids(client, key) == [first["GrantId"]]
    # Either token names the grant.
    client.retire_grant(GrantToken=again["GrantToken"])
    assert _ids(client, key) == []
    with pytest.raises(client.exceptions.InvalidGrantTokenException):
        client.retire_grant(GrantToken=first["GrantToken"])


def test_a_different_request_under_the_same_name_is_another_grant(
    kms: LocalKMS, client: Any, key: Meta
) -> None:
    first = _grant(client, key, Name="same-name")
    other_ops = _grant(client, key, Name="same-name", Operations=["Encrypt"])
    other_grantee = _grant(client, key, Name="same-name", GranteePrincipal=BOB)
    other_key_meta = kms.call("CreateKey")["KeyMetadata"]
    other_key = _grant(client, other_key_meta, Name="same-name")
    ids = {first["GrantId"], other_ops["GrantId"], other_grantee["GrantId"], other_key["GrantId"]}
    assert len(ids) == 4
    assert _ids(client, other_key_meta) == [other_key["GrantId"]]


# -- grant operations by key type -------------------------------------------------------------


def test_the_grant_operations_table_covers_botocores_enum() -> None:
    assert set(GRANT_OPERATIONS) == set(GRANT_OPERATION_ENUM)
    assert set().union(*GRANTABLE.values()) == set(GRANT_OPERATION_ENUM)


@pytest.mark.parametrize("label", list(KEY_TYPES))
def test_grant_operations_each_key_type_takes(
    client: Any, typed_keys: dict[str, Meta], aws_error: Callable[..., Any], label: str
) -> None:
    key = typed_keys[label]
    spec, usage = KEY_TYPES[label]
    for operation in GRANT_OPERATION_ENUM:
        if operation in GRANTABLE[label]:
            made = _grant(client, key, Operations=[operation])
            client.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"])
        else:
            with aws_error("ValidationException") as info:
                _grant(client, key, Operations=["DescribeKey", operation])
            message = info.value.response["Error"]["Message"]
            assert operation in message and spec in message and usage in message
    assert _ids(client, key) == []


@pytest.mark.parametrize(
    ("label", "operation"),
    [("HMAC", "Encrypt"), ("SYM", "Sign"), ("A-ED", "GenerateDataKey"), ("SYM", "GetPublicKey")],
)
def test_incompatible_operation_message(
    client: Any,
    typed_keys: dict[str, Meta],
    aws_error: Callable[..., Any],
    label: str,
    operation: str,
) -> None:
    key = typed_keys[label]
    spec, usage = KEY_TYPES[label]
    with aws_error(
        "ValidationException",
        f"Grant operation {operation} is not valid for key spec {spec} and key usage {usage}.",
    ):
        _grant(client, key, Operations=[operation])


# -- constraints --------------------------------------------------------------------------------


def test_constraints_on_a_symmetric_key(client: Any, key: Meta) -> None:
    # DescribeKey, RetireGrant and CreateGrant may join: the constraint does not apply to them.
    operations = ["Encrypt", "Decrypt", "ReEncryptFrom", "GenerateDataKey", "DescribeKey"]
    operations += ["RetireGrant", "CreateGrant"]
    for constraint in ("EncryptionContextSubset", "EncryptionContextEquals"):
        _grant(client, key, Operations=operations, Constraints={constraint: {"app": "lab"}})
    listed = client.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [g["Constraints"] for g in listed] == [
        {"EncryptionContextSubset": {"app": "lab"}},
        {"EncryptionContextEquals": {"app": "lab"}},
    ]


def test_both_context_constraints_at_once(
    client: Any, key: Meta, aws_error: Callable[..., Any]
) -> None:
    both = {"EncryptionContextSubset": {"a": "1"}, "EncryptionContextEquals": {"a": "1"}}
    with aws_error("ValidationException"):
        _grant(client, key, Constraints=both)
    too_many = {"EncryptionContextSubset": {f"k{i}": "v" for i in range(9)}}
    with aws_error("ValidationException"):
        _grant(client, key, Constraints=too_many)
    _grant(client, key, Constraints={"EncryptionContextSubset": {f"k{i}": "v" for i in range(8)}})
    assert len(_ids(client, key)) == 1


@pytest.mark.parametrize(
    ("label", "operation"),
    [
        ("HMAC", "GenerateMac"),
        ("A-ED", "Encrypt"),  # allowed on the key, but asymmetric encryption has no context
        ("A-SV", "Sign"),
        ("A-KEM", "Decapsulate"),
    ],
)
def test_constraints_need_operations_that_take_a_context(
    client: Any,
    typed_keys: dict[str, Meta],
    aws_error: Callable[..., Any],
    label: str,
    operation: str,
) -> None:
    key = typed_keys[label]
    with aws_error("ValidationException") as info:
        _grant(
            client,
            key,
            Operations=[operation],
            Constraints={"EncryptionContextSubset": {"app": "lab"}},
        )
    assert operation in info.value.response["Error"]["Message"]
    assert _ids(client, key) == []


def test_constraints_with_only_unconstrained_operations_on_any_key(
    client: Any, typed_keys: dict[str, Meta]
) -> None:
    key = typed_keys["A-SV"]
    made = _grant(
        client,
        key,
        Operations=["DescribeKey", "RetireGrant"],
        Constraints={"EncryptionContextEquals": {"app": "lab"}},
    )
    client.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"])


# -- listing, filters and paging ------------------------------------------------------------


def test_list_grants_pages(client: Any, key: Meta, aws_error: Callable[..., Any]) -> None:
    made = [_grant(client, key)["GrantId"] for _ in range(5)]
    pages, marker = [], None
    while True:
        extra = {"Marker": marker} if marker else {}
        answer = client.list_grants(KeyId=key["KeyId"], Limit=2, **extra)
        pages.append([g["GrantId"] for g in answer["Grants"]])
        if not answer["Truncated"]:
            assert "NextMarker" not in answer
            break
        marker = answer["NextMarker"]
    assert pages == [made[0:2], made[2:4], made[4:]]
    assert _ids(client, key) == made  # in creation order
    with aws_error("InvalidMarkerException"):
        client.list_grants(KeyId=key["KeyId"], Marker="not-a-marker")
    paginated = client.get_paginator("list_grants").paginate(
        KeyId=key["KeyId"], PaginationConfig={"PageSize": 3}
    )
    assert [g["GrantId"] for page in paginated for g in page["Grants"]] == made


def test_list_grants_filters(client: Any, key: Meta, aws_error: Callable[..., Any]) -> None:
    alice = _grant(client, key)["GrantId"]
    bob = _grant(client, key, GranteePrincipal=BOB)["GrantId"]
    assert _ids(client, key, GranteePrincipal=BOB) == [bob]
    assert _ids(client, key, GrantId=alice) == [alice]
    assert _ids(client, key, GrantId=alice, GranteePrincipal=BOB) == []
    assert _ids(client, key, GrantId="0" * 64) == []  # well-formed, unknown: nothing listed
    with aws_error("InvalidGrantIdException"):
        client.list_grants(KeyId=key["KeyId"], GrantId="not-a-grant-id")


def test_list_grants_names_the_key_by_id_or_arn_only(
    client: Any, key: Meta, aws_error: Callable[..., Any]
) -> None:
    made = _grant(client, key)["GrantId"]
    assert _ids(client, {"KeyId": key["Arn"]}) == [made]
    client.create_alias(AliasName="alias/grants-by-alias", TargetKeyId=key["KeyId"])
    with aws_error("NotFoundException"):
        client.list_grants(KeyId="alias/grants-by-alias")
    with aws_error("NotFoundException"):
        _grant(client, {"KeyId": "alias/grants-by-alias"})


def test_list_retirable_grants_across_keys(kms: LocalKMS, client: Any) -> None:
    retirer = f"arn:aws:iam::{ACCOUNT}:role/retires-across-keys"
    keys = [kms.call("CreateKey")["KeyMetadata"] for _ in range(2)]
    made = [_grant(client, k, RetiringPrincipal=retirer)["GrantId"] for k in (*keys, *keys)]
    _grant(client, keys[0], RetiringPrincipal=BOB)
    _grant(client, keys[0])
    first = client.list_retirable_grants(RetiringPrincipal=retirer, Limit=3)
    assert first["Truncated"] is True
    rest = client.list_retirable_grants(RetiringPrincipal=retirer, Marker=first["NextMarker"])
    grants = first["Grants"] + rest["Grants"]
    assert sorted(g["GrantId"] for g in grants) == sorted(made)
    assert {g["KeyId"] for g in grants} == {k["Arn"] for k in keys}
    assert all(g["RetiringPrincipal"] == retirer for g in grants)


# -- bad requests --------------------------------------------------------------------------------


def test_create_grant_refusals(client: Any, key: Meta, aws_error: Callable[..., Any]) -> None:
    with aws_error(
        "ValidationException", "Specify either GranteePrincipal or GranteeServicePrincipal."
    ):
        _grant(client, key, GranteePrincipal=None)
    with aws_error("ValidationException"):
        _grant(client, key, GranteeServicePrincipal="logs.us-east-1.amazonaws.com")
    with aws_error("ValidationException"):
        _grant(client, key, RetiringPrincipal=BOB, RetiringServicePrincipal="logs.amazonaws.com")
    with aws_error("ValidationException"):
        _grant(client, key, Operations=[])
    with aws_error("ValidationException"):
        _grant(client, key, Operations=["Frobnicate"])
    with aws_error("NotFoundException"):
        _grant(client, {"KeyId": "00000000-0000-0000-0000-000000000000"})
    assert _ids(client, key) == []


def test_retire_and_revoke_refusals(
    kms: LocalKMS, client: Any, key: Meta, aws_error: Callable[..., Any]
) -> None:
    made = _grant(client, key)
    other = kms.call("CreateKey")["KeyMetadata"]
    unknown = "ab" * 32
    with aws_error("ValidationException"):
        client.retire_grant()
    with aws_error("ValidationException"):
        client.retire_grant(GrantId=made["GrantId"])
    with aws_error("InvalidGrantTokenException") as info:
        client.retire_grant(GrantToken="not-a-token")
    assert "not-a-token" not in info.value.response["Error"]["Message"]
    with aws_error("NotFoundException", f"Grant {unknown} does not exist for {key['Arn']}"):
        client.retire_grant(KeyId=key["Arn"], GrantId=unknown)
    with aws_error("InvalidGrantIdException"):
        client.revoke_grant(KeyId=key["KeyId"], GrantId="x" * 64)
    with aws_error("NotFoundException"):
        client.revoke_grant(KeyId=key["KeyId"], GrantId=unknown)
    # A grant belongs to one key: another key does not find it.
    with aws_error("NotFoundException"):
        client.revoke_grant(KeyId=other["KeyId"], GrantId=made["GrantId"])
    assert _ids(client, key) == [made["GrantId"]]
    client.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"])
    with aws_error("NotFoundException"):
        client.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"])
    with aws_error("InvalidGrantTokenException"):
        client.retire_grant(GrantToken=made["GrantToken"])


def test_list_retirable_grants_needs_a_principal(
    client: Any, aws_error: Callable[..., Any]
) -> None:
    with aws_error("ValidationException"):
        client.list_retirable_grants()
    assert (
        client.list_retirable_grants(RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:role/nobody")[
            "Grants"
        ]
        == []
    )


# -- DryRun --------------------------------------------------------------------------------------


def test_dry_run_changes_nothing(
    kms: LocalKMS, client: Any, key: Meta, aws_error: Callable[..., Any]
) -> None:
    kept = _grant(client, key, Name="kept")
    with aws_error("DryRunOperationException", DRY_RUN):
        _grant(client, key, DryRun=True)
    # A dry run of a named repeat adds no token either.
    with aws_error("DryRunOperationException", DRY_RUN):
        _grant(client, key, Name="kept", DryRun=True)
    assert kms.grants[key["KeyId"]][kept["GrantId"]].issued == 1
    with aws_error("DryRunOperationException", DRY_RUN):
        client.retire_grant(GrantToken=kept["GrantToken"], DryRun=True)
    with aws_error("DryRunOperationException", DRY_RUN):
        client.retire_grant(KeyId=key["Arn"], GrantId=kept["GrantId"], DryRun=True)
    with aws_error("DryRunOperationException", DRY_RUN):
        client.revoke_grant(KeyId=key["KeyId"], GrantId=kept["GrantId"], DryRun=True)
    assert _ids(client, key) == [kept["GrantId"]]
    # A dry run of a call that would fail gets the real error.
    with aws_error("ValidationException"):
        _grant(client, key, Operations=["Sign"], DryRun=True)
    with aws_error("NotFoundException"):
        client.revoke_grant(KeyId=key["KeyId"], GrantId="cd" * 32, DryRun=True)
    # And the token still works for real.
    client.retire_grant(GrantToken=kept["GrantToken"])
    assert _ids(client, key) == []


# -- key states and deletion -----------------------------------------------------------------------


def test_key_states(kms: LocalKMS, client: Any, aws_error: Callable[..., Any]) -> None:
    disabled = kms.call("CreateKey")["KeyMetadata"]
    kms.call("DisableKey", KeyId=disabled["KeyId"])
    pending_import = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]
    for key in (disabled, pending_import):
        made = _grant(client, key)
        assert _ids(client, key) == [made["GrantId"]]
    doomed = kms.call("CreateKey")["KeyMetadata"]
    before = [_grant(client, doomed) for _ in range(3)]
    client.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    with aws_error("KMSInvalidStateException", f"{doomed['Arn']} is pending deletion."):
        _grant(client, doomed)
    with aws_error("KMSInvalidStateException", f"{doomed['Arn']} is pending deletion."):
        _grant(client, doomed, DryRun=True)
    # Listing, retiring and revoking work in every state.
    assert _ids(client, doomed) == [g["GrantId"] for g in before]
    client.retire_grant(GrantToken=before[0]["GrantToken"])
    client.retire_grant(KeyId=doomed["Arn"], GrantId=before[1]["GrantId"])
    client.revoke_grant(KeyId=doomed["KeyId"], GrantId=before[2]["GrantId"])
    assert _ids(client, doomed) == []


def test_deleting_a_key_deletes_its_grants(aws_error: Callable[..., Any]) -> None:
    kms = LocalKMS()  # its own clock
    client = kms.client()
    doomed, kept = (kms.call("CreateKey")["KeyMetadata"] for _ in range(2))
    gone = _grant(client, doomed, RetiringPrincipal=RETIRER)
    stays = _grant(client, kept, RetiringPrincipal=RETIRER)
    client.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    kms.clock.advance(days=6)
    assert len(client.list_retirable_grants(RetiringPrincipal=RETIRER)["Grants"]) == 2
    kms.clock.advance(days=2)
    retirable = client.list_retirable_grants(RetiringPrincipal=RETIRER)["Grants"]
    assert [g["GrantId"] for g in retirable] == [stays["GrantId"]]
    assert doomed["KeyId"] not in kms.grants
    with aws_error("InvalidGrantTokenException"):
        client.retire_grant(GrantToken=gone["GrantToken"])
    with aws_error("NotFoundException"):
        client.list_grants(KeyId=doomed["KeyId"])
