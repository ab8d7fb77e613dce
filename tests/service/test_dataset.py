"""Point-in-time training rows on each backend: features from what was known at the snapshot only, labels
from outcomes within the horizon, snapshots that cannot be labelled dropped; and the leakage check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from leadscore.engine.scoring import score
from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.predict.dataset import Row, Snapshots, training_rows
from leadscore.predict.leakage import auc, check
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.outcomes import load_outcomes
from leadscore.service.project import Project
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _load(store: Store, project: Project) -> None:
    leads = [
        LeadRecord(f"L{i}", f"p{i}@acme.io", {"title": "VP Sales", "industry": "software"}, created_at=T0)
        for i in range(1, 6)
    ]
    scorer = Scorer(store, project.models)
    ingest_leads(store, scorer, leads, as_of=NOW, now=NOW, source="t")
    events = [
        EventRecord("e1", "page_view", _day(2), lead_id="L1", properties={"url": "/pricing"}),
        EventRecord("e2", "form_submit", _day(5), lead_id="L1", properties={"form": "demo"}),
        EventRecord("e3", "form_submit", _day(9), lead_id="L1", properties={"form": "demo"}),  # after day 7
        EventRecord("e4", "email_open", _day(1), lead_id="L2"),
    ]
    ingest_events(store, scorer, events, as_of=NOW, now=NOW, source="t")
    outcomes = [
        OutcomeRecord("L1", None, "converted", _day(30), "o", 1),  # within 90 days of day 7
        OutcomeRecord("L2", None, "converted", _day(200), "o", 2),  # after the horizon: a negative
        OutcomeRecord("L3", None, "lost", _day(3), "o", 3),  # closed before the snapshot: no row
    ]
    load_outcomes(store, outcomes, now=NOW, source="o")


def test_rows_use_only_what_was_known_at_the_snapshot(project: Project, store: Store) -> None:
    _load(store, project)
    compiled = project.models[0].compiled
    rows = {r.lead_id: r for r in training_rows(store, [compiled], Snapshots((7,)), 90, NOW)}
    assert sorted(rows) == ["L1", "L2", "L4", "L5"]  # L3 closed on day 3
    l1 = rows["L1"]
    assert (l1.snapshot, l1.label, l1.label_timed) == (_day(7), 1, True)
    assert l1.features["events.form_submit.7d"] == 1  # the day-9 demo request is after the snapshot
    assert l1.features["events.page_view.7d"] == 1 and l1.features["days_since_last_event"] == 2.0
    name = compiled.model.name
    assert l1.features[f"{name}.rule.demo_request.30d"] == 1
    seq = store.find_lead("L1")
    assert seq is not None
    lead = store.load_leads([seq])[seq]
    known = [e for e in store.load_events([seq])[seq] if e.occurred_at <= _day(7)]
    reference = score(compiled, lead, known, _day(7))
    assert l1.features[f"{name}.total"] == float(reference.total)
    assert l1.features[f"{name}.tier"] == reference.tier
    assert rows["L2"].label == 0  # converted on day 200, after the 90-day horizon
    # A snapshot whose horizon is not over by the data's end, with no conversion yet, has no label.
    late = {r.lead_id for r in training_rows(store, [compiled], Snapshots((7,)), 90, _day(60))}
    assert late == {"L1"}


def test_fixed_dates_and_the_leakage_check(project: Project, store: Store) -> None:
    _load(store, project)
    rows = list(training_rows(store, [project.models[0].compiled], Snapshots(dates=(_day(4),)), 90, NOW))
    assert {r.lead_id: r.label for r in rows} == {"L1": 1, "L2": 0, "L4": 0, "L5": 0}
    leaky = [
        Row(r.lead_id, r.snapshot, r.label, True, False, {**r.features, "won_flag": r.label, "row_id": n})
        for n, r in enumerate(rows * 10)
    ]
    findings = {f.column for f in check(leaky)}
    assert "won_flag" in findings and "row_id" not in findings  # an id memorises nothing out of fold
    assert any(f.column == "field.*" for f in check(rows))  # fields were loaded after day 4


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1)), min_size=2, max_size=40))
def test_auc_is_the_share_of_positive_negative_pairs_ordered_right(pairs: list[tuple[int, int]]) -> None:
    scores = [float(s) for s, _ in pairs]
    labels = [y for _, y in pairs]
    positives = [s for s, y in pairs if y]
    negatives = [s for s, y in pairs if not y]
    if not positives or not negatives:
        assert auc(scores, labels) == 0.5
        return
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    assert abs(auc(scores, labels) - wins / (len(positives) * len(negatives))) < 1e-9
