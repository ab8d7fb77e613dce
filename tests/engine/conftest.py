"""Fixtures for the engine tests; plain builders live in engine_helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import T0

from leadscore.engine import CompiledModel, Lead, compile_model
from leadscore.model import load_model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b_saas.yaml"


@pytest.fixture(scope="session")
def example_model() -> CompiledModel:
    """The shipped example model, compiled once."""
    return compile_model(load_model(EXAMPLE))


@pytest.fixture
def lead() -> Lead:
    """A lead with no fields, created at day 0 (Monday 1 January 2024)."""
    return Lead(id="L", created_at=T0)
