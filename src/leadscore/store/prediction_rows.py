"""Predictive scores as stored: one current row per lead and predictive model name, replaced on each run,
next to the rules models' scores. The same SQL serves both backends; only the placeholder differs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from leadscore.store.common import chunks
from leadscore.store.protocol import StoredPrediction


class PredictionRows:
    db: Any
    _mark: str

    def write_predictions(self, rows: Sequence[tuple[str, int, str, float, str, int]], now_us: int) -> None:
        """(name, lead seq, artifact version, probability, reasons JSON, as_of µs) rows, replacing the last."""
        m = self._mark
        cursor = self.db.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO predictions(name, lead_seq, version, probability, reasons, as_of, scored_at) "
                f"VALUES ({m},{m},{m},{m},{m},{m},{m}) ON CONFLICT (name, lead_seq) DO UPDATE SET "
                f"version = excluded.version, probability = excluded.probability, reasons = excluded.reasons, "
                f"as_of = excluded.as_of, scored_at = excluded.scored_at",
                [(*row, now_us) for row in rows],
            )
        finally:
            cursor.close()

    def predictions(self, seqs: Sequence[int] | None = None) -> dict[int, list[StoredPrediction]]:
        """Each lead's predictive scores by name; every lead's when ``seqs`` is None."""
        query = "SELECT lead_seq, name, version, probability, reasons, as_of FROM predictions"
        found: list[Any] = []
        if seqs is None:
            found = self.db.execute(query + " ORDER BY lead_seq, name").fetchall()
        else:
            for part in chunks(sorted(set(seqs))):
                marks = ",".join([self._mark] * len(part))
                found += self.db.execute(f"{query} WHERE lead_seq IN ({marks}) ORDER BY lead_seq, name", list(part))
        out: dict[int, list[StoredPrediction]] = {}
        for seq, name, version, probability, reasons, as_of in found:
            item = StoredPrediction(name, version, float(probability), orjson.loads(reasons), int(as_of))
            out.setdefault(int(seq), []).append(item)
        return out
