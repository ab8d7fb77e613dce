"""The inactivity penalty, and limits on fit, engagement and total with their adjustments."""

from __future__ import annotations

from engine_helpers import T0, D, assert_adds_up, at, ev, model_of, points

from leadscore.engine import Contribution, Lead, score

LEAD = Lead(id="L", created_at=T0)

INACTIVE = """
inactivity: {every_days: 7, points: -3}
engagement:
  - {name: visit, event: visit, points: 2}
  - {name: open, event: open, points: 1, limit: {count: 1, per: day}, window_days: 5}
  - {name: careers, event: careers, points: -4}
"""


def test_inactivity_counts_full_periods_since_the_last_positive_engagement() -> None:
    model = model_of(INACTIVE)
    events = [ev("v", "visit", at(3))]
    # At day 9.99: 6.99 days since day 3, no full period: no penalty contribution at all.
    assert points(score(model, LEAD, events, at(9.99))) == {"visit": D(2)}
    # At day 24: 21 days since day 3, three periods: -9.
    result = score(model, LEAD, events, at(24))
    assert result.contributions == (
        Contribution("visit", "engagement", D(2), D(2), 1, 1),
        Contribution("inactivity", "inactivity", D(-9), D(-9), 3, 3),
    )
    assert result.engagement == D(-7)  # 2 - 9
    assert result.last_engagement_at == at(3)
    assert_adds_up(result)


def test_inactivity_since_any_event_counts_events_no_rule_matches() -> None:
    # A lead that visited on day 3 and then only read the careers page (a negative rule) and opened a
    # newsletter no rule names, on day 17: quiet since day 3 by default, active on day 17 with any_event.
    events = [ev("v", "visit", at(3)), ev("c", "careers", at(17)), ev("n", "newsletter_open", at(17))]
    by_default = score(model_of(INACTIVE), LEAD, events, at(24))
    assert points(by_default)["inactivity"] == D(-9)  # 21 days since the visit: 3 periods
    anything = model_of(INACTIVE.replace("points: -3}", "points: -3, since: any_event}"))
    result = score(anything, LEAD, events, at(23.5))
    assert points(result) == {"visit": D(2), "careers": D(-4)}  # 6.5 days since day 17: no full period yet
    assert points(score(anything, LEAD, events, at(31)))["inactivity"] == D(-6)  # 14 days: 2 periods
    # The slot that follows every event gives no line, and the last engagement is still the visit.
    assert [c.rule for c in result.contributions] == ["visit", "careers"]
    assert result.last_engagement_at == at(3)
    assert_adds_up(result)


def test_inactivity_since_any_event_without_events_counts_from_creation() -> None:
    anything = model_of(INACTIVE.replace("points: -3}", "points: -3, since: any_event}"))
    assert points(score(anything, LEAD, [], at(15)))["inactivity"] == D(-6)
    assert points(score(anything, Lead(id="L"), [], at(15))) == {}


def test_inactivity_penalty_stops_at_its_floor() -> None:
    model = model_of(INACTIVE.replace("points: -3}", "points: -3, floor: -10}"))
    events = [ev("v", "visit", at(0))]
    # 3 periods: -9, above the floor.
    assert points(score(model, LEAD, events, at(21)))["inactivity"] == D(-9)
    # 4 periods: -12, held at the floor of -10 (the penalty's floor, not the score's).
    result = score(model, LEAD, events, at(28))
    assert result.contributions[-1] == Contribution("inactivity", "inactivity", D(-10), D(-10), 4, 4)
    assert result.engagement == D(-8)  # 2 - 10


def test_inactivity_counts_from_creation_when_there_are_no_events() -> None:
    model = model_of(INACTIVE)
    created = Lead(id="L", created_at=at(1))
    # 15 days since creation on day 1: two periods: -6.
    assert score(model, created, [], at(16)).engagement == D(-6)
    # Created after as_of: no time has passed yet.
    assert score(model, created, [], at(0)).engagement == D(0)
    # Neither events nor a creation time: nothing to count from.
    assert score(model, Lead(id="L"), [], at(100)).contributions == ()


