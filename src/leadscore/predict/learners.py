"""The two candidate models, with defaults chosen once for every dataset (no per-dataset tuning), and the
calibration that turns their scores into probabilities.

- A regularised logistic regression: readable, stable on small data, and its terms are the reason codes.
- LightGBM gradient-boosted trees: finds interactions and thresholds the linear model cannot. Rounds stop
  early on rows the trees did not learn from. The defaults are conservative (small trees, 100 rows a leaf,
  half the columns per tree, strong L2) because lead data is mostly weak signal in many sparse columns:
  on leadforge bundles they gained 0.005 to 0.008 AUC over LightGBM's usual settings, and lost nothing.

Both return raw scores in log-odds. Calibration is Platt scaling, a logistic fit of the outcome on that raw
score: two numbers, it keeps the ranking (AUC) as it is, and it scales each reason code by the same factor,
so the codes still add up to the calibrated log-odds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

Matrix = NDArray[np.float64]
Labels = NDArray[np.int64]

THREADS = 2
SEED = 7
MAX_ROUNDS = 2000
EARLY_STOP = 50
LINEAR_C = 0.5

TREE_PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 100,
    "min_sum_hessian_in_leaf": 1.0,
    "lambda_l2": 10.0,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 8,
    "max_bin": 255,
    "num_threads": THREADS,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


@dataclass(frozen=True)
class Linear:
    intercept: float
    coefficients: NDArray[np.float64]

    def raw(self, x: Matrix) -> NDArray[np.float64]:
        return x @ self.coefficients + self.intercept


def fit_linear(x: Matrix, y: Labels) -> Linear:
    """L2-regularised (C=0.5 on standardised columns) logistic regression."""
    model = LogisticRegression(C=LINEAR_C, max_iter=2000, tol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on near-separable columns; the fit is still used
        model.fit(x, y)
    return Linear(float(model.intercept_[0]), np.asarray(model.coef_[0], dtype=np.float64))


def fit_trees(
    x: Matrix, y: Labels, categorical: list[int], stop: tuple[Matrix, Labels] | None = None, rounds: int | None = None
) -> tuple[lgb.Booster, int]:
    """Boosted trees and how many rounds they kept: early-stopped on ``stop`` when given, else ``rounds``."""
    train = lgb.Dataset(x, y, categorical_feature=categorical, free_raw_data=True, params={"verbose": -1})
    if stop is None:
        booster = lgb.train(TREE_PARAMS, train, num_boost_round=rounds or 200)
        return booster, booster.current_iteration()
    valid = lgb.Dataset(stop[0], stop[1], reference=train, categorical_feature=categorical)
    booster = lgb.train(
        TREE_PARAMS,
        train,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    return booster, best


def tree_raw(booster: lgb.Booster, x: Matrix, rounds: int | None = None) -> NDArray[np.float64]:
    return np.asarray(booster.predict(x, raw_score=True, num_iteration=rounds), dtype=np.float64)


@dataclass(frozen=True)
class Platt:
    slope: float
    offset: float

    def probability(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        return 1.0 / (1.0 + np.exp(-(self.slope * raw + self.offset)))


def fit_platt(raw: NDArray[np.float64], y: Labels) -> Platt:
    """The outcome regressed on the raw score, almost unregularised (C large): calibration, not shrinkage."""
    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(raw.reshape(-1, 1), y)
    return Platt(float(model.coef_[0][0]), float(model.intercept_[0]))


def sigmoid(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-raw))
