"""Reading lead and event files: line numbers, encodings, timestamps, rejects and file-level errors."""

from __future__ import annotations

import csv
import gzip
import json
import textwrap
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.ingest.errors import IngestError
from leadscore.ingest.mapping import ColumnMapping, loads_mapping
from leadscore.ingest.readers import read_events, read_leads, write_rejects
from leadscore.ingest.records import EventRecord, LeadRecord, Reject
from leadscore.ingest.values import parse_number, parse_timestamp

R = TypeVar("R", LeadRecord, EventRecord)
ROOT = Path(__file__).resolve().parents[2]
X_EDUCATION = ROOT.parent / "shared" / "datasets" / "x_education" / "Leads.csv"


def write(path: Path, text: str, newline: str = "\n") -> Path:
    """Writes ``text`` with the given line ending, byte for byte."""
    data = text.replace("\n", newline).encode("utf-8")
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def split(items: Iterable[R | Reject]) -> tuple[list[R], list[Reject]]:
    records: list[R] = []
    rejects: list[Reject] = []
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            records.append(item)
    return records, rejects


def leads(path: Path, mapping: ColumnMapping | None = None) -> tuple[list[LeadRecord], list[Reject]]:
    return split(read_leads(path, mapping))


def events(path: Path) -> tuple[list[EventRecord], list[Reject]]:
    return split(read_events(path))


def only_reject(rejects: list[Reject]) -> Reject:
    assert len(rejects) == 1, rejects
    return rejects[0]


# --- CSV layout: line endings, BOM, quoted multi-line fields ------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_lines_are_physical_lines_where_the_record_starts(tmp_path: Path, newline: str) -> None:
    text = (
        "id,email,title\n"
        'L1,a@x.io,"Head of\nGrowth"\n'
        "\n"
        "L2,b@x.io,CEO\n"
        'L3,c@x.io,"a ""quoted""\n\ntitle"\n'
        "L4,d@x.io,VP\n"
    )
    records, rejects = leads(write(tmp_path / "leads.csv", text, newline))
    assert rejects == []
    assert [(r.id, r.line) for r in records] == [("L1", 2), ("L2", 5), ("L3", 6), ("L4", 9)]
    assert records[0].fields["title"] == f"Head of{newline}Growth"
    assert records[2].fields["title"] == f'a "quoted"{newline}{newline}title'
    assert all(r.source == str(tmp_path / "leads.csv") for r in records)


def test_crlf_values_keep_no_carriage_return(tmp_path: Path) -> None:
    records, _ = leads(write(tmp_path / "leads.csv", "id,email,country\nL1,a@x.io,India\n", "\r\n"))
    assert records[0].fields == {"country": "India", "email": "a@x.io"}


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\xef\xbb\xbfid,email\r\nL1,a@x.io\r\n")
    records, rejects = leads(path)
    assert rejects == []
    assert records[0].id == "L1"
    assert records[0].line == 2


def test_values_are_trimmed_and_emails_lower_cased(tmp_path: Path) -> None:
    records, _ = leads(write(tmp_path / "leads.csv", "id,email,title\n L1 ,  Sam@Example.COM , VP \n"))
    assert (records[0].id, records[0].email) == ("L1", "sam@example.com")
    assert records[0].fields == {"title": "VP", "email": "sam@example.com"}


def test_select_is_missing_when_the_mapping_says_so(tmp_path: Path) -> None:
    mapping = loads_mapping('id: ID\nmissing_values: ["", Select]\nfields: {City: city, Stage: stage}\n')
    records, rejects = leads(write(tmp_path / "leads.csv", "ID,City,Stage\n1,Select,lead\n2,Mumbai,Select\n"), mapping)
    assert rejects == []
    assert [r.fields for r in records] == [{"stage": "lead"}, {"city": "Mumbai"}]


def test_default_missing_values(tmp_path: Path) -> None:
    records, _ = leads(write(tmp_path / "leads.csv", "id,a,b,c,d,e\nL1,,NULL,null,N/A,Select\n"))
    assert records[0].fields == {"e": "Select"}


# --- Typed lead fields ---------------------------------------------------------------------------------


