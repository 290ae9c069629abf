"""Keys that survive restarts: ``LocalKMS(store=PATH)`` keeps its state in SQLite.

>>> import tempfile, pathlib
>>> from kmslab import LocalKMS
>>> path = pathlib.Path(tempfile.mkdtemp()) / "kms.sqlite3"
>>> kms = LocalKMS(store=path)
>>> blob = kms.call("Encrypt", KeyId=kms.call("CreateKey")["KeyMetadata"]["KeyId"],
...                 Plaintext=b"kept")["CiphertextBlob"]
>>> kms.close()
>>> with LocalKMS(store=path) as again:              # close() releases the store
...     again.call("Decrypt", CiphertextBlob=blob)["Plaintext"]
b'kept'

- :mod:`~kmslab.kms.store.sqlite`: :class:`Store`, the database and its transactions;
- :mod:`~kmslab.kms.store.schema`: the versioned tables and their migrations;
- :mod:`~kmslab.kms.store.codec`: keys, aliases and grants as JSON, from their dataclasses;
- :mod:`~kmslab.kms.store.extras`: what is kept beside them (custom key stores, CloudHSM
  clusters, proxy routes, IAM principals) and why a key store comes back connected;
- :mod:`~kmslab.kms.store.sealing`: key material sealed under the root key file;
- :mod:`~kmslab.kms.store.lock`: one process owns a store at a time;
- :mod:`~kmslab.kms.store.rows`: how a document is written to its row, read back and named;
- :mod:`~kmslab.kms.store.faults`: each problem met opening a store, said in one line.

Loaded only when a store is asked for: ``import kmslab`` does not import sqlite3.
"""

from __future__ import annotations

from kmslab.kms.store.sqlite import Store

__all__ = ["Store"]
