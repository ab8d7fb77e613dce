"""Fit rules: every operator, on a lead's own fields and on its account's as ``account.<field>``."""

from __future__ import annotations

import math
from typing import Any

import pytest
from engine_helpers import T0, D, assert_adds_up, model_of, points

from leadscore.engine import Account, Lead, score

# (condition on the field `x`, value of x, whether the rule applies). The value None leaves x out.
CASES: list[tuple[str, Any, bool]] = [
    # equals: text ignores case and surrounding spaces unless case_sensitive.
    ("equals: us", "US", True),
    ("equals: us", " us ", True),
    ("equals: us", "usa", False),
    ("{equals: us, case_sensitive: true}", "US", False),
    ("{equals: US, case_sensitive: true}", "US", True),
    # A number matches the same number written as text; a boolean matches yes/no words.
    ("equals: 50", "50", True),
    ("equals: 50", 50.0, True),
    ("equals: 50", "fifty", False),
    ("equals: true", True, True),
    ("equals: true", "Yes", True),
    ("equals: true", False, False),
    ("equals: true", "no", False),
    # in: any of the listed values, with the same comparison as equals.
    ("in: [us, ca]", "CA", True),
    ("in: [us, ca]", "mx", False),
    ("in: [10, 20]", "20", True),
    # between is inclusive at both ends; numbers are read from text, but not "1,200".
    ("between: [10, 500]", 10, True),
    ("between: [10, 500]", 500, True),
    ("between: [10, 500]", "499.5", True),
    ("between: [10, 500]", 9.99, False),
    ("between: [10, 500]", 501, False),
    ("between: [10, 5000]", "1,200", False),
    ("between: [10, 5000]", "1200", True),
    ("between: [10, 500]", True, False),
    # gt / gte / lt / lte at and around their bound.
    ("gt: 1000", 1000, False),
    ("gt: 1000", 1000.01, True),
    ("gte: 1000", 1000, True),
    ("gte: 1000", 999.99, False),
    ("lt: 10", 10, False),
    ("lt: 10", 9, True),
    ("lte: 10", 10, True),
    ("lte: 10", "10.5", False),
    ("gt: 0", "n/a", False),
    ("gte: 0", float("nan"), False),  # NaN is a missing value, for numeric tests too
    ("lt: 10", -1, True),
    # contains / starts_with / ends_with ignore case unless case_sensitive.
    ("contains: market", "Head of MARKETING", True),
    ("contains: market", "Sales", False),
    ("{contains: market, case_sensitive: true}", "Head of MARKETING", False),
    ("starts_with: head", "Head of Sales", True),
    ("starts_with: head", "Sales Head", False),
    ("{starts_with: head, case_sensitive: true}", "Head of Sales", False),
    ("ends_with: .edu", "jo@MIT.EDU", True),
    ("ends_with: .edu", "jo@edu.com", False),
    ("{ends_with: .EDU, case_sensitive: true}", "jo@mit.edu", False),
    # matches searches anywhere in the text, ignoring case unless case_sensitive.
    (r"matches: '\bvp\b'", "SVP, VP of Sales", True),
    (r"matches: '\bvp\b'", "MVP engineer", False),
    (r"{matches: '^VP', case_sensitive: true}", "vp sales", False),
    (r"{matches: '^VP', case_sensitive: true}", "VP Sales", True),
    ("matches: '^12'", 1234, True),
    # is_set / is_missing: absent, None, "" and NaN are missing.
    ("is_set: true", "x", True),
    ("is_set: true", 0, True),
    ("is_set: true", None, False),
    ("is_set: true", "", False),
    ("is_set: true", math.nan, False),
    ("is_missing: true", None, True),
    ("is_missing: true", "", True),
    ("is_missing: true", "x", False),
    # domain_in: the shipped free_mail list, a model list, or an inline list; case never matters.
    ("domain_in: free_mail", "Jo@GMail.com", True),
    ("domain_in: free_mail", "jo@acme.com", False),
    ("domain_in: competitors", "jo@RivalScore.io", True),
    ("domain_in: competitors", "jo@rivalscore.io.evil.com", False),
    ("domain_in: [acme.com]", "jo@ACME.com", True),
    ("domain_in: [acme.com]", "jo@sub.acme.com", False),
    # A missing value fails every test but is_missing, whatever the operator.
    ("equals: ''", None, False),
    ("lte: 0", None, False),
    ("contains: ''", None, False),
    ("domain_in: free_mail", None, False),
]


