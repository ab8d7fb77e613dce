"""``leadscore outcomes load FILE``: what became of leads, for checking models against reality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.context import opened, parse_moment, user_errors
from leadscore.cli.ingest import Rejects, finish
from leadscore.ingest.outcomes import read_label_column, read_outcomes
from leadscore.service.outcomes import load_outcomes

outcomes_app = typer.Typer(
    help="Outcomes (converted, lost, disqualified) of leads already loaded; bad rows go to a rejects file.",
    no_args_is_help=True,
)


@outcomes_app.command("load")
@user_errors
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or JSONL of outcomes, or a lead file with --label-column.")],
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
    if not file.exists():
        raise FileNotFoundError(f"{file}: cannot open: No such file or directory")
    with opened(ctx) as (_, store):
        if label_column is not None:
            rows = read_label_column(file, label_column, id_column=id_column,
                                     positive=positive or ("1", "true", "yes", "converted"))  # fmt: skip
        else:
            rows = read_outcomes(file)
        report = load_outcomes(store, rows, now=parse_moment(None), source=str(file))
    finish(report, file, rejects)
