"""The backtest on each backend: model files replayed over the stored leads give the reference engine's
scores, two versions of one model get columns of their own, and a predictive model is judged only on the
leads it held out of training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from review_scenario import AS_OF, MODEL_V2_YAML, MODEL_YAML, load, scenario

from leadscore.engine.compiled import CompiledModel
from leadscore.model import loads_model
from leadscore.predict.backtest import backtest, candidates
from leadscore.predict.dataset import Row, Snapshots, training_rows
from leadscore.predict.holdout import evaluation_rows
from leadscore.predict.metrics import ranking
from leadscore.predict.train import group_share
from leadscore.store.protocol import Store

SNAPSHOTS = Snapshots((0, 7))


@dataclass
class FakePredictor:
    """The artifact's interface (``metadata``, ``predict``): a VP is likely to convert, anyone else not."""

    metadata: dict[str, Any]

    def predict(self, features: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        return np.array([0.8 if f.get("field.title") == "vp" else 0.2 for f in features])


def _files(tmp_path: Path, *sources: tuple[str, str]) -> list[Path]:
    paths = []
    for name, text in sources:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_versions_of_one_model_get_columns_of_their_own(tmp_path: Path) -> None:
    v1, v2 = _files(tmp_path, ("v1.yaml", MODEL_YAML), ("v2.yaml", MODEL_V2_YAML))
    assert [c.label for c in candidates([v1, v2])] == ["scenario@1", "scenario@2"]
    a, b = _files(tmp_path, ("a/m.yaml", MODEL_YAML), ("b/m.yaml", MODEL_YAML))
    assert [c.label for c in candidates([v1, a])] == ["scenario@1:v1.yaml", "scenario@1:m.yaml"]
    assert [c.label for c in candidates([a, b])] == ["scenario@1:m.yaml", f"scenario@1:{b}"]
    with pytest.raises(ValueError, match="given twice"):
        candidates([v1, v1])


def test_backtest_replays_the_reference_engine_and_ranks_side_by_side(store: Store, tmp_path: Path) -> None:
    load(store, scenario())
    v1, v2 = _files(tmp_path, ("v1.yaml", MODEL_YAML), ("v2.yaml", MODEL_V2_YAML))
    result = backtest(store, candidates([v1, v2]), SNAPSHOTS, 90, AS_OF)
    first, second = result.columns
    # The same figures as the rows built by the reference engine under the model's own name.
    plain = CompiledModel(loads_model(MODEL_YAML))
    rows = list(training_rows(store, [plain], SNAPSHOTS, 90, AS_OF))
    assert first.ranking == ranking([r.features["scenario.total"] for r in rows], [r.label for r in rows])
    assert (result.rows, result.positives) == (len(rows), sum(r.label for r in rows))
    # Version 2 takes the points away from the newsletter, which marks leads that convert less: it ranks better.
    assert first.ranking.auc is not None and second.ranking.auc is not None
    assert second.ranking.auc > first.ranking.auc + 0.05
    tiers = {g["group"]: g for g in first.by_tier}
    assert list(tiers) == ["hot", "warm", "cold"]
    assert sum(int(g["rows"]) for g in first.by_tier) == len(rows)  # type: ignore[call-overload]
    hot = [r for r in rows if r.features["scenario.tier"] == "hot"]
    assert (tiers["hot"]["rows"], tiers["hot"]["converted"]) == (len(hot), sum(r.label for r in hot))
    assert [g["group"] for g in first.by_stage] == ["sql", "mql", "lead"]
    assert result.as_dict()["columns"][1]["label"] == "scenario@2"  # type: ignore[index]


def _rows(store: Store) -> list[Row]:
    return list(training_rows(store, [CompiledModel(loads_model(MODEL_YAML))], SNAPSHOTS, 90, AS_OF))


def test_the_predictive_model_is_judged_on_the_leads_it_held_out(store: Store) -> None:
    load(store, scenario())
    rows = _rows(store)
    created = {lead.id: lead.created_at for lead in scenario().leads}
    cut = datetime(2026, 3, 15, tzinfo=UTC).isoformat()
    by_time = evaluation_rows(rows, FakePredictor({"version": "v", "holdout": {"by": "time", "from": cut}}), 90)
    expected = {r.lead_id for r in rows if (c := created[r.lead_id]) is not None and c.isoformat() >= cut}
    assert {r.lead_id for r in by_time.rows} == expected and 0 < len(expected) < len(created)
    assert by_time.warnings == ()
    holdout = {"by": "group", "salt": "s", "share": 0.3}
    by_group = evaluation_rows(rows, FakePredictor({"holdout": holdout, "horizon_days": 30}), 90)
    assert all(r.account_id for r in rows)  # each lead's company is an account: the group training splits by
    assert {r.lead_id for r in by_group.rows} == {r.lead_id for r in rows if group_share(str(r.account_id), "s") < 0.3}
    assert "30 days" in by_group.warnings[0]  # trained for another horizon
    nothing = evaluation_rows(rows, FakePredictor({"holdout": {"by": "none"}}), 90)
    assert len(nothing.rows) == len(rows) and "optimistic" in nothing.warnings[0]
    with pytest.raises(ValueError, match="unknown holdout"):
        evaluation_rows(rows, FakePredictor({"holdout": {"by": "moon"}}), 90)
    future = FakePredictor({"holdout": {"by": "time", "from": "2030-01-01T00:00:00+00:00"}})
    with pytest.raises(ValueError, match="no rows to evaluate on"):
        evaluation_rows(rows, future, 90)


def test_backtest_against_the_predictive_score(store: Store, tmp_path: Path) -> None:
    load(store, scenario())
    (v1,) = _files(tmp_path, ("v1.yaml", MODEL_YAML))
    fake = FakePredictor({"version": "7", "holdout": {"by": "time", "from": "2026-03-15T00:00:00+00:00"}})
    project = [CompiledModel(loads_model(MODEL_YAML))]
    result = backtest(store, candidates([v1]), SNAPSHOTS, 90, AS_OF, fake, project)
    assert [c.label for c in result.columns] == ["scenario@1", "predictive@7"]
    assert [c.kind for c in result.columns] == ["rules", "predictive"]
    assert result.rows == result.columns[1].ranking.rows < len(_rows(store))
    assert "held out" in result.evaluated_on


def test_nothing_to_evaluate_is_an_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a model file"):
        backtest(store, [], SNAPSHOTS, 90, AS_OF)
    (v1,) = _files(tmp_path, ("v1.yaml", MODEL_YAML))
    with pytest.raises(ValueError, match="no rows to evaluate"):
        backtest(store, candidates([v1]), SNAPSHOTS, 90, AS_OF)  # nothing is stored yet
