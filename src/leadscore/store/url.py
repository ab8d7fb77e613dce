"""Database URLs: ``sqlite:///path/to/file.db`` (the default) and, from the next release, ``postgresql://``."""

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
    scheme = url.split(":", 1)[0]
    raise StoreURLError(f"unsupported database URL scheme {scheme!r}: expected sqlite:///PATH")
