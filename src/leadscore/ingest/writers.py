"""Writing lead and event records to the CSV and JSONL files that leadscore's readers accept.

Leads CSV: one column per field (``LEAD_COLUMNS``), times as ISO-8601 UTC with ``Z``. Leads JSONL: one
flat object per line. Events JSONL: ``{"id", "lead_id", "email", "type", "occurred_at", "properties"}``
per line. Events CSV: ``id,lead_id,type,occurred_at`` and one column per property. A value with no
column is an error, never dropped. Each writer streams and returns how many records it wrote.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from leadscore.ingest.records import EventRecord, LeadRecord

LEAD_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "company",
    "company_domain",
    "industry",
    "company_size",
    "annual_revenue",
    "country",
    "budget",
    "authority",
    "need",
    "timing",
    "lead_source",
    "created_at",
)
EVENT_COLUMNS = ("id", "lead_id", "type", "occurred_at")
#: The properties of ``leadscore.sample`` events, the default property columns of an events CSV.
EVENT_PROPERTY_COLUMNS = ("url", "form", "asset_type", "action", "network", "bounce_type", "campaign", "webinar")


def iso_utc(moment: datetime) -> str:
    """``2024-05-01T09:30:00Z``; naive datetimes are refused, not guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as JSON")


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str | int | float | date):
        return value.isoformat() if isinstance(value, date) else str(value)
    return _JSON.encode(value)


def _lead_row(lead: LeadRecord) -> dict[str, Any]:
    row: dict[str, Any] = {"id": lead.id, "email": lead.email or lead.fields.get("email")}
    row.update((name, value) for name, value in lead.fields.items() if name != "email")
    if lead.account_id is not None:
        row["account_id"] = lead.account_id
    if lead.created_at is not None:
        row["created_at"] = lead.created_at
    return row


def write_leads_csv(path: str | Path, leads: Iterable[LeadRecord], *, columns: Sequence[str] = LEAD_COLUMNS) -> int:
    known = set(columns)
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for lead in leads:
            row = _lead_row(lead)
            extra = [name for name, value in row.items() if name not in known and value is not None]
            if extra:
                raise ValueError(f"lead {lead.id!r} has field(s) {extra} with no column in {path}; add them to columns")
            writer.writerow([_cell(row.get(column)) for column in columns])
            written += 1
    return written


def write_leads_jsonl(path: str | Path, leads: Iterable[LeadRecord]) -> int:
    written = 0
    encode = _JSON.encode
    with Path(path).open("w", encoding="utf-8") as file:
        for lead in leads:
            file.write(encode(_lead_row(lead)) + "\n")
            written += 1
    return written


def write_events_jsonl(path: str | Path, events: Iterable[EventRecord]) -> int:
    written = 0
    encode = _JSON.encode
    with Path(path).open("w", encoding="utf-8") as file:
        for event in events:
            line = {
                "id": event.id,
                "lead_id": event.lead_id,
                "email": event.email,
                "type": event.type,
                "occurred_at": iso_utc(event.occurred_at),
                "properties": event.properties,
            }
            file.write(encode(line) + "\n")
            written += 1
    return written


def write_events_csv(
    path: str | Path, events: Iterable[EventRecord], *, properties: Sequence[str] = EVENT_PROPERTY_COLUMNS
) -> int:
    clash = sorted(set(properties) & set(EVENT_COLUMNS))
    if clash:
        raise ValueError(f"property column(s) {clash} would clash with the event columns {EVENT_COLUMNS}")
    known = set(properties)
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*EVENT_COLUMNS, *properties])
        for event in events:
            extra = [name for name in event.properties if name not in known]
            if extra:
                raise ValueError(
                    f"event {event.id!r} has property(ies) {extra} with no column in {path}; add them to properties"
                )
            if event.lead_id is None:
                raise ValueError(f"event {event.id!r} has no lead_id, which an events CSV needs ({path})")
            values = event.properties
            writer.writerow(
                [
                    event.id,
                    event.lead_id,
                    event.type,
                    iso_utc(event.occurred_at),
                    *(_cell(values.get(name)) for name in properties),
                ]
            )
            written += 1
    return written
