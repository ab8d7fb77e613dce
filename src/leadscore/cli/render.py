"""Tables for people: top leads, explanations, ingest summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from leadscore.engine.types import from_micros
from leadscore.service.ingest import IngestReport
from leadscore.service.rescore import RescoreReport
from leadscore.store.protocol import StoredPrediction, StoredScore


def points(cents: int) -> str:
    return f"{cents / 100:.2f}"


def when(micros: int | None) -> str:
    return from_micros(micros).strftime("%Y-%m-%d %H:%M") if micros is not None else "-"


def top_table(rows: Sequence[StoredScore], title: str, predictions: Mapping[int, float] | None = None) -> Table:
    """``predictions``: each lead's predictive probability, shown beside the points when there are any."""
    table = Table(title=title)
    table.add_column("lead", no_wrap=True)
    for name in ("total", "fit", "eng."):
        table.add_column(name, justify="right", no_wrap=True)
    if predictions:
        table.add_column("p(convert)", justify="right", no_wrap=True)
    for name in ("tier", "cell", "stage"):
        table.add_column(name, no_wrap=True)
    table.add_column("top reasons", ratio=1)
    for row in rows:
        probability = [] if not predictions else [_share(predictions.get(row.lead_seq))]
        table.add_row(
            row.email or row.lead_id,
            points(row.total_cents),
            points(row.fit_cents),
            points(row.engagement_cents),
            *probability,
            row.tier,
            f"{row.grade}{row.level}",
            row.stage,
            reasons(row.contributions),
        )
    return table


def _share(probability: float | None) -> str:
    return "-" if probability is None else f"{probability:.1%}"


def prediction_table(prediction: StoredPrediction) -> Table:
    """A lead's predictive score and the features that pushed it up and down, in log-odds."""
    title = (
        f"{prediction.name} {prediction.version}: {_share(prediction.probability)} chance of converting "
        f"(as of {when(prediction.as_of)})"
    )
    table = Table(title=title)
    table.add_column("reason", justify="left")
    table.add_column("log-odds", justify="right")
    for item in [*prediction.reasons.get("up", []), *prediction.reasons.get("down", [])]:
        table.add_row(str(item["value"]), f"{float(item['contribution']):+.3f}")
    return table


def reasons(contributions: Sequence[dict[str, Any]], count: int = 3) -> str:
    """The rules that added the most points, as ``rule +points``."""
    ranked = sorted((c for c in contributions if c["kind"] != "limit"), key=lambda c: -abs(float(c["points"])))[:count]
    return ", ".join(f"{c['rule']} {float(c['points']):+.0f}" for c in ranked)


def contributions_table(score: StoredScore) -> Table:
    table = Table(title=f"{score.model}: total {points(score.total_cents)}")
    for name in ("rule", "kind", "events", "counted", "raw points", "points"):
        table.add_column(name, justify="left" if name in ("rule", "kind") else "right")
    for c in score.contributions:
        table.add_row(c["rule"], c["kind"], str(c["count"]), str(c["counted"]), str(c["raw_points"]), str(c["points"]))
    table.add_section()
    table.add_row("fit", "", "", "", "", points(score.fit_cents))
    table.add_row("engagement", "", "", "", "", points(score.engagement_cents))
    table.add_row("total", "", "", "", "", points(score.total_cents))
    table.caption = (
        f"tier {score.tier} · grade {score.grade} · level {score.level} · matrix {score.grade}{score.level} · "
        f"stage {score.stage} ({score.stage_reason}) · as of {when(score.as_of)} · "
        f"last engagement {when(score.last_engagement_at)}"
    )
    return table


def history_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="score history (newest first)")
    for name in ("model", "as of", "total", "fit", "engagement", "tier", "stage", "cause"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            row["model"],
            when(row["as_of"]),
            points(row["total_cents"]),
            points(row["fit_cents"]),
            points(row["engagement_cents"]),
            row["tier"],
            row["stage"],
            row["cause"],
        )
    return table


def transitions_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="stage transitions")
    for name in ("model", "at", "from", "to", "reason", "cause"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            row["model"], when(row["at"]), row["from_stage"] or "-", row["to_stage"], row["reason"], row["cause"]
        )
    return table


def ingest_summary(report: IngestReport) -> str:
    parts = [f"read {report.read}", f"loaded {report.loaded}"]
    if report.kind == "leads":
        parts.append(f"updated {report.updated}")
    if report.accounts:
        parts.append(f"accounts {report.accounts}")
    parts += [f"duplicates {report.duplicates}", f"rejected {report.rejected}"]
    scored = f"; scores changed {report.score_changes}" if report.scored else "; not scored yet"
    if report.kind == "outcomes":
        scored = ""
    return f"{report.kind} from {report.source}: " + ", ".join(parts) + scored


def rescore_summary(report: RescoreReport, seconds: float) -> str:
    rate = report.events / seconds if seconds > 0 else 0.0
    return (
        f"rescored {report.leads} leads ({report.events} events) and {report.accounts} accounts in {seconds:.1f} s "
        f"with {report.workers} worker{'s' if report.workers != 1 else ''} "
        f"({rate:,.0f} events/s); {report.changed} scores changed, {report.stage_changes} stage changes"
    )
