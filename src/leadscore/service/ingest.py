"""Loading leads, accounts and events into a store, scoring on ingest, and accounting for every row."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TypeVar

from leadscore.engine.types import Event, to_micros
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import RunSummary, Store, WriteResult

T = TypeVar("T")
Progress = Callable[[int], None]


@dataclass
class IngestReport:
    """What happened to every row read: loaded, duplicate or rejected; nothing else is possible."""

    kind: str
    source: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    accounts: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)
    duplicate_lines: list[int] = field(default_factory=list)  # each duplicate's line, for per-request replies
    score_changes: int = 0
    stage_changes: int = 0
    scored: bool = True

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def take(self, batch: list[T | Reject]) -> list[T]:
        """Counts a batch as read, keeps its rejects, and returns the rows left to load."""
        self.read += len(batch)
        self.rejects.extend(r for r in batch if isinstance(r, Reject))
        return [r for r in batch if not isinstance(r, Reject)]

    def duplicate(self, line: int) -> None:
        self.duplicates += 1
        self.duplicate_lines.append(line)

    def count(self, result: WriteResult) -> None:
        self.score_changes += result.changed
        self.stage_changes += result.stage_changes


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A long load keeps many small objects alive (lead states); the default collector thresholds would
    re-scan them all every few thousand allocations. Raise them for the run, restore them after."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@_fewer_collections()
def ingest_events(
    store: Store,
    scorer: Scorer,
    rows: Iterable[EventRecord | Reject],
    *,
    as_of: datetime,
    now: datetime,
    source: str,
    batch_size: int = 50_000,
    progress: Progress | None = None,
    keep_run: bool = True,
) -> IngestReport:
    """Stores new events (by id; a re-sent id is a duplicate) and rescores the leads they touch at ``as_of``.

    One batch is one transaction, and a lead touched several times in a batch is scored and written once:
    larger batches write less history and go faster, at the cost of memory for the batch.
    """
    report = IngestReport("events", source, scored=bool(scorer.models))
    now_us = to_micros(now)
    started = now_us
    for batch in _batches(rows, batch_size):
        records = report.take(batch)
        with store.transaction():
            resolved = store.resolve_leads([(r.lead_id, r.email) for r in records], now_us)
            seqs = [seq for seq, _ in resolved]
            store.lock_leads(seqs)
            fresh = store.insert_events(list(zip(seqs, records, strict=True)), now_us)
            new_events: dict[int, list[Event]] = {}
            causes: dict[int, list[str]] = {}
            for (seq, lead_id), record, is_new in zip(resolved, records, fresh, strict=True):
                if not is_new:
                    report.duplicate(record.line)
                    continue
                report.loaded += 1
                event = Event(record.id, lead_id, record.type, record.occurred_at, record.properties)
                new_events.setdefault(seq, []).append(event)
                causes.setdefault(seq, []).append(record.id)
            report.count(scorer.apply(new_events, [], as_of, {s: _cause(ids) for s, ids in causes.items()}, now_us))
            if not keep_run:
                scorer.flush_accounts(as_of)  # one transaction (and one commit to wait for) per request
        if progress is not None:
            progress(len(batch))
    return _finish(store, scorer, report, as_of, started, now_us, keep_run)


def queue_events(
    store: Store,
    scorer: Scorer,
    rows: Iterable[EventRecord | Reject],
    *,
    as_of: datetime,
    now: datetime,
    source: str,
    batch_size: int = 50_000,
    progress: Progress | None = None,
    keep_run: bool = True,
) -> IngestReport:
    """Queues the valid events for scoring (see ``store.event_queue``): what an API acknowledgement waits for.

    An id already stored, or repeated earlier in the rows, is a duplicate and is not queued. An id sent
    again while its first copy is still queued is queued twice, and the scoring of the queue stores and
    counts it once. Same signature as ``ingest_events``, so the server's group commit takes either.
    """
    report = IngestReport("events", source, scored=False)
    now_us = to_micros(now)
    for batch in _batches(rows, batch_size):
        records, seen = [], set()
        for record in report.take(batch):
            if record.id in seen:
                report.duplicate(record.line)
            else:
                seen.add(record.id)
                records.append(record)
        with store.queue_transaction():
            known = store.queue_events(records, now_us)
        for record in records:
            if record.id in known:
                report.duplicate(record.line)
            else:
                report.loaded += 1
        if progress is not None:
            progress(len(batch))
    return _finish(store, scorer, report, as_of, now_us, now_us, keep_run)


def ingest_leads(
    store: Store,
    scorer: Scorer,
    rows: Iterable[LeadRecord | AccountRecord | Reject],
    *,
    as_of: datetime,
    now: datetime,
    source: str,
    batch_size: int = 2000,
    progress: Progress | None = None,
    keep_run: bool = True,
) -> IngestReport:
    """Upserts leads (by id, else email) and accounts, then rescores the leads whose fit may have changed."""
    report = IngestReport("leads", source, scored=bool(scorer.models))
    now_us = to_micros(now)
    for batch in _batches(rows, batch_size):
        rows_left: list[LeadRecord | AccountRecord] = report.take(batch)
        leads = [r for r in rows_left if isinstance(r, LeadRecord)]
        accounts = [r for r in rows_left if isinstance(r, AccountRecord)]
        with store.transaction():
            if accounts:
                report.accounts += store.upsert_accounts(accounts, now_us)
            seqs, created, updated = store.upsert_leads(leads, now_us)
            store.lock_leads(seqs)
            report.loaded += created
            report.updated += updated
            report.count(scorer.apply({}, sorted(set(seqs)), as_of, dict.fromkeys(seqs, f"lead:{source}"), now_us))
            if not keep_run:
                scorer.flush_accounts(as_of)
        if progress is not None:
            progress(len(batch))
    return _finish(store, scorer, report, as_of, now_us, now_us, keep_run)


def _cause(event_ids: list[str]) -> str:
    """``event:a``, or ``events:a,b,c (+N)``: the events of a batch that changed one lead."""
    if len(event_ids) == 1:
        return f"event:{event_ids[0]}"
    more = f" (+{len(event_ids) - 3})" if len(event_ids) > 3 else ""
    return f"events:{','.join(event_ids[:3])}{more}"


def _finish(
    store: Store,
    scorer: Scorer,
    report: IngestReport,
    as_of: datetime,
    started: int,
    finished: int,
    keep_run: bool,
) -> IngestReport:
    """Rolls up the accounts the run touched and records the run, with its rejects, in the store.

    Without ``keep_run`` (an API request) accounts were rolled up in each batch's transaction, and a run is
    recorded only when it has rejects to keep.
    """
    summary = RunSummary(
        report.kind,
        report.source,
        report.read,
        report.loaded,
        report.updated,
        report.duplicates,
        report.rejected,
        started,
        finished,
    )
    if keep_run or report.rejects or scorer.pending_accounts:
        with store.transaction():
            scorer.flush_accounts(as_of)
            if keep_run or report.rejects:
                store.record_run(summary, report.rejects)
    return report
