"""A small CRM whose outcomes follow known odds, for the suggested scorecard's store and CLI tests.

Software companies convert far more often, each demo request raises the odds up to three, and leads of
enterprise accounts convert more; page views and the lead's favourite colour play no part. Each lead
requests demos and views pages in its first 40 days, and converts 50 to 90 days after creation or is lost
on day 120, so a snapshot 45 days after creation has a known label, and its events fall in each of the 7,
30 and 90-day windows before it.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.outcomes import load_outcomes
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OBSERVED_UNTIL = T0 + timedelta(days=400)
SNAPSHOT_DAYS = 45
ACCOUNTS = 40


def load_crm(store: Store, leads: int = 600, seed: int = 5, forms: bool = False, recency: bool = False) -> int:
    """Loads ``leads`` leads with their accounts, events and outcomes; returns how many converted. With
    ``forms``, leads also submit forms, and each demo form (not a newsletter one) raises the odds up to two:
    the signal is in an event property, which a count per type blurs. With ``recency``, the odds fall with
    every day between the lead's last event and the snapshot (from its creation, with no events), which no
    count over 7, 30 or 90 days says."""
    rng = random.Random(seed)
    form_rng = random.Random(seed + 1)
    records: list[LeadRecord | AccountRecord] = [
        AccountRecord(f"A{i}", {"plan": "enterprise" if i % 3 == 0 else "smb"}) for i in range(ACCOUNTS)
    ]
    events: list[EventRecord] = []
    outcomes: list[OutcomeRecord] = []
    converted = 0
    for i in range(leads):
        lead_id = f"L{i:04d}"
        created = T0 + timedelta(days=200 * i / leads)
        account = rng.randrange(ACCOUNTS)
        fields = {"colour": rng.choice(("red", "green", "blue")), "company_size": rng.randint(1, 5000)}
        industry = rng.choice(("software", "retail", "education", None))
        if industry is not None:
            fields["industry"] = industry
        records.append(LeadRecord(lead_id, f"p{i}@co{i}.io", fields, created_at=created, account_id=f"A{account}"))
        demos = rng.choice((0, 0, 0, 1, 2, 3, 4))
        for k in range(demos):
            at = created + timedelta(days=rng.uniform(0, 40))
            events.append(EventRecord(f"d{i}-{k}", "demo_request", at, lead_id=lead_id))
        for k in range(rng.randint(0, 5)):
            at = created + timedelta(days=rng.uniform(0, 40))
            events.append(EventRecord(f"v{i}-{k}", "page_view", at, lead_id=lead_id, properties={"url": "/blog"}))
        demo_forms = _forms(events, form_rng, lead_id, created) if forms else 0
        logit = -2.2 + 1.5 * (industry == "software") + 0.6 * min(demos, 3) + 0.8 * (account % 3 == 0)
        logit += 0.9 * min(demo_forms, 2)
        if recency:
            mine = [e.occurred_at for e in events if e.lead_id == lead_id]
            quiet = created + timedelta(days=SNAPSHOT_DAYS) - max(mine, default=created)
            logit += 1.5 - 0.12 * quiet.total_seconds() / 86_400
        if rng.random() < 1 / (1 + math.exp(-logit)):
            converted += 1
            outcomes.append(OutcomeRecord(lead_id, None, "converted", created + timedelta(days=rng.uniform(50, 90))))
        else:
            outcomes.append(OutcomeRecord(lead_id, None, "lost", created + timedelta(days=120)))
    scorer = Scorer(store, [])
    ingest_leads(store, scorer, records, as_of=OBSERVED_UNTIL, now=OBSERVED_UNTIL, source="crm")
    ingest_events(store, scorer, events, as_of=OBSERVED_UNTIL, now=OBSERVED_UNTIL, source="web")
    load_outcomes(store, outcomes, now=OBSERVED_UNTIL, source="crm")
    return converted


def _forms(events: list[EventRecord], rng: random.Random, lead_id: str, created: datetime) -> int:
    """Form submissions with a ``form`` (mostly newsletter or demo, now and then "Demo" or "2024", which no
    case-sensitive test on "demo" may count), a boolean ``gated``, the form again under a dotted key and a
    number of seconds; returns how many were demo forms."""
    demos = 0
    for k in range(rng.choice((0, 1, 1, 2, 3))):
        form = rng.choices(("newsletter", "demo", "Demo", "2024"), weights=(60, 35, 3, 2))[0]
        demos += form == "demo"
        at = created + timedelta(days=rng.uniform(0, 40))
        # A key with a dot and a number: columns of theirs that no rule can say exactly must be left out.
        source = "ads" if form == "demo" and k == 0 else "mail"
        seconds = 60 if form == "demo" else 5
        properties = {"form": form, "gated": rng.random() < 0.5, "utm.source": source, "seconds": seconds}
        events.append(EventRecord(f"f{lead_id}-{k}", "form_submit", at, lead_id=lead_id, properties=properties))
    return demos
