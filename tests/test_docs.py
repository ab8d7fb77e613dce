"""The docs keep up with the code: every model setting, operator, CLI command and event type is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from leadscore.cli.main import app
from leadscore.model.conditions import OPERATORS
from leadscore.model.rules import EngagementRule, Inactivity
from leadscore.model.scoring_model import ScoringModel
from leadscore.model.stages import STAGE_FIELDS, Lifecycle

ROOT = Path(__file__).resolve().parents[1]
SCORING = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIELDS = (ROOT / "docs" / "fields.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", sorted(ScoringModel.model_fields))
def test_every_model_setting_is_in_the_scoring_doc_or_readme(setting: str) -> None:
    if setting in ("name", "version", "description"):
        assert f"{setting}:" in README
        return
    assert f"`{setting}" in SCORING or f"{setting}:" in README, setting


@pytest.mark.parametrize(
    "setting",
    sorted(set(EngagementRule.model_fields) | set(Inactivity.model_fields) | set(Lifecycle.model_fields)),
)
def test_every_rule_and_lifecycle_setting_is_documented(setting: str) -> None:
    if setting in ("name", "description", "points", "event", "where", "stages", "disqualified_stage"):
        assert setting in SCORING or setting in README
        return
    assert re.search(rf"\b{setting}\b", SCORING), setting


@pytest.mark.parametrize("operator", [op.rstrip("_") for op in OPERATORS])
def test_every_operator_is_in_the_conditions_table(operator: str) -> None:
    assert f"`{operator}`" in SCORING


@pytest.mark.parametrize("field", sorted(STAGE_FIELDS))
def test_every_stage_field_is_documented(field: str) -> None:
    assert f"`{field}`" in SCORING


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    click_group = typer.main.get_command(group)
    names = []
    for name, command in click_group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            names += [f"{prefix}{name} {sub}" for sub in command.commands]
        else:
            names.append(f"{prefix}{name}")
    return names


@pytest.mark.parametrize("command", _commands(app))
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    base = command.split()[0]
    assert f"leadscore {base}" in README, command


def test_every_event_type_of_the_example_model_is_in_the_vocabulary() -> None:
    from leadscore.model import load_model

    model = load_model(ROOT / "examples" / "b2b_saas.yaml")
    for rule in model.engagement:
        assert f"`{rule.event}`" in FIELDS, rule.event
