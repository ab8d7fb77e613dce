"""``leadscore ingest leads|events FILE`` and ``leadscore import leadforge DIR``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from leadscore.cli.context import console, err_console, is_tty, opened, parse_moment, user_errors
from leadscore.cli.render import ingest_summary, rescore_summary
from leadscore.ingest.event_mapping import load_event_mapping
from leadscore.ingest.mapping import load_mapping
from leadscore.ingest.readers import read_events, read_leads, write_rejects
from leadscore.service.ingest import IngestReport, ingest_events, ingest_leads
from leadscore.service.scorer import Scorer

ingest_app = typer.Typer(help="Load leads or events from CSV or JSONL; bad rows go to a rejects file.")
import_app = typer.Typer(help="Import data from other tools.")

AsOf = Annotated[str | None, typer.Option(help="Score as of this time (ISO-8601; default now).")]
Rejects = Annotated[Path | None, typer.Option(help="Where to write rejected rows (default: FILE.rejects.csv).")]
Cache = Annotated[
    int,
    typer.Option(
        "--state-cache", min=0, help="Matched occurrences kept warm in memory, about 550 bytes each (2,000,000)."
    ),
]


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int], None]]:
    """Rows per second on a terminal; silent when output is redirected."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description} {task.completed:,} rows", markup=False),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True, disable=not is_tty()) as bar:
        task = bar.add_task(label, total=None)
        yield lambda n: bar.advance(task, n)


def finish(report: IngestReport, source: Path, rejects: Path | None) -> None:
    console.print(ingest_summary(report))
    if report.rejects:
        target = rejects or source.with_name(source.name + ".rejects.csv")
        write_rejects(report.rejects, target)
        kept = f"{report.rejected} rejected row{'s' if report.rejected != 1 else ''} kept in {target}"
        console.print(Text.assemble((kept, "yellow"), f"; first: {report.rejects[0]}"))


def must_exist(file: Path) -> None:
    """Checked before the store is opened, so that a typo creates no database."""
    if not file.exists():
        raise FileNotFoundError(f"{file}: cannot open: No such file or directory")


@ingest_app.command("leads")
@user_errors
def leads(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file of leads.")],
    mapping: Annotated[Path | None, typer.Option(help="Column mapping YAML (default: detect the CRM).")] = None,
    as_of: AsOf = None,
    rejects: Rejects = None,
    state_cache: Cache = 2_000_000,
) -> None:
    """Upsert leads by id or email; accounts come from the account id or the company domain."""
    column_mapping = load_mapping(mapping) if mapping is not None else None
    moment = parse_moment(as_of)
    must_exist(file)
    with opened(ctx) as (project, store), progress_bar(f"leads from {file.name}") as advance:
        scorer = Scorer(store, project.models, capacity=state_cache)
        rows = read_leads(file, column_mapping)
        report = ingest_leads(
            store, scorer, rows, as_of=moment, now=parse_moment(None), source=str(file), progress=advance
        )
    finish(report, file, rejects)


@ingest_app.command("events")
@user_errors
def events(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file of events.")],
    mapping: Annotated[
        Path | None, typer.Option(help="Event mapping YAML: role columns, property names, event type names.")
    ] = None,
    as_of: AsOf = None,
    rejects: Rejects = None,
    state_cache: Cache = 2_000_000,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per transaction; a lead gets one history row per batch (50,000).")
    ] = 50_000,
) -> None:
    """Store events once each (by event id) and rescore the leads they touch."""
    event_mapping = load_event_mapping(mapping) if mapping is not None else None
    moment = parse_moment(as_of)
    must_exist(file)
    with opened(ctx) as (project, store), progress_bar(f"events from {file.name}") as advance:
        scorer = Scorer(store, project.models, capacity=state_cache)
        report = ingest_events(
            store,
            scorer,
            read_events(file, event_mapping),
            as_of=moment,
            now=parse_moment(None),
            source=str(file),
            progress=advance,
            batch_size=batch_size,
        )
    finish(report, file, rejects)


@import_app.command("leadforge")
@user_errors
def leadforge(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="A leadforge bundle folder (leadforge generate --out DIR).")],
    as_of: AsOf = None,
    opportunities: Annotated[
        bool,
        typer.Option(
            "--opportunities",
            help="Also an opportunity_created event per opportunity, at its creation, with its estimated ACV "
            "(its stage, which is its outcome, is never read).",
        ),
    ] = False,
) -> None:
    """Import a leadforge bundle: accounts, contacts and leads become leads; touches, sessions and
    sales activities become events."""
    from leadscore.service.leadforge_import import import_bundle

    moment = parse_moment(as_of) if as_of else None
    with opened(ctx) as (project, store):
        started = time.perf_counter()
        reports, rescored = import_bundle(
            store, project.models, directory, as_of=moment, now=parse_moment(None), opportunities=opportunities
        )
        seconds = time.perf_counter() - started
    for report in reports:
        console.print(ingest_summary(report))
        if report.rejects:
            target = directory / f"{report.kind}.rejects.csv"
            write_rejects(report.rejects, target)
            console.print(
                f"{report.rejected} rejected row{'s' if report.rejected != 1 else ''} kept in {target}", style="yellow"
            )
    console.print(rescore_summary(rescored, seconds))