def test_fields_are_typed_by_the_mapping(tmp_path: Path) -> None:
    mapping = loads_mapping(
        textwrap.dedent(
            """\
            id: ID
            created_at: Created
            account_id: Account
            fields: {Employees: company_size, Revenue: annual_revenue, Opt In: opted_in, Seen: last_seen, Zip: zip}
            types: {company_size: integer, annual_revenue: number, opted_in: boolean, last_seen: datetime, zip: text}
            """
        )
    )
    text = (
        'ID,Created,Account,Employees,Revenue,Opt In,Seen,Zip\n7,2024-01-05,ACME,"1,200",$2.5,Yes,1704448800000,01234\n'
    )
    records, rejects = leads(write(tmp_path / "leads.csv", text), mapping)
    assert rejects == []
    record = records[0]
    assert record.id == "7"
    assert record.account_id == "ACME"
    assert record.created_at == datetime(2024, 1, 5, tzinfo=UTC)
    assert record.fields == {
        "company_size": 1200,
        "annual_revenue": 2.5,
        "opted_in": True,
        "last_seen": datetime(2024, 1, 5, 10, 0, tzinfo=UTC),
        "zip": "01234",
    }


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (",,Sales,10,yes,2024-01-01", "id", "expected an id or an email"),
        ("L1,not-an-email,Sales,10,yes,2024-01-01", "email", "expected an email address"),
        ("L1,a@b c,Sales,10,yes,2024-01-01", "email", "expected an email address"),
        ("L1,a@x.io,Sales,ten,yes,2024-01-01", "employees", "company_size: expected a number, got 'ten'"),
        ('L1,a@x.io,Sales,"1,2",yes,2024-01-01', "employees", "thousands"),
        ("L1,a@x.io,Sales,10,maybe,2024-01-01", "opt_in", "opted_in: expected yes/no or true/false"),
        ("L1,a@x.io,Sales,10,yes,01/02/2024", "created_at", "expected an ISO-8601 timestamp"),
        ("L1,a@x.io,Sales,10,yes", None, "expected 6 values (one per header column), got 5"),
        ("L1,a@x.io,Sales,10,yes,2024-01-01,extra", None, "expected 6 values (one per header column), got 7"),
    ],
)
def test_each_bad_lead_row_is_rejected_with_line_and_field(
    tmp_path: Path, row: str, field: str | None, words: str
) -> None:
    mapping = loads_mapping(
        "id: id\nemail: email\ncreated_at: created_at\nfields: {department: department, employees: company_size,"
        " opt_in: opted_in}\ntypes: {company_size: number, opted_in: boolean}\n"
    )
    path = write(tmp_path / "leads.csv", f"id,email,department,employees,opt_in,created_at\nL0,ok@x.io,,,,\n{row}\n")
    records, rejects = leads(path, mapping)
    assert [r.id for r in records] == ["L0"]
    reject = only_reject(rejects)
    assert (reject.source, reject.line, reject.field) == (str(path), 3, field)
    assert words in reject.reason
    assert reject.raw is not None
    assert str(reject).startswith(f"{path}:3:")


def test_a_reject_does_not_stop_the_file(tmp_path: Path) -> None:
    rows = "\n".join(f"L{i},{'bad' if i % 3 == 0 else f'l{i}@x.io'}" for i in range(1, 11))
    records, rejects = leads(write(tmp_path / "leads.csv", f"id,email\n{rows}\n"))
    assert [r.id for r in records] == ["L1", "L2", "L4", "L5", "L7", "L8", "L10"]
    assert [r.line for r in rejects] == [4, 7, 10]


def test_email_is_also_a_field_for_rules(tmp_path: Path) -> None:
    records, _ = leads(write(tmp_path / "leads.csv", "email,title\nA@Gmail.com,CEO\n"))
    assert records[0].id is None
    assert records[0].fields["email"] == "a@gmail.com"


# --- JSONL ---------------------------------------------------------------------------------------------


