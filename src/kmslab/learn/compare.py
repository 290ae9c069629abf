"""Which operations each key type allows: AWS's comparison table, derived and measured.

Two independent routes to the same matrix, one cell per (operation, KeySpec, KeyUsage):

- :func:`derived_matrix` reads it off the catalogue (:mod:`kmslab.specs`: which
  (KeySpec, KeyUsage) pairs exist) and the operation rules (:mod:`kmslab.kms.rules`: which
  key types each operation allows, and the error that refuses the others);
- :func:`measured_matrix` creates a key of every pair in a fresh :class:`~kmslab.LocalKMS`
  and calls every operation on it, recording success or the AWS error code (the
  measurement lives in :mod:`kmslab.learn.measure`, the records and rendering in
  :mod:`kmslab.learn.matrix`; their names are re-exported here).

:func:`diff` compares two matrices; the tests require both to agree cell for cell with
each other and with the table in AWS's documentation, written out there by hand.

>>> from kmslab.learn.compare import derived_matrix
>>> m = derived_matrix()
>>> m.cell("Sign", "ECC_NIST_P256", "SIGN_VERIFY").allowed
True
>>> m.cell("Encrypt", "HMAC_256", "GENERATE_VERIFY_MAC").error
'InvalidKeyUsageException'
>>> print(m.to_text(operations=["Encrypt", "GetPublicKey"]))  # doctest: +NORMALIZE_WHITESPACE
operation     SYM  HMAC  A-ED  A-SV  A-KA  A-KEM
Data plane
  Encrypt     yes  IKU   yes   IKU   IKU   IKU
  GetPublicKey  UO  UO   yes   yes   yes   yes
<BLANKLINE>
IKU = InvalidKeyUsageException, UO = UnsupportedOperationException

In a notebook, a :class:`Matrix` renders itself as an HTML table (``m`` on the last line of
a cell); ``m.to_html(by="spec")`` has a column per (KeySpec, KeyUsage) pair instead of one
per key type, ``m.plot()`` draws a heat map and ``m.to_markdown()`` suits a report.

From a shell::

    kmslab compare                 # text, a column per key type
    kmslab compare --by spec       # a column per KeySpec/KeyUsage pair
    kmslab compare --json          # one record per (operation, KeySpec/KeyUsage pair)
    kmslab compare --measured      # measure it on a local KMS instead of deriving it
    kmslab compare --check         # derive and measure, and report any disagreement
"""

from __future__ import annotations

from kmslab.learn.matrix import (
    MATRIX_OPERATIONS,
    By,
    Cell,
    Difference,
    Matrix,
    TypeCell,
    derived_matrix,
    diff,
    plot,
    to_html,
    to_markdown,
    to_records,
    to_text,
)
from kmslab.learn.measure import ARGUMENTS, SETUPS, MeasurementError, Setup, measured_matrix

__all__ = [
    "ARGUMENTS",
    "MATRIX_OPERATIONS",
    "SETUPS",
    "By",
    "Cell",
    "Difference",
    "Matrix",
    "MeasurementError",
    "Setup",
    "TypeCell",
    "derived_matrix",
    "diff",
    "measured_matrix",
    "plot",
    "to_html",
    "to_markdown",
    "to_records",
    "to_text",
]
