"""Sample leads and events: deterministic, lazy, realistic in mix and spread, consistent with each other."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from itertools import islice

import pytest

from leadscore.engine.compiled import free_mail_domains
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.sample import DEFAULT_END, DEFAULT_START, lead_id, sample_events, sample_leads

N_LEADS = 2_000
N_EVENTS = 40_000


@pytest.fixture(scope="module")
def leads() -> list[LeadRecord]:
    return list(sample_leads(N_LEADS, seed=3))


@pytest.fixture(scope="module")
def events(leads: list[LeadRecord]) -> list[EventRecord]:
    return list(sample_events(leads, N_EVENTS, seed=3))


def test_the_same_seed_gives_the_same_records(leads: list[LeadRecord], events: list[EventRecord]) -> None:
    assert list(sample_leads(N_LEADS, seed=3)) == leads
    assert list(sample_events(leads, N_EVENTS, seed=3)) == events
    assert list(sample_leads(50, seed=4)) != leads[:50]
    assert [e.lead_id for e in sample_events(leads, 500, seed=4)] != [e.lead_id for e in events[:500]]


def test_generators_are_lazy() -> None:
    """A billion events would not fit in memory: taking a few must not build the rest."""
    first = list(islice(sample_events(10**7, 10**9, seed=1), 5))
    assert [event.id for event in first] == [f"evt-1-{n}" for n in range(1, 6)]
    assert len(list(islice(sample_leads(10**9, seed=1), 3))) == 3


def test_ids_are_unique_and_stable(leads: list[LeadRecord], events: list[EventRecord]) -> None:
    assert [lead.id for lead in leads] == [lead_id(i) for i in range(N_LEADS)]
    assert lead_id(0) == "lead-0000001"
    assert len({event.id for event in events}) == N_EVENTS
    assert len({lead.email for lead in leads}) == N_LEADS
    known = {lead.id for lead in leads}
    assert all(event.lead_id in known for event in events)
    # Given a count instead of records, events go to the same ids, without emails.
    by_count = list(islice(sample_events(N_LEADS, N_EVENTS, seed=3), 100))
    assert [e.lead_id for e in by_count] == [e.lead_id for e in events[:100]]
    assert all(e.email is None for e in by_count)


def test_times_are_ordered_utc_and_after_the_lead_was_created(
    leads: list[LeadRecord], events: list[EventRecord]
) -> None:
    created = {lead.id: lead.created_at for lead in leads}
    previous = DEFAULT_START
    for event in events:
        assert event.occurred_at.tzinfo is UTC
        assert previous <= event.occurred_at < DEFAULT_END
        assert created[event.lead_id] <= event.occurred_at  # type: ignore[operator]
        previous = event.occurred_at
    moments = [lead.created_at for lead in leads]
    assert moments == sorted(moments)  # type: ignore[type-var]
    assert all(DEFAULT_START <= m < DEFAULT_END for m in moments)  # type: ignore[operator]


def test_window_can_be_chosen() -> None:
    start, end = datetime(2023, 6, 1, tzinfo=UTC), datetime(2023, 6, 8, tzinfo=UTC)
    events = list(sample_events(10, 1000, seed=1, start=start, end=end))
    assert all(start <= event.occurred_at < end for event in events)
    with pytest.raises(ValueError, match="timezone-aware"):
        next(sample_events(10, 10, start=datetime(2023, 1, 1)))
    with pytest.raises(ValueError, match="start before end"):
        next(sample_events(10, 10, start=end, end=start))


def test_event_mix_is_realistic(events: list[EventRecord]) -> None:
    kinds = Counter(event.type for event in events)
    share = {kind: count / N_EVENTS for kind, count in kinds.items()}
    assert share["email_open"] + share["page_view"] > 0.7
    assert kinds.keys() >= {
        "form_submit", "page_view", "content_download", "email_open", "email_click", "webinar_signup",
        "social", "unsubscribe", "email_bounce", "spam_complaint",
    }  # fmt: skip
    demos = sum(1 for e in events if e.type == "form_submit" and e.properties["form"] == "demo")
    assert 0 < demos / N_EVENTS < 0.02
    assert 0 < share["unsubscribe"] < 0.01 and share["spam_complaint"] < share["unsubscribe"]
    pricing = sum(1 for e in events if e.type == "page_view" and e.properties["url"] == "/pricing")
    assert pricing > demos
    assert {e.properties["asset_type"] for e in events if e.type == "content_download"} >= {"ebook", "infographic"}


def test_some_leads_are_much_more_active(events: list[EventRecord]) -> None:
    per_lead = sorted(Counter(event.lead_id for event in events).values(), reverse=True)
    top = per_lead[: N_LEADS // 20]
    assert sum(top) / N_EVENTS > 0.25  # the busiest 5% of leads make over a quarter of the events
    assert per_lead[0] > 10 * per_lead[len(per_lead) // 2]


def test_leads_are_a_realistic_mix(leads: list[LeadRecord]) -> None:
    titles = " | ".join(str(lead.fields.get("title", "")) for lead in leads)
    for pattern in (r"\bVP\b", "Director", r"\b(CEO|CTO|CFO|Chief)\b", "Manager", "Student", "Intern"):
        assert re.search(pattern, titles), pattern
    free_mail = free_mail_domains()
    free = sum(1 for lead in leads if (lead.email or "").rsplit("@", 1)[1] in free_mail) / N_LEADS
    assert 0.1 < free < 0.35
    sizes = [lead.fields["company_size"] for lead in leads]
    assert any(size > 1000 for size in sizes) and any(size < 10 for size in sizes)
    with_bant = sum(1 for lead in leads if lead.fields.keys() & {"budget", "authority", "need", "timing"}) / N_LEADS
    assert 0.1 < with_bant < 0.4
    assert len({lead.fields["industry"] for lead in leads}) > 8
    assert len({lead.fields["country"] for lead in leads}) > 8
    assert len({lead.fields["company"] for lead in leads}) < N_LEADS / 2  # companies have several leads
    for lead in leads:
        assert lead.email == lead.fields["email"]
        assert {"first_name", "last_name", "company", "company_domain", "lead_source"} <= lead.fields.keys()


def test_leads_of_a_company_agree(leads: list[LeadRecord]) -> None:
    companies: dict[str, tuple[object, ...]] = {}
    for lead in leads:
        facts = tuple(lead.fields[k] for k in ("company_domain", "industry", "company_size", "country"))
        assert companies.setdefault(str(lead.fields["company"]) + str(facts[0]), facts) == facts


def test_output_is_pinned() -> None:
    """Benchmarks compare runs: a change to what a seed produces must be deliberate (update the digests)."""
    leads = list(sample_leads(500, seed=11))
    events = list(sample_events(leads, 5000, seed=11))
    lead_text = "\n".join(
        f"{lead.id}|{lead.email}|{sorted(lead.fields.items())}|{lead.created_at.isoformat()}"  # type: ignore[union-attr]
        for lead in leads
    )
    event_text = "\n".join(
        f"{e.id}|{e.type}|{e.occurred_at.isoformat()}|{e.lead_id}|{sorted(e.properties.items())}" for e in events
    )
    assert hashlib.sha256(lead_text.encode()).hexdigest() == (
        "d4de88cc223006f67fb6d5d81428024044ea82500bd1e70ec4deb8230d1c5cd9"
    )
    assert hashlib.sha256(event_text.encode()).hexdigest() == (
        "1839d52f695a0ac08036d393ba3a0a1efa5ea0c43808b1cb223c33de30a26517"
    )
