"""``leadscore import leadforge DIR`` on a small bundle (300 leads, 120 accounts, seed 7)."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from cli_helpers import by_id, export_csv, ok, rescored, summaries, table, tables

from leadscore.ingest.leadforge import LeadforgeBundle, read_bundle

MODELS = ("b2b_saas", "leadforge_procurement")


# Found by these tests; src/leadscore/store/sqlite_ingest.py is not ours to change.
@pytest.fixture
def procurement_project(project: Path) -> Path:
    """The init project, with leadforge's model listed too (the fit_only model of conftest is dropped)."""
    shipped = files("leadscore.data").joinpath("models/leadforge_procurement.yaml").read_text(encoding="utf-8")
    (project / "models" / "leadforge_procurement.yaml").write_text(shipped, encoding="utf-8")
    listed = "".join(f"  - models/{m}.yaml\n" for m in MODELS)
    (project / "leadscore.yaml").write_text(f"database: sqlite:///leadscore.db\nmodels:\n{listed}", encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def bundle(leadforge_bundle: Path) -> LeadforgeBundle:
    return read_bundle(leadforge_bundle)


def _counts(bundle: LeadforgeBundle) -> tuple[list[str], int]:
    leads = [lead.id or "" for lead in bundle.leads()]
    return leads, sum(1 for _ in bundle.events())


def test_import_accounts_for_every_row_of_the_bundle(
    procurement_project: Path, leadforge_bundle: Path, bundle: LeadforgeBundle
) -> None:
    lead_ids, n_events = _counts(bundle)
    assert (len(bundle.accounts), len(lead_ids), len(set(lead_ids))) == (120, 300, 300)
    assert bundle.rejects == []

    out = ok("-p", procurement_project, "import", "leadforge", leadforge_bundle)

    leads, events = summaries(out)
    assert leads["source"] == f"{leadforge_bundle} (leadforge leads)"
    assert (leads["read"], leads["duplicates"], leads["rejected"]) == (120 + 300, 0, 0)
    assert (events["read"], events["loaded"], events["duplicates"], events["rejected"]) == (n_events, n_events, 0, 0)
    summary = rescored(out)
    assert (summary["events"], summary["accounts"]) == (n_events, 120)

    # With no --as-of, scores are as of the day after the bundle's last event.
    last = max(event.occurred_at for event in bundle.events())
    explained = ok("-p", procurement_project, "explain", lead_ids[0])
    assert f"as of {(last + timedelta(days=1)):%Y-%m-%d %H:%M}" in explained
    assert [t.title.split(":")[0] for t in tables(explained)][:2] == [
        "b2b_saas@1",
        "leadforge_procurement@1",
    ]
    assert "top 5 leads · leadforge_procurement@1" in ok(
        "-p", procurement_project, "top", "--model", "leadforge_procurement", "--limit", "5"
    )


def test_every_lead_of_the_bundle_is_scored_under_each_model(
    procurement_project: Path, leadforge_bundle: Path, bundle: LeadforgeBundle
) -> None:
    lead_ids, _ = _counts(bundle)
    out = ok("-p", procurement_project, "import", "leadforge", leadforge_bundle)
    leads, _ = summaries(out)
    rows = by_id(export_csv(procurement_project))
    assert sorted(rows) == sorted(lead_ids)
    for lead_id in lead_ids:
        assert all(rows[lead_id][f"{m}_total"] != "" for m in MODELS), lead_id
        assert rows[lead_id]["email"] != "", lead_id
    assert (leads["loaded"], leads["accounts"], leads["updated"]) == (300, 120, 0)
    assert rescored(out)["leads"] == 300


def test_importing_the_same_bundle_again_changes_nothing(
    procurement_project: Path, leadforge_bundle: Path, bundle: LeadforgeBundle
) -> None:
    _, n_events = _counts(bundle)
    ok("-p", procurement_project, "import", "leadforge", leadforge_bundle)
    before = export_csv(procurement_project)
    history = table(ok("-p", procurement_project, "explain", before[0]["id"], "--history", "100"), "score history")

    out = ok("-p", procurement_project, "import", "leadforge", leadforge_bundle)

    _, events = summaries(out)
    assert (events["read"], events["loaded"], events["duplicates"], events["rejected"]) == (n_events, 0, n_events, 0)
    assert (rescored(out)["changed"], rescored(out)["stage_changes"]) == (0, 0)
    assert export_csv(procurement_project) == before
    again = table(ok("-p", procurement_project, "explain", before[0]["id"], "--history", "100"), "score history")
    assert again.rows == history.rows


def test_two_leads_sharing_an_email_in_a_csv(project: Path, tmp_path: Path) -> None:
    """The same bug without leadforge: three lines of CSV."""
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email,title\nA,x@a.io,VP Sales\nB,x@a.io,Student\n", encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text("id,lead_id,type,occurred_at\ne1,B,email_open,2026-01-02\n", encoding="utf-8")
    ok("-p", project, "ingest", "leads", leads, "--as-of", "2026-01-03")
    ok("-p", project, "ingest", "events", events, "--as-of", "2026-01-03")
    # A keeps its own title (VP Sales: +12), whatever B says.
    assert by_id(export_csv(project))["A"]["b2b_saas_fit"] == "12.00"
    ok("-p", project, "ingest", "leads", leads, "--as-of", "2026-01-03")  # loading a file twice is harmless


def test_a_bundles_labels_load_as_outcomes_and_give_training_rows(
    procurement_project: Path, leadforge_bundle: Path, tmp_path: Path
) -> None:
    from leadscore.ingest.leadforge import read_labels
    from leadscore.ingest.outcomes import read_leadforge_outcomes

    labels = read_labels(leadforge_bundle)
    closed = sum(1 for o in read_leadforge_outcomes(leadforge_bundle) if o.source.endswith("opportunities.parquet"))
    ok("-p", procurement_project, "import", "leadforge", leadforge_bundle)
    out = ok("-p", procurement_project, "outcomes", "load", leadforge_bundle)
    # A closed opportunity of a public bundle repeats its lead's label (same outcome, no time): stored once.
    read = len(labels) + closed
    assert closed > 0 and f"read {read}, loaded {len(labels)}, duplicates {closed}, rejected 0" in out
    rows = tmp_path / "rows.jsonl"
    ok("-p", procurement_project, "dataset", "-o", rows, "--after-creation-days", "30")
    written = [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines()]
    assert {r["lead_id"]: r["label"] for r in written} == {k: int(v) for k, v in labels.items()}
    assert all(r["leadforge_procurement.total"] is not None for r in written)


def test_opportunities_come_in_as_events_only_when_asked(
    procurement_project: Path, leadforge_bundle: Path, bundle: LeadforgeBundle
) -> None:
    _, n_events = _counts(bundle)
    opportunities = list(read_bundle(leadforge_bundle, include_opportunities=True).table_events("opportunities"))
    assert opportunities and all(e.type == "opportunity_created" for e in opportunities)
    assert all(set(e.properties) <= {"estimated_acv"} for e in opportunities)  # never the stage: the outcome

    out = ok("-p", procurement_project, "import", "leadforge", leadforge_bundle, "--opportunities")

    _, events = summaries(out)
    assert (events["read"], events["loaded"], events["rejected"]) == (
        n_events + len(opportunities),
        n_events + len(opportunities),
        0,
    )
    assert len(export_csv(procurement_project)) == 300  # every lead scored, with its opportunities' events
