"""Filtered, paginated lists of current scores, for the API: the same SQL on both backends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
