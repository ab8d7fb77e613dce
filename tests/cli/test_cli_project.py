"""``leadscore init`` and ``leadscore validate``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from cli_helpers import check_error_message, invoke, ok

BROKEN_MODEL = """\
name: bad
version: 1
fit:
  - name: a
    points: ten
    when: {field: title, matchez: x}
engagement:
  - name: b
    event: page_view
    points: 5
    limit: {count: 1, per: year}
tiers: [{name: hot, min: 75}, {name: cold}]
"""

BROKEN_BANDS = """\
name: bands
version: 1
fit:
  - name: a
    points: 1
    when: {field: title, matches: "(unclosed"}
tiers: [{name: hot, min: 10}, {name: warm, min: 20}, {name: cold}]
"""


def test_init_writes_config_and_example_model(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    out = ok("init", root)
    assert out == f"project ready: {root / 'leadscore.yaml'}\nnext: leadscore -p {root} ingest leads FILE.csv\n"
    config = (root / "leadscore.yaml").read_text(encoding="utf-8")
    assert "database: sqlite:///leadscore.db\n" in config
    assert "models:\n  - models/b2b_saas.yaml\n" in config
    shipped = files("leadscore.data").joinpath("models/b2b_saas.yaml").read_text(encoding="utf-8")
    assert (root / "models" / "b2b_saas.yaml").read_text(encoding="utf-8") == shipped


def test_init_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    ok("init", root)
    model = root / "models" / "b2b_saas.yaml"
    model.write_text(model.read_text(encoding="utf-8").replace("version: 1", "version: 7"), encoding="utf-8")
    ok("init", root)
    assert "version: 7" in model.read_text(encoding="utf-8")


def test_validate_ok(project: Path) -> None:
    out = ok("validate", project / "models" / "b2b_saas.yaml", project / "models" / "fit_only.yaml")
    assert out.splitlines() == [
        f"ok {project / 'models' / 'b2b_saas.yaml'}: b2b_saas@1, 15 fit and 16 engagement rules",
        f"ok {project / 'models' / 'fit_only.yaml'}: fit_only@2, 2 fit and 0 engagement rules",
    ]


def test_validate_lists_every_problem_of_every_file(project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_MODEL, encoding="utf-8")
    bands = tmp_path / "bands.yaml"
    bands.write_text(BROKEN_BANDS, encoding="utf-8")
    good = project / "models" / "b2b_saas.yaml"

    result = invoke("validate", broken, good, bands)

    assert result.exit_code == 2
    assert result.stdout == f"ok {good}: b2b_saas@1, 15 fit and 16 engagement rules\n"
    message = check_error_message(result.stderr)
    assert message.splitlines() == [
        "5 problems in scoring model",
        f"  {broken}:5:5: fit[0].points: Input should be a valid number, unable to parse string as a number, got 'ten'",
        f"  {broken}:6:26: fit[0].when.matchez: unknown field 'matchez'",
        f"  {broken}:11:23: engagement[0].limit.per: Input should be 'day', 'week' or 'month', got 'year'",
        f"  {bands}:6:26: fit[0].when.matches: expected a valid regular expression: missing ), unterminated "
        "subpattern at position 0",
        f"  {bands}:7:1: tiers: expected bands from highest to lowest 'min', got [10.0, 20.0]",
    ]


def test_validate_missing_file(tmp_path: Path) -> None:
    result = invoke("validate", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    message = check_error_message(result.stderr)
    assert (
        message
        == f"1 problem in scoring model\n  {tmp_path / 'nope.yaml'}:1:1: cannot read file: No such file or directory"
    )
