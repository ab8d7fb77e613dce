"""Writing leads, accounts, events and ingest runs into PostgreSQL.

Every insert that two processes might race on is an ``ON CONFLICT`` statement, so that concurrent
writers neither fail nor double anything: a lead id, an account id and an event id each exist once.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence

import orjson

from leadscore.engine.types import to_micros
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject
from leadscore.store.common import account_of
from leadscore.store.postgres_bulk import PostgresConnected
from leadscore.store.protocol import RunSummary


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL: a reject that quotes one keeps it escaped, as JSON writes it."""
    return value.replace("\x00", "\\u0000") if value is not None else None


#: Advisory lock stripes per class (leads, accounts): few enough for any batch to fit the lock table.
STRIPES = 1024


class PostgresIngestWrites(PostgresConnected):
    def upsert_accounts(self, records: Sequence[AccountRecord], now_us: int) -> int:
        rows = [(r.id, r.domain, json.dumps(r.fields, default=str), now_us) for r in records]
        with self.db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO accounts(id, domain, fields, updated_at) VALUES (%s,%s,%s::jsonb,%s) "
                "ON CONFLICT (id) DO UPDATE SET domain=coalesce(excluded.domain, accounts.domain), "
                "fields=accounts.fields || excluded.fields, updated_at=excluded.updated_at",
                rows,
            )
        return len(rows)

    def _account_for(self, record: LeadRecord, now_us: int) -> str | None:
        found = account_of(record)
        if found is None:
            return None
        account_id, domain, company = found
        # Fields the account already has win over those a lead brings (the account's own record is better).
        self.db.execute(
            "INSERT INTO accounts(id, domain, fields, updated_at) VALUES (%s,%s,%s::jsonb,%s) "
            "ON CONFLICT (id) DO UPDATE SET fields=excluded.fields || accounts.fields",
            (account_id, domain, json.dumps(company, default=str), now_us),
        )
        return account_id

    def upsert_leads(self, records: Sequence[LeadRecord], now_us: int) -> tuple[list[int], int, int]:
        """As ``SQLiteStore.upsert_leads``: by id, else by an email whose lead an event created."""
        seqs: list[int] = []
        created = updated = 0
        for record in records:
            fields = {k: v for k, v in record.fields.items() if v is not None}
            if record.email:
                fields["email"] = record.email
            account_id = self._account_for(record, now_us)
            existing = None
            if record.id is not None:
                existing = self.db.execute("SELECT seq, auto_created FROM leads WHERE id=%s", (record.id,)).fetchone()
            if existing is None and record.email:
                existing = self.db.execute(
                    "SELECT seq, auto_created FROM leads WHERE email=%s AND (%s::text IS NULL OR auto_created) "
                    "ORDER BY seq LIMIT 1",
                    (record.email, record.id),
                ).fetchone()
            created_us = to_micros(record.created_at) if record.created_at else None
            body = json.dumps(fields, default=str)
            if existing is None:
                # Another process may create the same id between the read and this insert: then it updates.
                row = self.db.execute(
                    "INSERT INTO leads(id, email, account_id, created_at, fields, updated_at) "
                    "VALUES (%s,%s,%s,%s,%s::jsonb,%s) ON CONFLICT (id) DO UPDATE SET "
                    "email=coalesce(excluded.email, leads.email), account_id=coalesce(excluded.account_id, "
                    "leads.account_id), created_at=coalesce(excluded.created_at, leads.created_at), "
                    "fields=leads.fields || excluded.fields, auto_created=FALSE, updated_at=excluded.updated_at "
                    "RETURNING seq, (xmax = 0)",
                    (record.id or record.email, record.email, account_id, created_us, body, now_us),
                ).fetchone()
                assert row is not None
                seq = int(row[0])
                if row[1]:
                    created += 1
                else:
                    updated += 1
            else:
                seq, auto = existing
                new_id = record.id if (auto and record.id) else None
                self.db.execute(
                    "UPDATE leads SET id=coalesce(%s, id), email=coalesce(%s, email), "
                    "account_id=coalesce(%s, account_id), created_at=coalesce(%s, created_at), "
                    "fields=fields || %s::jsonb, auto_created=CASE WHEN %s::text IS NULL THEN auto_created "
                    "ELSE FALSE END, updated_at=%s WHERE seq=%s",
                    (new_id, record.email, account_id, created_us, body, new_id, now_us, seq),
                )
                updated += 1
            seqs.append(seq)
        return seqs, created, updated

    def resolve_leads(self, refs: Sequence[tuple[str | None, str | None]], now_us: int) -> list[tuple[int, str]]:
        """(seq, lead id) for (lead id, email) pairs; an unknown lead is created, flagged as auto-created."""
        by_id: dict[str, tuple[int, str]] = {}
        by_email: dict[str, tuple[int, str]] = {}
        ids = sorted({i for i, _ in refs if i})
        emails = sorted({e for _, e in refs if e})
        if ids:
            for lead_id, seq in self.db.execute("SELECT id, seq FROM leads WHERE id = ANY(%s)", (ids,)):
                by_id[lead_id] = (int(seq), lead_id)
        if emails:
            sql = "SELECT email, seq, id FROM leads WHERE email = ANY(%s) ORDER BY seq DESC"
            for email, seq, lead_id in self.db.execute(sql, (emails,)):
                by_email[email] = (int(seq), lead_id)
        resolved = []
        for lead_id, email in refs:
            found = by_id.get(lead_id) if lead_id else None
            if found is None and email:
                found = by_email.get(email)
            if found is None:
                record = LeadRecord(id=lead_id, email=email, fields={"email": email} if email else {})
                account_id = self._account_for(record, now_us)
                new_id = lead_id or email
                assert new_id is not None
                # A lead another process created meanwhile is taken as it is (and not locked by this insert).
                row = self.db.execute(
                    "INSERT INTO leads(id, email, account_id, fields, auto_created, updated_at) "
                    "VALUES (%s,%s,%s,%s::jsonb,TRUE,%s) ON CONFLICT (id) DO NOTHING RETURNING seq",
                    (new_id, email, account_id, json.dumps(record.fields), now_us),
                ).fetchone()
                if row is None:
                    row = self.db.execute("SELECT seq FROM leads WHERE id=%s", (new_id,)).fetchone()
                    assert row is not None
                found = (int(row[0]), new_id)
                if lead_id:
                    by_id[lead_id] = found
                if email:
                    by_email[email] = found
            resolved.append(found)
        return resolved

    def insert_events(self, events: Sequence[tuple[int, EventRecord]], now_us: int) -> list[bool]:
        """Stores new events; a known event id is left as it was. Returns, per event, whether it was new.

        One statement over the staged rows: the server reports which ids it inserted, which stays right
        when another process stores the same id at the same moment.
        """
        if not events:
            return []
        first: dict[str, int] = {}
        rows = []
        for position, (seq, record) in enumerate(events):
            if record.id in first:
                continue
            first[record.id] = position
            properties = orjson.dumps(record.properties, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
            rows.append((record.id, seq, record.type, to_micros(record.occurred_at), properties, now_us))
        with self.transaction():
            source, params = self.rows_from("events", rows)
            # The count of each lead's events (``lead_versions``) moves in the same statement as the insert.
            inserted = {
                row[0]
                for row in self.db.execute(
                    f"WITH e AS ({source}), new AS (INSERT INTO events(id, lead_seq, type, occurred_at, properties, "
                    "received_at) SELECT id, lead_seq, type, occurred_at, properties::jsonb, received_at FROM e "
                    "ON CONFLICT (id) DO NOTHING RETURNING id, lead_seq), "
                    "counted AS (INSERT INTO event_counts SELECT lead_seq, count(*) FROM new GROUP BY lead_seq "
                    "ON CONFLICT (lead_seq) DO UPDATE SET events = event_counts.events + excluded.events) "
                    "SELECT id FROM new",
                    params,
                )
            }
        return [record.id in inserted and first[record.id] == position for position, (_, record) in enumerate(events)]

    def lock_leads(self, seqs: Sequence[int]) -> None:
        """Holds each lead until the transaction ends, taken in order so that two writers never deadlock.

        Scoring reads a lead's stored events after its lock: a writer that waited sees every event the
        one before it committed, so concurrent requests give what applying them one after the other gives.
        Advisory locks, not row locks, so that inserting events (which key-share-locks the lead row) and
        updating a lead's fields never wait on them. A lock covers one stripe of leads (seq modulo
        ``STRIPES``): a batch touching 20,000 leads takes at most ``STRIPES`` locks, where one lock per lead
        would overflow the server's lock table ("out of shared memory"). Two leads of a stripe wait on
        each other, which costs only when both are written at the same moment.
        """
        stripes = sorted({seq % STRIPES for seq in seqs})
        if stripes:
            self.db.execute("SELECT pg_advisory_xact_lock(0, s) FROM unnest(%s::int[]) AS s", (stripes,))

    def lock_accounts(self, ids: Sequence[str]) -> None:
        """Holds each account (by stripe, as leads are) until the transaction ends, so two writers rolling
        up one account take turns and the second reads the first's lead totals. Taken after the lead
        locks, in order; the class (0 leads, 1 accounts) keeps the two apart."""
        stripes = sorted({zlib.crc32(i.encode()) % STRIPES for i in ids})
        if stripes:
            self.db.execute("SELECT pg_advisory_xact_lock(1, s) FROM unnest(%s::int[]) AS s", (stripes,))

    def record_run(self, summary: RunSummary, rejects: Sequence[Reject]) -> int:
        row = self.db.execute(
            "INSERT INTO ingest_runs(kind, source, read, loaded, updated, duplicates, rejected, started_at, "
            "finished_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
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
        ).fetchone()
        assert row is not None
        run_id = int(row[0])
        with self.db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO rejects(run_id, source, line, field, reason, raw) VALUES (%s,%s,%s,%s,%s,%s)",
                [
                    (run_id, _text(r.source), r.line, _text(r.field), _text(r.reason), json.dumps(r.raw, default=str))
                    for r in rejects
                ],
            )
        return run_id
