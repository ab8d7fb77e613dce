"""Writing records to CSV and JSONL: the readers read back what the writers wrote."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadscore.ingest.readers import read_events, read_leads
from leadscore.ingest.records import EventRecord, LeadRecord, Reject
from leadscore.ingest.writers import (
    EVENT_COLUMNS,
    EVENT_PROPERTY_COLUMNS,
    LEAD_COLUMNS,
    iso_utc,
    write_events_csv,
    write_events_jsonl,
    write_leads_csv,
    write_leads_jsonl,
)
from leadscore.sample import sample_events, sample_leads


def test_iso_utc_ends_in_z() -> None:
    assert iso_utc(datetime(2024, 5, 1, 9, 30, tzinfo=UTC)) == "2024-05-01T09:30:00Z"
    assert iso_utc(datetime(2024, 5, 1, 11, 30, 0, 5, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-05-01T09:30:00.000005Z"
    )
    with pytest.raises(ValueError, match="naive"):
        iso_utc(datetime(2024, 5, 1))


def test_leads_csv_round_trip(tmp_path: Path) -> None:
    leads = list(sample_leads(200, seed=5))
    path = tmp_path / "leads.csv"
    assert write_leads_csv(path, leads) == 200
    with path.open(encoding="utf-8", newline="") as file:
        header = next(csv.reader(file))
    assert tuple(header) == LEAD_COLUMNS
    read = [record for record in read_leads(path)]
    assert not [r for r in read if isinstance(r, Reject)]
    for written, back in zip(leads, read, strict=True):
        assert isinstance(back, LeadRecord)
        assert (back.id, back.email, back.created_at) == (written.id, written.email, written.created_at)
        assert back.fields["company_size"] == written.fields["company_size"]
        assert back.fields.get("title") == written.fields.get("title")


def test_leads_jsonl_round_trip(tmp_path: Path) -> None:
    leads = list(sample_leads(50, seed=5))
    path = tmp_path / "leads.jsonl"
    assert write_leads_jsonl(path, leads) == 50
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == leads[0].id and first["created_at"].endswith("Z")
    read = list(read_leads(path))
    assert [r.id for r in read if isinstance(r, LeadRecord)] == [lead.id for lead in leads]


def test_events_jsonl_round_trip(tmp_path: Path) -> None:
    leads = list(sample_leads(100, seed=5))
    events = list(sample_events(leads, 1_000, seed=5))
    path = tmp_path / "events.jsonl"
    assert write_events_jsonl(path, events) == 1_000
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == ["id", "lead_id", "email", "type", "occurred_at", "properties"]
    assert first["occurred_at"].endswith("Z")
    read = list(read_events(path))
    assert not [r for r in read if isinstance(r, Reject)]
    for written, back in zip(events, read, strict=True):
        assert isinstance(back, EventRecord)
        assert (back.id, back.lead_id, back.email, back.type) == (
            written.id,
            written.lead_id,
            written.email,
            written.type,
        )
        assert (back.occurred_at, back.properties) == (written.occurred_at, written.properties)


def test_events_csv_round_trip(tmp_path: Path) -> None:
    events = list(sample_events(100, 1_000, seed=5))
    path = tmp_path / "events.csv"
    assert write_events_csv(path, events) == 1_000
    with path.open(encoding="utf-8", newline="") as file:
        header = next(csv.reader(file))
    assert tuple(header) == EVENT_COLUMNS + EVENT_PROPERTY_COLUMNS
    read = list(read_events(path))
    for written, back in zip(events, read, strict=True):
        assert isinstance(back, EventRecord)
        assert (back.id, back.lead_id, back.type, back.occurred_at) == (
            written.id,
            written.lead_id,
            written.type,
            written.occurred_at,
        )
        assert back.properties == written.properties


def test_values_without_a_column_are_refused(tmp_path: Path) -> None:
    lead = LeadRecord(id="1", email="a@b.io", fields={"email": "a@b.io", "shoe_size": 44})
    with pytest.raises(ValueError, match="shoe_size"):
        write_leads_csv(tmp_path / "leads.csv", [lead])
    assert write_leads_csv(tmp_path / "leads.csv", [lead], columns=(*LEAD_COLUMNS, "shoe_size")) == 1
    event = EventRecord("e1", "page_view", datetime(2024, 1, 1, tzinfo=UTC), "1", properties={"referrer": "x"})
    with pytest.raises(ValueError, match="referrer"):
        write_events_csv(tmp_path / "events.csv", [event])
    with pytest.raises(ValueError, match="clash"):
        write_events_csv(tmp_path / "events.csv", [event], properties=("type",))
