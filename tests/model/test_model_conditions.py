"""Every operator of a field test, and nesting with all/any/not, as read from a model file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadscore.model import AllOf, AnyOf, Condition, FieldTest, ModelError, NotOf, load_model

# The fixtures of conftest.py, by type.
WriteModel = Callable[[str], Path]
LoadErrors = Callable[[str], tuple[Path, ModelError]]
LoadCondition = Callable[[str], Condition]


@pytest.mark.parametrize(
    ("text", "operator", "value"),
    [
        ("{field: country, equals: us}", "equals", "us"),
        ("{field: employees, equals: 50}", "equals", 50),
        ("{field: do_not_contact, equals: true}", "equals", True),
        ("{field: country, in: [us, ca, 3]}", "in_", ["us", "ca", 3]),
        ("{field: company_size, between: [10, 500]}", "between", (10.0, 500.0)),
        ("{field: company_size, between: [7, 7]}", "between", (7.0, 7.0)),
        ("{field: company_size, gt: 1000}", "gt", 1000.0),
        ("{field: company_size, gte: 1.5}", "gte", 1.5),
        ("{field: company_size, lt: -3}", "lt", -3.0),
        ("{field: company_size, lte: 0}", "lte", 0.0),
        ("{field: url, contains: /pricing}", "contains", "/pricing"),
        ("{field: url, starts_with: https://}", "starts_with", "https://"),
        ("{field: email, ends_with: .edu}", "ends_with", ".edu"),
        (r"{field: title, matches: '\bvp\b'}", "matches", r"\bvp\b"),
        ("{field: phone, is_set: true}", "is_set", True),
        ("{field: phone, is_missing: true}", "is_missing", True),
        ("{field: email, domain_in: free_mail}", "domain_in", "free_mail"),
        ("{field: email, domain_in: [Acme.com, example.org]}", "domain_in", ["Acme.com", "example.org"]),
    ],
)
def test_each_operator_is_read_with_its_value(
    load_condition: LoadCondition, text: str, operator: str, value: Any
) -> None:
    test = load_condition(text)
    assert isinstance(test, FieldTest)
    assert test.operator == operator
    assert getattr(test, operator) == value
    others = [name for name in FieldTest.model_fields if name not in ("field", "case_sensitive", operator)]
    assert all(getattr(test, name) is None for name in others)


def test_in_is_read_from_its_yaml_spelling(load_condition: LoadCondition) -> None:
    # "in" is a Python keyword: the model keeps it as ``in_`` but the file says ``in``.
    test = load_condition("{field: country, in: [us]}")
    assert isinstance(test, FieldTest)
    assert test.in_ == ["us"]


def test_text_tests_ignore_case_unless_case_sensitive(load_condition: LoadCondition) -> None:
    default = load_condition("{field: title, matches: '^VP'}")
    strict = load_condition("{field: title, matches: '^VP', case_sensitive: true}")
    assert isinstance(default, FieldTest)
    assert isinstance(strict, FieldTest)
    assert default.case_sensitive is False
    assert strict.case_sensitive is True
    assert strict.operator == "matches"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{field: phone, is_set: false}", "fit[0].when.is_set"),
        ("{field: phone, is_missing: false}", "fit[0].when.is_missing"),
        ("{field: country, in: []}", "fit[0].when.in"),
        ("{field: size, between: [1, 2, 3]}", "fit[0].when.between"),
        ("{field: size, gt: lots}", "fit[0].when.gt"),
        ("{field: '', equals: x}", "fit[0].when.field"),
    ],
)
def test_malformed_operator_values_are_refused_at_their_field(load_errors: LoadErrors, text: str, field: str) -> None:
    path, error = load_errors("name: m\nfit:\n  - name: r\n    points: 1\n    when: " + text + "\n")
    assert [(i.file, i.line, i.field) for i in error.issues] == [(str(path), 5, field)]


def test_domain_in_accepts_the_shipped_free_mail_list_and_a_model_list(write_model: WriteModel) -> None:
    model = load_model(
        write_model(
            """\
            name: m
            lists:
              competitors: [rivalscore.io, LeadRanker.com]
            fit:
              - name: free_mail
                points: -20
                when: {field: email, domain_in: free_mail}
              - name: competitor
                points: -50
                when: {field: email, domain_in: competitors}
            """
        )
    )
    assert model.lists == {"competitors": ["rivalscore.io", "LeadRanker.com"]}
    tests = [rule.when for rule in model.fit]
    assert [t.domain_in for t in tests if isinstance(t, FieldTest)] == ["free_mail", "competitors"]


def test_nesting_all_any_not(load_condition: LoadCondition) -> None:
    condition = load_condition(
        """\
        all:
          - {field: title, matches: manager}
          - not: {field: title, matches: director}
          - any:
              - {field: country, equals: us}
              - all: []
        """
    )
    assert isinstance(condition, AllOf)
    first, second, third = condition.all
    assert isinstance(first, FieldTest)
    assert first.matches == "manager"
    assert isinstance(second, NotOf)
    assert isinstance(second.not_, FieldTest)
    assert second.not_.matches == "director"
    assert isinstance(third, AnyOf)
    assert isinstance(third.any[0], FieldTest)
    assert third.any[0].equals == "us"
    assert isinstance(third.any[1], AllOf)
    assert third.any[1].all == []


def test_not_nests_inside_not(load_condition: LoadCondition) -> None:
    condition = load_condition("not: {not: {field: a, is_set: true}}")
    assert isinstance(condition, NotOf)
    assert isinstance(condition.not_, NotOf)
    assert isinstance(condition.not_.not_, FieldTest)


def test_any_needs_at_least_one_condition(load_errors: LoadErrors) -> None:
    path, error = load_errors(
        """\
        name: m
        fit:
          - name: r
            points: 1
            when:
              any: []
        """
    )
    assert [(i.line, i.field) for i in error.issues] == [(6, "fit[0].when.any")]
    assert f"{path}:6:" in str(error)
