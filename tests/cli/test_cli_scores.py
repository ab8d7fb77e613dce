"""``rescore``, ``top``, ``explain`` and ``export`` on the project loaded from the files in conftest."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import AS_OF, by_id, export_csv, ok, rescored, table, tables

FIELDS = ("total", "fit", "engagement", "tier", "grade", "level", "matrix", "stage")


def _b2b(project: Path, lead: str) -> list[str]:
    row = by_id(export_csv(project))[lead]
    return [row[f"b2b_saas_{f}"] for f in ("total", "engagement", "tier", "matrix", "stage")]


# -- rescore ---------------------------------------------------------------------------------------------


def test_rescore_decays_engagement_between_two_moments(loaded: Path) -> None:
    # L6 has no fit, only a demo request on 2026-02-19 (45 points, half-life 30 days):
    #   10 days: 45 * 0.5 ** (10/30) = 35.72;  20 days: 45 * 0.5 ** (20/30) = 28.35;
    #   40 days: 45 * 0.5 ** (40/30) = 17.86, and 30 full days without engagement: -5, so 12.86.
    assert _b2b(loaded, "L6") == ["35.72", "35.72", "warm", "C2", "mql"]

    out = ok("-p", loaded, "rescore", "--as-of", "2026-03-11T00:00:00Z")
    # Changed (total, tier or stage) under b2b_saas: L1 (decay, and e7 of 03-05 now counts), L5 (a second
    # period of inactivity), L6, the new lead; L2 stays at 0. L1 drops from sql to mql: 37 + demo 19 days old
    # 29.01 + pricing 14 days old 3.62 + email_open 6 days old 0.87 = 70.50.
    assert rescored(out) == {"leads": 5, "events": 5, "accounts": 4, "changed": 4, "stage_changes": 1}
    assert _b2b(loaded, "L6") == ["28.35", "28.35", "warm", "C2", "mql"]
    assert _b2b(loaded, "L1") == ["70.50", "33.50", "warm", "A2", "mql"]

    out = ok("-p", loaded, "rescore", "--as-of", "2026-03-31T00:00:00Z")
    assert rescored(out) == {"leads": 5, "events": 5, "accounts": 4, "changed": 3, "stage_changes": 1}
    assert _b2b(loaded, "L6") == ["12.86", "12.86", "cold", "C3", "lead"]

    explained = ok("-p", loaded, "explain", "L6")
    history = table(explained, "score history")
    assert [r[2] for r in history.rows if r[0] == "b2b_saas@1"] == ["12.86", "28.35", "35.72", "0.00"]
    assert history.rows[0][-1] == "rescore:2026-03-31T00:00:00+00:00"
    moves = [(r[2], r[3], r[4]) for r in table(explained, "stage transitions").rows if r[0] == "b2b_saas@1"]
    assert moves == [
        ("-", "lead", "default stage"),
        ("lead", "mql", "mql: total >= 25"),
        ("mql", "lead", "default stage"),
    ]


def test_rescore_is_point_in_time_and_idempotent(loaded: Path) -> None:
    before = export_csv(loaded)
    # The same moment written with an offset: nothing changes.
    out = ok("-p", loaded, "rescore", "--as-of", "2026-03-01T01:00:00+01:00")
    assert rescored(out)["changed"] == 0
    assert export_csv(loaded) == before

    ok("-p", loaded, "rescore", "--as-of", "2026-06-01T00:00:00Z")
    assert export_csv(loaded) != before
    out = ok("-p", loaded, "rescore", "--as-of", AS_OF)  # back in time: the scores are what they were
    assert rescored(out)["stage_changes"] == 2  # L1 back to sql, L6 back to mql
    assert export_csv(loaded) == before


# -- top -------------------------------------------------------------------------------------------------


def test_top_ranks_every_lead_of_the_first_model(loaded: Path) -> None:
    top = table(ok("-p", loaded, "top"), "top 5 leads · b2b_saas@1")
    assert top.header == ["lead", "total", "fit", "eng.", "tier", "cell", "stage", "top reasons"]
    assert top.column("lead") == ["ana@acme.io", "eve@delta.io", "dee@gamma.io", "new@zeta.io", "bob@gmail.com"]
    assert top.column("total") == ["78.11", "35.72", "10.00", "9.55", "0.00"]
    assert top.column("cell") == ["A2", "C2", "B4", "C4", "D4"]
    assert top.column("stage") == ["sql", "mql", "lead", "lead", "lead"]
    assert top.row("ana@acme.io")[-1] == "demo_request +37, vp +12, target_industry +10"


@pytest.mark.parametrize(
    ("options", "title", "leads"),
    [
        (["--tier", "hot"], "top 1 leads · b2b_saas@1", ["ana@acme.io"]),
        (["--tier", "cold", "--limit", "2"], "top 2 leads · b2b_saas@1", ["dee@gamma.io", "new@zeta.io"]),
        (["--stage", "mql"], "top 1 leads · b2b_saas@1", ["eve@delta.io"]),
        (["--grade", "B"], "top 1 leads · b2b_saas@1", ["dee@gamma.io"]),
        (["--limit", "2"], "top 2 leads · b2b_saas@1", ["ana@acme.io", "eve@delta.io"]),
        (["--model", "fit_only", "--limit", "2"], "top 2 leads · fit_only@2", ["dee@gamma.io", "ana@acme.io"]),
        (["--model", "fit_only@2", "--tier", "hot"], "top 1 leads · fit_only@2", ["dee@gamma.io"]),
        (["--model", "b2b_saas@1", "--tier", "warm", "--grade", "A"], "top 0 leads · b2b_saas@1", []),
    ],
)
def test_top_filters(loaded: Path, options: list[str], title: str, leads: list[str]) -> None:
    assert table(ok("-p", loaded, "top", *options), title).column("lead") == leads


# -- explain ---------------------------------------------------------------------------------------------


def test_explain_shows_rules_history_and_transitions(loaded: Path) -> None:
    out = ok("-p", loaded, "explain", "L1")
    assert ok("-p", loaded, "explain", "ana@acme.io") == out

    b2b = table(out, "b2b_saas@1: total 78.11")
    assert b2b.header == ["rule", "kind", "events", "counted", "raw points", "points"]
    rules = {r[0]: r[1:] for r in b2b.rows}
    assert rules["vp"] == ["fit", "1", "1", "12.00", "12.00"]
    assert rules["demo_request"] == ["engagement", "1", "1", "45.00", "36.55"]
    assert rules["pricing_page"] == ["engagement", "1", "1", "5.00", "4.56"]
    assert "email_open" not in rules  # e7 happens after the as-of moment
    # The contributions add up to the total, to the cent.
    summed = sum(Decimal(r[-1]) for r in b2b.rows if r[0] not in ("fit", "engagement", "total"))
    assert (summed, rules["fit"][-1], rules["engagement"][-1], rules["total"][-1]) == (
        Decimal("78.11"),
        "37.00",
        "41.11",
        "78.11",
    )
    assert "tier hot · grade A · level 2 · matrix A2 · stage sql (sql: total >= 75 and grade in ['A', 'B'])" in out
    assert table(out, "fit_only@2: total 60.00").row("leader")[-1] == "60.00"

    history = table(out, "score history")
    assert [(r[0], r[2], r[5], r[6]) for r in history.rows if r[0] == "b2b_saas@1"] == [
        ("b2b_saas@1", "78.11", "hot", "sql"),
        ("b2b_saas@1", "32.00", "warm", "mql"),
    ]
    moves = table(out, "stage transitions")
    assert [(r[0], r[2], r[3], r[4]) for r in moves.rows] == [
        ("b2b_saas@1", "-", "mql", "mql: total >= 25"),
        ("fit_only@2", "-", "lead", "default stage"),
        ("b2b_saas@1", "mql", "sql", "sql: total >= 75 and grade in ['A', 'B']"),
    ]
    assert [t.title for t in tables(out)] == [
        "b2b_saas@1: total 78.11",
        "fit_only@2: total 60.00",
        "score history (newest first)",
        "stage transitions",
    ]


def test_explain_a_lead_made_by_an_event(loaded: Path) -> None:
    out = ok("-p", loaded, "explain", "new@zeta.io", "--history", "1")
    assert table(out, "b2b_saas@1: total 9.55").row("webinar_signup")[-1] == "9.55"
    assert len(table(out, "score history").rows) == 1


# -- export ----------------------------------------------------------------------------------------------


def test_export_csv_one_row_per_lead_and_columns_per_model(loaded: Path) -> None:
    rows = export_csv(loaded)
    assert list(rows[0]) == ["id", "email"] + [f"{m}_{f}" for m in ("b2b_saas", "fit_only") for f in FIELDS]
    leads = by_id(rows)
    assert sorted(leads) == ["L1", "L2", "L5", "L6", "new@zeta.io"]
    assert [leads["L1"][f"b2b_saas_{f}"] for f in FIELDS] == ["78.11", "37.00", "41.11", "hot", "A", "2", "A2", "sql"]
    assert [leads["L5"][f"fit_only_{f}"] for f in ("total", "tier", "grade")] == ["90.00", "hot", "A"]
    assert {k: v["email"] for k, v in leads.items()} == {
        "L1": "ana@acme.io",
        "L2": "bob@gmail.com",
        "L5": "dee@gamma.io",
        "L6": "eve@delta.io",
        "new@zeta.io": "new@zeta.io",
    }


def test_export_jsonl_matches_csv(loaded: Path) -> None:
    lines = ok("-p", loaded, "export", "-f", "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 5
    csv_rows = by_id(export_csv(loaded))
    for record in records:
        assert set(record) == {"id", "email", "scores"}
        assert set(record["scores"]) == {"b2b_saas@1", "fit_only@2"}
        row = csv_rows[record["id"]]
        assert record["email"] == row["email"]
        for model, prefix in (("b2b_saas@1", "b2b_saas"), ("fit_only@2", "fit_only")):
            numbers = ("total", "fit", "engagement")
            expected = {f: float(row[f"{prefix}_{f}"]) if f in numbers else row[f"{prefix}_{f}"] for f in FIELDS}
            assert record["scores"][model] == expected


def test_export_to_a_file(loaded: Path, tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    assert ok("-p", loaded, "export", "-o", target) == f"wrote 5 leads to {target}\n"
    written = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert written == export_csv(loaded)


def test_export_an_empty_project_writes_the_header_only(project: Path) -> None:
    text = ok("-p", project, "export")
    assert text == "id,email," + ",".join(f"{m}_{f}" for m in ("b2b_saas", "fit_only") for f in FIELDS) + "\n"


def test_export_two_versions_of_one_model_side_by_side(loaded: Path, leads_csv: Path) -> None:
    models = loaded / "models"
    v2 = (models / "b2b_saas.yaml").read_text(encoding="utf-8").replace("\nversion: 1\n", "\nversion: 2\n")
    (models / "b2b_saas_v2.yaml").write_text(v2.replace("points: 12\n", "points: 22\n", 1), encoding="utf-8")
    (loaded / "leadscore.yaml").write_text(
        "models:\n  - models/b2b_saas.yaml\n  - models/b2b_saas_v2.yaml\n", encoding="utf-8"
    )
    ok("-p", loaded, "rescore", "--as-of", AS_OF)

    rows = export_csv(loaded)
    # Once, both versions were written under the same b2b_saas_* columns.
    assert list(rows[0]) == ["id", "email"] + [f"b2b_saas_v{v}_{f}" for v in (1, 2) for f in FIELDS]
    lead = by_id(rows)["L1"]
    # Version 2 gives a VP 22 points instead of 12: L1 gains 10, L5 (head of IT) does not.
    assert (lead["b2b_saas_v1_fit"], lead["b2b_saas_v2_fit"]) == ("37.00", "47.00")
    assert (lead["b2b_saas_v1_total"], lead["b2b_saas_v2_total"]) == ("78.11", "88.11")
    dee = by_id(rows)["L5"]
    assert (dee["b2b_saas_v1_total"], dee["b2b_saas_v2_total"]) == ("10.00", "10.00")
