"""Turning one leadforge row into a leadscore record: field names, synthetic emails, event types.

Everything here is pure: a row (a dict of column values) goes in, a record comes out, or ``RowError``
says which field was wrong. ``leadscore.ingest.leadforge`` reads the Parquet files and turns each
``RowError`` into a ``Reject``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord

#: Where synthetic personal addresses live; all are in leadscore's free-mail list.
FREE_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
#: ``contacts.email_domain_type`` values that mean a personal mailbox.
PERSONAL_DOMAIN_TYPES = frozenset({"personal", "free", "free_mail", "freemail", "consumer"})
#: A reserved top-level domain (RFC 2606): synthetic company domains can never reach a real company.
COMPANY_DOMAIN_SUFFIX = ".example"

COUNTRIES = {"US": "United States", "UK": "United Kingdom", "GB": "United Kingdom"}
SENIORITIES = {"c_suite": "c_level"}
DEPARTMENTS = {
    "ap_manager": "finance",
    "vp_finance": "finance",
    "it_director": "it",
    "procurement_manager": "procurement",
}
#: leadforge ``touch_type`` -> (leadscore event type, properties added).
TOUCH_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "email": ("email_open", {}),
    "webinar": ("webinar_signup", {}),
    "content_download": ("content_download", {}),
    "linkedin_message": ("social", {"action": "message", "network": "linkedin"}),
    "call": ("call", {}),
}
#: leadforge ``session_type`` -> the url of the page_view that stands for the session.
SESSION_URLS = {"website": "/", "pricing_page": "/pricing", "demo_page": "/demo"}
#: Session counters that become one extra page_view each: (column, url).
SESSION_PAGE_COUNTS = (("pricing_page_views", "/pricing"), ("demo_page_views", "/demo"))

_BAND = re.compile(r"\$?(\d[\d,]*(?:\.\d+)?)\s*([kmb]?)\s*(?:-\s*\$?(\d[\d,]*(?:\.\d+)?)\s*([kmb]?)|(\+))", re.I)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_NOT_IN_ADDRESS = re.compile(r"[^a-z0-9._-]+")
_NOT_IN_HOST = re.compile(r"[^a-z0-9-]+")


class RowError(ValueError):
    """One field of one row could not be converted."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def required_text(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError(column, f"{column} is empty")
    if not isinstance(value, str):
        raise RowError(column, f"expected text in {column}, got {type(value).__name__} {value!r}")
    return value.strip()


