"""The shipped example model, scored by hand at several points in time."""

from __future__ import annotations

from decimal import Decimal

import pytest
from engine_helpers import T0, D, assert_adds_up, at, ev, points

from leadscore.engine import CompiledModel, Lead, score

VP = Lead(
    id="L",
    created_at=T0,
    fields={
        "title": "VP Sales",
        "company_size": 50,
        "industry": "Software",
        "country": "United States",
        "email": "jane@acme.com",
    },
)


def test_a_vp_who_requests_a_demo_is_hot_then_cools(example_model: CompiledModel) -> None:
    events = [ev("demo", "form_submit", at(0), form="demo")]
    # Fit, as the model's header says: vp 12 + target_industry 10 + target_country 5 + company_size_10_500 5 = 32.
    now = score(example_model, VP, events, at(0))
    assert now.fit == D(32)
    # demo_request 45 at age 0; total 77: hot, grade A, level 2, and sql (75+ with grade A).
    assert (now.engagement, now.total, now.tier, now.matrix, now.stage) == (D(45), D(77), "hot", "A2", "sql")
    assert_adds_up(now)

    # Day 30: 45 x 0.5 = 22.5; one full 30-day period without engagement: -5. Engagement 17.5, total 49.5.
    month = score(example_model, VP, events, at(30))
    assert points(month)["demo_request"] == D("22.5")
    assert points(month)["inactivity"] == D(-5)
    assert (month.engagement, month.total, month.tier, month.level, month.stage) == (
        D("17.5"),
        D("49.5"),
        "warm",
        "3",
        "mql",
    )

    # Day 90: 45 x 0.125 = 5.625 -> 5.63; inactivity 3 x -5 = -15. Engagement -9.37, total 22.63;
    # 90 days since engagement: recycled to lead.
    quarter = score(example_model, VP, events, at(90))
    assert (quarter.engagement, quarter.total, quarter.tier) == (D("-9.37"), D("22.63"), "cold")
    assert (quarter.stage, quarter.stage_reason) == ("lead", "recycle: days_since_engagement >= 90")

    # Day 120: 45 x 0.0625 = 2.8125 -> 2.81; inactivity 4 x -5 = -20, held at the floor of -15.
    assert score(example_model, VP, events, at(120)).engagement == D("-12.19")

    # Day 400: the demo is outside the 365-day window; only the inactivity floor is left. 32 + 0 - 15 = 17.
    late = score(example_model, VP, events, at(400))
    assert points(late) == {
        "vp": D(12),
        "target_industry": D(10),
        "target_country": D(5),
        "company_size_10_500": D(5),
        "demo_request": D(0),
        "inactivity": D(-15),
    }
    assert late.total == D(17)


def test_bad_signals_never_decay_and_the_total_stays_at_zero(example_model: CompiledModel) -> None:
    student = Lead(id="S", created_at=T0, fields={"title": "Student", "email": "kim@gmail.com"})
    events = [ev("u", "unsubscribe", at(0)), ev("u2", "unsubscribe", at(1))]
    # Fit: student_or_intern -15 + free_mail -20 = -35 (grade D). Unsubscribe once: -40.
    # Total -75, held at the limit 0 by limits.total +75.
    now = score(example_model, student, events, at(1))
    assert points(now) == {
        "student_or_intern": D(-15),
        "free_mail": D(-20),
        "unsubscribe": D(-40),
        "limits.total": D(75),
    }
    assert (now.fit, now.engagement, now.total, now.matrix) == (D(-35), D(-40), D(0), "D4")
    # Day 400: unsubscribe still -40 (no decay, no window); inactivity counts from creation:
    # 400 // 30 = 13 periods, -65, held at -15. Engagement -55; total -90 -> 0 (+90).
    late = score(example_model, student, events, at(400))
    assert points(late)["unsubscribe"] == D(-40)
    assert points(late)["inactivity"] == D(-15)
    assert points(late)["limits.total"] == D(90)
    assert late.total == D(0)
    assert_adds_up(late)


def test_a_competitor_is_disqualified(example_model: CompiledModel) -> None:
    rival = Lead(id="R", fields={**VP.fields, "email": "spy@LeadRanker.com"})
    result = score(example_model, rival, [ev("demo", "form_submit", at(0), form="demo")], at(0))
    assert result.total == D(77)
    assert result.stage == "disqualified"


@pytest.mark.parametrize(
    ("kind", "properties", "rule", "each", "cap"),
    [
        ("page_view", {"url": "https://acme.io/pricing"}, "pricing_page", 5, None),
        ("content_download", {"asset_type": "ebook"}, "ebook_or_guide_download", 3, 15),
        ("email_open", {}, "email_open", 1, 10),
        ("email_click", {}, "email_click", 3, 15),
        ("webinar_signup", {}, "webinar_signup", 10, 20),
    ],
)
def test_the_typical_engagement_weights(
    example_model: CompiledModel, kind: str, properties: dict[str, str], rule: str, each: int, cap: int | None
) -> None:
    """The weights the issue asks of the example: pricing +5, content +3, open +1, click +3, webinar up.
    One event a day for ten days, scored the moment after the last, so decay is 2^(-age/30) per event."""
    events = [ev(f"e{day}", kind, at(day), **properties) for day in range(10)]
    one = score(example_model, VP, events[-1:], at(9))
    assert points(one)[rule] == D(each)
    ten = score(example_model, VP, events, at(9))
    raw = sum(each * 2 ** (-(9 - day) / 30) for day in range(10))
    expected = min(raw, cap) if cap is not None else raw
    assert abs(points(ten)[rule] - Decimal(str(expected))) <= D("0.01")
    assert_adds_up(ten)
