"""Conditions written back as short readable text, for explanations and stage reasons."""

from __future__ import annotations

from leadscore.model.conditions import AllOf, AnyOf, Condition, FieldTest

_SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def describe(condition: Condition) -> str:
    if isinstance(condition, AllOf):
        return " and ".join(_wrapped(c) for c in condition.all) or "always"
    if isinstance(condition, AnyOf):
        return " or ".join(_wrapped(c) for c in condition.any)
    if isinstance(condition, FieldTest):
        return _test(condition)
    return f"not {_wrapped(condition.not_)}"


def _wrapped(condition: Condition) -> str:
    text = describe(condition)
    return text if isinstance(condition, FieldTest) else f"({text})"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _test(test: FieldTest) -> str:
    op = test.operator
    name = test.field
    if op in _SYMBOLS:
        return f"{name} {_SYMBOLS[op]} {_number(getattr(test, op))}"
    if op == "between":
        low, high = test.between or (0.0, 0.0)
        return f"{name} between {_number(low)} and {_number(high)}"
    if op == "equals":
        return f"{name} = {test.equals!r}"
    if op == "in_":
        return f"{name} in {list(test.in_ or [])!r}"
    if op == "is_set":
        return f"{name} is set"
    if op == "is_missing":
        return f"{name} is missing"
    if op == "domain_in":
        return f"{name} domain in {test.domain_in!r}"
    return f"{name} {op.replace('_', ' ')} {getattr(test, op)!r}"
