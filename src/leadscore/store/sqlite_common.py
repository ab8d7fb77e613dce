"""Helpers shared by the SQLite store's parts."""

from __future__ import annotations

import sqlite3


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


def marks(count: int) -> str:
    return ",".join("?" * count)
