"""Account scores: the rollup of the leads' totals plus the account's own fit rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from engine_helpers import T0, D, ev, model_of

from leadscore.engine import Account, Contribution, Lead, compile_model, score, score_account

ACCOUNT_MODEL = """
engagement:
  - {name: visit, event: visit, points: 1}
account:
  rollup: {method: %s, n: %d}
  fit:
    - {name: software, points: 10, when: {field: industry, in: [software, saas]}}
    - {name: mid_size, points: 5, when: {field: account.company_size, between: [10, 500]}}
    - {name: churned, points: -30, when: {field: status, equals: churned}}
"""
ACME = Account(id="A", fields={"industry": "SaaS", "company_size": "120"})
TOTALS = [D("40.00"), D("10.01"), D("75.50"), D("-5.00")]


@pytest.mark.parametrize(
    ("method", "n", "rollup"),
    [
        ("sum", 3, "120.51"),  # 40 + 10.01 + 75.5 - 5: every lead, n does not apply
        ("max", 3, "75.50"),
        ("top_n_mean", 3, "41.84"),  # (75.5 + 40 + 10.01) / 3 = 41.8366...
        ("top_n_mean", 2, "57.75"),  # (75.5 + 40) / 2
        ("top_n_mean", 10, "30.13"),  # all four: 120.51 / 4 = 30.1275, half away from zero
        ("top_n_mean", 1, "75.50"),
    ],
)
def test_rollup_methods(method: str, n: int, rollup: str) -> None:
    compiled = compile_model(model_of(ACCOUNT_MODEL % (method, n)))
    result = score_account(compiled, ACME, TOTALS)
    # Account fit: software 10 + mid_size 5 = 15, from the bare field and from account.<field>.
    assert result.rollup == D(rollup)
    assert result.fit == D(15)
    assert result.total == D(rollup) + 15
    assert result.lead_count == 4
    assert result.contributions == (
        Contribution(f"rollup.{method}", "rollup", D(rollup), D(rollup), 4, 4),
        Contribution("software", "fit", D(10), D(10), 1, 1),
        Contribution("mid_size", "fit", D(5), D(5), 1, 1),
    )
    assert sum((c.points for c in result.contributions), Decimal(0)) == result.total


@pytest.mark.parametrize(
    ("totals", "mean"),
    [
        (["10.00", "10.01"], "10.01"),  # 10.005 -> 10.01
        (["-10.00", "-10.01"], "-10.01"),  # -10.005 -> -10.01
        (["0.01", "0.00", "0.00"], "0.00"),  # 0.00333...
        (["0.02", "0.00", "0.00"], "0.01"),  # 0.00666...
    ],
)
def test_top_n_mean_rounds_half_away_from_zero(totals: list[str], mean: str) -> None:
    compiled = compile_model(model_of(ACCOUNT_MODEL % ("top_n_mean", 3)))
    assert score_account(compiled, Account(id="B"), [D(t) for t in totals]).rollup == D(mean)


def test_an_account_without_leads() -> None:
    compiled = compile_model(model_of(ACCOUNT_MODEL % ("max", 3)))
    result = score_account(compiled, Account(id="C", fields={"status": "Churned"}), [])
    # Rollup 0, churned -30.
    assert (result.rollup, result.fit, result.total, result.lead_count) == (D(0), D(-30), D(-30), 0)
    assert result.tier == "cold"


def test_account_tiers_default_to_the_model_tiers() -> None:
    compiled = compile_model(model_of(ACCOUNT_MODEL % ("max", 3)))
    # max 75.5 + 15 = 90.5: hot under the default tiers.
    assert score_account(compiled, ACME, TOTALS).tier == "hot"
    own = compile_model(
        model_of(
            """
            engagement:
              - {name: visit, event: visit, points: 1}
            account:
              rollup: {method: sum}
              tiers:
                - {name: strategic, min: 100}
                - {name: other}
            """
        )
    )
    assert score_account(own, ACME, [D(60), D(40)]).tier == "strategic"
    assert score_account(own, ACME, [D(60), D("39.99")]).tier == "other"


def test_account_of_scored_leads() -> None:
    model = model_of(ACCOUNT_MODEL % ("sum", 3))
    leads = [Lead(id=f"L{i}", account=ACME, created_at=T0) for i in range(3)]
    events = [ev(f"e{i}{j}", "visit", T0, lead_id=f"L{i}") for i in range(3) for j in range(i + 1)]
    totals = [score(model, lead, [e for e in events if e.lead_id == lead.id], T0).total for lead in leads]
    # Leads score 1, 2 and 3: sum 6, plus account fit 15.
    assert totals == [D(1), D(2), D(3)]
    assert score_account(compile_model(model), ACME, totals).total == D(21)
