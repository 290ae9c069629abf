"""What a failed call to an external key store proxy becomes in AWS KMS: one table.

A failure has a *kind*: an ``errorName`` of the XKS Proxy API specification's error table,
or ``unreachable``, ``timeout`` or ``malformed``. :data:`FAILURES` gives, for each kind, the
AWS exception in each kind of KMS operation and the one message they share. It is plain data
(no network code), so the fidelity ledger builds its rows for these errors from it and the
proxy client (:mod:`kmslab.kms.keystores.xks_client`) raises from it: one source for both.

>>> FAILURES["unreachable"].manage, FAILURES["unreachable"].crypto
('XksProxyUriUnreachableException', 'KMSInvalidStateException')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAILURES", "Failure"]

_INTERPRET = (
    "AWS KMS cannot interpret the response from the external key store proxy. If you see "
    "this error repeatedly, consult your external key store proxy administrator."
)


@dataclass(frozen=True, slots=True)
class Failure:
    """What one kind of proxy failure becomes: the AWS exception in Create/Update-
    CustomKeyStore (``manage``), in CreateKey (``create_key``) and in cryptographic
    operations (``crypto``), and the message, which is the same in all three."""

    manage: str
    create_key: str
    crypto: str
    message: str
    #: The stem of its fidelity-ledger rows: ``<ledger>-manage``, ``-create-key``, ``-crypto``.
    ledger: str
    #: Where AWS gives the message (the ledger's source column).
    source: str


_KIS, _CSIS = "KMSInvalidStateException", "CustomKeyStoreInvalidStateException"
_UNREACHABLE = "XksProxyUriUnreachableException"

_DG = "DG xks-troubleshooting.md"
_SPEC = "XKS Proxy API specification, Error codes"
_BOTH = f"{_DG} and {_SPEC}"

#: kind -> Failure. Messages: KMS Developer Guide "Troubleshooting external key stores"
#: where it gives them, else the XKS Proxy API specification's table of KMS exception
#: messages (its "Error codes" section). The fidelity ledger's rows for these errors are
#: made from this table (:mod:`kmslab.kms.ledger`), three per message; the ledger test
#: also reads its ``Failure(...)`` calls, so codes and messages stay literals or module
#: constants. AuthenticationFailedException's text is the specification's; the archived
#: Developer Guide words it "Verify the credentials for your external key store ...".
FAILURES: dict[str, Failure] = {
    "ValidationException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        _INTERPRET,
        ledger="xks-interpret",
        source=_DG,
    ),
    "malformed": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        _INTERPRET,
        ledger="xks-interpret",
        source=_DG,
    ),
    "InvalidStateException": Failure(
        "XksProxyInvalidResponseException",
        "XksKeyInvalidConfigurationException",
        _KIS,
        "The external key store proxy rejected the request because the external key is not "
        "enabled in the external key manager.",
        ledger="xks-key-disabled",
        source=_DG,
    ),
    "InvalidCiphertextException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because the specified ciphertext "
        "or additional authenticated data is corrupted, missing, or otherwise invalid.",
        ledger="xks-bad-ciphertext",
        source=_DG,
    ),
    "InvalidKeyUsageException": Failure(
        "XksProxyInvalidResponseException",
        "XksKeyInvalidConfigurationException",
        _KIS,
        "The external key store proxy rejected the request because the external key does not "
        "support the requested operation.",
        ledger="xks-usage-refused",
        source=_DG,
    ),
    "AuthenticationFailedException": Failure(
        "XksProxyIncorrectAuthenticationCredentialException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because it could not authenticate "
        "AWS KMS. Verify the XKS proxy authentication credentials for your external key store "
        "and update if necessary.",
        ledger="xks-auth",
        source=_SPEC,
    ),
    "AccessDeniedException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy denied access to the operation. Verify that the user and "
        "the external key are both authorized for this operation, and try the request again.",
        ledger="xks-access-denied",
        source=_BOTH,
    ),
    "KeyNotFoundException": Failure(
        "XksProxyInvalidResponseException",
        "XksKeyNotFoundException",
        _KIS,
        "The external key store proxy rejected the request because it could not find the "
        "external key.",
        ledger="xks-key-not-found",
        source=_DG,
    ),
    "InvalidUriPathException": Failure(
        "XksProxyInvalidConfigurationException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because of an invalid URI path. "
        "Verify the URI path for your external key store and update if necessary.",
        ledger="xks-uri-path",
        source=_BOTH,
    ),
    "UnsupportedOperationException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because it does not support the "
        "requested cryptographic operation.",
        ledger="xks-unsupported",
        source=_DG,
    ),
    "ThrottlingException": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request due to a very high request rate. "
        "Reduce the frequency of your calls using KMS keys in this external key store.",
        ledger="xks-throttled",
        source=_SPEC,
    ),
    "DependencyTimeoutException": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "The external key store proxy did not respond to the request in the time allotted. "
        "Retry the request. If you see this error repeatedly, report it to your external key "
        "store proxy administrator.",
        ledger="xks-ekm-timeout",
        source=_BOTH,
    ),
    "InternalException": Failure(
        "XksProxyInvalidResponseException",
        _CSIS,
        _KIS,
        "The external key store proxy rejected the request because it cannot communicate with "
        "the external key manager. Verify that the external key store proxy configuration is "
        "correct and that the external key manager is available.",
        ledger="xks-ekm-unreachable",
        source=_SPEC,
    ),
    "unreachable": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "AWS KMS cannot communicate with the external key store proxy. This might be a "
        "transient network issue. If you see this error repeatedly, verify that your external "
        "key store proxy is active and is connected to the network, and that its endpoint URI "
        "is correct in your external keystore.",
        ledger="xks-unreachable",
        source=_SPEC,
    ),
    "timeout": Failure(
        _UNREACHABLE,
        _CSIS,
        _KIS,
        "AWS KMS rejected the request because the external key store proxy did not respond in "
        "time. Retry the request. If you see this error repeatedly, report it to your external "
        "key store proxy administrator.",
        ledger="xks-timeout",
        source=_BOTH,
    ),
}
