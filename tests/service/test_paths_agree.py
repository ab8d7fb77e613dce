"""Every path through the store gives the reference engine's numbers: scoring on ingest (with a warm or a
constantly evicted state cache, any batch size, any arrival order), a full rescore, and a parallel rescore."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import BACKENDS, fresh_url
from leadscore.engine.scoring import score
from leadscore.engine.types import Contribution
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.project import Project, load_project, write_project
from leadscore.service.rescore import rescore
from leadscore.service.scorer import Scorer
from leadscore.store.codec import contributions_json, encode_score
from leadscore.store.protocol import Store
from leadscore.store.url import open_store

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
KINDS = [
    ("form_submit", {"form": "demo"}),
    ("form_submit", {"form": "trial"}),
    ("page_view", {"url": "/pricing"}),
    ("page_view", {"url": "/careers"}),
    ("email_open", {}),
    ("email_click", {}),
    ("unsubscribe", {}),
    ("webinar_signup", {}),
]
LEADS = [
    LeadRecord("A", "a@acme.io", {"title": "VP Sales", "industry": "software", "company_size": 40}),
    LeadRecord("B", "b@gmail.com", {"title": "Intern"}),
    LeadRecord("C", "c@acme.io", {"title": "CEO", "country": "US"}),
]

events = st.lists(
    st.tuples(
        st.integers(0, 39),  # event number: a repeated number re-sends the same event
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, len(KINDS) - 1),
        st.integers(-200 * 24, 24),  # hours from AS_OF; some events are after it
    ),
    max_size=60,
)


def _records(drawn: list[tuple[int, str, int, int]]) -> list[EventRecord]:
    first: dict[int, EventRecord] = {}
    out = []
    for number, lead, kind, hours in drawn:
        # A re-sent id carries the same content, as a retry would.
        record = first.setdefault(
            number,
            EventRecord(f"e{number}", KINDS[kind][0], AS_OF + timedelta(hours=hours), lead_id=lead,
                        properties=dict(KINDS[kind][1])),
        )  # fmt: skip
        out.append(record)
    return out


def _snapshot(store: Store, project: Project) -> dict[tuple[str, str], tuple[object, ...]]:
    """Every stored field of each current score, as the row ``encode_score`` writes (less seq and as_of)."""
    keys = [m.model.key for m in project.models]
    return {
        (s.model, s.lead_id): (
            s.fit_cents,
            s.engagement_cents,
            s.total_cents,
            s.tier,
            s.grade,
            s.level,
            s.stage,
            s.stage_reason,
            contributions_json(Contribution(**c) for c in s.contributions),
            s.last_engagement_at,
        )
        for s in store.iter_scores(keys)
    }


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=events, batch=st.integers(1, 25), capacity=st.sampled_from([0, 5, 2_000_000]))
def test_scoring_on_ingest_and_rescoring_equal_the_reference(
    backend: str, drawn: list[tuple[int, str, int, int]], batch: int, capacity: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, fresh_url(backend, Path(folder)) as url:
        root = Path(folder)
        write_project(root, database=url)
        project = load_project(root)
        store = open_store(project.database, base=root)
        try:
            scorer = Scorer(store, project.models, capacity=capacity)
            ingest_leads(store, scorer, LEADS, as_of=AS_OF, now=AS_OF, source="leads")
            records = _records(drawn)
            ingest_events(store, scorer, records, as_of=AS_OF, now=AS_OF, source="events", batch_size=batch)
            on_ingest = _snapshot(store, project)

            compiled = project.models[0].compiled
            stored = store.load_events([1, 2, 3])
            for seq, lead in store.load_leads([1, 2, 3]).items():
                # The reference engine's Score, encoded from its Decimals, is what each path stored.
                reference = encode_score(seq, score(compiled, lead, stored[seq], AS_OF))
                assert on_ingest[(compiled.key, lead.id)] == (*reference[3:11], reference[11], reference[12])

            report = rescore(store, project.models, as_of=AS_OF, now=AS_OF)
            assert report.changed == 0
            assert _snapshot(store, project) == on_ingest
        finally:
            store.close()


def test_a_parallel_rescore_writes_what_a_single_process_writes(tmp_path: Path, store_url: str) -> None:
    from leadscore.sample import sample_events, sample_leads

    write_project(tmp_path, database=store_url)
    project = load_project(tmp_path)
    store = open_store(project.database, base=tmp_path)
    try:
        loader = Scorer(store, [])
        start, end = AS_OF - timedelta(days=120), AS_OF
        people = list(sample_leads(12_000, seed=3, start=start, end=end))
        ingest_leads(store, loader, people, as_of=AS_OF, now=AS_OF, source="sample")
        stream = sample_events(people, 30_000, seed=3, start=start, end=end)
        ingest_events(store, loader, stream, as_of=AS_OF, now=AS_OF, source="sample")
        single = rescore(store, project.models, as_of=AS_OF, now=AS_OF, workers=1)
        first = _snapshot(store, project)
        parallel = rescore(store, project.models, as_of=AS_OF, now=AS_OF, workers=2)
        assert parallel.workers == 2  # 12,000 leads make three ranges, so two processes really ran
        assert (parallel.leads, parallel.events, parallel.changed) == (single.leads, single.events, 0)
        assert _snapshot(store, project) == first
        assert len(first) == 12_000
    finally:
        store.close()
