"""What the HTTP API calls: ingest and reads on one store, for one server process.

A process holds one store connection and uses it under a lock (SQLite has one writer anyway; PostgreSQL
gets its concurrency from several processes). Scoring reads each touched lead's events from the store
after ``lock_leads``, and a cached lead state is used only if it matches what is stored, so two processes
writing the same lead give what applying their requests one after the other gives.

Events are acknowledged once they are in the event queue (``store.event_queue``) and scored from it by
``drain``: in the request itself (``score_inline``, the default for an embedded app), or by the server's
scorer process, so that a request waits for one short append, not for scoring. Reads call ``catch_up``
first, which waits until every event acknowledged before the read has been scored: read-your-writes.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from leadscore.engine.types import from_micros, to_micros
from leadscore.ingest.events import read_event_object
from leadscore.ingest.leads import LeadMapper
from leadscore.ingest.mapping import column_key, load_preset
from leadscore.ingest.records import EventRecord, LeadRecord, Reject
from leadscore.ingest.segment import SegmentError
from leadscore.service.ingest import IngestReport, ingest_events, ingest_leads, queue_events
from leadscore.service.project import LoadedModel
from leadscore.service.scorer import Scorer
from leadscore.service.versions import resolve, scoring_versions
from leadscore.store.protocol import RunSummary, Store

T = TypeVar("T")
log = logging.getLogger("leadscore.scoring")
#: Events scored in one transaction when the queue is drained: larger batches score faster per event, and
#: on SQLite hold the one write lock longer.
DRAIN_BATCH = 5000
Prepare = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class BatchOutcome:
    """Per request: how many items were stored, already known, or refused, and why each refused one was."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


