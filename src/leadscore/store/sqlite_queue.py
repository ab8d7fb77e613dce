"""SQLite's event queue: a database file of its own beside the store's (``leadscore.db-queue``), made when the
first event is queued.

SQLite has one write lock per file. With the queue in the store's file, an acknowledgement waited for the
scorer's whole transaction, and then for SQLite's busy handler, which sleeps 1, 2, 5, 10 ms… between tries:
single events had a p99 of 57 to 206 ms at 500 a second, and 7.9 ms with the scorer held off
(``bench/server.py``, 2026-11-23). In a file of its own, an append waits at most for another append, or
for the short delete of rows already scored.

Two files cannot commit together, so the queue is never emptied in the scoring transaction. That
transaction records instead how far the queue is scored (``queue_progress.scored_through``, in the store's
file), and rows at or below that mark are deleted after it commits, or at any later time: a row the mark
covers is scored whether or not it is still in the file. SQLite commits one writer at a time, so queue ids
become visible in order, and "scored through id N" is exact.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from leadscore.ingest.records import EventRecord
from leadscore.store.common import chunks
from leadscore.store.event_queue import QueuedEvent, decode_event, encode_event
from leadscore.store.sqlite_common import connect, marks

log = logging.getLogger("leadscore.store")

QUEUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    queued_at INTEGER NOT NULL
)
"""


def queue_path(path: str) -> str:
    """The queue's file, named the way SQLite names its own side files (``-wal``, ``-shm``)."""
    return f"{path}-queue"


