"""Every error kmslab raises, flat in one module.

:class:`KMSError` subclasses carry the AWS error code in ``code`` exactly as it travels on
the wire (``{"__type": code, "message": ...}``), so a boto3 client raises the same
``client.exceptions.<Code>`` (or ``ClientError`` with that code) as real AWS KMS does.
Each also subclasses the closest builtin, so plain Python callers can catch that instead.

The message is AWS's text, nothing added; ``None`` where AWS sends no message member at all
(InvalidCiphertextException, KMSInvalidSignatureException, ...). kmslab's own explanation of
a failure is kept apart: ``detail`` holds facts for :func:`kmslab.explain` (never sent), and
``request_id`` is set when the local KMS answers the request.

>>> from kmslab.exceptions import NotFoundException
>>> err = NotFoundException("Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found.")
>>> err.code, isinstance(err, LookupError)
('NotFoundException', True)

Messages never contain key material: only ARNs, names, sizes and enum values.
"""

from __future__ import annotations

from collections.abc import Sequence


class KMSError(Exception):
    """An error AWS KMS itself would return; ``code`` is its wire name."""

    code: str = "KMSInternalException"
    #: HTTP status AWS answers with (KMS uses 400 for client errors, 500 for internal ones).
    status: int = 400
    #: The JSON member that carries the message: ``message`` for the errors in KMS's model,
    #: ``Message`` for AccessDeniedException (a recorded AWS body: aws-nitro-enclaves-sdk-c#157).
    member: str = "message"

    def __init__(self, message: str | None = None, **detail: str) -> None:
        super().__init__(message or "")
        #: AWS's message text, or None when AWS sends no message member.
        self.message = message
        #: Facts about this failure for kmslab's explanation (never sent on the wire).
        self.detail = detail
        #: The request id (x-amzn-RequestId) of the request that failed, once answered.
        self.request_id: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _error(
    code: str, *bases: type[BaseException], status: int = 400, member: str = "message"
) -> type[KMSError]:
    attrs = {"code": code, "status": status, "member": member, "__module__": __name__}
    cls = type(code, (KMSError, *bases), attrs)
    cls.__doc__ = f"AWS KMS ``{code}``."
    return cls


