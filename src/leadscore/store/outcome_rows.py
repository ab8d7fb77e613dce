"""Outcomes as stored, and the reads that training data needs besides scans. An outcome row is unique by
its id (``OutcomeRecord.id``), so that loading a file twice stores each outcome once. The same SQL serves
both backends; only the placeholder differs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadscore.store.common import chunks


class OutcomeRows:
    db: Any
    _mark: str

    def find_leads(self, refs: Sequence[tuple[str | None, str | None]]) -> list[int | None]:
        """Each (lead id, email) as a lead seq, by id and else by email, or None: nothing is created."""
        m = self._mark
        ids = sorted({i for i, _ in refs if i})
        emails = sorted({e for _, e in refs if e})
        by_id: dict[str, int] = {}
        by_email: dict[str, int] = {}
        for part in chunks(ids):
            rows = self.db.execute(f"SELECT id, seq FROM leads WHERE id IN ({','.join([m] * len(part))})", list(part))
            by_id.update({r[0]: int(r[1]) for r in rows.fetchall()})
        for part in chunks(emails):
            rows = self.db.execute(
                f"SELECT email, min(seq) FROM leads WHERE email IN ({','.join([m] * len(part))}) GROUP BY email",
                list(part),
            )
            by_email.update({r[0]: int(r[1]) for r in rows.fetchall()})
        return [by_id.get(i or "") or by_email.get(e or "") for i, e in refs]

    def add_outcomes(self, rows: Sequence[tuple[str, int, str, int | None, str]], now_us: int) -> int:
        """(outcome id, lead seq, outcome, occurred µs or None, source) rows; returns how many were new."""
        m = self._mark
        before = self._outcome_count()
        cursor = self.db.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO outcomes(id, lead_seq, outcome, occurred_at, source, recorded_at) "
                f"VALUES ({m},{m},{m},{m},{m},{m}) ON CONFLICT (id) DO NOTHING",
                [(*row, now_us) for row in rows],
            )
        finally:
            cursor.close()
        return self._outcome_count() - before

    def outcomes(self) -> list[tuple[int, str, int | None]]:
        """(lead seq, outcome, occurred µs or None) of every stored outcome, by lead."""
        rows = self.db.execute("SELECT lead_seq, outcome, occurred_at FROM outcomes ORDER BY lead_seq, occurred_at")
        return [(int(r[0]), r[1], None if r[2] is None else int(r[2])) for r in rows.fetchall()]

    def event_types(self) -> list[str]:
        """Every event type stored, sorted."""
        return sorted(r[0] for r in self.db.execute("SELECT DISTINCT type FROM events").fetchall())

    def lead_updated_at(self) -> dict[int, int]:
        """When each lead's fields last changed (µs): later than a snapshot means they may hold later news."""
        return {int(r[0]): int(r[1]) for r in self.db.execute("SELECT seq, updated_at FROM leads").fetchall()}

    def _outcome_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM outcomes").fetchone()[0])