def fit_model(condition: str, field: str) -> Any:
    """A model with one fit rule ``r`` worth 7 points: ``condition`` on ``field``."""
    body = condition if condition.startswith("{") else "{" + condition + "}"
    return model_of(
        f"""\
        lists:
          competitors: [rivalscore.io]
        fit:
          - name: r
            points: 7
            when: {{field: {field}, {body[1:-1]}}}
        """
    )


def _fit_of(condition: str, field: str, lead: Lead) -> Any:
    result = score(fit_model(condition, field), lead, [], T0)
    assert_adds_up(result)
    return result


@pytest.mark.parametrize(("condition", "value", "applies"), CASES)
def test_operator_on_a_lead_field(condition: str, value: Any, applies: bool) -> None:
    fields = {} if value is None else {"x": value}
    result = _fit_of(condition, "x", Lead(id="L", fields=fields))
    assert result.fit == (D("7.00") if applies else D(0))
    assert points(result) == ({"r": D(7)} if applies else {})


@pytest.mark.parametrize(("condition", "value", "applies"), CASES)
def test_operator_on_an_account_field(condition: str, value: Any, applies: bool) -> None:
    fields = {} if value is None else {"x": value}
    # The lead has the same field with the opposite outcome in mind: only the account's must be read.
    lead = Lead(id="L", fields={"x": "decoy"}, account=Account(id="A", fields=fields))
    result = _fit_of(condition, "account.x", lead)
    assert result.fit == (D("7.00") if applies else D(0))


def test_an_account_field_of_a_lead_without_account_is_missing() -> None:
    lead = Lead(id="L", fields={"account.x": "set"})
    assert _fit_of("is_missing: true", "account.x", lead).fit == D(7)
    assert _fit_of("is_set: true", "account.x", lead).fit == D(0)


def test_dotted_fields_reach_into_nested_values() -> None:
    lead = Lead(id="L", fields={"utm": {"source": "LinkedIn"}})
    assert _fit_of("equals: linkedin", "utm.source", lead).fit == D(7)
    assert _fit_of("equals: linkedin", "utm.medium", lead).fit == D(0)


def test_all_any_not_combine_lead_and_account_fields() -> None:
    model = model_of(
        r"""
        fit:
          - name: manager_not_director
            points: 5
            when:
              all:
                - {field: title, matches: '\bmanager\b'}
                - not: {field: title, matches: '\bdirector\b'}
          - name: target_company
            points: 10
            when:
              any:
                - {field: account.industry, in: [software, saas]}
                - {field: industry, equals: software}
          - name: empty_all_is_true
            points: 1
            when: {all: []}
          - name: not_missing_is_set
            points: 2
            when: {not: {field: phone, is_missing: true}}
        """
    )
    account = Account(id="A", fields={"industry": "SaaS"})
    manager = Lead(id="L", fields={"title": "Marketing Manager"}, account=account)
    director = Lead(id="M", fields={"title": "Director, Manager of Managers", "phone": "+1"}, account=None)
    # Manager at a SaaS account: 5 + 10 + 1 = 16.
    assert score(model, manager, [], T0).fit == D(16)
    # Director with a phone and no account: not a manager-only title, no target company; 1 + 2 = 3.
    assert points(score(model, director, [], T0)) == {"empty_all_is_true": D(1), "not_missing_is_set": D(2)}


def test_fit_points_add_up_and_never_depend_on_time() -> None:
    model = model_of(
        """
        fit:
          - {name: vp, points: 12, when: {field: title, contains: vp}}
          - {name: size, points: 5.5, when: {field: company_size, between: [10, 500]}}
          - {name: free_mail, points: -20, when: {field: email, domain_in: free_mail}}
          - {name: student, points: -15, when: {field: title, contains: student}}
        """
    )
    lead = Lead(id="L", fields={"title": "VP Sales", "company_size": "50", "email": "vp@yahoo.com"})
    # 12 + 5.5 - 20 = -2.5; the student rule does not apply.
    first = score(model, lead, [], T0)
    later = score(model, lead, [], T0.replace(year=2030))
    assert first.fit == later.fit == first.total == D("-2.50")
    assert [c.rule for c in first.contributions] == ["vp", "size", "free_mail"]
    assert all(c.kind == "fit" and c.count == c.counted == 1 for c in first.contributions)
