"""Fit rules, engagement rules and the decay that ages engagement points."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, model_validator

from leadscore.model.conditions import Condition

#: The shortest period a model may name: shorter ones only multiply work and rounding.
MINUTE_IN_DAYS = 1 / 1440


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NoDecay(_Strict):
    kind: Literal["none"]


class ExponentialDecay(_Strict):
    """Points halve every ``half_life_days``: ``points * 0.5 ** (age_days / half_life_days)``."""

    kind: Literal["exponential"]
    half_life_days: float = Field(gt=0)


class LinearDecay(_Strict):
    """Points lose ``percent`` of their original value after every full ``every_days``, down to zero."""

    kind: Literal["linear"]
    percent: float = Field(gt=0, le=100)
    every_days: float = Field(ge=MINUTE_IN_DAYS)


Decay = Annotated[NoDecay | ExponentialDecay | LinearDecay, Discriminator("kind")]


class Inactivity(_Strict):
    """A penalty of ``points`` for every full ``every_days`` since the last positive engagement, or with
    ``since: any_event`` since the lead's last event of any type, matched by a rule or not.

    ``floor`` bounds the penalty itself (for example -20), not the engagement score.
    """

    every_days: float = Field(ge=MINUTE_IN_DAYS)
    points: float = Field(lt=0)
    floor: float | None = Field(default=None, le=0)
    since: Literal["positive_engagement", "any_event"] = "positive_engagement"


class FrequencyLimit(_Strict):
    """Counts at most ``count`` occurrences per calendar ``per`` period (UTC; weeks start on Monday)."""

    count: int = Field(ge=1)
    per: Literal["day", "week", "month"]


class FitRule(_Strict):
    """Points for who the lead is; fit points never decay."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    points: float
    when: Condition


class EngagementRule(_Strict):
    """Points per occurrence of an event of type ``event`` whose properties satisfy ``where``."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    event: str = Field(min_length=1)
    where: Condition | None = None
    points: float
    once: bool = False
    limit: FrequencyLimit | None = None
    max_points: float | None = Field(default=None, gt=0)
    decay: Decay | None = None
    window_days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _once_or_limit(self) -> EngagementRule:
        if self.once and self.limit is not None:
            raise ValueError("expected either 'once: true' or 'limit', not both")
        if self.points == 0:
            raise ValueError("expected non-zero points")
        return self
