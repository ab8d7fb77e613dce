"""Training: a signal that is there is found, calibrated and explained; too little data is refused; the
artifact is data that loads back to the same predictions; held-out leads are never trained on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from leadscore.predict.artifact import Artifact
from leadscore.predict.encoding import Encoding, table_of
from leadscore.predict.learners import LINEAR_C_GRID, Linear, Platt, fit_linear
from leadscore.predict.metrics import auc, expected_calibration_error
from leadscore.predict.train import TooFewOutcomes, TrainingSet, _folds, _path_rows, held_out, linear_strength, train

NOW = datetime(2026, 11, 23, tzinfo=UTC)
DAY_US = 86_400 * 10**6


def synthetic(n: int = 3000, seed: int = 1, timed: bool = True) -> TrainingSet:
    """Conversion follows a known logistic rule; ``TRUE_LOGIT[id(data)]`` keeps it for the oracle AUC."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(np.array(["software", "retail", "bank", None], dtype=object), n, p=[0.3, 0.3, 0.3, 0.1])
    views = rng.poisson(2, n).astype(float)
    demo = rng.binomial(1, 0.15, n)
    logit = -2 + 0.5 * views + 1.5 * demo + np.where(industry == "software", 1.0, 0.0)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    created = np.sort(rng.uniform(1.70e15, 1.73e15, n)) if timed else np.full(n, np.nan)
    table = {"field.industry": list(industry), "events.page_view.30d": views, "events.demo.30d": demo,
             "noise": rng.normal(size=n)}  # fmt: skip
    ids = [f"L{i}" for i in range(n)]
    accounts = [f"A{i % 300}" for i in range(n)]
    snapshots = np.full(n, int(1.74e15), dtype=np.int64)
    data = TrainingSet(table, labels, ids, accounts, created, snapshots)
    TRUE_LOGIT[id(data)] = logit
    return data


TRUE_LOGIT: dict[int, np.ndarray] = {}


@pytest.mark.parametrize("timed", [True, False])
def test_a_real_signal_is_found_and_calibrated_on_held_out_leads(timed: bool) -> None:
    data = synthetic(n=8000, timed=timed)
    artifact = train(data, horizon_days=90, trained_at=NOW)
    meta = artifact.metadata
    test = meta["metrics"]["test"]
    held = np.array([held_out(meta["holdout"], t, g) for t, g in zip(data.times, data.groups, strict=True)])
    oracle = auc(TRUE_LOGIT[id(data)][held], data.labels[held])  # the rule that made the labels
    assert oracle is not None and test["auc"] > oracle - 0.02
    truth = 1 / (1 + np.exp(-TRUE_LOGIT[id(data)][held]))
    noise = expected_calibration_error(truth, data.labels[held])  # what sampling alone gives on these rows
    assert test["ece"] < noise + 0.02
    assert meta["validation"]["by"] == ("time" if timed else "account groups")
    assert meta["validation"]["folds"] == (3 if timed else 5)
    assert meta["holdout"]["by"] == ("time" if timed else "group")
    assert {"logistic", "lightgbm"} <= set(meta["candidates"]) <= {"logistic", "lightgbm", "stacked"}
    assert meta["kind"] in meta["candidates"]
    assert meta["training"]["rows"] + test["rows"] == 8000
    assert set(meta["libraries"]) >= {"lightgbm", "scikit-learn", "numpy", "python", "leadscore"}


def test_held_out_leads_are_found_again_from_the_artifact() -> None:
    data = synthetic()
    artifact = train(data, horizon_days=90, trained_at=NOW)
    flags = [held_out(artifact.metadata["holdout"], t, g) for t, g in zip(data.times, data.groups, strict=True)]
    assert sum(flags) == artifact.metadata["metrics"]["test"]["rows"]
    assert artifact.metadata["training"]["rows"] == len(flags) - sum(flags)
    untimed = synthetic(timed=False)
    meta = train(untimed, horizon_days=90, trained_at=NOW).metadata
    by_account: dict[str, set[bool]] = {}
    for g in untimed.groups:
        by_account.setdefault(g, set()).add(held_out(meta["holdout"], None, g))
    assert all(len(sides) == 1 for sides in by_account.values())  # an account never sits on both sides
    assert sum(held_out(meta["holdout"], None, g) for g in untimed.groups) == meta["metrics"]["test"]["rows"]


def test_time_folds_expand_and_always_validate_on_leads_newer_than_they_learned_from() -> None:
    data = synthetic(n=4000)
    rows = np.arange(data.size)
    folds, about = _folds(data, rows, by_time=True)
    assert about["by"] == "time" and about["folds"] == len(folds) == 3
    validated = np.concatenate([valid for _, valid in folds])
    assert len(set(validated.tolist())) == len(validated) == about["rows"]  # each lead validated once
    assert abs(len(validated) - 0.5 * data.size) <= 2  # the newer half, in three slices
    for train_part, valid in folds:
        assert data.times[train_part].max() < data.times[valid].min()
    sizes = [len(train_part) for train_part, _ in folds]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # each fold learns from every older lead


