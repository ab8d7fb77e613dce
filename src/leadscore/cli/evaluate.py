"""``leadscore backtest`` (model files replayed over the stored leads, side by side, before activation) and
``leadscore review`` (the HTML report on how every score does against outcomes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from leadscore.cli.context import console, opened, parse_moment, user_errors
from leadscore.cli.ingest import must_exist
from leadscore.cli.outcomes import observed_until
from leadscore.predict.backtest import Backtest, backtest, candidates
from leadscore.predict.dataset import Snapshots
from leadscore.predict.holdout import Predictor
from leadscore.predict.review import review
from leadscore.predict.review_html import render
from leadscore.store.protocol import Store

AfterCreationDays = Annotated[
    list[int] | None, typer.Option(help="Snapshot N days after each lead's creation; repeat for several.")
]
Dates = Annotated[list[str] | None, typer.Option(help="Snapshot every lead at this ISO-8601 date; repeatable.")]
HorizonDays = Annotated[float, typer.Option(min=1, help="Converted within this many days of the snapshot.")]
AsOf = Annotated[
    str | None,
    typer.Option(help="Data is complete up to this time (default: its latest timed event or outcome, else now)."),
]
PredictiveFile = Annotated[
    Path | None, typer.Option("--predictive", help="A predictive model artifact (from leadscore train) to judge too.")
]
JsonFile = Annotated[Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")]
SHARES = ("top_5pct", "top_10pct", "top_20pct")


@user_errors
def backtest_cmd(
    ctx: typer.Context,
    model: Annotated[Path, typer.Argument(help="A scoring model YAML file; it need not be stored or active.")],
    against: Annotated[list[Path] | None, typer.Option(help="Another model file to compare; repeatable.")] = None,
    predictive: PredictiveFile = None,
    after_creation_days: AfterCreationDays = None,
    date: Dates = None,
    horizon_days: HorizonDays = 90,
    as_of: AsOf = None,
    json: JsonFile = None,
) -> None:
    """Score the stored leads at each snapshot as model files would have, and compare how well they rank
    the leads that converted, side by side (and against the predictive score)."""
    snapshots = _snapshots(after_creation_days, date)
    files = [model, *(against or ())]
    for path in files:
        must_exist(path)
    judged = candidates(files)
    artifact = _artifact(predictive)
    with opened(ctx) as (project, store):
        until = _until(store, as_of)
        models = [m.compiled for m in project.models]
        result = backtest(store, judged, snapshots, horizon_days, until, artifact, models)
    if json is not None:
        _write_json(json, result.as_dict())
    _print_backtest(result)


@user_errors
def review_cmd(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML report to write.")],
    json: JsonFile = None,
    predictive: PredictiveFile = None,
    after_creation_days: AfterCreationDays = None,
    date: Dates = None,
    horizon_days: HorizonDays = 90,
    as_of: AsOf = None,
) -> None:
    """Write a self-contained HTML report on the project's models (and a predictive model) against
    outcomes: ranking, lift, conversion by tier, grade, stage and matrix cell, rule lift, drift, funnel."""
    snapshots = _snapshots(after_creation_days, date)
    artifact = _artifact(predictive)
    with opened(ctx) as (project, store):
        until = _until(store, as_of)
        figures = review(store, [m.compiled for m in project.models], snapshots, horizon_days, until, artifact)
    output.write_text(render(figures), encoding="utf-8")
    if json is not None:
        _write_json(json, figures)
    summary = figures["summary"]
    console.print(f"wrote the review of {summary['rows']} rows ({summary['positives']} converted) to {output}")
    for warning in summary["warnings"]:
        console.print(Text.assemble(("warning:", "yellow"), f" {warning}"))
    for label, lifts in figures["rule_lift"].items():
        for rule in lifts["rules"]:
            if rule["flag"]:
                suggested = rule["suggested_points"]
                hint = f"; suggested points {suggested:g}" if suggested is not None else ""
                console.print(Text.assemble(("flagged", "yellow"), f" {label}.{rule['rule']}: {rule['flag']}{hint}"))


def _snapshots(after_creation_days: Sequence[int] | None, dates: Sequence[str] | None) -> Snapshots:
    if not after_creation_days and not dates:
        raise ValueError("expected --after-creation-days N or --date DATE (or both) to say when to snapshot")
    return Snapshots(tuple(after_creation_days or ()), tuple(parse_moment(d, "--date") for d in dates or ()))


def _until(store: Store, as_of: str | None) -> datetime:
    return parse_moment(as_of) if as_of else observed_until(store)


def _artifact(path: Path | None) -> Predictor | None:
    if path is None:
        return None
    must_exist(path)
    from leadscore.predict.artifact import Artifact  # LightGBM is loaded only when a predictive model is judged

    return Artifact.load(path)


def _write_json(path: Path, data: Any) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def _print_backtest(result: Backtest) -> None:
    title = (
        f"backtest · {result.rows} rows, {result.positives} converted within {result.horizon_days:g} days · "
        f"{result.evaluated_on}"
    )
    table = Table("", *(c.label for c in result.columns), title=title)
    figures = [c.ranking for c in result.columns]
    table.add_row("ROC AUC", *(_num(f.auc) for f in figures))
    table.add_row("average precision", *(_num(f.average_precision) for f in figures))
    for share in SHARES:
        table.add_row(f"precision {share[4:-3]}%", *(_pct(f.precision_at[share]) for f in figures))
    for share in SHARES:
        table.add_row(f"recall {share[4:-3]}%", *(_pct(f.recall_at[share]) for f in figures))
    console.print(table)
    for column in result.columns:
        for by, groups in (("tier", column.by_tier), ("stage", column.by_stage)):
            if not groups:
                continue
            rates = Table(by, "rows", "converted", "rate", "95% interval", title=f"conversion by {by} · {column.label}")
            for g in groups:
                interval = f"{_pct(g['low'])} - {_pct(g['high'])}"
                rates.add_row(str(g["group"]), str(g["rows"]), str(g["converted"]), _pct(g["rate"]), interval)
            console.print(rates)
    for warning in result.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {warning}"))


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"
