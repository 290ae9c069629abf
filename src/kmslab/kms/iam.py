"""IAM principals of the local KMS's account: the root, users and roles, with identity policies.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> analyst = kms.iam.create_role("Analyst", policy={
...     "Version": "2012-10-17",
...     "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})
>>> analyst.arn
'arn:aws:iam::111122223333:role/Analyst'
>>> analyst.caller_arn             # what AWS names in errors and CloudTrail: the role session
'arn:aws:sts::111122223333:assumed-role/Analyst/kmslab'
>>> kms.iam.default.arn            # who the default client is
'arn:aws:iam::111122223333:role/Admin'

A role acts through a session (AWS STS AssumeRole), so errors and the record name
``arn:aws:sts::<account>:assumed-role/<role>/<session>`` while key policies name the role's
ARN (``arn:aws:iam::<account>:role/<role>``). Source: IAM User Guide, "IAM identifiers" and
"AWS JSON policy elements: Principal" (role sessions match a Principal naming the role).

The default principal is the role ``Admin`` with an administrator identity policy
(``"Action": "*"``): the default key policy delegates to IAM policies, so it may do
everything, as an administrator of a real account may.

Each principal has an access key ID, which is how a request over HTTP (``kmslab serve``,
the AWS CLI, any SDK) says who it comes from: ``AKIA...`` for the root and users,
``ASIA...`` for a role session, as AWS's long-term and temporary keys begin (IAM User
Guide, "Unique identifier prefixes"). The secret key is not checked: the local KMS has no
authentication.

>>> kms.iam.find_access_key(analyst.access_key_id) is analyst
True
>>> analyst.access_key_id[:4], kms.iam.root.access_key_id[:4]
('ASIA', 'AKIA')
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kmslab.kms.policy.document import Policy, parse_identity_policy

__all__ = ["ADMIN_POLICY", "ADMIN_ROLE", "IAM", "SESSION_NAME", "Principal"]

#: The name of the role the default client acts as.
ADMIN_ROLE = "Admin"
#: The session name of role sessions kmslab clients use.
SESSION_NAME = "kmslab"
#: An administrator identity policy (what AWS's AdministratorAccess managed policy allows).
ADMIN_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# IAM names: letters, digits and +=,.@_- (IAM User Guide, "IAM object quotas").
_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_ARN = re.compile(
    r"arn:aws:(?P<service>iam|sts)::(?P<account>\d{12}):"
    r"(?P<kind>root|user|role|assumed-role)(?:/(?P<rest>.+))?"
)


def _derived_id(prefix: str, name: str, length: int) -> str:
    """An identifier in AWS's form (a 4-letter prefix, then upper-case base32 characters)
    derived from ``name``, so a principal has the same one on every run."""
    digest = hashlib.sha256(f"kmslab:{name}".encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:length]


@dataclass(eq=False)
class Principal:
    """One IAM identity. ``kind``: "Root", "IAMUser" or "AssumedRole" (CloudTrail's types).

    ``policies``: inline identity policies, name -> parsed policy.
    """

    account: str
    kind: str
    name: str
    session: str = SESSION_NAME
    policies: dict[str, Policy] = field(default_factory=dict, repr=False)

    @property
    def arn(self) -> str:
        """The IAM ARN a policy's Principal names (root, user or role)."""
        if self.kind == "Root":
            return f"arn:aws:iam::{self.account}:root"
        if self.kind == "IAMUser":
            return f"arn:aws:iam::{self.account}:user/{self.name}"
        return f"arn:aws:iam::{self.account}:role/{self.name}"

    @property
    def caller_arn(self) -> str:
        """The ARN of the caller as AWS reports it (errors, CloudTrail's userIdentity.arn)."""
        if self.kind == "AssumedRole":
            return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{self.session}"
        return self.arn

    @property
    def is_root(self) -> bool:
        return self.kind == "Root"

    @cached_property
    def access_key_id(self) -> str:
        """The access key ID whose requests come from this principal: 20 characters,
        ``ASIA`` for a role session, ``AKIA`` otherwise, the same on every run."""
        prefix = "ASIA" if self.kind == "AssumedRole" else "AKIA"
        return _derived_id(prefix, self.caller_arn, 16)

    @cached_property
    def unique_id(self) -> str:
        """IAM's unique ID of the user or role (``AIDA...``, ``AROA...``; IAM User Guide,
        "Unique identifiers"), or the account ID for the root."""
        if self.is_root:
            return self.account
        return _derived_id("AIDA" if self.kind == "IAMUser" else "AROA", self.arn, 17)

    def identity(self) -> dict[str, Any]:
        """CloudTrail's userIdentity element for this caller (built once; do not change it).

        Fields as in the CloudTrail User Guide, "CloudTrail userIdentity element": a role
        session's ``principalId`` is the role's unique ID and the session name.
        """
        cached: dict[str, Any] | None = self.__dict__.get("_identity")
        if cached is not None:
            return cached
        session = f":{self.session}" if self.kind == "AssumedRole" else ""
        out: dict[str, Any] = {
            "type": self.kind,
            "principalId": self.unique_id + session,
            "arn": self.caller_arn,
            "accountId": self.account,
            "accessKeyId": self.access_key_id,
        }
        if self.kind == "IAMUser":
            out["userName"] = self.name
        elif self.kind == "AssumedRole":
            out["sessionContext"] = {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": self.unique_id,
                    "arn": self.arn,
                    "accountId": self.account,
                    "userName": self.name,
                }
            }
        self.__dict__["_identity"] = out
        return out


