"""``leadscore train`` (fit, calibrate and measure a predictive model from the store's outcomes) and
``leadscore predict`` (score every lead with it, next to the rules models' scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from leadscore.cli.context import console, opened, parse_moment, user_errors
from leadscore.cli.outcomes import observed_until
from leadscore.predict.artifact import Artifact
from leadscore.predict.dataset import Snapshots, check_excluded, training_rows
from leadscore.predict.facets import discover
from leadscore.predict.train import HOLDOUT_SHARE, MIN_PER_CLASS, from_rows, train
from leadscore.service.predictions import DEFAULT_NAME, latest_artifact, predict_all

FOLDER = "predictive"


@user_errors
def train_cmd(
    ctx: typer.Context,
    after_creation_days: Annotated[
        list[int] | None, typer.Option(help="Snapshot N days after each lead's creation; repeat for several.")
    ] = None,
    date: Annotated[
        list[str] | None, typer.Option(help="Snapshot every lead at this ISO-8601 date; repeatable.")
    ] = None,
    horizon_days: Annotated[float, typer.Option(min=1, help="Predict converting within this many days.")] = 90,
    as_of: Annotated[
        str | None,
        typer.Option(help="Data is complete up to this time (default: its latest timed event or outcome, else now)."),
    ] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="A column to leave out; repeatable.")] = None,
    holdout_share: Annotated[
        float, typer.Option(min=0, max=0.5, help="Share of leads kept out of training for the test figures.")
    ] = HOLDOUT_SHARE,
    min_outcomes: Annotated[int, typer.Option(min=1, help="Refuse with fewer converted or not-converted rows.")] = (
        MIN_PER_CLASS
    ),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Artifact file (default: predictive/).")] = None,
    score: Annotated[bool, typer.Option(help="Score every lead with the new model afterwards.")] = True,
) -> None:
    """Train a calibrated model of converting within the horizon: logistic regression and LightGBM, the
    better one on validation rows, measured on held-out leads."""
    if not after_creation_days and not date:
        raise ValueError("expected --after-creation-days N or --date DATE (or both) to say when to snapshot")
    snapshots = Snapshots(tuple(after_creation_days or ()), tuple(parse_moment(d, "--date") for d in date or ()))
    now = parse_moment(None)
    with opened(ctx) as (project, store):
        until = parse_moment(as_of) if as_of else observed_until(store)
        models = [m.compiled for m in project.models]
        facets = discover(store)
        rows = list(training_rows(store, models, snapshots, horizon_days, until, facets=facets))
        described = {
            "observed_until": until.isoformat(),
            "snapshots": {"after_creation_days": list(snapshots.after_creation_days), "dates": date or []},
        }
        check_excluded(rows, exclude or ())
        data = from_rows(rows, exclude or ())
        artifact = train(
            data,
            horizon_days=horizon_days,
            trained_at=now,
            holdout_share=holdout_share,
            min_per_class=min_outcomes,
            description=described,
            facets=facets.as_dict(),
        )
        path = output or project.root / FOLDER / f"{DEFAULT_NAME}-{artifact.version}.json"
        artifact.save(path)
        console.print(training_table(artifact.metadata))
        console.print(f"saved {artifact.kind} model {artifact.version} to {path}")
        if score:
            report = predict_all(store, artifact, models, as_of=now, now=now)
            console.print(f"scored {report.leads} leads as of {now:%Y-%m-%d %H:%M} UTC")


@user_errors
def predict_cmd(
    ctx: typer.Context,
    artifact_path: Annotated[
        Path | None, typer.Option("--artifact", help="Artifact file (default: the latest in predictive/).")
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="Score as of this time (ISO-8601; default now).")] = None,
) -> None:
    """Score every lead with a trained predictive model and store the probability and its reason codes."""
    moment = parse_moment(as_of)
    with opened(ctx) as (project, store):
        path = artifact_path or latest_artifact(project.root / FOLDER)
        artifact = Artifact.load(path)
        report = predict_all(
            store, artifact, [m.compiled for m in project.models], as_of=moment, now=parse_moment(None)
        )
    console.print(f"scored {report.leads} leads with {artifact.kind} model {report.version} as of {moment.isoformat()}")
    if report.missing_models:
        console.print(
            f"warning: scoring models {', '.join(report.missing_models)} are not active: their columns are missing"
        )


def training_table(meta: dict[str, Any]) -> Table:
    """Validation figures per candidate and the chosen model's figures on the held-out leads."""
    table = Table(title=f"predictive model: converted within {meta['horizon_days']:g} days")
    for name in ("model", "rows", "converted", "AUC", "avg precision", "precision top 10%", "ECE"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for name, figures in meta["candidates"].items():
        chosen = " (chosen)" if name == meta["kind"] else ""
        table.add_row(f"{name}, validation{chosen}", *_figures(figures, "ece_uncalibrated"))
    test = meta["metrics"]["test"]
    if test is not None:
        table.add_section()
        table.add_row(f"{meta['kind']}, held-out, calibrated", *_figures(test, "ece"))
    return table


def _figures(figures: dict[str, Any], ece: str) -> list[str]:
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    return [
        f"{figures['rows']:,}",
        f"{figures['positives']:,}",
        number(figures["auc"]),
        number(figures["average_precision"]),
        number(figures["precision_at"]["top_10pct"]),
        number(figures.get(ece)),
    ]
