"""Scoring model versions as stored: each version's YAML source under its ``name@version`` key, and the
append-only log of activations, whose latest row per name is the version that name scores with.
The same SQL serves both backends; only the placeholder differs."""

from __future__ import annotations

import hashlib
from typing import Any


class ModelVersionRows:
    db: Any
    _mark: str

    def lock_models(self, exclusive: bool = False) -> None:
        raise NotImplementedError

    def register_model(self, key: str, name: str, version: str, source: str, now_us: int) -> None:
        """Stores a project file's version, replacing the source stored under its key: the file is its truth."""
        m = self._mark
        self.db.execute(
            f"INSERT INTO models VALUES ({m},{m},{m},{m},{m},{m}) ON CONFLICT (key) DO UPDATE SET "
            "source=excluded.source, sha256=excluded.sha256, loaded_at=excluded.loaded_at "
            "WHERE models.sha256 <> excluded.sha256",
            (key, name, version, source, _digest(source), now_us),
        )

    def insert_model(self, key: str, name: str, version: str, source: str, now_us: int) -> str:
        """Stores an uploaded version unless its key is taken; returns the SHA-256 stored under the key, so the
        caller can tell a re-sent upload (the same digest) from a different model under a used version."""
        m = self._mark
        self.db.execute(
            f"INSERT INTO models VALUES ({m},{m},{m},{m},{m},{m}) ON CONFLICT (key) DO NOTHING",
            (key, name, version, source, _digest(source), now_us),
        )
        row = self.db.execute(f"SELECT sha256 FROM models WHERE key={m}", (key,)).fetchone()
        return str(row[0])

    def model_source(self, key: str) -> tuple[str, str, str] | None:
        """(name, version, YAML source) of a stored version, or None."""
        row = self.db.execute(f"SELECT name, version, source FROM models WHERE key={self._mark}", (key,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def stored_models(self) -> list[dict[str, Any]]:
        """Every stored version, oldest first within each name."""
        cursor = self.db.execute(
            "SELECT key, name, version, sha256, loaded_at FROM models ORDER BY name, loaded_at, key"
        )
        return [dict(zip(("key", "name", "version", "sha256", "stored_at"), r, strict=True)) for r in cursor.fetchall()]

    def model_activations(self, name: str | None = None) -> list[dict[str, Any]]:
        """The activation log, oldest first; one name's when ``name`` is given."""
        sql = "SELECT id, name, model, previous, activated_at, cause, summary FROM model_activations"
        params: tuple[Any, ...] = ()
        if name is not None:
            sql += f" WHERE name={self._mark}"
            params = (name,)
        cursor = self.db.execute(sql + " ORDER BY id", params)
        columns = ("id", "name", "model", "previous", "activated_at", "cause", "summary")
        return [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]

    def active_models(self) -> dict[str, str]:
        """The active version's key per model name (the latest activation of each name), in the order the names
        were first activated."""
        cursor = self.db.execute(
            "SELECT a.name, a.model FROM model_activations a "
            "WHERE a.id = (SELECT max(b.id) FROM model_activations b WHERE b.name = a.name) "
            "ORDER BY (SELECT min(c.id) FROM model_activations c WHERE c.name = a.name)"
        )
        return {r[0]: r[1] for r in cursor.fetchall()}

    def record_activation(
        self, name: str, key: str, previous: str | None, now_us: int, cause: str, summary: str
    ) -> int:
        m = self._mark
        self.db.execute(
            "INSERT INTO model_activations(name, model, previous, activated_at, cause, summary) "
            f"VALUES ({m},{m},{m},{m},{m},{m})",
            (name, key, previous, now_us, cause, summary),
        )
        return self.model_generation()

    def model_generation(self, lock: bool = False) -> int:
        """Grows with every activation: a process whose models are older reloads them. With ``lock``, the
        model lock is taken shared first (``lock_models``)."""
        if lock:
            self.lock_models()
        row = self.db.execute("SELECT coalesce(max(id), 0) FROM model_activations").fetchone()
        return int(row[0])

    def score_labels(self, model: str) -> dict[int, tuple[int, str, str]]:
        """(total cents, tier, stage) per lead under one model: what a new version's scores are compared with."""
        cursor = self.db.execute(
            f"SELECT lead_seq, total_cents, tier, stage FROM scores WHERE model={self._mark}", (model,)
        )
        return {int(r[0]): (int(r[1]), r[2], r[3]) for r in cursor}


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()
