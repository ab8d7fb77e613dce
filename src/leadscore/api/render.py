"""Stored rows as API JSON: points as numbers (hundredths / 100 print exactly), times as ISO-8601 UTC."""

from __future__ import annotations

from typing import Any

from leadscore.api.schemas import AccountScoreOut, Contribution, PredictionOut, ScoreOut
from leadscore.engine.types import from_micros
from leadscore.store.protocol import StoredPrediction, StoredScore


def iso(micros: int | None) -> str | None:
    return from_micros(micros).isoformat().replace("+00:00", "Z") if micros is not None else None


def score_out(score: StoredScore, *, contributions: bool) -> ScoreOut:
    return ScoreOut(
        model=score.model,
        lead_id=score.lead_id,
        email=score.email,
        account_id=score.account_id,
        as_of=iso(score.as_of) or "",
        fit=score.fit_cents / 100,
        engagement=score.engagement_cents / 100,
        total=score.total_cents / 100,
        tier=score.tier,
        grade=score.grade,
        level=score.level,
        matrix=f"{score.grade}{score.level}",
        stage=score.stage,
        stage_reason=score.stage_reason,
        last_engagement_at=iso(score.last_engagement_at),
        contributions=[_contribution(c) for c in score.contributions] if contributions else None,
    )


def history_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = dict(row)
        for key in ("fit_cents", "engagement_cents", "total_cents"):
            item[key.removesuffix("_cents")] = item.pop(key) / 100
        item["as_of"] = iso(item["as_of"])
        item["recorded_at"] = iso(item["recorded_at"])
        out.append(item)
    return out


def transitions_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "at": iso(row["at"])} for row in rows]


def account_score_out(row: dict[str, Any]) -> AccountScoreOut:
    return AccountScoreOut(
        model=row["model"],
        as_of=iso(row["as_of"]) or "",
        rollup=row["rollup_cents"] / 100,
        fit=row["fit_cents"] / 100,
        total=row["total_cents"] / 100,
        tier=row["tier"],
        lead_count=row["lead_count"],
        contributions=[_contribution(c) for c in row["contributions"]],
    )


def _contribution(c: dict[str, Any]) -> Contribution:
    return Contribution(
        rule=c["rule"],
        kind=c["kind"],
        points=float(c["points"]),
        raw_points=float(c["raw_points"]),
        count=c["count"],
        counted=c["counted"],
    )


def prediction_out(prediction: StoredPrediction) -> PredictionOut:
    return PredictionOut(
        name=prediction.name,
        version=prediction.version,
        probability=prediction.probability,
        as_of=from_micros(prediction.as_of).isoformat(),
        up=list(prediction.reasons.get("up", [])),
        down=list(prediction.reasons.get("down", [])),
    )
