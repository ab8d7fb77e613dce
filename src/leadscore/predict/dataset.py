"""Point-in-time training rows: one row per lead and snapshot time, with features built only from what was
known at the snapshot, and a label saying whether the lead converted within the horizon after it.

What "known at the snapshot" means here:

- events: only those that occurred at or before the snapshot count, for counts, recency and the rules
  models' scores (the reference engine scores each lead as of the snapshot);
- lead fields: the store keeps each lead's current fields, not their history. A field filled in after the
  snapshot (by sales, say) can leak the outcome. ``leakage.check`` flags columns that predict too well and
  says how many rows' fields changed after their snapshot; exclude such columns.

A lead with no creation time and no events is taken to exist at every fixed date. A snapshot is dropped
when the lead did not exist yet, when an outcome was already recorded at or before it, or when its horizon
is not over by ``observed_until`` and no outcome was recorded in what was observed (its label is not known
yet; a lead lost or disqualified is taken as closed, so its label is known). An outcome with no time (a
lead file's label column, a leadforge bundle's labels) is final: converted counts as converted within any
horizon, since when is unknown, and lost as not converted. The rows say so in ``label_timed``.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import orjson

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import assemble_cents, occurrences_from_rows
from leadscore.engine.types import US_PER_DAY, Lead, from_micros, to_micros
from leadscore.predict.facets import Facets, count_column, last_column
from leadscore.store.protocol import EventRow, Store

WINDOWS_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class Snapshots:
    """When to take each lead's snapshots: days after its creation, and fixed dates (UTC)."""

    after_creation_days: tuple[int, ...] = ()
    dates: tuple[datetime, ...] = ()

    def times_us(self, created_us: int | None) -> list[int]:
        out = [to_micros(d) for d in self.dates]
        if created_us is not None:
            out += [created_us + days * US_PER_DAY for days in self.after_creation_days]
        return sorted(set(out))


@dataclass(frozen=True)
class Row:
    lead_id: str
    snapshot: datetime
    label: int
    label_timed: bool
    fields_changed_after: bool
    features: dict[str, Any]
    account_id: str | None = None


def training_rows(
    store: Store,
    models: Sequence[CompiledModel],
    snapshots: Snapshots,
    horizon_days: float,
    observed_until: datetime,
    event_types: Sequence[str] | None = None,
    facets: Facets | None = None,
) -> Iterator[Row]:
    """Rows for every lead with a usable snapshot, in lead order; see the module docstring for the rules.

    ``event_types`` fixes the count columns (default: every type in the store), so that two datasets built
    apart have the same columns; ``facets`` adds counts per property value and sums (see ``facets``)."""
    horizon_us = round(horizon_days * US_PER_DAY)
    until_us = to_micros(observed_until)
    outcomes: dict[int, list[tuple[str, int | None]]] = {}
    for seq, outcome, at in store.outcomes():
        outcomes.setdefault(seq, []).append((outcome, at))
    types = sorted(event_types) if event_types is not None else store.event_types()
    updated = store.lead_updated_at()
    for seq, lead, rows in store.scan():
        created_us = to_micros(lead.created_at) if lead.created_at is not None else _first(rows)
        known = outcomes.get(seq, [])
        for at_us in snapshots.times_us(created_us):
            if created_us is not None and at_us < created_us:
                continue
            if any(when is not None and when <= at_us for _, when in known):
                continue  # already closed at the snapshot: nothing to predict
            label, timed = _label(known, at_us, horizon_us)
            closed = any(when is None or at_us < when <= until_us for _, when in known)
            if label == 0 and at_us + horizon_us > until_us and not closed:
                continue  # the horizon is not over yet and nothing is known: the label is unknown
            features = features_at(lead, rows, at_us, created_us, models, types, facets)
            account = lead.account.id if lead.account is not None else None
            yield Row(lead.id, from_micros(at_us), label, timed, updated.get(seq, 0) > at_us, features, account)


def check_excluded(rows: Sequence[Row], exclude: Sequence[str]) -> None:
    """Raises ``ValueError`` for a column to leave out that no row has: a misspelt name (``field.Converted``
    for ``field.converted``) would otherwise leave the column in, the outcome itself in the worst case."""
    if not rows or not exclude:
        return
    columns = {c for r in rows for c in r.features}
    unknown = [name for name in dict.fromkeys(exclude) if name not in columns]
    if not unknown:
        return
    folded = {c.casefold(): c for c in sorted(columns)}
    hints = []
    for name in unknown:
        near = [folded[name.casefold()]] if name.casefold() in folded else get_close_matches(name, columns, n=1)
        hints.append(f"{name} (did you mean {near[0]}?)" if near else name)
    raise ValueError(f"--exclude: no row has the column {', '.join(hints)}; column names are case-sensitive")


