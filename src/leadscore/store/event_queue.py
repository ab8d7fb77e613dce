"""The event queue: events the API has acknowledged and not yet scored, the same SQL on both backends.

An acknowledgement needs only this append, which is durable once it commits; storing the event in
``events`` (where a re-sent id is found) and scoring its lead happen later, in one transaction that also
takes the rows out of the queue, so each queued event takes effect once. Rows are taken out by id, never
by range: on PostgreSQL a lower id can commit after a higher one.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import orjson

from leadscore.engine.types import from_micros, to_micros
from leadscore.ingest.records import EventRecord
from leadscore.store.common import chunks

_OPTIONS = orjson.OPT_NON_STR_KEYS


class QueuedEvent(NamedTuple):
    """An acknowledged event waiting to be scored; ``queued_at`` (µs) is when the API acknowledged it."""

    id: int
    record: EventRecord
    queued_at: int


def encode_event(record: EventRecord) -> str:
    """A validated event as the queue keeps it: compact JSON, its time in microseconds."""
    body: dict[str, Any] = {"id": record.id, "type": record.type, "at": to_micros(record.occurred_at)}
    if record.lead_id is not None:
        body["lead_id"] = record.lead_id
    if record.email is not None:
        body["email"] = record.email
    if record.properties:
        body["properties"] = record.properties
    return orjson.dumps(body, default=str, option=_OPTIONS).decode()


def decode_event(text: str, line: int) -> EventRecord:
    body = orjson.loads(text)
    return EventRecord(
        id=body["id"],
        type=body["type"],
        occurred_at=from_micros(body["at"]),
        lead_id=body.get("lead_id"),
        email=body.get("email"),
        properties=body.get("properties") or {},
        source="queue",
        line=line,
    )


class EventQueueRows:
    """The queue as a table of the store's own database, taken out by id in the scorer's transaction
    (PostgreSQL; SQLite keeps it in a file of its own, see ``sqlite_queue``)."""

    db: Any
    _mark: str

    def queue_transaction(self) -> AbstractContextManager[None]:
        """The transaction an append to the queue runs in: here, the store's own."""
        return self.transaction()  # type: ignore[attr-defined,no-any-return]

    def queue_events(self, records: Sequence[EventRecord], now_us: int) -> set[str]:
        """Appends the validated events whose ids are not stored in ``events`` yet, in the caller's
        transaction; returns the ids that were (a re-sent event: a duplicate). ``records`` hold each id once."""
        if not records:
            return set()
        known = self.known_event_ids([r.id for r in records])
        rows = [(encode_event(r), now_us) for r in records if r.id not in known]
        m = self._mark
        cursor = self.db.cursor()
        try:
            cursor.executemany(f"INSERT INTO event_queue(event, queued_at) VALUES ({m},{m})", rows)
        finally:
            cursor.close()
        return known

    def lock_queue(self) -> None:
        """Makes queue consumers take turns (PostgreSQL overrides it; SQLite's write lock already does)."""

    def queued_events(self, limit: int) -> list[QueuedEvent]:
        """The oldest ``limit`` queued events."""
        sql = f"SELECT id, event, queued_at FROM event_queue ORDER BY id LIMIT {self._mark}"
        rows = self.db.execute(sql, (limit,)).fetchall()
        return [QueuedEvent(int(qid), decode_event(text, int(qid)), int(at)) for qid, text, at in rows]

    def unqueue(self, ids: Sequence[int]) -> None:
        """Takes scored events out of the queue, in the caller's transaction. ``ids`` are always the oldest
        queued ones (a prefix of ``queued_events``): a backend may rely on that."""
        for chunk in chunks(ids):
            self.db.execute(f"DELETE FROM event_queue WHERE id IN ({','.join([self._mark] * len(chunk))})", chunk)

    def queue_bounds(self) -> tuple[int, int] | None:
        """The oldest and newest queued ids, or None when the queue is empty. Everything acknowledged
        before this call is at or below the newest, or already scored; ids only grow."""
        row = self.db.execute("SELECT min(id), max(id) FROM event_queue").fetchone()
        return (int(row[0]), int(row[1])) if row and row[0] is not None else None

    def known_event_ids(self, ids: Sequence[str]) -> set[str]:
        """The ids among ``ids`` already stored in ``events``: a re-sent event, acknowledged as a duplicate."""
        found: set[str] = set()
        for chunk in chunks(ids):
            marks = ",".join([self._mark] * len(chunk))
            found.update(row[0] for row in self.db.execute(f"SELECT id FROM events WHERE id IN ({marks})", chunk))
        return found
