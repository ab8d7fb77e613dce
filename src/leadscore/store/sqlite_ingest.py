"""Writing leads, accounts, events and ingest runs into SQLite."""

from __future__ import annotations

import json
from collections.abc import Sequence

import orjson

from leadscore.engine.types import to_micros
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject
from leadscore.store.common import account_of, chunks
from leadscore.store.protocol import RunSummary
from leadscore.store.sqlite_common import Connected, marks


class IngestWrites(Connected):
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
        """The lead's account (see ``account_of``), created or given the company fields it lacks."""
        found = account_of(record)
        if found is None:
            return None
        account_id, domain, company = found
        self.db.execute(
            "INSERT INTO accounts(id, domain, fields, updated_at) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "fields=json_patch(excluded.fields, accounts.fields)",
            (account_id, domain, json.dumps(company, default=str), now_us),
        )
        return account_id

    def upsert_leads(self, records: Sequence[LeadRecord], now_us: int) -> tuple[list[int], int, int]:
        """Upserts by id, else by email; returns the touched lead seqs, and the created and updated counts.

        A record with an id matches the lead with that id, or else a lead that an event created for its
        email (which then takes the CRM's id). Two CRM leads with different ids stay two leads even when they
        share an email (Salesforce allows it; leadforge makes them); an event by email goes to the first.
        """
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
                    "SELECT seq, auto_created FROM leads WHERE email=? AND (? IS NULL OR auto_created=1) "
                    "ORDER BY seq LIMIT 1",
                    (record.email, record.id),
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

    def resolve_leads(self, refs: Sequence[tuple[str | None, str | None]], now_us: int) -> list[tuple[int, str]]:
        """(seq, lead id) for (lead id, email) pairs; an unknown lead is created, flagged as auto-created."""
        by_id: dict[str, tuple[int, str]] = {}
        by_email: dict[str, tuple[int, str]] = {}
        ids = sorted({i for i, _ in refs if i})
        emails = sorted({e for _, e in refs if e})
        for chunk in chunks(ids):
            for lead_id, seq in self.db.execute(f"SELECT id, seq FROM leads WHERE id IN ({marks(len(chunk))})", chunk):
                by_id[lead_id] = (seq, lead_id)
        for chunk in chunks(emails):
            # Highest seq first, so that the first lead with an email is the one that stays in the dict.
            sql = f"SELECT email, seq, id FROM leads WHERE email IN ({marks(len(chunk))}) ORDER BY seq DESC"
            for email, seq, lead_id in self.db.execute(sql, chunk):
                by_email[email] = (seq, lead_id)
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
                cursor = self.db.execute(
                    "INSERT INTO leads(id, email, account_id, fields, auto_created, updated_at) VALUES (?,?,?,?,1,?)",
                    (new_id, email, account_id, json.dumps(record.fields), now_us),
                )
                assert cursor.lastrowid is not None
                found = (cursor.lastrowid, new_id)
                if lead_id:
                    by_id[lead_id] = found
                if email:
                    by_email[email] = found
            resolved.append(found)
        return resolved

    def insert_events(self, events: Sequence[tuple[int, EventRecord]], now_us: int) -> list[bool]:
        """Stores new events; a known event id is left as it was. Returns, per event, whether it was new."""
        known: set[str] = set()
        ids = [record.id for _, record in events]
        for chunk in chunks(ids):
            known.update(
                r[0] for r in self.db.execute(f"SELECT id FROM events WHERE id IN ({marks(len(chunk))})", chunk)
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
                        orjson.dumps(record.properties, default=str, option=orjson.OPT_NON_STR_KEYS).decode(),
                        now_us,
                    )
                )
        self.db.executemany(
            "INSERT INTO events(id, lead_seq, type, occurred_at, properties, received_at) VALUES (?,?,?,?,?,?)", rows
        )
        return fresh

    def lock_leads(self, seqs: Sequence[int]) -> None:
        """Nothing to do: a write transaction (``BEGIN IMMEDIATE``) already excludes every other writer."""

    def lock_accounts(self, ids: Sequence[str]) -> None:
        """Nothing to do: a write transaction (``BEGIN IMMEDIATE``) already excludes every other writer."""

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
