"""Backtest: how model files would have ranked the stored leads, measured against what became of them.

The stored events are replayed through the reference engine: each lead is scored at each snapshot as the
candidate model would have scored it then, knowing only what happened up to that moment, and the scores
are judged against conversion within the horizon after the snapshot. Candidates are files, not stored
versions, so a model is judged before it is uploaded or activated.

Two candidates may be versions of one model (``b2b_saas`` v1 and v2), so each one's columns are named by
its ``name@version`` and, when even that is shared (a file edited without a new version), by its file name
too. A predictive artifact is judged on the same rows, restricted to the ones it did not learn from
(``holdout``); its features are the project's models' columns, so those models are scored as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from leadscore.engine.compiled import CompiledModel
from leadscore.model.loader import load_model
from leadscore.predict.conversion import conversion_by
from leadscore.predict.dataset import Row, Snapshots, training_rows
from leadscore.predict.holdout import Predictor, evaluation_rows, predictor_facets, predictor_label
from leadscore.predict.metrics import Ranking, ranking
from leadscore.store.protocol import Store


@dataclass(frozen=True)
class Candidate:
    """A model file to judge; ``label`` names its columns in the rows and in every report."""

    label: str
    path: Path
    compiled: CompiledModel


@dataclass(frozen=True)
class Column:
    """One score's figures on the evaluated rows; conversion by tier and stage for a rules model."""

    label: str
    kind: str  # "rules" or "predictive"
    ranking: Ranking
    by_tier: list[dict[str, object]] = field(default_factory=list)
    by_stage: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "kind": self.kind,
            **self.ranking.as_dict(),
            "by_tier": self.by_tier,
            "by_stage": self.by_stage,
        }


@dataclass(frozen=True)
class Backtest:
    rows: int
    positives: int
    horizon_days: float
    evaluated_on: str
    columns: list[Column]
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "horizon_days": self.horizon_days,
            "evaluated_on": self.evaluated_on,
            "warnings": list(self.warnings),
            "columns": [c.as_dict() for c in self.columns],
        }


def candidates(paths: Sequence[Path]) -> list[Candidate]:
    """Each file loaded and compiled under a label no other candidate shares (see the module docstring)."""
    resolved = [path.resolve() for path in paths]
    for index, path in enumerate(resolved):
        if path in resolved[:index]:
            raise ValueError(f"{paths[index]}: the same file is given twice")
    models = [load_model(path) for path in paths]
    keys = [m.key for m in models]
    out: list[Candidate] = []
    for path, model, key in zip(paths, models, keys, strict=True):
        label = key if keys.count(key) == 1 else f"{key}:{path.name}"
        if any(c.label == label for c in out):
            label = f"{key}:{path}"
        # The rows name a model's columns by its name; the label is used instead, so none collide.
        out.append(Candidate(label, path, CompiledModel(model.model_copy(update={"name": label}))))
    return out


def evaluate(
    rows: Sequence[Row],
    models: Sequence[tuple[str, CompiledModel]],
    predictor: Predictor | None,
    horizon_days: float,
) -> Backtest:
    """Every score's figures on the same rows; ``models`` pairs each column label with its model."""
    chosen = evaluation_rows(rows, predictor, horizon_days)
    labels = [r.label for r in chosen.rows]
    columns = []
    for label, compiled in models:
        scores = [float(r.features[f"{label}.total"]) for r in chosen.rows]
        tiers = [r.features.get(f"{label}.tier") for r in chosen.rows]
        stages = [r.features.get(f"{label}.stage") for r in chosen.rows]
        lifecycle = compiled.model.lifecycle
        stage_order = [*reversed(lifecycle.names()), lifecycle.disqualified_stage]
        columns.append(
            Column(
                label,
                "rules",
                ranking(scores, labels),
                conversion_by(tiers, labels, compiled.model.tiers.names()),
                conversion_by(stages, labels, stage_order),
            )
        )
    if predictor is not None:
        probabilities = np.asarray(predictor.predict([r.features for r in chosen.rows]), dtype=np.float64)
        columns.append(Column(predictor_label(predictor), "predictive", ranking(probabilities, labels)))
    return Backtest(len(labels), sum(labels), horizon_days, chosen.description, columns, chosen.warnings)


def backtest(
    store: Store,
    files: Sequence[Candidate],
    snapshots: Snapshots,
    horizon_days: float,
    observed_until: datetime,
    predictor: Predictor | None = None,
    project_models: Sequence[CompiledModel] = (),
) -> Backtest:
    """Replays the store's leads at every snapshot under each candidate (and, for the predictive score's
    features, the project's models) and evaluates them side by side."""
    if not files and predictor is None:
        raise ValueError("expected a model file or a predictive artifact to backtest")
    scored = [c.compiled for c in files] + (list(project_models) if predictor is not None else [])
    facets = predictor_facets(predictor)
    rows = list(training_rows(store, scored, snapshots, horizon_days, observed_until, facets=facets))
    if not rows:
        raise ValueError(
            "no rows to evaluate: no lead has a snapshot whose outcome is known; check the snapshot "
            "options and --as-of, and that outcomes are loaded"
        )
    return evaluate(rows, [(c.label, c.compiled) for c in files], predictor, horizon_days)
