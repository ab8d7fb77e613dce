"""Rescoring every lead under every model as of one moment, streamed from the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from leadscore.engine.account import score_account
from leadscore.engine.scoring import assemble, occurrences_from_rows
from leadscore.engine.types import Score, to_micros
from leadscore.service.project import LoadedModel
from leadscore.store.protocol import Store


@dataclass
class RescoreReport:
    leads: int = 0
    events: int = 0
    changed: int = 0
    stage_changes: int = 0
    accounts: int = 0


def rescore(
    store: Store,
    models: Sequence[LoadedModel],
    *,
    as_of: datetime,
    now: datetime,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> RescoreReport:
    """Recomputes each lead from its stored events with the reference engine; writes what changed.

    Memory holds one batch of leads and their events, whatever the size of the store.
    """
    report = RescoreReport()
    as_of_us = to_micros(as_of)
    now_us = to_micros(now)
    cause = f"rescore:{as_of.isoformat()}"
    for loaded in models:
        store.register_model(loaded.model.key, loaded.model.name, str(loaded.model.version), loaded.source, now_us)
    pending: dict[str, list[tuple[int, Score, str]]] = {m.model.key: [] for m in models}

    def flush() -> None:
        with store.transaction():
            for items in pending.values():
                result = store.write_scores(items, now_us)
                report.changed += result.changed
                report.stage_changes += result.stage_changes
                items.clear()

    count = 0
    for seq, lead, rows in store.scan(batch_size):
        report.leads += 1
        report.events += len(rows)
        for loaded in models:
            occurrences = occurrences_from_rows(loaded.compiled, rows)
            pending[loaded.model.key].append(
                (seq, assemble(loaded.compiled, lead, occurrences, as_of_us, as_of), cause)
            )
        count += 1
        if count % batch_size == 0:
            flush()
            if progress is not None:
                progress(batch_size)
    flush()
    if progress is not None:
        progress(count % batch_size)
    report.accounts = roll_up_all(store, models, as_of)
    return report


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
