"""The embedded store's file: WAL mode, and a database from an older release upgraded in place."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.store import migrations
from leadscore.store.sqlite import SQLITE_MIGRATIONS, SQLiteStore

NOW = 1_767_225_600_000_000


def test_a_new_store_is_in_wal_mode_and_readers_do_not_block_the_writer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "leads.db")
    try:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        reader = sqlite3.connect(tmp_path / "leads.db", isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM leads").fetchone()[0] == 0  # a read snapshot, held open
        with store.transaction():  # in rollback-journal mode this write would wait for the reader
            store.upsert_leads([LeadRecord("L1", "ann@acme.io", {})], NOW)
        assert reader.execute("SELECT count(*) FROM leads").fetchone()[0] == 0  # still its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM leads").fetchone()[0] == 1
        reader.close()
    finally:
        store.close()


def test_commits_wait_for_the_disk_in_both_files(tmp_path: Path) -> None:
    """An acknowledged event is in the queue file's WAL on disk, and a scored one in the database's, before
    the commit returns (``synchronous=FULL``: 2): a 2xx outlives a power cut, not only a crash."""
    store = SQLiteStore(tmp_path / "leads.db")
    try:
        store.queue_events([EventRecord("a", "email_click", datetime(2026, 1, 1, tzinfo=UTC), lead_id="L1")], NOW)
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert store._queue().execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        store.close()


def _old_release(path: Path, upto: str) -> None:
    """A database as an earlier release left it: the migrations up to ``upto`` applied, by that release's SQL."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, script in migrations.MIGRATIONS:
        db.executescript(script)
        db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))
        if name == upto:
            break
    db.close()


def test_a_database_from_an_older_release_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    _old_release(tmp_path / "leads.db", "0001_core")  # the first release: the core tables only
    db = sqlite3.connect(tmp_path / "leads.db", isolation_level=None)
    db.execute("INSERT INTO leads(seq, id, email, fields, updated_at) VALUES (1, 'L1', 'ann@acme.io', ?, ?)",
               ('{"title": "VP Sales"}', NOW))  # fmt: skip
    assert "api_keys" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    db.close()

    upgraded = SQLiteStore(tmp_path / "leads.db")
    try:
        recorded = [r[0] for r in upgraded.db.execute("SELECT name FROM migrations ORDER BY name")]
        assert recorded == [name for name, _ in SQLITE_MIGRATIONS]
        tables = {r[0] for r in upgraded.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"api_keys", "outbox", "outcomes", "predictions", "queue_progress"} <= tables
        assert upgraded.load_leads([1])[1].fields["title"] == "VP Sales"
        assert upgraded.migrate() == []
    finally:
        upgraded.close()


def test_events_an_older_release_queued_in_the_database_file_move_to_the_queue_file(tmp_path: Path) -> None:
    _old_release(tmp_path / "leads.db", "0009_event_queue")
    db = sqlite3.connect(tmp_path / "leads.db", isolation_level=None)
    events = [(f'{{"id": "e{n}", "type": "email_click", "at": {NOW}, "lead_id": "L1"}}', NOW + n) for n in range(3)]
    db.executemany("INSERT INTO event_queue(event, queued_at) VALUES (?, ?)", events)
    db.close()

    store = SQLiteStore(tmp_path / "leads.db")
    try:
        assert store.db.execute("SELECT count(*) FROM event_queue").fetchone()[0] == 0
        queued = store.queued_events(10)
        assert [(q.record.id, q.queued_at) for q in queued] == [(f"e{n}", NOW + n) for n in range(3)]
    finally:
        store.close()
    assert Path(f"{tmp_path / 'leads.db'}-queue").exists()


def test_a_lost_queue_file_never_makes_new_events_look_scored(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "leads.db")
    record = EventRecord("a", "email_click", datetime(2026, 1, 1, tzinfo=UTC), lead_id="L1")
    store.queue_events([record, record], NOW)
    ids = [q.id for q in store.queued_events(10)]
    with store.transaction():
        store.unqueue(ids)
    store.close()
    for suffix in ("-queue", "-queue-wal", "-queue-shm"):
        Path(f"{tmp_path / 'leads.db'}{suffix}").unlink(missing_ok=True)

    store = SQLiteStore(tmp_path / "leads.db")
    try:
        store.queue_events([record], NOW)
        [again] = store.queued_events(10)
        assert again.id > max(ids)
    finally:
        store.close()


def test_the_queue_file_is_made_by_the_first_queued_event_not_by_opening_the_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "leads.db")
    try:
        assert store.queue_bounds() is None and store.queued_events(10) == []
        with store.transaction():
            store.upsert_leads([LeadRecord("L1", "ann@acme.io", {})], NOW)
        assert not Path(f"{tmp_path / 'leads.db'}-queue").exists()
        store.queue_events([EventRecord("a", "email_click", datetime(2026, 1, 1, tzinfo=UTC), lead_id="L1")], NOW)
        assert Path(f"{tmp_path / 'leads.db'}-queue").exists()
        assert [q.record.id for q in store.queued_events(10)] == ["a"]
    finally:
        store.close()


def test_two_processes_that_make_the_queue_file_at_once_both_queue(tmp_path: Path) -> None:
    """Switching a new file to WAL from two connections at once fails at once, without the busy timeout:
    the server's request process and another writer may both queue the first event."""
    import threading

    for attempt in range(20):
        path = tmp_path / f"leads{attempt}.db"
        stores = [SQLiteStore(path), SQLiteStore(path)]
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def queue(store: SQLiteStore, number: int, start: threading.Barrier, failures: list[BaseException]) -> None:
            start.wait()
            try:
                store.queue_events([EventRecord(f"e{number}", "email_click", datetime(2026, 1, 1, tzinfo=UTC))], NOW)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=queue, args=(s, n, start, failures)) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sorted(q.record.id for q in stores[0].queued_events(10)) == ["e0", "e1"]
        for store in stores:
            store.close()