class SQLiteEventQueue:
    """The queue's part of ``SQLiteStore``: ``db`` is the store's file; the queue file is opened, and made,
    only when events are queued, so a project that never runs the server has no such file."""

    db: sqlite3.Connection
    path: str
    _depth: int
    _queue_db: sqlite3.Connection | None = None
    _queue_depth = 0
    _defer_queue_checkpoints = False
    _scored_through: int | None = None  # the mark this transaction set; its rows go once it commits

    def open_queue(self) -> None:
        """Moves in any events an earlier version queued in the store's own file (see ``_queue``)."""
        rows = self.db.execute("SELECT id, event, queued_at FROM event_queue ORDER BY id").fetchall()
        if not rows:
            return
        # Copied, then deleted there: a crash between the two leaves them in both, and scoring stores an
        # event id once.
        with self.queue_transaction():
            self._queue().executemany(
                "INSERT INTO event_queue(event, queued_at) VALUES (?, ?)", [(e, at) for _, e, at in rows]
            )
        self.db.execute("DELETE FROM event_queue WHERE id <= ?", (rows[-1][0],))
        log.info("moved %d queued events into %s", len(rows), queue_path(self.path))

    def _queue(self) -> sqlite3.Connection:
        """The queue file's connection, opened (and the file made) on first use."""
        if self._queue_db is None:
            queue = connect(queue_path(self.path))
            if self._defer_queue_checkpoints:
                queue.execute("PRAGMA wal_autocheckpoint=0")
            queue.execute("BEGIN IMMEDIATE")
            try:
                queue.execute(QUEUE_SCHEMA)
                # A new or replaced queue file must not hand out ids the mark already covers: they would
                # be taken as scored.
                mark = self._mark_now()
                row = queue.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event_queue'").fetchone()
                if row is None:
                    queue.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('event_queue', ?)", (mark,))
                elif row[0] < mark:
                    queue.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'event_queue'", (mark,))
            except BaseException:
                queue.execute("ROLLBACK")
                queue.close()
                raise
            queue.execute("COMMIT")
            self._queue_db = queue
        return self._queue_db

    def _queue_if_any(self) -> sqlite3.Connection | None:
        """The queue file's connection if the file exists: if not, nothing was ever queued."""
        if self._queue_db is None and not os.path.exists(queue_path(self.path)):
            return None
        return self._queue()

    def close_queue(self) -> None:
        if self._queue_db is not None:
            self._queue_db.close()
            self._queue_db = None

    def defer_queue_checkpoints(self) -> None:
        self._defer_queue_checkpoints = True
        if self._queue_db is not None:
            self._queue_db.execute("PRAGMA wal_autocheckpoint=0")

    @contextmanager
    def queue_transaction(self) -> Iterator[None]:
        """A write transaction on the queue file alone: appends never wait for the store's write lock."""
        if self._queue_depth:
            yield
            return
        queue = self._queue()
        self._queue_depth = 1
        try:
            queue.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                queue.execute("ROLLBACK")
                raise
            queue.execute("COMMIT")
        finally:
            self._queue_depth = 0

    def queue_events(self, records: Sequence[EventRecord], now_us: int) -> set[str]:
        """Appends the events not stored yet, in the caller's queue transaction or one of its own (see
        ``Store.queue_events``). The ids are looked up in the store's file, outside its write lock."""
        if not records:
            return set()
        known = self.known_event_ids([r.id for r in records])
        with self.queue_transaction():
            self._queue().executemany(
                "INSERT INTO event_queue(event, queued_at) VALUES (?, ?)",
                [(encode_event(r), now_us) for r in records if r.id not in known],
            )
        return known

    def lock_queue(self) -> None:
        """Nothing to do: consumers score in a write transaction on the store's file, one at a time."""

    def _mark_now(self) -> int:
        return int(self.db.execute("SELECT scored_through FROM queue_progress").fetchone()[0])

    def queued_events(self, limit: int) -> list[QueuedEvent]:
        """The oldest ``limit`` events the mark does not cover."""
        queue = self._queue_if_any()
        if queue is None:
            return []
        rows = queue.execute(
            "SELECT id, event, queued_at FROM event_queue WHERE id > ? ORDER BY id LIMIT ?", (self._mark_now(), limit)
        ).fetchall()
        return [QueuedEvent(int(qid), decode_event(text, int(qid)), int(at)) for qid, text, at in rows]

    def unqueue(self, ids: Sequence[int]) -> None:
        """Moves the mark to the newest of ``ids`` (always the oldest queued events, see ``Store``) in the
        caller's transaction; their rows are deleted once it commits."""
        if not ids:
            return
        through = max(ids)
        self.db.execute("UPDATE queue_progress SET scored_through = max(scored_through, ?)", (through,))
        self._scored_through = max(through, self._scored_through or 0)
        if not self._depth:
            self.queue_committed()

    def queue_committed(self) -> None:
        """After the store's transaction commits: deletes the rows its mark covers. If that fails (the
        queue file is busy past the timeout), they stay, covered, and the next commit deletes them."""
        through, self._scored_through = self._scored_through, None
        if through is None:
            return
        if self._queue_if_any() is None:
            return
        try:
            with self.queue_transaction():
                self._queue().execute("DELETE FROM event_queue WHERE id <= ?", (through,))
        except sqlite3.OperationalError as exc:
            log.warning("could not delete scored events from the queue file (kept, and skipped): %s", exc)

    def queue_rolled_back(self) -> None:
        self._scored_through = None

    def queue_bounds(self) -> tuple[int, int] | None:
        """The oldest and newest ids the mark does not cover, or None when every queued event is scored."""
        queue = self._queue_if_any()
        if queue is None:
            return None
        row = queue.execute("SELECT min(id), max(id) FROM event_queue WHERE id > ?", (self._mark_now(),)).fetchone()
        return (int(row[0]), int(row[1])) if row and row[0] is not None else None

    def known_event_ids(self, ids: Sequence[str]) -> set[str]:
        """The ids among ``ids`` already stored in ``events``: a re-sent event, acknowledged as a duplicate."""
        found: set[str] = set()
        for chunk in chunks(ids):
            sql = f"SELECT id FROM events WHERE id IN ({marks(len(chunk))})"
            found.update(row[0] for row in self.db.execute(sql, chunk))
        return found