class LiveService:
    def __init__(
        self,
        store: Store,
        project_models: Sequence[LoadedModel],
        on_commit: Callable[[], None] | None = None,
        state_cache: int = 500_000,
        score_inline: bool = True,
        catch_up_s: float = 5.0,
    ) -> None:
        """Scores with the active model versions; ``project_models`` seed the names that have none.

        Without ``score_inline``, queued events are left to another process's ``drain`` (the server's
        scorer), and reads wait for it, up to ``catch_up_s``, before scoring what is left themselves."""
        self.store = store
        self.project_models = list(project_models)
        self.models = resolve(store, project_models, to_micros(datetime.now(UTC)))
        self.generation = store.model_generation()
        self.lock = threading.Lock()  # the store's connection: one request (group) or read at a time
        self.queue_lock = threading.Lock()
        self.queue: list[_Request] = []
        self.on_commit = on_commit  # wakes the scorer and the webhook sender once a write is committed
        self.on_queue: Callable[[], None] | None = None  # wakes the scorer alone: events were queued
        self.on_wait: Callable[[], None] | None = None  # tells the scorer a read waits for it
        self.score_inline = score_inline
        self.catch_up_s = catch_up_s
        # Lead states stay warm between requests, checked against the store under each lead's lock.
        self.scorer = Scorer(store, self.models, capacity=state_cache, shared=True)
        self._lead_mapper = LeadMapper(load_preset("canonical"), "request")

    @contextmanager
    def _held(self) -> Iterator[None]:
        """The store's connection, for this thread alone, reconnected first if the database server dropped
        it (a restart, a failover): the request that met the drop got a 503, the next one works."""
        with self.lock:
            self.store.recover()
            yield

    def run(self, action: Callable[[Store], T]) -> T:
        with self._held():
            return action(self.store)

    def current_models(self) -> list[LoadedModel]:
        """The active versions, reloaded if another process (or request) has activated one since."""
        with self._held():
            self._refresh()
            return self.models

    def _refresh(self, lock: bool = False) -> None:
        generation = self.store.model_generation(lock)
        if generation != self.generation:
            self.models = scoring_versions(self.store, self.project_models)
            self._fresh_scorer()
            self.generation = generation

    def _fresh_scorer(self) -> None:
        """Drops every cached lead state: after a failed transaction they may hold what was rolled back."""
        self.scorer = Scorer(self.store, self.models, capacity=self.scorer.capacity, shared=True)

    def ingest_events(self, items: Sequence[Any], now: datetime, prepare: Prepare | None = None) -> BatchOutcome:
        """Queues the valid events (a re-sent id changes nothing); with ``score_inline``, scores them too
        before answering.

        ``prepare`` turns each item into an event object first (a Segment call, say)."""
        rows: list[EventRecord | Reject] = []
        for index, item in enumerate(_prepared(items, prepare)):
            rows.append(item if isinstance(item, Reject) else read_event_object(item, index, "request"))
        outcome = self._ingest(queue_events, rows, now)
        if self.score_inline and outcome.accepted:
            while self.drain():
                pass
        return outcome

    def drain(self, limit: int = DRAIN_BATCH) -> int:
        """Scores up to ``limit`` queued events, oldest first, and takes them out of the queue, all in one
        transaction; returns how many it took (0: the queue is empty).

        If the batch fails, each event is tried in a transaction of its own, and one that still fails is
        kept as a reject of an ``api-queue`` run, with its reason, instead of blocking the queue."""
        with self._held():
            try:
                return self._drain(limit)
            except Exception as exc:
                if store_unavailable(exc):
                    raise  # nothing wrong with the events: the caller retries later
                self._fresh_scorer()
                log.exception("scoring a batch of queued events failed; scoring them one at a time")
            taken = 0
            for _ in range(limit):
                try:
                    done = self._drain(1)
                except Exception as exc:
                    if store_unavailable(exc):
                        raise
                    self._fresh_scorer()
                    done = self._set_aside(exc)
                if not done:
                    break
                taken += done
            return taken

    def _drain(self, limit: int) -> int:
        with self.store.transaction():
            self._refresh(lock=True)
            self.store.lock_queue()
            queued = self.store.queued_events(limit)
            if not queued:
                return 0
            # Scored as of the batch's latest acknowledgement, the time its requests said they happened,
            # not the moment this scorer got to them, which could be much later after a restart.
            as_of = from_micros(max(q.queued_at for q in queued))
            ingest_events(
                self.store,
                self.scorer,
                [q.record for q in queued],
                as_of=as_of,
                now=as_of,
                source="api",
                batch_size=len(queued),
                keep_run=False,
            )
            self.store.unqueue([q.id for q in queued])
        if self.on_commit is not None:
            self.on_commit()
        return len(queued)

    def _set_aside(self, error: Exception) -> int:
        """Moves the oldest queued event, which cannot be scored, to the rejects; returns 1 if there was one."""
        now_us = to_micros(datetime.now(UTC))
        with self.store.transaction():
            self.store.lock_queue()
            queued = self.store.queued_events(1)
            if not queued:
                return 0
            qid, record, _ = queued[0]
            reason = f"could not be scored: {type(error).__name__}: {error}"
            raw = {"id": record.id, "type": record.type, "lead_id": record.lead_id, "email": record.email}
            summary = RunSummary("events", "api-queue", 1, 0, 0, 0, 1, now_us, now_us)
            self.store.record_run(summary, [Reject("api-queue", qid, reason, raw=raw)])
            self.store.unqueue([qid])
        log.error("queued event %r set aside as a reject: %s", record.id, reason)
        return 1

    def catch_up(self) -> None:
        """Returns once every event acknowledged before the call is scored (read-your-writes).

        Another process scores the queue when ``score_inline`` is off: this waits for it, polling, and
        after ``catch_up_s`` (that process is gone, or far behind) scores what is left itself."""
        with self._held():
            bounds = self.store.queue_bounds()
        if bounds is None:
            return
        head = bounds[1]
        if self.on_wait is not None:
            self.on_wait()
        deadline = time.monotonic() + (0.0 if self.score_inline else self.catch_up_s)
        pause = 0.001
        while True:
            with self._held():
                bounds = self.store.queue_bounds()
            if bounds is None or bounds[0] > head:
                return
            if time.monotonic() >= deadline:
                self.drain()
                continue
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def upsert_leads(self, items: Sequence[Any], now: datetime, prepare: Prepare | None = None) -> BatchOutcome:
        """Upserts the valid leads (by id, else email) and rescores them at ``now``."""
        rows: list[LeadRecord | Reject] = []
        for index, item in enumerate(_prepared(items, prepare)):
            if isinstance(item, Reject):
                rows.append(item)
            else:
                rows.append(self._lead_mapper.read({column_key(k): (k, v) for k, v in item.items()}, index, item))
        return self._ingest(ingest_leads, rows, now)

    def _ingest(self, load: Callable[..., IngestReport], rows: Sequence[Any], now: datetime) -> BatchOutcome:
        """One request, stored in one transaction with the requests that arrived while the previous one ran
        (group commit): a request waits at most for the transaction before its own, and 500 single events a
        second become a few dozen transactions. The reply comes after the commit that holds the request."""
        request = _Request(load, list(rows), now)
        with self.queue_lock:
            self.queue.append(request)
        with self._held():
            if not request.done:
                self._run_group(load)
        if request.error is not None:
            raise request.error
        wake = self.on_queue if load is queue_events else self.on_commit
        if wake is not None:
            wake()
        assert request.outcome is not None
        return request.outcome

    def _run_group(self, load: Callable[..., IngestReport]) -> None:
        """Stores every queued request of this kind as one batch, then answers each for its own items.

        A failed transaction fails every request in it, and their events are already folded into cached
        states: drop them all.
        """
        with self.queue_lock:
            group = [r for r in self.queue if r.load is load]
            self.queue = [r for r in self.queue if r.load is not load]
        combined: list[Any] = []
        for request in group:
            request.offset = len(combined)
            if request.offset:
                combined.extend(replace(row, line=row.line + request.offset) for row in request.rows)
            else:
                combined.extend(request.rows)  # the first request's lines are already its indexes
        now = max(r.now for r in group)
        # An append to the queue takes the queue's transaction, which on SQLite is not the store's.
        opened = self.store.queue_transaction() if load is queue_events else self.store.transaction()
        try:
            with opened:
                if load is not queue_events:
                    # The model lock, shared: an activation waits for this write, or this write for it.
                    self._refresh(lock=True)
                report = load(
                    self.store,
                    self.scorer,
                    combined,
                    as_of=now,
                    now=now,
                    source="api",
                    batch_size=len(combined) or 1,
                    keep_run=False,
                )
        except BaseException as exc:
            self._fresh_scorer()
            for request in group:
                request.error, request.done = exc, True
            return
        for request in group:
            low, high = request.offset, request.offset + len(request.rows)
            errors = [
                {"index": r.line - low, "field": r.field, "reason": r.reason}
                for r in report.rejects
                if low <= r.line < high
            ]
            duplicates = sum(1 for line in report.duplicate_lines if low <= line < high)
            request.outcome = BatchOutcome(len(request.rows) - len(errors) - duplicates, duplicates, errors)
            request.done = True


