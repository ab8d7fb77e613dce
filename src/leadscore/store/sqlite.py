"""The embedded default store: one SQLite file in WAL mode, one writer connection, bound parameters only."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leadscore.engine.account import AccountScore
from leadscore.engine.compiled import free_mail_domains
from leadscore.engine.types import Account, Event, Lead, Score, from_micros, to_micros
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject
from leadscore.store.codec import contributions_json, score_cents
from leadscore.store.migrations import MIGRATIONS
from leadscore.store.protocol import EventRow, RunSummary, StoredScore, WriteResult

_COMPANY_FIELDS = ("company", "industry", "company_size", "annual_revenue")
_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(count: int) -> str:
    return ",".join("?" * count)


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


class SQLiteStore:
    """Writes go through ``self.db``; the full scan reads through its own connection (a WAL snapshot)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.db = self._connect()
        self._depth = 0
        self.migrate()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

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

    def register_model(self, key: str, name: str, version: str, source: str, now_us: int) -> None:
        digest = hashlib.sha256(source.encode()).hexdigest()
        self.db.execute(
            "INSERT INTO models VALUES (?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
            "source=excluded.source, sha256=excluded.sha256, loaded_at=excluded.loaded_at",
            (key, name, version, source, digest, now_us),
        )

    # -- ingest --------------------------------------------------------------------------------------

    def upsert_accounts(self, records: Sequence[AccountRecord], now_us: int) -> int:
        rows = [(r.id, r.domain, json.dumps(r.fields, default=str), now_us) for r in records]
        self.db.executemany(
            "INSERT INTO accounts(id, domain, fields, updated_at) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "domain=coalesce(excluded.domain, accounts.domain), fields=json_patch(accounts.fields, excluded.fields), "
            "updated_at=excluded.updated_at",
            rows,
        )
        return len(rows)

    def _account_for(self, record: LeadRecord, now_us: int) -> str | None:
        """The lead's account: its account id, else its company domain, else its email's domain."""
        company = {k: record.fields.get(k) for k in _COMPANY_FIELDS}
        company = {k: v for k, v in company.items() if v not in (None, "")}
        if record.account_id:
            self.db.execute(
                "INSERT INTO accounts(id, fields, updated_at) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "fields=json_patch(excluded.fields, accounts.fields)",
                (record.account_id, json.dumps(company, default=str), now_us),
            )
            return record.account_id
        domain = str(record.fields.get("company_domain") or "").strip().lower() or email_domain(record.email)
        if not domain or domain in free_mail_domains():
            return None
        account_id = f"domain:{domain}"
        self.db.execute(
            "INSERT INTO accounts(id, domain, fields, updated_at) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "fields=json_patch(excluded.fields, accounts.fields)",
            (account_id, domain, json.dumps(company, default=str), now_us),
        )
        return account_id

    def upsert_leads(self, records: Sequence[LeadRecord], now_us: int) -> tuple[list[int], int, int]:
        """Upserts by id, else by email; returns the touched lead seqs, and the created and updated counts."""
        seqs: list[int] = []
        created = updated = 0
        for record in records:
            fields = {k: v for k, v in record.fields.items() if v is not None}
            if record.email:
                fields["email"] = record.email
            account_id = self._account_for(record, now_us)
            existing = None
            if record.id is not None:
                existing = self.db.execute("SELECT seq, auto_created FROM leads WHERE id=?", (record.id,)).fetchone()
            if existing is None and record.email:
                existing = self.db.execute(
                    "SELECT seq, auto_created FROM leads WHERE email=?", (record.email,)
                ).fetchone()
            created_us = to_micros(record.created_at) if record.created_at else None
            body = json.dumps(fields, default=str)
            if existing is None:
                lead_id = record.id or record.email
                cursor = self.db.execute(
                    "INSERT INTO leads(id, email, account_id, created_at, fields, updated_at) VALUES (?,?,?,?,?,?)",
                    (lead_id, record.email, account_id, created_us, body, now_us),
                )
                seq = cursor.lastrowid
                assert seq is not None
                created += 1
            else:
                seq, auto = existing
                # A lead first seen in an event log takes the CRM's id when the CRM record arrives.
                new_id = record.id if (auto and record.id) else None
                self.db.execute(
                    "UPDATE leads SET id=coalesce(?, id), email=coalesce(?, email), "
                    "account_id=coalesce(?, account_id), created_at=coalesce(?, created_at), "
                    "fields=json_patch(fields, ?), auto_created=CASE WHEN ? IS NULL THEN auto_created ELSE 0 END, "
                    "updated_at=? WHERE seq=?",
                    (new_id, record.email, account_id, created_us, body, new_id, now_us, seq),
                )
                updated += 1
            seqs.append(seq)
        return seqs, created, updated

    def resolve_leads(self, refs: Sequence[tuple[str | None, str | None]], now_us: int) -> list[int]:
        """Lead seqs for (lead id, email) pairs; an unknown lead is created, flagged as auto-created."""
        by_id: dict[str, int] = {}
        by_email: dict[str, int] = {}
        ids = sorted({i for i, _ in refs if i})
        emails = sorted({e for _, e in refs if e})
        for chunk in _chunks(ids):
            by_id.update(self.db.execute(f"SELECT id, seq FROM leads WHERE id IN ({_marks(len(chunk))})", chunk))
        for chunk in _chunks(emails):
            by_email.update(
                self.db.execute(f"SELECT email, seq FROM leads WHERE email IN ({_marks(len(chunk))})", chunk)
            )
        seqs = []
        for lead_id, email in refs:
            seq = by_id.get(lead_id) if lead_id else None
            if seq is None and email:
                seq = by_email.get(email)
            if seq is None:
                record = LeadRecord(id=lead_id, email=email, fields={"email": email} if email else {})
                account_id = self._account_for(record, now_us)
                cursor = self.db.execute(
                    "INSERT INTO leads(id, email, account_id, fields, auto_created, updated_at) VALUES (?,?,?,?,1,?)",
                    (lead_id or email, email, account_id, json.dumps(record.fields), now_us),
                )
                seq = cursor.lastrowid
                assert seq is not None
                if lead_id:
                    by_id[lead_id] = seq
                if email:
                    by_email[email] = seq
            seqs.append(seq)
        return seqs

    def insert_events(self, events: Sequence[tuple[int, EventRecord]], now_us: int) -> list[bool]:
        """Stores new events; a known event id is left as it was. Returns, per event, whether it was new."""
        known: set[str] = set()
        ids = [record.id for _, record in events]
        for chunk in _chunks(ids):
            known.update(
                r[0] for r in self.db.execute(f"SELECT id FROM events WHERE id IN ({_marks(len(chunk))})", chunk)
            )
        fresh: list[bool] = []
        rows = []
        for seq, record in events:
            is_new = record.id not in known
            fresh.append(is_new)
            if is_new:
                known.add(record.id)
                rows.append(
                    (
                        record.id,
                        seq,
                        record.type,
                        to_micros(record.occurred_at),
                        json.dumps(record.properties, default=str, separators=(",", ":")),
                        now_us,
                    )
                )
        self.db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)", rows)
        return fresh

    def record_run(self, summary: RunSummary, rejects: Sequence[Reject]) -> int:
        cursor = self.db.execute(
            "INSERT INTO ingest_runs(kind, source, read, loaded, updated, duplicates, rejected, started_at, "
            "finished_at) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                summary.kind,
                summary.source,
                summary.read,
                summary.loaded,
                summary.updated,
                summary.duplicates,
                summary.rejected,
                summary.started_at,
                summary.finished_at,
            ),
        )
        run_id = cursor.lastrowid
        assert run_id is not None
        self.db.executemany(
            "INSERT INTO rejects(run_id, source, line, field, reason, raw) VALUES (?,?,?,?,?,?)",
            [(run_id, r.source, r.line, r.field, r.reason, json.dumps(r.raw, default=str)) for r in rejects],
        )
        return run_id

    # -- reads for scoring ------------------------------------------------------------------------------

    def load_accounts(self, ids: Sequence[str]) -> dict[str, Account]:
        out: dict[str, Account] = {}
        for chunk in _chunks(list(ids)):
            for account_id, fields in self.db.execute(
                f"SELECT id, fields FROM accounts WHERE id IN ({_marks(len(chunk))})", chunk
            ):
                out[account_id] = Account(account_id, json.loads(fields))
        return out

    def all_account_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM accounts ORDER BY id")]

    def load_leads(self, seqs: Sequence[int]) -> dict[int, Lead]:
        rows = []
        for chunk in _chunks(list(seqs)):
            rows += self.db.execute(
                f"SELECT seq, id, email, account_id, created_at, fields FROM leads WHERE seq IN ({_marks(len(chunk))})",
                chunk,
            ).fetchall()
        accounts = self.load_accounts(sorted({r[3] for r in rows if r[3]}))
        return {r[0]: _lead(r[1:], accounts) for r in rows}

    def load_events(self, seqs: Sequence[int]) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = {seq: [] for seq in seqs}
        ids = {seq: lead.id for seq, lead in self.load_leads(seqs).items()}
        for chunk in _chunks(list(seqs)):
            for seq, event_id, kind, at, props in self.db.execute(
                "SELECT lead_seq, id, type, occurred_at, properties FROM events "
                f"WHERE lead_seq IN ({_marks(len(chunk))}) ORDER BY lead_seq, occurred_at",
                chunk,
            ):
                out[seq].append(Event(event_id, ids[seq], kind, from_micros(at), json.loads(props)))
        return out

    def scan(self, batch_size: int = 2000) -> Iterator[tuple[int, Lead, list[EventRow]]]:
        """Every lead with its events, in lead order, streamed: memory holds one batch of leads."""
        reader = self._connect()
        try:
            reader.execute("BEGIN")
            accounts = {a: Account(a, json.loads(f)) for a, f in reader.execute("SELECT id, fields FROM accounts")}
            last = 0
            while True:
                leads = reader.execute(
                    "SELECT seq, id, email, account_id, created_at, fields FROM leads WHERE seq > ? "
                    "ORDER BY seq LIMIT ?",
                    (last, batch_size),
                ).fetchall()
                if not leads:
                    break
                low, high = leads[0][0], leads[-1][0]
                events: dict[int, list[EventRow]] = {}
                for seq, event_id, kind, at, props in reader.execute(
                    "SELECT lead_seq, id, type, occurred_at, properties FROM events WHERE lead_seq BETWEEN ? AND ?",
                    (low, high),
                ):
                    events.setdefault(seq, []).append((event_id, kind, at, props))
                for row in leads:
                    yield row[0], _lead(row[1:], accounts), events.get(row[0], [])
                last = high
            reader.execute("COMMIT")
        finally:
            reader.close()

    def count(self, table: str) -> int:
        if table not in {"leads", "events", "accounts", "scores", "score_history", "stage_transitions", "rejects"}:
            raise ValueError(f"unknown table {table!r}")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- scores --------------------------------------------------------------------------------------------

    def write_scores(self, items: Sequence[tuple[int, Score, str]], now_us: int) -> WriteResult:
        """Upserts current scores; appends history on a change of total, tier or stage, and stage transitions."""
        if not items:
            return WriteResult(0, 0)
        model = items[0][1].model
        previous: dict[int, tuple[int, str, str]] = {}
        seqs = [seq for seq, _, _ in items]
        for chunk in _chunks(seqs):
            for seq, total, tier, stage in self.db.execute(
                f"SELECT lead_seq, total_cents, tier, stage FROM scores WHERE model=? AND lead_seq IN "
                f"({_marks(len(chunk))})",
                (model, *chunk),
            ):
                previous[seq] = (total, tier, stage)
        upserts, history, transitions = [], [], []
        for seq, score, cause in items:
            fit, engagement, total = score_cents(score)
            as_of = to_micros(score.as_of)
            last = to_micros(score.last_engagement_at) if score.last_engagement_at else None
            upserts.append(
                (
                    score.model,
                    seq,
                    as_of,
                    fit,
                    engagement,
                    total,
                    score.tier,
                    score.grade,
                    score.level,
                    score.stage,
                    score.stage_reason,
                    contributions_json(score.contributions),
                    last,
                    now_us,
                )
            )
            before = previous.get(seq)
            if before != (total, score.tier, score.stage):
                history.append(
                    (score.model, seq, as_of, fit, engagement, total, score.tier, score.stage, cause, now_us)
                )
            if before is None or before[2] != score.stage:
                transitions.append(
                    (score.model, seq, before[2] if before else None, score.stage, as_of, score.stage_reason, cause)
                )
        self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", upserts)
        self.db.executemany(
            "INSERT INTO score_history(model, lead_seq, as_of, fit_cents, engagement_cents, total_cents, tier, "
            "stage, cause, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            history,
        )
        self.db.executemany(
            "INSERT INTO stage_transitions(model, lead_seq, from_stage, to_stage, at, reason, cause) "
            "VALUES (?,?,?,?,?,?,?)",
            transitions,
        )
        return WriteResult(len(history), len(transitions))

    def account_lead_totals(self, model: str, account_ids: Sequence[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {a: [] for a in account_ids}
        for chunk in _chunks(list(account_ids)):
            for account_id, total in self.db.execute(
                "SELECT l.account_id, s.total_cents FROM scores s JOIN leads l ON l.seq = s.lead_seq "
                f"WHERE s.model=? AND l.account_id IN ({_marks(len(chunk))})",
                (model, *chunk),
            ):
                out[account_id].append(total)
        return out

    def write_account_scores(self, scores: Sequence[AccountScore], as_of_us: int) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO account_scores VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    s.model,
                    s.account_id,
                    as_of_us,
                    int(s.rollup * 100),
                    int(s.fit * 100),
                    int(s.total * 100),
                    s.tier,
                    s.lead_count,
                    contributions_json(s.contributions),
                )
                for s in scores
            ],
        )

    # -- queries ---------------------------------------------------------------------------------------------

    def find_lead(self, ref: str) -> int | None:
        row = self.db.execute("SELECT seq FROM leads WHERE id=? OR email=? LIMIT 1", (ref, ref.lower())).fetchone()
        return int(row[0]) if row else None

    _SCORE_COLUMNS = (
        "s.model, s.lead_seq, l.id, l.email, l.account_id, s.as_of, s.fit_cents, s.engagement_cents, s.total_cents, "
        "s.tier, s.grade, s.level, s.stage, s.stage_reason, s.contributions, s.last_engagement_at"
    )

    def scores_for_lead(self, seq: int) -> list[StoredScore]:
        rows = self.db.execute(
            f"SELECT {self._SCORE_COLUMNS} FROM scores s JOIN leads l ON l.seq = s.lead_seq "
            "WHERE s.lead_seq=? ORDER BY s.model",
            (seq,),
        )
        return [_stored(r) for r in rows]

    def score_history(self, seq: int, limit: int = 50) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT model, as_of, fit_cents, engagement_cents, total_cents, tier, stage, cause, recorded_at "
            "FROM score_history WHERE lead_seq=? ORDER BY id DESC LIMIT ?",
            (seq, limit),
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def stage_transitions(self, seq: int) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT model, from_stage, to_stage, at, reason, cause FROM stage_transitions WHERE lead_seq=? ORDER BY id",
            (seq,),
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def top(
        self,
        model: str,
        *,
        tier: str | None = None,
        stage: str | None = None,
        grade: str | None = None,
        limit: int = 20,
    ) -> list[StoredScore]:
        sql = f"SELECT {self._SCORE_COLUMNS} FROM scores s JOIN leads l ON l.seq = s.lead_seq WHERE s.model=?"
        params: list[Any] = [model]
        for column, value in (("tier", tier), ("stage", stage), ("grade", grade)):
            if value is not None:
                sql += f" AND s.{column}=?"
                params.append(value)
        sql += " ORDER BY s.total_cents DESC, l.id LIMIT ?"
        params.append(limit)
        return [_stored(r) for r in self.db.execute(sql, params)]

    def iter_scores(self, models: Sequence[str]) -> Iterator[StoredScore]:
        for model in models:
            cursor = self.db.execute(
                f"SELECT {self._SCORE_COLUMNS} FROM scores s JOIN leads l ON l.seq = s.lead_seq "
                "WHERE s.model=? ORDER BY l.seq",
                (model,),
            )
            for row in cursor:
                yield _stored(row)

    def model_keys(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT model FROM scores ORDER BY model")]


def _lead(row: Sequence[Any], accounts: dict[str, Account]) -> Lead:
    lead_id, email, account_id, created_at, fields = row
    data = json.loads(fields)
    if email:
        data["email"] = email
    return Lead(
        id=lead_id,
        fields=data,
        created_at=from_micros(created_at) if created_at is not None else None,
        account=accounts.get(account_id) if account_id else None,
    )


def _stored(row: Sequence[Any]) -> StoredScore:
    (
        model,
        seq,
        lead_id,
        email,
        account_id,
        as_of,
        fit,
        engagement,
        total,
        tier,
        grade,
        level,
        stage,
        reason,
        contributions,
        last,
    ) = row
    return StoredScore(
        model,
        seq,
        lead_id,
        email,
        account_id,
        as_of,
        fit,
        engagement,
        total,
        tier,
        grade,
        level,
        stage,
        reason,
        json.loads(contributions),
        last,
    )
