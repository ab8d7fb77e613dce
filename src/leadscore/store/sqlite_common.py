"""Helpers shared by the SQLite store's parts."""

from __future__ import annotations

import sqlite3
import time

#: How long a writer waits for another process's write transaction before SQLite gives up ("locked").
BUSY_TIMEOUT_MS = 10_000


class Connected:
    """What each part of the SQLite store needs: the file and the writer connection."""

    path: str
    db: sqlite3.Connection


def connect(path: str) -> sqlite3.Connection:
    # ``timeout`` is SQLite's busy timeout, set from the start.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    _to_wal(db)
    # FULL: a commit returns once the WAL is on disk, so an acknowledged event (or lead) outlives a power
    # cut, not only a crash of the process, as PostgreSQL's default does. NORMAL would save that sync at
    # each commit; loads commit once a batch, the server once a group of requests.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    # A 64 MiB page cache keeps the events' indexes in memory while millions of rows go in.
    db.execute("PRAGMA cache_size=-65536")
    db.execute("PRAGMA temp_store=MEMORY")
    return db


def _to_wal(db: sqlite3.Connection) -> None:
    """Switches the file to WAL. Two connections that do it at once to a new file (the event queue's, made by
    whichever process queues first) get "database is locked" at once, without SQLite's busy handler: retry
    for as long as the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.005)


def marks(count: int) -> str:
    return ",".join("?" * count)
