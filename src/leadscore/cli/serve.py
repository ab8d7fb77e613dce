"""``leadscore serve`` (the HTTP API on uvicorn) and ``leadscore keys`` (API keys, stored hashed)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from leadscore.api.observability import log_config
from leadscore.cli.context import console, opened, parse_moment, project_of, settings, user_errors
from leadscore.engine.types import from_micros, to_micros
from leadscore.service.keys import SCOPES, create_key
from leadscore.store.url import open_store

keys_app = typer.Typer(help="Create, list and revoke API keys (only a hash of each is stored).", no_args_is_help=True)


@user_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes; share PostgreSQL for more than one.")] = 1,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
    log_format: Annotated[str, typer.Option(help="json (one object a line) or text.")] = "json",
) -> None:
    """Serve the HTTP API (ingest, scores, health) for the project's models on its database."""
    import uvicorn

    chosen = settings(ctx)
    project = project_of(ctx)  # fails here, with one line, on a bad project
    database = chosen.database or project.database
    open_store(database, base=project.root).close()  # and here on a bad database; migrations run once
    if workers > 1 and database.startswith("sqlite"):
        console.print("note: several workers on SQLite take turns to write; use PostgreSQL to write in parallel")
    os.environ["LEADSCORE_PROJECT"] = str(project.root.resolve())
    if chosen.database:
        os.environ["LEADSCORE_DATABASE"] = chosen.database
    if log_format not in ("json", "text"):
        raise ValueError(f"--log-format: expected json or text, got {log_format!r}")
    # The scorer and scheduler processes log like the server's own (they are spawned, not forked).
    os.environ["LEADSCORE_LOG_LEVEL"], os.environ["LEADSCORE_LOG_FORMAT"] = log_level, log_format
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # The workers' metrics are summed at scrape time from files in one folder (prometheus_client's way).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="leadscore-metrics-")
    uvicorn.run(
        "leadscore.api.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=log_config(log_level) if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )


@keys_app.command("create")
@user_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="What the key is for, e.g. the website's tracker.")],
    scope: Annotated[list[str], typer.Option(help=f"One of {', '.join(SCOPES)}; repeat for several.")],
) -> None:
    """Create a key and print it: this is the only time it is shown."""
    with opened(ctx) as (_, store):
        token = create_key(store, name, scope, datetime.now(UTC))
    console.print(token)


@keys_app.command("list")
@user_errors
def list_keys(ctx: typer.Context) -> None:
    """List the keys: id, name, scopes, created, revoked (never the secrets)."""
    with opened(ctx) as (_, store):
        rows = store.api_keys()
    table = Table("id", "name", "scopes", "created", "revoked")
    for key_id, name, scopes, created, revoked in rows:
        table.add_row(
            key_id, name, scopes, from_micros(created).isoformat(), from_micros(revoked).isoformat() if revoked else ""
        )
    console.print(table)


@keys_app.command("revoke")
@user_errors
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's id (see keys list).")]) -> None:
    """Revoke a key at once: requests with it get 401."""
    with opened(ctx) as (_, store):
        if not store.revoke_api_key(key_id, to_micros(datetime.now(UTC))):
            raise ValueError(f"no active API key with id {key_id!r}")
    console.print(f"revoked {key_id}")


@user_errors
def tick_cmd(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO-8601 moment to tick at (default: now).")] = None,
) -> None:
    """Re-score the leads whose decay or inactivity is due to change a label, and queue their webhooks."""
    from leadscore.service.tick import tick

    moment = parse_moment(as_of)
    with opened(ctx) as (project, store):
        report = tick(store, project.models, moment)
    console.print(
        f"ticked at {moment.isoformat()}: {report.checked} leads checked, {report.changed} scores changed, "
        f"{report.stage_changes} stage changes"
    )
