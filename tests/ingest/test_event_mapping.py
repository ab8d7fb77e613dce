"""Event mappings: an activity export read as it is, its columns given roles and its names event types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadscore.ingest.errors import IngestError, MappingError
from leadscore.ingest.event_mapping import loads_event_mapping
from leadscore.ingest.readers import read_events
from leadscore.ingest.records import EventRecord, Reject

MAPPING = """\
name: crm_activities
id: Activity ID
email: Contact Email
type: Activity Type
occurred_at: Activity Date
rename:
  Page URL: url
ignore: [Owner]
event_types:
  Email Opened: email_open
  Page Visited: page_view
"""

ACTIVITIES_CSV = """\
Activity ID,Contact Email,Activity Type,Activity Date,Page URL,Owner,Campaign,event
A1,Ana@Acme.io,Email Opened,2026-02-01 09:00,,kim,spring,ignored-alias
A2,ana@acme.io,Page Visited,2026-02-02T10:00:00Z,https://x.io/pricing,kim,,
A3,ana@acme.io,Webinar Registered,2026-02-03,,kim,,
A4,,Page Visited,2026-02-04,https://x.io/,kim,,
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_columns_take_the_mapped_roles_names_and_types(tmp_path: Path) -> None:
    mapping = loads_event_mapping(MAPPING, "crm.yaml")
    rows = list(read_events(_write(tmp_path, "activities.csv", ACTIVITIES_CSV), mapping))

    events = [r for r in rows if isinstance(r, EventRecord)]
    assert [(e.id, e.email, e.type) for e in events] == [
        ("A1", "ana@acme.io", "email_open"),
        ("A2", "ana@acme.io", "page_view"),
        ("A3", "ana@acme.io", "Webinar Registered"),  # not listed: kept as the source wrote it
    ]
    assert events[0].occurred_at == datetime(2026, 2, 1, 9, tzinfo=UTC)
    # Renamed, kept, ignored: "Owner" is dropped, and the "event" alias is a property because the
    # mapping gave the type role to another column.
    assert events[0].properties == {"Campaign": "spring", "event": "ignored-alias"}
    assert events[1].properties == {"url": "https://x.io/pricing"}
    [reject] = [r for r in rows if isinstance(r, Reject)]
    assert (reject.line, reject.field) == (5, "Contact Email")


def test_jsonl_objects_go_through_the_same_mapping(tmp_path: Path) -> None:
    lines = [
        {
            "Activity ID": "J1",
            "Contact Email": "bo@beta.io",
            "Activity Type": "Page Visited",
            "Activity Date": "2026-02-05",
            "Page URL": "https://x.io/pricing",
            "Owner": "kim",
        },
        {"Activity ID": "J2", "Contact Email": "bo@beta.io", "Activity Type": "Email Opened", "Activity Date": "nope"},
    ]
    path = _write(tmp_path, "activities.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    rows = list(read_events(path, loads_event_mapping(MAPPING)))

    assert isinstance(rows[0], EventRecord)
    assert (rows[0].id, rows[0].type, rows[0].properties) == ("J1", "page_view", {"url": "https://x.io/pricing"})
    assert isinstance(rows[1], Reject)
    assert (rows[1].line, rows[1].field) == (2, "Activity Date")


def test_a_jsonl_line_without_a_mapped_key_is_rejected_naming_it_and_the_file_goes_on(tmp_path: Path) -> None:
    lines = [
        {"Activity ID": "J1", "Contact Email": "bo@beta.io", "type": "Email Opened"},  # no Activity Type
        {
            "Activity ID": "J2",
            "Contact Email": "bo@beta.io",
            "Activity Type": "Email Opened",
            "Activity Date": "2026-02-05",
        },
    ]
    path = _write(tmp_path, "activities.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    first, second = read_events(path, loads_event_mapping(MAPPING))
    assert isinstance(first, Reject)
    assert (first.line, first.field) == (1, "Activity Type")  # the "type" key does not stand in for it
    assert isinstance(second, EventRecord) and second.type == "email_open"


def test_keep_unmapped_off_keeps_only_renamed_properties(tmp_path: Path) -> None:
    mapping = loads_event_mapping(MAPPING + "keep_unmapped: false\n")
    rows = list(read_events(_write(tmp_path, "activities.csv", ACTIVITIES_CSV), mapping))
    assert [r.properties for r in rows if isinstance(r, EventRecord)] == [{}, {"url": "https://x.io/pricing"}, {}]


def test_a_role_the_mapping_leaves_out_is_found_by_its_alias(tmp_path: Path) -> None:
    mapping = loads_event_mapping("email: Who\nevent_types: {Opened: email_open}\n")
    path = _write(tmp_path, "e.csv", "event_id,Who,type,timestamp\nE1,ana@acme.io,Opened,2026-02-01\n")
    [event] = list(read_events(path, mapping))
    assert isinstance(event, EventRecord)
    assert (event.id, event.email, event.type, event.properties) == ("E1", "ana@acme.io", "email_open", {})


def test_a_mapped_column_missing_from_the_header_stops_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.csv", "Activity ID,Contact Email,Activity Type\nA1,a@b.io,Email Opened\n")
    with pytest.raises(IngestError, match=r"names column 'Activity Date' for occurred_at; header: \["):
        read_events(path, loads_event_mapping(MAPPING))


def test_a_bad_mapping_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", "id: Activity ID\nrename:\n  Page URL: Page URL\ncolour: red\n")
    with pytest.raises(MappingError) as caught:
        read_events(_write(tmp_path, "e.csv", ACTIVITIES_CSV), path)
    assert str(caught.value).splitlines() == [
        "2 problems in column mapping",
        f"  {path}:3:3: rename.Page URL: expected a field name in snake_case (a-z, 0-9, _), got 'Page URL'",
        f"  {path}:4:1: colour: unknown field 'colour'",
    ]


def test_one_column_in_two_roles_is_refused() -> None:
    with pytest.raises(MappingError, match="expected each column once, got 'activity id' in both id and email"):
        loads_event_mapping("id: Activity ID\nemail: activity id\n", "m.yaml")
