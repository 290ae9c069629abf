"""The rows of the store's database: how a document is written, read back and named.

Table and column names in the SQL here come from :class:`~kmslab.kms.store.Store` and
:data:`~kmslab.kms.store.extras.COLLECTIONS`, never from input. Rows of ``meta`` are named
``clock:<account>``, ``secret:<name>:<account>:<region>`` and
``numbers:<account>:<region>`` (a Region's next creation number).
"""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = [
    "Place",
    "clock_name",
    "committed",
    "doc_text",
    "numbers_name",
    "secret_name",
    "write_rows",
]


def doc_text(dumps: Any, doc_id: str, value: Any) -> str | None:
    if value is None or (isinstance(value, list) and not value):
        return None
    return str(dumps(doc_id, value))


def committed(
    db: sqlite3.Connection, loads: Any, table: str, column: str, scope: tuple[str, str], name: str
) -> Any:
    """The committed document ``name`` of ``table`` in ``scope``, loaded, or None."""
    # Table and column names come from Store.reload, never from input.
    row = db.execute(
        f"SELECT doc FROM {table} WHERE account = ? AND region = ? AND {column} = ?",
        (*scope, name),
    ).fetchone()
    return None if row is None else loads(row[0], name)


def write_rows(
    db: sqlite3.Connection, table: str, column: str, scope: tuple[str, str], rows: list[Any]
) -> None:
    # Table and column names come from Store.save and COLLECTIONS, never from input.
    upsert = (
        f"INSERT INTO {table} (account, region, {column}, doc) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (account, region, {column}) DO UPDATE SET doc = excluded.doc"
    )
    delete = f"DELETE FROM {table} WHERE account = ? AND region = ? AND {column} = ?"
    for name, doc in rows:
        if doc is None:
            db.execute(delete, (*scope, name))
        else:
            db.execute(upsert, (*scope, name, doc))


def secret_name(scope: tuple[str, str], name: str) -> str:
    return f"secret:{name}:{scope[0]}:{scope[1]}"


def numbers_name(scope: tuple[str, str]) -> str:
    """The meta row of a Region's next creation number (absent: past the largest saved)."""
    return f"numbers:{scope[0]}:{scope[1]}"


def clock_name(account_id: str) -> str:
    return f"clock:{account_id}"


class Place:
    """The record being read (named in the error if it cannot be), "" for none."""

    record = ""
