"""Loading outcomes on each backend: joined to leads by id or email, stored once, unknown leads rejected
and kept."""

from __future__ import annotations

from datetime import UTC, datetime

from leadscore.engine.types import to_micros
from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import LeadRecord, Reject
from leadscore.service.ingest import ingest_leads
from leadscore.service.outcomes import load_outcomes
from leadscore.service.project import Project
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

NOW = datetime(2026, 11, 1, tzinfo=UTC)
WON = datetime(2026, 10, 1, tzinfo=UTC)


def test_outcomes_join_leads_once_and_unknown_leads_are_rejected(project: Project, store: Store) -> None:
    leads = [LeadRecord("L1", "ann@acme.io", {}), LeadRecord("L2", "bob@acme.io", {})]
    ingest_leads(store, Scorer(store, project.models), leads, as_of=NOW, now=NOW, source="t")
    rows: list[OutcomeRecord | Reject] = [
        OutcomeRecord("L1", None, "converted", WON, "o.csv", 2),
        OutcomeRecord(None, "bob@acme.io", "lost", None, "o.csv", 3),
        OutcomeRecord("L9", None, "converted", WON, "o.csv", 4),
        Reject("o.csv", 5, "expected an outcome", field="outcome"),
        OutcomeRecord("L1", None, "converted", WON, "o.csv", 6),  # the same outcome again
    ]
    report = load_outcomes(store, rows, now=NOW, source="o.csv")
    assert (report.read, report.loaded, report.duplicates, report.rejected) == (5, 2, 1, 2)
    assert [(r.line, r.field) for r in report.rejects] == [(5, "outcome"), (4, "lead_id")]
    l1, l2 = store.find_leads([("L1", None), (None, "bob@acme.io")])
    assert l1 is not None and l2 is not None and l1 < l2  # by lead
    assert store.outcomes() == [(l1, "converted", to_micros(WON)), (l2, "lost", None)]
    assert store.count("rejects") == 2  # the run's rejects are kept in the store

    again = load_outcomes(store, rows, now=NOW, source="o.csv")
    assert (again.loaded, again.duplicates) == (0, 3)
    assert store.count("outcomes") == 2
