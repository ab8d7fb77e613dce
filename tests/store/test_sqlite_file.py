"""The embedded store's file: WAL mode, and a database from an older release upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leadscore.ingest.records import LeadRecord
from leadscore.store import migrations
from leadscore.store.sqlite import SQLiteStore

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


def test_a_database_from_an_older_release_is_upgraded_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = migrations.MIGRATIONS[:1]  # the first release: the core tables only
    monkeypatch.setattr("leadscore.store.sqlite.MIGRATIONS", first)
    old = SQLiteStore(tmp_path / "leads.db")
    with old.transaction():
        seqs, _, _ = old.upsert_leads([LeadRecord("L1", "ann@acme.io", {"title": "VP Sales"})], NOW)
    assert "api_keys" not in {r[0] for r in old.db.execute("SELECT name FROM sqlite_master")}
    old.close()

    monkeypatch.undo()
    upgraded = SQLiteStore(tmp_path / "leads.db")
    try:
        recorded = [r[0] for r in upgraded.db.execute("SELECT name FROM migrations ORDER BY name")]
        assert recorded == [name for name, _ in migrations.MIGRATIONS]
        tables = {r[0] for r in upgraded.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"api_keys", "outbox", "outcomes", "predictions"} <= tables
        assert upgraded.load_leads(seqs)[seqs[0]].fields["title"] == "VP Sales"
        assert upgraded.migrate() == []
    finally:
        upgraded.close()
