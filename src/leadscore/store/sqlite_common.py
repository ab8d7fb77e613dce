"""Helpers shared by the SQLite store's parts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from leadscore.engine.types import Account, Lead, from_micros
from leadscore.store.codec import contributions_from_json
from leadscore.store.protocol import StoredScore

_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


class Connected:
    """What each part of the SQLite store needs: the file and the writer connection."""

    path: str
    db: sqlite3.Connection


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=10000")
    # A 64 MiB page cache keeps the events' indexes in memory while millions of rows go in.
    db.execute("PRAGMA cache_size=-65536")
    db.execute("PRAGMA temp_store=MEMORY")
    return db


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    return ",".join("?" * count)


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


def lead_from_row(row: Sequence[Any], accounts: dict[str, Account]) -> Lead:
    lead_id, email, account_id, created_at, fields = row
    data = orjson.loads(fields)
    if email:
        data["email"] = email
    return Lead(
        id=lead_id,
        fields=data,
        created_at=from_micros(created_at) if created_at is not None else None,
        account=accounts.get(account_id) if account_id else None,
    )


def stored_score(row: Sequence[Any]) -> StoredScore:
    """A row of the score columns in ``StoredScore`` order, the contributions still JSON text."""
    values = list(row)
    values[14] = contributions_from_json(values[14])
    return StoredScore(*values)
