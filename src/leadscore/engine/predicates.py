"""Turns conditions into plain Python predicates, once per model, with no eval or exec.

Comparison rules, shared by every engine: a missing value (absent, None or "") fails every test except
``is_missing``; text tests are case-insensitive unless ``case_sensitive``; numeric tests read numbers
from text ("1,200" is not a number, "1200" is); a number compared with ``equals`` or ``in`` matches
the same number written as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from leadscore.model.conditions import AllOf, AnyOf, Condition, FieldTest, NotOf

Accessor = Callable[[Any], Any]
#: Builds, once per field name, the function that reads that field from a subject.
Access = Callable[[str], Accessor]
Predicate = Callable[[Any], bool]

VALUE_MEMO_SIZE = 4096
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def _norm_text(value: Any, case_sensitive: bool) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if case_sensitive else text.casefold()


def email_domain(value: Any) -> str:
    text = str(value).strip().casefold()
    return text.rsplit("@", 1)[-1].rstrip(".")


def compile_condition(condition: Condition, access: Access, lists: Mapping[str, frozenset[str]]) -> Predicate:
    """A predicate over a subject; ``access(field)`` gives the function that reads ``field`` from it."""
    if isinstance(condition, AllOf):
        parts = [compile_condition(c, access, lists) for c in condition.all]

        def every(subject: Any) -> bool:
            for part in parts:  # noqa: SIM110 - a loop avoids a generator per call on the hot path
                if not part(subject):
                    return False
            return True

        return every
    if isinstance(condition, AnyOf):
        parts = [compile_condition(c, access, lists) for c in condition.any]

        def some(subject: Any) -> bool:
            for part in parts:  # noqa: SIM110 - a loop avoids a generator per call on the hot path
                if part(subject):
                    return True
            return False

        return some
    if isinstance(condition, NotOf):
        inner = compile_condition(condition.not_, access, lists)
        return lambda subject: not inner(subject)
    return _compile_test(condition, access(condition.field), lists)


def _compile_test(test: FieldTest, get: Accessor, lists: Mapping[str, frozenset[str]]) -> Predicate:
    op = test.operator
    if op == "is_set":
        return lambda s: not is_missing(get(s))
    if op == "is_missing":
        return lambda s: is_missing(get(s))
    if op in ("contains", "starts_with", "ends_with") and not test.case_sensitive:
        return _text_test(op, str(getattr(test, op)).casefold(), get)
    check = _value_check(test, lists)
    if op in _NUMERIC:
        return _numeric_test(_bound(test), check, get)
    # Text values repeat from lead to lead (titles, industries, countries, form names), and a check is a
    # pure function of its value, so the answer per text is remembered; the memo is bounded.
    memo: dict[str, bool] = {}

    def predicate(subject: Any) -> bool:
        value = get(subject)
        if value.__class__ is str:
            known = memo.get(value)
            if known is None:
                known = value != "" and check(value)
                if len(memo) >= VALUE_MEMO_SIZE:
                    memo.clear()
                memo[value] = known
            return known
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return check(value)

    return predicate


def _text_test(op: str, needle: str, get: Accessor) -> Predicate:
    """The case-insensitive text tests in one closure each: they run on most events, so no inner calls."""
    nan = math.isnan

    def contains(subject: Any) -> bool:
        value = get(subject)
        if value.__class__ is str:
            return value != "" and needle in value.casefold()
        if value is None or (isinstance(value, float) and nan(value)):
            return False
        return needle in str(value).casefold()

    def starts_with(subject: Any) -> bool:
        value = get(subject)
        if value.__class__ is str:
            return value != "" and value.casefold().startswith(needle)
        if value is None or (isinstance(value, float) and nan(value)):
            return False
        return str(value).casefold().startswith(needle)

    def ends_with(subject: Any) -> bool:
        value = get(subject)
        if value.__class__ is str:
            return value != "" and value.casefold().endswith(needle)
        if value is None or (isinstance(value, float) and nan(value)):
            return False
        return str(value).casefold().endswith(needle)

    return {"contains": contains, "starts_with": starts_with, "ends_with": ends_with}[op]


def _options_check(options: list[Any], case_sensitive: bool) -> Callable[[Any], bool]:
    """``equals``/``in``: text ignores case and surrounding spaces, numbers match numbers written as text,
    booleans match true/yes/y/1 and false/no/n/0."""
    texts = frozenset(_norm_text(o, case_sensitive).strip() for o in options if isinstance(o, str))
    numbers = frozenset(float(o) for o in options if isinstance(o, int | float) and not isinstance(o, bool))
    wants_true = any(o is True for o in options)
    wants_false = any(o is False for o in options)

    def check(value: Any) -> bool:
        if isinstance(value, bool):
            return wants_true if value else wants_false
        if texts:
            text = value if isinstance(value, str) else str(value)
            if (text.strip() if case_sensitive else text.casefold().strip()) in texts:
                return True
        if numbers:
            number = as_number(value)
            if number is not None and number in numbers:
                return True
        if (wants_true or wants_false) and isinstance(value, str):
            word = value.strip().casefold()
            return (wants_true and word in _TRUE) or (wants_false and word in _FALSE)
        return False

    return check


def _value_check(test: FieldTest, lists: Mapping[str, frozenset[str]]) -> Callable[[Any], bool]:
    op = test.operator
    cs = test.case_sensitive
    if op == "equals":
        return _options_check([test.equals], cs)
    if op == "in_":
        return _options_check(list(test.in_ or []), cs)
    if op in ("between", "gt", "gte", "lt", "lte"):
        return _numeric_check(test)
    if op in ("contains", "starts_with", "ends_with"):
        needle = _norm_text(getattr(test, op), cs)
        if op == "contains":
            return lambda v: needle in _norm_text(v, cs)
        if op == "starts_with":
            return lambda v: _norm_text(v, cs).startswith(needle)
        return lambda v: _norm_text(v, cs).endswith(needle)
    if op == "matches":
        pattern = re.compile(test.matches or "", 0 if cs else re.IGNORECASE)
        return lambda v: pattern.search(v if isinstance(v, str) else str(v)) is not None
    if op == "domain_in":
        listed = test.domain_in
        domains = lists[listed] if isinstance(listed, str) else frozenset(d.casefold() for d in listed or [])
        return lambda v: email_domain(v) in domains
    raise AssertionError(f"unhandled operator {op}")  # pragma: no cover


_NUMERIC = frozenset({"between", "gt", "gte", "lt", "lte"})


def _bound(test: FieldTest) -> Callable[[float], bool]:
    if test.between is not None:
        low, high = test.between
        return lambda n: low <= n <= high
    if test.gt is not None:
        gt = test.gt
        return lambda n: n > gt
    if test.gte is not None:
        gte = test.gte
        return lambda n: n >= gte
    if test.lt is not None:
        lt = test.lt
        return lambda n: n < lt
    lte = test.lte
    assert lte is not None
    return lambda n: n <= lte


def _numeric_check(test: FieldTest) -> Callable[[Any], bool]:
    bound = _bound(test)

    def check(value: Any) -> bool:
        number = as_number(value)
        return number is not None and bound(number)

    return check


def _numeric_test(bound: Callable[[float], bool], check: Callable[[Any], bool], get: Accessor) -> Predicate:
    """A numeric comparison. Stage conditions compare a score's floats on every score, and company sizes
    are ints: both go straight to the comparison (what ``as_number`` gives them); text is remembered."""
    memo: dict[str, bool] = {}

    def numeric(subject: Any) -> bool:
        value = get(subject)
        kind = value.__class__
        if kind is float:
            return value == value and bound(value)  # NaN is a missing value
        if kind is int:
            return bound(float(value))
        if kind is str:
            known = memo.get(value)
            if known is None:
                known = value != "" and check(value)
                if len(memo) >= VALUE_MEMO_SIZE:
                    memo.clear()
                memo[value] = known
            return known
        if value is None:
            return False
        return check(value)

    return numeric


def get_path(subject: Mapping[str, Any], name: str) -> Any:
    """A key, or a dotted path into nested mappings (``utm.source``)."""
    value = subject.get(name)
    if value is not None or "." not in name:
        return value
    node: Any = subject
    for part in name.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def mapping_access(name: str) -> Accessor:
    """Reads ``name`` from a mapping: a plain key, or a dotted path into nested mappings."""
    if "." not in name:
        return lambda subject: subject.get(name)
    return lambda subject: get_path(subject, name)
