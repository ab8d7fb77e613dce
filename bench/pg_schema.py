"""A throwaway PostgreSQL schema for one benchmark run, so a run never touches another's tables."""

from __future__ import annotations

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