def test_a_large_newest_slice_decides_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    data = synthetic(n=4000)
    monkeypatch.setattr("leadscore.predict.train.ONE_SLICE_FROM", 800)  # the newest fifth of 4,000 rows
    folds, about = _folds(data, np.arange(data.size), by_time=True)
    assert (about["by"], about["folds"], len(folds)) == ("time", 1, 1)
    monkeypatch.setattr("leadscore.predict.train.ONE_SLICE_FROM", 801)
    assert _folds(data, np.arange(data.size), by_time=True)[1]["folds"] == 3


def test_time_folds_fall_back_to_the_newest_slice_then_to_account_groups() -> None:
    data = synthetic(n=4000)
    data.labels[:] = 0
    data.labels[-300:] = 1  # conversions only among the newest leads: the older slices cannot validate
    data.labels[-900:-700] = 1  # ...but the newest fifth's training part holds some
    folds, about = _folds(data, np.arange(data.size), by_time=True)
    assert (about["by"], about["folds"], len(folds)) == ("time", 1, 1)
    assert len(folds[0][1]) == pytest.approx(0.2 * data.size, abs=2)
    data.labels[:] = 0
    data.labels[-300:] = 1  # now no older lead converted at all
    _, about = _folds(data, np.arange(data.size), by_time=True)
    assert about["by"] == "account groups"


def test_too_few_outcomes_of_either_class_is_refused_with_counts() -> None:
    data = synthetic(n=400)
    data.labels[:] = 0
    data.labels[:20] = 1
    with pytest.raises(TooFewOutcomes, match=r"20 converted and 380 not converted.*at least 50"):
        train(data, horizon_days=90, trained_at=NOW)


def test_the_artifact_is_json_and_loads_back_to_the_same_predictions(tmp_path: Path) -> None:
    artifact = train(synthetic(), horizon_days=90, trained_at=NOW)
    path = tmp_path / "model.json"
    artifact.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "leadscore.predictive/1" and data["version"] == artifact.version
    again = Artifact.load(path)
    rows: list[dict[str, object]] = [
        {"field.industry": "software", "events.page_view.30d": 4, "events.demo.30d": 1},
        {"noise": 3.0},
    ]
    assert np.allclose(artifact.predict(rows), again.predict(rows))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "pickle"}')
    with pytest.raises(ValueError, match="not a predictive model artifact"):
        Artifact.load(bad)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_reason_codes_add_up_to_the_calibrated_log_odds_for_trees() -> None:
    artifact = train(synthetic(), horizon_days=90, trained_at=NOW)
    rows = [{"field.industry": "software", "events.page_view.30d": 6, "events.demo.30d": 1, "noise": 0.0}]
    (explained,) = artifact.explain(rows, top=10)
    assert explained.probability == pytest.approx(float(artifact.predict(rows)[0]))
    if artifact.kind == "lightgbm":
        assert [r.feature for r in explained.up][:1] in (["events.demo.30d"], ["events.page_view.30d"])


def test_linear_reason_codes_are_the_terms_and_add_up_exactly() -> None:
    rows = [{"industry": "software", "visits": 3.0}] * 10 + [{"industry": "retail", "visits": 0.0}] * 10
    enc = Encoding.fit(table_of(rows))
    names = enc.linear_names()
    coefficients = np.array([0.8 if part == "software" else 0.5 if part == "value" else 0.0 for _, part in names])
    artifact = Artifact({"version": "t", "features": ["industry", "visits"]}, enc, Platt(1.5, -0.2),
                        linear=Linear(-1.0, coefficients))  # fmt: skip
    (explained,) = artifact.explain([{"industry": "software", "visits": 3.0}], top=10)
    pushes = {r.feature: r.contribution for r in explained.up + explained.down}
    x = enc.linear_matrix(enc.tree_matrix(table_of([{"industry": "software", "visits": 3.0}]), 1))[0]
    assert pushes["industry"] == pytest.approx(1.5 * 0.8)
    assert pushes["visits"] == pytest.approx(1.5 * 0.5 * x[names.index((1, "value"))])
    total = sum(pushes.values()) + 1.5 * -1.0 - 0.2
    assert _logit(explained.probability) == pytest.approx(total)


