"""API keys as stored: an id, a name, the SHA-256 of the secret, and scopes. The secret itself is never
stored. The same SQL serves both backends; only the placeholder differs."""

from __future__ import annotations

from typing import Any


class ApiKeyRows:
    db: Any
    _mark: str  # "?" for SQLite, "%s" for PostgreSQL

    def add_api_key(self, key_id: str, name: str, digest: str, scopes: str, now_us: int) -> None:
        m = self._mark
        self.db.execute(
            f"INSERT INTO api_keys(id, name, digest, scopes, created_at) VALUES ({m},{m},{m},{m},{m})",
            (key_id, name, digest, scopes, now_us),
        )

    def api_key(self, key_id: str) -> tuple[str, str, int | None] | None:
        """(digest, scopes, revoked_at) of a key, or None."""
        row = self.db.execute(
            f"SELECT digest, scopes, revoked_at FROM api_keys WHERE id={self._mark}", (key_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def revoke_api_key(self, key_id: str, now_us: int) -> bool:
        m = self._mark
        cursor = self.db.execute(
            f"UPDATE api_keys SET revoked_at={m} WHERE id={m} AND revoked_at IS NULL", (now_us, key_id)
        )
        return bool(cursor.rowcount)

    def api_keys(self) -> list[tuple[str, str, str, int, int | None]]:
        """(id, name, scopes, created_at, revoked_at) of every key, oldest first."""
        rows = self.db.execute("SELECT id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at, id")
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows.fetchall()]
