"""The cost of a score's next check time (``engine.next_change``), which the scheduler's first tick pays
once per lead, against the baseline of scoring the same lead once, in the same run.

    python bench/next_change.py --leads 2000 --events 60000
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from leadscore.engine.next_change import next_change
from leadscore.engine.scoring import assemble_cents, fit_part, occurrences_of
from leadscore.engine.types import Event, to_micros
from leadscore.sample import sample_events, sample_leads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--events", type=int, default=60_000)
    args = parser.parse_args()
    from importlib.resources import files

    from leadscore.engine import compile_model
    from leadscore.model.loader import loads_model

    source = files("leadscore.data").joinpath("models/b2b_saas.yaml").read_text(encoding="utf-8")
    compiled = compile_model(loads_model(source, "b2b_saas.yaml"))
    now = datetime(2026, 11, 1, tzinfo=UTC)
    people = list(sample_leads(args.leads, seed=1, start=now - timedelta(days=120), end=now))
    by_lead: dict[str, list[Event]] = {}
    for record in sample_events(people, args.events, seed=2, start=now - timedelta(days=90), end=now):
        key = record.lead_id or record.email or ""
        by_lead.setdefault(key, []).append(Event(record.id, key, record.type, record.occurred_at, record.properties))
    from leadscore.engine.types import Lead

    leads = [(Lead(p.id or p.email or "", dict(p.fields)), by_lead.get(p.id or p.email or "", [])) for p in people]
    prepared = [(lead, occurrences_of(compiled, events), fit_part(compiled, lead)) for lead, events in leads]
    now_us = to_micros(now)
    started = time.perf_counter()
    for lead, occurrences, fit in prepared:
        assemble_cents(compiled, lead, occurrences, now_us, fit=fit)
    baseline = (time.perf_counter() - started) / len(prepared)
    started = time.perf_counter()
    for lead, occurrences, fit in prepared:
        next_change(compiled, lead, occurrences, now_us, fit)
    measured = (time.perf_counter() - started) / len(prepared)
    events = sum(len(e) for _, e in leads) / len(leads)
    print(f"{len(prepared):,} leads, {events:.1f} events each")
    print(f"next check time: {measured * 1000:.2f} ms a lead; one score: {baseline * 1000:.3f} ms a lead; "
          f"ratio {measured / baseline:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
