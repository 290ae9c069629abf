"""Custom key stores: the six operations, keys in them, and a real XKS proxy on 127.0.0.1.

AWS CloudHSM key stores run against kmslab's local cluster model; external key stores
against :class:`kmslab.xks.XksProxy` serving HTTP on loopback, every request SigV4-signed.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest

from kmslab import LocalKMS
from kmslab._http import ServerLimits
from kmslab.exceptions import ServerStartError
from kmslab.kms.keystores import xks_client
from kmslab.kms.keystores.cloudhsm import CONNECT_FAILURES
from kmslab.xks import XksProxy, new_credential
from kmslab.xks.proxy import PROXY_LIMITS

ENDPOINT = "https://xks.example.com"
UNREACHABLE = xks_client.FAILURES["unreachable"].message
AUTH = xks_client.FAILURES["AuthenticationFailedException"].message


@pytest.fixture()
def kms() -> LocalKMS:
    return LocalKMS()


@pytest.fixture()
def cluster(kms: LocalKMS) -> Any:
    return kms.cloudhsm.create(hsms=2, kmsuser_password="kmsPswd")


def hsm_store(kms: LocalKMS, cluster: Any, name: str = "hsm", **kw: Any) -> str:
    params = {
        "CustomKeyStoreName": name,
        "CloudHsmClusterId": cluster.id,
        "TrustAnchorCertificate": cluster.trust_anchor,
        "KeyStorePassword": "kmsPswd",
        **kw,
    }
    return str(kms.call("CreateCustomKeyStore", **params)["CustomKeyStoreId"])


def entry(kms: LocalKMS, store_id: str) -> dict[str, Any]:
    stores = kms.call("DescribeCustomKeyStores", CustomKeyStoreId=store_id)["CustomKeyStores"]
    return dict(stores[0])


# -- AWS CloudHSM key stores ----------------------------------------------------------------------


def test_cloudhsm_store_lifecycle(kms, cluster, aws_error) -> None:
    store = hsm_store(kms, cluster)
    listed = entry(kms, store)
    assert listed["ConnectionState"] == "DISCONNECTED" and "ConnectionErrorCode" not in listed
    assert listed["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert listed["CloudHsmClusterId"] == cluster.id and store.startswith("cks-")
    assert "KeyStorePassword" not in json.dumps(listed, default=str)
    assert kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store) == {}
    assert entry(kms, store)["ConnectionState"] == "CONNECTED"
    assert kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store) == {}  # no-op when connected
    with aws_error("CustomKeyStoreInvalidStateException"):
        kms.call("UpdateCustomKeyStore", CustomKeyStoreId=store, NewCustomKeyStoreName="x")
    with aws_error("CustomKeyStoreInvalidStateException"):
        kms.call("DeleteCustomKeyStore", CustomKeyStoreId=store)
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    with aws_error("CustomKeyStoreInvalidStateException"):
        kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    kms.call("UpdateCustomKeyStore", CustomKeyStoreId=store, NewCustomKeyStoreName="renamed")
    assert entry(kms, store)["CustomKeyStoreName"] == "renamed"
    assert kms.call("DeleteCustomKeyStore", CustomKeyStoreId=store) == {}
    with aws_error("CustomKeyStoreNotFoundException"):
        kms.call("DescribeCustomKeyStores", CustomKeyStoreId=store)


def test_cloudhsm_create_errors(kms, cluster, aws_error) -> None:
    hsm_store(kms, cluster)
    other = kms.cloudhsm.create()
    with aws_error("CustomKeyStoreNameInUseException"):
        hsm_store(kms, other)
    with aws_error("CloudHsmClusterInUseException"):
        hsm_store(kms, cluster, name="second")
    with aws_error("CloudHsmClusterNotFoundException"):
        hsm_store(kms, other, name="n", CloudHsmClusterId="cluster-234567abcdefg")
    with aws_error("IncorrectTrustAnchorException"):
        hsm_store(kms, other, name="n", TrustAnchorCertificate=cluster.trust_anchor)
    other.state = "UNINITIALIZED"
    with aws_error("CloudHsmClusterNotActiveException"):
        hsm_store(kms, other, name="n")
    lonely = kms.cloudhsm.create(hsms=1)
    with aws_error("CloudHsmClusterInvalidConfigurationException"):
        hsm_store(kms, lonely, name="n")
    with aws_error("ValidationException"):
        hsm_store(kms, kms.cloudhsm.create(), name="n", XksProxyUriPath="/kms/xks/v1")
    with aws_error("ValidationException"):  # the model's own check: password of 7-32 chars
        hsm_store(kms, kms.cloudhsm.create(), name="n", KeyStorePassword="short")


def test_an_identical_create_of_a_disconnected_cloudhsm_store_is_a_retry(kms, cluster, aws_error):
    # KMS Developer Guide, "Create an AWS CloudHSM key store": the same values as a
    # disconnected store's return its ID, and nothing is created.
    store = hsm_store(kms, cluster)
    assert hsm_store(kms, cluster) == store
    assert len(kms.call("DescribeCustomKeyStores")["CustomKeyStores"]) == 1
    with aws_error("CustomKeyStoreNameInUseException"):  # one value differs: not a retry
        hsm_store(kms, cluster, KeyStorePassword="otherPswd")
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    with aws_error("CustomKeyStoreNameInUseException"):  # connected: not a retry either
        hsm_store(kms, cluster)


@pytest.mark.parametrize(("failure", "code"), CONNECT_FAILURES)
def test_cloudhsm_connection_error_codes(kms, cluster, aws_error, failure, code) -> None:
    store = hsm_store(kms, cluster)
    breakers = {
        "cluster_missing": lambda: setattr(cluster, "deleted", True),
        "no_hsms": lambda: cluster.hsms.clear(),
        "no_user": lambda: setattr(cluster, "kmsuser_password", None),
        "locked": lambda: setattr(cluster, "kmsuser_locked", True),
        "logged_in": lambda: setattr(cluster, "kmsuser_logged_in", True),
        "bad_password": lambda: setattr(cluster, "kmsuser_password", "another1"),
    }
    breakers[failure]()
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    listed = entry(kms, store)
    assert (listed["ConnectionState"], listed["ConnectionErrorCode"]) == ("FAILED", code)
    with aws_error("CustomKeyStoreInvalidStateException"):  # disconnect a FAILED store first
        kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    assert "ConnectionErrorCode" not in entry(kms, store)


def test_update_cluster_must_be_related(kms, cluster, aws_error) -> None:
    store = hsm_store(kms, cluster)
    with aws_error("CloudHsmClusterNotRelatedException"):
        kms.call(
            "UpdateCustomKeyStore",
            CustomKeyStoreId=store,
            CloudHsmClusterId=kms.cloudhsm.create().id,
        )
    kms.call("UpdateCustomKeyStore", CustomKeyStoreId=store, KeyStorePassword="newPswd1")
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    assert entry(kms, store)["ConnectionErrorCode"] == "INVALID_CREDENTIALS"


def test_describe_paging_and_names(kms, aws_error) -> None:
    ids = [hsm_store(kms, kms.cloudhsm.create(), name=f"s{i}") for i in range(3)]
    first = kms.call("DescribeCustomKeyStores", Limit=2)
    assert first["Truncated"] and len(first["CustomKeyStores"]) == 2
    rest = kms.call("DescribeCustomKeyStores", Limit=2, Marker=first["NextMarker"])
    got = [s["CustomKeyStoreId"] for s in first["CustomKeyStores"] + rest["CustomKeyStores"]]
    assert got == ids and rest["Truncated"] is False
    named = kms.call("DescribeCustomKeyStores", CustomKeyStoreName="s1")["CustomKeyStores"]
    assert [s["CustomKeyStoreId"] for s in named] == [ids[1]]
    with aws_error("CustomKeyStoreNotFoundException"):
        kms.call("DescribeCustomKeyStores", CustomKeyStoreName="nope")
    with aws_error("InvalidMarkerException"):
        kms.call("DescribeCustomKeyStores", Marker="bogus")


def test_keys_in_a_cloudhsm_store(kms, cluster, aws_error) -> None:
    store = hsm_store(kms, cluster)
    with aws_error("CustomKeyStoreInvalidStateException"):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    with aws_error("UnsupportedOperationException"):
        kms.call("CreateKey", CustomKeyStoreId=store)  # Origin AWS_KMS with a store
    with aws_error("UnsupportedOperationException"):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM", KeySpec="HMAC_256",
                 KeyUsage="GENERATE_VERIFY_MAC")  # fmt: skip
    with aws_error("ValidationException"):
        kms.call("CreateKey", Origin="AWS_CLOUDHSM")
    meta = kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")["KeyMetadata"]
    assert (meta["Origin"], meta["CustomKeyStoreId"], meta["CloudHsmClusterId"]) == (
        "AWS_CLOUDHSM",
        store,
        cluster.id,
    )
    key_id = meta["KeyId"]
    assert key_id in cluster.keys  # the material lives in the cluster
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"in the HSM")["CiphertextBlob"]
    for op, params in (
        ("EnableKeyRotation", {}),
        ("GetParametersForImport", {"WrappingAlgorithm": "RSAES_OAEP_SHA_256",
                                    "WrappingKeySpec": "RSA_2048"}),
        ("GenerateDataKeyPair", {"KeyPairSpec": "ECC_NIST_P256"}),
    ):  # fmt: skip
        with aws_error("UnsupportedOperationException"):
            kms.call(op, KeyId=key_id, **params)
    assert (
        len(kms.call("GenerateRandom", NumberOfBytes=16, CustomKeyStoreId=store)["Plaintext"]) == 16
    )
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Unavailable"
    arn = meta["Arn"]
    with aws_error("KMSInvalidStateException", f"{arn} is unavailable."):
        kms.call("Decrypt", CiphertextBlob=blob)
    with aws_error("CustomKeyStoreInvalidStateException"):
        kms.call("GenerateRandom", NumberOfBytes=16, CustomKeyStoreId=store)
    with aws_error("CustomKeyStoreHasCMKsException"):
        kms.call("DeleteCustomKeyStore", CustomKeyStoreId=store)
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"in the HSM"
    cluster.remove_hsm()  # one HSM left: no new keys
    with aws_error("CloudHsmClusterInvalidConfigurationException"):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")
    with aws_error("CustomKeyStoreNotFoundException"):
        kms.call("GenerateRandom", NumberOfBytes=16, CustomKeyStoreId="cks-1234567890abcdef0")


def test_through_boto3(kms, cluster) -> None:
    client = kms.client()
    store = client.create_custom_key_store(
        CustomKeyStoreName="boto",
        CloudHsmClusterId=cluster.id,
        TrustAnchorCertificate=cluster.trust_anchor,
        KeyStorePassword="kmsPswd",
    )["CustomKeyStoreId"]
    client.connect_custom_key_store(CustomKeyStoreId=store)
    listed = client.describe_custom_key_stores()["CustomKeyStores"][0]
    assert listed["ConnectionState"] == "CONNECTED"
    key = client.create_key(CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")["KeyMetadata"]
    assert key["CustomKeyStoreId"] == store


# -- external key stores, end to end over HTTP -------------------------------------------------


@pytest.fixture()
def proxy() -> Any:
    p = XksProxy()
    p.keys.create("ext-1")
    p.start()
    yield p
    p.stop()


def xks_store(kms: LocalKMS, proxy: XksProxy, name: str = "xks", **kw: Any) -> str:
    kms.xks_routes[ENDPOINT] = proxy.url
    params = {
        "CustomKeyStoreName": name,
        "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyUriEndpoint": ENDPOINT,
        "XksProxyUriPath": "/kms/xks/v1",
        "XksProxyAuthenticationCredential": proxy.authentication_credential,
        "XksProxyConnectivity": "PUBLIC_ENDPOINT",
        **kw,
    }
    return str(kms.call("CreateCustomKeyStore", **params)["CustomKeyStoreId"])


def test_external_key_store_double_encryption(kms, proxy, aws_error) -> None:
    store = xks_store(kms, proxy)
    listed = entry(kms, store)
    assert listed["XksProxyConfiguration"] == {
        "Connectivity": "PUBLIC_ENDPOINT",
        "AccessKeyId": proxy.access_key_id,
        "UriEndpoint": ENDPOINT,
        "UriPath": "/kms/xks/v1",
    }
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    meta = kms.call(
        "CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1"
    )["KeyMetadata"]
    assert meta["XksKeyConfiguration"] == {"Id": "ext-1"} and meta["KeyState"] == "Enabled"
    before = len(proxy.log)
    blob = kms.call("Encrypt", KeyId=meta["KeyId"], Plaintext=b"twice")["CiphertextBlob"]
    data_key = kms.call("GenerateDataKey", KeyId=meta["KeyId"], NumberOfBytes=32)
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"twice"
    assert (
        kms.call("Decrypt", CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
        == (data_key["Plaintext"])
    )
    assert [op for op, status, _ in proxy.log[before:]] == [
        "encrypt",
        "encrypt",
        "decrypt",
        "decrypt",
    ]
    # Both keys are needed: without the external key the KMS key's material opens nothing.
    del proxy.keys.by_id["ext-1"]
    with aws_error("KMSInvalidStateException", xks_client.FAILURES["KeyNotFoundException"].message):
        kms.call("Decrypt", CiphertextBlob=blob)
    with aws_error("XksKeyAlreadyInUseException"):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1")


def test_stopping_the_proxy_fails_then_recovers(kms, proxy, aws_error) -> None:
    store = xks_store(kms, proxy)
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    key_id = kms.call(
        "CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1"
    )["KeyMetadata"]["KeyId"]
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    proxy.stop()
    with aws_error("KMSInvalidStateException", UNREACHABLE):
        kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    with aws_error("KMSInvalidStateException", UNREACHABLE):
        kms.call("Decrypt", CiphertextBlob=blob)
    with aws_error("CustomKeyStoreInvalidStateException", UNREACHABLE):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-2")
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    assert entry(kms, store)["ConnectionErrorCode"] == "XKS_PROXY_NOT_REACHABLE"
    proxy.start()
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"x"


def test_wrong_credential(kms, proxy, aws_error) -> None:
    wrong_id, wrong_secret = new_credential()
    wrong = {"AccessKeyId": wrong_id, "RawSecretAccessKey": wrong_secret}
    with aws_error("XksProxyIncorrectAuthenticationCredentialException", AUTH):
        xks_store(kms, proxy, XksProxyAuthenticationCredential=wrong)
    right_id_wrong_secret = {**proxy.authentication_credential, "RawSecretAccessKey": wrong_secret}
    with aws_error("XksProxyIncorrectAuthenticationCredentialException", AUTH):
        xks_store(kms, proxy, XksProxyAuthenticationCredential=right_id_wrong_secret)
    store = xks_store(kms, proxy)
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    key_id = kms.call(
        "CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1"
    )["KeyMetadata"]["KeyId"]
    proxy.credentials = {wrong_id: wrong_secret}  # the proxy's credential was rotated
    with aws_error("KMSInvalidStateException", AUTH):
        kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    kms.call("UpdateCustomKeyStore", CustomKeyStoreId=store, XksProxyAuthenticationCredential=wrong)
    assert kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")["KeyId"].endswith(key_id)
    kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    proxy.credentials = {proxy.access_key_id: proxy.secret_access_key}
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    assert entry(kms, store)["ConnectionErrorCode"] == "XKS_PROXY_ACCESS_DENIED"


def test_external_key_store_create_errors(kms, proxy, aws_error) -> None:
    with aws_error("XksProxyUriUnreachableException", UNREACHABLE):
        kms.call(
            "CreateCustomKeyStore",
            CustomKeyStoreName="nowhere",
            CustomKeyStoreType="EXTERNAL_KEY_STORE",
            XksProxyUriEndpoint="https://no-route.example.com",
            XksProxyUriPath="/kms/xks/v1",
            XksProxyAuthenticationCredential=proxy.authentication_credential,
            XksProxyConnectivity="PUBLIC_ENDPOINT",
        )
    with aws_error("XksProxyInvalidConfigurationException",
                   xks_client.FAILURES["InvalidUriPathException"].message):  # fmt: skip
        xks_store(kms, proxy, XksProxyUriPath="/tenant-b/kms/xks/v1")
    with aws_error("ValidationException"):  # AWS's endpoint pattern: https, no port
        xks_store(kms, proxy, XksProxyUriEndpoint="http://127.0.0.1:8443")
    with aws_error("XksProxyVpcEndpointServiceNotFoundException"):
        vpc = "com.amazonaws.vpce.us-east-1.vpce-svc-0abc"
        xks_store(kms, proxy, XksProxyConnectivity="VPC_ENDPOINT_SERVICE",
                  XksProxyVpcEndpointServiceName=vpc)  # fmt: skip
    store = xks_store(kms, proxy)
    with aws_error("XksProxyUriInUseException"):
        xks_store(kms, proxy, name="again")
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    with aws_error("XksKeyNotFoundException"):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="nope")
    proxy.keys.create("off", status="DISABLED")
    with aws_error("XksKeyInvalidConfigurationException",
                   "The status of the external key must be ENABLED. The status of specified "
                   "external key is DISABLED."):  # fmt: skip
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE", XksKeyId="off")
    with aws_error("ValidationException"):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="EXTERNAL_KEY_STORE")
    with aws_error("UnsupportedOperationException"):
        kms.call("GenerateRandom", NumberOfBytes=8, CustomKeyStoreId=store)


def test_proxy_refuses_unsigned_tampered_and_get_requests(proxy) -> None:
    url = f"{proxy.url}/kms/xks/v1/health"
    body = json.dumps({"requestMetadata": {"kmsOperation": "x", "kmsRequestId": "1"}}).encode()

    def status(request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    code, reply = status(urllib.request.Request(url, data=body, method="POST"))
    assert (code, reply["errorName"]) == (401, "AuthenticationFailedException")
    assert status(urllib.request.Request(url, method="GET"))[0] == 405
    # A correctly signed request, then the same signature over a changed body.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(proxy.access_key_id, proxy.secret_access_key), "kms-xks-proxy",
              "us-east-1").add_auth(signed)  # fmt: skip
    headers = dict(signed.prepare().headers.items())
    assert status(urllib.request.Request(url, data=body, headers=headers, method="POST"))[0] == 200
    tampered = body.replace(b'"1"', b'"2"')
    code, reply = status(urllib.request.Request(url, data=tampered, headers=headers, method="POST"))
    assert (code, reply["errorName"]) == (401, "AuthenticationFailedException")


def _raw(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes to 127.0.0.1:port; the reply's status and JSON body (10 s at most)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        # waitress refuses the body from the headers alone, before any of it is sent.
        (f"Content-Length: {PROXY_LIMITS.max_body_bytes + 1}", 413),
        ("Content-Length: 12abc", 400),
    ],
)
def test_proxy_answers_broken_framing_in_the_xks_error_shape(
    proxy: XksProxy, request_head: str, status: int
) -> None:
    request = (
        f"POST /kms/xks/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n{request_head}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    code, reply = _raw(proxy.port or 0, request)
    assert code == status
    assert reply["errorName"] == "ValidationException"
    assert isinstance(reply["errorMessage"], str)


def test_proxy_closes_a_connection_that_stops_mid_request() -> None:
    p = XksProxy(limits=ServerLimits(idle_timeout_s=1, cleanup_interval_s=1)).start()
    try:
        with socket.create_connection(("127.0.0.1", p.port or 0), timeout=15) as conn:
            conn.sendall(b"POST /kms/xks/v1/health HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
            assert conn.recv(1024) == b""  # closed by the proxy, not by the 15 s timeout
    finally:
        p.stop()


def test_proxy_restarts_on_its_port_and_reports_a_port_in_use(proxy: XksProxy) -> None:
    port = proxy.port
    with pytest.raises(ServerStartError, match="in use"):
        XksProxy().start(port=port)
    proxy.stop()
    assert not proxy.running
    proxy.start()
    assert proxy.port == port and proxy.running
    with pytest.raises(ServerStartError, match="invalid port"):
        XksProxy().start(port=70000)


def test_cli_registers_xks_proxy() -> None:
    from kmslab.cli import SUBCOMMANDS, build_parser

    assert SUBCOMMANDS["xks-proxy"] == "kmslab.cli.xks_proxy"
    args = build_parser().parse_args(["xks-proxy", "--port", "0", "--key", "a", "--key", "b"])
    assert args.key == ["a", "b"]
