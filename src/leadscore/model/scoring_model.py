"""The scoring model: the whole of what a team reviews and versions as one YAML file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadscore.model.bands import DEFAULT_GRADES, DEFAULT_LEVELS, DEFAULT_TIERS, Bands
from leadscore.model.conditions import iter_field_tests
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
        names = [r.name for r in self.fit] + [r.name for r in self.engagement]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"expected unique rule names across fit and engagement, repeated: {dupes}")
        if not self.fit and not self.engagement:
            raise ValueError("expected at least one fit or engagement rule")
        known_lists = set(self.lists) | {"free_mail"}
        rules = [*self.fit, *self.account.fit]
        tests = [t for r in rules for t in iter_field_tests(r.when)]
        tests += [t for r in self.engagement if r.where is not None for t in iter_field_tests(r.where)]
        stage_conditions = [s.when for s in self.lifecycle.stages if s.when is not None]
        stage_conditions += [c for c in (self.lifecycle.recycle, self.lifecycle.disqualify) if c is not None]
        stage_tests = [t for c in stage_conditions for t in iter_field_tests(c)]
        for test in [*tests, *stage_tests]:
            if isinstance(test.domain_in, str) and test.domain_in not in known_lists:
                raise ValueError(f"unknown list {test.domain_in!r} in domain_in: expected one of {sorted(known_lists)}")
        for test in stage_tests:
            prefix = test.field.split(".", 1)[0]
            if test.field not in STAGE_FIELDS and prefix not in ("lead", "account"):
                allowed = ", ".join(sorted(STAGE_FIELDS))
                raise ValueError(
                    f"unknown stage field {test.field!r}: expected one of {allowed}, lead.<field> or account.<field>"
                )
        return self

    @property
    def key(self) -> str:
        """The model's identity in stores and exports: ``name@version``."""
        return f"{self.name}@{self.version}"
