"""The event queue: events the API has acknowledged and not yet scored, as each backend keeps them.

An acknowledgement needs only the append, which is durable once it commits; storing the event in
``events`` (where a re-sent id is found) and scoring its lead happen later, in one transaction that also
marks the queued rows scored, so each queued event takes effect once. On PostgreSQL the queue is a table,
emptied by id in that transaction (never by range: a lower id can commit after a higher one); on SQLite
it is a file of its own, with a scored-through mark in the store's file (``postgres_queue``,
``sqlite_queue``). This module holds what both share: the queued event and its encoding.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from leadscore.engine.types import from_micros, to_micros
from leadscore.ingest.records import EventRecord

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
