"""The embedded default store: one SQLite file in WAL mode, one writer connection, bound parameters only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadscore.store.api_keys import ApiKeyRows
from leadscore.store.common import NestedTransactions
from leadscore.store.event_queue import EventQueueRows
from leadscore.store.migrations import MIGRATIONS
from leadscore.store.model_versions import ModelVersionRows
from leadscore.store.outbox import OutboxRows
from leadscore.store.outcome_rows import OutcomeRows
from leadscore.store.prediction_rows import PredictionRows
from leadscore.store.score_queries import ScoreQueries
from leadscore.store.sqlite_common import connect
from leadscore.store.sqlite_ingest import IngestWrites
from leadscore.store.sqlite_scores import ScoreReads


class SQLiteStore(
    NestedTransactions,
    IngestWrites,
    ScoreReads,
    ScoreQueries,
    ApiKeyRows,
    OutboxRows,
    EventQueueRows,
    ModelVersionRows,
    OutcomeRows,
    PredictionRows,
):
    """Writes go through ``self.db``; the full scan reads through its own connection (a WAL snapshot)."""

    _mark = "?"
    _skip_locked = ""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.db = connect(self.path)
        self.migrate()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Applies the migrations not yet recorded; returns their names."""
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
        applied = []
        for name, script in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))
            applied.append(name)
        return applied

    def defer_checkpoints(self) -> None:
        """Leaves WAL checkpoints to the store's other connections. A commit that fills the WAL past 1,000
        pages copies it back into the database file and syncs it, in the committing thread: on a server
        process that is every request waiting behind it. Its scorer process commits more than it does,
        and takes that cost."""
        self.db.execute("PRAGMA wal_autocheckpoint=0")

    def lock_models(self, exclusive: bool = False) -> None:
        """Nothing to do: a write transaction (``BEGIN IMMEDIATE``) already excludes an activation."""
