"""The public X Education lead list, loaded with its mapping and scored with its example model.

The outcome (``Converted``) is read from Leads.csv itself, never from what leadscore stored, and compared
with the exported scores: the model must put converted leads on top.
"""

from __future__ import annotations

import csv
import json
import shutil
from bisect import bisect_left, bisect_right
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, X_EDUCATION_CSV, by_id, export_csv, ok, summary, table

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not X_EDUCATION_CSV.is_file(), reason=f"X Education dataset not found at {X_EDUCATION_CSV} (see ../shared)"
    ),
]


@pytest.fixture(scope="module")
def x_education(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made by ``leadscore init`` that runs only the X Education model, with Leads.csv loaded."""
    root = tmp_path_factory.mktemp("x_education") / "project"
    ok("init", root)
    shutil.copy(EXAMPLES / "x_education" / "model.yaml", root / "models" / "x_education.yaml")
    (root / "leadscore.yaml").write_text(
        "database: sqlite:///leadscore.db\nmodels:\n  - models/x_education.yaml\n", encoding="utf-8"
    )
    mapping = EXAMPLES / "x_education" / "mapping.yaml"
    out = ok("-p", root, "ingest", "leads", X_EDUCATION_CSV, "--mapping", mapping, "--as-of", "2026-01-01T00:00:00Z")
    assert summary(out) == {
        "kind": "leads",
        "source": str(X_EDUCATION_CSV),
        "read": 9240,
        "loaded": 9240,
        "updated": 0,
        "duplicates": 0,
        "rejected": 0,
        "changed": 9240,
    }
    assert "rejected rows kept" not in out
    assert not X_EDUCATION_CSV.with_name("Leads.csv.rejects.csv").exists()
    return root


def _converted() -> dict[str, bool]:
    with X_EDUCATION_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return {row["Prospect ID"]: row["Converted"] == "1" for row in csv.DictReader(handle)}


def test_top(x_education: Path) -> None:
    top = table(ok("-p", x_education, "top", "--limit", "5"), "top 5 leads · x_education@1")
    assert top.column("total") == ["100.00"] * 5  # more than 5 leads reach the cap of 100
    assert top.column("tier") == ["hot"] * 5
    assert all(
        reasons.startswith("lead_add_form +30, working_professional +30") for reasons in top.column("top reasons")
    )
    assert len(table(ok("-p", x_education, "top", "--tier", "cold", "--limit", "3"), "top 3 leads").rows) == 3


def test_export_separates_converted_from_other_leads(x_education: Path) -> None:
    converted = _converted()
    rows = export_csv(x_education)
    assert len(rows) == 9240
    scores = by_id(rows)
    assert set(scores) == set(converted)
    assert list(rows[0])[2:] == [
        f"x_education_{f}" for f in ("total", "fit", "engagement", "tier", "grade", "level", "matrix", "stage")
    ]

    overall = sum(converted.values()) / len(converted)
    assert round(overall, 3) == 0.385
    leads = Counter(row["x_education_tier"] for row in rows)
    won = Counter(row["x_education_tier"] for row in rows if converted[row["id"]])
    # The counts docs/ingest.md reports for this model and file.
    assert (leads["hot"], leads["warm"], leads["cold"]) == (1036, 2764, 5440)
    assert (won["hot"], won["warm"], won["cold"]) == (976, 1741, 844)
    assert won["hot"] / leads["hot"] > won["warm"] / leads["warm"] > overall > won["cold"] / leads["cold"]

    totals = {lead: float(row["x_education_total"]) for lead, row in scores.items()}
    yes = [totals[lead] for lead, won_ in converted.items() if won_]
    no = sorted(totals[lead] for lead, won_ in converted.items() if not won_)
    assert round(sum(yes) / len(yes), 1) == 39.9
    assert round(sum(no) / len(no), 1) == 10.8
    # ROC AUC: the chance that a converted lead outscores a lead that did not convert (ties count half).
    wins = sum(bisect_left(no, t) + (bisect_right(no, t) - bisect_left(no, t)) / 2 for t in yes)
    assert round(wins / (len(yes) * len(no)), 2) == 0.85


def test_export_jsonl_to_a_file(x_education: Path, tmp_path: Path) -> None:
    target = tmp_path / "scores.jsonl"
    assert ok("-p", x_education, "export", "-f", "jsonl", "-o", target) == f"wrote 9240 leads to {target}\n"
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9240
    assert json.loads(lines[0])["scores"]["x_education@1"]["tier"] in ("hot", "warm", "cold")
