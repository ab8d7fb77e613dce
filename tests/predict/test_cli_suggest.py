"""``leadscore suggest`` end to end on a small store: it writes a model file that validates and uploads,
prints its thresholds, and refuses, in one line, data it cannot learn from."""

from __future__ import annotations

import re
from pathlib import Path

from scorecard_crm import OBSERVED_UNTIL, SNAPSHOT_DAYS, load_crm
from typer.testing import CliRunner, Result

from leadscore.cli.main import app
from leadscore.engine.compiled import CompiledModel
from leadscore.engine.types import to_micros
from leadscore.model.loader import load_model
from leadscore.model.scoring_model import ScoringModel
from leadscore.predict.dataset import Snapshots, training_rows
from leadscore.predict.funnel import stages_reached
from leadscore.service.project import Project
from leadscore.store.protocol import Store

_runner = CliRunner()


def _suggest(project: Project, *args: str | Path) -> Result:
    base = ["-p", str(project.root), "suggest", "--after-creation-days", str(SNAPSHOT_DAYS)]
    return _runner.invoke(app, [*base, "--as-of", OBSERVED_UNTIL.isoformat(), *map(str, args)])


def test_suggest_writes_a_model_that_validates_and_uploads(project: Project, store: Store, tmp_path: Path) -> None:
    converted = load_crm(store)
    output = tmp_path / "suggested.yaml"
    result = _suggest(project, "-o", output, "--name", "learned", "--mql-share", "0.25", "--exclude", "field.colour")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("leakage? lead fields changed after the snapshot")  # loaded after it
    assert lines[0].startswith(f"wrote {output}: learned, base ")
    assert lines[0].endswith(f"from 600 rows ({converted} converted)")
    # About a quarter of the rows' leads reach MQL by their snapshot, as the lifecycle replayed from the store
    # says they do; fewer stand there at it.
    reached = re.fullmatch(r"  mql from (\d+) points: reached by ([\d.]+)% of training rows' leads .*", lines[2])
    assert reached is not None and 23 < float(reached.group(2)) < 27, lines[2]
    assert _reached_mql(store, load_model(output)) == float(reached.group(2))
    assert lines[4].startswith(("  inactivity: -", "  no inactivity penalty: "))
    assert lines[5].startswith("  training AUC 0.")
    model = load_model(output)
    assert model.key == "learned@1"
    assert not any("colour" in rule.name for rule in model.fit)  # excluded
    assert any(rule.name.startswith("industry_") for rule in model.fit)
    validated = _runner.invoke(app, ["validate", str(output)])
    assert validated.exit_code == 0 and "ok" in validated.stdout
    uploaded = _runner.invoke(app, ["-p", str(project.root), "models", "upload", str(output)])
    assert uploaded.exit_code == 0, uploaded.output


def _reached_mql(store: Store, model: ScoringModel) -> float:
    """The share of training rows whose lead stood at MQL at some moment up to the snapshot, by the funnel."""
    compiled = CompiledModel(model)
    rows = training_rows(store, [], Snapshots((SNAPSHOT_DAYS,)), 90, OBSERVED_UNTIL)
    at = {r.lead_id: to_micros(r.snapshot) for r in rows}
    hits = [
        "mql" in stages_reached(compiled, lead, events, at[lead.id])
        for _, lead, events in store.scan()
        if lead.id in at
    ]
    return round(100 * sum(hits) / len(hits), 1)


def test_suggest_refuses_too_few_outcomes_in_one_line(project: Project, store: Store, tmp_path: Path) -> None:
    load_crm(store, leads=120)
    output = tmp_path / "suggested.yaml"
    result = _suggest(project, "-o", output)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the training rows hold ") and result.stderr.count("\n") == 1
    assert "at least 50 of each" in result.stderr and not output.exists()
    assert _suggest(project, "-o", output, "--min-outcomes", "10").exit_code == 0


def test_suggest_says_what_is_wrong_with_its_options(project: Project, store: Store, tmp_path: Path) -> None:
    load_crm(store, leads=120)
    cases: list[tuple[list[str | Path], str]] = [
        (["-o", tmp_path / "s.json"], "--output: expected a .yaml file"),
        (["-o", tmp_path / "s.yaml", "--name", "a b"], "--name: expected letters, digits"),
        (["-o", tmp_path / "s.yaml", "--mql-share", "0.2", "--mql-precision", "0.5"], "not both"),
    ]
    for args, message in cases:
        result = _suggest(project, *args)
        assert result.exit_code == 2 and message in result.stderr, result.output
    result = _runner.invoke(app, ["-p", str(project.root), "suggest", "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2 and "expected --after-creation-days N or --date DATE" in result.stderr
