"""Predictive scores for every lead: the features as of one moment, the artifact's calibrated probability,
and its reason codes, stored next to the rules models' scores.

The features are built by the same function as the training rows (``dataset.features_at``), so a lead is
described the same way to the model when it learns and when it scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.types import to_micros
from leadscore.predict.artifact import Artifact
from leadscore.predict.dataset import features_at
from leadscore.predict.facets import Facets
from leadscore.store.protocol import Store

BATCH = 2_000
DEFAULT_NAME = "predictive"
_EVENT_COLUMN = re.compile(r"^events\.(.+)\.\d+d$")


@dataclass(frozen=True)
class PredictionReport:
    name: str
    version: str
    leads: int
    missing_models: tuple[str, ...]


def event_types(artifact: Artifact) -> list[str]:
    """The event types whose counts the artifact was trained on."""
    found = {m.group(1) for name in artifact.metadata["features"] if (m := _EVENT_COLUMN.match(name))}
    return sorted(found)


def missing_models(artifact: Artifact, models: Sequence[CompiledModel]) -> list[str]:
    """Rules models the artifact learned from that are not scoring now: their columns will be missing."""
    known = {m.model.name for m in models}
    wanted = {name.split(".", 1)[0] for name in artifact.metadata["features"] if name.endswith(".total")}
    return sorted(wanted - known)


def predict_all(
    store: Store,
    artifact: Artifact,
    models: Sequence[CompiledModel],
    *,
    as_of: datetime,
    now: datetime,
    name: str = DEFAULT_NAME,
) -> PredictionReport:
    """Score every lead as of ``as_of`` and store the result, in batches of ``BATCH`` leads."""
    at_us = to_micros(as_of)
    types = event_types(artifact)
    wanted = {m.model.name for m in models} & {n.split(".", 1)[0] for n in artifact.metadata["features"]}
    used = [m for m in models if m.model.name in wanted]
    count = 0
    facets = Facets.from_dict(artifact.metadata.get("facets"))
    for seqs, features in _batches(store, used, types, facets, at_us):
        explained = artifact.explain(features)
        rows = [
            (name, seq, artifact.version, e.probability, orjson.dumps(e.as_dict()).decode(), at_us)
            for seq, e in zip(seqs, explained, strict=True)
        ]
        with store.transaction():
            store.write_predictions(rows, to_micros(now))
        count += len(rows)
    return PredictionReport(name, artifact.version, count, tuple(missing_models(artifact, models)))


def _batches(
    store: Store, models: Sequence[CompiledModel], types: Sequence[str], facets: Facets, at_us: int
) -> Iterator[tuple[list[int], list[dict[str, object]]]]:
    seqs: list[int] = []
    features: list[dict[str, object]] = []
    for seq, lead, rows in store.scan():
        past = [r for r in rows if r[2] <= at_us]
        created = to_micros(lead.created_at) if lead.created_at is not None else min((r[2] for r in past), default=None)
        seqs.append(seq)
        features.append(features_at(lead, past, at_us, created, models, types, facets))
        if len(seqs) >= BATCH:
            yield seqs, features
            seqs, features = [], []
    if seqs:
        yield seqs, features


def latest_artifact(folder: Path) -> Path:
    """The most recently trained artifact in ``folder`` (by its recorded training time)."""
    found = []
    for path in folder.glob("*.json"):
        try:
            trained = orjson.loads(path.read_bytes()).get("trained_at", "")
        except orjson.JSONDecodeError:
            continue
        found.append((str(trained), path.name, path))
    if not found:
        raise ValueError(f"no predictive model in {folder}: run 'leadscore train' first")
    return max(found)[2]
