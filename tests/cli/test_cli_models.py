"""``leadscore models`` (upload, dry run, activate and roll back a version) and ``leadscore outcomes``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cli_helpers import AS_OF, by_id, export_csv, invoke, ok


def _v2(project: Path) -> Path:
    source = (project / "models" / "b2b_saas.yaml").read_text(encoding="utf-8")
    changed = source.replace("\nversion: 1\n", "\nversion: 2\n").replace(
        "- name: vp\n    points: 12\n", "- name: vp\n    points: 22\n"
    )
    path = project / "b2b_saas_v2.yaml"
    path.write_text(changed, encoding="utf-8")
    return path


def test_a_version_is_compared_activated_and_rolled_back(loaded: Path) -> None:
    v2 = _v2(loaded)
    assert "stored b2b_saas@2" in ok("-p", loaded, "models", "upload", v2)
    assert "already stored b2b_saas@2" in ok("-p", loaded, "models", "upload", v2)

    dry = json.loads(ok("-p", loaded, "models", "dry-run", "b2b_saas@2", "--as-of", AS_OF, "--json"))
    # Version 2 gives a VP 22 points instead of 12: L1 (a VP) gains 10, so only L1 is raised.
    assert (dry["against"], dry["raised"], dry["lowered"]) == ("b2b_saas@1", 1, 0)
    assert by_id(export_csv(loaded))["L1"]["b2b_saas_total"] == "78.11"  # a dry run writes nothing

    assert "activated b2b_saas@2 (replacing b2b_saas@1)" in ok("-p", loaded, "models", "activate", "b2b_saas@2")
    listing = ok("-p", loaded, "models", "list")
    assert "b2b_saas@2" in listing and "activate" in listing
    ok("-p", loaded, "rescore", "--as-of", AS_OF)  # the CLI scores with the active version too
    rows = by_id(export_csv(loaded))
    assert rows["L1"]["b2b_saas_total"] == "88.11"

    assert "activated b2b_saas@1 (replacing b2b_saas@2)" in ok("-p", loaded, "models", "rollback", "b2b_saas")
    again = invoke("-p", loaded, "models", "rollback", "b2b_saas")
    assert again.exit_code == 2 and "no earlier version" in again.stderr
    missing = invoke("-p", loaded, "models", "activate", "b2b_saas@7")
    assert missing.exit_code == 2 and "no stored model version 'b2b_saas@7'" in missing.stderr


def test_outcomes_load_from_a_file_and_from_a_label_column(loaded: Path, tmp_path: Path) -> None:
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("lead_id,status,closed_at\nL1,Closed Won,2026-02-20\nL2,lost,\nNOPE,won,\n", encoding="utf-8")
    out = ok("-p", loaded, "outcomes", "load", outcomes)
    assert "read 3, loaded 2, duplicates 0, rejected 1" in out and "no lead 'NOPE'" in out
    with (tmp_path / "outcomes.csv.rejects.csv").open(encoding="utf-8") as handle:
        (rejected,) = csv.DictReader(handle)
    assert rejected["line"] == "4" and json.loads(rejected["raw"])["lead_id"] == "NOPE"  # kept, to fix and reload
    labels = tmp_path / "labels.csv"
    labels.write_text("id,Converted\nL5,1\nL6,0\n", encoding="utf-8")
    assert "loaded 2" in ok("-p", loaded, "outcomes", "load", labels, "--label-column", "Converted")
    recycled = tmp_path / "recycled.csv"
    recycled.write_text("lead_id,status,closed_at\nL6,won,2026-03-01\n", encoding="utf-8")
    out = ok("-p", loaded, "outcomes", "load", recycled)  # L6 was loaded as not converted just above
    assert "note: 1 leads now hold both a conversion and a loss" in out
    missing = invoke("-p", loaded, "outcomes", "load", labels, "--label-column", "Won")
    assert missing.exit_code == 2 and "no label column 'Won'" in missing.stderr


def test_dataset_writes_point_in_time_rows_and_flags_a_leaking_column(loaded: Path, tmp_path: Path) -> None:
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("lead_id,outcome,occurred_at\nL1,won,2026-02-25\nL2,lost,2026-02-26\n", encoding="utf-8")
    ok("-p", loaded, "outcomes", "load", outcomes)
    target = tmp_path / "rows.csv"
    out = ok("-p", loaded, "dataset", "-o", target, "--date", "2026-02-20", "--horizon-days", "30", "--as-of", AS_OF)
    assert "converted within 30 days" in out
    with target.open(encoding="utf-8") as handle:
        rows = {row["lead_id"]: row for row in csv.DictReader(handle)}
    assert rows["L1"]["label"] == "1" and rows["L2"]["label"] == "0"
    assert "b2b_saas.total" in rows["L1"] and "events.form_submit.30d" in rows["L1"]
    refused = invoke("-p", loaded, "dataset", "-o", target)
    assert refused.exit_code == 2 and "--after-creation-days" in refused.stderr


def test_a_bare_lead_list_with_a_label_column_needs_no_as_of(tmp_path: Path) -> None:
    """No event and no timed outcome: the data ends now, said in a line; a snapshot after creation cannot
    be placed for leads without a creation time, and the refusal says so."""
    root = tmp_path / "bare"
    ok("init", root)
    leads, labels = tmp_path / "leads.csv", tmp_path / "labels.csv"
    leads.write_text("id,email,title\nL1,a@x.io,VP\nL2,b@y.io,Analyst\n", encoding="utf-8")
    labels.write_text("id,Converted\nL1,1\nL2,0\n", encoding="utf-8")
    ok("-p", root, "ingest", "leads", leads)
    ok("-p", root, "outcomes", "load", labels, "--label-column", "Converted")
    out = ok("-p", root, "dataset", "-o", tmp_path / "rows.csv", "--date", "2026-01-01")
    assert out.startswith("no event or outcome in the store has a time: the data is taken as complete now")
    assert "wrote 2 rows (1 converted within 90 days)" in out
    refused = invoke("-p", root, "dataset", "-o", tmp_path / "none.csv", "--after-creation-days", "14")
    assert refused.exit_code == 2 and "no rows to write" in refused.stderr and "(use --date)" in refused.stderr
    assert not (tmp_path / "none.csv").exists()
