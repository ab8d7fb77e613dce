"""``leadscore ingest leads|events``: summaries that account for every row, rejects files, re-sent events."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cli_helpers import AS_OF, by_id, export_csv, ok, summary, table


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["source", "line", "field", "reason", "raw"]
        return list(reader)


def test_ingest_leads_counts_every_row_and_keeps_the_rejects(project: Path, leads_csv: Path) -> None:
    out = ok("-p", project, "ingest", "leads", leads_csv, "--as-of", AS_OF)

    # 4 new leads, each scored under 2 models.
    assert summary(out) == {
        "kind": "leads",
        "source": str(leads_csv),
        "read": 7,
        "loaded": 4,
        "updated": 0,
        "duplicates": 0,
        "rejected": 3,
        "changed": 8,
    }
    rejects_file = leads_csv.with_name("leads.csv.rejects.csv")
    assert f"3 rejected rows kept in {rejects_file}; first: {leads_csv}:4: field 'company_size'" in out
    rejects = _rejects(rejects_file)
    assert [(r["source"], r["line"], r["field"]) for r in rejects] == [
        (str(leads_csv), "4", "company_size"),
        (str(leads_csv), "5", "email"),
        (str(leads_csv), "7", "id"),
    ]
    assert rejects[0]["reason"] == "expected a number, got 'fifty'"
    assert "not-an-email" in rejects[1]["reason"]
    assert json.loads(rejects[0]["raw"])["id"] == "L3"

    # Fit by hand (see conftest); 55 days without engagement since created_at cost 5 points.
    rows = by_id(export_csv(project))
    assert sorted(rows) == ["L1", "L2", "L5", "L6"]
    b2b = {k: [rows[k][f"b2b_saas_{f}"] for f in ("total", "fit", "engagement", "matrix", "stage")] for k in rows}
    assert b2b == {
        "L1": ["32.00", "37.00", "-5.00", "A4", "mql"],
        "L2": ["0.00", "-35.00", "-5.00", "D4", "lead"],
        "L5": ["10.00", "15.00", "-5.00", "B4", "lead"],
        "L6": ["0.00", "0.00", "-5.00", "C4", "lead"],
    }
    assert {k: rows[k]["fit_only_total"] for k in rows} == {"L1": "60.00", "L2": "0.00", "L5": "90.00", "L6": "0.00"}


def test_ingest_leads_again_updates_without_new_leads(project: Path, leads_csv: Path) -> None:
    ok("-p", project, "ingest", "leads", leads_csv, "--as-of", AS_OF)
    out = ok("-p", project, "ingest", "leads", leads_csv, "--as-of", AS_OF)
    assert summary(out) == {
        "kind": "leads",
        "source": str(leads_csv),
        "read": 7,
        "loaded": 0,
        "updated": 4,
        "duplicates": 0,
        "rejected": 3,
        "changed": 0,
    }
    assert len(export_csv(project)) == 4


def test_ingest_events_counts_rejects_and_scores(project: Path, leads_csv: Path, events_jsonl: Path) -> None:
    ok("-p", project, "ingest", "leads", leads_csv, "--as-of", AS_OF)
    out = ok("-p", project, "ingest", "events", events_jsonl, "--as-of", AS_OF)

    # The blank line 6 is not a row. Changed: L1, L6 and the new lead under b2b_saas, the new lead under fit_only.
    assert summary(out) == {
        "kind": "events",
        "source": str(events_jsonl),
        "read": 8,
        "loaded": 5,
        "duplicates": 0,
        "rejected": 3,
        "changed": 4,
    }
    rejects = _rejects(events_jsonl.with_name("events.jsonl.rejects.csv"))
    assert [(r["line"], r["field"]) for r in rejects] == [("3", ""), ("4", "lead_id"), ("5", "occurred_at")]
    assert rejects[0]["reason"].startswith("invalid JSON")
    assert json.loads(rejects[0]["raw"]) == "not json"
    assert "'soon'" in rejects[2]["reason"]

    rows = by_id(export_csv(project))
    assert sorted(rows) == ["L1", "L2", "L5", "L6", "new@zeta.io"]  # an event for an unknown email made a lead
    assert rows["new@zeta.io"]["email"] == "new@zeta.io"
    b2b = {k: [rows[k][f"b2b_saas_{f}"] for f in ("total", "engagement", "tier", "matrix", "stage")] for k in rows}
    assert b2b["L1"] == ["78.11", "41.11", "hot", "A2", "sql"]
    assert b2b["L6"] == ["35.72", "35.72", "warm", "C2", "mql"]
    assert b2b["new@zeta.io"] == ["9.55", "9.55", "cold", "C4", "lead"]


def test_loading_the_same_events_twice_changes_nothing(loaded: Path, events_jsonl: Path) -> None:
    before = ok("-p", loaded, "explain", "L1", "--history", "50")
    export_before = export_csv(loaded)

    out = ok("-p", loaded, "ingest", "events", events_jsonl, "--as-of", AS_OF)

    assert summary(out) == {
        "kind": "events",
        "source": str(events_jsonl),
        "read": 8,
        "loaded": 0,
        "duplicates": 5,
        "rejected": 3,
        "changed": 0,
    }
    after = ok("-p", loaded, "explain", "L1", "--history", "50")
    assert after == before
    # L1's history, newest first: 32.00 after its lead row, then 78.11 after its events (b2b_saas); 60.00 once
    # (fit_only), and nothing from the second load.
    history = table(after, "score history")
    assert [(r[0], r[2]) for r in history.rows if r[0] == "b2b_saas@1"] == [
        ("b2b_saas@1", "78.11"),
        ("b2b_saas@1", "32.00"),
    ]
    assert [(r[0], r[2]) for r in history.rows if r[0] == "fit_only@2"] == [("fit_only@2", "60.00")]
    assert export_csv(loaded) == export_before


# J1: c_level 15 + size 10-500 5 = fit 20, no created_at so no inactivity. As of AS_OF:
#   trial_signup 2 days old 30 * 0.5 ** (2/30) = 28.65, pricing_page 1 day old 5 * 0.5 ** (1/30) = 4.89.
LEADS_JSONL = """\
{"id": "J1", "email": " Jo@Omega.IO ", "title": "CEO", "company_size": "120"}
[1, 2]
{"id": "J2", "company_size": "lots"}
"""
EVENTS_CSV = """\
id,email,type,occurred_at,form,properties
c1,jo@omega.io,form_submit,2026-02-27T00:00:00Z,trial,
c2,jo@omega.io,form_submit,2026-02-27T00:00:00Z
c3,jo@omega.io,page_view,2026-02-28T00:00:00Z,,"{""url"": ""https://omega.io/pricing""}"
c4,jo@omega.io,page_view,2026-02-28T00:00:00Z,,not json
"""


def test_jsonl_leads_and_csv_events(project: Path, tmp_path: Path) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(LEADS_JSONL, encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text(EVENTS_CSV, encoding="utf-8")
    custom_rejects = tmp_path / "bad-events.csv"

    out = ok("-p", project, "ingest", "leads", leads, "--as-of", AS_OF)
    assert summary(out) | {"source": ""} == {
        "kind": "leads",
        "source": "",
        "read": 3,
        "loaded": 1,
        "updated": 0,
        "duplicates": 0,
        "rejected": 2,
        "changed": 2,
    }
    assert [(r["line"], r["field"]) for r in _rejects(tmp_path / "leads.jsonl.rejects.csv")] == [
        ("2", ""),
        ("3", "company_size"),
    ]

    out = ok("-p", project, "ingest", "events", events, "--as-of", AS_OF, "--rejects", custom_rejects)
    assert summary(out)["loaded"] == 2
    assert summary(out)["rejected"] == 2
    assert not (tmp_path / "events.csv.rejects.csv").exists()
    assert [(r["line"], r["field"]) for r in _rejects(custom_rejects)] == [("3", ""), ("5", "properties")]

    row = by_id(export_csv(project))["J1"]
    assert row["email"] == "jo@omega.io"
    assert [row[f"b2b_saas_{f}"] for f in ("total", "fit", "engagement", "matrix", "stage")] == [
        "53.54",
        "20.00",
        "33.54",
        "B2",
        "mql",
    ]


def test_ingest_events_with_a_mapping_scores_the_mapped_types(loaded: Path, tmp_path: Path) -> None:
    """An activity export as a CRM writes it: its names become the example model's event types."""
    mapping = tmp_path / "activities.yaml"
    mapping.write_text(
        "id: Activity ID\nemail: Contact Email\ntype: Activity Type\noccurred_at: Activity Date\n"
        "rename: {Page URL: url}\nevent_types: {Page Visited: page_view, Email Opened: email_open}\n",
        encoding="utf-8",
    )
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "Activity ID,Contact Email,Activity Type,Activity Date,Page URL\n"
        "M1,jo@omega.io,Page Visited,2026-02-27T10:00:00Z,https://omega.io/pricing\n"
        "M2,jo@omega.io,Email Opened,2026-02-27T11:00:00Z,\n",
        encoding="utf-8",
    )
    before = by_id(export_csv(loaded))
    out = ok("-p", loaded, "ingest", "events", activities, "--mapping", mapping, "--as-of", AS_OF)
    assert (summary(out)["loaded"], summary(out)["rejected"]) == (2, 0)
    after = by_id(export_csv(loaded))
    new_lead = [i for i in after if i not in before]
    assert len(new_lead) == 1 and after[new_lead[0]]["email"] == "jo@omega.io"
    explained = ok("-p", loaded, "explain", new_lead[0])
    assert "pricing" in explained and "email" in explained
    # Pricing +5, 38 hours old, and an open +1, 37 hours old, under a 30-day (720-hour) half-life:
    # 5 * 2^(-38/720) = 4.82 and 2^(-37/720) = 0.97, each rounded to the cent.
    assert after[new_lead[0]]["b2b_saas_engagement"] == "5.79"


def test_long_loads_show_rows_read_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from leadscore.cli import ingest as ingest_cli

    screen = io.StringIO()
    monkeypatch.setattr(ingest_cli, "err_console", Console(file=screen, force_terminal=True, width=100))
    monkeypatch.setattr(ingest_cli, "is_tty", lambda: True)
    with ingest_cli.progress_bar("events from e.jsonl") as advance:
        advance(50_000)
        advance(7)
    assert "events from e.jsonl 50,007 rows" in screen.getvalue()

    piped = io.StringIO()
    monkeypatch.setattr(ingest_cli, "err_console", Console(file=piped, force_terminal=False))
    monkeypatch.setattr(ingest_cli, "is_tty", lambda: False)
    with ingest_cli.progress_bar("events from e.jsonl") as advance:
        advance(3)
    assert piped.getvalue() == ""  # a pipe or a log file gets the summary line, not a redrawn bar
