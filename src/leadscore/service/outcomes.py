"""Loading outcomes into the store: each one joined to its lead, and every row accounted for."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import islice

from leadscore.engine.types import to_micros
from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import Reject
from leadscore.service.ingest import IngestReport
from leadscore.store.protocol import RunSummary, Store

BATCH = 5000


def load_outcomes(store: Store, rows: Iterable[OutcomeRecord | Reject], *, now: datetime, source: str) -> IngestReport:
    """Stores each outcome once (by lead, outcome and time). An outcome for a lead the store does not know
    is rejected, not guessed at: load the leads first. The run and its rejects are kept in the store."""
    report = IngestReport("outcomes", source, scored=False)
    now_us = to_micros(now)
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        records: list[OutcomeRecord] = report.take(batch)
        seqs = store.find_leads([(r.lead_id, r.email) for r in records])
        keep = []
        for record, seq in zip(records, seqs, strict=True):
            if seq is None:
                who = record.lead_id or record.email
                report.rejects.append(
                    Reject(
                        record.source,
                        record.line,
                        f"no lead {who!r} in the store: load the leads first",
                        field="lead_id" if record.lead_id else "email",
                        raw=_values(record),
                    )
                )
                continue
            when = to_micros(record.occurred_at) if record.occurred_at else None
            keep.append((record.id, seq, record.outcome, when, source))
        with store.transaction():
            added = store.add_outcomes(keep, now_us)
        report.loaded += added
        report.duplicates += len(keep) - added
    summary = RunSummary(
        "outcomes", source, report.read, report.loaded, 0, report.duplicates, report.rejected, now_us, now_us
    )
    with store.transaction():
        store.record_run(summary, report.rejects)
    return report


def _values(record: OutcomeRecord) -> dict[str, str | None]:
    """A rejected outcome as read, kept so that the row can be fixed and loaded again."""
    when = record.occurred_at.isoformat() if record.occurred_at else None
    return {"lead_id": record.lead_id, "email": record.email, "outcome": record.outcome, "occurred_at": when}
