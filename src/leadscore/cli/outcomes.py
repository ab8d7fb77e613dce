"""``leadscore outcomes load FILE`` (what became of leads) and ``leadscore dataset`` (point-in-time
training rows built from the store and those outcomes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from leadscore.cli.context import console, opened, parse_moment, user_errors
from leadscore.cli.ingest import Rejects, finish, must_exist
from leadscore.engine.types import from_micros
from leadscore.ingest.outcomes import OutcomeRecord, read_label_column, read_leadforge_outcomes, read_outcomes
from leadscore.ingest.records import Reject
from leadscore.predict.dataset import Snapshots, training_rows, without_columns, write_rows
from leadscore.predict.facets import discover
from leadscore.predict.leakage import check
from leadscore.service.outcomes import load_outcomes
from leadscore.store.protocol import Store

outcomes_app = typer.Typer(
    help="Outcomes (converted, lost, disqualified) of leads already loaded; bad rows go to a rejects file.",
    no_args_is_help=True,
)


@outcomes_app.command("load")
@user_errors
def load(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="CSV or JSONL of outcomes, a lead file with --label-column, or a leadforge bundle folder."),
    ],
    label_column: Annotated[
        str | None, typer.Option(help="Read a lead file's label column instead (X Education: Converted).")
    ] = None,
    positive: Annotated[
        list[str] | None,
        typer.Option(help="A label value meaning converted; repeat for several (1, true, yes)."),
    ] = None,
    id_column: Annotated[str | None, typer.Option(help="The lead file's id column (id, lead_id or email).")] = None,
    rejects: Rejects = None,
) -> None:
    """Store each outcome once, joined to its lead by id or email; unknown leads are rejected."""
    must_exist(file)
    with opened(ctx) as (_, store):
        rows: Iterable[OutcomeRecord | Reject]
        if file.is_dir():
            rows = read_leadforge_outcomes(file)
        elif label_column is not None:
            rows = read_label_column(file, label_column, id_column=id_column,
                                     positive=positive or ("1", "true", "yes", "converted"))  # fmt: skip
        else:
            rows = read_outcomes(file)
        report = load_outcomes(store, rows, now=parse_moment(None), source=str(file))
        both = leads_won_and_lost(store)
    finish(report, file, rejects)
    if both:
        console.print(
            f"note: {both:,} leads now hold both a conversion and a loss or disqualification; training rows count "
            "such a lead as converted when a conversion falls in the horizon (docs/predictive.md)"
        )


def leads_won_and_lost(store: Store) -> int:
    """Leads with a converted outcome beside a lost or disqualified one: a recycled lead, or two sources
    that disagree. Both are kept; a user should know."""
    seen: dict[int, set[bool]] = {}
    for seq, outcome, _ in store.outcomes():
        seen.setdefault(seq, set()).add(outcome == "converted")
    return sum(1 for kinds in seen.values() if len(kinds) == 2)


@user_errors
def dataset(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .csv or .jsonl.")],
    after_creation_days: Annotated[
        list[int] | None, typer.Option(help="Snapshot N days after each lead's creation; repeat for several.")
    ] = None,
    date: Annotated[
        list[str] | None, typer.Option(help="Snapshot every lead at this ISO-8601 date; repeatable.")
    ] = None,
    horizon_days: Annotated[float, typer.Option(min=1, help="Converted within this many days of the snapshot.")] = 90,
    as_of: Annotated[
        str | None,
        typer.Option(help="Data is complete up to this time (default: its latest timed event or outcome, else now)."),
    ] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="A column to leave out; repeatable.")] = None,
) -> None:
    """Write point-in-time training rows (features known at each snapshot, and whether the lead converted
    within the horizon after it), and warn about columns that may leak the outcome."""
    if not after_creation_days and not date:
        raise ValueError("expected --after-creation-days N or --date DATE (or both) to say when to snapshot")
    if output.suffix not in (".csv", ".jsonl"):
        raise ValueError(f"--output: expected a .csv or .jsonl file, got {output}")
    snapshots = Snapshots(tuple(after_creation_days or ()), tuple(parse_moment(d, "--date") for d in date or ()))
    with opened(ctx) as (project, store):
        until = parse_moment(as_of) if as_of else observed_until(store)
        models = [m.compiled for m in project.models]
        rows = list(training_rows(store, models, snapshots, horizon_days, until, facets=discover(store)))
    if not rows:
        raise ValueError(
            "no rows to write: no lead has a snapshot whose outcome is known. Leads with no creation time and no "
            "events have no snapshot --after-creation-days can place (use --date); also check --as-of, and that "
            "outcomes are loaded"
        )
    rows = without_columns(rows, exclude or ())
    count = write_rows(rows, output)
    positives = sum(r.label for r in rows)
    console.print(f"wrote {count} rows ({positives} converted within {horizon_days:g} days) to {output}")
    for finding in check(rows):
        console.print(Text.assemble(("leakage?", "yellow"), f" {finding.message}"))


def observed_until(store: Store) -> datetime:
    """The end of the data when ``--as-of`` is not given: its latest event or timed outcome. A lead list with
    final, untimed outcomes (a label column) has neither; all of it was known when it was loaded, so now."""
    latest = max([store.latest_event_us() or 0, *(at or 0 for _, _, at in store.outcomes())])
    if latest:
        return from_micros(latest)
    now = parse_moment(None)
    console.print(
        f"no event or outcome in the store has a time: the data is taken as complete now ({now:%Y-%m-%d %H:%M} "
        "UTC); pass --as-of to say otherwise"
    )
    return now
