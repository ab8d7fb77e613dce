"""Database URLs: ``sqlite:///path/to/file.db`` (the default) and ``postgresql://user@host:port/database``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from leadscore.store.protocol import Store


class StoreURLError(ValueError):
    pass


def open_store(url: str, base: Path | None = None) -> Store:
    """Opens (and migrates) the store a URL names; relative SQLite paths are taken from ``base``."""
    if url.startswith("sqlite:///"):
        from leadscore.store.sqlite import SQLiteStore

        raw = url.removeprefix("sqlite:///")
        path = Path(raw)
        if not path.is_absolute() and base is not None:
            path = base / path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return SQLiteStore(path)
        except sqlite3.DatabaseError as exc:
            raise StoreURLError(f"{path}: not a leadscore database ({exc})") from None
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        from leadscore.store.postgres import PostgresStore

        try:
            return PostgresStore(url)
        except psycopg.OperationalError as exc:
            reason = " ".join(str(exc).split())
            raise StoreURLError(f"cannot connect to {_without_password(url)}: {reason}") from None
    scheme = url.split(":", 1)[0]
    raise StoreURLError(
        f"unsupported database URL scheme {scheme!r}: expected sqlite:///PATH or postgresql://USER@HOST/DATABASE"
    )


def _without_password(url: str) -> str:
    """The URL as it may be shown in a message or a log: a password is replaced by ``***``."""
    head, sep, tail = url.partition("://")
    userinfo, at, rest = tail.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{head}{sep}{userinfo.split(':', 1)[0]}:***@{rest}"
