"""What readers produce: lead and event records ready to store, or rejects that say what was wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class LeadRecord:
    """A lead as read from a source; upserted by ``id``, else by ``email``.

    ``fields`` uses leadscore's field names (see docs/fields.md): email, first_name, last_name, title,
    seniority, department, company, company_domain, industry, company_size, annual_revenue, country,
    budget, authority, need, timing, lead_source, plus any custom field.
    """

    id: str | None
    email: str | None
    fields: dict[str, Any]
    created_at: datetime | None = None
    account_id: str | None = None
    source: str = ""
    line: int = 0


@dataclass(slots=True)
class AccountRecord:
    """A company, when the source has one of its own (leadforge accounts, CRM company exports)."""

    id: str
    fields: dict[str, Any]
    domain: str | None = None
    source: str = ""
    line: int = 0


@dataclass(slots=True)
class EventRecord:
    """Something a lead did; ``id`` is what makes loading the same file twice harmless."""

    id: str
    type: str
    occurred_at: datetime
    lead_id: str | None = None
    email: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    line: int = 0


@dataclass(slots=True)
class Reject:
    """A row that could not be used, kept with its place in the file and the reason."""

    source: str
    line: int
    reason: str
    field: str | None = None
    raw: Any = None

    def __str__(self) -> str:
        where = f" field {self.field!r}:" if self.field else ""
        return f"{self.source}:{self.line}:{where} {self.reason}"
