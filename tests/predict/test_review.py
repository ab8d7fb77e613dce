"""The review on each backend: the funnel worked out by hand, the rules flagged on a CRM whose truth is
known, and a report that is one self-contained file carrying the same figures as the JSON. A real
predictive artifact is judged in ``test_cli_review.py``."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from review_scenario import AS_OF, MODEL_YAML, T0, Scenario, load, scenario

from leadscore.engine.compiled import CompiledModel
from leadscore.ingest.outcomes import OutcomeRecord
from leadscore.ingest.records import EventRecord, LeadRecord
from leadscore.model import loads_model
from leadscore.predict.dataset import Snapshots
from leadscore.predict.review import review
from leadscore.predict.review_html import render
from leadscore.predict.rule_lift import DOES_NOT_PREDICT, NEVER, WRONG_WAY
from leadscore.store.protocol import Store

SNAPSHOTS = Snapshots((0, 7))


def _model() -> CompiledModel:
    return CompiledModel(loads_model(MODEL_YAML))


@dataclass
class FakePredictor:
    metadata: dict[str, Any]

    def predict(self, features: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        return np.array([0.7 if f.get("field.title") == "vp" else 0.25 for f in features])


def _day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_the_funnel_by_hand(store: Store) -> None:
    leads = [
        LeadRecord("A", "a@a.io", {"title": "vp"}, created_at=T0),  # fit 30: mql from day 0; demo: 70, sql day 3
        LeadRecord("B", "b@b.io", {"title": "analyst"}, created_at=T0),  # 0: never past lead
        LeadRecord("C", "c@c.io", {"title": "student", "newsletter": "yes"}, created_at=T0),  # 5; demo: 45, mql
    ]
    demo = {"form": "demo"}
    events = [
        EventRecord("e1", "form_submit", _day(3), "A", None, demo),
        EventRecord("e2", "form_submit", _day(10), "C", None, demo),
    ]
    outcomes = [
        OutcomeRecord("A", None, "converted", _day(20)),
        OutcomeRecord("B", None, "lost", _day(100)),
        OutcomeRecord("C", None, "converted", _day(40)),
    ]
    load(store, Scenario(leads, events, outcomes))
    funnel = review(store, [_model()], Snapshots((0,)), 90, AS_OF)["funnel"]["scenario"]
    assert [(s["step"], s["leads"]) for s in funnel["steps"]] == [("lead", 3), ("mql", 2), ("sql", 1), ("won", 2)]
    by_tier = {t["tier"]: t for t in funnel["days_by_tier"]}
    assert list(by_tier) == ["warm", "cold"]  # A was warm (30) at its first snapshot; B and C cold
    assert by_tier["warm"]["median_days"] == {"mql": 0.0, "sql": 3.0, "won": 20.0}
    assert by_tier["cold"]["median_days"] == {"mql": 10.0, "sql": None, "won": 40.0}
    assert by_tier["cold"]["leads"] == {"mql": 1, "sql": 0, "won": 1}


def test_rules_that_do_not_predict_or_predict_the_wrong_way_are_flagged(store: Store) -> None:
    load(store, scenario())
    figures = review(store, [_model()], SNAPSHOTS, 90, AS_OF)
    lifts = figures["rule_lift"]["scenario"]
    rules = {r["rule"]: r for r in lifts["rules"]}
    assert rules["newsletter"]["flag"] == WRONG_WAY  # +15 on leads that convert less often
    assert rules["newsletter"]["lift"] < 1 and rules["newsletter"]["suggested_points"] < 0
    assert rules["big_company"]["flag"] == DOES_NOT_PREDICT and rules["big_company"]["suggested_points"] == 0
    assert rules["never_seen"]["flag"] == NEVER
    assert all(rules[name]["flag"] is None for name in ("senior", "student", "demo"))
    assert lifts["points_per_log_odds"] > 0
    # Every row is counted once on each side of each rule, and once in each breakdown.
    summary = figures["summary"]
    assert all(r["triggered"]["rows"] + r["not_triggered"]["rows"] == summary["rows"] for r in rules.values())
    for by in ("tier", "grade", "stage", "matrix"):
        assert sum(g["rows"] for g in figures["conversion"]["scenario"][by]) == summary["rows"]
    assert [g["group"] for g in figures["drift"]["conversion"]] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    histogram = figures["distributions"]["scenario"]
    assert sum(histogram["converted"]) == summary["positives"]
    assert sum(histogram["not_converted"]) == summary["rows"] - summary["positives"]
    assert figures["calibration"] is None  # only a predictive model has one


def test_the_report_is_self_contained_and_carries_the_json(store: Store) -> None:
    load(store, scenario())
    fake = FakePredictor({"version": "f1", "horizon_days": 90, "holdout": {"by": "none"}})
    figures = review(store, [_model()], SNAPSHOTS, 90, AS_OF, fake)
    html = render(figures)
    links = re.findall(r"(?:src|href)\s*=\s*[\"']?([^\"'\s>]*)", html)
    assert links and all(link.startswith("data:image/png;base64,") for link in links)  # nothing is fetched
    assert "<link" not in html and "@import" not in html and "url(" not in html
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == html.count("<img") >= 7  # gains, calibration, conversion, 2 histograms, rules, drift...
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    embedded = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S)
    assert embedded is not None
    assert orjson.loads(embedded.group(1)) == orjson.loads(orjson.dumps(figures))
    assert figures["calibration"]["label"] == "predictive@f1"
    assert "optimistic" in figures["summary"]["warnings"][0]
    assert f"{figures['ranking']['scenario']['auc']:.3f}" in html  # the tables show the same numbers
