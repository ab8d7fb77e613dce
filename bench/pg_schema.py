"""A throwaway PostgreSQL schema for one benchmark run, so a run never touches another's tables, and the
options that choose the backend."""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """Yields a URL whose search path is a new, empty schema; the schema is dropped afterwards."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"  # generated here, never user input
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def add_backend_options(parser: argparse.ArgumentParser, backend: bool = True) -> None:
    """``--backend`` (sqlite, postgresql or both) and ``--postgres`` (the server's URL), as the benches share."""
    if backend:
        parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    default = os.environ.get("LEADSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--postgres", default=default, help="the PostgreSQL server (LEADSCORE_TEST_POSTGRES_URL)")
