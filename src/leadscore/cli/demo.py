"""``leadscore demo``: realistic sample data, scored, with the hot leads and why they are hot."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.context import console, parse_moment, user_errors
from leadscore.cli.render import contributions_table, ingest_summary, top_table
from leadscore.service.project import load_project
from leadscore.store.url import open_store


@user_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Project folder to create for the demo.")] = Path(
        "leadscore-demo"
    ),
    leads: Annotated[int, typer.Option(min=50, help="How many leads leadforge simulates.")] = 1000,
    seed: Annotated[int, typer.Option(help="Simulation seed; the same seed gives the same data.")] = 42,
) -> None:
    """Simulate a B2B SaaS CRM with leadforge, score it with the example model, and show the hot leads."""
    from leadscore.ingest.leadforge import generate_bundle
    from leadscore.service.leadforge_import import import_bundle
    from leadscore.service.project import write_project

    write_project(directory)
    bundle = directory / "bundle"
    started = time.perf_counter()
    if not (bundle / "manifest.json").exists():
        console.print(f"simulating {leads} leads with leadforge (seed {seed}) into {bundle} ...")
        generate_bundle(bundle, n_leads=leads, seed=seed)
    project = load_project(directory)
    store = open_store(project.database, base=project.root)
    try:
        reports = import_bundle(store, project.models, bundle, as_of=None, now=parse_moment(None))
        for report in reports:
            console.print(ingest_summary(report))
        key = project.models[0].model.key
        hot = store.top(key, tier="hot", limit=10)
        rows = hot or store.top(key, limit=10)
        title = f"{'hot' if hot else 'top'} leads · {key}"
        console.print(top_table(rows, title))
        if rows:
            best = store.scores_for_lead(rows[0].lead_seq)
            console.print(f"why {rows[0].lead_id} is {rows[0].tier}:")
            for score in best:
                console.print(contributions_table(score))
    finally:
        store.close()
    console.print(
        f"done in {time.perf_counter() - started:.1f} s. Explore: leadscore -p {directory} top --tier warm, "
        f"leadscore -p {directory} explain LEAD, leadscore -p {directory} export -o scores.csv"
    )
