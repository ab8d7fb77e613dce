"""Column mappings: the file format and its errors, the built-in presets, and the X Education example."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadscore.ingest.errors import IngestError, MappingError
from leadscore.ingest.mapping import (
    PRESET_NAMES,
    ColumnMapping,
    detect_preset,
    load_mapping,
    load_preset,
    loads_mapping,
    presets,
)
from leadscore.ingest.readers import read_leads
from leadscore.ingest.records import LeadRecord, Reject
from leadscore.ingest.values import snake_case
from leadscore.model import ModelError, load_model
from leadscore.model.conditions import iter_field_tests

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
X_EDUCATION = ROOT / "examples" / "x_education"


def read(path: Path, mapping: ColumnMapping | str | Path | None = None) -> tuple[list[LeadRecord], list[Reject]]:
    records: list[LeadRecord] = []
    rejects: list[Reject] = []
    for item in read_leads(path, mapping):
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            records.append(item)
    return records, rejects


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- The mapping file ----------------------------------------------------------------------------------


def test_a_full_mapping_file(tmp_path: Path) -> None:
    path = mapping_file(
        tmp_path,
        """\
        name: crm
        id: Contact Id
        email: E-mail
        created_at: Signed Up
        account_id: Org
        fields:
          Job: title
          Headcount: company_size
        types: {company_size: integer}
        missing_values: ["", "-"]
        datetime_formats: ["%d.%m.%Y"]
        keep_unmapped: true
        ignore: [Internal Notes]
        """,
    )
    mapping = load_mapping(path)
    assert mapping.named_columns() == ["Contact Id", "E-mail", "Signed Up", "Org", "Job", "Headcount", "Internal Notes"]
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "contact id,E-MAIL,Signed Up,Org,Job,Headcount,Internal Notes,Favourite Colour,TotalVisits\n"
        "c1,A@B.io,31.12.2023,o1,CTO,-,secret,Blue,3\n",
        encoding="utf-8",
    )
    records, rejects = read(csv_path, path)
    assert rejects == []
    record = records[0]
    assert (record.id, record.email, record.account_id) == ("c1", "a@b.io", "o1")
    assert record.created_at == datetime(2023, 12, 31, tzinfo=UTC)
    assert record.fields == {"title": "CTO", "favourite_colour": "Blue", "total_visits": "3", "email": "a@b.io"}


def test_mapping_defaults() -> None:
    mapping = loads_mapping("email: Email\n")
    assert mapping.missing_values == ["", "NULL", "null", "N/A"]
    assert (mapping.keep_unmapped, mapping.require_columns, mapping.fields, mapping.types) == (False, True, {}, {})


def test_columns_without_a_mapping_are_dropped_unless_kept(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("ID,Title,Extra\n1,CEO,x\n", encoding="utf-8")
    dropped, _ = read(csv_path, loads_mapping("id: ID\nfields: {Title: title}\n"))
    kept, _ = read(csv_path, loads_mapping("id: ID\nfields: {Title: title}\nkeep_unmapped: true\n"))
    assert dropped[0].fields == {"title": "CEO"}
    assert kept[0].fields == {"title": "CEO", "extra": "x"}


@pytest.mark.parametrize(
    ("column", "name"),
    [
        ("Total Time Spent on Website", "total_time_spent_on_website"),
        ("TotalVisits", "total_visits"),
        ("Country/Region", "country_region"),
        ("No. of Employees", "no_of_employees"),
        ("HTTPReferrer", "http_referrer"),
        ("  lead_score  ", "lead_score"),
        ("Größe", "größe"),
    ],
)
def test_snake_case(column: str, name: str) -> None:
    assert snake_case(column) == name


def test_kept_column_names_never_collide(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("Key,Job Title,job-title,ID,,Title\nk,a,b,c,d,e\n", encoding="utf-8")
    mapping = loads_mapping("id: Key\nfields: {Title: job_title}\nkeep_unmapped: true\n")
    records, _ = read(csv_path, mapping)
    assert records[0].fields == {"job_title": "e", "job_title_2": "a", "job_title_3": "b", "id_2": "c", "column_5": "d"}


def test_named_columns_must_be_in_the_header(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("ID,Title\n1,CEO\n", encoding="utf-8")
    strict = loads_mapping("id: ID\nfields: {Title: title, Company: company}\n")
    with pytest.raises(IngestError, match=r"columns named in mapping 'custom' are not in the header: \['Company'\]"):
        read_leads(csv_path, strict)
    lenient = loads_mapping("id: ID\nfields: {Title: title, Company: company}\nrequire_columns: false\n")
    assert read(csv_path, lenient)[0][0].fields == {"title": "CEO"}


def test_the_identifying_column_must_be_in_the_header(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("Name,Title\nSam,CEO\n", encoding="utf-8")
    mapping = loads_mapping("id: Lead Id\nemail: Email\nrequire_columns: false\n")
    with pytest.raises(IngestError, match=r"leads\.csv: no 'Lead Id' or 'Email' column to identify leads"):
        read_leads(csv_path, mapping)


# (case, mapping text, line, field, words the message must hold)
ERRORS = [
    ("yaml_syntax", "id: ID\nfields:\n  A: a\n   B: b\n", 4, "", "invalid YAML: mapping values are not allowed here"),
    ("not_a_mapping", "- id\n- email\n", 1, "", "expected a mapping with 'id' or 'email' and 'fields'"),
    ("no_identity", "name: m\nfields:\n  A: a\n", 1, "", "expected 'id' or 'email': the column that identifies"),
    ("unknown_key", "id: ID\nkeep_unmaped: true\n", 2, "keep_unmaped", "unknown field 'keep_unmaped'"),
    ("bad_field_name", "id: ID\nfields:\n  A: a\n  B: Bad Name\n", 4, "fields.B", "expected a field name in snake"),
    ("record_key", "id: ID\nfields:\n  Mail: email\n", 3, "fields.Mail", "'email' has its own key: write 'email:"),
    ("same_field", "id: ID\nfields:\n  A: x\n  B: x\n", 2, "fields", "expected one column per field, got 'A' and 'B'"),
    ("same_column", "id: ID\nfields:\n  A: a\n  ' a': b\n", 2, "fields", "expected each column once"),
    ("bad_type", "id: ID\nfields: {A: a}\ntypes:\n  a: money\n", 4, "types.a", "'number', 'integer', 'boolean'"),
    ("type_of_nothing", "id: ID\nfields: {A: a}\ntypes:\n  b: number\n", 3, "types", "got ['b'] (not in 'fields')"),
    ("fields_list", "id: ID\nfields: [a, b]\n", 2, "fields", "Input should be a valid dictionary"),
    ("missing_values", "id: ID\nmissing_values: Select\n", 2, "missing_values", "Input should be a valid list"),
    ("bad_bool", "id: ID\nkeep_unmapped: maybe\n", 2, "keep_unmapped", "Input should be a valid boolean"),
    ("empty_detect", "id: ID\ndetect: {}\n", 2, "detect", "expected 'all' or 'any'"),
]


@pytest.mark.parametrize(("case", "text", "line", "field", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_mapping_errors_name_file_line_and_field(
    tmp_path: Path, case: str, text: str, line: int, field: str, words: str
) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    error = info.value
    assert isinstance(error, ModelError)
    assert [(issue.file, issue.line, issue.field) for issue in error.issues] == [(str(path), line, field)]
    assert words in error.issues[0].message
    assert str(error).startswith("1 problem in column mapping\n")
    assert f"{path}:{line}:" in str(error)


def test_types_may_name_kept_columns() -> None:
    assert loads_mapping("id: ID\nkeep_unmapped: true\ntypes: {total_visits: integer}\n").types == {
        "total_visits": "integer"
    }


def test_unreadable_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"nope\.yaml:1:1: cannot read file: No such file or directory"):
        load_mapping(tmp_path / "nope.yaml")


def test_mapping_given_as_a_path(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("ID\n1\n", encoding="utf-8")
    path = mapping_file(tmp_path, "id: ID\n")
    assert [r.id for r in read(csv_path, path)[0]] == ["1"]
    assert [r.id for r in read(csv_path, str(path))[0]] == ["1"]


# --- Presets -------------------------------------------------------------------------------------------


def test_presets_are_valid_and_documented() -> None:
    assert [p.name for p in presets()] == list(PRESET_NAMES)
    docs = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")
    for preset in presets():
        assert preset.detect is not None
        assert f"`{preset.name}`" in docs
    with pytest.raises(ValueError, match="unknown mapping preset 'pipedrive'"):
        load_preset("pipedrive")


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (["Record ID", "First Name", "Email", "Create Date"], "hubspot_contacts"),
        (["record id", "lifecycle stage"], "hubspot_contacts"),
        (["Lead ID", "Company", "Email"], "salesforce_leads"),
        (["id", "title"], "canonical"),
        (["Email", "Company"], "canonical"),
        (["Record ID"], None),
        (["Name", "Phone"], None),
    ],
)
def test_presets_are_detected_from_the_header(header: list[str], name: str | None) -> None:
    preset = detect_preset(header)
    assert (preset.name if preset else None) == name


def test_hubspot_export(tmp_path: Path) -> None:
    path = DATA / "hubspot_contacts.csv"
    records, rejects = read(path)
    assert [r.id for r in records] == ["101", "102"]
    ada = records[0]
    assert ada.email == "ada@analytical.io"
    assert ada.created_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert ada.fields == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "title": "VP Engineering",
        "company": "Analytical Engines",
        "industry": "Software",
        "company_size": "25-50",
        "annual_revenue": 1_200_000,
        "country": "United Kingdom",
        "lead_status": "NEW",
        "lifecycle_stage": "lead",
        "last_activity_date": "2024-03-04 10:00",
        "email": "ada@analytical.io",
    }
    assert "annual_revenue" not in records[1].fields
    reject = rejects[0]
    assert (reject.line, reject.field, len(rejects)) == (4, "Email", 1)
    assert "expected an email address" in reject.reason


def test_salesforce_export() -> None:
    records, rejects = read(DATA / "salesforce_leads.csv")
    assert [r.id for r in records] == ["00Q5g00000A1bcDEAR", "00Q5g00000A1bcDEAT"]
    marc = records[0]
    assert marc.created_at == datetime(2024, 2, 10, 16, 20, tzinfo=UTC)
    assert marc.fields["company_size"] == 1200
    assert marc.fields["annual_revenue"] == 5_000_000.0
    assert (marc.fields["lead_source"], marc.fields["rating"], marc.fields["owner"]) == ("Web", "Hot", "Jane Rep")
    assert records[1].email is None
    assert records[1].fields == {"title": "Buyer", "industry": "Retail", "country": "Canada", "rating": "Cold"}
    assert [(r.line, r.field) for r in rejects] == [(3, "No. of Employees")]
    assert rejects[0].reason == "company_size: expected a number, got 'fifty'"


def test_canonical_names() -> None:
    records, rejects = read(DATA / "canonical_leads.csv")
    assert rejects == []
    sam, intern = records
    assert (sam.id, sam.email, sam.account_id) == ("L1", "sam@example.com", "A1")
    assert sam.created_at == datetime(2024, 1, 5, 8, tzinfo=UTC)
    assert sam.fields["company_size"] == 120
    assert sam.fields["annual_revenue"] == 2_500_000
    assert sam.fields["budget"] == "yes"
    assert intern.created_at == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert intern.account_id is None


def test_a_given_mapping_wins_over_presets() -> None:
    records, _ = read(DATA / "hubspot_contacts.csv", loads_mapping("id: Email\n"))
    assert [r.id for r in records] == ["Ada@Analytical.io", "grace@navy.example", "alan-at-bletchley"]


# --- The X Education example ---------------------------------------------------------------------------

LEAKING = [
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Last Activity",
    "Last Notable Activity",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
]


def test_x_education_mapping_leaves_out_the_leaking_columns() -> None:
    mapping = load_mapping(X_EDUCATION / "mapping.yaml")
    assert mapping.id == "Prospect ID"
    assert "Select" in mapping.missing_values
    assert not mapping.keep_unmapped
    assert not set(LEAKING) & set(mapping.fields)
    assert set(mapping.ignore) == set(LEAKING)
    assert mapping.fields["Converted"] == "converted"
    assert mapping.fields["Lead Number"] == "lead_number"
    numbers = ("total_visits", "time_on_website_seconds", "page_views_per_visit")
    assert all(mapping.types[name] in ("number", "integer") for name in numbers)
    assert (mapping.types["do_not_email"], mapping.types["do_not_call"]) == ("boolean", "boolean")


def test_x_education_model_uses_only_fields_the_mapping_gives_and_never_the_label() -> None:
    mapping = load_mapping(X_EDUCATION / "mapping.yaml")
    model = load_model(X_EDUCATION / "model.yaml")
    assert model.fit and not model.engagement
    used = {test.field for rule in model.fit for test in iter_field_tests(rule.when)}
    assert used <= set(mapping.fields.values()) - {"converted"}


def test_x_education_mapping_reads_a_sample(tmp_path: Path) -> None:
    header = (
        "Prospect ID,Lead Number,Lead Origin,Lead Source,Do Not Email,Do Not Call,Converted,TotalVisits,"
        "Total Time Spent on Website,Page Views Per Visit,Last Activity,Country,Specialization,"
        "How did you hear about X Education,What is your current occupation,"
        "What matters most to you in choosing a course,Search,Magazine,Newspaper Article,X Education Forums,"
        "Newspaper,Digital Advertisement,Through Recommendations,Receive More Updates About Our Courses,Tags,"
        "Lead Quality,Update me on Supply Chain Content,Get updates on DM Content,Lead Profile,City,"
        "Asymmetrique Activity Index,Asymmetrique Profile Index,Asymmetrique Activity Score,"
        "Asymmetrique Profile Score,I agree to pay the amount through cheque,"
        "A free copy of Mastering The Interview,Last Notable Activity"
    )
    row = (
        "2a272436-5132-4136-86fa-dcc88c88f482,660728,API,Organic Search,No,No,0,5,674,2.5,Email Opened,India,"
        "Select,Select,Unemployed,Better Career Prospects,No,No,No,No,No,No,No,No,Ringing,,No,No,Select,Select,"
        "02.Medium,02.Medium,15,15,No,No,Email Opened"
    )
    path = tmp_path / "Leads.csv"
    path.write_bytes(f"{header}\r\n{row}\r\n".encode())
    records, rejects = read(path, X_EDUCATION / "mapping.yaml")
    assert rejects == []
    fields = records[0].fields
    assert (fields["total_visits"], fields["time_on_website_seconds"], fields["page_views_per_visit"]) == (5, 674, 2.5)
    assert (fields["converted"], fields["do_not_email"], fields["lead_origin"]) == (False, False, "API")
    assert "specialization" not in fields and "city" not in fields and "heard_from" not in fields
    assert "Select" not in fields.values()
