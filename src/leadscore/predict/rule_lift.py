"""Each rule's lift: how often the rows it gave points to converted, against the rows it did not.

A rule is there because someone believed it marks a better (or, with negative points, a worse) lead. The
outcomes say whether it does. A rule is flagged when:

- ``does not predict``: the 95% intervals of the two conversion rates overlap, so on these rows there is
  no telling the leads it scores from the others; the suggestion is 0 points;
- ``wrong way``: the rates differ, but in the direction opposite to its points (a penalty on leads that
  convert more often, a bonus on leads that convert less);
- ``never triggered`` or ``always triggered``: there is nothing to compare with. A fit rule whose condition
  holds for every lead by construction (``when: {all: []}``, the ``base`` of a suggested model) is the
  model's starting points, not a signal, and is not flagged.

The suggested points of a wrong-way rule put it on the model's own scale. A logistic fit of conversion on
the total says how many points the model spends per unit of log-odds; a rule that adds ``m`` points on
average claims ``m`` times that, and its measured log odds ratio says what it is worth. This looks at one
rule at a time, so rules that fire together share credit badly: read it as a lead for review, not a fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.linear_model import LogisticRegression

from leadscore.engine.compiled import CompiledModel
from leadscore.model.conditions import AllOf
from leadscore.predict.conversion import Rate
from leadscore.predict.dataset import Row

DOES_NOT_PREDICT = "does not predict"
WRONG_WAY = "wrong way"
NEVER = "never triggered"
ALWAYS = "always triggered"


@dataclass(frozen=True)
class RuleLift:
    rule: str
    kind: str  # "fit" or "engagement"
    points: float
    triggered: Rate
    not_triggered: Rate
    mean_points: float | None
    flag: str | None
    suggested_points: float | None

    @property
    def lift(self) -> float | None:
        on, off = self.triggered.rate, self.not_triggered.rate
        return on / off if on is not None and off else None

    @property
    def log_odds_ratio(self) -> float | None:
        """With half a lead added to each cell, so that a rule no converted lead triggered stays finite."""
        if not self.triggered.rows or not self.not_triggered.rows:
            return None
        on, off = self.triggered, self.not_triggered
        odds_on = (on.converted + 0.5) / (on.rows - on.converted + 0.5)
        odds_off = (off.converted + 0.5) / (off.rows - off.converted + 0.5)
        return math.log(odds_on / odds_off)

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "points": self.points,
            "triggered": self.triggered.as_dict(),
            "not_triggered": self.not_triggered.as_dict(),
            "lift": self.lift,
            "log_odds_ratio": self.log_odds_ratio,
            "mean_points": self.mean_points,
            "flag": self.flag,
            "suggested_points": self.suggested_points,
        }


def log_odds_per_point(totals: Sequence[float], labels: Sequence[int]) -> float | None:
    """The slope of a logistic fit of conversion on the total; None when it cannot be fitted."""
    x = np.asarray(totals, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    spread = float(x.std())
    if len(x) < 2 or spread == 0 or y.min() == y.max():
        return None
    fitted = LogisticRegression().fit(((x - x.mean()) / spread).reshape(-1, 1), y)
    return float(fitted.coef_[0][0]) / spread


def rule_lifts(rows: Sequence[Row], compiled: CompiledModel, label: str) -> dict[str, object]:
    """Every fit and engagement rule of the model whose columns are named ``label`` in the rows."""
    labels = [r.label for r in rows]
    slope = log_odds_per_point([float(r.features[f"{label}.total"]) for r in rows], labels)
    rules = [(r.rule.name, "fit", float(r.rule.points)) for r in compiled.fit]
    rules += [(r.name, "engagement", r.points) for r in compiled.rules]
    bases = {r.rule.name for r in compiled.fit if isinstance(r.rule.when, AllOf) and not r.rule.when.all}
    cap = max((abs(points) for _, _, points in rules), default=0.0)
    lifts = []
    for name, kind, points in rules:
        given = [float(r.features.get(f"{label}.points.{name}") or 0.0) for r in rows]
        on = [y for y, p in zip(labels, given, strict=True) if p != 0]
        off = [y for y, p in zip(labels, given, strict=True) if p == 0]
        mean = sum(p for p in given if p != 0) / len(on) if on else None
        lift = judge(name, kind, points, Rate(sum(on), len(on)), Rate(sum(off), len(off)), mean, slope, cap)
        lifts.append(replace(lift, flag=None) if name in bases and lift.flag == ALWAYS else lift)
    per_log_odds = 1 / slope if slope else None
    return {"points_per_log_odds": per_log_odds, "rules": [lift.as_dict() for lift in lifts]}


def judge(
    name: str,
    kind: str,
    points: float,
    on: Rate,
    off: Rate,
    mean_points: float | None,
    slope: float | None,
    cap: float,
) -> RuleLift:
    """The rule's flag and suggested points (see the module docstring); a suggestion is whole points, no
    larger than ``cap`` (the model's largest rule), since a weak total makes the scale explode."""
    draft = RuleLift(name, kind, points, on, off, mean_points, None, None)
    if not on.rows:
        return _with(draft, NEVER, None)
    if not off.rows:
        return _with(draft, ALWAYS, None)
    if not on.separated_from(off):
        return _with(draft, DOES_NOT_PREDICT, 0.0)
    assert on.rate is not None and off.rate is not None
    if (on.rate - off.rate) * points >= 0:
        return draft
    log_or = draft.log_odds_ratio
    if slope is None or slope <= 0 or not mean_points or log_or is None:
        return _with(draft, WRONG_WAY, 0.0)  # the total does not rank leads: no scale to put the rule on
    suggested = points * log_or / (slope * mean_points)
    return _with(draft, WRONG_WAY, float(round(max(-cap, min(cap, suggested)))))


def _with(lift: RuleLift, flag: str, suggested: float | None) -> RuleLift:
    return replace(lift, flag=flag, suggested_points=suggested)
