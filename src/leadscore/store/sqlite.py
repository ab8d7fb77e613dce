"""The embedded default store: one SQLite file in WAL mode, one writer connection, bound parameters only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadscore.store.api_keys import ApiKeyRows
from leadscore.store.common import NestedTransactions
from leadscore.store.migrations import MIGRATIONS
from leadscore.store.model_versions import ModelVersionRows
from leadscore.store.outbox import OutboxRows
from leadscore.store.outcome_rows import OutcomeRows
from leadscore.store.prediction_rows import PredictionRows
from leadscore.store.score_queries import ScoreQueries
from leadscore.store.sqlite_common import connect
from leadscore.store.sqlite_ingest import IngestWrites
from leadscore.store.sqlite_queue import SQLiteEventQueue
from leadscore.store.sqlite_scores import ScoreReads

# SQLite only: how far the event queue, in its own file, is scored (see ``sqlite_queue``).
SQLITE_MIGRATIONS = [
    *MIGRATIONS,
    (
        "0010_queue_progress",
        """
        CREATE TABLE queue_progress (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            scored_through INTEGER NOT NULL
        );
        INSERT INTO queue_progress VALUES (0, 0);
        """,
    ),
]


class SQLiteStore(
    NestedTransactions,
    IngestWrites,
    ScoreReads,
    ScoreQueries,
    ApiKeyRows,
    OutboxRows,
    SQLiteEventQueue,
    ModelVersionRows,
    OutcomeRows,
    PredictionRows,
):
    """Writes go through ``self.db``; the full scan reads through its own connection (a WAL snapshot); the
    event queue is a file of its own (see ``sqlite_queue``)."""

    _mark = "?"
    _skip_locked = ""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.db = connect(self.path)
        self.migrate()
        self.open_queue()

    def close(self) -> None:
        self.close_queue()
        self.db.close()

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self.queue_rolled_back()
            raise
        self.db.execute("COMMIT")
        self.queue_committed()

    def migrate(self) -> list[str]:
        """Applies the migrations not yet recorded; returns their names."""
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
        applied = []
        for name, script in SQLITE_MIGRATIONS:
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
        self.defer_queue_checkpoints()

    @contextmanager
    def scheduler_turn(self) -> Iterator[bool]:
        """Always this process's turn: a SQLite project runs one server process, so one scheduler."""
        yield True

    def recover(self) -> None:
        """Nothing to do: a file's connection is not dropped by a server."""

    def claim_scoring(self) -> bool:
        """Always this process's scorer: a SQLite project runs one server process."""
        return True

    def lock_models(self, exclusive: bool = False) -> None:
        """Nothing to do: a write transaction (``BEGIN IMMEDIATE``) already excludes an activation."""