class IAM:
    """The IAM identities of one account: ``root``, users, roles; ``default`` is the admin role."""

    def __init__(self, account: str) -> None:
        self.account = account
        #: The principal calling on each thread (set by ``kms.acting_as``), account-wide.
        self.local = threading.local()
        self.root = Principal(account, "Root", "root")
        self._by_arn: dict[str, Principal] = {self.root.arn: self.root}
        self.default = self.create_role(ADMIN_ROLE, policy=ADMIN_POLICY)

    def __repr__(self) -> str:
        return f"IAM(account={self.account!r}, principals={sorted(self._by_arn)})"

    def create_role(self, name: str, policy: Any = None) -> Principal:
        """A role (acting through the session ``kmslab``) with an optional inline policy.

        ``policy``: a policy as a dict or JSON text; more with :meth:`put_policy`.
        Raises ValueError for a bad name or a role that exists, and
        MalformedPolicyDocumentException for a bad policy.
        """
        return self._create("AssumedRole", name, policy)

    def create_user(self, name: str, policy: Any = None) -> Principal:
        """An IAM user with an optional inline policy (see :meth:`create_role`)."""
        return self._create("IAMUser", name, policy)

    def _create(self, kind: str, name: str, policy: Any) -> Principal:
        if _NAME.fullmatch(name) is None:
            raise ValueError(f"{name!r} is not a valid IAM name (1-64 of letters, digits, +=,.@_-)")
        principal = Principal(self.account, kind, name)
        if principal.arn in self._by_arn:
            raise ValueError(f"{principal.arn} already exists")
        if policy is not None:
            self.put_policy(principal, "inline", policy)
        self._by_arn[principal.arn] = principal
        return principal

    def put_policy(self, principal: Principal | str, name: str, policy: Any) -> None:
        """Attach (or replace) the inline identity policy ``name`` of a user or role."""
        target = self.get(principal) if isinstance(principal, str) else principal
        if target.is_root:
            raise ValueError("the account root needs no identity policy: it may do everything")
        text = policy if isinstance(policy, str) else json.dumps(policy)
        target.policies[name] = parse_identity_policy(text)

    def delete_policy(self, principal: Principal | str, name: str) -> None:
        target = self.get(principal) if isinstance(principal, str) else principal
        del target.policies[name]

    @property
    def principals(self) -> list[Principal]:
        return list(self._by_arn.values())

    def find(self, arn: str) -> Principal | None:
        """The principal an ARN names: root, user, role, or a role session; None if unknown."""
        m = _ARN.fullmatch(arn)
        if m is None or m["account"] != self.account:
            return None
        kind, rest = m["kind"], m["rest"] or ""
        if kind == "root":
            return self.root if m["service"] == "iam" and not rest else None
        if kind == "assumed-role":
            role, _, session = rest.partition("/")
            found = self._by_arn.get(f"arn:aws:iam::{self.account}:role/{role}")
            if found is None or not session or m["service"] != "sts":
                return None
            if session == found.session:
                return found
            return Principal(found.account, found.kind, found.name, session, found.policies)
        # Paths (user/dept/alice) are allowed in ARNs; the name is the last segment.
        return self._by_arn.get(f"arn:aws:iam::{self.account}:{kind}/{rest.rsplit('/', 1)[-1]}")

    def get(self, arn: str) -> Principal:
        """Like :meth:`find`, but an unknown ARN raises ValueError naming the known ones."""
        found = self.find(arn)
        if found is None:
            raise ValueError(
                f"No IAM principal {arn!r} in account {self.account}. Known: "
                f"{', '.join(sorted(self._by_arn))}. Make one with kms.iam.create_role(name)."
            )
        return found

    def exists(self, arn: str) -> bool:
        return self.find(arn) is not None

    def find_access_key(self, access_key_id: str) -> Principal | None:
        """The principal whose :attr:`Principal.access_key_id` this is; None if none is."""
        for principal in self._by_arn.values():
            if principal.access_key_id == access_key_id:
                return principal
        return None
