"""Helpers shared by the SQLite store's parts."""

from __future__ import annotations

import sqlite3

#: How long a writer waits for another process's write transaction before SQLite gives up ("locked").
BUSY_TIMEOUT_MS = 10_000


class Connected:
    """What each part of the SQLite store needs: the file and the writer connection."""

    path: str
    db: sqlite3.Connection


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    # A 64 MiB page cache keeps the events' indexes in memory while millions of rows go in.
    db.execute("PRAGMA cache_size=-65536")
    db.execute("PRAGMA temp_store=MEMORY")
    return db


def marks(count: int) -> str:
    return ",".join("?" * count)
