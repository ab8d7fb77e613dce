"""Tiers, grades, levels and the matrix label; lifecycle stages with recycle and disqualify."""

from __future__ import annotations

import pytest
from engine_helpers import T0, D, at, ev, model_of

from leadscore.engine import Account, Lead, score

BANDS = """
fit:
  - {name: f, points: 1, when: {field: f, is_set: true}}
  - {name: f10, points: 9, when: {field: f, gte: 10}}
  - {name: f30, points: 20, when: {field: f, gte: 30}}
engagement:
  - {name: e, event: e, points: 0.5}
"""


@pytest.mark.parametrize(
    ("f", "engagements", "tier", "grade", "level"),
    [
        # fit 0 (f missing), engagement 0: total 0.
        (None, 0, "cold", "C", "4"),
        # fit 1 + 9 = 10, engagement 30 x 0.5 = 15: total 25, warm exactly at its min.
        (10, 30, "warm", "C", "3"),
        # fit 1 + 9 + 20 = 30 (grade A at its min); engagement 100 x 0.5 = 50 (level 1 at its min); total 80.
        (30, 100, "hot", "A", "1"),
        # fit 1 (grade C), engagement 49 x 0.5 = 24.5: level 3; total 25.5: warm.
        (1, 49, "warm", "C", "3"),
    ],
)
def test_default_tiers_grades_and_levels(f: int | None, engagements: int, tier: str, grade: str, level: str) -> None:
    model = model_of(BANDS)
    lead = Lead(id="L", fields={} if f is None else {"f": f})
    events = [ev(f"e{i}", "e", at(0)) for i in range(engagements)]
    result = score(model, lead, events, at(1))
    assert (result.tier, result.grade, result.level) == (tier, grade, level)
    assert result.matrix == f"{grade}{level}"


def test_custom_bands_place_each_score_at_the_highest_band_it_reaches() -> None:
    model = model_of(
        """
        fit:
          - {name: f, points: -5, when: {field: f, is_set: true}}
        engagement:
          - {name: e, event: e, points: 12.5}
        tiers:
          - {name: top, min: 20}
          - {name: mid, min: 7.5}
          - {name: low}
        grades:
          - {name: good, min: 0}
          - {name: bad}
        levels:
          - {name: busy, min: 25}
          - {name: quiet}
        """
    )
    lead = Lead(id="L", fields={"f": "yes"})
    # fit -5 (bad), engagement 12.5 (quiet): total 7.5, exactly the min of mid.
    one = score(model, lead, [ev("a", "e", at(0))], at(0))
    assert (one.total, one.tier, one.grade, one.level, one.matrix) == (D("7.5"), "mid", "bad", "quiet", "badquiet")
    # engagement 25 (busy): total 20: top.
    two = score(model, lead, [ev("a", "e", at(0)), ev("b", "e", at(0))], at(0))
    assert (two.tier, two.level) == ("top", "busy")


STAGES = """
lists:
  competitors: [rival.io]
fit:
  - {name: vp, points: 30, when: {field: title, contains: vp}}
  - {name: manager, points: 10, when: {field: title, contains: manager}}
engagement:
  - {name: demo, event: demo, points: 45}
  - {name: visit, event: visit, points: 25}
lifecycle:
  stages:
    - name: lead
    - name: mql
      when: {field: total, gte: 25}
    - name: sql
      when:
        all:
          - {field: total, gte: 75}
          - {field: grade, in: [A, B]}
  recycle: {field: days_since_engagement, gte: 90}
  disqualify:
    any:
      - {field: lead.email, domain_in: competitors}
      - {field: account.status, equals: churned}
"""


def test_stages_climb_from_lead_to_mql_to_sql() -> None:
    model = model_of(STAGES)
    vp = Lead(id="L", fields={"title": "VP Sales"})
    lead = score(model, vp, [], T0)
    # fit 30 only: total 30 >= 25: mql.
    assert (lead.stage, lead.stage_reason) == ("mql", "mql: total >= 25")
    nobody = score(model, Lead(id="N"), [], T0)
    assert (nobody.stage, nobody.stage_reason) == ("lead", "default stage")
    # 30 + 45 = 75 and grade A (fit 30): sql.
    sql = score(model, vp, [ev("d", "demo", at(1))], at(2))
    assert (sql.stage, sql.stage_reason) == ("sql", "sql: total >= 75 and grade in ['A', 'B']")
    # A manager with 10 + 45 + 25 = 80 has grade C (fit 10 < 15): mql, not sql.
    manager = Lead(id="M", fields={"title": "manager"})
    assert score(model, manager, [ev("d", "demo", at(1)), ev("v", "visit", at(1))], at(2)).stage == "mql"


def test_recycle_sends_a_quiet_lead_back_to_the_first_stage() -> None:
    model = model_of(STAGES)
    vp = Lead(id="L", fields={"title": "VP"})
    events = [ev("d", "demo", at(0))]
    # 89.9 days since the demo: still sql. 90 days: recycled, whatever its score (75).
    assert score(model, vp, events, at(89.9)).stage == "sql"
    recycled = score(model, vp, events, at(90))
    assert recycled.total == D(75)
    assert (recycled.stage, recycled.stage_reason) == ("lead", "recycle: days_since_engagement >= 90")
    # A lead that never engaged has no days_since_engagement: never recycled.
    assert score(model, vp, [], at(1000)).stage == "mql"


def test_disqualify_wins_over_every_stage_and_over_recycle() -> None:
    model = model_of(STAGES)
    rival = Lead(id="L", fields={"title": "VP", "email": "vp@Rival.io"})
    events = [ev("d", "demo", at(0))]
    # The reason quotes the whole disqualify condition, not the branch that held.
    reason = "disqualify: lead.email domain in 'competitors' or account.status = 'churned'"
    for as_of in (at(1), at(200)):  # sql, and recyclable
        assert score(model, rival, events, as_of).stage == "disqualified"
        assert score(model, rival, events, as_of).stage_reason == reason
    churned = Lead(id="C", fields={"title": "VP"}, account=Account(id="A", fields={"status": "Churned"}))
    assert score(model, churned, events, at(1)).stage == "disqualified"


def test_the_disqualified_stage_can_be_renamed() -> None:
    model = model_of(
        """
        fit:
          - {name: a, points: 1, when: {field: x, is_set: true}}
        lifecycle:
          stages: [{name: open}]
          disqualify: {field: lead.x, equals: spam}
          disqualified_stage: junk
        """
    )
    assert score(model, Lead(id="L", fields={"x": "SPAM"}), [], T0).stage == "junk"
    assert score(model, Lead(id="L", fields={"x": "ham"}), [], T0).stage == "open"


def test_stage_conditions_read_tier_level_and_matrix() -> None:
    model = model_of(
        """
        fit:
          - {name: big, points: 40, when: {field: size, gt: 100}}
        engagement:
          - {name: e, event: e, points: 60}
        lifecycle:
          stages:
            - name: lead
            - {name: warm_or_hot, when: {field: tier, in: [warm, hot]}}
            - {name: engaged, when: {field: level, equals: "1"}}
            - {name: best, when: {field: matrix, equals: A1}}
        """
    )
    big = Lead(id="L", fields={"size": 500})
    assert score(model, big, [], T0).stage == "warm_or_hot"  # total 40: warm
    assert score(model, Lead(id="S"), [ev("e", "e", at(0))], at(0)).stage == "engaged"  # level 1, grade C
    assert score(model, big, [ev("e", "e", at(0))], at(0)).stage == "best"  # A1
