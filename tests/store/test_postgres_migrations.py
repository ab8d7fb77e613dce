"""PostgreSQL's own migrations: each lead's event count kept in a table (``0008_event_counts``), which a
database that had events before gets from them, and an event queue that vacuum never truncates (``0011``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from backends import fresh_url
from leadscore.ingest.records import EventRecord
from leadscore.store.url import open_store

NOW = 1_800_000_000_000_000
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_migration_counts_the_events_already_stored(tmp_path: Path) -> None:
    with fresh_url("postgresql", tmp_path) as url:
        store = open_store(url)
        [(a, _), (b, _)] = store.resolve_leads([("A", None), ("B", None)], NOW)
        store.insert_events([(a, EventRecord(f"e{n}", "page_view", T0)) for n in range(3)], NOW)
        store.insert_events([(b, EventRecord("f", "page_view", T0))], NOW)
        store.close()
        with psycopg.connect(url, autocommit=True) as admin:  # back to the schema before the migration
            admin.execute("DROP TABLE event_counts")
            admin.execute("DELETE FROM migrations WHERE name = '0008_event_counts'")
        store = open_store(url)
        try:
            assert store.lead_versions([a, b]) == {a: (3, NOW), b: (1, NOW)}
        finally:
            store.close()


def test_vacuum_never_truncates_the_event_queue(tmp_path: Path) -> None:
    """Truncation takes an ACCESS EXCLUSIVE lock, which every append to the queue would wait for."""
    with fresh_url("postgresql", tmp_path) as url:
        store = open_store(url)
        try:
            row = store.db.execute(  # type: ignore[attr-defined]
                "SELECT reloptions FROM pg_class WHERE oid = 'event_queue'::regclass"
            ).fetchone()
            assert row is not None and "vacuum_truncate=false" in row[0]
        finally:
            store.close()
