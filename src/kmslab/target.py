"""Where a kmslab client sends its requests: the local KMS, real AWS, or any KMS endpoint.

>>> import kmslab
>>> kms = kmslab.client()                 # local, in-process (the default)
>>> kms.meta.region_name
'us-east-1'

``kmslab.client(target="aws")`` (or ``KMSLAB_TARGET=aws`` in the environment) returns a
plain boto3 client for real AWS KMS, using your usual AWS credentials and Region; a URL
(``target="http://localhost:4566"``) points it at another KMS endpoint. The notebooks call
``kmslab.client()`` only, so the same lesson runs against any of them.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import TargetError

if TYPE_CHECKING:
    from kmslab.kms.account import Account
    from kmslab.kms.service import LocalKMS

__all__ = [
    "ENV_VAR",
    "client",
    "default_account",
    "local_client",
    "stored_account",
    "target_name",
]

#: Environment variable that picks the target when ``client()`` is given none.
ENV_VAR = "KMSLAB_TARGET"


class _RawBody(io.BytesIO):
    """What botocore's AWSResponse reads a body from."""

    def stream(self, **kwargs: Any) -> Any:  # pragma: no cover - botocore streams rarely
        yield self.getvalue()


def local_client(kms: LocalKMS, principal: str | None = None, **config: Any) -> Any:
    """A boto3 KMS client answered in-process by ``kms`` through botocore's before-send hook.

    Requests are not signed (nothing checks a signature in-process), so no credentials are
    needed and each call costs less. Each response carries a new request id (a UUID4) in
    ``x-amzn-RequestId``, which botocore puts in ``ResponseMetadata.RequestId`` (and
    :func:`kmslab.explain` finds a failure by).

    Retries: botocore's legacy mode with no retries. Its standard mode with one attempt
    marks every error "max attempts reached", and the error text then ends its operation
    name with " (reached max retries: 0)", which a client of AWS with the default
    configuration never sees on a 400 error. Legacy mode adds that only to retryable
    (throttling and 5xx) errors, as AWS clients do; the local KMS never throttles.
    ``principal``: the IAM ARN the client acts as (``kms.iam``); by default the account's
    administrator role, ``arn:aws:iam::<account>:role/Admin``.
    """
    import boto3
    import botocore
    from botocore import UNSIGNED
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    from kmslab import __version__
    from kmslab.kms.failures import new_request_id

    # A fixed User-Agent: botocore otherwise rebuilds a long one twice per call, which costs
    # more than the local KMS's whole answer. Nothing in-process reads it.
    base = Config(
        signature_version=UNSIGNED,
        retries={"max_attempts": 0, "mode": "legacy"},
        user_agent=f"kmslab/{__version__} boto3/{boto3.__version__} "
        f"botocore/{botocore.__version__}",
    )
    session = boto3.session.Session(region_name=kms.region)
    kms_client = session.client("kms", config=base.merge(Config(**config)) if config else base)
    prefix = "TrentService."
    caller = kms.iam.get(principal) if principal is not None else None
    # Anything with handle(operation, body) can answer (the benchmark's canned stand-ins);
    # a LocalKMS also names the caller and gives each response its recorded request id.
    acting_as = getattr(kms, "acting_as", None)

    def before_send(request: Any, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = body.read()
        request_id = new_request_id()
        if acting_as is None:  # a stand-in with handle(operation, body) only
            status, payload = kms.handle(target.removeprefix(prefix), body)
        else:
            with acting_as(caller):
                status, payload = kms.handle(
                    target.removeprefix(prefix), body, request_id=request_id
                )
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "Content-Length": str(len(payload)),
            "x-amzn-RequestId": request_id,
        }
        return AWSResponse(request.url, status, headers, _RawBody(payload))

    kms_client.meta.events.register("before-send.kms", before_send)
    kms_client.local_kms = kms
    return kms_client


_ACCOUNT: list[Account] = []


def default_account() -> Account:
    """The one local AWS account of this process, shared by every local ``client()``.

    Clients for different Regions (``client(region_name="eu-west-1")``) are Regions of this
    account, as boto3 clients of one AWS account are, so multi-Region keys replicate between
    them.
    """
    if not _ACCOUNT:
        from kmslab.kms.account import Account

        _ACCOUNT.append(Account())
    return _ACCOUNT[0]


