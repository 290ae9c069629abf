"""Policy evaluation as AWS KMS does it: documents, condition operators, request context.

- :mod:`~kmslab.kms.policy.document`: parse and validate key policies and identity policies;
- :mod:`~kmslab.kms.policy.conditions`: the condition operators, one table row each;
- :mod:`~kmslab.kms.policy.context`: what each operation asks to be authorized, and the
  condition keys of its request context;
- :mod:`~kmslab.kms.policy.evaluate`: key policy first, then grants and IAM policies;
  an explicit Deny wins; AWS's AccessDeniedException messages.

No well-kept Python library evaluates IAM policies for KMS faithfully (policy_sentry and
parliament write or lint policies; moto's evaluator is part of moto and knows no KMS
condition keys or grants), so this package keeps a small, table-driven evaluator.

May import :mod:`kmslab.exceptions` only (and, for types, the rest of :mod:`kmslab.kms`).
"""