def test_jsonl_leads_use_canonical_names(tmp_path: Path) -> None:
    text = (
        '{"id": 42, "email": "X@Y.io", "company_size": "1,500", "tags": ["a"], "created_at": "2024-01-05T10:00:00Z"}\n'
        '{"email": "z@y.io", "company_size": 12, "title": null}\n'
    )
    records, rejects = leads(write(tmp_path / "leads.jsonl", text))
    assert rejects == []
    assert records[0].id == "42"
    assert records[0].fields == {"company_size": 1500, "tags": ["a"], "email": "x@y.io"}
    assert records[0].created_at == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert records[1].fields == {"company_size": 12, "email": "z@y.io"}
    assert [r.line for r in records] == [1, 2]


def test_jsonl_with_a_broken_line_in_the_middle_still_loads_the_rest(tmp_path: Path) -> None:
    text = (
        '{"id": "e1", "lead_id": "L1", "type": "page_view", "occurred_at": "2024-01-01T00:00:00Z"}\n'
        '{"id": "e2", "lead_id": "L1", "type": "page_view", "occurred_at": \n'
        "\n"
        '["not", "an", "object"]\n'
        '{"id": "e3", "lead_id": "L1", "type": "email_open", "occurred_at": "2024-01-02T00:00:00Z"}\r\n'
    )
    path = write(tmp_path / "events.jsonl", text)
    records, rejects = events(path)
    assert [(r.id, r.line) for r in records] == [("e1", 1), ("e3", 5)]
    assert [(r.line, r.field) for r in rejects] == [(2, None), (4, None)]
    assert rejects[0].reason.startswith("invalid JSON: ") and " at column " in rejects[0].reason
    assert rejects[0].raw == '{"id": "e2", "lead_id": "L1", "type": "page_view", "occurred_at":'
    assert rejects[1].reason == "expected a JSON object, got list"


def test_jsonl_events_nested_properties_and_aliases(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "event_id": "e1",
            "email": "A@X.io",
            "event": "form_submit",
            "timestamp": 1704103200,
            "properties": {"form": "demo", "fields": {"n": 1}},
            "campaign": "spring",
            "empty": None,
        }
    )
    records, rejects = events(write(tmp_path / "events.ndjson", text + "\n"))
    assert rejects == []
    event = records[0]
    assert (event.id, event.email, event.lead_id, event.type) == ("e1", "a@x.io", None, "form_submit")
    assert event.occurred_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert event.properties == {"campaign": "spring", "form": "demo", "fields": {"n": 1}}


# --- Events from CSV -----------------------------------------------------------------------------------


def test_csv_events_other_columns_become_properties(tmp_path: Path) -> None:
    text = "id,lead_id,email,type,occurred_at,url,form\ne1,L1,,page_view,2024-01-01T10:00:00,/pricing,\n"
    records, rejects = events(write(tmp_path / "events.csv", text, "\r\n"))
    assert rejects == []
    event = records[0]
    assert (event.id, event.lead_id, event.email, event.type) == ("e1", "L1", None, "page_view")
    assert event.occurred_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert event.properties == {"url": "/pricing"}
    assert (event.source, event.line) == (str(tmp_path / "events.csv"), 2)


def test_csv_events_properties_column_holds_json(tmp_path: Path) -> None:
    text = (
        "event_id,email,event,timestamp,properties,channel\n"
        'e1,a@x.io,form_submit,1704103200000,"{""form"": ""demo""}",web\n'
    )
    records, rejects = events(write(tmp_path / "events.csv", text))
    assert rejects == []
    assert records[0].properties == {"channel": "web", "form": "demo"}
    assert records[0].occurred_at == datetime(2024, 1, 1, 10, tzinfo=UTC)


