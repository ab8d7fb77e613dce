"""The ``leadscore`` command: parse, call the service layer, render. No scoring logic lives here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from leadscore.cli import evaluate as evaluate_cmd
from leadscore.cli import export as export_cmd
from leadscore.cli import ingest as ingest_cmd
from leadscore.cli import models as models_cmd
from leadscore.cli import outcomes as outcomes_cmd
from leadscore.cli import predictive as predictive_cmd
from leadscore.cli import serve as serve_cmd
from leadscore.cli import suggest as suggest_cmd
from leadscore.cli.context import Settings, console, opened, parse_moment, user_errors
from leadscore.cli.demo import demo
from leadscore.cli.render import (
    contributions_table,
    history_table,
    prediction_table,
    rescore_summary,
    top_table,
    transitions_table,
)
from leadscore.model.loader import ModelError, load_model
from leadscore.service.project import write_project
from leadscore.service.rescore import default_workers
from leadscore.service.rescore import rescore as rescore_all

app = typer.Typer(
    help="Open, explainable lead scoring: models as files, every score explained, exact decay.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(ingest_cmd.ingest_app, name="ingest")
app.add_typer(ingest_cmd.import_app, name="import")
app.command()(demo)
app.command()(serve_cmd.serve)
app.command(name="tick")(serve_cmd.tick_cmd)
app.add_typer(serve_cmd.keys_app, name="keys")
app.add_typer(models_cmd.models_app, name="models")
app.add_typer(outcomes_cmd.outcomes_app, name="outcomes")
app.command(name="dataset")(outcomes_cmd.dataset)
app.command(name="suggest")(suggest_cmd.suggest)
app.command(name="train")(predictive_cmd.train_cmd)
app.command(name="predict")(predictive_cmd.predict_cmd)
app.command(name="export")(export_cmd.export)
app.command(name="backtest")(evaluate_cmd.backtest_cmd)
app.command(name="review")(evaluate_cmd.review_cmd)


@app.callback()
def main(
    ctx: typer.Context,
    project: Annotated[
        Path, typer.Option("--project", "-p", envvar="LEADSCORE_PROJECT", help="Project folder holding leadscore.yaml.")
    ] = Path("."),
    db: Annotated[
        str | None, typer.Option("--db", envvar="LEADSCORE_DATABASE", help="Database URL; overrides the project's.")
    ] = None,
) -> None:
    ctx.obj = Settings(project=project, database=db)


@app.command()
@user_errors
def init(directory: Annotated[Path, typer.Argument(help="Folder to create.")] = Path(".")) -> None:
    """Create a project folder with the example B2B SaaS model and a config."""
    config = write_project(directory)
    console.print(f"project ready: {config}\nnext: leadscore -p {directory} ingest leads FILE.csv")


@app.command()
@user_errors
def validate(models: Annotated[list[Path], typer.Argument(help="Model files to check.")]) -> None:
    """Check scoring model files; every problem is listed with its file, line and field."""
    issues = []
    for path in models:
        try:
            model = load_model(path)
        except ModelError as exc:
            issues.extend(exc.issues)
            continue
        rules = f" {path}: {model.key}, {len(model.fit)} fit and {len(model.engagement)} engagement rules"
        console.print(Text.assemble(("ok", "green"), rules))
    if issues:
        raise ModelError(issues)


@app.command()
@user_errors
def rescore(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="Score as of this time (ISO-8601; default now).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes that score in parallel.")] = default_workers(),
) -> None:
    """Rescore every lead and account under every model as of one moment."""
    moment = parse_moment(as_of)
    with opened(ctx) as (project, store):
        started = time.perf_counter()
        report = rescore_all(store, project.models, as_of=moment, now=parse_moment(None), workers=workers)
        console.print(rescore_summary(report, time.perf_counter() - started))


@app.command()
@user_errors
def top(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Model name (default: the first).")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier, e.g. hot.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage, e.g. mql.")] = None,
    grade: Annotated[str | None, typer.Option(help="Only this fit grade, e.g. A.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many leads.")] = 20,
) -> None:
    """The highest-scoring leads, with the rules that put them there."""
    with opened(ctx) as (project, store):
        chosen = project.model(model).model
        lifecycle = chosen.lifecycle
        for option, value, known in (
            ("--tier", tier, chosen.tiers.names()),
            ("--stage", stage, [*lifecycle.names(), lifecycle.disqualified_stage]),
            ("--grade", grade, chosen.grades.names()),
        ):
            if value is not None and value not in known:
                raise ValueError(f"{option} {value!r} is not in {chosen.key}: expected one of {', '.join(known)}")
        key = chosen.key
        rows = store.top(key, tier=tier, stage=stage, grade=grade, limit=limit)
        found = store.predictions([r.lead_seq for r in rows])
        probabilities = {seq: items[0].probability for seq, items in found.items()}
        console.print(top_table(rows, f"top {len(rows)} leads · {key}", probabilities))


@app.command()
@user_errors
def explain(
    ctx: typer.Context,
    lead: Annotated[str, typer.Argument(help="Lead id or email.")],
    history: Annotated[int, typer.Option(help="How many score changes to show.")] = 10,
) -> None:
    """A lead's score rule by rule under every model, its score history and stage transitions."""
    with opened(ctx) as (_, store):
        seq = store.find_lead(lead)
        if seq is None:
            raise ValueError(f"no lead with id or email {lead!r}")
        scores = store.scores_for_lead(seq)
        if not scores:
            raise ValueError(f"lead {lead!r} has no scores yet: run 'leadscore rescore'")
        for score in scores:
            console.print(contributions_table(score))
        for prediction in store.predictions([seq]).get(seq, []):
            console.print(prediction_table(prediction))
        console.print(history_table(store.score_history(seq, history)))
        console.print(transitions_table(store.stage_transitions(seq)))


def run() -> None:
    app()
