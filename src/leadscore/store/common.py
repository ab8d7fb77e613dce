"""What every backend shares: how a row becomes a Lead or a StoredScore, and which account a lead joins."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple

import orjson

from leadscore.engine.account import AccountScore
from leadscore.engine.compiled import free_mail_domains
from leadscore.engine.types import Account, Lead, from_micros
from leadscore.ingest.records import LeadRecord
from leadscore.store.codec import ScoreRow, contributions_from_json, contributions_json
from leadscore.store.protocol import ScoreChange, StoredScore, WriteResult

#: The tables ``Store.count`` answers for.
TABLES = frozenset(
    {"leads", "events", "accounts", "scores", "score_history", "stage_transitions", "rejects", "outcomes"}
)
#: Lead fields that describe the company, copied to the account the lead creates.
COMPANY_FIELDS = ("company", "industry", "company_size", "annual_revenue")
#: The columns ``stored_score`` reads, from ``scores s JOIN leads l``.
SCORE_COLUMNS = (
    "s.model, s.lead_seq, l.id, l.email, l.account_id, s.as_of, s.fit_cents, s.engagement_cents, s.total_cents, "
    "s.tier, s.grade, s.level, s.stage, s.stage_reason, s.contributions, s.last_engagement_at"
)
_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


def account_of(record: LeadRecord) -> tuple[str, str | None, dict[str, Any]] | None:
    """The lead's account as (id, domain, company fields): its account id, else its company domain, else
    its email's domain; None for a free-mail address with no company behind it."""
    company = {k: record.fields.get(k) for k in COMPANY_FIELDS}
    company = {k: v for k, v in company.items() if v not in (None, "")}
    if record.account_id:
        return record.account_id, None, company
    domain = str(record.fields.get("company_domain") or "").strip().lower() or email_domain(record.email)
    if not domain or domain in free_mail_domains():
        return None
    return f"domain:{domain}", domain, company


def lead_from_row(row: Sequence[Any], accounts: dict[str, Account]) -> Lead:
    """(id, email, account id, created µs, fields JSON) as a Lead."""
    lead_id, email, account_id, created_at, fields = row
    data = orjson.loads(fields)
    if email:
        data["email"] = email
    return Lead(
        id=lead_id,
        fields=data,
        created_at=from_micros(created_at) if created_at is not None else None,
        account=accounts.get(account_id) if account_id else None,
    )


def stored_score(row: Sequence[Any]) -> StoredScore:
    """A row of the score columns in ``StoredScore`` order, the contributions still JSON text."""
    values = list(row)
    values[14] = contributions_from_json(values[14])
    return StoredScore(*values)


class NestedTransactions:
    """``transaction()`` for a store: the outermost call opens and ends the database transaction; calls
    inside it join it. A backend says how its outermost transaction begins and ends (``_outermost``)."""

    _depth = 0

    def _outermost(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        self._depth = 1
        try:
            with self._outermost():
                yield
        finally:
            self._depth = 0


def account_score_rows(scores: Sequence[AccountScore], as_of_us: int) -> list[tuple[Any, ...]]:
    """``account_scores`` rows, in column order, for both backends."""
    return [
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
    ]


class ScoreWrites(NamedTuple):
    """The rows one ``write_score_rows`` call writes, and what it reports."""

    upserts: list[tuple[Any, ...]]
    history: list[tuple[Any, ...]]
    transitions: list[tuple[Any, ...]]
    result: WriteResult


def plan_score_writes(
    items: Sequence[tuple[ScoreRow, str]], previous: dict[int, tuple[int, str, str]], now_us: int
) -> ScoreWrites:
    """Every score is upserted; a history row is added when the total, tier or stage changed, and a stage
    transition when the stage did (or on a lead's first score)."""
    upserts, history, transitions, changes = [], [], [], []
    for row, cause in items:
        model, seq, as_of, fit, engagement, total, tier, _, _, stage, reason, _, _ = row
        upserts.append((*row, now_us))
        before = previous.get(seq)
        after = (total, tier, stage)
        if before != after:
            history.append((model, seq, as_of, fit, engagement, total, tier, stage, cause, now_us))
            changes.append(ScoreChange(model, seq, before, after, cause, as_of))
        if before is None or before[2] != stage:
            transitions.append((model, seq, before[2] if before else None, stage, as_of, reason, cause))
    return ScoreWrites(upserts, history, transitions, WriteResult(len(history), len(transitions), tuple(changes)))
