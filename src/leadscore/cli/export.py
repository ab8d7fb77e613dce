"""``leadscore export``: one row per lead with every model's scores, ready for re-import into a CRM."""

from __future__ import annotations

import csv
import heapq
import json
import sys
from collections.abc import Iterator, Sequence
from enum import StrEnum
from itertools import groupby
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from leadscore.cli.context import console, opened, user_errors
from leadscore.store.protocol import Store, StoredPrediction, StoredScore

FIELDS = ("total", "fit", "engagement", "tier", "grade", "level", "matrix", "stage")


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _values(score: StoredScore) -> dict[str, Any]:
    return {
        "total": f"{score.total_cents / 100:.2f}",
        "fit": f"{score.fit_cents / 100:.2f}",
        "engagement": f"{score.engagement_cents / 100:.2f}",
        "tier": score.tier,
        "grade": score.grade,
        "level": score.level,
        "matrix": f"{score.grade}{score.level}",
        "stage": score.stage,
    }


def lead_rows(store: Store, models: Sequence[str]) -> Iterator[tuple[StoredScore, dict[str, dict[str, Any]]]]:
    """Each lead once, with its scores keyed by model, streamed in lead order."""
    streams = [store.iter_scores([m]) for m in models]
    merged = heapq.merge(*streams, key=lambda s: s.lead_seq)
    for _, group in groupby(merged, key=lambda s: s.lead_seq):
        scores = list(group)
        yield scores[0], {s.model: _values(s) for s in scores}


def column_prefix(model: str, models: Sequence[str]) -> str:
    """The model's name; ``name_vVERSION`` when two versions of one model run side by side."""
    name = model.split("@", 1)[0]
    shared = sum(1 for m in models if m.split("@", 1)[0] == name) > 1
    return model.replace("@", "_v", 1) if shared else name


Predictions = dict[int, list[StoredPrediction]]


def reason_text(prediction: StoredPrediction) -> str:
    """Reason codes in one CRM-friendly cell: ``+ events.demo.30d = 1; - field.country missing``."""
    parts = [f"+ {r['value']}" for r in prediction.reasons.get("up", [])]
    parts += [f"- {r['value']}" for r in prediction.reasons.get("down", [])]
    return "; ".join(parts)


def _predictive(predictions: Predictions, seq: int) -> dict[str, StoredPrediction]:
    return {p.name: p for p in predictions.get(seq, [])}


def write_csv(out: IO[str], store: Store, models: Sequence[str]) -> int:
    predictions = store.predictions()
    names = sorted({p.name for found in predictions.values() for p in found})
    header = ["id", "email"] + [f"{column_prefix(m, models)}_{f}" for m in models for f in FIELDS]
    header += [f"{n}_{f}" for n in names for f in ("probability", "reasons")]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for first, by_model in lead_rows(store, models):
        row: list[Any] = [first.lead_id, first.email or ""]
        for m in models:
            values = by_model.get(m, {})
            row += [values.get(f, "") for f in FIELDS]
        mine = _predictive(predictions, first.lead_seq)
        for n in names:
            found = mine.get(n)
            row += [f"{found.probability:.4f}", reason_text(found)] if found else ["", ""]
        writer.writerow(row)
        count += 1
    return count


def write_jsonl(out: IO[str], store: Store, models: Sequence[str]) -> int:
    predictions = store.predictions()
    count = 0
    for first, by_model in lead_rows(store, models):
        scores = {
            model: {k: float(v) if k in ("total", "fit", "engagement") else v for k, v in values.items()}
            for model, values in by_model.items()
        }
        item: dict[str, Any] = {"id": first.lead_id, "email": first.email, "scores": scores}
        mine = _predictive(predictions, first.lead_seq)
        if mine:
            item["predictive"] = {n: {"version": p.version, **p.reasons} for n, p in mine.items()}
        out.write(json.dumps(item) + "\n")
        count += 1
    return count


@user_errors
def export(
    ctx: typer.Context,
    format: Annotated[Format, typer.Option("--format", "-f", help="csv or jsonl.")] = Format.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Write id, email and every model's scores, tier, grade and stage per lead."""
    with opened(ctx) as (project, store):
        models = [m.model.key for m in project.models]
        writer = write_csv if format is Format.csv else write_jsonl
        if output is None:
            writer(sys.stdout, store, models)
            return
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = writer(handle, store, models)
        console.print(f"wrote {count} leads to {output}")
