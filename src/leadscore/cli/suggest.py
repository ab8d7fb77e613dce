"""``leadscore suggest``: a points model learned from the outcomes, written as a model file to review,
upload and activate like any other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.text import Text

from leadscore.cli.context import console, opened, parse_moment, user_errors
from leadscore.cli.outcomes import observed_until
from leadscore.engine.compiled import CompiledModel
from leadscore.predict.dataset import Snapshots, training_rows, without_columns
from leadscore.predict.facets import discover
from leadscore.predict.funnel import row_peaks
from leadscore.predict.leakage import check
from leadscore.predict.scorecard import SQL_SHARE, Scorecard, Threshold, fit_scorecard, on_peaks
from leadscore.predict.train import MIN_PER_CLASS


@user_errors
def suggest(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file to write (.yaml).")],
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
    name: Annotated[str, typer.Option(help="The model's name.")] = "suggested",
    mql_share: Annotated[
        float | None, typer.Option(min=0, max=1, help="Share of leads to make MQLs (default 0.2).")
    ] = None,
    mql_precision: Annotated[
        float | None, typer.Option(min=0, max=1, help="Or: the share of MQLs that should convert.")
    ] = None,
    sql_share: Annotated[float, typer.Option(min=0, max=1, help="Share of leads to make SQLs.")] = SQL_SHARE,
    min_outcomes: Annotated[
        int, typer.Option(min=1, help="Fewest converted, and fewest not converted, rows to learn from.")
    ] = MIN_PER_CLASS,
) -> None:
    """Fit a points model from the outcomes: points per field value, per event count and per count of an
    event property's value (a demo form, not any form), learned from point-in-time training rows, with MQL
    and SQL thresholds; the file explains every rule's points."""
    if not after_creation_days and not date:
        raise ValueError("expected --after-creation-days N or --date DATE (or both) to say when to snapshot")
    if output.suffix not in (".yaml", ".yml"):
        raise ValueError(f"--output: expected a .yaml file, got {output}")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise ValueError(f"--name: expected letters, digits, '_', '.' or '-', got {name!r}")
    if mql_share is not None and mql_precision is not None:
        raise ValueError("expected --mql-share or --mql-precision, not both")
    snapshots = Snapshots(tuple(after_creation_days or ()), tuple(parse_moment(d, "--date") for d in date or ()))
    with opened(ctx) as (_, store):
        until = parse_moment(as_of) if as_of else observed_until(store)
        rows = list(training_rows(store, [], snapshots, horizon_days, until, facets=discover(store)))
        rows = without_columns(rows, exclude or ())
        card = fit_scorecard(
            rows,
            name=name,
            mql_share=mql_share,
            mql_precision=mql_precision,
            sql_share=sql_share,
            min_outcomes=min_outcomes,
        )
        labels = np.array([r.label for r in rows], dtype=np.int64)
        peaks = row_peaks(store, CompiledModel(card.model()), rows)
        card = on_peaks(card, peaks, labels, mql_share=mql_share, mql_precision=mql_precision, sql_share=sql_share)
    output.write_text(card.to_yaml(), encoding="utf-8")
    console.print(summary(card, output))
    for finding in check(rows):
        console.print(Text.assemble(("leakage?", "yellow"), f" {finding.message}"))


def summary(card: Scorecard, output: Path) -> str:
    fit = sum(1 for r in card.rules if not r.candidate.is_count)
    engagement = len(card.rules) - fit
    auc = f"{card.training_auc:.3f}" if card.training_auc is not None else "undefined"
    quiet = card.inactivity
    inactivity = (
        f"  inactivity: {quiet.points} points every {quiet.every_days} days without an event of any type, "
        f"at most {quiet.cap} times"
        if quiet is not None
        else "  no inactivity penalty: none was kept"
    )
    return "\n".join(
        [
            f"wrote {output}: {card.name}, base {card.base} points, {fit} fit and {engagement} engagement rules, "
            f"from {card.rows:,} rows ({card.positives:,} converted)",
            f"  every {card.points_to_double:g} points double the odds of converting; "
            f"{card.even_odds_at:g} is even odds",
            f"  mql from {card.mql.points} points: {_selects(card.mql)}",
            f"  sql from {card.sql.points} points: {_selects(card.sql)}",
            inactivity,
            f"  training AUC {auc} (on the rows it learned from; expect less on new leads)",
            f"next: leadscore validate {output}, then leadscore models upload {output}",
        ]
    )


def _selects(threshold: Threshold) -> str:
    standing = f"top {threshold.share:.1%} of training rows at their snapshot, {threshold.precision:.1%} converted"
    words = threshold.reached_words
    return f"{words}; {standing}" if words else standing