def test_events_without_an_id_get_one_from_their_content(tmp_path: Path) -> None:
    text = "lead_id,type,occurred_at,url\nL1,page_view,2024-01-01T10:00:00Z,/a\nL1,page_view,2024-01-01T10:00:00Z,/b\n"
    path = write(tmp_path / "events.csv", text)
    first, _ = events(path)
    again, _ = events(path)
    assert [e.id for e in first] == [e.id for e in again]
    assert first[0].id != first[1].id
    assert first[0].id.startswith("auto-")


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("e1,,,page_view,2024-01-01,", "lead_id", "expected lead_id or email to say whose event it is"),
        ("e1,L1,nobody,page_view,2024-01-01,", "email", "expected an email address"),
        ("e1,L1,,,2024-01-01,", "type", "expected the event type"),
        ("e1,L1,,page_view,,", "occurred_at", "expected when the event occurred"),
        ("e1,L1,,page_view,yesterday,", "occurred_at", "expected an ISO-8601 timestamp"),
        ("e1,L1,,page_view,99999999999999999,", "occurred_at", "too large"),
        ('e1,L1,,page_view,2024-01-01,"{""form"": }"', "properties", "expected a JSON object: Expecting value"),
        ("e1,L1,,page_view,2024-01-01,[1]", "properties", "expected a JSON object, got list"),
        ("e1,L1,,page_view", None, "expected 6 values (one per header column), got 4"),
    ],
)
def test_each_bad_event_row_is_rejected_with_line_and_field(
    tmp_path: Path, row: str, field: str | None, words: str
) -> None:
    path = write(tmp_path / "events.csv", f"id,lead_id,email,type,occurred_at,properties\n{row}\ne2,L1,,x,0,\n")
    records, rejects = events(path)
    assert [r.id for r in records] == ["e2"]
    reject = only_reject(rejects)
    assert (reject.line, reject.field) == (2, field)
    assert words in reject.reason


# --- Timestamps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T09:30:00", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01 09:30", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00.250Z", datetime(2024, 5, 1, 9, 30, 0, 250_000, tzinfo=UTC)),
        ("2024-05-01T09:30:00+02:00", datetime(2024, 5, 1, 7, 30, tzinfo=UTC)),
        ("2024-05-01T01:30:00-05:30", datetime(2024, 5, 1, 7, 0, tzinfo=UTC)),
        ("1714555800", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("1714555800.5", datetime(2024, 5, 1, 9, 30, 0, 500_000, tzinfo=UTC)),
        ("1714555800123", datetime(2024, 5, 1, 9, 30, 0, 123_000, tzinfo=UTC)),
        (1714555800, datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        (1714555800123, datetime(2024, 5, 1, 9, 30, 0, 123_000, tzinfo=UTC)),
        (99_999_999_999, datetime(5138, 11, 16, 9, 46, 39, tzinfo=UTC)),
        (100_000_000_000, datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text: str | int, expected: datetime) -> None:
    moment = parse_timestamp(text)
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "soon", "2024-13-01", "01/02/2024", "1e9", True, None, 10**14])
def test_bad_timestamps_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_timestamp(text)


def test_timestamps_with_extra_formats() -> None:
    assert parse_timestamp("5/4/2024 9:15 AM", ["%m/%d/%Y %I:%M %p"]) == datetime(2024, 5, 4, 9, 15, tzinfo=UTC)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(timezone(timedelta(hours=5, minutes=45))),
    )
)
def test_iso_text_keeps_the_instant(moment: datetime) -> None:
    assert parse_timestamp(moment.isoformat()) == moment
    assert parse_timestamp(moment.isoformat()).utcoffset() == timedelta(0)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_numbers_with_thousands_separators(number: int) -> None:
    assert parse_number(f"{number:,}") == number
    assert parse_number(str(number)) == number


@pytest.mark.parametrize(
    ("text", "expected"), [("1,200", 1200), ("-$1,200.50", -1200.5), ("€3", 3), ("1e3", 1000.0), (".5", 0.5)]
)
def test_number_text(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["1,2", "1 200", "12%", "1_000", "nan", "inf", "", "--1"])
def test_bad_number_text(text: str) -> None:
    with pytest.raises(ValueError, match="expected a"):
        parse_number(text)


# --- Gzip ----------------------------------------------------------------------------------------------


def test_gzipped_csv_and_jsonl(tmp_path: Path) -> None:
    lead_rows, _ = leads(write(tmp_path / "leads.csv.gz", "id,email\nL1,a@x.io\n", "\r\n"))
    event_rows, _ = events(write(tmp_path / "events.jsonl.gz", '{"lead_id": "L1", "type": "t", "occurred_at": 0}\n'))
    assert [(r.id, r.line) for r in lead_rows] == [("L1", 2)]
    assert [(r.lead_id, r.occurred_at) for r in event_rows] == [("L1", datetime(1970, 1, 1, tzinfo=UTC))]


