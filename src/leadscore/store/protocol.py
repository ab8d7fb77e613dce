"""The storage contract; every backend (SQLite now, PostgreSQL next) implements it and passes one suite."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from leadscore.engine.account import AccountScore
from leadscore.engine.types import Account, Event, Lead, Score
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject
from leadscore.store.codec import ScoreRow

if TYPE_CHECKING:
    from leadscore.store.outbox import Delivery, Subscription
    from leadscore.store.score_queries import ScoreFilter

#: An event as the engine's batch path reads it: (event id, type, occurred_at µs, properties JSON).
EventRow = tuple[str, str, int, str]


@dataclass(frozen=True, slots=True)
class StoredScore:
    """A lead's current score row, as written by ``write_scores``."""

    model: str
    lead_seq: int
    lead_id: str
    email: str | None
    account_id: str | None
    as_of: int
    fit_cents: int
    engagement_cents: int
    total_cents: int
    tier: str
    grade: str
    level: str
    stage: str
    stage_reason: str
    contributions: list[dict[str, Any]]
    last_engagement_at: int | None


class ScoreChange(NamedTuple):
    """A written score whose total, tier or stage changed: what webhooks are made from."""

    model: str
    lead_seq: int
    before: tuple[int, str, str] | None  # (total cents, tier, stage); None for a lead's first score
    after: tuple[int, str, str]
    cause: str
    as_of: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    changed: int
    stage_changes: int
    changes: tuple[ScoreChange, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class RunSummary:
    kind: str
    source: str
    read: int
    loaded: int
    updated: int
    duplicates: int
    rejected: int
    started_at: int
    finished_at: int


class Store(Protocol):
    """One writer; every method that writes runs inside ``transaction()`` when the caller opens one."""

    url: str

    def close(self) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    def migrate(self) -> list[str]: ...
    def register_model(self, key: str, name: str, version: str, source: str, now_us: int) -> None: ...

    # Ingest.
    def upsert_accounts(self, records: Sequence[AccountRecord], now_us: int) -> int: ...
    def upsert_leads(self, records: Sequence[LeadRecord], now_us: int) -> tuple[list[int], int, int]: ...
    def resolve_leads(self, refs: Sequence[tuple[str | None, str | None]], now_us: int) -> list[tuple[int, str]]: ...
    def insert_events(self, events: Sequence[tuple[int, EventRecord]], now_us: int) -> list[bool]: ...
    def lock_leads(self, seqs: Sequence[int]) -> None: ...
    def record_run(self, summary: RunSummary, rejects: Sequence[Reject]) -> int: ...

    # Reads for scoring.
    def load_leads(self, seqs: Sequence[int]) -> dict[int, Lead]: ...
    def load_events(self, seqs: Sequence[int], lead_ids: Mapping[int, str] | None = ...) -> dict[int, list[Event]]: ...
    def scan(
        self,
        batch_size: int = ...,
        seqs: tuple[int, int] | None = ...,
        *,
        ids: bool = ...,
        properties_for: frozenset[str] | None = ...,
    ) -> Iterator[tuple[int, Lead, list[EventRow]]]: ...
    def seq_bounds(self) -> tuple[int, int]: ...
    def count(self, table: str) -> int: ...
    def latest_event_us(self) -> int | None: ...

    # Scores.
    def write_scores(self, items: Sequence[tuple[int, Score, str]], now_us: int) -> WriteResult: ...
    def write_score_rows(self, items: Sequence[tuple[ScoreRow, str]], now_us: int) -> WriteResult: ...
    def account_lead_totals(self, model: str, account_ids: Sequence[str]) -> dict[str, list[int]]: ...
    def load_accounts(self, ids: Sequence[str]) -> dict[str, Account]: ...
    def all_account_ids(self) -> list[str]: ...
    def write_account_scores(self, scores: Sequence[AccountScore], as_of_us: int) -> None: ...

    # Queries.
    def find_lead(self, ref: str) -> int | None: ...
    def scores_for_lead(self, seq: int) -> list[StoredScore]: ...
    def score_history(self, seq: int, limit: int = ...) -> list[dict[str, Any]]: ...
    def stage_transitions(self, seq: int) -> list[dict[str, Any]]: ...
    def top(
        self,
        model: str,
        *,
        tier: str | None = ...,
        stage: str | None = ...,
        grade: str | None = ...,
        limit: int = ...,
    ) -> list[StoredScore]: ...
    def iter_scores(self, models: Sequence[str]) -> Iterator[StoredScore]: ...
    def lead_versions(self, seqs: Sequence[int]) -> dict[int, tuple[int, int]]: ...
    def due_leads(self, model: str, now_us: int, limit: int) -> list[int]: ...
    def set_next_checks(self, model: str, checks: Sequence[tuple[int, int]]) -> None: ...
    def list_scores(
        self, where: ScoreFilter, *, sort: str = ..., after: tuple[int, int] | None = ..., limit: int = ...
    ) -> list[tuple[StoredScore, tuple[int, int]]]: ...

    # API keys (hashed; see leadscore.service.keys).
    def add_api_key(self, key_id: str, name: str, digest: str, scopes: str, now_us: int) -> None: ...
    def api_key(self, key_id: str) -> tuple[str, str, int | None] | None: ...
    def revoke_api_key(self, key_id: str, now_us: int) -> bool: ...
    def api_keys(self) -> list[tuple[str, str, str, int, int | None]]: ...

    # Webhooks: subscriptions, the outbox and the attempt log (see leadscore.service.webhooks).
    def add_webhook(self, sub: Subscription, now_us: int) -> None: ...
    def remove_webhook(self, webhook_id: str, now_us: int) -> bool: ...
    def webhooks(self) -> list[Subscription]: ...
    def lead_refs(self, seqs: Sequence[int]) -> dict[int, tuple[str, str | None, str | None]]: ...
    def add_deliveries(self, rows: Sequence[tuple[str, str, str, str, int]]) -> None: ...
    def claim_deliveries(self, now_us: int, lease_us: int, limit: int) -> list[Delivery]: ...
    def finish_delivery(
        self,
        delivery_id: str,
        attempt: int,
        now_us: int,
        duration_us: int,
        status_code: int | None,
        error: str | None,
        next_attempt_us: int | None,
    ) -> None: ...
    def deliveries(self, webhook_id: str, limit: int = ...) -> list[dict[str, Any]]: ...
    def outbox_counts(self) -> dict[str, int]: ...
