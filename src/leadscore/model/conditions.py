"""Conditions: the one vocabulary used by fit rules, engagement rules and stage rules.

A condition is data. Every operator here has a direct SQL translation (``=``, ``IN``, ``BETWEEN``,
``LIKE``/``ILIKE``, ``regexp_matches``, ``IS NULL``), so that a model can later be compiled to SQL engines
without changing its meaning.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

Scalar = str | int | float | bool

#: Operators a field test may carry; exactly one per test.
OPERATORS: tuple[str, ...] = (
    "equals",
    "in_",
    "between",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "is_set",
    "is_missing",
    "domain_in",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldTest(_Strict):
    """Tests one field with one operator, for example ``{field: url, contains: /pricing}``."""

    field: str = Field(min_length=1)
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    between: tuple[float, float] | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    contains: str | None = None
    starts_with: str | None = None
    ends_with: str | None = None
    matches: str | None = None
    is_set: Literal[True] | None = None
    is_missing: Literal[True] | None = None
    domain_in: str | list[str] | None = None
    case_sensitive: bool = False

    @property
    def operator(self) -> str:
        for name in OPERATORS:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated FieldTest has no operator")  # pragma: no cover

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> FieldTest:
        present = [name for name in OPERATORS if getattr(self, name) is not None]
        shown = [name.rstrip("_") for name in present]
        if not present:
            expected = ", ".join(name.rstrip("_") for name in OPERATORS)
            raise ValueError(f"expected one operator for field {self.field!r}: one of {expected}")
        if len(present) > 1:
            raise ValueError(f"expected exactly one operator, got {len(present)}: {', '.join(shown)}")
        return self

    @field_validator("between")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"expected [low, high] with low <= high, got [{value[0]}, {value[1]}]")
        return value

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expected a valid regular expression: {exc}") from None
        return value


class AllOf(_Strict):
    """True when every nested condition is true (true when empty, like SQL's ``AND`` identity)."""

    all: list[Condition]


class AnyOf(_Strict):
    """True when at least one nested condition is true."""

    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    """Negates one nested condition."""

    not_: Condition = Field(alias="not")


# Union tags show up in error locations, so none may be spelled like a key of a condition ("all", "field"):
# the loader drops location parts that are not keys of the data, and must not mistake a tag for a key.
_KIND_TAGS = {"all": "AllOf", "any": "AnyOf", "not": "NotOf"}


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        for key, tag in _KIND_TAGS.items():
            if key in value:
                return tag
        return "FieldTest"
    if isinstance(value, AllOf | AnyOf | NotOf):
        return type(value).__name__
    return "FieldTest"


Condition = Annotated[
    Annotated[AllOf, Tag("AllOf")]
    | Annotated[AnyOf, Tag("AnyOf")]
    | Annotated[NotOf, Tag("NotOf")]
    | Annotated[FieldTest, Tag("FieldTest")],
    Discriminator(_condition_kind),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


DataPath = tuple[str | int, ...]


def located_field_tests(condition: Condition, path: DataPath) -> list[tuple[DataPath, FieldTest]]:
    """Every field test inside a condition, depth first, with its path in the model file (``path`` leads there)."""
    if isinstance(condition, FieldTest):
        return [(path, condition)]
    if isinstance(condition, AllOf):
        return [t for i, c in enumerate(condition.all) for t in located_field_tests(c, (*path, "all", i))]
    if isinstance(condition, AnyOf):
        return [t for i, c in enumerate(condition.any) for t in located_field_tests(c, (*path, "any", i))]
    return located_field_tests(condition.not_, (*path, "not"))


def iter_field_tests(condition: Condition) -> list[FieldTest]:
    """Every field test inside a condition, depth first; used for validation of field names."""
    return [test for _, test in located_field_tests(condition, ())]
