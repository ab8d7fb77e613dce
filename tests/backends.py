"""The stores every contract test runs against: SQLite in a folder, and PostgreSQL on the real server named
by LEADSCORE_TEST_POSTGRES_URL, in a schema of its own that is dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_ENV = "LEADSCORE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str:
    """The server's URL, or a skip that says why there is none."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against (.ci/run sets it)")
    return url


@contextmanager
def fresh_url(backend: str, folder: Path) -> Iterator[str]:
    """A database URL no other test uses."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'leadscore.db'}"
        return
    import psycopg

    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
