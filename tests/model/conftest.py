"""Helpers for model tests: write a small YAML model to a temporary file and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from leadscore.model import Condition, ModelError, ScoringModel, load_model

WriteModel = Callable[[str], Path]
LoadErrors = Callable[[str], tuple[Path, ModelError]]
LoadCondition = Callable[[str], Condition]
# Test modules repeat these aliases rather than import them: every conftest.py is a module named "conftest".


@pytest.fixture
def write_model(tmp_path: Path) -> WriteModel:
    """Writes dedented YAML to ``model.yaml``; line 1 of the file is the first line of the text."""

    def write(text: str) -> Path:
        path = tmp_path / "model.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load_errors(write_model: WriteModel) -> LoadErrors:
    """Loads a model that must fail and returns its path with the error."""

    def load(text: str) -> tuple[Path, ModelError]:
        path = write_model(text)
        with pytest.raises(ModelError) as caught:
            load_model(path)
        return path, caught.value

    return load


@pytest.fixture
def load_condition(write_model: WriteModel) -> LoadCondition:
    """Loads one condition, written as the ``when:`` of the only fit rule of a model."""

    def load(condition_yaml: str) -> Condition:
        text = "name: m\nfit:\n  - name: r\n    points: 1\n    when:\n" + textwrap.indent(
            textwrap.dedent(condition_yaml), "      "
        )
        model = load_model(write_model(text))
        assert isinstance(model, ScoringModel)
        return model.fit[0].when

    return load
