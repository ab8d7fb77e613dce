"""Rescoring every lead under every model as of one moment, streamed from the store.

Leads are cut into ranges of lead seqs. Each range is scored by the reference engine, in this process or
in worker processes (``workers > 1``), and its encoded score rows come back to this process, the single
writer, which writes them range by range. Memory holds a few ranges, whatever the size of the store.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from leadscore.engine.account import score_account
from leadscore.engine.compiled import CompiledModel
from leadscore.engine.event_keys import KeyedOccurrences, scan_types
from leadscore.engine.scoring import assemble_cents
from leadscore.engine.types import to_micros
from leadscore.model.loader import loads_model
from leadscore.service.project import LoadedModel
from leadscore.service.webhooks import enqueue
from leadscore.store.codec import ScoreRow, encode_cents
from leadscore.store.protocol import Store

RANGE = 5000  # leads per range: big enough to amortise a round trip, small enough to bound memory


@dataclass
class RescoreReport:
    leads: int = 0
    events: int = 0
    changed: int = 0
    stage_changes: int = 0
    accounts: int = 0
    workers: int = 1


@dataclass(frozen=True)
class _Range:
    url: str
    models: tuple[tuple[str, str], ...]  # (file, YAML source): workers compile their own
    seqs: tuple[int, int]
    as_of: datetime


Scored = tuple[int, int, dict[str, list[ScoreRow]]]


def score_range(store: Store, compiled: Sequence[CompiledModel], seqs: tuple[int, int], as_of: datetime) -> Scored:
    """Scores the leads with seqs in ``[seqs[0], seqs[1])``; returns lead and event counts and rows per model."""
    as_of_us = to_micros(as_of)
    rows: dict[str, list[ScoreRow]] = {c.key: [] for c in compiled}
    leads = events = 0
    types, needed = scan_types(compiled)
    matchers = [KeyedOccurrences(model, types) for model in compiled]
    for seq, lead, event_rows in store.scan_keyed(seqs, types, needed):
        leads += 1
        events += len(event_rows)
        for model, matcher in zip(compiled, matchers, strict=True):
            scored = assemble_cents(model, lead, matcher.occurrences(event_rows), as_of_us)
            rows[model.key].append(encode_cents(model.key, seq, as_of_us, scored))
    return leads, events, rows


_worker_state: dict[str, tuple[Store, list[CompiledModel]]] = {}


def _score_in_worker(task: _Range) -> Scored:
    from leadscore.store.url import open_store

    key = f"{task.url}|{hash(task.models)}"
    if key not in _worker_state:
        compiled = [CompiledModel(loads_model(source, file)) for file, source in task.models]
        _worker_state[key] = (open_store(task.url), compiled)
    store, compiled = _worker_state[key]
    return score_range(store, compiled, task.seqs, task.as_of)


def _ranges(store: Store, size: int) -> list[tuple[int, int]]:
    low, high = store.seq_bounds()
    return [(start, min(start + size, high + 1)) for start in range(low, high + 1, size)] if high else []


def rescore(
    store: Store,
    models: Sequence[LoadedModel],
    *,
    as_of: datetime,
    now: datetime,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> RescoreReport:
    """Recomputes each lead from its stored events with the reference engine; writes what changed."""
    now_us = to_micros(now)
    cause = f"rescore:{as_of.isoformat()}"
    for loaded in models:
        store.register_model(loaded.model.key, loaded.model.name, str(loaded.model.version), loaded.source, now_us)
    ranges = _ranges(store, RANGE)
    workers = max(1, min(workers, len(ranges)))
    report = RescoreReport(workers=workers)
    for leads, events, rows in _scored(store, models, ranges, as_of, workers):
        report.leads += leads
        report.events += events
        with store.transaction():
            for model_rows in rows.values():
                result = store.write_score_rows([(row, cause) for row in model_rows], now_us)
                enqueue(store, result.changes, now_us)
                report.changed += result.changed
                report.stage_changes += result.stage_changes
        if progress is not None:
            progress(leads)
    report.accounts = roll_up_all(store, models, as_of)
    return report


def _scored(
    store: Store, models: Sequence[LoadedModel], ranges: list[tuple[int, int]], as_of: datetime, workers: int
) -> Iterator[Scored]:
    if workers == 1:
        compiled = [m.compiled for m in models]
        for seqs in ranges:
            yield score_range(store, compiled, seqs, as_of)
        return
    sources = tuple((str(m.path), m.source) for m in models)
    tasks = [_Range(store.url, sources, seqs, as_of) for seqs in ranges]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        # A bounded window of ranges in flight keeps memory flat however many ranges there are.
        pending: deque[Future[Scored]] = deque()
        for task in tasks:
            pending.append(pool.submit(_score_in_worker, task))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def roll_up_all(store: Store, models: Sequence[LoadedModel], as_of: datetime, chunk: int = 5000) -> int:
    ids = store.all_account_ids()
    for loaded in models:
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            totals = store.account_lead_totals(loaded.model.key, part)
            accounts = store.load_accounts(part)
            scores = [
                score_account(loaded.compiled, accounts[a], [Decimal(c).scaleb(-2) for c in totals.get(a, [])])
                for a in part
            ]
            with store.transaction():
                store.write_account_scores(scores, to_micros(as_of))
    return len(ids)
