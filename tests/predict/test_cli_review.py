"""``leadscore backtest`` and ``leadscore review`` end to end: a project loaded through the CLI, a real
predictive model trained by ``leadscore train``, and the reports read back."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from review_scenario import MODEL_V2_YAML, MODEL_YAML, scenario, write_files
from typer.testing import CliRunner, Result

from leadscore.cli.main import app

SNAPSHOT = ("--after-creation-days", "0", "--after-creation-days", "7")


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"leadscore {' '.join(map(str, args))} raised {result.exception!r}") from result.exception
    return result


def ok(*args: str | Path) -> str:
    result = run(*args)
    assert result.exit_code == 0 and result.stderr == "", (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project scoring with the scenario model, its leads, events and outcomes loaded through the CLI."""
    root = tmp_path_factory.mktemp("review") / "acme"
    ok("init", root)
    (root / "models" / "scenario.yaml").write_text(MODEL_YAML, encoding="utf-8")
    (root / "leadscore.yaml").write_text("database: sqlite:///leadscore.db\nmodels:\n  - models/scenario.yaml\n")
    (root / "v2.yaml").write_text(MODEL_V2_YAML, encoding="utf-8")
    leads, events, outcomes = write_files(scenario(), root / "in")
    ok("-p", root, "ingest", "leads", leads, "--as-of", "2026-09-01")
    ok("-p", root, "ingest", "events", events, "--as-of", "2026-09-01")
    ok("-p", root, "outcomes", "load", outcomes)
    return root


@pytest.fixture(scope="module")
def artifact(project: Path) -> Path:
    path = project / "predictive.json"
    ok("-p", project, "train", *SNAPSHOT, "--min-outcomes", "10", "-o", path, "--no-score")
    return path


def _table_row(stdout: str, name: str) -> list[str]:
    line = next(line for line in stdout.splitlines() if line.startswith(f"│ {name} "))
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_backtest_compares_two_versions_of_a_model(project: Path) -> None:
    report = project / "backtest.json"
    out = ok(
        "-p",
        project,
        "backtest",
        project / "models" / "scenario.yaml",
        "--against",
        project / "v2.yaml",
        *SNAPSHOT,
        "--json",
        report,
    )
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    assert "scenario@1" in header and "scenario@2" in header
    data = orjson.loads(report.read_bytes())
    first, second = data["columns"]
    assert _table_row(out, "ROC AUC")[1:] == [f"{first['auc']:.3f}", f"{second['auc']:.3f}"]
    assert second["auc"] > first["auc"]  # v2 stops rewarding the newsletter
    assert "conversion by tier · scenario@2" in out
    assert data["rows"] == 320 and "all 320 rows" in out


def test_review_writes_one_html_file_and_the_same_figures_as_json(project: Path, artifact: Path) -> None:
    html_path, json_path = project / "review.html", project / "review.json"
    out = ok("-p", project, "review", "-o", html_path, "--json", json_path, "--predictive", artifact, *SNAPSHOT)
    figures = orjson.loads(json_path.read_bytes())
    assert f"wrote the review of {figures['summary']['rows']} rows" in out
    assert "flagged scenario.newsletter: wrong way; suggested points -" in out
    html = html_path.read_text(encoding="utf-8")
    embedded = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S)
    assert embedded is not None and orjson.loads(embedded.group(1)) == figures
    # The review finds the rows the trained model held out, and measures it on them as training did.
    meta = orjson.loads(artifact.read_bytes())
    tested = meta["metrics"]["test"]
    judged = figures["ranking"][f"predictive@{meta['version']}"]
    assert (judged["rows"], judged["positives"], judged["auc"]) == (tested["rows"], tested["positives"], tested["auc"])
    assert figures["ranking"]["scenario"]["rows"] == judged["rows"] < 320  # the rules model on the same rows
    assert figures["calibration"]["bins"]


def test_backtest_against_the_predictive_model(project: Path, artifact: Path) -> None:
    report = project / "backtest-predictive.json"
    args = ("backtest", project / "models" / "scenario.yaml", "--predictive", artifact, *SNAPSHOT, "--json", report)
    out = ok("-p", project, *args)
    assert "predictive@" in out and "held out of the predictive model's training" in out
    # Measured on the rows the model held out, with the columns it learned from (its facets included), the
    # backtest gives the figures training gave.
    tested = orjson.loads(artifact.read_bytes())["metrics"]["test"]
    column = next(c for c in orjson.loads(report.read_bytes())["columns"] if c["kind"] == "predictive")
    assert (column["rows"], column["positives"], column["auc"]) == (tested["rows"], tested["positives"], tested["auc"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("review", "-o", "r.html"), "expected --after-creation-days N or --date DATE"),
        (("backtest", "missing.yaml", *SNAPSHOT), "missing.yaml: cannot open"),
        (("review", "-o", "r.html", "--predictive", "models/scenario.yaml", *SNAPSHOT), "not a predictive model"),
    ],
)
def test_mistakes_are_one_line_errors(
    project: Path, args: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    result = run("-p", project, *args)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert message in result.stderr