def test_a_file_that_is_not_gzip_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "leads.csv", "id\nL1\n").rename(tmp_path / "leads.csv.gz")
    with pytest.raises(IngestError, match=r"leads\.csv\.gz: cannot read the header: Not a gzipped file"):
        read_leads(path)


# --- Errors about the whole file -----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(IngestError, match=r"nope\.csv: cannot open: No such file or directory") as info:
        read_leads(path)
    assert info.value.source == str(path)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_file_has_no_header(tmp_path: Path, text: str) -> None:
    with pytest.raises(IngestError, match=r"events\.csv: the file is empty: expected a header row"):
        read_events(write(tmp_path / "events.csv", text))


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"leads\.xlsx: unsupported file type"):
        read_leads(write(tmp_path / "leads.xlsx", "id\n"))


def test_events_header_must_have_the_needed_columns(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"expected columns lead_id or email, occurred_at \(or timestamp\)"):
        read_events(write(tmp_path / "events.csv", "id,type,when\n"))


def test_duplicate_column(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"column 'EMAIL' appears twice in the header \(columns 2 and 3\)"):
        read_leads(write(tmp_path / "leads.csv", "id,email,EMAIL\n"))


def test_header_matching_no_preset(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no mapping given and the header matches no preset"):
        read_leads(write(tmp_path / "leads.csv", "name,phone\nSam,1\n"))


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"id,email,city\n" + b"L1,a@x.io,Paris\n" * 10_000 + "L2,b@x.io,Orléans\n".encode("latin-1"))
    with pytest.raises(IngestError, match=r"cannot read past line \d+: not utf-8 text"):
        list(read_leads(path))
    records, rejects = split(read_leads(path, encoding="latin-1"))
    assert (len(records), rejects, records[-1].fields["city"]) == (10_001, [], "Orléans")


def test_records_close_their_file(tmp_path: Path) -> None:
    path = write(tmp_path / "leads.csv", "id\nL1\nL2\n")
    with read_leads(path) as rows:
        assert isinstance(next(rows), LeadRecord)
    assert list(rows) == []


# --- Rejects file --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rejects.csv", "rejects.csv.gz"])
def test_write_rejects_keeps_the_raw_row(tmp_path: Path, name: str) -> None:
    source = write(tmp_path / "leads.csv", 'id,email,note\nL1,bad,"multi\nline, ünïcode"\nL2,ok@x.io,\n')
    _, rejects = leads(source)
    target = tmp_path / name
    assert write_rejects(rejects, target) == 1
    opener: Any = gzip.open if name.endswith(".gz") else open
    with opener(target, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [list(r) for r in rows] == [["source", "line", "field", "reason", "raw"]]
    assert rows[0]["source"] == str(source)
    assert (rows[0]["line"], rows[0]["field"]) == ("2", "email")
    assert json.loads(rows[0]["raw"]) == {"id": "L1", "email": "bad", "note": "multi\nline, ünïcode"}


def test_write_rejects_of_nothing_writes_a_header(tmp_path: Path) -> None:
    assert write_rejects([], tmp_path / "r.csv") == 0
    assert (tmp_path / "r.csv").read_bytes() == b"source,line,field,reason,raw\r\n"


# --- The real X Education file -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not X_EDUCATION.exists(), reason=f"X Education dataset not found at {X_EDUCATION}")
def test_x_education_file_loads_completely() -> None:
    records, rejects = leads(X_EDUCATION, loads_mapping_file(ROOT / "examples" / "x_education" / "mapping.yaml"))
    assert rejects == []
    assert len(records) == 9_240
    assert len({r.id for r in records}) == 9_240
    assert not any(value == "Select" for r in records for value in r.fields.values())
    assert sum(r.fields["converted"] for r in records) == 3_561
    assert records[-1].line == 9_241
    leaking = {"tags", "lead_quality", "lead_profile", "last_activity", "last_notable_activity"}
    assert not any(leaking & set(r.fields) or any(k.startswith("asymmetrique") for k in r.fields) for r in records)


def loads_mapping_file(path: Path) -> ColumnMapping:
    return loads_mapping(path.read_text(encoding="utf-8"), str(path))
