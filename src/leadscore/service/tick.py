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

from leadscore.engine.engagement import Occurrence
from leadscore.engine.next_change import next_change
from leadscore.engine.scoring import LeadPart, assemble_cents, fit_part, occurrences_of
from leadscore.engine.types import Lead, to_micros
from leadscore.service.project import LoadedModel
from leadscore.service.scorer import Scorer
from leadscore.service.webhooks import enqueue
from leadscore.store.codec import ScoreRow, encode_cents
from leadscore.store.protocol import Store


@dataclass
class TickReport:
    checked: int = 0
    skipped: int = 0  # written by ingest while the tick ran: due again at the next tick
    changed: int = 0
    stage_changes: int = 0


def tick(
    store: Store, models: Sequence[LoadedModel], now: datetime, batch: int = 100, pause_s: float = 0.0
) -> TickReport:
    """Re-scores every due lead at ``now`` under every model, and sets each one's next check.

    One pass, in order of lead: a lead whose score is written again while the tick runs (by ingest) is left
    to the next tick, so a steady stream of events cannot keep a tick going.

    Each batch is read and scored holding no lock, then written in a short transaction under the leads'
    locks, only for the leads whose stored events and fields are still those it read (``lead_versions``); a
    lead written in between is due again at the next tick. The next check times, which cost about 35
    scorings a lead, are worked out after that commits, and written only to the scores that are still the
    ones this tick wrote. The scheduler runs at a low CPU priority: had it held the leads' locks while it
    scored them, ingest would wait for a process that gets little CPU (on PostgreSQL, the scorer's drains
    stalled behind it and then caught up in bursts that held up requests for up to 300 ms; on SQLite, a
    transaction holds the one write lock).

    ``pause_s`` is a rest between batches: SQLite's waiting writers in other processes poll for the lock,
    and a loop that starts its next transaction at once can starve them past their busy timeout."""
    now_us = to_micros(now)
    report = TickReport()
    rollups = Scorer(store, models)
    for loaded in models:
        compiled, key = loaded.compiled, loaded.model.key
        after = 0
        while seqs := store.due_leads(key, now_us, batch, after=after):
            after = seqs[-1]
            read = store.lead_versions(seqs)  # first: a write after this changes what the lock finds
            leads = store.load_leads(seqs)
            events = store.load_events(seqs, {seq: lead.id for seq, lead in leads.items()})
            rows: dict[int, tuple[ScoreRow, str]] = {}
            scored: dict[int, tuple[Lead, list[list[Occurrence]], LeadPart]] = {}
            for seq in seqs:
                lead = leads[seq]
                occurrences = occurrences_of(compiled, events[seq])
                fit = fit_part(compiled, lead)
                score = assemble_cents(compiled, lead, occurrences, now_us, fit=fit)
                rows[seq] = (encode_cents(key, seq, now_us, score), "tick")
                scored[seq] = (lead, occurrences, fit)
            with store.transaction():
                store.lock_leads(seqs)
                locked = store.lead_versions(seqs)
                kept = [seq for seq in seqs if locked.get(seq) == read.get(seq)]
                result = store.write_score_rows([rows[seq] for seq in kept], now_us)
                enqueue(store, result.changes, now_us)
                accounts = {account.id for c in result.changes if (account := leads[c.lead_seq].account) is not None}
                rollups.roll_up(loaded, sorted(accounts), now)
            checks = []
            for seq in kept:
                lead, occurrences, fit = scored[seq]
                checks.append((seq, next_change(compiled, lead, occurrences, now_us, fit)))
            with store.transaction():
                store.set_next_checks(key, checks, written_at=now_us)
            if pause_s:
                time.sleep(pause_s)
            report.checked += len(kept)
            report.skipped += len(seqs) - len(kept)
            report.changed += result.changed
            report.stage_changes += result.stage_changes
    return report