def without_columns(rows: Sequence[Row], exclude: Sequence[str]) -> list[Row]:
    """The rows without the columns to leave out, each of which some row must have (``check_excluded``)."""
    check_excluded(rows, exclude)
    dropped = set(exclude)
    return [replace(r, features={k: v for k, v in r.features.items() if k not in dropped}) for r in rows]


def _label(known: list[tuple[str, int | None]], at_us: int, horizon_us: int) -> tuple[int, bool]:
    for outcome, when in known:
        if outcome != "converted":
            continue
        if when is None:
            return 1, False
        if at_us < when <= at_us + horizon_us:
            return 1, True
    return 0, all(when is not None for _, when in known)


def features_at(
    lead: Lead,
    rows: list[EventRow],
    at_us: int,
    created_us: int | None,
    models: Sequence[CompiledModel],
    types: Sequence[str],
    facets: Facets | None = None,
) -> dict[str, Any]:
    """A lead's features as known at ``at_us``: the same columns for training rows and for live scoring."""
    past = [r for r in rows if r[2] <= at_us]
    out: dict[str, Any] = {f"field.{k}": v for k, v in sorted(lead.fields.items()) if k != "email"}
    if lead.account is not None:
        out.update({f"account.{k}": v for k, v in sorted(lead.account.fields.items())})
    # Unrounded, as the last-event columns: an inactivity penalty recomputed from them (the suggested
    # scorecard's) must count the engine's whole periods to the microsecond.
    out["age_days"] = (at_us - created_us) / US_PER_DAY if created_us is not None else None
    last = max((r[2] for r in past), default=None)
    out["days_since_last_event"] = round((at_us - last) / US_PER_DAY, 3) if last is not None else None
    first = min((r[2] for r in past), default=None)
    out["days_since_first_event"] = round((at_us - first) / US_PER_DAY, 3) if first is not None else None
    times_by_type: dict[str, list[int]] = {}
    for _, kind, when, _ in past:
        times_by_type.setdefault(kind, []).append(when)
    for kind in types:
        times = sorted(times_by_type.get(kind, []))
        for days in WINDOWS_DAYS:
            out[count_column(kind, None, days)] = len(times) - bisect_right(times, at_us - days * US_PER_DAY)
        out[last_column(kind)] = (at_us - times[-1]) / US_PER_DAY if times else None
    if facets is not None:
        out.update(facets.features(past, at_us, WINDOWS_DAYS))
    for compiled in models:
        occurrences = occurrences_from_rows(compiled, rows, unique=True)
        score = assemble_cents(compiled, lead, occurrences, at_us)
        prefix = f"{compiled.model.name}."
        out[prefix + "fit"] = score.fit / 100
        out[prefix + "engagement"] = score.engagement / 100
        out[prefix + "total"] = score.total / 100
        out[prefix + "tier"] = score.tier
        out[prefix + "grade"] = score.grade
        out[prefix + "stage"] = score.stage
        points = {line[0]: line[2] / 100 for line in score.lines}
        for crule in compiled.rules:
            times = occurrences[crule.index]
            upto = bisect_right(times, at_us)
            for days in WINDOWS_DAYS:
                out[f"{prefix}rule.{crule.name}.{days}d"] = upto - bisect_right(times, at_us - days * US_PER_DAY)
            out[f"{prefix}points.{crule.name}"] = points.get(crule.name, 0.0)
        for frule in compiled.fit:
            out[f"{prefix}points.{frule.rule.name}"] = points.get(frule.rule.name, 0.0)
    return out


def _first(rows: list[EventRow]) -> int | None:
    return min((r[2] for r in rows), default=None)


def _flat(row: Row) -> dict[str, Any]:
    return {
        "lead_id": row.lead_id,
        "snapshot": row.snapshot.isoformat().replace("+00:00", "Z"),
        "label": row.label,
        "label_timed": row.label_timed,
        "fields_changed_after": row.fields_changed_after,
        "account_id": row.account_id,
        **row.features,
    }


def write_rows(rows: Sequence[Row], path: Path) -> int:
    """Rows as CSV (columns: the union over rows, missing values empty) or JSONL, by the file's suffix."""
    flat = [_flat(r) for r in rows]
    with path.open("w", encoding="utf-8", newline="") as handle:
        if path.suffix == ".jsonl":
            for item in flat:
                handle.write(orjson.dumps(item, default=str).decode() + "\n")
            return len(flat)
        columns = list(dict.fromkeys(k for item in flat for k in item))
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        writer.writerows(flat)
    return len(flat)