#: Resolved store path -> the account this process opened on it (see ``client(store=)``).
_STORED: dict[str, Account] = {}


def stored_account(store: str | os.PathLike[str]) -> Account:
    """The local account kept in ``store``, opened once per process and path.

    Running ``kmslab.client(store=PATH)`` again (a notebook cell run twice) gives a client of
    the same account rather than a second owner, which the store would refuse; after
    ``client.local_kms.close()`` the next call opens the store again.
    """
    from pathlib import Path

    from kmslab.kms.account import Account

    path = str(Path(store).expanduser().absolute())
    account = _STORED.get(path)
    if account is None or account.store is None:
        account = _STORED[path] = Account(store=path)
    return account


#: What a KMS endpoint that is not AWS (``kmslab serve``, LocalStack) gets as credentials:
#: boto3 signs every request and refuses to start without some, but such endpoints do not
#: check them, so a learner needs no AWS account to use one.
DUMMY_CREDENTIALS = {"aws_access_key_id": "kmslab", "aws_secret_access_key": "kmslab"}


def _endpoint_credentials(url: str) -> dict[str, str]:
    """Dummy credentials for an endpoint that is not AWS; none (the usual chain) for AWS.

    >>> _endpoint_credentials("http://127.0.0.1:8080")["aws_access_key_id"]
    'kmslab'
    >>> _endpoint_credentials("https://kms.eu-west-1.amazonaws.com")
    {}
    """
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    is_aws = host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))
    return {} if is_aws else dict(DUMMY_CREDENTIALS)


def target_name(target: str | None = None) -> str:
    """The target a client() call would use: the argument, then $KMSLAB_TARGET, then local."""
    return target or os.environ.get(ENV_VAR) or "local"


def client(
    target: str | None = None,
    *,
    kms: LocalKMS | None = None,
    region_name: str | None = None,
    store: str | os.PathLike[str] | None = None,
    principal: str | None = None,
    **config: Any,
) -> Any:
    """A boto3 KMS client for the chosen target.

    - ``"local"`` (default): the ``region_name`` Region (default us-east-1) of this process's
      local account (:func:`default_account`), or ``kms`` if given; with ``store=PATH``, of
      the account kept in that file, whose keys survive restarts (:func:`stored_account`;
      ``client.local_kms.close()`` releases the file; see :mod:`kmslab.kms.store`); acting
      as ``principal`` (an IAM ARN of the account's ``iam``; by default its administrator
      role);
    - ``"aws"``: real AWS KMS with your usual credentials (``region_name`` or the default);
    - an ``http(s)://`` URL: any KMS-compatible endpoint.
    """
    name = target_name(target)
    if name == "local":
        from kmslab.kms.service import DEFAULT_REGION

        if kms is not None and store is not None:
            raise TargetError("Give store= or kms=, not both: a LocalKMS has its own store.")
        account = stored_account(store) if store is not None else default_account()
        region = kms or account.region(region_name or DEFAULT_REGION)
        return local_client(region, principal=principal, **config)
    if store is not None:
        raise TargetError(f"store= is for the local target, not {name!r}.")
    if principal is not None:
        raise TargetError(
            "principal= chooses an identity of the local KMS only; for AWS or another "
            "endpoint, use that target's credentials (an AWS profile or role)."
        )
    import boto3
    from botocore.config import Config

    cfg = Config(**config) if config else None
    if name == "aws":
        from botocore.exceptions import NoRegionError

        try:
            return boto3.client("kms", region_name=region_name, config=cfg)
        except NoRegionError:
            raise TargetError(
                "No AWS Region is set for the aws target: pass region_name='eu-west-1' (say), "
                "or set AWS_DEFAULT_REGION, or a region in your AWS profile."
            ) from None
    if name.startswith(("http://", "https://")):
        return boto3.client(
            "kms",
            region_name=region_name or "us-east-1",
            endpoint_url=name,
            config=cfg,
            **_endpoint_credentials(name),
        )
    raise TargetError(
        f"Unknown target {name!r}: use 'local', 'aws', or an http(s):// KMS endpoint URL."
    )
