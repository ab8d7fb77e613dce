"""Reading current scores, their history and stage transitions: the same SQL on both backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from leadscore.store.codec import contributions_from_json
from leadscore.store.common import SCORE_COLUMNS, stored_score
from leadscore.store.protocol import StoredScore


@dataclass(frozen=True)
class ScoreFilter:
    model: str
    tier: str | None = None
    stage: str | None = None
    grade: str | None = None
    account_id: str | None = None
    min_cents: int | None = None
    max_cents: int | None = None


#: How a list is sorted, and the column its cursor reads: highest score first, or most recently written.
SORTS = {"score": "s.total_cents", "changed": "s.updated_at"}


class ScoreQueries:
    db: Any
    _mark: str

    def find_lead(self, ref: str) -> int | None:
        """A lead by id, else by email (an id wins; the first lead with the email)."""
        m = self._mark
        row = self.db.execute(
            f"SELECT seq FROM leads WHERE id={m} OR email={m} ORDER BY (id={m}) DESC, seq LIMIT 1",
            (ref, ref.lower(), ref),
        ).fetchone()
        return int(row[0]) if row else None

    def scores_for_lead(self, seq: int) -> list[StoredScore]:
        rows = self.db.execute(
            f"SELECT {SCORE_COLUMNS} FROM scores s JOIN leads l ON l.seq = s.lead_seq "
            f"WHERE s.lead_seq={self._mark} ORDER BY s.model",
            (seq,),
        )
        return [stored_score(r) for r in rows]

    def score_history(self, seq: int, limit: int = 50) -> list[dict[str, Any]]:
        m = self._mark
        return self._dicts(
            "SELECT model, as_of, fit_cents, engagement_cents, total_cents, tier, stage, cause, recorded_at "
            f"FROM score_history WHERE lead_seq={m} ORDER BY id DESC LIMIT {m}",
            (seq, limit),
        )

    def stage_transitions(self, seq: int) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT model, from_stage, to_stage, at, reason, cause FROM stage_transitions "
            f"WHERE lead_seq={self._mark} ORDER BY id",
            (seq,),
        )

    def account(self, account_id: str) -> dict[str, Any] | None:
        """An account's id, domain, fields and last update, or None."""
        row = self.db.execute(
            f"SELECT id, domain, fields, updated_at FROM accounts WHERE id={self._mark}", (account_id,)
        ).fetchone()
        if row is None:
            return None
        fields = orjson.loads(row[2]) if isinstance(row[2], str | bytes) else row[2]
        return {"id": row[0], "domain": row[1], "fields": fields, "updated_at": int(row[3])}

    def account_scores(self, account_id: str) -> list[dict[str, Any]]:
        """The account's rolled-up score under each model."""
        rows = self._dicts(
            "SELECT model, as_of, rollup_cents, fit_cents, total_cents, tier, lead_count, contributions "
            f"FROM account_scores WHERE account_id={self._mark} ORDER BY model",
            (account_id,),
        )
        for row in rows:
            row["contributions"] = contributions_from_json(row["contributions"])
        return rows

    def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description or []]  # both drivers' columns index like DB-API tuples
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def top(
        self,
        model: str,
        *,
        tier: str | None = None,
        stage: str | None = None,
        grade: str | None = None,
        limit: int = 20,
    ) -> list[StoredScore]:
        m = self._mark
        sql = f"SELECT {SCORE_COLUMNS} FROM scores s JOIN leads l ON l.seq = s.lead_seq WHERE s.model={m}"
        params: list[Any] = [model]
        for column, value in (("tier", tier), ("stage", stage), ("grade", grade)):
            if value is not None:
                sql += f" AND s.{column}={m}"
                params.append(value)
        sql += f" ORDER BY s.total_cents DESC, l.id LIMIT {m}"
        params.append(limit)
        return [stored_score(r) for r in self.db.execute(sql, params).fetchall()]

    def iter_scores(self, models: Sequence[str]) -> Iterator[StoredScore]:
        for model in models:
            cursor = self.db.execute(
                f"SELECT {SCORE_COLUMNS} FROM scores s JOIN leads l ON l.seq = s.lead_seq "
                f"WHERE s.model={self._mark} ORDER BY l.seq",
                (model,),
            )
            for row in cursor:
                yield stored_score(row)

    def due_leads(self, model: str, now_us: int, limit: int, after: int = 0) -> list[int]:
        """Leads whose labels may have changed by ``now`` with no event, or whose next change is unknown, in
        order of seq from above ``after`` (a tick's pass goes through them once)."""
        m = self._mark
        rows = self.db.execute(
            f"SELECT lead_seq FROM scores WHERE model={m} AND (next_check_at IS NULL OR next_check_at <= {m}) "
            f"AND lead_seq > {m} ORDER BY lead_seq LIMIT {m}",
            (model, now_us, after, limit),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def set_next_checks(self, model: str, checks: Sequence[tuple[int, int]], written_at: int | None = None) -> None:
        """(lead seq, next check µs) per lead, after its score was written; with ``written_at``, only to
        scores last written then (a score written since keeps its next check unknown)."""
        m = self._mark
        cursor = self.db.cursor()
        guard = f" AND updated_at={m}" if written_at is not None else ""
        try:
            cursor.executemany(
                f"UPDATE scores SET next_check_at={m} WHERE model={m} AND lead_seq={m}{guard}",
                [(at, model, seq, *(() if written_at is None else (written_at,))) for seq, at in checks],
            )
        finally:
            cursor.close()

    def lead_versions(self, seqs: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(stored events, fields last updated µs) per lead: what a cached lead state must match to be current."""
        m = self._mark
        out: dict[int, tuple[int, int]] = {}
        for start in range(0, len(seqs), 900):
            chunk = list(seqs[start : start + 900])
            rows = self.db.execute(
                "SELECT l.seq, l.updated_at, (SELECT count(*) FROM events e WHERE e.lead_seq = l.seq) FROM leads l "
                f"WHERE l.seq IN ({','.join([m] * len(chunk))})",
                chunk,
            ).fetchall()
            out.update({int(r[0]): (int(r[2]), int(r[1])) for r in rows})
        return out

    def list_scores(
        self, where: ScoreFilter, *, sort: str = "score", after: tuple[int, int] | None = None, limit: int = 50
    ) -> list[tuple[StoredScore, tuple[int, int]]]:
        """Scores matching ``where``, each with its cursor key; ``after`` is the last key of the page before.

        Keyset pagination: the order is (sort column descending, lead seq ascending), so a page is stable
        while scores change elsewhere and no row is read twice or skipped.
        """
        m = self._mark
        column = SORTS[sort]
        sql = f"SELECT {SCORE_COLUMNS}, {column} FROM scores s JOIN leads l ON l.seq = s.lead_seq WHERE s.model={m}"
        params: list[Any] = [where.model]
        for name, value in (("s.tier", where.tier), ("s.stage", where.stage), ("s.grade", where.grade)):
            if value is not None:
                sql += f" AND {name}={m}"
                params.append(value)
        if where.account_id is not None:
            sql += f" AND l.account_id={m}"
            params.append(where.account_id)
        if where.min_cents is not None:
            sql += f" AND s.total_cents >= {m}"
            params.append(where.min_cents)
        if where.max_cents is not None:
            sql += f" AND s.total_cents <= {m}"
            params.append(where.max_cents)
        if after is not None:
            sql += f" AND ({column} < {m} OR ({column} = {m} AND s.lead_seq > {m}))"
            params += [after[0], after[0], after[1]]
        sql += f" ORDER BY {column} DESC, s.lead_seq LIMIT {m}"
        params.append(limit)
        rows = self.db.execute(sql, params).fetchall()
        return [(stored_score(row[:-1]), (int(row[-1]), int(row[1]))) for row in rows]
