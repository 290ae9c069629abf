"""Making custom key stores in tests: one way, used by every test that needs one.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> store_id, cluster = cloudhsm_store(kms, connect=True)
>>> kms.call("DescribeCustomKeyStores", CustomKeyStoreId=store_id)["CustomKeyStores"][0][
...     "ConnectionState"]
'CONNECTED'
"""

from __future__ import annotations

from typing import Any

from kmslab.kms import LocalKMS

#: The kmsuser password of the clusters made here.
KMSUSER_PASSWORD = "kmsPswd"
#: The endpoint external key stores made here use (routed to the test's proxy).
XKS_ENDPOINT = "https://xks.example.com"


def cloudhsm_store(
    kms: LocalKMS,
    name: str = "hsm",
    *,
    cluster: Any = None,
    password: str = KMSUSER_PASSWORD,
    connect: bool = False,
) -> tuple[str, Any]:
    """An AWS CloudHSM key store on ``cluster`` (a new active two-HSM cluster by default);
    returns (its CustomKeyStoreId, the cluster). ``connect``: connect it too."""
    if cluster is None:
        cluster = kms.cloudhsm.create(hsms=2, kmsuser_password=KMSUSER_PASSWORD)
    store_id = kms.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName=name,
        CloudHsmClusterId=cluster.id,
        TrustAnchorCertificate=cluster.trust_anchor,
        KeyStorePassword=password,
    )["CustomKeyStoreId"]
    if connect:
        kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    return str(store_id), cluster


def external_store(kms: LocalKMS, proxy: Any, name: str = "xks", *, connect: bool = False) -> str:
    """An external key store reaching ``proxy`` (an XksProxy) at :data:`XKS_ENDPOINT`;
    returns its CustomKeyStoreId. ``connect``: connect it too."""
    kms.xks_routes[XKS_ENDPOINT] = proxy.url
    store_id = kms.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName=name,
        CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=XKS_ENDPOINT,
        XksProxyUriPath=proxy.uri_path,
        XksProxyAuthenticationCredential=proxy.authentication_credential,
        XksProxyConnectivity="PUBLIC_ENDPOINT",
    )["CustomKeyStoreId"]
    if connect:
        kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    return str(store_id)
