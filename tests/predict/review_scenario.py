"""A small synthetic CRM whose truth is known, for the backtest and review tests.

Leads are created between January and April 2026. Who converts (within 20 days of creation, else lost at
day 100) is drawn from known odds: VPs convert far more often, students less, a demo request helps a lot,
and the newsletter signup, which ``MODEL_YAML`` rewards, marks leads that convert *less*. Company size
plays no part. So a review must flag ``newsletter`` as predicting the wrong way and ``big_company`` as not
predicting.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.outcomes import load_outcomes
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF = datetime(2026, 9, 1, tzinfo=UTC)

MODEL_YAML = """\
name: scenario
version: 1
fit:
  - {name: senior, points: 30, when: {field: title, equals: vp}}
  - {name: student, points: -10, when: {field: title, equals: student}}
  - {name: big_company, points: 5, when: {field: company_size, gt: 1000}}
  - {name: newsletter, points: 15, when: {field: newsletter, equals: yes}}
engagement:
  - {name: demo, event: form_submit, where: {field: form, equals: demo}, points: 40}
  - {name: never_seen, event: webinar, points: 5}
tiers: [{name: hot, min: 50}, {name: warm, min: 20}, {name: cold}]
lifecycle:
  stages:
    - {name: lead}
    - {name: mql, when: {field: total, gte: 20}}
    - {name: sql, when: {field: total, gte: 60}}
"""

#: The same model with the newsletter rule flipped: a second version to backtest against the first.
MODEL_V2_YAML = MODEL_YAML.replace("version: 1", "version: 2").replace("points: 15", "points: -15")


@dataclass(frozen=True)
class Scenario:
    leads: list[LeadRecord]
    events: list[EventRecord]
    outcomes: list[OutcomeRecord]


def scenario(n: int = 160, seed: int = 5) -> Scenario:
    rng = random.Random(seed)
    other_forms = random.Random(seed + 1)  # its own stream: the leads and outcomes stay those of ``rng``
    leads, events, outcomes = [], [], []
    for i in range(n):
        lead_id = f"L{i:03d}"
        created = T0 + timedelta(days=rng.randrange(0, 110))
        title = rng.choices(["vp", "student", "analyst"], [0.3, 0.2, 0.5])[0]
        newsletter = rng.random() < 0.4
        fields = {"title": title, "company_size": rng.choice([50, 5000]), "newsletter": "yes" if newsletter else "no"}
        leads.append(LeadRecord(lead_id, f"{lead_id.lower()}@acme{i}.io", fields, created_at=created))
        demo = rng.random() < 0.3
        if demo:
            properties = {"form": "demo"}
            events.append(EventRecord(f"d{i}", "form_submit", created + timedelta(days=3), lead_id, None, properties))
        elif other_forms.random() < 0.5:  # a contact form says nothing: only the demo form's facet predicts
            contact = {"form": "contact"}
            events.append(EventRecord(f"c{i}", "form_submit", created + timedelta(days=2), lead_id, None, contact))
        odds = 0.2 + 0.45 * (title == "vp") - 0.15 * (title == "student") - 0.3 * newsletter + 0.3 * demo
        if rng.random() < odds:
            outcomes.append(OutcomeRecord(lead_id, None, "converted", created + timedelta(days=20)))
        else:
            outcomes.append(OutcomeRecord(lead_id, None, "lost", created + timedelta(days=100)))
    return Scenario(leads, events, outcomes)


def load(store: Store, data: Scenario) -> None:
    scorer = Scorer(store, [])
    ingest_leads(store, scorer, data.leads, as_of=AS_OF, now=AS_OF, source="leads")
    ingest_events(store, scorer, data.events, as_of=AS_OF, now=AS_OF, source="events")
    load_outcomes(store, data.outcomes, now=AS_OF, source="outcomes")


def write_files(data: Scenario, folder: Path) -> tuple[Path, Path, Path]:
    """The scenario as a lead CSV, an event JSONL and an outcome CSV, for the CLI."""
    folder.mkdir(parents=True, exist_ok=True)
    leads, events, outcomes = folder / "leads.csv", folder / "events.jsonl", folder / "outcomes.csv"
    with leads.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "email", "title", "company_size", "newsletter", "created_at"])
        for lead in data.leads:
            assert lead.created_at is not None
            f = lead.fields
            row = [lead.id, lead.email, f["title"], f["company_size"], f["newsletter"], lead.created_at.isoformat()]
            writer.writerow(row)
    lines = [
        {
            "id": e.id,
            "lead_id": e.lead_id,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "properties": e.properties,
        }
        for e in data.events
    ]
    events.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    with outcomes.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead_id", "outcome", "occurred_at"])
        for o in data.outcomes:
            assert o.occurred_at is not None
            writer.writerow([o.lead_id, o.outcome, o.occurred_at.isoformat()])
    return leads, events, outcomes
