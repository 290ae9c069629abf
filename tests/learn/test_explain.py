"""kmslab.explain: the explanation of one failure, found by its request id."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

import kmslab
from kmslab import LocalKMS
from kmslab.exceptions import ERRORS, KMSError
from kmslab.kms import ledger
from kmslab.learn import lesson
from kmslab.learn.explain import Explanation, explain
from kmslab.learn.guides import EXPLANATIONS


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS()


def _error(call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value


def test_explain_is_public_and_lazy() -> None:
    assert kmslab.explain is explain
    assert "explain" in kmslab.__all__


def test_every_explanation_belongs_to_a_ledger_row() -> None:
    ids = {r.id for r in ledger.LEDGER}
    assert set(EXPLANATIONS) <= ids


def test_explains_that_very_failure(kms: LocalKMS) -> None:
    client = kms.client()
    key = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    err = _error(client.encrypt, KeyId=key["KeyId"], Plaintext=b"hi")
    e = explain(err)
    assert e.found and e.row == "key-usage-invalid" and e.provenance == "observed"
    assert (e.code, e.operation) == ("InvalidKeyUsageException", "Encrypt")
    assert e.message == err.response["Error"]["Message"]  # AWS's text, untouched
    assert e.request_id == err.response["ResponseMetadata"]["RequestId"]
    assert "ECC_NIST_P256" in e.why and "SIGN_VERIFY" in e.why and key["Arn"] in e.why
    assert "<" not in e.why + e.instead  # every placeholder filled
    assert e.page.startswith("https://docs.aws.amazon.com/kms/")
    # Found in the given LocalKMS too, and not in another one.
    assert explain(err, kms=kms).found
    assert not explain(err, kms=LocalKMS()).found


def test_text_and_html_show_awss_error_first(kms: LocalKMS) -> None:
    err = _error(kms.client().describe_key, KeyId="fake-key-id")
    e = explain(err)
    text = repr(e).splitlines()
    assert text[0] == (
        "An error occurred (NotFoundException) when calling the DescribeKey operation: "
        "Invalid keyId 'fake-key-id'"
    )
    assert text[2].startswith("Why: KeyId 'fake-key-id' is not")
    page = e._repr_html_()
    assert page.index("Invalid keyId") < page.index("Why")


def test_explains_a_kms_error_from_local_kms_call(kms: LocalKMS) -> None:
    key = kms.call("CreateKey")["KeyMetadata"]
    blob = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    mac = kms.call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    with pytest.raises(KMSError) as info:
        kms.call("Decrypt", KeyId=mac["KeyMetadata"]["KeyId"], CiphertextBlob=blob)
    e = explain(info.value)
    assert e.found and e.row == "incorrect-key" and e.operation == "Decrypt"
    assert key["Arn"] in e.why  # names the key that made the ciphertext


def test_no_message_errors_are_explained(kms: LocalKMS) -> None:
    client = kms.client()
    key = client.create_key()["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=key, Plaintext=b"p")["CiphertextBlob"]
    e = explain(_error(client.decrypt, CiphertextBlob=blob[:-1]))
    assert e.message is None and e.row == "invalid-ciphertext"
    assert repr(e).splitlines()[0].endswith("Decrypt operation:")


def test_an_error_from_elsewhere_is_explained_from_code_and_message() -> None:
    response = {
        "Error": {"Code": "NotFoundException", "Message": "Invalid keyId 'abc'"},
        "ResponseMetadata": {"RequestId": "5f0a6f3c-0000-4000-8000-000000000000"},
    }
    e = explain(ClientError(response, "DescribeKey"))  # type: ignore[arg-type]
    assert not e.found and e.row == "invalid-key-id"
    assert "KeyId 'abc'" in e.why
    # A code with no row: AWS's own description of the exception.
    response["Error"] = {"Code": "XksProxyVpcEndpointServiceInUseException", "Message": ""}
    e = explain(ClientError(response, "CreateCustomKeyStore"))  # type: ignore[arg-type]
    assert e.row is None and "endpoint service" in e.why.lower()


def test_every_error_code_has_an_explanation() -> None:
    for code in ERRORS:
        e = explain(ERRORS[code]("anything"))
        assert e.why and e.instead and e.page.startswith("https://"), code


def test_explain_refuses_what_is_not_an_aws_error() -> None:
    with pytest.raises(TypeError):
        explain(ValueError("no"))


@given(
    code=st.sampled_from([*ERRORS, "ThrottlingException", "Weird"]),
    message=st.one_of(st.none(), st.text(max_size=200)),
    rid=st.one_of(st.none(), st.text(max_size=40)),
)
def test_explain_never_fails_on_any_error_response(
    code: str, message: str | None, rid: str | None
) -> None:
    response: dict[str, Any] = {"Error": {"Code": code}, "ResponseMetadata": {}}
    if message is not None:
        response["Error"]["Message"] = message
    if rid is not None:
        response["ResponseMetadata"]["RequestId"] = rid
    e = explain(ClientError(response, "Encrypt"))  # type: ignore[arg-type]
    assert isinstance(e, Explanation) and e.code == code
    assert e.why and e._repr_html_()


def test_try_call_shows_the_explanation_under_awss_error(kms: LocalKMS) -> None:
    client = kms.client()
    result = lesson.try_call(client.describe_key, KeyId="fake-key-id")
    assert result.error_message == "Invalid keyId 'fake-key-id'"
    assert result.explanation is not None and result.explanation.found
    lines = repr(result).splitlines()
    assert lines[:2] == ["DescribeKey -> NotFoundException", "  Invalid keyId 'fake-key-id'"]
    assert lines[2].startswith("  Why: ")
    page = result._repr_html_()
    assert page.index("Invalid keyId") < page.index("Why")


def test_show_error(kms: LocalKMS) -> None:
    err = _error(kms.client().describe_key, KeyId="alias/none")
    shown = lesson.show_error(err)
    assert shown.code == "NotFoundException" and shown.row == "alias-not-found"


def test_explains_a_failure_served_over_http() -> None:
    import boto3

    from kmslab.server import serve

    server = serve(LocalKMS())
    try:
        client = boto3.client(
            "kms",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        err = _error(client.describe_key, KeyId="fake-key-id")
        e = explain(err)
        assert e.found and e.row == "invalid-key-id"
        assert e.request_id in server.kms.failures
    finally:
        server.stop()


def test_missing_key_usage_names_the_usages_the_spec_allows() -> None:
    client = LocalKMS().client()
    with pytest.raises(ClientError) as err:
        client.create_key(KeySpec="ML_KEM_768")
    assert kmslab.explain(err.value).instead == (
        "Add KeyUsage: ML_KEM_768 allows ENCAPSULATE_DECAPSULATE; choose the one you need."
    )
