"""Scoring on ingest (incremental, cached states) must equal a full rescore with the reference engine."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from leadscore.engine.scoring import score
from leadscore.ingest.records import EventRecord, LeadRecord, Reject
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.project import Project
from leadscore.service.rescore import rescore
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 2, tzinfo=UTC)

TYPES = [
    ("form_submit", {"form": "demo"}),
    ("form_submit", {"form": "newsletter"}),
    ("page_view", {"url": "https://acme.io/pricing"}),
    ("page_view", {"url": "https://acme.io/careers"}),
    ("email_open", {}),
    ("email_click", {}),
    ("unsubscribe", {}),
    ("content_download", {"asset_type": "ebook"}),
]


def _leads() -> list[LeadRecord]:
    return [
        LeadRecord(
            "L1", "ana@acme.io", {"title": "VP Marketing", "industry": "Software", "company_size": 50, "country": "US"}
        ),
        LeadRecord("L2", "bob@gmail.com", {"title": "Student"}),
        LeadRecord("L3", "cy@acme.io", {"title": "Director of Sales", "country": "US"}),
    ]


def _events(seed: int, n: int) -> list[EventRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind, props = rng.choice(TYPES)
        at = AS_OF - timedelta(days=rng.uniform(0, 200))
        lead = rng.choice(["L1", "L2", "L3"])
        out.append(EventRecord(f"e{i}", kind, at, lead_id=lead, properties=dict(props)))
    return out


def test_incremental_equals_rescore(project: Project, store: Store) -> None:
    scorer = Scorer(store, project.models, capacity=2)  # tiny cache: states are rebuilt from the store
    ingest_leads(store, scorer, _leads(), as_of=AS_OF, now=NOW, source="leads")
    events = _events(1, 300)
    rng = random.Random(2)
    rng.shuffle(events)
    for start in range(0, len(events), 37):
        ingest_events(store, scorer, events[start : start + 37], as_of=AS_OF, now=NOW, source="events", batch_size=11)
    key = project.models[0].model.key
    incremental = {s.lead_id: (s.total_cents, s.tier, s.stage, s.contributions) for s in store.iter_scores([key])}
    report = rescore(store, project.models, as_of=AS_OF, now=NOW)
    assert report.leads == 3 and report.events == 300
    assert report.changed == 0  # nothing to change: scoring on ingest was already exact
    full = {s.lead_id: (s.total_cents, s.tier, s.stage, s.contributions) for s in store.iter_scores([key])}
    assert incremental == full
    # And both equal the reference engine called directly.
    leads = store.load_leads([1, 2, 3])
    stored_events = store.load_events([1, 2, 3])
    for seq, lead in leads.items():
        expected = score(project.models[0].compiled, lead, stored_events[seq], AS_OF)
        assert full[lead.id][0] == int(expected.total * 100)


def test_ingest_is_idempotent_and_accounts_for_every_row(project: Project, store: Store) -> None:
    scorer = Scorer(store, project.models)
    ingest_leads(store, scorer, _leads(), as_of=AS_OF, now=NOW, source="leads")
    events = _events(3, 50)
    bad = Reject("events.csv", 7, "expected an ISO-8601 time", "occurred_at", {"occurred_at": "yesterday"})
    first = ingest_events(store, scorer, [*events, bad], as_of=AS_OF, now=NOW, source="events")
    assert (first.read, first.loaded, first.duplicates, first.rejected) == (51, 50, 0, 1)
    history_rows = store.count("score_history")
    second = ingest_events(store, scorer, events, as_of=AS_OF, now=NOW, source="events")
    assert (second.read, second.loaded, second.duplicates, second.rejected) == (50, 0, 50, 0)
    assert store.count("events") == 50
    assert store.count("score_history") == history_rows
    assert store.count("rejects") == 1


def test_unknown_email_creates_the_lead_and_crm_id_is_adopted_later(project: Project, store: Store) -> None:
    scorer = Scorer(store, project.models)
    event = EventRecord(
        "x1", "form_submit", AS_OF - timedelta(hours=1), email="new@startup.io", properties={"form": "demo"}
    )
    report = ingest_events(store, scorer, [event], as_of=AS_OF, now=NOW, source="events")
    assert report.loaded == 1
    seq = store.find_lead("new@startup.io")
    assert seq is not None
    ingest_leads(
        store, scorer, [LeadRecord("CRM-9", "new@startup.io", {"title": "CEO"})], as_of=AS_OF, now=NOW, source="crm"
    )
    assert store.find_lead("CRM-9") == seq
    (current,) = store.scores_for_lead(seq)
    rules = {c["rule"] for c in current.contributions}
    assert {"demo_request", "c_level"} <= rules


def test_stage_transitions_and_history_are_recorded(project: Project, store: Store) -> None:
    scorer = Scorer(store, project.models)
    ingest_leads(store, scorer, _leads()[:1], as_of=AS_OF, now=NOW, source="leads")
    demo = EventRecord("d1", "form_submit", AS_OF - timedelta(hours=2), lead_id="L1", properties={"form": "demo"})
    ingest_events(store, scorer, [demo], as_of=AS_OF, now=NOW, source="events")
    seq = store.find_lead("L1")
    assert seq is not None
    transitions = store.stage_transitions(seq)
    assert [(t["from_stage"], t["to_stage"]) for t in transitions] == [(None, "mql"), ("mql", "sql")]
    assert transitions[-1]["cause"] == "event:d1"
    later = datetime(2027, 3, 1, tzinfo=UTC)
    rescore(store, project.models, as_of=later, now=later)
    assert store.stage_transitions(seq)[-1]["to_stage"] == "lead"  # recycled after 90 quiet days
    assert store.score_history(seq)[0]["cause"].startswith("rescore:")
