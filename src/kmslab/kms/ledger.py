"""The fidelity ledger: every error code and message template the local KMS can return,
each with where its text comes from.

One row per (code, template). ``provenance`` is ``observed`` (a recorded response of real
AWS KMS: the source names the public recording or report), ``documented`` (the text is in
AWS's documentation: the source names the page) or ``inferred`` (no AWS text is known: the
source says why this one was chosen). Placeholders are written ``<like this>``; a
``template`` of None is an error AWS sends with no message member at all.

``tests/kms/test_ledger.py`` scans every raise site in the package and fails when the code
can return a (code, template) with no row here; ``scripts/make_fidelity.py`` renders this
table as docs/fidelity.md.

>>> match("NotFoundException", "Invalid keyId 'fake-key-id'").provenance
'observed'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from kmslab.kms.keystores.xks_failures import FAILURES as PROXY_FAILURES

__all__ = ["LEDGER", "PROVENANCE", "Row", "find", "match", "normalize"]

#: The kinds of evidence a row may have.
PROVENANCE = ("observed", "documented", "inferred")

_PLACEHOLDER = re.compile(r"<[^<>]*>|\{[^{}]*\}")


def normalize(template: str) -> str:
    """A template with every placeholder (``<key ARN>``, ``{arn}``) written ``{}``."""
    return _PLACEHOLDER.sub("{}", template)


@dataclass(frozen=True, slots=True)
class Row:
    """One error the local KMS can return.

    ``id`` is a short stable name (explanations are keyed by it); ``part`` marks a piece of a
    ValidationException message (one violation), not a whole message; ``http`` marks an
    answer of ``kmslab serve``'s HTTP layer (:mod:`kmslab.server`) to a request HTTP cannot
    carry, which never reaches the KMS (tests/test_server.py produces each of those).
    """

    id: str
    code: str
    template: str | None
    provenance: str
    source: str
    part: bool = False
    http: bool = False

    @property
    def key(self) -> str | None:
        """The template with its placeholders normalised (see :func:`normalize`)."""
        return None if self.template is None else normalize(self.template)


# Sources, cited in each row. LS: LocalStack's recordings of real AWS KMS responses (repository
# localstack/localstack, tests/aws/services/kms/test_kms.snapshot.json; each test is marked
# as validated against AWS), named by test. DG: the AWS KMS Developer Guide (its archived
# source, awsdocs/aws-kms-developer-guide, doc_source/). API: the AWS KMS API Reference, whose
# exception descriptions botocore's model carries. Facts only: no text of theirs is copied
# beyond AWS's own error messages.
_LS = "LocalStack's recording of real AWS, test_kms.py::"
_KMSLAB = "kmslab's own refusal: AWS has this feature and never sends this text"

LEDGER: tuple[Row, ...] = (
    # -- key identification ---------------------------------------------------------------
    Row(
        "invalid-key-id",
        "NotFoundException",
        "Invalid keyId '<KeyId as given>'",
        "observed",
        _LS + "TestKMS::test_get_key_invalid_uuid (quoted since Nov 2023; also for an alias "
        "where the operation takes none, which is inferred)",
    ),
    Row(
        "key-not-found",
        "NotFoundException",
        "Key '<key ARN>' does not exist",
        "observed",
        _LS + "TestKMS::test_get_key_does_not_exist; user report boto/botocore#2107",
    ),
    Row(
        "alias-not-found",
        "NotFoundException",
        "Alias <alias ARN> is not found.",
        "observed",
        "user reports cloudposse/docs#152, sigstore/cosign#1474 (DescribeKey, GetPublicKey); "
        "the same for DeleteAlias and UpdateAlias is inferred",
    ),
    Row(
        "invalid-arn",
        "NotFoundException",
        "Invalid arn <Region of the ARN>",
        "observed",
        _LS + "TestKMS::test_get_key_in_different_region (an ARN of another Region); for an "
        "ARN of another account or a malformed ARN the text is inferred",
    ),
    # -- key state (kmslab.kms.rules.STATE_RULES) -----------------------------------------------
    Row(
        "disabled",
        "DisabledException",
        "<key ARN> is disabled.",
        "observed",
        _LS + "TestKMS::test_rotate_key_on_demand_raises_error_given_key_is_disabled; DG "
        "key-state.md note [1]",
    ),
    Row(
        "pending-deletion",
        "KMSInvalidStateException",
        "<key ARN> is pending deletion.",
        "observed",
        "LocalStack's recording of real AWS through S3, test_s3.py::"
        "test_s3_sse_validate_kms_key_state; user report "
        "hashicorp/terraform-provider-aws#17889; DG key-state.md note [3]",
    ),
    Row(
        "pending-import",
        "KMSInvalidStateException",
        "<key ARN> is pending import.",
        "observed",
        _LS + "TestKMS::test_import_key_symmetric (encrypt-before-import-error); "
        "DG key-state.md note [5]",
    ),
    Row(
        "not-pending-deletion",
        "KMSInvalidStateException",
        "<key ARN> is not pending deletion.",
        "documented",
        "DG key-state.md note [4] (which adds '(or pending replica deletion)' for multi-Region "
        "keys)",
    ),
    Row(
        "origin-external-rotation",
        "UnsupportedOperationException",
        "<key ARN> origin is EXTERNAL which is not valid for this operation.",
        "observed",
        _LS + "TestKMS::test_rotate_key_on_demand_raises_error_given_key_with_imported_key_"
        "material (March 2025); DG key-state.md note [6]",
    ),
    Row(
        "origin-invalid",
        "UnsupportedOperationException",
        "<key ARN> origin is <Origin> which is not valid for this operation.",
        "observed",
        _LS + "TestKMS::test_get_parameters_for_import_raises_for_non_external_kms_keys",
    ),
    # -- key type -----------------------------------------------------------------------------
    Row(
        "key-usage-invalid",
        "InvalidKeyUsageException",
        "<key ARN> key usage is <KeyUsage> which is not valid for <operation>.",
        "observed",
        _LS + "TestKMS::test_error_messaging_for_invalid_keys (Encrypt, Sign, Verify, "
        "GenerateMac), test_derive_shared_secret; ReEncryptTo for ReEncrypt's destination key "
        "from test_re_encrypt_invalid_destination_key (June 2025). ReEncryptFrom for the "
        "source key is inferred",
    ),
    Row(
        "algorithm-incompatible",
        "InvalidKeyUsageException",
        "Algorithm <algorithm> is incompatible with key spec <KeySpec>.",
        "observed",
        _LS + "TestKMS::test_invalid_generate_mac, test_invalid_verify_mac; user report "
        "zalando/spring-cloud-config-aws-kms#82 (Encrypt with an RSA key). kmslab also gives "
        "it for GenerateDataKey* with an asymmetric ENCRYPT_DECRYPT key, which encrypts with "
        "SYMMETRIC_DEFAULT: not recorded there, though an emulator's tests say they measured "
        "it on real AWS (floci-io/floci#3038, 2026)",
    ),
    Row(
        "unsupported-key-spec",
        "UnsupportedOperationException",
        "<key ARN> key spec is <KeySpec> which is not valid for <operation>.",
        "inferred",
        "GetPublicKey of a symmetric key, ListKeyRotations of a non-symmetric key: AWS's text "
        "is not recorded; written in the form of the recorded origin text",
    ),
    Row(
        "unsupported-no-message",
        "UnsupportedOperationException",
        None,
        "observed",
        _LS + "TestKMS::test_rotate_key_on_demand_raises_error_given_non_symmetric_key (no "
        "message member); user report terraform-aws-modules/terraform-aws-kms#20 "
        "(EnableKeyRotation); DisableKeyRotation inferred the same",
    ),
    # -- cryptographic operations ------------------------------------------------------------
    Row(
        "incorrect-key",
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
        "observed",
        _LS + "TestKMS::test_error_messaging_for_invalid_keys (decrypt-invalid-key-"
        "id), TestKMS::test_re_encrypt_incorrect_source_key; DG ct-decrypt.md",
    ),
    Row(
        "invalid-ciphertext",
        "InvalidCiphertextException",
        None,
        "observed",
        _LS + "TestKMS::test_encrypt_decrypt_encryption_context, test_key_rotations_encryption_"
        "decryption (bad-ciphertext): no message member. For a key material that cannot be "
        "unwrapped in ImportKeyMaterial and for Decapsulate the absence is inferred",
    ),
    Row(
        "invalid-signature",
        "KMSInvalidSignatureException",
        None,
        "observed",
        _LS + "TestKMS::test_sign_verify (bad-signature): no message member",
    ),
    Row(
        "invalid-mac",
        "KMSInvalidMacException",
        None,
        "observed",
        _LS + "TestKMS::test_invalid_verify_mac: no message member",
    ),
    Row(
        "digest-length",
        "ValidationException",
        "Digest is invalid length for algorithm <SigningAlgorithm>.",
        "observed",
        _LS + "TestKMS::test_sign_verify (bad-digest), recorded for RSA and ECDSA algorithms",
    ),
    Row(
        "message-type-incompatible",
        "ValidationException",
        "Message type <MessageType> is incompatible with key spec <KeySpec>.",
        "inferred",
        "an issue author's report of real AWS for ML-DSA with DIGEST (floci-io/floci#3025, "
        "2026), not a recording; the same form is used for EXTERNAL_MU and Ed25519",
    ),
    Row(
        "rsa-plaintext-too-large",
        "ValidationException",
        "Algorithm <EncryptionAlgorithm> and key spec <KeySpec> cannot encrypt data larger "
        "than <n> bytes.",
        "observed",
        _LS + "TestKMS::test_encrypt_validate_plaintext_size_per_key_type (6 recordings)",
    ),
    Row(
        "context-asymmetric",
        "ValidationException",
        "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.",
        "inferred",
        "no public recording; an emulator's tests say they measured this text on real AWS "
        "(floci-io/floci#3038, 2026); its word CMK, which AWS's texts used before 2021, "
        "suggests AWS's own",
    ),
    Row(
        "decrypt-needs-key-id",
        "ValidationException",
        "KeyId must not be null",
        "inferred",
        "no public recording (the API reference says KeyId is required for ciphertext of an "
        "asymmetric key); an emulator's tests say they measured this text on real AWS "
        "(floci-io/floci#3038, 2026)",
    ),
    Row(
        "data-key-size",
        "ValidationException",
        "Please specify either number of bytes or key spec.",
        "inferred",
        "a user's report of real AWS (nsmithuk/local-kms#6, 2019) for a request with neither; "
        "for both, AWS's text is not recorded",
    ),
    Row(
        "random-needs-size",
        "ValidationException",
        "NumberOfBytes is required.",
        "observed",
        _LS + "TestKMS::test_generate_random_invalid_number_of_bytes[None]",
    ),
    Row(
        "bad-public-key",
        "ValidationException",
        None,
        "observed",
        _LS + "TestKMS::test_derive_shared_secret (response-invalid-public-key): an empty message",
    ),
    Row(
        "dry-run",
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
        "observed",
        _LS + "TestKMSGenerateKeys::test_generate_data_key_pair_dry_run",
    ),
    # -- CreateKey, tags, aliases, policies ---------------------------------------------------
    Row(
        "key-usage-required",
        "ValidationException",
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
        "observed",
        _LS + "TestKMS::test_hmac_create_key_invalid_operations (create-hmac-key-without-key-"
        "usage)",
    ),
    Row(
        "key-usage-incompatible",
        "ValidationException",
        "KeyUsage <KeyUsage> is not compatible with KeySpec <KeySpec>",
        "observed",
        _LS + "TestKMS::test_derive_shared_secret (response-invalid-key-spec)",
    ),
    Row(
        "spec-and-legacy-spec",
        "ValidationException",
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
        "CustomerMasterKeySpec is deprecated.",
        "inferred",
        "no public recording; a comment in an infrastructure tool that drives real AWS "
        "(GruCloud's KMS resource) and the local-kms emulator give this text",
    ),
    Row(
        "tag-reserved",
        "TagException",
        "Tags beginning with aws: are reserved",
        "observed",
        _LS + "TestKMS::test_create_key_with_invalid_tag_key[lowercase_prefix] and "
        "[uppercase_prefix], test_tag_existing_key_with_invalid_tag_key; UntagResource "
        "inferred the same",
    ),
    Row(
        "tag-duplicate",
        "TagException",
        "Duplicate tag keys",
        "observed",
        _LS + "TestKMS::test_tag_key_with_duplicate_tag_keys_raises_error",
    ),
    Row(
        "tag-too-many",
        "TagException",
        "Too many tags",
        "observed",
        _LS + "TestKMS::test_create_key_with_too_many_tags_raises_error (CreateKey with 51 "
        "tags); TagResource beyond 50 inferred the same",
    ),
    Row(
        "policy-not-json",
        "MalformedPolicyDocumentException",
        None,
        "observed",
        "a user's report of real AWS, confirmed by an AWS SDK maintainer: CreateKey with a "
        "Policy that is not JSON gave the exception with no message (aws/aws-sdk-ruby#1784, "
        "2018); AWS's CloudFormation KMS provider replaces the missing message of this "
        "exception (aws-cloudformation-resource-providers-kms, AbstractKmsApiHelper, 2021)",
    ),
    Row(
        "policy-name",
        "NotFoundException",
        "Key policy <PolicyName> does not exist",
        "inferred",
        "AWS's text for a policy name other than 'default' is not recorded",
    ),
    Row(
        "alias-prefix",
        "ValidationException",
        'Alias must start with the prefix "alias/". Please see '
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        "observed",
        _LS + "TestKMS::test_create_alias; user report aws-controllers-k8s/community#1878",
    ),
    Row(
        "alias-reserved",
        "InvalidAliasNameException",
        "Alias <alias name> is reserved for AWS managed keys.",
        "inferred",
        "AWS's response to a customer alias under alias/aws/ is not recorded",
    ),
    Row(
        "alias-exists",
        "AlreadyExistsException",
        "An alias with the name <alias ARN> already exists",
        "observed",
        "user reports cloudbees-oss/terraform-aws-cloudbees-ci-eks-addon#66, "
        "crossplane-contrib/provider-aws#1741",
    ),
    Row(
        "alias-key-type",
        "ValidationException",
        "<new key ARN> does not have the same key type and key usage as <old key ARN>.",
        "inferred",
        "AWS's text for UpdateAlias to a key of another type is not recorded",
    ),
    Row(
        "pending-window",
        "ValidationException",
        "PendingWindowInDays must be between 7 and 30",
        "observed",
        "a user's report of real AWS with its request id (Skyscanner/kms-issuer#8, 2020)",
    ),
    Row(
        "marker",
        "InvalidMarkerException",
        "The request was rejected because the marker is invalid.",
        "inferred",
        "AWS's text is not recorded; after the exception's description in the API reference",
    ),
    Row(
        "key-quota",
        "LimitExceededException",
        "Key quota for this account in this region is <quota> but the current usage is <usage>.",
        "observed",
        "a user's report of real AWS (convox/rack#347, 2016)",
    ),
    Row(
        "policy-too-large",
        "LimitExceededException",
        "Key policy document exceeds the limit of <bytes> bytes.",
        "inferred",
        "AWS's text (and code) for a key policy over 32 KB are not recorded; the limit is "
        "documented (DG resource-limits.md)",
    ),
    Row(
        "aliases-per-key",
        "LimitExceededException",
        "<key ARN> already has <n> aliases, the most allowed.",
        "inferred",
        "the code is documented (DG resource-limits.md); AWS's text is not recorded",
    ),
    Row(
        "grants-per-key",
        "LimitExceededException",
        "<key ARN> already has <n> grants, the most allowed.",
        "inferred",
        "the code is documented (DG resource-limits.md); AWS's text is not recorded",
    ),
    # -- rotation and imported key material ---------------------------------------------------
    Row(
        "on-demand-limit",
        "LimitExceededException",
        "The on-demand rotations limit has been reached for the given keyId. No more "
        "on-demand rotations can be performed for this key: <key ARN>",
        "observed",
        _LS + "TestKMS::test_key_rotations_limits",
    ),
    Row(
        "valid-to-required",
        "ValidationException",
        "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
        "observed",
        _LS + "TestKMS::test_import_key_symmetric (import-expiring-key-without-valid-to)",
    ),
    Row(
        "valid-to-not-allowed",
        "ValidationException",
        "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
        "inferred",
        "AWS's text is not recorded; written in the form of the recorded valid-to-required text",
    ),
    Row(
        "valid-to-range",
        "ValidationException",
        "The validTo date must be in the future and at most 365 days from now",
        "inferred",
        "AWS's text is not recorded; the 365-day limit is documented (ImportKeyMaterial)",
    ),
    Row(
        "wrapping-algorithm",
        "ValidationException",
        "The wrapping algorithm <WrappingAlgorithm> is not supported.",
        "inferred",
        "AWS stopped supporting RSAES_PKCS1_V1_5 on October 10, 2023 (DG importing key "
        "material); its text is not recorded",
    ),
    Row(
        "import-token-invalid",
        "InvalidImportTokenException",
        "The provided import token is invalid or is associated with a different KMS key.",
        "inferred",
        "AWS's text is not recorded; the exception's description in the API reference",
    ),
    Row(
        "import-token-expired",
        "ExpiredImportTokenException",
        "The specified import token is expired.",
        "inferred",
        "AWS's text is not recorded; the exception's description in the API reference",
    ),
    Row(
        "material-invalid",
        "IncorrectKeyMaterialException",
        "The key material is not valid for key spec <KeySpec>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    # -- multi-Region keys, AWS managed keys, imported key material rotation --------------
    Row(
        "not-multi-region-primary",
        "UnsupportedOperationException",
        "<key ARN> is not a multi-region primary key.",
        "observed",
        _LS + "TestKMS::test_replicate_replica_key_should_fail (ReplicateKey on a replica); "
        "for a single-Region key and for ImportKeyMaterial on a replica, inferred the same",
    ),
    Row(
        "replica-exists",
        "AlreadyExistsException",
        "You can create only one replica of each primary key in each AWS Region.",
        "observed",
        "a user's report of real AWS through CloudFormation (aws/aws-cdk#21203, 2022); the "
        "sentence is not in AWS's CloudFormation KMS provider, which passes KMS's "
        "AlreadyExistsException message on unchanged",
    ),
    Row(
        "replica-region-same",
        "ValidationException",
        "The replica region <Region> must be different from the primary region.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "replica-region-partition",
        "ValidationException",
        "The replica region <Region> is not in the partition of the primary key.",
        "inferred",
        "AWS's text is not recorded; the API reference requires the same partition",
    ),
    Row(
        "already-primary",
        "ValidationException",
        "<key ARN> is already the primary key in <Region>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "pending-replica-deletion",
        "KMSInvalidStateException",
        "<key ARN> is pending replica deletion.",
        "inferred",
        "DG key-state.md documents '<key ARN> is pending deletion (or pending replica "
        "deletion).'; the rendered text for this state is inferred from it",
    ),
    Row(
        "access-denied-no-policy",
        "AccessDeniedException",
        "User: <principal ARN> is not authorized to perform: kms:<Action> on resource: <key "
        "ARN> because no resource-based policy allows the kms:<Action> action",
        "observed",
        "user reports elastic/cloudbeat#1749 (kms:GetKeyRotationStatus on an AWS managed "
        "key), jbrt/ec2cryptomatic#26, aws-ia/terraform-aws-eks-blueprints#485",
    ),
    Row(
        "access-denied-no-identity-policy",
        "AccessDeniedException",
        "User: <principal ARN> is not authorized to perform: kms:<Action> on resource: <key "
        "ARN> because no identity-based policy allows the kms:<Action> action",
        "observed",
        "user reports ministryofjustice/modernisation-platform#11726 (kms:Decrypt, 2025), "
        "trussworks/terraform-aws-s3-anti-virus#48, cattle-ops/terraform-aws-gitlab-runner"
        "#1253; for CreateKey and the other IAM-only operations the resource is '*' (a user "
        "report of kms:CreateKey on resource: *)",
    ),
    Row(
        "access-denied-deny-resource",
        "AccessDeniedException",
        "User: <principal ARN> is not authorized to perform: kms:<Action> on resource: <key "
        "ARN> with an explicit deny in a resource-based policy",
        "observed",
        "user report with the raw wire body, aws/aws-nitro-enclaves-sdk-c#157 (2025)",
    ),
    Row(
        "access-denied-deny-identity",
        "AccessDeniedException",
        "User: <principal ARN> is not authorized to perform: kms:<Action> on resource: <key "
        "ARN> with an explicit deny in an identity-based policy",
        "inferred",
        "IAM's general format for a Deny in an identity policy; no KMS recording found (AWS "
        "may append the managed policy's ARN; kmslab's identity policies are inline)",
    ),
    Row(
        "policy-invalid-principals",
        "MalformedPolicyDocumentException",
        "Policy contains a statement with one or more invalid principals.",
        "observed",
        "user reports, e.g. awslabs/minimum-viable-dataspace-on-aws#6, "
        "cloudposse/terraform-aws-vpc-flow-logs-s3-bucket#27",
    ),
    Row(
        "policy-no-principal",
        "MalformedPolicyDocumentException",
        "Policy contains a statement with no principal.",
        "observed",
        "user reports of real AWS for a statement whose Principal list is empty "
        "(terraform-aws-modules/terraform-aws-eks#2163, 2022) or an empty ARN "
        "(aws-samples/data-mesh-datazone-cdk-cloudformation#17, 2025, via CloudFormation); "
        "kmslab gives it for a missing Principal too, as a setup guide reports",
    ),
    Row(
        "policy-lockout",
        "MalformedPolicyDocumentException",
        "The new key policy will not allow you to update the key policy in the future.",
        "observed",
        "user reports data-dot-all/dataall#956 (PutKeyPolicy), "
        "terraform-aws-modules/terraform-aws-kms#14 (CreateKey)",
    ),
    Row(
        "policy-malformed",
        "MalformedPolicyDocumentException",
        "The policy document is malformed: <the fault>",
        "inferred",
        "AWS's texts for these faults (a missing Statement, Effect, Action or Resource, an "
        "unknown element or condition operator) are not recorded; kmslab names the fault",
    ),
    Row(
        "policy-overly-permissive-context",
        "MalformedPolicyDocumentException",
        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with "
        "a single-valued condition key matches requests without the specified encryption "
        "context or with an unspecified encryption context. To fix, remove ForAllValues.",
        "documented",
        "DG conditions-kms.md, kms:EncryptionContext:context-key (the error code is not "
        "stated; MalformedPolicyDocumentException inferred)",
    ),
    Row(
        "policy-overly-permissive-tag",
        "MalformedPolicyDocumentException",
        "OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued "
        "condition key matches requests without the specified tag or with an unspecified tag. "
        "To fix, remove ForAllValues.",
        "documented",
        "DG conditions-kms.md, 'Using set operators with condition keys' (the bracketed words "
        "filled in for aws:RequestTag; the error code inferred)",
    ),
    Row(
        "no-pending-material",
        "KMSInvalidStateException",
        "No available key material pending rotation for the key: <key ARN>.",
        "observed",
        _LS + "TestKMS::test_rotate_key_on_demand_raises_for_no_pending_key_material (Nov 2025)",
    ),
    Row(
        "material-pending-rotation",
        "KMSInvalidStateException",
        "New key material (id: <KeyMaterialId>) cannot be imported into KMS key <key id>, "
        "because another key material (id: <KeyMaterialId>) is pending rotation.",
        "observed",
        _LS + "TestKMS::test_import_key_material_raises_if_there_is_already_key_material_"
        "pending (Nov 2025)",
    ),
    Row(
        "material-already-associated",
        "IncorrectKeyMaterialException",
        "Key material (id: <KeyMaterialId>) is already associated with KMS key <key id>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "material-not-associated",
        "IncorrectKeyMaterialException",
        "The key material (id: <KeyMaterialId>) is not associated with <key ARN>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "material-id-mismatch",
        "IncorrectKeyMaterialException",
        "KeyMaterialId <KeyMaterialId> does not identify the key material sent for <key ARN>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "material-nothing-imported",
        "IncorrectKeyMaterialException",
        "No key material has been imported into <key ARN>, so there is no existing key "
        "material to reimport.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "material-id-unknown",
        "NotFoundException",
        "Key material <KeyMaterialId> is not associated with <key ARN>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "import-option-symmetric-only",
        "ValidationException",
        "<members> can be used only with symmetric encryption keys; <key ARN> key spec is "
        "<KeySpec>.",
        "inferred",
        "AWS's text is not recorded; the API reference limits these members to symmetric "
        "encryption keys",
    ),
    Row(
        "material-id-with-new",
        "ValidationException",
        "You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL.",
        "inferred",
        "AWS's text is not recorded; after the ImportKeyMaterial API reference",
    ),
    # -- grants -----------------------------------------------------------------------------
    Row(
        "grant-one-of",
        "ValidationException",
        "Specify either <member> or <member>, but not both.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "grant-need-one",
        "ValidationException",
        "Specify either <member> or <member>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "grant-no-operations",
        "ValidationException",
        "1 validation error detected: Value '[]' at 'operations' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1",
        "inferred",
        "AWS's text is not recorded; AWS's validation wording for a list that is too short",
    ),
    Row(
        "grant-operation-invalid",
        "ValidationException",
        "Grant operation <operation> is not valid for key spec <KeySpec> and key usage <KeyUsage>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "grant-constraints-both",
        "ValidationException",
        "Specify either EncryptionContextSubset or EncryptionContextEquals, but not both.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "grant-constraint-pairs",
        "ValidationException",
        "A grant constraint can have at most <n> encryption context pairs.",
        "inferred",
        "AWS's text is not recorded; the limit of 8 pairs is documented (grant constraints)",
    ),
    Row(
        "grant-constraint-operation",
        "ValidationException",
        "Grant operation <operation> does not support encryption context constraints for key "
        "spec <KeySpec>.",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "grant-id-invalid",
        "InvalidGrantIdException",
        "The specified GrantId is not valid.",
        "inferred",
        "AWS's text is not recorded; the exception's description in the API reference",
    ),
    Row(
        "grant-not-found",
        "NotFoundException",
        "Grant <GrantId> does not exist for <key ARN>",
        "inferred",
        "AWS's text is not recorded",
    ),
    Row(
        "grant-token-invalid",
        "InvalidGrantTokenException",
        "The specified grant token is not valid.",
        "inferred",
        "AWS's text is not recorded; the exception's description in the API reference",
    ),
    Row(
        "retire-grant-args",
        "ValidationException",
        "Specify either GrantToken, or both KeyId and GrantId.",
        "inferred",
        "AWS's text is not recorded",
    ),
    # -- request validation (the wire layer) -----------------------------------------------------
    Row(
        "validation",
        "ValidationException",
        "<n> validation <error or errors> detected: <violations joined by '; '>",
        "observed",
        _LS + "many entries, e.g. TestKMS::test_invalid_generate_mac[HMAC_256-INVALID], "
        "test_plaintext_size_for_encrypt; moto's AWS-verified test_encrypt_key_with_empty_"
        "content",
    ),
    Row(
        "value-null",
        "ValidationException",
        "1 validation error detected: Value null at '<member>' failed to satisfy constraint: "
        "Member must not be null",
        "inferred",
        "a member the operation needs although botocore's model leaves it optional; AWS's "
        "validation wording",
    ),
    Row(
        "part-enum",
        "ValidationException",
        "<Value 'value' at, or Value at> '<member>' failed to satisfy constraint: Member must "
        "satisfy enum value set: [<values>]",
        "observed",
        _LS + "TestKMS::test_invalid_generate_mac[HMAC_256-INVALID]. kmslab lists the values "
        "in botocore's model order; AWS's order differs and is not predictable",
        part=True,
    ),
    Row(
        "part-bound",
        "ValidationException",
        "<Value 'value' at, or Value at> '<member>' failed to satisfy constraint: Member must "
        "have <value or length> <greater or less> than or equal to <bound>",
        "observed",
        _LS + "TestKMS::test_plaintext_size_for_encrypt, test_generate_random_invalid_number_"
        "of_bytes[0], test_create_key_with_invalid_tag_key[too_long_key] (sensitive values "
        "and blobs are not echoed)",
        part=True,
    ),
    Row(
        "part-pattern",
        "ValidationException",
        "<Value 'value' at, or Value at> '<member>' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: <pattern>",
        "inferred",
        "AWS's validation wording (as in the recorded texts above); no KMS recording of a "
        "pattern violation",
        part=True,
    ),
    Row(
        "part-null",
        "ValidationException",
        "Value null at '<member>' failed to satisfy constraint: Member must not be null",
        "inferred",
        "AWS's validation wording; no KMS recording of a missing member",
        part=True,
    ),
    Row(
        "unknown-operation",
        "UnknownOperationException",
        None,
        "observed",
        'a recorded AWS KMS body {"__type":"UnknownOperationException"} in a code comment '
        "of carbon/Amazon (src/Amazon.Kms)",
    ),
    # -- kmslab serve's HTTP layer (kmslab.server): requests HTTP itself cannot carry --------
    Row(
        "http-bad-framing",
        "SerializationException",
        "<the fault the HTTP parser found, e.g. Content-Length is invalid>",
        "inferred",
        "AWS's answer to a request whose HTTP framing is broken is unknown; kmslab gives the "
        "code AWS uses for a body it cannot read, with the HTTP parser's (waitress's) words",
        http=True,
    ),
    Row(
        "http-body-too-large",
        "RequestEntityTooLargeException",
        "Request body is larger than <bytes> bytes.",
        "inferred",
        "AWS's answer to an oversized body is unknown; HTTP 413 with kmslab's documented limit "
        "(1 MiB, above the largest valid KMS request)",
        http=True,
    ),
    Row(
        "http-headers-too-large",
        "RequestHeaderFieldsTooLargeException",
        "<the HTTP parser's words>",
        "inferred",
        "AWS's answer is unknown; HTTP 431 with the HTTP parser's (waitress's) words",
        http=True,
    ),
    Row(
        "http-not-implemented",
        "NotImplementedException",
        "<the HTTP parser's words, e.g. Transfer-Encoding requested not supported.>",
        "inferred",
        "AWS's answer to a transfer coding other than chunked is unknown; HTTP 501",
        http=True,
    ),
    Row(
        "http-internal",
        "KMSInternalException",
        "The server encountered an unexpected internal server error",
        "inferred",
        "a bug in kmslab that escaped the KMS layer (which answers its own as kmslab-internal); "
        "HTTP 500 with the HTTP server's (waitress's) words; AWS's text is not recorded",
        http=True,
    ),
    Row(
        "http-bad-region",
        "InvalidSignatureException",
        "Credential should be scoped to a valid region.",
        "inferred",
        "a request signed for a name that is no Region; the text is what AWS Secrets Manager, "
        "another AWS JSON 1.1 service, answered a mis-scoped credential (minio/kes#303, "
        "2022); KMS's own is not recorded",
        http=True,
    ),
    Row(
        "http-host-refused",
        "AccessDeniedException",
        "Host '<Host header>' is not served here.",
        "inferred",
        "no AWS counterpart: kmslab serve's guard against DNS rebinding (only the names it "
        "serves are answered)",
        http=True,
    ),
    Row(
        "serialization-json",
        "SerializationException",
        "The request body is not valid JSON.",
        "inferred",
        "AWS's SerializationException texts for KMS are not recorded",
    ),
    Row(
        "serialization-object",
        "SerializationException",
        "The request body must be a JSON object.",
        "inferred",
        "AWS's SerializationException texts for KMS are not recorded",
    ),
    Row(
        "serialization-type",
        "SerializationException",
        "Expected <a type> at '<member>'.",
        "inferred",
        "AWS's SerializationException texts for KMS are not recorded",
    ),
    Row(
        "serialization-base64",
        "SerializationException",
        "'<member>' is not valid base64.",
        "inferred",
        "AWS's SerializationException texts for KMS are not recorded",
    ),
    Row(
        "serialization-utf8",
        "SerializationException",
        "'<member>' is not valid UTF-8 text.",
        "inferred",
        "kmslab's Python API only (a str given for a blob)",
    ),
    # -- kmslab's own ------------------------------------------------------------------------
    Row(
        "kmslab-operation",
        "UnsupportedOperationException",
        "kmslab does not implement <operation>.",
        "inferred",
        _KMSLAB,
    ),
    Row(
        "region-spec",
        "UnsupportedOperationException",
        "KeySpec <KeySpec> is not supported in this Region",
        "inferred",
        "an issue author's report of real us-east-1 for SM2 (floci-io/floci#3026, "
        "weak); the same form for ML-KEM in the China Regions",
    ),
    Row(
        "region-pair-spec",
        "UnsupportedOperationException",
        "KeyPairSpec <KeyPairSpec> is not supported in this Region",
        "inferred",
        "AWS text unknown: CreateKey's form (row region-spec) for GenerateDataKeyPair",
    ),
    Row(
        "region-wrapping-spec",
        "UnsupportedOperationException",
        "WrappingKeySpec <WrappingKeySpec> is not supported in this Region",
        "inferred",
        "AWS text unknown: CreateKey's form (row region-spec) for GetParametersForImport",
    ),
    Row(
        "wrapping-spec-mismatch",
        "ValidationException",
        "WrappingAlgorithm <WrappingAlgorithm> is not compatible with WrappingKeySpec "
        "<WrappingKeySpec>.",
        "inferred",
        "AWS text unknown; DG importing-keys-get-public-key-and-token: SM2PKE with the SM2 "
        "wrapping key spec only",
    ),
    Row(
        "no-libcrypto",
        "UnsupportedOperationException",
        "<key> is <KeySpec>, and this machine's OpenSSL cannot do it.",
        "inferred",
        "kmslab's own refusal: SM2 needs the machine's OpenSSL 3 libcrypto, which is missing",
    ),
    Row(
        "key-unavailable",
        "KMSInvalidStateException",
        "<key ARN> is unavailable.",
        "documented",
        "DG key-state.md: a key in a custom key store that is not connected",
    ),
    Row(
        "cks-not-found",
        "CustomKeyStoreNotFoundException",
        None,
        "documented",
        "DG delete-xks.md: the CLI prints the error with no message",
    ),
    Row(
        "cks-name-in-use",
        "CustomKeyStoreNameInUseException",
        "A custom key store with name <name> already exists in this account and Region.",
        "inferred",
        "AWS text unknown; the API reference's cause",
    ),
    Row(
        "cks-connect-state",
        "CustomKeyStoreInvalidStateException",
        "Custom key store <id> is <state>: disconnect it before connecting.",
        "inferred",
        "AWS text unknown; API reference: ConnectCustomKeyStore refuses DISCONNECTING and FAILED "
        "stores",
    ),
    Row(
        "cks-disconnect-state",
        "CustomKeyStoreInvalidStateException",
        "Custom key store <id> is <state>: it is not connected.",
        "inferred",
        "AWS text unknown; API reference: DisconnectCustomKeyStore refuses DISCONNECTED and "
        "DISCONNECTING stores",
    ),
    Row(
        "cks-update-state",
        "CustomKeyStoreInvalidStateException",
        "Custom key store <id> is <state>: disconnect it to change <members>.",
        "inferred",
        "AWS text unknown; API reference and DG: most settings change only while disconnected",
    ),
    Row(
        "cks-delete-state",
        "CustomKeyStoreInvalidStateException",
        "Custom key store <id> is <state>: disconnect it before deleting it.",
        "inferred",
        "AWS text unknown; API reference: DeleteCustomKeyStore needs a DISCONNECTED store",
    ),
    Row(
        "cks-not-connected",
        "CustomKeyStoreInvalidStateException",
        "Custom key store <id> is <state>, not CONNECTED.",
        "inferred",
        "AWS text unknown; API reference: CreateKey and GenerateRandom need a CONNECTED store",
    ),
    Row(
        "xks-not-connected",
        "CustomKeyStoreInvalidStateException",
        "This KMS key is in a custom key store that is not connected to its external key store "
        "proxy. Connect the external key store and try the request again.",
        "documented",
        "AWS's XKS Proxy API specification, table of KMS exception messages",
    ),
    Row(
        "cks-has-keys",
        "CustomKeyStoreHasCMKsException",
        "Custom key store <id> still has KMS keys: schedule their deletion and wait until they "
        "are deleted.",
        "inferred",
        "AWS text unknown; the API reference's cause",
    ),
    Row(
        "cluster-not-found",
        "CloudHsmClusterNotFoundException",
        "AWS CloudHSM cluster <id> not found.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "cluster-not-active",
        "CloudHsmClusterNotActiveException",
        "AWS CloudHSM cluster <id> is not active.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "cluster-in-use",
        "CloudHsmClusterInUseException",
        "AWS CloudHSM cluster <id> is already associated with a custom key store.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "cluster-config",
        "CloudHsmClusterInvalidConfigurationException",
        "AWS CloudHSM cluster <id> must contain at least two active HSMs, each in a different "
        "Availability Zone.",
        "inferred",
        "AWS text unknown; DG create-keystore: two active HSMs in different Availability Zones",
    ),
    Row(
        "cluster-not-related",
        "CloudHsmClusterNotRelatedException",
        "AWS CloudHSM cluster <id> does not share a backup history with cluster <id>.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "trust-anchor",
        "IncorrectTrustAnchorException",
        "The trust anchor certificate does not match the one of cluster <id>.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "cks-type-members",
        "ValidationException",
        "<members> cannot be used with a custom key store of type <type>.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "cks-describe-both",
        "ValidationException",
        "Specify either CustomKeyStoreId or CustomKeyStoreName, not both.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "cks-origin-needs-store",
        "ValidationException",
        "Origin <Origin> requires a CustomKeyStoreId.",
        "inferred",
        "AWS text unknown; API reference CreateKey",
    ),
    Row(
        "cks-xks-key-id",
        "ValidationException",
        "XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.",
        "inferred",
        "AWS text unknown; API reference CreateKey",
    ),
    Row(
        "cks-origin",
        "UnsupportedOperationException",
        "Origin <Origin> is not valid for custom key store <id>; use <Origin>.",
        "inferred",
        "AWS text unknown; API reference CreateKey",
    ),
    Row(
        "cks-spec",
        "UnsupportedOperationException",
        "KeySpec <KeySpec> is not supported in a custom key store: only SYMMETRIC_DEFAULT.",
        "inferred",
        "AWS text unknown; API reference CreateKey",
    ),
    Row(
        "cks-multi-region",
        "UnsupportedOperationException",
        "Multi-Region keys cannot be in a custom key store.",
        "inferred",
        "AWS text unknown; DG multi-region-keys-overview",
    ),
    Row(
        "cks-random-xks",
        "UnsupportedOperationException",
        "GenerateRandom is not supported with external key store <id>.",
        "inferred",
        "AWS text unknown; API reference GenerateRandom: AWS CloudHSM key stores only",
    ),
    Row(
        "xks-key-in-use",
        "XksKeyAlreadyInUseException",
        "External key <id> is already associated with a KMS key in <id>.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "xks-key-spec",
        "XksKeyInvalidConfigurationException",
        "The key spec of the external key must be AES_256. The key spec of specified external "
        "key is <spec>.",
        "documented",
        "DG xks-troubleshooting.md",
    ),
    Row(
        "xks-key-status",
        "XksKeyInvalidConfigurationException",
        "The status of the external key must be ENABLED. The status of specified external key is "
        "<status>.",
        "documented",
        "DG xks-troubleshooting.md",
    ),
    Row(
        "xks-key-usage",
        "XksKeyInvalidConfigurationException",
        "The key usage of the external key must include ENCRYPT and DECRYPT. The key use of "
        "specified external key is <usage>.",
        "documented",
        "DG xks-troubleshooting.md",
    ),
    Row(
        "xks-uri-in-use",
        "XksProxyUriInUseException",
        "The proxy URI <endpoint><path> is already used by another external key store.",
        "inferred",
        "AWS text unknown",
    ),
    Row(
        "xks-unhealthy",
        "XksProxyUriUnreachableException",
        "The external key store proxy is in an unhealthy state. If you see this message "
        "repeatedly, notify your external key store proxy administrator.",
        "documented",
        "DG xks-troubleshooting.md",
    ),
    Row(
        "xks-vpc-not-found",
        "XksProxyVpcEndpointServiceNotFoundException",
        "AWS KMS could not find the VPC endpoint service <name>.",
        "inferred",
        "AWS text unknown; no VPC endpoint services exist locally",
    ),
    Row(
        "kmslab-internal",
        "KMSInternalException",
        "kmslab internal error in <operation> (<exception type>).",
        "inferred",
        "a bug in kmslab; AWS's KMSInternalException text is not recorded",
    ),
    Row(
        "kmslab-store-unsaved",
        "KMSInternalException",
        "kmslab could not save this change to its store (<exception type>); nothing was changed.",
        "inferred",
        "a kmslab condition (LocalKMS(store=...) could not commit, e.g. a full disk: the call's "
        "changes are undone); AWS's KMSInternalException text is not recorded",
    ),
    Row(
        "kmslab-store-unreverted",
        "KMSInternalException",
        "kmslab could not save this change to its store (<exception type>); it is in memory only.",
        "inferred",
        "a kmslab condition (LocalKMS(store=...) could neither commit nor read back what it "
        "had committed, e.g. a damaged database); AWS's KMSInternalException text is not recorded",
    ),
    Row(
        "kmslab-internal-material",
        "KMSInternalException",
        "kmslab internal error: <key ARN> has no key material.",
        "inferred",
        "a bug in kmslab (unreachable: the key-state rules refuse such a key first)",
    ),
)


def _proxy_failure_rows() -> tuple[Row, ...]:
    """Rows for what a failed external key store proxy call becomes, made from the one
    table of those errors (:data:`kmslab.kms.keystores.xks_failures.FAILURES`): per
    message, one row for each kind of operation it can answer (``-manage``: Create/Update/
    ConnectCustomKeyStore; ``-create-key``: CreateKey; ``-crypto``: cryptographic operations).
    """
    rows: dict[str, Row] = {}
    for failure in PROXY_FAILURES.values():
        for suffix, code in (
            ("manage", failure.manage),
            ("create-key", failure.create_key),
            ("crypto", failure.crypto),
        ):
            row_id = f"{failure.ledger}-{suffix}"
            rows[row_id] = Row(row_id, code, failure.message, "documented", failure.source)
    return tuple(rows.values())


LEDGER += _proxy_failure_rows()


@cache
def _index() -> dict[tuple[str, str | None, bool], Row]:
    return {(r.code, r.key, r.part): r for r in LEDGER}


def find(code: str, template: str | None, *, part: bool = False) -> Row | None:
    """The row of this code and (normalised) template, or None."""
    key = None if template is None else normalize(template)
    return _index().get((code, key, part))


@cache
def _pattern(key: str) -> re.Pattern[str]:
    return re.compile("(.*?)".join(re.escape(p) for p in key.split("{}")), re.DOTALL)


def match(code: str, message: str | None) -> Row | None:
    """The row a message an AWS KMS client received comes from (an empty message counts as
    none), or None when no row fits."""
    text = message or None
    for row in LEDGER:
        if row.code != code or row.part:
            continue
        if row.key is None or text is None:
            if row.key is None and text is None:
                return row
            continue
        if _pattern(row.key).fullmatch(text):
            return row
    return None
