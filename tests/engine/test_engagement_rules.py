"""Engagement rules: matching by event type and properties, once, frequency limits and caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from engine_helpers import T0, D, assert_adds_up, at, ev, model_of, points

from leadscore.engine import Contribution, Lead, score

LEAD = Lead(id="L", created_at=T0)


def test_rules_match_by_event_type_and_property_conditions() -> None:
    model = model_of(
        """
        engagement:
          - {name: any_page, event: page_view, points: 1}
          - {name: pricing, event: page_view, where: {field: url, contains: /pricing}, points: 5}
          - name: paid_search
            event: page_view
            where:
              all:
                - {field: utm.source, equals: google}
                - {field: utm.medium, in: [cpc, ppc]}
            points: 3
          - {name: demo, event: form_submit, where: {field: form, equals: demo}, points: 45}
        """
    )
    events = [
        ev("e1", "page_view", at(1), url="https://x.io/PRICING"),  # any_page + pricing
        ev("e2", "page_view", at(1), url="/blog", utm={"source": "Google", "medium": "CPC"}),  # any_page + paid
        ev("e3", "page_view", at(1), url="/blog", utm={"source": "google"}),  # any_page; utm.medium missing
        ev("e4", "form_submit", at(1), form="trial"),  # no rule: form is not demo
        ev("e5", "page_viewed", at(1), url="/pricing"),  # no rule: another event type
        ev("e6", "form_submit", at(1)),  # no rule: the form property is missing
    ]
    result = score(model, LEAD, events, at(1))
    # any_page 3 x 1 = 3; pricing 1 x 5 = 5; paid_search 1 x 3 = 3; demo never matched (no contribution).
    assert points(result) == {"any_page": D(3), "pricing": D(5), "paid_search": D(3)}
    assert result.engagement == result.total == D(11)
    assert_adds_up(result)


def test_contribution_counts_matches_and_what_scored() -> None:
    model = model_of(
        """
        engagement:
          - {name: open, event: email_open, points: 1.5, limit: {count: 2, per: day}}
        """
    )
    events = [ev(f"e{i}", "email_open", at(0, hours=i)) for i in range(5)]
    # Five opens on one day, two count: raw 2 x 1.5 = 3.
    result = score(model, LEAD, events, at(0, hours=12))
    assert result.contributions == (Contribution("open", "engagement", D("3.00"), D("3.00"), 5, 2),)


def test_once_counts_the_earliest_occurrence_whatever_the_arrival_order() -> None:
    model = model_of(
        """
        engagement:
          - name: trial
            event: form_submit
            points: 40
            once: true
            decay: {kind: exponential, half_life_days: 10}
        """
    )
    # Sent latest first: the earliest (day 2) is the one that counts.
    events = [ev("late", "form_submit", at(9)), ev("early", "form_submit", at(2)), ev("mid", "form_submit", at(5))]
    result = score(model, LEAD, events, at(12))
    # Age of the earliest at day 12: 10 days = one half-life: 40 x 0.5 = 20 (the latest would give 40 x 0.5**0.3).
    assert points(result) == {"trial": D(20)}
    assert result.contributions[0].count == 3
    assert result.contributions[0].counted == 1
    assert result.contributions[0].raw_points == D(40)


def test_limit_per_day_uses_utc_calendar_days() -> None:
    model = model_of("engagement:\n  - {name: v, event: visit, points: 2, limit: {count: 2, per: day}}\n")
    plus_two = timezone(timedelta(hours=2))
    events = [
        ev("a", "visit", at(0, hours=1)),  # Monday 1 Jan
        ev("b", "visit", at(0, hours=23, minutes=59)),  # Monday 1 Jan
        ev("c", "visit", datetime(2024, 1, 2, 1, 0, tzinfo=plus_two)),  # 23:00 UTC on Monday: third that day
        ev("d", "visit", at(1)),  # Tuesday 00:00 UTC
        ev("e", "visit", datetime(2024, 1, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5)))),  # Wed 04:30 UTC
    ]
    result = score(model, LEAD, events, at(5))
    # Monday: a, b (c is over the limit); Tuesday: d; Wednesday: e. 4 x 2 = 8.
    assert points(result) == {"v": D(8)}
    assert (result.contributions[0].count, result.contributions[0].counted) == (5, 4)


def test_limit_per_week_starts_on_iso_monday() -> None:
    model = model_of("engagement:\n  - {name: v, event: visit, points: 3, limit: {count: 1, per: week}}\n")
    events = [
        ev("sun", "visit", datetime(2024, 1, 7, 23, 59, 59, tzinfo=UTC)),  # Sunday: ISO week 1 of 2024
        ev("mon", "visit", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),  # Monday: ISO week 1 of 2024, earliest
        ev("next", "visit", datetime(2024, 1, 8, 0, 0, tzinfo=UTC)),  # Monday: ISO week 2
        ev("wed", "visit", datetime(2024, 1, 10, tzinfo=UTC)),  # ISO week 2, second in that week
        ev("prev", "visit", datetime(2023, 12, 31, 12, 0, tzinfo=UTC)),  # Sunday: ISO week 52 of 2023
    ]
    result = score(model, LEAD, events, at(30))
    # One each in weeks 2023-W52, 2024-W01 and 2024-W02: 3 x 3 = 9.
    assert points(result) == {"v": D(9)}
    assert result.contributions[0].counted == 3


def test_limit_per_week_across_the_epoch() -> None:
    # 1 January 1970 was a Thursday: Monday 29 December 1969 and Sunday 4 January 1970 share an ISO week.
    model = model_of("engagement:\n  - {name: v, event: visit, points: 1, limit: {count: 1, per: week}}\n")
    events = [
        ev("a", "visit", datetime(1969, 12, 29, tzinfo=UTC)),
        ev("b", "visit", datetime(1970, 1, 4, 23, tzinfo=UTC)),
        ev("c", "visit", datetime(1970, 1, 5, tzinfo=UTC)),
    ]
    assert score(model, LEAD, events, datetime(1970, 2, 1, tzinfo=UTC)).engagement == D(2)


def test_limit_per_month_uses_calendar_months() -> None:
    model = model_of("engagement:\n  - {name: d, event: demo, points: 45, limit: {count: 1, per: month}}\n")
    events = [
        ev("jan1", "demo", datetime(2024, 1, 1, tzinfo=UTC)),
        ev("jan31", "demo", datetime(2024, 1, 31, 23, 59, tzinfo=UTC)),  # same month as jan1
        ev("feb1", "demo", datetime(2024, 2, 1, tzinfo=UTC)),
        ev("feb29", "demo", datetime(2024, 2, 29, 12, tzinfo=UTC)),  # same month as feb1
        ev("mar1", "demo", datetime(2024, 3, 1, tzinfo=UTC)),
        ev("jan_next", "demo", datetime(2025, 1, 15, tzinfo=UTC)),  # another January, another year
    ]
    result = score(model, LEAD, events, datetime(2025, 2, 1, tzinfo=UTC))
    # Jan 2024, Feb 2024, Mar 2024 and Jan 2025: 4 x 45 = 180.
    assert points(result) == {"d": D(180)}
    assert (result.contributions[0].count, result.contributions[0].counted) == (6, 4)


def test_max_points_caps_a_positive_rule() -> None:
    model = model_of("engagement:\n  - {name: click, event: click, points: 3, max_points: 10}\n")
    events = [ev(f"c{i}", "click", at(i)) for i in range(5)]
    result = score(model, LEAD, events, at(10))
    # 5 x 3 = 15, capped at 10; raw_points keeps the 15 before the cap.
    assert result.contributions == (Contribution("click", "engagement", D(10), D(15), 5, 5),)


def test_max_points_caps_a_negative_rule_at_minus_the_cap() -> None:
    model = model_of("engagement:\n  - {name: careers, event: careers, points: -10, max_points: 25}\n")
    events = [ev(f"c{i}", "careers", at(i)) for i in range(3)]
    result = score(model, LEAD, events, at(10))
    # 3 x -10 = -30, capped at -25.
    assert result.contributions == (Contribution("careers", "engagement", D(-25), D(-30), 3, 3),)
    # Under the cap nothing changes: 2 x -10 = -20.
    assert score(model, LEAD, events[:2], at(10)).engagement == D(-20)


def test_an_event_can_score_on_several_rules() -> None:
    model = model_of(
        """
        engagement:
          - {name: form, event: form_submit, points: 5, max_points: 20}
          - {name: demo, event: form_submit, where: {field: form, equals: demo}, points: 45, once: true}
        """
    )
    events = [ev("d1", "form_submit", at(1), form="demo"), ev("d2", "form_submit", at(2), form="Demo")]
    result = score(model, LEAD, events, at(3))
    # form: 2 x 5 = 10; demo: once = 45. Total 55.
    assert points(result) == {"form": D(10), "demo": D(45)}
    assert result.total == D(55)
    assert result.last_engagement_at == at(2)