def optional_text(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@lru_cache(maxsize=8192)
def _parse_day_text(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_day(row: Mapping[str, Any], column: str) -> datetime:
    """leadforge dates are ``YYYY-MM-DD`` with no zone: midnight UTC. A real time, if present, is kept."""
    value = row.get(column)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        raise RowError(column, f"expected a date like 2024-01-31 in {column}, got {value!r}")
    try:
        return _parse_day_text(value.strip())
    except ValueError:
        raise RowError(column, f"expected a date like 2024-01-31 in {column}, got {value!r}") from None


def count(row: Mapping[str, Any], column: str) -> int:
    """A non-negative whole number; a missing counter is 0."""
    value = row.get(column)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RowError(column, f"expected a count of 0 or more in {column}, got {value!r}")
    return value


def band_value(band: str) -> int:
    """A number for a band: the midpoint of ``200-499`` (350) or ``$10M-$50M`` (30,000,000); 1.5x for ``2000+``."""
    match = _BAND.fullmatch(band.strip())
    if match is None:
        raise ValueError(f"expected a band like 200-499, 2000+ or $10M-$50M, got {band!r}")
    low_text, low_unit, high_text, high_unit, open_ended = match.groups()
    low = float(low_text.replace(",", "")) * _SCALE[(low_unit or high_unit or "").lower()]
    if open_ended:
        return round(low * 1.5)
    high = float(high_text.replace(",", "")) * _SCALE[(high_unit or "").lower()]
    # "200-499" ends just before 500: the midpoint of [200, 500) is 350.
    top = high + 1 if high == int(high) and not high_unit and not low_unit else high
    return round((low + top) / 2)


def company_domain(account_id: str) -> str:
    """``acct_000336`` -> ``acct-000336.example``."""
    return _NOT_IN_HOST.sub("-", account_id.lower()).strip("-") + COMPANY_DOMAIN_SUFFIX


def synthetic_email(contact_id: str, account_id: str, email_domain_type: str | None) -> str:
    """The same contact always gets the same address; personal mailboxes get a free-mail domain."""
    local = _NOT_IN_ADDRESS.sub("-", contact_id.lower())
    if (email_domain_type or "").strip().casefold() in PERSONAL_DOMAIN_TYPES:
        domain = FREE_MAIL_DOMAINS[zlib.crc32(contact_id.encode()) % len(FREE_MAIL_DOMAINS)]
    else:
        domain = company_domain(account_id)
    return f"{local}@{domain}"


def _readable(value: str | None) -> str | None:
    return value.replace("_", " ") if value else value


def _set(fields: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        fields[name] = value


def account_record(row: Mapping[str, Any], *, source: str, line: int) -> AccountRecord:
    account_id = required_text(row, "account_id")
    fields: dict[str, Any] = {}
    domain = company_domain(account_id)
    _set(fields, "company", optional_text(row, "company_name"))
    fields["company_domain"] = domain
    _set(fields, "industry", _readable(optional_text(row, "industry")))
    region = optional_text(row, "region")
    _set(fields, "country", COUNTRIES.get(region, region) if region else None)
    _set(fields, "region", region)
    for band_column, number_field in (("employee_band", "company_size"), ("estimated_revenue_band", "annual_revenue")):
        band = optional_text(row, band_column)
        if band is not None:
            try:
                fields[number_field] = band_value(band)
            except ValueError as error:
                raise RowError(band_column, str(error)) from None
            fields[band_column] = band
    _set(fields, "process_maturity_band", optional_text(row, "process_maturity_band"))
    _set(fields, "created_at", optional_text(row, "created_at"))
    return AccountRecord(id=account_id, fields=fields, domain=domain, source=source, line=line)


def contact_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A contact's own fields, in leadscore's names; ``account_id`` is kept to fill in a lead without one."""
    fields: dict[str, Any] = {"contact_id": required_text(row, "contact_id")}
    _set(fields, "account_id", optional_text(row, "account_id"))
    _set(fields, "title", optional_text(row, "job_title"))
    seniority = optional_text(row, "seniority")
    _set(fields, "seniority", SENIORITIES.get(seniority, seniority) if seniority else None)
    role = optional_text(row, "role_function")
    _set(fields, "department", DEPARTMENTS.get(role, _readable(role)) if role else None)
    _set(fields, "role_function", role)
    _set(fields, "buyer_role", optional_text(row, "buyer_role"))
    _set(fields, "email_domain_type", optional_text(row, "email_domain_type"))
    return fields


#: Account fields copied onto each of its leads.
ACCOUNT_FIELDS_ON_LEADS = (
    "company",
    "company_domain",
    "industry",
    "company_size",
    "employee_band",
    "annual_revenue",
    "estimated_revenue_band",
    "country",
    "region",
    "process_maturity_band",
)


def lead_record(
    row: Mapping[str, Any],
    contacts: Mapping[str, Mapping[str, Any]],
    accounts: Mapping[str, AccountRecord],
    *,
    source: str,
    line: int,
) -> LeadRecord:
    lead_id = required_text(row, "lead_id")
    contact_id = required_text(row, "contact_id")
    contact = contacts.get(contact_id)
    if contact is None:
        raise RowError("contact_id", f"contact {contact_id!r} is not in contacts.parquet")
    account_id = optional_text(row, "account_id") or contact.get("account_id")
    if account_id is None:
        raise RowError("account_id", "account_id is empty on the lead and on its contact")
    account = accounts.get(account_id)
    if account is None:
        raise RowError("account_id", f"account {account_id!r} is not among the accounts read from accounts.parquet")
    created_at = parse_day(row, "lead_created_at")
    email = synthetic_email(contact_id, account_id, contact.get("email_domain_type"))
    fields: dict[str, Any] = {"email": email}
    fields.update((k, v) for k, v in contact.items() if k != "account_id")
    fields.update((k, account.fields[k]) for k in ACCOUNT_FIELDS_ON_LEADS if k in account.fields)
    for column in ("lead_source", "first_touch_channel", "owner_rep_id"):
        _set(fields, column, optional_text(row, column))
    return LeadRecord(
        id=lead_id, email=email, fields=fields, created_at=created_at, account_id=account_id, source=source, line=line
    )


def _event_start(row: Mapping[str, Any], id_column: str, time_column: str) -> tuple[str, str, datetime]:
    return required_text(row, id_column), required_text(row, "lead_id"), parse_day(row, time_column)


def touch_events(row: Mapping[str, Any], *, source: str, line: int) -> list[EventRecord]:
    touch_id, lead_id, occurred_at = _event_start(row, "touch_id", "touch_timestamp")
    touch_type = required_text(row, "touch_type")
    event_type, extra = TOUCH_EVENTS.get(touch_type, (touch_type, {}))
    properties: dict[str, Any] = {"touch_type": touch_type, **extra}
    for column in ("touch_channel", "touch_direction", "campaign_id"):
        _set(properties, column, optional_text(row, column))
    return [EventRecord(f"lf:touch:{touch_id}", event_type, occurred_at, lead_id, None, properties, source, line)]


def session_events(row: Mapping[str, Any], *, source: str, line: int) -> list[EventRecord]:
    """One page_view for the session, then one per pricing and demo page view it counted."""
    session_id, lead_id, occurred_at = _event_start(row, "session_id", "session_timestamp")
    session_type = required_text(row, "session_type")
    counts = {column: count(row, column) for column in ("page_views", "session_duration_seconds")}
    extra = [(column, url, count(row, column)) for column, url in SESSION_PAGE_COUNTS]
    url = SESSION_URLS.get(session_type, "/" + session_type.replace("_", "-"))
    properties = {"url": url, "session_type": session_type, **counts, **{c: n for c, _, n in extra}}
    events = [
        EventRecord(f"lf:session:{session_id}", "page_view", occurred_at, lead_id, None, properties, source, line)
    ]
    for column, page_url, times in extra:
        for number in range(1, times + 1):
            events.append(
                EventRecord(
                    f"lf:session:{session_id}:{column}:{number}",
                    "page_view",
                    occurred_at,
                    lead_id,
                    None,
                    {"url": page_url, "session_id": session_id, "counted_in": column},
                    source,
                    line,
                )
            )
    return events


def activity_events(row: Mapping[str, Any], *, source: str, line: int) -> list[EventRecord]:
    activity_id, lead_id, occurred_at = _event_start(row, "activity_id", "activity_timestamp")
    properties: dict[str, Any] = {"activity_type": required_text(row, "activity_type")}
    for column in ("activity_outcome", "rep_id"):
        _set(properties, column, optional_text(row, column))
    return [
        EventRecord(
            f"lf:activity:{activity_id}", "sales_activity", occurred_at, lead_id, None, properties, source, line
        )
    ]


def opportunity_events(row: Mapping[str, Any], *, source: str, line: int) -> list[EventRecord]:
    """Only the creation; ``stage`` is never read (it is the stage at day 90; see leadscore.ingest.leadforge)."""
    opportunity_id, lead_id, occurred_at = _event_start(row, "opportunity_id", "created_at")
    properties: dict[str, Any] = {}
    _set(properties, "estimated_acv", row.get("estimated_acv"))
    return [
        EventRecord(
            f"lf:opportunity:{opportunity_id}",
            "opportunity_created",
            occurred_at,
            lead_id,
            None,
            properties,
            source,
            line,
        )
    ]
