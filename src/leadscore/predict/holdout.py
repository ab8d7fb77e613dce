"""Which rows a predictive model may be judged on: the ones it did not learn from.

A model scored on its own training rows looks better than it is. The artifact records how its held-out
leads were chosen (``metadata["holdout"]``: the newest leads, or a hash of the account), and the backtest
and the review keep only their rows, for the predictive score and for the rules models beside it, so that
every column is measured on the same leads. ``train.held_out`` decides, so the split means the same here
as in training. Rules models learn nothing from outcomes, so without a predictive model every row is fair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from numpy.typing import ArrayLike

from leadscore.engine.types import US_PER_DAY, to_micros
from leadscore.predict.dataset import Row
from leadscore.predict.facets import Facets


class Predictor(Protocol):
    """What the backtest and the review need of a predictive artifact (``leadscore.predict.artifact``)."""

    @property
    def metadata(self) -> Mapping[str, Any]: ...

    def predict(self, features: Sequence[Mapping[str, Any]]) -> ArrayLike: ...


@dataclass(frozen=True)
class EvaluationRows:
    """The rows to evaluate on, labelled for ``horizon_days``; a sentence saying which; what to warn about."""

    rows: list[Row]
    horizon_days: float
    description: str
    warnings: tuple[str, ...] = ()


def predictor_facets(predictor: Predictor | None) -> Facets | None:
    """The property facets the artifact was trained on: rows built without them would hand it every facet
    column as missing, and its figures here would not be the ones ``train`` measured."""
    return Facets.from_dict(predictor.metadata.get("facets")) if predictor is not None else None


def predictor_label(predictor: Predictor) -> str:
    """The predictive score's column name: ``predictive@<version>``."""
    return f"predictive@{predictor.metadata.get('version') or '?'}"


def evaluation_rows(rows: Sequence[Row], predictor: Predictor | None, horizon_days: float) -> EvaluationRows:
    """All rows without a predictive model; with one, the rows of the leads it held out of training."""
    if predictor is None:
        return EvaluationRows(
            list(rows), horizon_days, f"all {len(rows)} rows (rules models learn nothing from outcomes)"
        )
    from leadscore.predict.train import held_out  # LightGBM is loaded only when a predictive model is judged

    meta = predictor.metadata
    warnings = []
    trained = meta.get("horizon_days")
    if trained is not None and float(trained) != float(horizon_days):
        warnings.append(
            f"the predictive model predicts converting within {float(trained):g} days, and is judged here on "
            f"{horizon_days:g} days"
        )
    holdout = meta.get("holdout")
    if not isinstance(holdout, Mapping) or holdout.get("by") not in ("none", "time", "group"):
        raise ValueError(f"predictive artifact: unknown holdout {holdout!r}: expected 'by' to be none, time or group")
    if holdout["by"] == "none":
        warnings.append(
            "the predictive model held no leads out of training: its figures here are measured on rows it learned "
            "from, and are optimistic"
        )
        return EvaluationRows(
            list(rows), horizon_days, f"all {len(rows)} rows (no leads were held out)", tuple(warnings)
        )
    created = _lead_times(rows)
    kept = [r for r in rows if held_out(dict(holdout), created[r.lead_id], r.account_id or f"lead:{r.lead_id}")]
    if not kept:
        raise ValueError(
            f"no rows to evaluate on: none of the {len(rows)} rows is of a lead the predictive model held out "
            f"({holdout!r}); take snapshots of newer leads, or check --as-of"
        )
    leads = len({r.lead_id for r in kept})
    how = f"created on or after {holdout.get('from')}" if holdout["by"] == "time" else "of held-out accounts"
    description = f"{len(kept)} rows of {leads} leads {how}, held out of the predictive model's training"
    return EvaluationRows(kept, horizon_days, description, tuple(warnings))


def _lead_times(rows: Sequence[Row]) -> dict[str, float | None]:
    """Each lead's creation (µs) as training saw it: the earliest snapshot less the lead's age then."""
    out: dict[str, float | None] = {}
    for row in rows:
        age = row.features.get("age_days")
        when = to_micros(row.snapshot) - float(age) * US_PER_DAY if age is not None else None
        before = out.get(row.lead_id)
        out[row.lead_id] = when if before is None else (before if when is None else min(before, when))
    return out
