"""What the HTTP API calls: ingest and reads on one store, for one server process.

A process holds one store connection and uses it under a lock (SQLite has one writer anyway; PostgreSQL
gets its concurrency from several processes). Scoring reads each touched lead's events from the store
after ``lock_leads``, with no state cached between requests, so two processes writing the same lead give
what applying their requests one after the other gives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from leadscore.engine.types import to_micros
from leadscore.ingest.events import read_event_object
from leadscore.ingest.leads import LeadMapper
from leadscore.ingest.mapping import column_key, load_preset
from leadscore.ingest.records import EventRecord, LeadRecord, Reject
from leadscore.ingest.segment import SegmentError
from leadscore.service.ingest import IngestReport, ingest_events, ingest_leads
from leadscore.service.project import LoadedModel
from leadscore.service.scorer import Scorer
from leadscore.service.versions import resolve, scoring_versions
from leadscore.store.protocol import Store

T = TypeVar("T")
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
    ) -> None:
        """Scores with the active model versions; ``project_models`` seed the names that have none."""
        self.store = store
        self.project_models = list(project_models)
        self.models = resolve(store, project_models, to_micros(datetime.now(UTC)))
        self.generation = store.model_generation()
        self.lock = threading.Lock()  # the store's connection: one request (group) or read at a time
        self.queue_lock = threading.Lock()
        self.queue: list[_Request] = []
        self.on_commit = on_commit  # wakes the webhook sender once a write is committed
        # Lead states stay warm between requests, checked against the store under each lead's lock.
        self.scorer = Scorer(store, self.models, capacity=state_cache, shared=True)
        self._lead_mapper = LeadMapper(load_preset("canonical"), "request")

    def run(self, action: Callable[[Store], T]) -> T:
        with self.lock:
            return action(self.store)

    def current_models(self) -> list[LoadedModel]:
        """The active versions, reloaded if another process (or request) has activated one since."""
        with self.lock:
            self._refresh()
            return self.models

    def _refresh(self, lock: bool = False) -> None:
        generation = self.store.model_generation(lock)
        if generation != self.generation:
            self.models = scoring_versions(self.store, self.project_models)
            self.scorer = Scorer(self.store, self.models, capacity=self.scorer.capacity, shared=True)
            self.generation = generation

    def ingest_events(self, items: Sequence[Any], now: datetime, prepare: Prepare | None = None) -> BatchOutcome:
        """Stores the valid events (a re-sent id changes nothing) and scores their leads at ``now``.

        ``prepare`` turns each item into an event object first (a Segment call, say)."""
        rows: list[EventRecord | Reject] = []
        for index, item in enumerate(_prepared(items, prepare)):
            rows.append(item if isinstance(item, Reject) else read_event_object(item, index, "request"))
        return self._ingest(ingest_events, rows, now)

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
        with self.lock:
            if not request.done:
                self._run_group(load)
        if request.error is not None:
            raise request.error
        if self.on_commit is not None:
            self.on_commit()
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
        try:
            with self.store.transaction():
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
            self.scorer = Scorer(self.store, self.models, capacity=self.scorer.capacity, shared=True)
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
