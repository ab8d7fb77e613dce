"""What every command shares: the project, its store, the clock, and one-line errors."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from leadscore.engine.types import to_micros
from leadscore.ingest.errors import IngestError
from leadscore.model.loader import ModelError
from leadscore.service.project import Project, ProjectError, load_project
from leadscore.service.versions import VersionError, resolve
from leadscore.store.protocol import Store
from leadscore.store.url import StoreURLError, open_store

# markup=False: paths, ids, emails and raw rows are printed as written, never read as rich markup ("[/x]").
console = Console(markup=False)
if not console.is_terminal:
    console.width = 140  # files and pipes get whole tables, not ones folded to 80 columns
    console.soft_wrap = True  # and summary lines that scripts can parse, however long the paths in them
err_console = Console(stderr=True, markup=False)

P = ParamSpec("P")
R = TypeVar("R")

USER_ERRORS = (ModelError, ProjectError, IngestError, StoreURLError, VersionError)


def _database_errors() -> tuple[type[Exception], ...]:
    """The store's own errors (a locked SQLite file, a PostgreSQL server that went away): the user can act on
    them, so they get one line too. psycopg is imported only if a PostgreSQL store has loaded it."""
    errors: list[type[Exception]] = [sqlite3.Error]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors.append(psycopg.Error)
    return tuple(errors)


def database_message(exc: Exception) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError) and "locked" in reason:
        return f"database: {reason}: another process held the write lock past the busy timeout; try again"
    return f"database: {reason}"


@dataclass
class Settings:
    project: Path
    database: str | None


def fail(message: str) -> typer.Exit:
    err_console.print(Text.assemble(("error:", "bold red"), f" {message}"), soft_wrap=True)
    return typer.Exit(2)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turns the errors a user can fix into a message and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            raise fail(str(exc)) from None
        except ValueError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:  # a path the user gave: missing, a directory, a file, not writable
            raise fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted") from None
        except Exception as exc:
            if isinstance(exc, _database_errors()):
                raise fail(database_message(exc)) from None
            raise

    return wrapper


def parse_moment(text: str | None, option: str = "--as-of") -> datetime:
    """An ISO-8601 moment, UTC when it has no zone; the clock when ``text`` is None."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(f"{option}: expected an ISO-8601 time such as 2026-11-01T09:00:00Z, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def project_of(ctx: typer.Context) -> Project:
    s = settings(ctx)
    return load_project(s.project, s.database)


@contextmanager
def opened(ctx: typer.Context) -> Iterator[tuple[Project, Store]]:
    """The project and its store; the project's models are the store's active versions (``resolve``)."""
    project = project_of(ctx)
    store = open_store(project.database, base=project.root)
    try:
        yield with_active_models(project, store), store
    finally:
        store.close()


def with_active_models(project: Project, store: Store) -> Project:
    now_us = to_micros(datetime.now(UTC))
    return replace(project, models=resolve(store, project.models, now_us))


def is_tty() -> bool:
    return sys.stderr.isatty()
