"""``leadscore train`` and ``leadscore predict`` end to end: the artifact is written, every lead gets a
probability with reason codes, and ``top``, ``explain`` and ``export`` show it beside the points."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cli_helpers import ok, user_error

from leadscore.service.project import load_project, write_project
from leadscore.store.url import open_store
from outcome_crm import OBSERVED_UNTIL, load_crm

UNTIL = OBSERVED_UNTIL.isoformat()


def _project(tmp_path: Path, leads: int) -> Path:
    write_project(tmp_path)
    project = load_project(tmp_path)
    store = open_store(project.database, base=project.root)
    try:
        load_crm(store, project, leads=leads)
    finally:
        store.close()
    return tmp_path


def test_train_then_every_lead_has_a_probability_shown_beside_its_points(tmp_path: Path) -> None:
    root = _project(tmp_path, 400)
    out = ok("-p", root, "train", "--after-creation-days", "7", "--as-of", UNTIL, "--min-outcomes", "30")
    assert "held-out, calibrated" in out and "scored 400 leads" in out
    (artifact,) = (root / "predictive").glob("predictive-*.json")
    meta = json.loads(artifact.read_text())
    assert meta["training"]["observed_until"] == UNTIL and meta["horizon_days"] == 90
    rows = list(csv.DictReader(io.StringIO(ok("-p", root, "export"))))
    assert len(rows) == 400 and all(0 < float(r["predictive_probability"]) < 1 for r in rows)
    assert any("events.form_submit" in r["predictive_reasons"] or "field.industry" in r["predictive_reasons"]
               for r in rows)  # fmt: skip
    assert "p(convert)" in ok("-p", root, "top", "--limit", "3")
    explained = ok("-p", root, "explain", "L0001")
    assert "chance of converting" in explained and "log-odds" in explained
    lines = ok("-p", root, "export", "--format", "jsonl").splitlines()
    first = json.loads(lines[0])
    assert set(first["predictive"]["predictive"]) == {"version", "probability", "up", "down"}
    again = ok("-p", root, "predict", "--artifact", artifact, "--as-of", "2025-06-01T00:00:00Z")
    assert "scored 400 leads" in again


def test_too_few_outcomes_is_a_one_line_refusal(tmp_path: Path) -> None:
    root = _project(tmp_path, 60)
    message = user_error("-p", root, "train", "--after-creation-days", "7", "--as-of", UNTIL)
    assert "at least 50 of each are needed" in message
    assert not (root / "predictive").exists()


def test_predict_without_a_trained_model_says_what_to_do(tmp_path: Path) -> None:
    root = _project(tmp_path, 10)
    assert "run 'leadscore train' first" in user_error("-p", root, "predict")


def test_a_column_to_leave_out_that_no_row_has_is_refused_with_the_nearest_name(tmp_path: Path) -> None:
    """A misspelt ``--exclude`` would leave the column in: the outcome itself, in the worst case."""
    root = _project(tmp_path, 60)
    snapshot = ("--after-creation-days", "7", "--as-of", UNTIL)
    for command in (("train",), ("dataset", "-o", tmp_path / "rows.csv"), ("suggest", "-o", tmp_path / "s.yaml")):
        excluded = ("--exclude", "field.Industry", "--exclude", "field.nope")
        message = user_error("-p", root, *command, *snapshot, *excluded)
        assert "no row has the column field.Industry (did you mean field.industry?), field.nope" in message
    assert not (root / "predictive").exists() and not (tmp_path / "rows.csv").exists()
