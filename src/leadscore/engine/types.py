"""The values the scoring core works on: leads, accounts and events in; scores and contributions out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Exact integer microseconds since the epoch; naive datetimes are refused, not guessed."""
    try:
        return (moment - EPOCH) // _MICROSECOND  # an aware minus a naive datetime is a TypeError
    except TypeError:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}") from None


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(microsecond=micros % 1_000_000)


@dataclass(frozen=True, slots=True)
class Account:
    """A company; leads reach its fields in conditions as ``account.<field>``."""

    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lead:
    """A person; ``fields`` holds every attribute from the CRM (email, title, company_size, ...)."""

    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    account: Account | None = None

    @property
    def email(self) -> str | None:
        value = self.fields.get("email")
        return str(value) if value else None


@dataclass(frozen=True, slots=True)
class Event:
    """Something a lead did at ``occurred_at``; ``id`` makes re-sent events harmless."""

    id: str
    lead_id: str
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


ContributionKind = Literal["fit", "engagement", "inactivity", "limit", "rollup"]


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one rule added to a score.

    ``count`` is how many events matched the rule up to ``as_of``; ``counted`` is how many of them
    scored after ``once``, frequency limits and the window; ``raw_points`` is ``counted * points``
    before decay and caps; ``points`` is what was added, after decay, caps and rounding.
    """

    rule: str
    kind: ContributionKind
    points: Decimal
    raw_points: Decimal
    count: int = 0
    counted: int = 0


@dataclass(frozen=True, slots=True)
class Score:
    """A lead's score under one model at ``as_of``; the contributions add up exactly to ``total``."""

    model: str
    lead_id: str
    as_of: datetime
    fit: Decimal
    engagement: Decimal
    total: Decimal
    tier: str
    grade: str
    level: str
    stage: str
    stage_reason: str
    contributions: tuple[Contribution, ...]
    last_engagement_at: datetime | None = None

    @property
    def matrix(self) -> str:
        """The fit-by-engagement cell, for example ``A1``."""
        return f"{self.grade}{self.level}"
