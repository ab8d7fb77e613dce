"""The example model shipped with leadscore must load, and say what its comments say."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from leadscore.model import ExponentialDecay, FieldTest, load_model, loads_model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b_saas.yaml"


def test_the_example_model_validates() -> None:
    model = load_model(EXAMPLE)
    assert model.key == "b2b_saas@1"
    assert model.decay == ExponentialDecay(kind="exponential", half_life_days=30)
    assert model.window_days == 365
    assert len(model.fit) == 15
    assert len(model.engagement) == 16
    assert model.lifecycle.names() == ["lead", "mql", "sql"]
    assert model.account.rollup.method == "top_n_mean"


def test_the_example_model_is_the_packaged_one() -> None:
    packaged = files("leadscore.data").joinpath("models", "b2b_saas.yaml").read_text(encoding="utf-8")
    assert loads_model(packaged) == load_model(EXAMPLE)


def test_bad_signals_opt_out_of_the_model_decay_and_window() -> None:
    model = load_model(EXAMPLE)
    rules = {rule.name: rule for rule in model.engagement}
    for name in ("unsubscribe", "hard_bounce", "spam_complaint"):
        rule = rules[name]
        assert rule.decay is not None
        assert rule.decay.kind == "none"
        assert rule.window_days is None
        assert "window_days" in rule.model_fields_set  # written as `window_days: null`
    assert "window_days" not in rules["demo_request"].model_fields_set


def test_the_example_model_uses_its_own_list() -> None:
    model = load_model(EXAMPLE)
    assert model.lifecycle.disqualify is not None
    tests = [t for t in getattr(model.lifecycle.disqualify, "any", []) if isinstance(t, FieldTest)]
    assert [t.domain_in for t in tests if t.domain_in] == ["competitors"]
    assert "competitors" in model.lists
