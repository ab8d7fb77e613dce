"""How long ``leadscore train`` takes on a million leads with about 50 features (issue 4: under 2 minutes on
this 2-core machine).

    python bench/train_speed.py --rows 1000000

The rows are synthetic, seeded: 40 numeric columns (counts, amounts, some missing) and 10 categorical ones
(5 to 200 values, some missing), a time per lead, and labels drawn from a known logistic rule with an
interaction the trees can find. Timed: ``train()`` from columns to a calibrated, held-out-measured artifact
(encoding, both candidates on validation, refit, test figures). Baseline, in the same run on the same
matrix: LightGBM alone, 100 rounds, the figure MEASUREMENTS.md gives for this machine.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np

from leadscore.predict.encoding import Encoding
from leadscore.predict.learners import TREE_PARAMS
from leadscore.predict.train import TrainingSet, train

NUMERIC = 40
CATEGORICAL = 10


def synthetic(rows: int, seed: int = 11) -> tuple[TrainingSet, float]:
    rng = np.random.default_rng(seed)
    table: dict[str, object] = {}
    numeric: dict[str, np.ndarray] = {}
    logit = np.full(rows, -2.0)
    for j in range(NUMERIC):
        values = rng.poisson(1 + j % 5, rows).astype(np.float64) if j % 2 else rng.lognormal(3, 1, rows)
        values[rng.random(rows) < 0.05] = np.nan
        if j < 8:
            logit += (0.3 if j % 3 else -0.2) * np.nan_to_num(np.log1p(values))
        table[f"n{j:02d}"] = numeric[f"n{j:02d}"] = values
    for j in range(CATEGORICAL):
        size = [5, 10, 20, 50, 200][j % 5]
        codes = rng.integers(0, size, rows)
        effects = rng.normal(0, 0.4 if j < 4 else 0.0, size)
        logit += effects[codes]
        labels = np.array([f"c{j}_{k}" for k in range(size)], dtype=object)
        values = labels[codes]
        values[rng.random(rows) < 0.03] = None
        table[f"c{j}"] = list(values)
    logit += 0.5 * (np.nan_to_num(numeric["n01"]) > 2) * (np.nan_to_num(numeric["n03"]) > 3)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    created = np.sort(rng.uniform(1.70e15, 1.73e15, rows))
    ids = [f"L{i}" for i in range(rows)]
    data = TrainingSet(table, y, ids, ids, created, (created + 30 * 86_400e6).astype(np.int64))
    return data, float(y.mean())


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    data, rate = synthetic(args.rows)
    print(f"{args.rows:,} rows, {NUMERIC + CATEGORICAL} features, {rate:.1%} converted, "
          f"built in {time.perf_counter() - started:.1f} s")  # fmt: skip

    started = time.perf_counter()
    enc = Encoding.fit(data.table)
    x = enc.tree_matrix(data.table, data.size)
    prepared = time.perf_counter() - started
    started = time.perf_counter()
    lgb.train(TREE_PARAMS, lgb.Dataset(x, data.labels, categorical_feature=enc.categorical_indexes()), 100)
    baseline = time.perf_counter() - started
    del x

    started = time.perf_counter()
    artifact = train(data, horizon_days=90, trained_at=datetime(2026, 11, 23, tzinfo=UTC))
    took = time.perf_counter() - started
    meta = artifact.metadata
    test = meta["metrics"]["test"]
    print(f"baseline: encode {prepared:.1f} s, LightGBM 100 rounds {baseline:.1f} s")
    print(f"leadscore train: {took:.1f} s ({args.rows / took:,.0f} rows/s), ratio to the baseline's 100 rounds "
          f"{took / baseline:.2f}, peak {peak_mib():,.0f} MiB")  # fmt: skip
    rounds = meta["candidates"]["lightgbm"].get("rounds")
    strength = meta["candidates"]["logistic"].get("strength")
    print(f"chose {meta['kind']} (trees kept {rounds} rounds, the linear model's C {strength}); "
          f"held-out AUC {test['auc']:.4f}, ECE {test['ece']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
