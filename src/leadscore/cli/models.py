"""``leadscore models``: the versions in the store, upload, dry run, activate and roll back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from leadscore.cli.context import console, opened, parse_moment, user_errors
from leadscore.engine.types import to_micros
from leadscore.model.loader import read_document
from leadscore.service import versions

models_app = typer.Typer(
    help="Model versions in the store: upload, compare before activating, activate, roll back.", no_args_is_help=True
)


@models_app.command("list")
@user_errors
def list_versions(ctx: typer.Context) -> None:
    """Every model name with its active version, its stored versions and its activations."""
    with opened(ctx) as (_, store):
        names = versions.history(store)
    table = Table("name", "version", "active", "stored", "sha256")
    for entry in names:
        for v in entry["versions"]:
            table.add_row(entry["name"], v["key"], "active" if v["active"] else "", v["stored_at"], v["sha256"][:12])
    console.print(table)
    log = Table("name", "activated", "version", "replaced", "cause", "leads", "tier changes", "stage changes")
    for entry in names:
        for a in entry["activations"]:
            s = a["summary"]
            log.add_row(
                entry["name"],
                a["activated_at"],
                a["model"],
                a["previous"] or "",
                a["cause"],
                str(s.get("leads", "")),
                str(s.get("tier_changes", "")),
                str(s.get("stage_changes", "")),
            )
    console.print(log)


@models_app.command("upload")
@user_errors
def upload(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="A model YAML file.")]) -> None:
    """Validate a model file and store it as a new version (it scores once activated)."""
    source = read_document(file)
    with opened(ctx) as (_, store):
        stored, created = versions.upload(store, source, to_micros(parse_moment(None)), file=str(file))
    console.print(f"{'stored' if created else 'already stored'} {stored['key']} (sha256 {stored['sha256'][:12]})")


@models_app.command("dry-run")
@user_errors
def dry_run(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The version to compare, as name@version.")],
    as_of: Annotated[str | None, typer.Option(help="Score as of this time (ISO-8601; default now).")] = None,
    sample: Annotated[int, typer.Option(min=0, help="How many changed leads to show.")] = versions.SAMPLE,
    json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """What activating a version would change, lead by lead, without writing anything."""
    with opened(ctx) as (_, store):
        result = versions.dry_run(store, key, parse_moment(as_of), sample)
    if json:
        console.print_json(orjson.dumps(result.as_dict()).decode())
        return
    console.print(
        f"{result.model} against {result.against or 'nothing active'} as of {result.as_of}: {result.leads} leads, "
        f"{result.tier_changes} change tier, {result.stage_changes} change stage, "
        f"{result.raised} score higher, {result.lowered} lower"
    )
    for title, counts in (("tier", result.tiers), ("stage", result.stages)):
        if counts:
            table = Table(f"{title} change", "leads")
            for change, count in counts.items():
                table.add_row(change, str(count))
            console.print(table)
    if result.sample:
        table = Table("lead", "email", "before", "after")
        for c in result.sample:
            before = f"{c.before['total']} {c.before['tier']} {c.before['stage']}" if c.before else ""
            table.add_row(c.lead_id, c.email or "", before, f"{c.after['total']} {c.after['tier']} {c.after['stage']}")
        console.print(table)


@models_app.command("activate")
@user_errors
def activate(
    ctx: typer.Context, key: Annotated[str, typer.Argument(help="The version to activate, as name@version.")]
) -> None:
    """Make a stored version its name's active one and rescore every lead with it (webhooks fire)."""
    with opened(ctx) as (_, store):
        done = versions.activate(store, key, parse_moment(None))
    _summary(done)


@models_app.command("rollback")
@user_errors
def rollback(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The model's name.")]) -> None:
    """Re-activate the version the current one replaced, and rescore every lead with it."""
    with opened(ctx) as (_, store):
        done = versions.rollback(store, name, parse_moment(None))
    _summary(done)


def _summary(done: versions.Activation) -> None:
    c = done.comparison
    console.print(
        f"activated {done.model} (replacing {done.previous or 'nothing'}): {c.leads} leads rescored, "
        f"{c.tier_changes} changed tier, {c.stage_changes} changed stage, {done.webhooks} webhooks queued"
    )
