"""The two candidate models, with defaults chosen once for every dataset (no per-dataset tuning), and the
calibration that turns their scores into probabilities.

- An L1-regularised logistic regression: readable, stable on small data, sparse, and its terms are the
  reason codes.
- LightGBM gradient-boosted trees: finds interactions and thresholds the linear model cannot. Rounds stop
  early on rows the trees did not learn from. The defaults are conservative (small trees, 100 rows a leaf,
  half the columns per tree, strong L2) because lead data is mostly weak signal in many sparse columns:
  on leadforge bundles they gained 0.005 to 0.008 AUC over LightGBM's usual settings, and lost nothing.

Both return raw scores in log-odds, and ``fit_stack`` weighs the two when each adds to the other. Calibration
is Platt scaling, a logistic fit of the outcome on that raw
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
#: Strengths of the L1 penalty tried, weakest last; validation picks one per training set.
LINEAR_C_GRID = (0.005, 0.01, 0.02, 0.05, 0.1)

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


def fit_linear(x: Matrix, y: Labels, c: float) -> Linear:
    """L1-regularised logistic regression on standardised columns: most columns get no weight at all.

    Lead rows hold hundreds of sparse, weak, correlated columns; an L2 penalty spreads weight over all of
    them and its noise adds up, while L1 keeps a few dozen. On leadforge's advanced tier this took the
    linear model from 0.592 to 0.616 AUC on held-out leads (seed 1) and to 0.641 with opportunities
    (from 0.615); on the intro tier it changed nothing (0.645 and 0.646)."""
    model = LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear", max_iter=2000, random_state=SEED)
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


@dataclass(frozen=True)
class Stack:
    """Weights on the two models' log-odds, learned on validation scores neither model trained on."""

    linear: float
    trees: float

    def raw(self, linear: NDArray[np.float64], trees: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.linear * linear + self.trees * trees


def fit_stack(linear: NDArray[np.float64], trees: NDArray[np.float64], y: Labels) -> Stack:
    """The outcome regressed on both validation scores (almost unregularised, as Platt's fit is); the
    intercept is left to calibration, which follows."""
    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(np.column_stack([linear, trees]), y)
    return Stack(float(model.coef_[0][0]), float(model.coef_[0][1]))


def sigmoid(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-raw))
