"""kmslab's guides to AWS KMS errors: one :class:`Guide` per fidelity-ledger row, saying
why the error happened, what to do instead and which AWS page to read.

:func:`kmslab.explain` fills a guide's ``<placeholders>`` with the facts of one failure;
a row without a guide here is explained from its error code alone. The texts are kmslab's;
AWS's errors carry none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXPLANATIONS", "Guide"]

_DG = "https://docs.aws.amazon.com/kms/latest/developerguide/"
_API = "https://docs.aws.amazon.com/kms/latest/APIReference/"


@dataclass(frozen=True, slots=True)
class Guide:
    """What kmslab says about one ledger row: why it happened, what to do, where to read.

    ``why`` and ``instead`` may use ``<placeholders>``: the row's own (``<key ARN>``, filled
    from AWS's message), the facts of the failure (``<operation>``, ``<KeySpec>``,
    ``<KeyUsage>``, ``<KeyState>``, ``<Origin>`` of the key it named) and any request member
    by name (``<SigningAlgorithm>``). ``page`` is a URL (``{operation}`` is filled in).
    """

    why: str
    instead: str
    page: str = _API + "API_{operation}.html#API_{operation}_Errors"


_KEY_ID = _DG + "concepts.html#key-id"
_KEY_STATE = _DG + "key-state.html"
_KEY_TYPES = _DG + "symm-asymm-choose-key-spec.html"

#: Ledger row id -> kmslab's explanation. A row without one is explained from its error code.
EXPLANATIONS: dict[str, Guide] = {
    "invalid-key-id": Guide(
        "KeyId '<KeyId as given>' is not any form of key identifier, so AWS KMS does not "
        "look it up at all. A key ID is a UUID (1234abcd-12ab-34cd-56ef-1234567890ab), or "
        "mrk- and 32 hex digits for a multi-Region key.",
        "Pass the KeyId or Arn from CreateKey or ListKeys, or an alias name that starts with "
        "alias/ (where the operation accepts aliases).",
        _KEY_ID,
    ),
    "key-not-found": Guide(
        "The key ID is well formed, but no key <key ARN> exists in this account and Region. "
        "AWS writes the full ARN, built from the caller's account and Region, even when you "
        "passed a bare key ID.",
        "Check the Region of your client and the account; list the keys you can use with "
        "ListKeys. A key deleted after its waiting period is gone for good.",
        _KEY_ID,
    ),
    "alias-not-found": Guide(
        "No alias <alias ARN> exists in this account and Region. Aliases are names that point "
        "at keys, and they are Regional.",
        "List the aliases with ListAliases, or create this one with CreateAlias.",
        _DG + "kms-alias.html",
    ),
    "invalid-arn": Guide(
        "The ARN names Region <Region of the ARN>, but this endpoint is another Region. A KMS "
        "key lives in one Region; a client reaches only the keys of its own Region.",
        "Make a client for the key's Region (kmslab.client(region_name=...)), or use a key of "
        "this Region.",
        _KEY_ID,
    ),
    "disabled": Guide(
        "<operation> needs a key that is Enabled, and <key ARN> is Disabled. A disabled key "
        "keeps its key material but takes part in no cryptographic operation.",
        "EnableKey makes it usable again.",
        _KEY_STATE,
    ),
    "pending-deletion": Guide(
        "<key ARN> is scheduled for deletion: until its waiting period ends, it refuses "
        "<operation> (and after it, the key and everything encrypted under it is gone).",
        "If you still need it, CancelKeyDeletion brings it back (disabled); then EnableKey.",
        _DG + "deleting-keys.html",
    ),
    "pending-import": Guide(
        "<key ARN> was created with Origin EXTERNAL and has no key material yet (or its "
        "imported material was deleted or expired), so it cannot <operation>.",
        "Import key material: GetParametersForImport, wrap your material with the public key, "
        "then ImportKeyMaterial.",
        _DG + "importing-keys.html",
    ),
    "not-pending-deletion": Guide(
        "CancelKeyDeletion undoes ScheduleKeyDeletion, and <key ARN> is not scheduled for "
        "deletion.",
        "Nothing to cancel. DescribeKey shows the key's KeyState.",
        _DG + "deleting-keys.html",
    ),
    "origin-external-rotation": Guide(
        "<key ARN> holds imported key material (Origin EXTERNAL), and AWS KMS does not make "
        "new material for such a key: it cannot rotate it automatically.",
        "Rotate imported material on demand with new material you import, or use a key with "
        "Origin AWS_KMS and EnableKeyRotation.",
        _DG + "rotate-keys.html",
    ),
    "origin-invalid": Guide(
        "<operation> works only on keys of another origin; <key ARN> has Origin <Origin>. The "
        "import operations need Origin EXTERNAL; automatic rotation needs AWS_KMS.",
        "Create the key with the origin the operation needs (CreateKey Origin=EXTERNAL to "
        "import your own material).",
        _DG + "importing-keys.html",
    ),
    "key-usage-invalid": Guide(
        "A KMS key does one kind of work, fixed by its KeyUsage when it is created. "
        "<key ARN> has key spec <KeySpec> and key usage <KeyUsage>, which cannot do "
        "<operation>.",
        "Use a key made for it: ENCRYPT_DECRYPT for Encrypt and Decrypt, SIGN_VERIFY for Sign "
        "and Verify, GENERATE_VERIFY_MAC for MACs, KEY_AGREEMENT for DeriveSharedSecret. "
        "kmslab.learn.choose suggests a key spec for a task.",
        _KEY_TYPES,
    ),
    "algorithm-incompatible": Guide(
        "Each key spec takes only some algorithms, and <algorithm> is not one of those of "
        "<KeySpec>. (Encrypt and Decrypt default to SYMMETRIC_DEFAULT, which an RSA key does "
        "not take; GenerateDataKey and GenerateDataKeyPair always encrypt with it, so they "
        "need a symmetric encryption key.)",
        "For data keys (GenerateDataKey, GenerateDataKeyPair) use a SYMMETRIC_DEFAULT key. "
        "Elsewhere, DescribeKey lists the key's EncryptionAlgorithms, SigningAlgorithms or "
        "MacAlgorithms: pass one of those.",
        _KEY_TYPES,
    ),
    "unsupported-key-spec": Guide(
        "<operation> is not for this kind of key: <key ARN> is a <KeySpec> key.",
        "GetPublicKey is for asymmetric keys; rotation for symmetric encryption keys.",
        _KEY_TYPES,
    ),
    "unsupported-no-message": Guide(
        "<operation> refused <key ARN> without a message. Automatic and on-demand rotation "
        "are for symmetric encryption keys with key material KMS generated; AWS sends no "
        "text with this refusal.",
        "To renew an asymmetric or HMAC key, create a new key and move to it (an alias makes "
        "the move one UpdateAlias call).",
        _DG + "rotate-keys.html",
    ),
    "incorrect-key": Guide(
        "The ciphertext was made under another key (<ciphertext_key>), not the key KeyId "
        "names. A symmetric ciphertext records which key made it, and only that key can "
        "decrypt it.",
        "Leave KeyId out for symmetric ciphertext (KMS finds the key from the blob), or pass "
        "the key that encrypted it.",
        _API + "API_Decrypt.html#API_Decrypt_Errors",
    ),
    "invalid-ciphertext": Guide(
        "AWS KMS could not authenticate or decrypt the ciphertext, and says no more (no "
        "message): the blob was changed or cut, it was not made under this key, the "
        "EncryptionContext differs from the one used to encrypt (symmetric keys: it must "
        "match exactly), or, for an asymmetric key, the EncryptionAlgorithm is not the "
        "padding that encrypted it.",
        "Pass the ciphertext exactly as it was made (Encrypt's or GenerateDataKey's "
        "CiphertextBlob) with the same EncryptionContext; for RSA, the same EncryptionAlgorithm.",
        _DG + "encrypt_context.html",
    ),
    "invalid-signature": Guide(
        "The signature does not verify: the message, the signature, the key or the signing "
        "algorithm differs from what Sign used. AWS raises this error (with no message) "
        "rather than answering SignatureValid false.",
        "Verify with the same key, SigningAlgorithm, MessageType and message that Sign got.",
        _API + "API_Verify.html#API_Verify_Errors",
    ),
    "invalid-mac": Guide(
        "The MAC does not verify: the message, the MAC, the key or the MAC algorithm differs "
        "from what GenerateMac used. AWS sends no message with this error.",
        "VerifyMac with the same key, MacAlgorithm and message that GenerateMac got.",
        _API + "API_VerifyMac.html#API_VerifyMac_Errors",
    ),
    "digest-length": Guide(
        "With MessageType DIGEST, Message is the hash itself, and <SigningAlgorithm> takes a "
        "digest of exactly the size of its hash (32 bytes for SHA-256, 48 for SHA-384, 64 for "
        "SHA-512).",
        "Hash the message yourself with the algorithm's hash (kmslab.learn.lesson."
        "signing_message does it), or send the message with MessageType RAW.",
        _API + "API_Sign.html#KMS-Sign-request-MessageType",
    ),
    "message-type-incompatible": Guide(
        "<KeySpec> keys do not take MessageType <MessageType>: Ed25519 and ML-DSA sign the "
        "message itself (or ML-DSA's mu, EXTERNAL_MU), not a digest you made.",
        "Use MessageType RAW (or EXTERNAL_MU for ML-DSA).",
        _API + "API_Sign.html#KMS-Sign-request-MessageType",
    ),
    "rsa-plaintext-too-large": Guide(
        "RSA-OAEP encrypts at most a few hundred bytes: the limit depends on the key size and "
        "the hash (<n> bytes for <EncryptionAlgorithm> with <KeySpec>).",
        "Encrypt large data locally with a data key (envelope encryption), and encrypt only "
        "the data key with KMS.",
        _API + "API_Encrypt.html#KMS-Encrypt-request-Plaintext",
    ),
    "context-asymmetric": Guide(
        "An encryption context is authenticated data of the symmetric ciphertext format; "
        "RSA-OAEP and SM2PKE ciphertexts have no place for it.",
        "Leave EncryptionContext out with asymmetric keys, or use a symmetric key.",
        _DG + "encrypt_context.html",
    ),
    "decrypt-needs-key-id": Guide(
        "An asymmetric ciphertext is raw RSA output: unlike KMS's symmetric ciphertext, it "
        "does not record which key made it.",
        "Pass the KeyId of the key pair whose public key encrypted the data.",
        _API + "API_Decrypt.html#KMS-Decrypt-request-KeyId",
    ),
    "data-key-size": Guide(
        "A data key's size is given one way: KeySpec (AES_128, AES_256) or NumberOfBytes, "
        "exactly one of them.",
        "Most callers want KeySpec='AES_256'.",
        _API + "API_GenerateDataKey.html",
    ),
    "random-needs-size": Guide(
        "GenerateRandom needs NumberOfBytes (1 to 1024), although botocore's model marks it "
        "optional.",
        "Pass NumberOfBytes.",
        _API + "API_GenerateRandom.html",
    ),
    "bad-public-key": Guide(
        "DeriveSharedSecret needs the other party's public key as a DER-encoded "
        "SubjectPublicKeyInfo on the same curve as the KMS key; this one is not. AWS sends "
        "an empty message.",
        "Send the peer's public key in DER SPKI form (cryptography's public_bytes(DER, "
        "SubjectPublicKeyInfo)), on the key's curve.",
        _API + "API_DeriveSharedSecret.html#KMS-DeriveSharedSecret-request-PublicKey",
    ),
    "dry-run": Guide(
        "Not a failure: with DryRun the request is checked (key, state, permissions) and not "
        "carried out, and AWS reports success with this exception.",
        "Run it again without DryRun to do it.",
        _DG + "testing-permissions.html",
    ),
    "key-usage-required": Guide(
        "Only a symmetric encryption key may leave KeyUsage out (it defaults to "
        "ENCRYPT_DECRYPT). For <KeySpec> AWS wants the usage said, because some specs allow "
        "more than one.",
        "Add KeyUsage: <KeySpec> allows <usages of KeySpec>; choose the one you need.",
        _API + "API_CreateKey.html#KMS-CreateKey-request-KeyUsage",
    ),
    "key-usage-incompatible": Guide(
        "<KeySpec> keys cannot have key usage <KeyUsage>.",
        "kmslab.specs.get('<KeySpec>').usage_names lists the usages it allows.",
        _KEY_TYPES,
    ),
    "tag-reserved": Guide(
        "Tag keys that start with aws: (in any letter case) belong to AWS.",
        "Choose another tag key.",
        _DG + "tagging-keys.html",
    ),
    "tag-duplicate": Guide(
        "One request named the same tag key twice.",
        "Send each tag key once.",
        _DG + "tagging-keys.html",
    ),
    "tag-too-many": Guide(
        "A KMS key has at most <limit> tags; this request would give it <count>.",
        "Remove tags (UntagResource) or send fewer.",
        _DG + "tagging-keys.html",
    ),
    "alias-prefix": Guide(
        "Alias names start with alias/ (alias/my-app).",
        "Add the prefix.",
        _DG + "kms-alias.html",
    ),
    "alias-reserved": Guide(
        "alias/aws/ names the AWS managed keys that AWS services create for you; customers "
        "cannot create, re-point or delete them.",
        "Use a name outside alias/aws/.",
        _DG + "kms-alias.html",
    ),
    "alias-exists": Guide(
        "An alias names one key, and <alias ARN> already names a key.",
        "Use UpdateAlias to point it at another key, or choose another name.",
        _DG + "kms-alias.html",
    ),
    "alias-key-type": Guide(
        "An alias may move only to a key of the same type and usage, so that code using the "
        "alias keeps working.",
        "Point it at a key of the same key type and usage, or create a new alias.",
        _API + "API_UpdateAlias.html",
    ),
    "key-quota": Guide(
        "An account has a quota of KMS keys per Region (<quota>; 100,000 by default on AWS, "
        "adjustable in Service Quotas), and this Region already has <usage>.",
        "Schedule unused keys for deletion, or ask for a higher quota.",
        _DG + "resource-limits.html",
    ),
    "policy-too-large": Guide(
        "A key policy document may be at most 32 KB (32,768 bytes), a limit AWS does not raise.",
        "Shorten the policy: fewer statements, or grants for per-principal access.",
        _DG + "resource-limits.html",
    ),
    "aliases-per-key": Guide(
        "A KMS key may have only so many aliases (<n>).",
        "Delete an alias you no longer use (DeleteAlias), or point it elsewhere.",
        _DG + "resource-limits.html",
    ),
    "grants-per-key": Guide(
        "A KMS key may have only so many grants (<n>).",
        "Retire or revoke grants that are no longer needed.",
        _DG + "resource-limits.html",
    ),
    "pending-window": Guide(
        "A key scheduled for deletion waits 7 to 30 days before it is deleted, so that a "
        "mistake can still be undone with CancelKeyDeletion.",
        "Give PendingWindowInDays from 7 to 30 (the default is 30).",
        _DG + "deleting-keys.html",
    ),
    "on-demand-limit": Guide(
        "A key may be rotated on demand only a limited number of times (<limit> here).",
        "Automatic rotation (EnableKeyRotation) has no such limit.",
        _DG + "rotate-keys.html",
    ),
    "valid-to-required": Guide(
        "Imported key material expires by default (ExpirationModel KEY_MATERIAL_EXPIRES), so "
        "AWS needs the date: ValidTo.",
        "Give ValidTo (at most 365 days ahead), or ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE.",
        _API + "API_ImportKeyMaterial.html",
    ),
    "import-token-expired": Guide(
        "An import token and its wrapping public key are valid for 24 hours.",
        "Call GetParametersForImport again, and wrap the material with the new public key.",
        _DG + "importing-keys.html",
    ),
    "import-token-invalid": Guide(
        "The import token must be the one GetParametersForImport returned for this key, with "
        "the public key that wrapped the material.",
        "Send the ImportToken of the same GetParametersForImport response.",
        _DG + "importing-keys.html",
    ),
    "material-not-associated": Guide(
        "A KMS key with imported material takes back only key material it had before (a "
        "reimport), or new material for on-demand rotation: ciphertext made under it must "
        "keep decrypting.",
        "Re-import the original material (ImportType EXISTING_KEY_MATERIAL), or import new "
        "material with ImportType NEW_KEY_MATERIAL.",
        _DG + "importing-keys.html",
    ),
    "no-pending-material": Guide(
        "<key ARN> holds imported key material: it rotates on demand only to new material you "
        "imported before (ImportType NEW_KEY_MATERIAL), and none is waiting.",
        "Import the new key material first, then RotateKeyOnDemand.",
        _DG + "rotate-keys.html",
    ),
    "not-multi-region-primary": Guide(
        "<operation> works on the primary key of a multi-Region key; <key ARN> is a replica "
        "or a single-Region key.",
        "Call it in the primary key's Region (DescribeKey shows MultiRegionConfiguration).",
        _DG + "multi-region-keys-overview.html",
    ),
    "access-denied-no-policy": Guide(
        "No statement of the key policy allows <principal ARN> kms:<Action>, and none names "
        "its account, which would let the account's IAM policies decide. (AWS managed keys "
        "have a fixed policy: only the AWS service that made them uses them.)",
        "Add a key policy statement that names the caller (or its account, to delegate to "
        "IAM) for kms:<Action>, or give the caller a grant.",
        _DG + "key-policy-overview.html",
    ),
    "access-denied-no-identity-policy": Guide(
        "The key policy lets the account decide through IAM, but no IAM policy of "
        "<principal ARN> allows kms:<Action> on this resource (a condition that fails counts "
        "as no Allow).",
        "Give the caller an identity policy that allows kms:<Action> on the key, or a grant, "
        "or name it in the key policy.",
        _DG + "iam-policies.html",
    ),
    "access-denied-deny-resource": Guide(
        "A Deny statement of the key policy matches this request; a Deny wins over every "
        "Allow and every grant.",
        "Change the Deny statement (its Principal, Action or Condition) if the request should "
        "pass.",
        _DG + "policy-evaluation.html",
    ),
    "access-denied-deny-identity": Guide(
        "A Deny statement of an IAM policy of <principal ARN> matches this request; a Deny "
        "wins over every Allow, even in the key policy.",
        "Change the caller's IAM policy.",
        _DG + "policy-evaluation.html",
    ),
    "policy-lockout": Guide(
        "The new key policy would not let you (the caller) call PutKeyPolicy on the key "
        "again: AWS's lockout safety check.",
        "Keep a statement that allows you (or your account, with an IAM policy that allows "
        "you) kms:PutKeyPolicy, or set BypassPolicyLockoutSafetyCheck if you mean it.",
        _DG + "key-policy-default.html",
    ),
    "policy-invalid-principals": Guide(
        "A Principal of the policy is not an AWS account, an existing IAM user or role, a "
        "role session, an AWS service or '*'.",
        "Name principals that exist (create the role first: kms.iam.create_role(...)); "
        "wildcards belong in a Condition on aws:PrincipalArn, not in Principal.",
        _DG + "key-policy-overview.html",
    ),
    "policy-no-principal": Guide(
        "A statement of the key policy names no principal: its Principal is missing or "
        "empty. A key policy is a resource-based policy, so each statement must say whom it "
        "applies to.",
        'Add "Principal": {"AWS": "<account id or an IAM ARN>"} to the statement (an empty '
        "list often comes from a template variable that was not set).",
        _DG + "key-policy-overview.html",
    ),
    "material-invalid": Guide(
        "The unwrapped key material does not fit <KeySpec>: it takes <expected>.",
        "Import material of the key's spec (32 random bytes for SYMMETRIC_DEFAULT, a PKCS #8 "
        "private key for asymmetric specs).",
        _DG + "importing-keys.html",
    ),
    "validation": Guide(
        "The request breaks the rules of the KMS API model (required members, allowed "
        "values, lengths): AWS checks them before looking at any key, and lists each "
        "violation.",
        "Fix each member named in the message; botocore's documentation of the operation "
        "lists the allowed values.",
    ),
    "unknown-operation": Guide(
        "The endpoint does not know the operation named in X-Amz-Target. AWS sends no message.",
        "Check the operation name (TrentService.<Operation>).",
    ),
    "kmslab-operation": Guide(
        "AWS KMS has <operation>, but kmslab's local KMS does not implement it.",
        "Use real AWS KMS for it (kmslab.client(target='aws')).",
    ),
    "region-spec": Guide(
        "<KeySpec> is not offered in this Region's partition: SM2 exists only in the China "
        "Regions (aws-cn), and ML-KEM is not offered there.",
        "Create the key in a Region that offers the spec (kmslab compare --where).",
        _DG + "asymmetric-key-specs.html",
    ),
    "key-unavailable": Guide(
        "The key is in a custom key store that is not connected.",
        "Connect the key store (ConnectCustomKeyStore) and try again.",
        _DG + "key-state.html",
    ),
    "cks-not-connected": Guide(
        "Keys are created (and GenerateRandom draws) only in a CONNECTED custom key store.",
        "Call ConnectCustomKeyStore first and wait for CONNECTED.",
        _DG + "custom-key-store-overview.html",
    ),
    "cluster-config": Guide(
        "An AWS CloudHSM key store needs at least two active HSMs in different Availability "
        "Zones to create keys.",
        "Add an HSM to the cluster (CloudHSM CreateHsm) in another Availability Zone.",
        _DG + "create-keystore.html",
    ),
    "kmslab-internal": Guide(
        "A bug in kmslab, not something you did: the local KMS failed inside <operation>.",
        "Please report it, with the call that failed.",
    ),
}
