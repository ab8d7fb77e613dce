"""The scheduler re-scores only due leads, moves them across thresholds as time passes, and owes webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leadscore.engine.types import to_micros
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.service import webhooks
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.project import Project
from leadscore.service.scorer import Scorer
from leadscore.service.tick import tick
from leadscore.store.protocol import Store
from leadscore.store.url import open_store

T = datetime(2026, 11, 1, tzinfo=UTC)


def test_decay_moves_a_hot_lead_and_only_due_leads_are_read(project: Project, store: Store) -> None:
    scorer = Scorer(store, project.models)
    cto = LeadRecord("L1", "cto@acme.io", {"title": "CTO", "industry": "software", "company_size": 50, "country": "US"})
    ingest_leads(store, scorer, [cto, LeadRecord("L2", "x@acme.io", {})], as_of=T, now=T, source="t")
    demo = EventRecord("d1", "form_submit", T - timedelta(hours=1), lead_id="L1", properties={"form": "demo"})
    ingest_events(store, scorer, [demo], as_of=T, now=T, source="t")
    webhooks.subscribe(store, "http://127.0.0.1:9/hook", ["tier_changed"], None, to_micros(T))
    seq = store.find_lead("L1")
    assert seq is not None and store.scores_for_lead(seq)[0].tier == "hot"

    first = tick(store, project.models, T)  # every next check is unknown: each lead is read once
    assert (first.checked, first.changed) == (2, 0)
    assert tick(store, project.models, T + timedelta(hours=1)).checked == 0  # nothing is due yet

    later = tick(store, project.models, T + timedelta(days=20))  # the demo has decayed below hot
    assert later.checked == 1 and later.changed == 1
    current = store.scores_for_lead(seq)[0]
    assert current.tier == "warm"
    assert store.score_history(seq)[0]["cause"] == "tick"
    assert store.outbox_counts()["pending"] == 1  # tier_changed hot -> warm, owed to the subscriber


def test_a_lead_written_while_the_tick_scores_it_is_left_to_the_next_tick(
    project: Project, store: Store, store_url: str
) -> None:
    """The tick scores a batch holding no lock; an event stored for one of its leads meanwhile (by another
    process) wins, the tick writes the others, and the lead is due again next time, not again in this pass."""
    scorer = Scorer(store, project.models)
    people = [LeadRecord("L1", "cto@acme.io", {"title": "CTO"}), LeadRecord("L2", "x@acme.io", {})]
    ingest_leads(store, scorer, people, as_of=T, now=T, source="t")
    other = open_store(store_url)
    reading = store.load_events

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        demo = EventRecord("d1", "form_submit", T, lead_id="L1", properties={"form": "demo"})
        ingest_events(other, Scorer(other, project.models), [demo], as_of=T, now=T, source="elsewhere")
        store.load_events = reading  # type: ignore[method-assign]
        return reading(*args, **kwargs)

    store.load_events = meanwhile  # type: ignore[method-assign]
    try:
        report = tick(store, project.models, T + timedelta(minutes=5))
    finally:
        other.close()
    assert (report.checked, report.skipped) == (1, 1)
    one, two = store.find_lead("L1"), store.find_lead("L2")
    assert one is not None and two is not None
    assert store.score_history(one)[0]["cause"] == "event:d1"  # the tick did not overwrite it
    key = project.models[0].model.key
    assert store.due_leads(key, to_micros(T + timedelta(minutes=5)), 10) == [one]
    assert tick(store, project.models, T + timedelta(minutes=6)).checked == 1  # L1, at the next tick
    assert store.due_leads(key, to_micros(T + timedelta(minutes=6)), 10) == []
