"""The scheduler: re-scores the leads whose labels decay or inactivity may have changed by now, with no
new event, and fires the same webhooks as any other score change.

Each written score gets a next check time (``engine.next_change``): the moment its tier, grade, level or
stage next changes if nothing happens. A tick reads only the leads that are due, or whose score was written
since (their next check is unknown), so it does not rescan everyone. The first tick on a store computes
every lead's next check once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from leadscore.engine.next_change import next_change
from leadscore.engine.scoring import assemble_cents, fit_part, occurrences_of
from leadscore.engine.types import to_micros
from leadscore.service.project import LoadedModel
from leadscore.service.scorer import Scorer
from leadscore.service.webhooks import enqueue
from leadscore.store.codec import encode_cents
from leadscore.store.protocol import Store


@dataclass
class TickReport:
    checked: int = 0
    changed: int = 0
    stage_changes: int = 0


def tick(
    store: Store, models: Sequence[LoadedModel], now: datetime, batch: int = 100, pause_s: float = 0.0
) -> TickReport:
    """Re-scores every due lead at ``now`` under every model, and sets each one's next check.

    Scores are written in a short transaction under the leads' locks. The next check times, which cost
    about 35 scorings a lead, are worked out after it commits, holding no lock, and written only to the
    scores that are still the ones this tick wrote (a write in between leaves its next check unknown, so
    the next tick looks again). On SQLite, where a transaction holds the one write lock, that keeps ingest
    waiting milliseconds, not a second.

    ``pause_s`` is a rest between batches: SQLite's waiting writers in other processes poll for the lock,
    and a loop that starts its next transaction at once can starve them past their busy timeout."""
    now_us = to_micros(now)
    report = TickReport()
    rollups = Scorer(store, models)
    for loaded in models:
        compiled, key = loaded.compiled, loaded.model.key
        while seqs := store.due_leads(key, now_us, batch):
            scored = []
            with store.transaction():
                store.lock_leads(seqs)
                leads = store.load_leads(seqs)
                events = store.load_events(seqs, {seq: lead.id for seq, lead in leads.items()})
                rows = []
                for seq in seqs:
                    lead = leads[seq]
                    occurrences = occurrences_of(compiled, events[seq])
                    fit = fit_part(compiled, lead)
                    score = assemble_cents(compiled, lead, occurrences, now_us, fit=fit)
                    rows.append((encode_cents(key, seq, now_us, score), "tick"))
                    scored.append((seq, lead, occurrences, fit))
                result = store.write_score_rows(rows, now_us)
                enqueue(store, result.changes, now_us)
                accounts = {account.id for c in result.changes if (account := leads[c.lead_seq].account) is not None}
                rollups.roll_up(loaded, sorted(accounts), now)
            checks = [(seq, next_change(compiled, lead, occ, now_us, fit)) for seq, lead, occ, fit in scored]
            with store.transaction():
                store.set_next_checks(key, checks, written_at=now_us)
            if pause_s:
                time.sleep(pause_s)
            report.checked += len(seqs)
            report.changed += result.changed
            report.stage_changes += result.stage_changes
    return report