# Client errors, by AWS error code. ValidationException and AccessDeniedException are not
# modelled shapes in botocore: boto3 raises them as ClientError with that Error.Code.
ValidationException = _error("ValidationException", ValueError)
AccessDeniedException = _error("AccessDeniedException", PermissionError, member="Message")
AlreadyExistsException = _error("AlreadyExistsException", ValueError)
ConflictException = _error("ConflictException")
DisabledException = _error("DisabledException")
DryRunOperationException = _error("DryRunOperationException")
ExpiredImportTokenException = _error("ExpiredImportTokenException", ValueError)
IncorrectKeyException = _error("IncorrectKeyException", ValueError)
IncorrectKeyMaterialException = _error("IncorrectKeyMaterialException", ValueError)
InvalidAliasNameException = _error("InvalidAliasNameException", ValueError)
InvalidArnException = _error("InvalidArnException", ValueError)
InvalidCiphertextException = _error("InvalidCiphertextException", ValueError)
InvalidGrantIdException = _error("InvalidGrantIdException", ValueError)
InvalidGrantTokenException = _error("InvalidGrantTokenException", ValueError)
InvalidImportTokenException = _error("InvalidImportTokenException", ValueError)
InvalidKeyUsageException = _error("InvalidKeyUsageException", ValueError)
InvalidMarkerException = _error("InvalidMarkerException", ValueError)
KMSInvalidMacException = _error("KMSInvalidMacException", ValueError)
KMSInvalidSignatureException = _error("KMSInvalidSignatureException", ValueError)
KMSInvalidStateException = _error("KMSInvalidStateException")
LimitExceededException = _error("LimitExceededException")
MalformedPolicyDocumentException = _error("MalformedPolicyDocumentException", ValueError)
NotFoundException = _error("NotFoundException", LookupError)
TagException = _error("TagException", ValueError)
UnsupportedOperationException = _error("UnsupportedOperationException", NotImplementedError)
UnknownOperationException = _error("UnknownOperationException", NotImplementedError)
SerializationException = _error("SerializationException", ValueError)
# Custom key stores (AWS CloudHSM and external key stores).
CustomKeyStoreNotFoundException = _error("CustomKeyStoreNotFoundException", LookupError)
CustomKeyStoreNameInUseException = _error("CustomKeyStoreNameInUseException", ValueError)
CustomKeyStoreInvalidStateException = _error("CustomKeyStoreInvalidStateException")
CustomKeyStoreHasCMKsException = _error("CustomKeyStoreHasCMKsException")
CloudHsmClusterInUseException = _error("CloudHsmClusterInUseException")
CloudHsmClusterNotFoundException = _error("CloudHsmClusterNotFoundException", LookupError)
CloudHsmClusterNotActiveException = _error("CloudHsmClusterNotActiveException")
CloudHsmClusterInvalidConfigurationException = _error(
    "CloudHsmClusterInvalidConfigurationException"
)
CloudHsmClusterNotRelatedException = _error("CloudHsmClusterNotRelatedException")
IncorrectTrustAnchorException = _error("IncorrectTrustAnchorException", ValueError)
XksKeyAlreadyInUseException = _error("XksKeyAlreadyInUseException")
XksKeyNotFoundException = _error("XksKeyNotFoundException", LookupError)
XksKeyInvalidConfigurationException = _error("XksKeyInvalidConfigurationException")
XksProxyUriInUseException = _error("XksProxyUriInUseException")
XksProxyUriEndpointInUseException = _error("XksProxyUriEndpointInUseException")
XksProxyUriUnreachableException = _error("XksProxyUriUnreachableException")
XksProxyIncorrectAuthenticationCredentialException = _error(
    "XksProxyIncorrectAuthenticationCredentialException"
)
XksProxyInvalidConfigurationException = _error("XksProxyInvalidConfigurationException")
XksProxyInvalidResponseException = _error("XksProxyInvalidResponseException")
XksProxyVpcEndpointServiceInUseException = _error("XksProxyVpcEndpointServiceInUseException")
XksProxyVpcEndpointServiceNotFoundException = _error("XksProxyVpcEndpointServiceNotFoundException")
XksProxyVpcEndpointServiceInvalidConfigurationException = _error(
    "XksProxyVpcEndpointServiceInvalidConfigurationException"
)
DependencyTimeoutException = _error("DependencyTimeoutException", status=503)
# Server-side.
KMSInternalException = _error("KMSInternalException", status=500)

#: Wire name -> class, for every error kmslab can raise.
ERRORS: dict[str, type[KMSError]] = {
    cls.code: cls
    for cls in (
        v for v in list(globals().values()) if isinstance(v, type) and issubclass(v, KMSError)
    )
    if cls is not KMSError
}


def error(code: str, message: str | None = None, **detail: str) -> KMSError:
    """The error of wire name ``code`` (for tables of (code, message template) rows)."""
    return ERRORS[code](message, **detail)


# Errors of kmslab itself (not AWS's): bad arguments to the Python API.


class KmslabError(Exception):
    """Base of errors that belong to kmslab's own Python API, not to AWS KMS."""


class UnknownKeySpecError(KmslabError, KeyError, ValueError):
    """A key spec name that is not in the catalogue."""

    def __init__(self, name: object, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = tuple(valid)
        super().__init__(name)

    def __str__(self) -> str:
        return f"Unknown key spec {self.name!r}. Valid key specs: {', '.join(self.valid)}."


class TargetError(KmslabError, ValueError):
    """An unknown client target (see :func:`kmslab.client`)."""


class ServerStartError(KmslabError, OSError):
    """``kmslab serve`` cannot listen: port in use, port out of range, not an address.

    The message is one line for the command to print (the CLI exits with status 2).
    """


class StoreError(KmslabError, OSError):
    """A key store (``LocalKMS(store=PATH)``) that cannot be opened or written as it is."""


class StoreLockedError(StoreError):
    """The store is open in another process (or another LocalKMS); ``owner`` says which."""

    def __init__(self, message: str, owner: dict[str, object]) -> None:
        super().__init__(message)
        self.owner = owner

    def __str__(self) -> str:
        return str(self.args[0])
