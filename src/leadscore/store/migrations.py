"""Named, ordered schema migrations, recorded in the ``migrations`` table once applied.

Scores are stored as integer hundredths (``*_cents``) so that sums and sorting are exact in SQL.
Times are integer microseconds since the epoch, UTC.
"""

from __future__ import annotations

# PostgreSQL adds one of its own, 0008_event_counts (see postgres_migrations.py), and SQLite one, 0010_queue_progress
# (see sqlite.py): number the next shared one 0011.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            domain TEXT UNIQUE,
            fields TEXT NOT NULL DEFAULT '{}',
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE leads (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            email TEXT,
            account_id TEXT REFERENCES accounts(id),
            created_at INTEGER,
            fields TEXT NOT NULL DEFAULT '{}',
            auto_created INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX leads_account ON leads(account_id);
        CREATE INDEX leads_email ON leads(email);
        CREATE TABLE events (
            lead_seq INTEGER NOT NULL REFERENCES leads(seq),
            occurred_at INTEGER NOT NULL,
            id TEXT NOT NULL,
            type TEXT NOT NULL,
            properties TEXT NOT NULL DEFAULT '{}',
            received_at INTEGER NOT NULL,
            PRIMARY KEY (lead_seq, occurred_at, id)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX events_id ON events(id);
        CREATE TABLE models (
            key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            source TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            loaded_at INTEGER NOT NULL
        );
        CREATE TABLE scores (
            model TEXT NOT NULL,
            lead_seq INTEGER NOT NULL REFERENCES leads(seq),
            as_of INTEGER NOT NULL,
            fit_cents INTEGER NOT NULL,
            engagement_cents INTEGER NOT NULL,
            total_cents INTEGER NOT NULL,
            tier TEXT NOT NULL,
            grade TEXT NOT NULL,
            level TEXT NOT NULL,
            stage TEXT NOT NULL,
            stage_reason TEXT NOT NULL,
            contributions TEXT NOT NULL,
            last_engagement_at INTEGER,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (model, lead_seq)
        ) WITHOUT ROWID;
        CREATE INDEX scores_rank ON scores(model, total_cents DESC);
        CREATE TABLE score_history (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            lead_seq INTEGER NOT NULL,
            as_of INTEGER NOT NULL,
            fit_cents INTEGER NOT NULL,
            engagement_cents INTEGER NOT NULL,
            total_cents INTEGER NOT NULL,
            tier TEXT NOT NULL,
            stage TEXT NOT NULL,
            cause TEXT NOT NULL,
            recorded_at INTEGER NOT NULL
        );
        CREATE INDEX score_history_lead ON score_history(lead_seq, model, id);
        CREATE TABLE stage_transitions (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            lead_seq INTEGER NOT NULL,
            from_stage TEXT,
            to_stage TEXT NOT NULL,
            at INTEGER NOT NULL,
            reason TEXT NOT NULL,
            cause TEXT NOT NULL
        );
        CREATE INDEX stage_transitions_lead ON stage_transitions(lead_seq, model, id);
        CREATE TABLE account_scores (
            model TEXT NOT NULL,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            as_of INTEGER NOT NULL,
            rollup_cents INTEGER NOT NULL,
            fit_cents INTEGER NOT NULL,
            total_cents INTEGER NOT NULL,
            tier TEXT NOT NULL,
            lead_count INTEGER NOT NULL,
            contributions TEXT NOT NULL,
            PRIMARY KEY (model, account_id)
        ) WITHOUT ROWID;
        CREATE TABLE ingest_runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            read INTEGER NOT NULL,
            loaded INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            duplicates INTEGER NOT NULL,
            rejected INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL
        );
        CREATE TABLE rejects (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES ingest_runs(id),
            source TEXT NOT NULL,
            line INTEGER NOT NULL,
            field TEXT,
            reason TEXT NOT NULL,
            raw TEXT
        );
        """,
    ),
    (
        "0002_api_keys",
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            digest TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT
        );
        """,
    ),
    (
        "0003_webhooks",
        """
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            min_delta_cents BIGINT,
            secret TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            removed_at BIGINT
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            delivery_id TEXT NOT NULL UNIQUE,
            webhook_id TEXT NOT NULL REFERENCES webhooks(id),
            event TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            delivered_at BIGINT,
            last_error TEXT
        );
        CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
        CREATE TABLE delivery_attempts (
            id INTEGER PRIMARY KEY,
            delivery_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            at BIGINT NOT NULL,
            status_code INTEGER,
            error TEXT,
            duration_us BIGINT NOT NULL
        );
        CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, attempt);
        """,
    ),
    (
        "0004_next_check",
        """
        ALTER TABLE scores ADD COLUMN next_check_at BIGINT;
        CREATE INDEX scores_due ON scores(model, next_check_at);
        """,
    ),
    (
        "0005_model_activations",
        """
        CREATE TABLE model_activations (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            model TEXT NOT NULL REFERENCES models(key),
            previous TEXT,
            activated_at BIGINT NOT NULL,
            cause TEXT NOT NULL,
            summary TEXT NOT NULL
        );
        CREATE INDEX model_activations_name ON model_activations(name, id);
        """,
    ),
    (
        "0006_outcomes",
        """
        CREATE TABLE outcomes (
            id TEXT PRIMARY KEY,
            lead_seq BIGINT NOT NULL REFERENCES leads(seq),
            outcome TEXT NOT NULL,
            occurred_at BIGINT,
            source TEXT NOT NULL,
            recorded_at BIGINT NOT NULL
        );
        CREATE INDEX outcomes_lead ON outcomes(lead_seq);
        """,
    ),
    (
        "0007_predictions",
        """
        CREATE TABLE predictions (
            name TEXT NOT NULL,
            lead_seq BIGINT NOT NULL REFERENCES leads(seq),
            version TEXT NOT NULL,
            probability DOUBLE PRECISION NOT NULL,
            reasons TEXT NOT NULL,
            as_of BIGINT NOT NULL,
            scored_at BIGINT NOT NULL,
            PRIMARY KEY (name, lead_seq)
        );
        CREATE INDEX predictions_rank ON predictions(name, probability DESC);
        """,
    ),
    (
        "0009_event_queue",
        """
        CREATE TABLE event_queue (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event TEXT NOT NULL,
            queued_at BIGINT NOT NULL
        );
        """,
    ),
]