@dataclass(eq=False)
class _Request:
    """One request's items waiting for a transaction; ``offset`` is where they sit in the group's batch."""

    load: Callable[..., IngestReport]
    rows: list[Any]
    now: datetime
    offset: int = 0
    done: bool = False
    outcome: BatchOutcome | None = None
    error: BaseException | None = None


def store_unavailable(exc: BaseException) -> bool:
    """A database that cannot be used at the moment (locked past the busy timeout, a server gone), as
    opposed to a row it refuses: the first says nothing about the events being written."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    psycopg = sys.modules.get("psycopg")  # imported only if a PostgreSQL store has loaded it
    return psycopg is not None and isinstance(exc, psycopg.OperationalError)


def _prepared(items: Sequence[Any], prepare: Prepare | None) -> list[dict[str, Any] | Reject]:
    """Each item as an object to read, or the reason it is refused (with its index and field)."""
    out: list[dict[str, Any] | Reject] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            out.append(Reject("request", index, f"expected a JSON object, got {_json_type(item)}"))
            continue
        where = _nul_at(item) if _may_hold_nul(item) else None
        if where is not None:
            field = where.replace("\x00", "\\u0000") or None  # shown, and stored, without the NUL itself
            out.append(Reject("request", index, "expected text without NUL characters", field=field))
            continue
        if prepare is None:
            out.append(item)
            continue
        try:
            out.append(prepare(item))
        except SegmentError as exc:
            out.append(Reject("request", index, exc.reason, field=exc.field, raw=item))
    return out


def _may_hold_nul(item: dict[str, Any]) -> bool:
    """JSON writes a NUL only as \\u0000: one C-speed search clears almost every item (a number too large
    for orjson goes the slow way)."""
    try:
        return b"\\u0000" in orjson.dumps(item)
    except orjson.JSONEncodeError:
        return True


def _nul_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or text holding a NUL character (no database stores one), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _nul_at(inner, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for number, inner in enumerate(value):
            found = _nul_at(inner, f"{path}[{number}]")
            if found is not None:
                return found
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), type(value).__name__
    )
