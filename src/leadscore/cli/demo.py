"""``leadscore demo``: realistic sample data, scored, with the hot leads and why they are hot."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.context import console, parse_moment, user_errors, with_active_models
from leadscore.cli.render import contributions_table, ingest_summary, rescore_summary, top_table
from leadscore.service.ingest import IngestReport, ingest_events, ingest_leads
from leadscore.service.project import Project, load_project, write_project
from leadscore.service.rescore import RescoreReport, rescore
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store
from leadscore.store.url import open_store

DEMO_MARKER = ".leadscore-demo"
SAMPLE_START = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLE_END = datetime(2026, 7, 1, tzinfo=UTC)


def _sample(store: Store, project: Project, leads: int, seed: int) -> tuple[list[IngestReport], RescoreReport, float]:
    """leadscore's own generator: leads and events in the example model's vocabulary, scored as of its end."""
    from leadscore.sample import sample_events, sample_leads

    loader = Scorer(store, [])
    people = list(sample_leads(leads, seed, start=SAMPLE_START, end=SAMPLE_END))
    events = sample_events(people, leads * 20, seed, start=SAMPLE_START, end=SAMPLE_END)
    reports = [
        ingest_leads(store, loader, people, as_of=SAMPLE_END, now=SAMPLE_END, source="sample leads"),
        ingest_events(store, loader, events, as_of=SAMPLE_END, now=SAMPLE_END, source="sample events"),
    ]
    started = time.perf_counter()
    rescored = rescore(store, project.models, as_of=SAMPLE_END, now=parse_moment(None))
    return reports, rescored, time.perf_counter() - started


@user_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Project folder to create for the demo.")] = Path(
        "leadscore-demo"
    ),
    leads: Annotated[int, typer.Option(min=50, help="How many leads to simulate.")] = 2000,
    seed: Annotated[int, typer.Option(help="Simulation seed; the same seed gives the same data.")] = 42,
    leadforge: Annotated[
        bool, typer.Option("--leadforge", help="Simulate a CRM with leadforge instead of leadscore's generator.")
    ] = False,
) -> None:
    """Simulate a B2B SaaS CRM, score it with the example model, and show the hot leads and why."""
    started = time.perf_counter()
    marker = directory / DEMO_MARKER
    if (directory / "leadscore.db").exists():
        if not marker.exists():
            raise ValueError(f"{directory} holds a database that is not a demo's: pass --dir NEW_FOLDER")
        for name in (
            "leadscore.db",
            "leadscore.db-wal",
            "leadscore.db-shm",
            "leadscore.db-queue",
            "leadscore.db-queue-wal",
            "leadscore.db-queue-shm",
        ):
            (directory / name).unlink(missing_ok=True)  # our own demo: run it again from scratch
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory}: Not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by leadscore demo: running the demo again here replaces leadscore.db\n")
    write_project(directory, models=("leadforge_procurement", "b2b_saas") if leadforge else ("b2b_saas",))
    project = load_project(directory)
    store = open_store(project.database, base=project.root)
    try:
        project = with_active_models(project, store)
        if leadforge:
            from leadscore.ingest.leadforge import generate_bundle
            from leadscore.service.leadforge_import import import_bundle

            bundle = directory / "bundle"
            console.print(f"simulating {leads} leads with leadforge (seed {seed}) into {bundle} ...")
            generate_bundle(bundle, n_leads=leads, seed=seed)
            loaded = time.perf_counter()
            reports, rescored = import_bundle(store, project.models, bundle, as_of=None, now=parse_moment(None))
            seconds = time.perf_counter() - loaded
        else:
            reports, rescored, seconds = _sample(store, project, leads, seed)
        for report in reports:
            console.print(ingest_summary(report))
        console.print(rescore_summary(rescored, seconds))
        _show(store, project)
    finally:
        store.close()
    hint = f"leadscore -p {directory}"
    console.print(
        f"demo ready in {time.perf_counter() - started:.1f} s. Explore: {hint} top --tier warm · "
        f"{hint} explain LEAD · {hint} export -o scores.csv"
    )


def _show(store: Store, project: Project) -> None:
    key = project.models[0].model.key
    hot = store.top(key, tier="hot", limit=10)
    rows = hot or store.top(key, limit=10)
    console.print(top_table(rows, f"{'hot' if hot else 'top'} leads · {key}"))
    if rows:
        console.print(f"why {rows[0].lead_id} is {rows[0].tier}:")
        for score in store.scores_for_lead(rows[0].lead_seq):
            if score.model == key:
                console.print(contributions_table(score))
