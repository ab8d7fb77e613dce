"""Scoring models: typed, validated, and loaded from YAML files."""

from leadscore.model.bands import Band, Bands
from leadscore.model.conditions import AllOf, AnyOf, Condition, FieldTest, NotOf
from leadscore.model.loader import ModelError, ModelIssue, load_model, loads_model
from leadscore.model.rules import (
    Decay,
    EngagementRule,
    ExponentialDecay,
    FitRule,
    FrequencyLimit,
    Inactivity,
    LinearDecay,
    NoDecay,
)
from leadscore.model.scoring_model import AccountScoring, Limit, Limits, Rollup, ScoringModel
from leadscore.model.stages import Lifecycle, Stage

__all__ = [
    "AccountScoring",
    "AllOf",
    "AnyOf",
    "Band",
    "Bands",
    "Condition",
    "Decay",
    "EngagementRule",
    "ExponentialDecay",
    "FieldTest",
    "FitRule",
    "FrequencyLimit",
    "Inactivity",
    "Lifecycle",
    "Limit",
    "Limits",
    "LinearDecay",
    "ModelError",
    "ModelIssue",
    "NoDecay",
    "NotOf",
    "Rollup",
    "ScoringModel",
    "Stage",
    "load_model",
    "loads_model",
]
