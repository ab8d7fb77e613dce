"""A trained predictive model as one JSON file: data, not code.

The file holds the feature encoding, the model (the logistic regression's coefficients, LightGBM's own
text format, which LightGBM parses and never executes, or both with the weights that stack them), the
calibration, and the metadata a reviewer needs:
the training window, the features, the metrics and the library versions. Nothing is pickled, so loading an
artifact cannot run code, and a diff of two artifacts is readable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import orjson
from numpy.typing import NDArray

from leadscore.predict.encoding import Encoding, Table, table_of
from leadscore.predict.learners import Linear, Platt, Stack

FORMAT = "leadscore.predictive/1"
REASONS = 3


@dataclass(frozen=True)
class Reason:
    """One feature's push on a lead's log-odds of converting: positive pushes up."""

    feature: str
    value: str
    contribution: float

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": self.value, "contribution": round(self.contribution, 4)}


@dataclass(frozen=True)
class Explained:
    probability: float
    up: list[Reason]
    down: list[Reason]

    def as_dict(self) -> dict[str, Any]:
        return {
            "probability": round(self.probability, 6),
            "up": [r.as_dict() for r in self.up],
            "down": [r.as_dict() for r in self.down],
        }


@dataclass
class Artifact:
    metadata: dict[str, Any]
    encoding: Encoding
    calibration: Platt
    linear: Linear | None = None
    trees: lgb.Booster | None = None
    #: With both models: the stacked score is ``weights.linear * linear + weights.trees * trees``.
    weights: Stack | None = None

    def __post_init__(self) -> None:
        if self.linear is None and self.trees is None:
            raise ValueError("an artifact needs a linear model, trees, or both")
        if (self.weights is not None) != (self.linear is not None and self.trees is not None):
            raise ValueError("an artifact holds stacking weights exactly when it holds both models")

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @property
    def kind(self) -> str:
        if self.weights is not None:
            return "stacked"
        return "lightgbm" if self.trees is not None else "logistic"

    def _parts(self) -> tuple[float, float]:
        """How much of the linear model's and the trees' log-odds the raw score takes."""
        if self.weights is not None:
            return self.weights.linear, self.weights.trees
        return (0.0, 1.0) if self.trees is not None else (1.0, 0.0)

    def raw_table(self, table: Table, size: int) -> NDArray[np.float64]:
        x = self.encoding.tree_matrix(table, size)
        to_linear, to_trees = self._parts()
        raw = np.zeros(size, dtype=np.float64)
        if self.trees is not None:
            raw += to_trees * np.asarray(self.trees.predict(x, raw_score=True), dtype=np.float64)
        if self.linear is not None:
            raw += to_linear * self.linear.raw(self.encoding.linear_matrix(x))
        return raw

    def predict_table(self, table: Table, size: int) -> NDArray[np.float64]:
        """Calibrated probabilities of converting within the horizon, one per row of ``table``."""
        return self.calibration.probability(self.raw_table(table, size))

    def predict(self, features: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        return self.predict_table(table_of(features), len(features))

    def explain(self, features: Sequence[Mapping[str, Any]], top: int = REASONS) -> list[Explained]:
        """Each row's probability and the features that pushed it most up and down, in calibrated log-odds:
        tree SHAP values from LightGBM, the linear terms, or, stacked, each feature's two weighted and added."""
        x = self.encoding.tree_matrix(table_of(features), len(features))
        contributions, base = self._contributions(x)
        contributions = contributions * self.calibration.slope
        logit = contributions.sum(axis=1) + base * self.calibration.slope + self.calibration.offset
        out = []
        for i in range(len(features)):
            row = contributions[i]
            order = np.argsort(row)
            up = [self._reason(x[i], j, row[j]) for j in order[::-1][:top] if row[j] > 1e-9]
            down = [self._reason(x[i], j, row[j]) for j in order[:top] if row[j] < -1e-9]
            out.append(Explained(1.0 / (1.0 + math.exp(-logit[i])), up, down))
        return out

    def _reason(self, x: NDArray[np.float64], j: int, value: float) -> Reason:
        return Reason(self.encoding.columns[j].name, self.encoding.describe(j, float(x[j])), float(value))

    def _contributions(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per feature and row, log-odds before calibration, and each row's base; both models' add up."""
        to_linear, to_trees = self._parts()
        per_feature = np.zeros((x.shape[0], len(self.encoding.columns)), dtype=np.float64)
        base = np.zeros(x.shape[0], dtype=np.float64)
        if self.trees is not None:
            both = np.asarray(self.trees.predict(x, pred_contrib=True), dtype=np.float64)
            per_feature += to_trees * both[:, :-1]
            base += to_trees * both[:, -1]
        if self.linear is not None:
            terms = self.encoding.linear_matrix(x) * self.linear.coefficients
            for k, (j, _) in enumerate(self.encoding.linear_names()):
                per_feature[:, j] += to_linear * terms[:, k]
            base += to_linear * self.linear.intercept
        return per_feature, base

    def as_dict(self) -> dict[str, Any]:
        model: dict[str, Any] = {}
        if self.trees is not None:
            model["lightgbm"] = self.trees.model_to_string()
        if self.linear is not None:
            coefficients = self.linear.coefficients.tolist()
            model["logistic"] = {"intercept": self.linear.intercept, "coefficients": coefficients}
        if self.weights is not None:
            model["stack"] = {"linear": self.weights.linear, "trees": self.weights.trees}
        return {
            "format": FORMAT,
            **self.metadata,
            "encoding": self.encoding.as_dict(),
            "calibration": {"method": "platt", "slope": self.calibration.slope, "offset": self.calibration.offset},
            "model": model,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))

    @classmethod
    def load(cls, path: Path) -> Artifact:
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a predictive model artifact (invalid JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a predictive model artifact (expected format {FORMAT!r})")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Artifact:
        skip = {"format", "encoding", "calibration", "model"}
        metadata = {k: v for k, v in data.items() if k not in skip}
        calibration = Platt(float(data["calibration"]["slope"]), float(data["calibration"]["offset"]))
        encoding = Encoding.from_dict(data["encoding"])
        model = data["model"]
        trees = lgb.Booster(model_str=model["lightgbm"]) if "lightgbm" in model else None
        linear = None
        if "logistic" in model:
            coefficients = np.asarray(model["logistic"]["coefficients"], dtype=np.float64)
            linear = Linear(float(model["logistic"]["intercept"]), coefficients)
        stack = model.get("stack")
        weights = Stack(float(stack["linear"]), float(stack["trees"])) if stack is not None else None
        return cls(metadata, encoding, calibration, linear=linear, trees=trees, weights=weights)
