"""A small CRM whose outcomes follow known rules: software companies and leads who asked for a demo
convert far more often. Training, scoring and reviews must find exactly that."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.outcomes import load_outcomes
from leadscore.service.project import Project
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OBSERVED_UNTIL = T0 + timedelta(days=500)
INDUSTRIES = ("software", "retail", "education")


def conversion_chance(industry: str, demo: bool) -> float:
    return 0.05 + (0.35 if industry == "software" else 0.0) + (0.4 if demo else 0.0)


def load_crm(store: Store, project: Project, leads: int = 400, seed: int = 3) -> dict[str, int]:
    """``leads`` leads created over 300 days, with page views, demo requests (within a week of creation) and
    outcomes; returns each lead's true label."""
    rng = random.Random(seed)
    records, events, outcomes, labels = [], [], [], {}
    for i in range(leads):
        lead_id = f"L{i:04d}"
        created = T0 + timedelta(days=300 * i / leads)
        industry = rng.choice(INDUSTRIES)
        records.append(LeadRecord(lead_id, f"p{i}@co{i % 50}.io", {"industry": industry, "title": "Manager"},
                                  created_at=created))  # fmt: skip
        for k in range(rng.randint(0, 4)):
            at = created + timedelta(days=rng.uniform(0, 6))
            seconds = rng.randint(5, 600)
            properties = {"url": "/blog", "seconds": seconds}
            events.append(EventRecord(f"v{i}-{k}", "page_view", at, lead_id=lead_id, properties=properties))
        demo = rng.random() < 0.3
        if demo:
            at = created + timedelta(days=rng.uniform(0, 6))
            events.append(EventRecord(f"d{i}", "form_submit", at, lead_id=lead_id, properties={"form": "demo"}))
        converted = rng.random() < conversion_chance(industry, demo)
        labels[lead_id] = int(converted)
        if converted:
            outcomes.append(OutcomeRecord(lead_id, None, "converted", created + timedelta(days=rng.uniform(20, 60)),
                                          "crm", i + 1))  # fmt: skip
    scorer = Scorer(store, project.models)
    now = OBSERVED_UNTIL
    ingest_leads(store, scorer, records, as_of=now, now=now, source="crm")
    ingest_events(store, scorer, events, as_of=now, now=now, source="web")
    load_outcomes(store, outcomes, now=now, source="crm")
    return labels