def test_only_positive_rules_reset_inactivity() -> None:
    model = model_of(INACTIVE)
    events = [ev("v", "visit", at(0)), ev("c", "careers", at(10))]
    # The careers view (negative) on day 10 is not engagement: 14 days since day 0, two periods.
    assert points(score(model, LEAD, events, at(14))) == {"visit": D(2), "careers": D(-4), "inactivity": D(-6)}


def test_events_that_matched_but_did_not_score_still_reset_inactivity() -> None:
    model = model_of(INACTIVE)
    # Two opens on day 0 (the second over the daily limit) and one on day 10; at day 16 the day-10 open
    # is outside the 5-day window and scores nothing, but it is the last engagement: 6 days, no period.
    events = [ev("o1", "open", at(0)), ev("o2", "open", at(0, hours=1)), ev("o3", "open", at(10))]
    result = score(model, LEAD, events, at(16))
    assert points(result) == {"open": D(0)}
    assert result.last_engagement_at == at(10)


def test_limits_on_fit_engagement_and_total_adjust_with_contributions() -> None:
    model = model_of(
        """
        fit:
          - {name: vp, points: 40, when: {field: title, contains: vp}}
          - {name: software, points: 30, when: {field: industry, equals: software}}
        engagement:
          - {name: demo, event: demo, points: 45}
        limits:
          fit: {min: -40, max: 60}
          engagement: {min: -60, max: 80}
          total: {min: 0, max: 100}
        """
    )
    lead = Lead(id="L", fields={"title": "VP", "industry": "software"})
    events = [ev(f"d{i}", "demo", at(i)) for i in range(2)]
    result = score(model, lead, events, at(5))
    # fit 40 + 30 = 70 -> 60 (limits.fit -10); engagement 2 x 45 = 90 -> 80 (limits.engagement -10);
    # total 60 + 80 = 140 -> 100 (limits.total -40).
    assert [(c.rule, c.kind, c.points) for c in result.contributions] == [
        ("vp", "fit", D(40)),
        ("software", "fit", D(30)),
        ("limits.fit", "limit", D(-10)),
        ("demo", "engagement", D(90)),
        ("limits.engagement", "limit", D(-10)),
        ("limits.total", "limit", D(-40)),
    ]
    assert (result.fit, result.engagement, result.total) == (D(60), D(80), D(100))
    assert_adds_up(result)


def test_lower_limits_raise_with_positive_adjustments() -> None:
    model = model_of(
        """
        inactivity: {every_days: 10, points: -50}
        fit:
          - {name: free_mail, points: -55, when: {field: email, domain_in: free_mail}}
        engagement:
          - {name: visit, event: visit, points: 1}
        limits:
          fit: {min: -40}
          engagement: {min: -60}
          total: {min: 0}
        """
    )
    lead = Lead(id="L", fields={"email": "a@gmail.com"}, created_at=T0)
    result = score(model, lead, [ev("v", "visit", at(0))], at(20))
    # fit -55 -> -40 (+15); engagement 1 + 2 x -50 = -99 -> -60 (+39); total -100 -> 0 (+100).
    assert points(result) == {
        "free_mail": D(-55),
        "limits.fit": D(15),
        "visit": D(1),
        "inactivity": D(-100),
        "limits.engagement": D(39),
        "limits.total": D(100),
    }
    assert (result.fit, result.engagement, result.total) == (D(-40), D(-60), D(0))
    assert_adds_up(result)


def test_limits_within_bounds_add_no_contribution() -> None:
    model = model_of(
        """
        fit:
          - {name: a, points: 60, when: {field: x, is_set: true}}
        limits:
          fit: {min: 0, max: 60}
          total: {min: 60, max: 60}
        """
    )
    result = score(model, Lead(id="L", fields={"x": 1}), [], T0)
    assert [c.rule for c in result.contributions] == ["a"]
