"""The review: every figure that says whether the scores work, computed once as plain JSON-able data.

The HTML report (``review_html``) and the JSON file are both made from the dict built here, so the two
always say the same thing, and a notebook can redraw any chart from the JSON. Rows are point-in-time
(``dataset``); with a predictive artifact, only the rows it did not learn from are used, for every score,
so that the rules models and the predictive score are compared on the same leads (``holdout``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from leadscore.engine.compiled import CompiledModel
from leadscore.predict.conversion import conversion_by
from leadscore.predict.dataset import Row, Snapshots, training_rows
from leadscore.predict.funnel import funnels
from leadscore.predict.holdout import EvaluationRows, Predictor, evaluation_rows, predictor_facets, predictor_label
from leadscore.predict.metrics import calibration, expected_calibration_error, gains, ranking
from leadscore.predict.rule_lift import rule_lifts
from leadscore.store.protocol import Store

HISTOGRAM_BINS = 20
QUANTILES = (10, 25, 50, 75, 90)


def review(
    store: Store,
    models: Sequence[CompiledModel],
    snapshots: Snapshots,
    horizon_days: float,
    observed_until: datetime,
    predictor: Predictor | None = None,
) -> dict[str, Any]:
    """Replays the store into point-in-time rows and computes every figure of the review on them."""
    facets = predictor_facets(predictor)
    rows = list(training_rows(store, models, snapshots, horizon_days, observed_until, facets=facets))
    if not rows:
        raise ValueError(
            "no rows to review: no lead has a snapshot whose outcome is known; check the snapshot options and "
            "--as-of, and that outcomes are loaded"
        )
    named = [(m.model.name, m) for m in models]
    chosen = evaluation_rows(rows, predictor, horizon_days)
    out = figures(chosen, named, predictor)
    out["funnel"] = funnels(store, named, _first_tiers(chosen.rows, named), observed_until)
    out["summary"]["observed_until"] = _iso(observed_until)
    out["summary"]["snapshots"] = {
        "after_creation_days": list(snapshots.after_creation_days),
        "dates": [_iso(d) for d in snapshots.dates],
    }
    return out


def figures(
    chosen: EvaluationRows, models: Sequence[tuple[str, CompiledModel]], predictor: Predictor | None
) -> dict[str, Any]:
    """Every figure but the funnel (which reads the store), on the chosen rows. ``models`` pairs the name
    of each model's columns in the rows with the model."""
    kept = chosen.rows
    labels = np.asarray([r.label for r in kept], dtype=np.int64)
    scores: dict[str, NDArray[np.float64]] = {
        label: np.asarray([float(r.features[f"{label}.total"]) for r in kept]) for label, _ in models
    }
    calibrated: dict[str, Any] | None = None
    if predictor is not None:
        name = predictor_label(predictor)
        probabilities = np.asarray(predictor.predict([r.features for r in kept]), dtype=np.float64)
        scores[name] = probabilities
        calibrated = {
            "label": name,
            "expected_calibration_error": expected_calibration_error(probabilities, labels),
            "bins": calibration(probabilities, labels),
        }
    months = [r.snapshot.strftime("%Y-%m") for r in kept]
    return {
        "summary": {
            "rows": len(kept),
            "positives": int(labels.sum()),
            "horizon_days": chosen.horizon_days,
            "evaluated_on": chosen.description,
            "warnings": list(chosen.warnings),
            "models": {label: compiled.key for label, compiled in models},
            "predictive": _about(predictor),
        },
        "ranking": {label: ranking(s, labels).as_dict() for label, s in scores.items()},
        "gains": {label: gains(s, labels) for label, s in scores.items()},
        "calibration": calibrated,
        "conversion": {label: _conversion(kept, label, compiled) for label, compiled in models},
        "distributions": {label: _distribution(s, labels) for label, s in scores.items()},
        "rule_lift": {label: rule_lifts(kept, compiled, label) for label, compiled in models},
        "drift": {
            "conversion": conversion_by(months, labels.tolist(), sorted(set(months))),
            "scores": {label: _by_month(s, months) for label, s in scores.items()},
        },
    }


def _conversion(rows: Sequence[Row], label: str, compiled: CompiledModel) -> dict[str, list[dict[str, object]]]:
    """Conversion by tier, grade, stage and matrix cell (grade and engagement level), best first."""
    model = compiled.model
    labels = [r.label for r in rows]
    tiers = [r.features.get(f"{label}.tier") for r in rows]
    grades = [r.features.get(f"{label}.grade") for r in rows]
    stages = [r.features.get(f"{label}.stage") for r in rows]
    levels = [compiled.place_level(round(float(r.features[f"{label}.engagement"]) * 100)) for r in rows]
    cells = [f"{g}{v}" for g, v in zip(grades, levels, strict=True)]
    lifecycle = model.lifecycle
    return {
        "tier": conversion_by(tiers, labels, model.tiers.names()),
        "grade": conversion_by(grades, labels, model.grades.names()),
        "stage": conversion_by(stages, labels, [*reversed(lifecycle.names()), lifecycle.disqualified_stage]),
        "matrix": conversion_by(cells, labels, [g + v for g in model.grades.names() for v in model.levels.names()]),
    }


def _distribution(scores: NDArray[np.float64], labels: NDArray[np.int64]) -> dict[str, Any]:
    """Histograms of the score for converted and other rows, on the same bins."""
    edges = np.histogram_bin_edges(scores, bins=HISTOGRAM_BINS)
    converted = scores[labels == 1]
    others = scores[labels == 0]
    return {
        "edges": [float(e) for e in edges],
        "converted": [int(c) for c in np.histogram(converted, bins=edges)[0]],
        "not_converted": [int(c) for c in np.histogram(others, bins=edges)[0]],
        "median_converted": float(np.median(converted)) if len(converted) else None,
        "median_not_converted": float(np.median(others)) if len(others) else None,
    }


def _by_month(scores: NDArray[np.float64], months: Sequence[str]) -> list[dict[str, Any]]:
    """The score's spread per month of snapshot: a shift says the leads, or the scoring, changed."""
    month_of = np.asarray(months)
    out = []
    for month in sorted(set(months)):
        values = scores[month_of == month]
        spread = {f"p{q}": float(v) for q, v in zip(QUANTILES, np.percentile(values, QUANTILES), strict=True)}
        out.append({"month": month, "rows": len(values), "mean": float(values.mean()), **spread})
    return out


def _first_tiers(rows: Sequence[Row], models: Sequence[tuple[str, CompiledModel]]) -> dict[str, dict[str, str | None]]:
    """Each lead's tier at its earliest evaluated snapshot, per model."""
    out: dict[str, dict[str, str | None]] = {label: {} for label, _ in models}
    for row in sorted(rows, key=lambda r: r.snapshot):
        for label, _ in models:
            out[label].setdefault(row.lead_id, row.features.get(f"{label}.tier"))
    return out


def _about(predictor: Predictor | None) -> dict[str, Any] | None:
    if predictor is None:
        return None
    meta: Mapping[str, Any] = predictor.metadata
    holdout = meta.get("holdout")
    if isinstance(holdout, Mapping) and "lead_ids" in holdout:
        holdout = {**{k: v for k, v in holdout.items() if k != "lead_ids"}, "leads": len(holdout["lead_ids"])}
    about = {k: meta.get(k) for k in ("version", "kind", "horizon_days")}
    return {"label": predictor_label(predictor), **about, "holdout": holdout}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
