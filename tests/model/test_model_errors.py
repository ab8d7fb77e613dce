"""Every way a model file can be wrong: each problem names the file, the line and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from leadscore.model import ModelError, ModelIssue, load_model, loads_model

# The fixtures of conftest.py, by type.
WriteModel = Callable[[str], Path]
LoadErrors = Callable[[str], tuple[Path, ModelError]]

# (case, model text, line, field, words the message must hold). Line 1 is the first line of the text.
CASES = [
    (
        "yaml_syntax",
        """\
        name: m
        fit:
          - name: a
            points: 1: 2
        """,
        4,
        "",
        "invalid YAML: mapping values are not allowed here",
    ),
    (
        "control_character",
        "name: m\ndescription: bell \x07\n",
        2,
        "",
        "invalid YAML: special characters are not allowed (U+0007)",
    ),
    (
        "unknown_field",
        """\
        name: m
        fit:
          - name: a
            points: 1
            colour: red
            when: {field: size, gt: 1}
        """,
        5,
        "fit[0].colour",
        "unknown field 'colour'",
    ),
    (
        "unknown_field_in_condition",
        """\
        name: m
        fit:
          - name: a
            points: 1
            when:
              field: size
              gt: 1
              shade: dark
        """,
        8,
        "fit[0].when.shade",
        "unknown field 'shade'",
    ),
    (
        "missing_field",
        """\
        name: m
        engagement:
          - name: a
            points: 1
        """,
        3,
        "engagement[0]",
        "expected field 'event', which is required",
    ),
    (
        "two_operators",
        """\
        name: m
        fit:
          - name: a
            points: 1
            when:
              field: size
              gt: 1
              lt: 5
        """,
        5,
        "fit[0].when",
        "expected exactly one operator, got 2: gt, lt",
    ),
    (
        "no_operator",
        """\
        name: m
        fit:
          - name: a
            points: 1
            when: {field: size}
        """,
        5,
        "fit[0].when",
        "expected one operator for field 'size'",
    ),
    (
        "bad_regex",
        """\
        name: m
        fit:
          - name: a
            points: 1
            when:
              all:
                - field: title
                  matches: '(unclosed'
        """,
        8,
        "fit[0].when.all[0].matches",
        "expected a valid regular expression",
    ),
    (
        "between_low_above_high",
        """\
        name: m
        fit:
          - name: a
            points: 1
            when:
              not:
                field: size
                between: [500, 10]
        """,
        8,
        "fit[0].when.not.between",
        "expected [low, high] with low <= high, got [500.0, 10.0]",
    ),
    (
        "bands_out_of_order",
        """\
        name: m
        fit:
          - {name: a, points: 1, when: {field: size, gt: 1}}
        tiers:
          - {name: warm, min: 25}
          - {name: hot, min: 75}
          - {name: cold}
        """,
        4,
        "tiers",
        "expected bands from highest to lowest 'min', got [25.0, 75.0]",
    ),
    (
        "last_band_with_min",
        """\
        name: m
        fit:
          - {name: a, points: 1, when: {field: size, gt: 1}}
        grades:
          - {name: A, min: 30}
          - {name: B, min: 0}
        """,
        4,
        "grades",
        "expected the last band ('B') to have no 'min'",
    ),
    (
        "duplicate_rule_names",
        """\
        name: m
        fit:
          - name: pricing
            points: 1
            when: {field: size, gt: 1}
        engagement:
          - name: pricing
            event: page_view
            points: 5
        """,
        7,
        "engagement[0].name",
        "'pricing'",
    ),
    (
        "unknown_list",
        """\
        name: m
        lists:
          competitors: [rival.io]
        fit:
          - name: a
            points: -5
            when:
              any:
                - {field: email, domain_in: competitors}
                - {field: email, domain_in: competitor}
        """,
        10,
        "fit[0].when.any[1].domain_in",
        "unknown list 'competitor' in domain_in: expected one of ['competitors', 'free_mail']",
    ),
    (
        "unknown_stage_field",
        """\
        name: m
        fit:
          - {name: a, points: 1, when: {field: size, gt: 1}}
        lifecycle:
          stages:
            - name: lead
            - name: mql
              when:
                field: score
                gte: 25
        """,
        9,
        "lifecycle.stages[1].when.field",
        "unknown stage field 'score'",
    ),
    (
        "once_and_limit",
        """\
        name: m
        engagement:
          - name: a
            event: page_view
            points: 1
            once: true
            limit: {count: 1, per: day}
        """,
        3,
        "engagement[0]",
        "expected either 'once: true' or 'limit', not both",
    ),
    (
        "limit_min_above_max",
        """\
        name: m
        fit:
          - {name: a, points: 1, when: {field: size, gt: 1}}
        limits:
          fit: {min: -10}
          total: {min: 100, max: 0}
        """,
        6,
        "limits.total",
        "expected min <= max, got min 100.0 and max 0.0",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_names_file_line_and_field(
    load_errors: LoadErrors, text: str, line: int, field: str, words: str
) -> None:
    path, error = load_errors(text)
    assert len(error.issues) == 1, str(error)
    issue = error.issues[0]
    assert (issue.file, issue.line, issue.field) == (str(path), line, field)
    assert words in issue.message
    # The rendered message holds all three, as "file:line:column: field: message".
    where = f"{path}:{line}:{issue.column}: {field}: " if field else f"{path}:{line}:{issue.column}: "
    assert f"{where}{issue.message}" in str(error)
    assert str(error).startswith("1 problem in scoring model\n")


def test_a_file_with_several_problems_lists_all_of_them(load_errors: LoadErrors) -> None:
    path, error = load_errors(
        """\
        name: m
        decay: {kind: exponential, half_life_days: 0}
        fit:
          - name: a
            points: 1
            colour: red
            when: {field: size, between: [9, 1]}
          - name: b
            when: {field: title, matches: '[unclosed'}
        engagement:
          - name: c
            event: page_view
            points: 1
            once: true
            limit: {count: 1, per: week}
        limits:
          engagement: {min: 10, max: -10}
        tiers:
          - {name: hot, min: 10}
          - {name: warm, min: 20}
          - {name: cold}
        """
    )
    found = sorted((i.line, i.field) for i in error.issues)
    assert found == [
        (2, "decay.half_life_days"),
        (6, "fit[0].colour"),
        (7, "fit[0].when.between"),
        (8, "fit[1]"),  # 'points' is missing
        (9, "fit[1].when.matches"),
        (11, "engagement[0]"),
        (17, "limits.engagement"),
        (18, "tiers"),
    ]
    assert all(i.file == str(path) for i in error.issues)
    assert str(error).startswith("8 problems in scoring model\n")
    assert len(str(error).splitlines()) == 9


def test_several_problems_across_rules_are_all_listed(load_errors: LoadErrors) -> None:
    # These checks look across the whole model; each still points at its own line.
    path, error = load_errors(
        """\
        name: m
        fit:
          - {name: a, points: 1, when: {field: email, domain_in: partners}}
          - {name: b, points: 1, when: {field: size, gt: 1}}
        engagement:
          - {name: a, event: x, points: 1}
          - {name: b, event: y, points: 1, where: {field: email, domain_in: vendors}}
        lifecycle:
          stages:
            - name: lead
            - {name: mql, when: {field: points, gte: 10}}
          disqualify: {field: lead.email, domain_in: rivals}
        """
    )
    found = sorted((i.line, i.field) for i in error.issues)
    assert found == [
        (3, "fit[0].when.domain_in"),
        (6, "engagement[0].name"),
        (7, "engagement[1].name"),
        (7, "engagement[1].where.domain_in"),
        (11, "lifecycle.stages[1].when.field"),
        (12, "lifecycle.disqualify.domain_in"),
    ]
    assert all(i.file == str(path) for i in error.issues)


def test_no_rules_at_all(load_errors: LoadErrors) -> None:
    path, error = load_errors("name: m\ndescription: nothing yet\n")
    assert [(i.line, i.message) for i in error.issues] == [(1, "expected at least one fit or engagement rule")]
    assert str(path) in str(error)


def test_a_document_that_is_not_a_mapping(load_errors: LoadErrors) -> None:
    path, error = load_errors("- name: m\n")
    assert error.issues == [ModelIssue(str(path), 1, 1, "", "expected a mapping with 'name', 'fit' and 'engagement'")]


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ModelError) as caught:
        load_model(missing)
    assert caught.value.issues[0].file == str(missing)
    assert "cannot read file" in caught.value.issues[0].message


def test_text_without_a_file_is_named_by_the_caller() -> None:
    with pytest.raises(ModelError) as caught:
        loads_model("name: m\nfit:\n  - {name: a, when: {field: x, gt: 1}}\n", file="inline.yaml")
    assert str(caught.value).splitlines()[1] == "  inline.yaml:3:5: fit[0]: expected field 'points', which is required"


def test_model_error_is_a_value_error(load_errors: LoadErrors) -> None:
    _, error = load_errors("name: m\nfit: [\n")
    assert isinstance(error, ValueError)
