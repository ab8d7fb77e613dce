"""The event queue on PostgreSQL: a table of the store's own database (``event_queue``), appended to in one
statement, and emptied by id in the transaction that scores the rows, by one consumer at a time."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import orjson

from leadscore.ingest.records import EventRecord
from leadscore.store.event_queue import QueuedEvent, decode_event, encode_event
from leadscore.store.postgres_bulk import COPY_FROM


class PostgresEventQueueRows:
    db: Any

    def queue_transaction(self) -> AbstractContextManager[None]:
        """None of its own: each append is one statement, atomic by itself, and a transaction around it
        would cost a request two more round trips. Inside the store's transaction, appends join it."""
        return nullcontext()

    def queue_events(self, records: Sequence[EventRecord], now_us: int) -> set[str]:
        """A few events (a request's, or a group's) in one statement, which also finds the ids already
        stored; many by ``COPY``, after a query for those ids."""
        if len(records) >= COPY_FROM:
            known = self.known_event_ids([r.id for r in records])
            self.append_rows("event_queue", [(encode_event(r), now_us) for r in records if r.id not in known])  # type: ignore[attr-defined]
            return known
        if not records:
            return set()
        # The ids as an array: a lookup by ``= ANY`` uses the index on events(id) whatever the plan's estimate.
        sql = """
            WITH known AS (
                SELECT id FROM events WHERE id = ANY(%s)
            ), added AS (
                INSERT INTO event_queue(event, queued_at)
                SELECT j->>1, %s FROM json_array_elements(%s::json) WITH ORDINALITY AS x(j, n)
                WHERE j->>0 NOT IN (SELECT id FROM known) ORDER BY n
            )
            SELECT id FROM known
        """
        rows = orjson.dumps([(r.id, encode_event(r)) for r in records]).decode()
        return {row[0] for row in self.db.execute(sql, ([r.id for r in records], now_us, rows))}

    def lock_queue(self) -> None:
        """Held by a consumer until its transaction ends: two server processes' scorers take turns, so the
        second never scores an event the first has taken but not yet committed."""
        self.db.execute("SELECT pg_advisory_xact_lock(2, 0)")

    def queued_events(self, limit: int) -> list[QueuedEvent]:
        """The oldest ``limit`` queued events."""
        rows = self.db.execute("SELECT id, event, queued_at FROM event_queue ORDER BY id LIMIT %s", (limit,))
        return [QueuedEvent(int(qid), decode_event(text, int(qid)), int(at)) for qid, text, at in rows.fetchall()]

    def unqueue(self, ids: Sequence[int]) -> None:
        """Takes scored events out of the queue, in the caller's transaction."""
        self.db.execute("DELETE FROM event_queue WHERE id = ANY(%s)", (list(ids),))

    def queue_bounds(self) -> tuple[int, int] | None:
        """The oldest and newest queued ids, or None when the queue is empty. Everything acknowledged
        before this call is at or below the newest, or already scored; ids only grow."""
        row = self.db.execute("SELECT min(id), max(id) FROM event_queue").fetchone()
        return (int(row[0]), int(row[1])) if row and row[0] is not None else None

    def known_event_ids(self, ids: Sequence[str]) -> set[str]:
        """The ids among ``ids`` already stored in ``events``: a re-sent event, acknowledged as a duplicate."""
        if not ids:
            return set()
        return {row[0] for row in self.db.execute("SELECT id FROM events WHERE id = ANY(%s)", (list(ids),))}
