"""The scoring model: the whole of what a team reviews and versions as one YAML file."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from leadscore.model.bands import DEFAULT_GRADES, DEFAULT_LEVELS, DEFAULT_TIERS, Bands
from leadscore.model.conditions import DataPath, located_field_tests
from leadscore.model.rules import Decay, EngagementRule, FitRule, Inactivity, NoDecay
from leadscore.model.stages import DEFAULT_LIFECYCLE, STAGE_FIELDS, Lifecycle


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Limit(_Strict):
    """Clamps a score to ``[min, max]``; either bound may be left out."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"expected min <= max, got min {self.min} and max {self.max}")
        return self


class Limits(_Strict):
    fit: Limit = Limit()
    engagement: Limit = Limit()
    total: Limit = Limit()


class Rollup(_Strict):
    """How an account's score is made from its leads' totals."""

    method: Literal["sum", "max", "top_n_mean"] = "max"
    n: int = Field(default=3, ge=1)


class AccountScoring(_Strict):
    """Account score: the rollup of its leads' totals plus the account's own fit rules."""

    rollup: Rollup = Rollup()
    fit: list[FitRule] = []
    tiers: Bands | None = None


class ScoringModel(_Strict):
    """A named, versioned set of rules; several models can score the same leads side by side."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str | int = 1
    description: str = ""
    decay: Decay = NoDecay(kind="none")
    window_days: float | None = Field(default=None, gt=0)
    inactivity: Inactivity | None = None
    lists: dict[str, list[str]] = {}
    fit: list[FitRule] = []
    engagement: list[EngagementRule] = []
    limits: Limits = Limits()
    tiers: Bands = DEFAULT_TIERS
    grades: Bands = DEFAULT_GRADES
    levels: Bands = DEFAULT_LEVELS
    lifecycle: Lifecycle = DEFAULT_LIFECYCLE
    account: AccountScoring = AccountScoring()

    @model_validator(mode="after")
    def _check(self) -> ScoringModel:
        # Checks across the model: every problem is reported at its own place in the file, all at once.
        problems: list[tuple[DataPath, Any, str]] = []
        first_use: dict[str, str] = {}
        named = [("fit", i, r.name) for i, r in enumerate(self.fit)]
        named += [("engagement", i, r.name) for i, r in enumerate(self.engagement)]
        for kind, index, name in named:
            if name in first_use:
                message = f"expected unique rule names across fit and engagement: {name!r} is used by {first_use[name]}"
                problems.append(((kind, index, "name"), name, message))
            else:
                first_use[name] = f"{kind}[{index}]"
        if not self.fit and not self.engagement:
            problems.append(((), None, "expected at least one fit or engagement rule"))
        known_lists = set(self.lists) | {"free_mail"}
        tests = [t for i, r in enumerate(self.fit) for t in located_field_tests(r.when, ("fit", i, "when"))]
        tests += [
            t
            for i, r in enumerate(self.account.fit)
            for t in located_field_tests(r.when, ("account", "fit", i, "when"))
        ]
        tests += [
            t
            for i, r in enumerate(self.engagement)
            if r.where is not None
            for t in located_field_tests(r.where, ("engagement", i, "where"))
        ]
        lifecycle = self.lifecycle
        stage_tests = [
            t
            for i, s in enumerate(lifecycle.stages)
            if s.when is not None
            for t in located_field_tests(s.when, ("lifecycle", "stages", i, "when"))
        ]
        for key, condition in (("recycle", lifecycle.recycle), ("disqualify", lifecycle.disqualify)):
            if condition is not None:
                stage_tests += located_field_tests(condition, ("lifecycle", key))
        for path, test in [*tests, *stage_tests]:
            if isinstance(test.domain_in, str) and test.domain_in not in known_lists:
                message = f"unknown list {test.domain_in!r} in domain_in: expected one of {sorted(known_lists)}"
                problems.append(((*path, "domain_in"), test.domain_in, message))
        for path, test in stage_tests:
            prefix = test.field.split(".", 1)[0]
            if test.field not in STAGE_FIELDS and prefix not in ("lead", "account"):
                allowed = ", ".join(sorted(STAGE_FIELDS))
                message = (
                    f"unknown stage field {test.field!r}: expected one of {allowed}, lead.<field> or account.<field>"
                )
                problems.append(((*path, "field"), test.field, message))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=loc, input=value
                    )
                    for loc, value, message in problems
                ],
            )
        return self

    @property
    def key(self) -> str:
        """The model's identity in stores and exports: ``name@version``."""
        return f"{self.name}@{self.version}"
