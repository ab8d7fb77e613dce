"""Reading outcomes: CRM words mapped to three outcomes, times optional, bad rows named by file, line and
column; a lead file's label column read as outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadscore.ingest.errors import IngestError
from leadscore.ingest.outcomes import OutcomeRecord, read_label_column, read_outcomes
from leadscore.ingest.records import Reject


def test_csv_outcomes_map_crm_words_and_name_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(
        "Lead_ID,Email,Status,Close Date\n"
        "L1,,Closed Won,2026-03-01\n"
        ",Ann@Acme.io,closed-lost,\n"
        "L3,,maybe,2026-03-02\n"
        ",,won,2026-03-03\n"
        "L5,,DQ,not a date\n",
        encoding="utf-8",
    )
    with read_outcomes(path) as rows:
        got = list(rows)
    first, second, third, fourth, fifth = got
    assert isinstance(first, OutcomeRecord) and (first.lead_id, first.outcome) == ("L1", "converted")
    assert first.occurred_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert isinstance(second, OutcomeRecord)
    assert (second.email, second.outcome, second.occurred_at) == ("ann@acme.io", "lost", None)
    for reject, line, field in ((third, 4, "Status"), (fourth, 5, "Lead_ID"), (fifth, 6, "Close Date")):
        assert isinstance(reject, Reject) and (reject.source, reject.line, reject.field) == (str(path), line, field)
    assert "expected an outcome such as converted" in str(third)


def test_the_same_outcome_has_the_same_id_and_jsonl_works(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    path.write_text(
        '{"lead_id": "L1", "outcome": "won", "occurred_at": "2026-03-01T00:00:00Z"}\n'
        '{"lead_id": "L1", "outcome": "converted", "occurred_at": "2026-03-01T00:00:00Z"}\n'
        '{"lead_id": "L1", "outcome": "lost"}\n',
        encoding="utf-8",
    )
    with read_outcomes(path) as rows:
        a, b, c = list(rows)
    assert isinstance(a, OutcomeRecord) and isinstance(b, OutcomeRecord) and isinstance(c, OutcomeRecord)
    assert a.id == b.id != c.id


def test_a_lead_files_label_column_becomes_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Prospect ID,Converted,Country\nP1,1,India\nP2,0,India\nP3,,India\n", encoding="utf-8")
    with read_label_column(path, "Converted", id_column="Prospect ID") as rows:
        got = list(rows)
    assert [(r.lead_id, r.outcome) for r in got if isinstance(r, OutcomeRecord)] == [
        ("P1", "converted"),
        ("P2", "lost"),
    ]
    [reject] = [r for r in got if isinstance(r, Reject)]
    assert (reject.line, reject.field) == (4, "Converted")
    with pytest.raises(IngestError, match="no label column 'Won'"):
        read_label_column(path, "Won", id_column="Prospect ID")
    with pytest.raises(IngestError, match="expected columns outcome"):
        read_outcomes(path)


def test_crm_deal_and_opportunity_exports_load_as_they_are(tmp_path: Path) -> None:
    hubspot = tmp_path / "hubspot-deals.csv"
    hubspot.write_text(
        "Record ID,Deal Name,Deal Stage,Close Date,Associated Contact IDs\n"
        "9001,Acme renewal,closedwon,2026-03-01 10:00,101;102\n"
        "9002,Beta pilot,closedlost,2026-03-05,103\n"
        "9003,Gamma,appointmentscheduled,,104\n",
        encoding="utf-8",
    )
    with read_outcomes(hubspot) as rows:
        got = list(rows)
    won = [r for r in got if isinstance(r, OutcomeRecord) and r.outcome == "converted"]
    assert [r.lead_id for r in won] == ["101", "102"] and won[0].line == won[1].line == 2
    assert won[0].id != won[1].id  # one outcome per contact of the deal
    lost = [r for r in got if isinstance(r, OutcomeRecord) and r.outcome == "lost"]
    assert [(r.lead_id, r.occurred_at) for r in lost] == [("103", datetime(2026, 3, 5, tzinfo=UTC))]
    (open_deal,) = [r for r in got if isinstance(r, Reject)]
    assert (open_deal.line, open_deal.field) == (4, "Deal Stage") and "not an outcome yet" in open_deal.reason

    salesforce = tmp_path / "opportunities.csv"
    salesforce.write_text(
        "Opportunity Name,Stage,Close Date,Contact: Email\nAcme,Closed Won,2026-04-01,Ann@Acme.io\n",
        encoding="utf-8",
    )
    with read_outcomes(salesforce) as rows:
        (only,) = list(rows)
    assert isinstance(only, OutcomeRecord)
    assert (only.email, only.outcome, only.occurred_at) == (
        "ann@acme.io",
        "converted",
        datetime(2026, 4, 1, tzinfo=UTC),
    )