def test_calibration_follows_the_newest_leads_when_the_conversion_rate_drifts() -> None:
    """Older leads convert far more often here: probabilities calibrated on every time fold would run high
    on the newest leads, those calibrated on the newest fold do not."""
    data = synthetic(n=8000)
    rng = np.random.default_rng(5)
    age = 1 - np.arange(data.size) / data.size  # 1 for the oldest lead, 0 for the newest
    logit = TRUE_LOGIT[id(data)] - 1.5 + 3.0 * age
    data.labels[:] = (rng.random(data.size) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    artifact = train(data, horizon_days=90, trained_at=NOW)
    flags = [held_out(artifact.metadata["holdout"], t, g) for t, g in zip(data.times, data.groups, strict=True)]
    held = np.array(flags)
    predicted = artifact.predict_table(data.take(np.flatnonzero(held)), int(held.sum()))
    assert abs(float(predicted.mean()) - float(data.labels[held].mean())) < 0.05


def test_the_linear_model_gives_noise_columns_no_weight() -> None:
    """L1: a few real columns among forty of noise; the noise gets no weight, the real ones keep theirs."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6000, 44))
    logit = -1.0 + 0.6 * x[:, 0] - 0.5 * x[:, 1] + 0.4 * x[:, 2] + 0.3 * x[:, 3]
    y = (rng.random(6000) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    for strength in LINEAR_C_GRID[:3]:
        weights = fit_linear(x, y, strength).coefficients
        assert np.all(np.abs(weights[:4]) > 0.1)
        assert np.count_nonzero(weights[4:]) <= 8  # of 40 noise columns
    dense = np.count_nonzero(fit_linear(x, y, LINEAR_C_GRID[-1]).coefficients[4:])
    assert dense >= np.count_nonzero(fit_linear(x, y, LINEAR_C_GRID[0]).coefficients[4:])


def additive_and_interaction(n: int = 12_000, seed: int = 4) -> TrainingSet:
    """Conversion from many small additive effects (a sum trees approximate in steps) and one interaction
    (a product a linear model cannot say): each model misses what the other finds."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(2.0, size=(n, 12)).astype(float)
    a, b = rng.binomial(1, 0.3, n), rng.binomial(1, 0.3, n)
    logit = -3.2 + counts @ np.full(12, 0.18) + 1.8 * a * b
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    table: dict[str, object] = {f"events.e{j}.30d": counts[:, j] for j in range(12)}
    table |= {"field.a": ["yes" if v else "no" for v in a], "field.b": ["yes" if v else "no" for v in b]}
    created = np.sort(rng.uniform(1.70e15, 1.73e15, n))
    ids = [f"L{i}" for i in range(n)]
    data = TrainingSet(table, labels, ids, ids, created, np.full(n, int(1.74e15), dtype=np.int64))
    TRUE_LOGIT[id(data)] = logit
    return data


def test_both_models_are_stacked_when_each_finds_what_the_other_misses() -> None:
    data = additive_and_interaction()
    artifact = train(data, horizon_days=90, trained_at=NOW)
    meta = artifact.metadata
    assert artifact.kind == meta["kind"] == "stacked"
    weights = meta["candidates"]["stacked"]["weights"]
    assert artifact.weights is not None and weights == {
        "linear": artifact.weights.linear,
        "trees": artifact.weights.trees,
    }
    assert weights["linear"] > 0 and weights["trees"] > 0
    assert meta["candidates"]["logistic"]["strength"] in LINEAR_C_GRID
    held = np.flatnonzero([held_out(meta["holdout"], t, g) for t, g in zip(data.times, data.groups, strict=True)])
    x = artifact.encoding.tree_matrix(data.take(held), len(held))
    assert artifact.linear is not None and artifact.trees is not None
    alone = {
        "linear": auc(artifact.linear.raw(artifact.encoding.linear_matrix(x)), data.labels[held]),
        "trees": auc(artifact.trees.predict(x, raw_score=True), data.labels[held]),
    }
    stacked = meta["metrics"]["test"]["auc"]
    assert all(value is not None and stacked > value for value in alone.values()), (stacked, alone)


def test_stacked_reason_codes_add_up_to_the_calibrated_log_odds(tmp_path: Path) -> None:
    artifact = train(additive_and_interaction(n=6000), horizon_days=90, trained_at=NOW)
    assert artifact.kind == "stacked"
    rows: list[dict[str, object]] = [
        {"events.e0.30d": 5, "events.e3.30d": 1, "field.a": "yes", "field.b": "yes"},
        {"events.e1.30d": 0, "field.a": "no"},
    ]
    for row, explained in zip(rows, artifact.explain(rows, top=100), strict=True):
        x = artifact.encoding.tree_matrix(table_of([row]), 1)
        per_feature, base = artifact._contributions(x)
        logit = artifact.calibration.slope * (per_feature.sum() + base[0]) + artifact.calibration.offset
        assert _logit(explained.probability) == pytest.approx(logit)
        assert explained.probability == pytest.approx(float(artifact.predict([row])[0]))
        pushes = sum(r.contribution for r in explained.up + explained.down)
        assert pushes == pytest.approx(artifact.calibration.slope * per_feature.sum())
    path = tmp_path / "stacked.json"
    artifact.save(path)
    assert set(json.loads(path.read_text())["model"]) == {"logistic", "lightgbm", "stack"}
    assert np.allclose(Artifact.load(path).predict(rows), artifact.predict(rows))


def test_training_twice_gives_the_same_model() -> None:
    """Every source of chance is seeded, and nothing shares one between fits: liblinear draws from one
    generator for the whole process, so L1 fits run side by side in threads moved each other's
    coefficients from run to run."""
    data = synthetic(n=6000, seed=4)
    rng = np.random.default_rng(9)
    for j in range(60):  # weak, correlated columns: the L1 fits' coordinate order matters for them
        data.table[f"weak{j}"] = rng.normal(size=6000) + 0.05 * TRUE_LOGIT[id(data)]
    first = train(data, horizon_days=90, trained_at=NOW)
    second = train(data, horizon_days=90, trained_at=NOW)
    assert first.metadata["candidates"] == second.metadata["candidates"]
    assert first.version == second.version
    assert json.dumps(first.as_dict(), default=float) == json.dumps(second.as_dict(), default=float)


def test_the_linear_strength_is_the_strongest_within_one_standard_error_of_the_best() -> None:
    """Three folds put the weakest penalty first by a margin their spread cannot tell from noise: the
    strongest within reach is taken. Where the folds agree closely, the best is."""
    spread = {0.005: [0.600, 0.606, 0.612], 0.01: [0.603, 0.609, 0.615], 0.05: [0.600, 0.613, 0.626]}
    assert linear_strength(spread) == 0.005
    tight = {0.005: [0.600, 0.601, 0.602], 0.01: [0.603, 0.604, 0.605], 0.05: [0.606, 0.607, 0.608]}
    assert linear_strength(tight) == 0.05
    assert linear_strength({0.01: [0.61], 0.05: [0.62]}) == 0.05  # one fold: the best mean
    assert linear_strength({0.01: [0.62], 0.05: [0.62]}) == 0.01  # a tie: the strongest


def test_large_folds_fit_the_l1_strengths_on_a_sample_with_the_penalty_per_row_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each strength is fitted on at most ``PATH_ROWS`` rows of a fold, at C scaled by rows / sample."""
    monkeypatch.setattr("leadscore.predict.train.PATH_ROWS", 1500)
    calls: list[tuple[int, float]] = []
    real = fit_linear

    def spy(x: np.ndarray, y: np.ndarray, c: float) -> Linear:
        calls.append((len(y), c))
        return real(x, y, c)

    monkeypatch.setattr("leadscore.predict.train.fit_linear", spy)
    data = synthetic(n=6000, seed=5)
    train(data, horizon_days=90, trained_at=NOW)
    validation = calls[: 3 * len(LINEAR_C_GRID)]  # three time folds, then the refit
    assert {rows for rows, _ in validation} == {1500}
    scales = sorted({round(c / grid, 6) for (_, c), grid in zip(validation, LINEAR_C_GRID * 3, strict=True)})
    assert len(scales) == 3 and all(s > 1 for s in scales)  # each fold's own rows / 1500
    assert calls[-1][0] > 1500 and calls[-1][1] in LINEAR_C_GRID  # the refit: every row, the grid's C

    rows, scale = _path_rows(np.arange(1000, dtype=np.intp), np.random.default_rng(0))
    assert scale == 1.0 and len(rows) == 1000
    rows, scale = _path_rows(np.arange(0, 6000, 2, dtype=np.intp), np.random.default_rng(0))
    assert scale == 2.0 and len(rows) == 1500 and len(set(rows)) == 1500
    assert np.all(np.diff(rows) > 0) and np.all(rows % 2 == 0)


def test_a_scaled_c_on_a_sample_keeps_about_as_many_columns_as_c_on_every_row() -> None:
    """Why C is scaled: liblinear's C multiplies the summed loss, so a quarter of the rows at the same C
    is a four times stronger penalty, and the lasso would be chosen for rows it is never refitted on."""
    rng = np.random.default_rng(3)
    n, k = 20_000, 40
    x = rng.normal(size=(n, k))
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ np.linspace(0.0, 0.15, k))))).astype(np.int64)
    full = np.count_nonzero(fit_linear(x, y, 0.005).coefficients)
    sample = rng.choice(n, n // 4, replace=False)
    scaled = np.count_nonzero(fit_linear(x[sample], y[sample], 0.005 * 4).coefficients)
    unscaled = np.count_nonzero(fit_linear(x[sample], y[sample], 0.005).coefficients)
    assert abs(scaled - full) <= 4 < full - unscaled
