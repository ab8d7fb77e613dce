"""The PostgreSQL store, for production: the same contract as the SQLite store, on a server several
processes can share. Bound parameters only; psycopg 3 sends them apart from the SQL text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg

from leadscore.store.api_keys import ApiKeyRows
from leadscore.store.common import NestedTransactions
from leadscore.store.model_versions import ModelVersionRows
from leadscore.store.outbox import OutboxRows
from leadscore.store.outcome_rows import OutcomeRows
from leadscore.store.postgres_ingest import PostgresIngestWrites
from leadscore.store.postgres_migrations import POSTGRES_MIGRATIONS
from leadscore.store.postgres_queue import PostgresEventQueueRows
from leadscore.store.postgres_scores import PostgresScoreReads
from leadscore.store.prediction_rows import PredictionRows
from leadscore.store.score_queries import ScoreQueries

#: Serialises migrations between processes that start at once (any constant the project owns).
_MIGRATION_LOCK = -0x1EAD5C0E  # single-key locks; leads and accounts use the (class, stripe) form
#: Held shared by every scoring write and exclusively by a model activation (``lock_models``).
_MODELS_LOCK = -0x1EAD5C0F
#: Held by the scheduler process that is ticking (``scheduler_turn``), and for its connection's lifetime by
#: the lead scorer (``claim_scoring``): two-key locks, the second key the schema's hash, so that projects
#: in different schemas of one database each have their own.
_SCHEDULER_CLASS = 3  # 0, 1 and 2 are leads, accounts and the event queue
_SCORER_CLASS = 4


class PostgresStore(
    NestedTransactions,
    PostgresIngestWrites,
    PostgresScoreReads,
    ScoreQueries,
    ApiKeyRows,
    OutboxRows,
    PostgresEventQueueRows,
    ModelVersionRows,
    OutcomeRows,
    PredictionRows,
):
    """Statements outside ``transaction()`` commit on their own (autocommit); inside, all or nothing."""

    _mark = "%s"
    _skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = psycopg.connect(url, autocommit=True)
        self._scoring = False  # this connection holds the lead scorer's lock
        self.migrate()
        self.create_stages()

    def close(self) -> None:
        self.db.close()

    def recover(self) -> None:
        """A new connection in place of one the server dropped (a restart, a failover, a terminated
        backend). The session's locks went with the old one, the lead scorer's too."""
        if self.db.broken:
            self.db.close()
            self.db = psycopg.connect(self.url, autocommit=True)
            self._scoring = False

    def _outermost(self) -> AbstractContextManager[Any]:
        return self.db.transaction()

    def migrate(self) -> list[str]:
        """Applies the migrations not yet recorded; returns their names. Safe when processes race to it."""
        applied = []
        with self.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
            )
            done = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
            for name, script in POSTGRES_MIGRATIONS:
                if name in done:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement.encode())
                self.db.execute("INSERT INTO migrations VALUES (%s, now())", (name,))
                applied.append(name)
        return applied

    def defer_checkpoints(self) -> None:
        """Nothing to do: the PostgreSQL server checkpoints by itself."""

    @contextmanager
    def scheduler_turn(self) -> Iterator[bool]:
        """Whether this process may tick now: with several server processes, each has a scheduler, and a
        tick finds the same due leads in all of them; the others skip it. A session lock, held across the
        tick's transactions, and gone with the connection if the process dies."""
        held = self._try_lock(_SCHEDULER_CLASS)
        try:
            yield held
        finally:
            if held:
                self.db.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (_SCHEDULER_CLASS,))

    def _try_lock(self, kind: int) -> bool:
        """A session lock of this schema's, if no other connection holds it."""
        row = self.db.execute("SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", (kind,)).fetchone()
        return bool(row and row[0])

    def claim_scoring(self) -> bool:
        """Whether this connection's scorer leads: the first to ask holds a session lock until its connection
        closes (its process exits, even by SIGKILL); the others stand by and ask again later."""
        if not self._scoring:
            self._scoring = self._try_lock(_SCORER_CLASS)
        return self._scoring

    def lock_models(self, exclusive: bool = False) -> None:
        """Every write that scores holds this shared, so an activation (exclusive) waits for writes in flight
        and the writes after it see the new version: no write scores with a version that is no longer active."""
        if exclusive:
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_MODELS_LOCK,))
        else:
            self.db.execute("SELECT pg_advisory_xact_lock_shared(%s)", (_MODELS_LOCK,))

    def model_generation(self, lock: bool = False) -> int:
        """The activation count; with ``lock``, also takes the model lock shared, in the same round trip."""
        if not lock:
            return super().model_generation()
        row = self.db.execute(
            "SELECT pg_advisory_xact_lock_shared(%s), (SELECT coalesce(max(id), 0) FROM model_activations)",
            (_MODELS_LOCK,),
        ).fetchone()
        assert row is not None
        return int(row[1])
