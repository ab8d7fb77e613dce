"""What a model version's dry run and activation cost, against the baseline of a plain full rescore
(``leadscore rescore``, one process) of the same store, in the same run.

An activation holds the model lock while it rescores, so its time is how long ingest waits.

    python bench/activation.py --leads 20000 --events 400000 [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadscore.engine.types import to_micros
from leadscore.sample import sample_events, sample_leads
from leadscore.service import versions
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.project import load_project, write_project
from leadscore.service.rescore import rescore
from leadscore.service.scorer import Scorer
from leadscore.store.url import open_store
from pg_schema import fresh_schema

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL server URL (default: SQLite in a temporary folder)"
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        url = stack.enter_context(fresh_schema(args.postgres)) if args.postgres else "sqlite:///bench.db"
        root = Path(folder)
        write_project(root, database=url)
        project = load_project(root)
        store = open_store(project.database, base=root)
        models = versions.resolve(store, project.models, to_micros(NOW))
        people = list(sample_leads(args.leads, 1, start=NOW - timedelta(days=120), end=NOW))
        loader = Scorer(store, [])
        ingest_leads(store, loader, people, as_of=NOW, now=NOW, source="bench")
        events = sample_events(people, args.events, 2, start=NOW - timedelta(days=90), end=NOW)
        ingest_events(store, loader, events, as_of=NOW, now=NOW, source="bench")
        v2 = (
            models[0]
            .source.replace("\nversion: 1\n", "\nversion: 2\n")
            .replace("- name: vp\n    points: 12\n", "- name: vp\n    points: 22\n")
        )
        versions.upload(store, v2, to_micros(NOW))

        started = time.perf_counter()
        rescore(store, models, as_of=NOW, now=NOW)
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        dry = versions.dry_run(store, "b2b_saas@2", NOW)
        dry_s = time.perf_counter() - started
        started = time.perf_counter()
        done = versions.activate(store, "b2b_saas@2", NOW + timedelta(minutes=1))
        activate_s = time.perf_counter() - started
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    leads = dry.leads
    print(f"{leads:,} leads, {dry.events:,} events, {project.database.split(':')[0]}")
    print(f"baseline, full rescore (1 process): {baseline:.2f} s, {leads / baseline:,.0f} leads/s")
    print(f"dry run (both versions scored): {dry_s:.2f} s, {leads / dry_s:,.0f} leads/s, ratio {baseline / dry_s:.2f}; "
          f"{dry.tier_changes} tier changes")  # fmt: skip
    print(f"activation (rescore + webhooks + rollup + log): {activate_s:.2f} s, {leads / activate_s:,.0f} leads/s, "
          f"ratio {baseline / activate_s:.2f}; {done.comparison.tier_changes} tier changes")  # fmt: skip
    print(f"peak memory: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
