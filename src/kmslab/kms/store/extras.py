"""What a store keeps beside keys, aliases and grants: custom key stores, CloudHSM clusters,
external key store proxy routes (per Region), and IAM principals (per account).

>>> import tempfile, pathlib
>>> from kmslab import LocalKMS
>>> path = pathlib.Path(tempfile.mkdtemp()) / "kms.sqlite3"
>>> with LocalKMS(store=path) as kms:
...     cluster = kms.cloudhsm.create(hsms=2, kmsuser_password="kmsPswd")
...     store_id = kms.call("CreateCustomKeyStore", CustomKeyStoreName="hsm",
...         CloudHsmClusterId=cluster.id, TrustAnchorCertificate=cluster.trust_anchor,
...         KeyStorePassword="kmsPswd")["CustomKeyStoreId"]
>>> with LocalKMS(store=path) as again:
...     [s["CustomKeyStoreName"] for s in again.call("DescribeCustomKeyStores")["CustomKeyStores"]]
['hsm']

Each of these is a small table of the Region (a :class:`Collection`: a dict of the LocalKMS
from id to object), changed by a few operations and, for clusters, routes and IAM, by
Python code outside any call (``kms.cloudhsm.create``, ``cluster.add_hsm()``,
``kms.xks_routes[...] = url``, ``kms.iam.create_role``). So they are not tracked call by
call: every state-changing call (and ``close()``) encodes them and writes the documents
whose text differs from what the store last committed. A sealed field's seal is reused
while its value is unchanged (:mod:`~kmslab.kms.store.codec`), so an unchanged record
encodes to the same text and writes nothing. A change made outside a call is committed
with the next state-changing call, or by ``close()``.

What comes back after a restart, and why:

- a custom key store with its ConnectionState as it was. AWS keeps a key store CONNECTED
  across its own restarts, and a learner who connected a store expects its keys to work
  when the notebook comes back. A CloudHSM key store reconnects to its (kept) cluster as it
  was. An external key store stays CONNECTED too, but its proxy may be gone after a
  restart: calls then fail as AWS's fail when the proxy is unreachable
  (KMSInvalidStateException for cryptographic operations), until the proxy answers again
  or the learner routes the endpoint to the proxy's new address;
- ``kms.xks_routes`` (endpoint -> ``http://127.0.0.1:<port>``): machine-local wiring, kept
  anyway so that a restarted ``kmslab serve --store`` or notebook finds a proxy still
  serving on the same port; a stale route is an unreachable proxy, as above, and
  replacing it is one assignment;
- the CloudHSM clusters (HSMs, ``kmsuser`` and its password, the key material they hold,
  sealed), so a key in a CloudHSM key store decrypts what it encrypted before;
- the IAM users and roles with their inline identity policies (no secrets: plain JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kmslab.kms.store.codec import Shape, stored

if TYPE_CHECKING:
    from kmslab.kms.iam import IAM
    from kmslab.kms.service import LocalKMS

__all__ = ["COLLECTIONS", "Collection", "IamState", "iam_doc", "iam_state", "restore_iam"]


@dataclass(frozen=True)
class Collection:
    """One table of records of a Region beside its keys.

    ``table``: its table in the store (schema v3); ``held``: the LocalKMS's dict (id ->
    record) that it is saved from and loaded into; ``shape``: what each record must be;
    ``by_calls``: KMS calls change its records (a call whose save fails puts them back as
    committed, see :meth:`~kmslab.kms.store.Store.reload`); the others change only outside
    calls, and what was not committed stays for the next save.
    """

    table: str
    held: Callable[[LocalKMS], dict[str, Any]]
    shape: Shape
    by_calls: bool = True


def _key_stores(kms: LocalKMS) -> dict[str, Any]:
    return kms.key_stores


def _clusters(kms: LocalKMS) -> dict[str, Any]:
    return kms.cloudhsm.by_id


def _routes(kms: LocalKMS) -> dict[str, Any]:
    return kms.xks_routes


#: Loaded in this order: clusters before the key stores that name them. A call changes a
#: cluster too (CreateKey in a CloudHSM key store adds key material to it); proxy routes
#: change only by assignment in Python.
COLLECTIONS: tuple[Collection, ...] = (
    Collection("clusters", _clusters, stored("Cluster")),
    Collection("key_stores", _key_stores, stored("CustomKeyStore")),
    Collection("xks_routes", _routes, ("a URL", lambda v: isinstance(v, str)), by_calls=False),
)


#: The account's IAM users and roles as saved: ((kind, name, ((policy name, text), ...)), ...).
IamState = tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]


def iam_state(iam: IAM) -> IamState:
    """What the store keeps of the account's IAM: each user and role (not the root: it
    always exists and has no identity policy) with its inline policies' texts.

    Cheap to compare (every state-changing call does): the JSON is made only when it differs.
    """
    return tuple(
        (p.kind, p.name, tuple((name, policy.text) for name, policy in p.policies.items()))
        for p in iam.principals
        if not p.is_root
    )


def iam_doc(state: IamState) -> str:
    """:func:`iam_state` as the JSON document of the ``iam`` table."""
    principals = [
        {"kind": kind, "name": name, "policies": dict(policies)} for kind, name, policies in state
    ]
    return json.dumps({"principals": principals}, separators=(",", ":"))


_CREATE = {"AssumedRole": "create_role", "IAMUser": "create_user"}


def restore_iam(iam: IAM, doc: str) -> None:
    """Make ``iam`` hold the principals :func:`iam_doc` wrote, with exactly their policies.

    Principals ``iam`` has that the document lacks stay (IAM here has no way to delete one).
    """
    for saved in json.loads(doc)["principals"]:
        kind, name = saved["kind"], saved["name"]
        path = "role" if kind == "AssumedRole" else "user"
        principal = iam.find(f"arn:aws:iam::{iam.account}:{path}/{name}")
        if principal is None:
            principal = getattr(iam, _CREATE[kind])(name)
        principal.policies.clear()
        for policy_name, text in saved["policies"].items():
            iam.put_policy(principal, policy_name, text)
