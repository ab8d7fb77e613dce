"""Realistic B2B sample leads and events in leadscore's vocabulary, for benchmarks, tests and demos.

Fast, deterministic and dependency-free: the same ``seed`` gives the same records on every machine
and Python version (only ``random.random``, integers and exactly rounded float ``+ - * /`` and ``sqrt``
are used), and both generators are lazy: beyond one id per lead, 2,000,000 events take no more memory
than 2. ``leadscore.ingest.writers`` writes them to CSV and JSONL files that the readers accept.

Lead ``i`` (from 0) has the id ``lead_id(i)`` whatever the seed, and is created at a time in the
``i``-th of ``n`` equal slices of ``[start, end)``. ``sample_events`` relies on that: an event at time
``t`` only goes to a lead created by ``t`` (when both use the same ``start`` and ``end``), newer leads
are more active than older ones, and 3% of leads are hot (30% of events), 20% warm (40%) and the rest cold.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, overload

from leadscore.ingest.records import EventRecord, LeadRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_END = datetime(2025, 1, 1, tzinfo=UTC)
SOURCE = "sample"

FIRST_NAMES = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "david", "elizabeth", "william",
    "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen", "christopher",
    "lisa", "daniel", "nancy", "matthew", "sandra", "anthony", "betty", "mark", "ashley", "priya", "wei",
    "mohammed", "fatima", "hiroshi", "yuki", "lukas", "sofia", "mateo", "lucia", "olivia", "noah", "emma", "liam",
    "ava", "ethan", "mia", "lars", "ingrid", "pierre", "camille", "giulia", "marco", "aisha", "kwame", "chen",
    "ana", "raj",
)  # fmt: skip
LAST_NAMES = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
    "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee",
    "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young",
    "allen", "king", "wright", "scott", "patel", "kumar", "singh", "nguyen", "kim", "muller", "schmidt", "dubois",
    "rossi", "tanaka", "sato", "okafor", "mensah", "silva", "santos", "cohen", "novak", "jensen", "larsen",
    "kowalski", "ivanova",
)  # fmt: skip
COMPANY_PARTS = (
    "acme", "blue", "nova", "bright", "north", "summit", "apex", "cloud", "data", "pixel", "quantum", "vertex",
    "silver", "iron", "green", "red", "open", "true", "swift", "clear", "peak", "delta", "orbit", "lumen", "terra",
    "atlas", "echo", "prime", "spark", "harbor", "river", "stone", "maple", "cedar", "falcon", "bolt", "core",
    "flux", "grid", "hive", "loop", "mesa", "nimbus", "onyx", "polar", "radiant", "sage", "tidal", "umbra", "vivid",
    "zen", "arc", "beacon",
)  # fmt: skip
COMPANY_SUFFIXES = (
    "labs", "systems", "analytics", "software", "works", "logic", "soft", "ware", "tech", "dynamics", "solutions",
    "cloud", "metrics", "stack", "ly", "hq", "io", "base", "flow", "sight", "point", "path", "forge", "mind",
    "wave",
)  # fmt: skip
TLDS = ("com", "io", "co", "net", "ai", "co.uk", "de", "com.au")
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
COMPETITOR_DOMAINS = ("rivalscore.io", "leadranker.com")
INDUSTRIES = (
    ("software", 16), ("saas", 8), ("information technology", 8), ("financial services", 8), ("fintech", 3),
    ("internet", 4), ("manufacturing", 9), ("healthcare", 8), ("retail", 7), ("education", 6),
    ("professional services", 7), ("logistics", 4), ("media", 4), ("government", 3), ("non-profit", 3),
    ("real estate", 2),
)  # fmt: skip
COUNTRIES = (
    ("United States", 38), ("United Kingdom", 10), ("Canada", 6), ("Germany", 7), ("France", 5),
    ("Netherlands", 3), ("Australia", 4), ("India", 8), ("Brazil", 4), ("Spain", 3), ("Japan", 3),
    ("Singapore", 2), ("Sweden", 2), ("Mexico", 3), ("South Africa", 2),
)  # fmt: skip
#: (smallest, largest, weight): employee counts; 12% of companies have more than 1,000.
COMPANY_SIZES = ((1, 10, 15), (11, 50, 24), (51, 200, 25), (201, 500, 15), (501, 1000, 9), (1001, 5000, 8),
                 (5001, 50000, 4))  # fmt: skip
LEAD_SOURCES = (
    ("organic search", 22), ("paid search", 14), ("webinar", 8), ("referral", 8), ("event", 6),
    ("outbound", 12), ("content syndication", 6), ("partner", 5), ("social", 7), ("direct", 12),
)  # fmt: skip
DEPARTMENTS = (
    ("marketing", 18), ("sales", 18), ("revenue operations", 5), ("operations", 10), ("it", 10),
    ("engineering", 12), ("finance", 9), ("hr", 5), ("customer success", 6), ("product", 5), ("legal", 2),
)  # fmt: skip
#: seniority -> (weight, title templates); ``{d}`` is the department's display name.
SENIORITIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "c_level": (5, ("CEO", "CTO", "CFO", "CMO", "COO", "Chief Revenue Officer", "Founder", "Owner", "President")),
    "vp": (8, ("VP of {d}", "SVP {d}", "Vice President, {d}", "VP {d}")),
    "director": (14, ("Director of {d}", "Head of {d}", "Senior Director, {d}", "{d} Director")),
    "manager": (25, ("{d} Manager", "Senior {d} Manager", "Manager, {d}", "{d} Program Manager")),
    "individual_contributor": (
        38,
        ("{d} Specialist", "{d} Analyst", "Senior {d} Associate", "{d} Coordinator", "{d} Consultant"),
    ),
    "entry": (6, ("Student", "{d} Intern", "Graduate Student", "Intern", "Trainee", "Working Student")),
}
DISPLAY = {"it": "IT", "hr": "HR"}
BANT_VALUES = {
    "budget": ("yes", "approved", "allocated", "no", "unknown"),
    "authority": ("yes", "decision maker", "budget holder", "influencer", "no"),
    "need": ("yes", "urgent", "confirmed", "no", "exploring"),
    "timing": ("this quarter", "0-3 months", "immediate", "next quarter", "6-12 months", "none"),
}


def _weighted(items: Sequence[tuple[Any, int]], size: int = 1000) -> tuple[Any, ...]:
    """A lookup table: ``table[int(random() * len(table))]`` picks items in proportion to their weights."""
    total = sum(weight for _, weight in items)
    table: list[Any] = []
    running = 0
    for item, weight in items:
        running += weight
        table.extend([item] * (round(size * running / total) - len(table)))
    return tuple(table)


def _campaigns(prefix: str, count: int) -> list[dict[str, Any]]:
    return [{"campaign": f"{prefix}-{number:02d}"} for number in range(1, count + 1)]


#: (event type, properties variants, weight per 10,000 events).
EVENT_MIX: tuple[tuple[str, list[dict[str, Any]], int], ...] = (
    ("email_open", _campaigns("nurture", 24), 4650),
    ("page_view", [{"url": "/"}], 450),
    ("page_view", [{"url": f"/blog/{slug}"} for slug in ("roi-guide", "scoring-101", "mql-vs-sql", "ab-tests")], 900),
    ("page_view", [{"url": "/product"}, {"url": "/features"}, {"url": "/integrations"}], 600),
    ("page_view", [{"url": "/pricing"}], 320),
    ("page_view", [{"url": f"/lp/{name}"} for name in ("spring-promo", "webinar-q2", "ebook-2024", "demo-day")], 300),
    ("page_view", [{"url": "/docs/getting-started"}, {"url": "/docs/api"}], 200),
    ("page_view", [{"url": "/careers"}, {"url": "/careers/open-roles"}], 110),
    ("page_view", [{"url": "/about"}, {"url": "/customers"}], 120),
    ("email_click", _campaigns("nurture", 24), 900),
    ("content_download", [{"asset_type": "ebook"}, {"asset_type": "guide"}], 260),
    ("content_download", [{"asset_type": "whitepaper"}, {"asset_type": "report"}], 120),
    ("content_download", [{"asset_type": "infographic"}], 70),
    ("social", [{"action": "like", "network": n} for n in ("linkedin", "x")], 220),
    ("social", [{"action": a, "network": "linkedin"} for a in ("share", "comment")], 180),
    ("form_submit", [{"form": "newsletter"}, {"form": "event_registration"}], 90),
    ("form_submit", [{"form": "demo"}], 60),
    ("form_submit", [{"form": "trial"}], 40),
    ("form_submit", [{"form": "contact_sales"}], 35),
    ("form_submit", [{"form": "contact"}], 15),
    ("webinar_signup", [{"webinar": f"webinar-{number:02d}"} for number in range(1, 9)], 150),
    ("email_bounce", [{"bounce_type": "soft"}], 40),
    ("email_bounce", [{"bounce_type": "hard"}], 20),
    ("unsubscribe", [{}], 30),
    ("spam_complaint", [{}], 5),
)
EVENT_TABLE_SIZE = 10_000
#: Activity tiers by ``lead index % 100``: (first, count, share of events).
TIERS = ((0, 3, 0.30), (3, 20, 0.40), (23, 77, 0.30))
#: Event volume grows with the number of leads: the density at time fraction f is proportional to RAMP + f.
RAMP = 0.2
#: Up to this many leads, ``sample_events`` keeps their ids in a list (about 70 bytes each).
MAX_CACHED_IDS = 1_000_000


class _LeadIds(Sequence[str]):
    """``lead_id(i)`` on demand, for more leads than are worth keeping in a list."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [lead_id(i) for i in range(self.size)[index]]
        return lead_id(index)


def lead_id(index: int) -> str:
    """The id of the ``index``-th sample lead (from 0), the same for every seed: ``lead-0000001``."""
    return f"lead-{index + 1:07d}"


def _event_table() -> tuple[tuple[str, dict[str, Any]], ...]:
    items = [((kind, props), weight / len(variants)) for kind, variants, weight in EVENT_MIX for props in variants]
    scale = 1_000  # weights of split variants are fractions: scale them to integers first
    table = _weighted([(item, round(weight * scale)) for item, weight in items], EVENT_TABLE_SIZE)
    return tuple(table)


_EVENTS = _event_table()
_INDUSTRY = _weighted(INDUSTRIES)
_COUNTRY = _weighted(COUNTRIES)
_SIZE = _weighted([((low, high), weight) for low, high, weight in COMPANY_SIZES])
_LEAD_SOURCE = _weighted(LEAD_SOURCES)
_DEPARTMENT = _weighted(DEPARTMENTS)
_SENIORITY = _weighted([(name, weight) for name, (weight, _) in SENIORITIES.items()])


@cache
def _seconds_of_day() -> tuple[timedelta, ...]:
    """Adding one of these to a midnight is three times faster than ``datetime.fromtimestamp``."""
    return tuple(timedelta(seconds=second) for second in range(86_400))


def _window(start: datetime, end: datetime) -> tuple[int, float]:
    """``start`` in epoch seconds, and a span such that ``int(span * f)`` stays below ``end`` for f <= 1."""
    for moment in (start, end):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    start_s, end_s = math.floor(start.timestamp()), math.floor(end.timestamp())
    if end_s <= start_s:
        raise ValueError(f"expected start before end, got {start.isoformat()} and {end.isoformat()}")
    return start_s, end_s - start_s - 0.5


def _company(seed: int, number: int) -> dict[str, Any]:
    """Company ``number`` of a seed: the same attributes for all its leads, computed, not stored."""
    rng = random.Random(seed * 1_000_003 + number)
    pick = rng.random
    part = COMPANY_PARTS[number % len(COMPANY_PARTS)]
    suffix = COMPANY_SUFFIXES[number // len(COMPANY_PARTS) % len(COMPANY_SUFFIXES)]
    repeat, tld = divmod(number // (len(COMPANY_PARTS) * len(COMPANY_SUFFIXES)), len(TLDS))
    name = f"{part.title()}{suffix}" + (f" {repeat + 1}" if repeat else "")
    low, high = _SIZE[int(pick() * len(_SIZE))]
    size = low + int(pick() * (high - low + 1))
    return {
        "company": name,
        "company_domain": f"{part}{suffix}{repeat + 1 if repeat else ''}.{TLDS[tld]}",
        "industry": _INDUSTRY[int(pick() * len(_INDUSTRY))],
        "company_size": size,
        "annual_revenue": int(round(size * (40_000 + pick() * 210_000), -3)),
        "country": _COUNTRY[int(pick() * len(_COUNTRY))],
    }


def sample_leads(
    n: int, seed: int = 0, *, start: datetime = DEFAULT_START, end: datetime = DEFAULT_END
) -> Iterator[LeadRecord]:
    """``n`` leads, lazily, created in order between ``start`` and ``end``."""
    rng = random.Random(seed)
    pick = rng.random
    start_s, span = _window(start, end)
    companies = max(1, n // 3)
    cache: dict[int, dict[str, Any]] = {}
    for index in range(n):
        skew = pick()
        number = int(companies * skew * skew)  # a few companies have many leads
        company = cache.get(number) or _company(seed, number)
        if len(cache) < 4096:
            cache[number] = company
        first, last = FIRST_NAMES[int(pick() * len(FIRST_NAMES))], LAST_NAMES[int(pick() * len(LAST_NAMES))]
        seniority = _SENIORITY[int(pick() * len(_SENIORITY))]
        department = _DEPARTMENT[int(pick() * len(_DEPARTMENT))]
        templates = SENIORITIES[seniority][1]
        title = templates[int(pick() * len(templates))].format(d=DISPLAY.get(department, department.title()))
        roll = pick()
        free_mail = roll < (0.6 if seniority == "entry" else 0.18)
        if roll > 0.998:
            domain = COMPETITOR_DOMAINS[index % 2]
        else:
            domain = FREE_MAIL[int(pick() * len(FREE_MAIL))] if free_mail else company["company_domain"]
        email = f"{first}.{last}{index + 1}@{domain}"
        fields: dict[str, Any] = {"email": email, "first_name": first.title(), "last_name": last.title()}
        if pick() < 0.95:
            fields["title"] = title
        if pick() < 0.4:
            fields["seniority"] = seniority
        if pick() < 0.7:
            fields["department"] = department
        fields.update(company)
        if pick() < 0.4:
            del fields["annual_revenue"]
        if pick() < 0.25:
            for name, values in BANT_VALUES.items():
                if pick() < 0.8:
                    fields[name] = values[int(pick() * len(values))]
        fields["lead_source"] = _LEAD_SOURCE[int(pick() * len(_LEAD_SOURCE))]
        offset = pick() if index else 0.0  # the first lead exists from ``start``: early events need one
        created_s = start_s + int(span * (index + offset) / n)
        created_at = datetime.fromtimestamp(created_s, UTC)
        yield LeadRecord(id=lead_id(index), email=email, fields=fields, created_at=created_at, source=SOURCE)


def sample_events(
    leads: int | Sequence[LeadRecord],
    n_events: int,
    seed: int = 0,
    *,
    start: datetime = DEFAULT_START,
    end: datetime = DEFAULT_END,
) -> Iterator[EventRecord]:
    """``n_events`` events in time order for ``leads`` (a count, or the leads themselves), lazily.

    Event ids are ``evt-<seed>-<n>``. Given lead records, events carry their ids and emails; given a
    count, the ids of ``lead_id(i)`` and no email.
    """
    if isinstance(leads, int):
        n_leads, emails = leads, None
        ids: Sequence[str] = _LeadIds(leads) if leads > MAX_CACHED_IDS else [lead_id(i) for i in range(leads)]
    else:
        n_leads = len(leads)
        ids = [lead.id or lead_id(index) for index, lead in enumerate(leads)]
        emails = [lead.email for lead in leads]
    if n_leads < 1:
        raise ValueError(f"expected at least one lead, got {n_leads}")
    rng = random.Random(seed)
    pick = rng.random
    start_s, span = _window(start, end)
    ramp_total, ramp_squared, sqrt = 2 * (RAMP + 0.5), RAMP * RAMP, math.sqrt
    tiers = _weighted([((first, width), round(share * 100)) for first, width, share in TIERS], 100)
    events, table_size, prefix = _EVENTS, len(_EVENTS), f"evt-{seed}-"
    record, seconds, day_number, day_start = EventRecord, _seconds_of_day(), -1, DEFAULT_START
    for number in range(1, n_events + 1):
        fraction = sqrt(ramp_squared + ramp_total * (number - 1 + pick()) / n_events) - RAMP
        available = int(fraction * n_leads) or 1
        first, width = tiers[int(pick() * 100)]
        hundreds, rest = divmod(available, 100)
        rest -= first
        members = width * hundreds + (width if rest >= width else rest if rest > 0 else 0)
        if members:
            newest = pick()  # squared: a third of a tier's events go to its newest tenth
            rank = members - 1 - int(members * newest * newest)
            index = 100 * (rank // width) + first + rank % width
        else:
            index = int(available * pick())
        kind, properties = events[int(pick() * table_size)]
        day, second = divmod(start_s + int(span * fraction), 86_400)
        if day != day_number:  # times only grow: a new day's midnight is made once
            day_number, day_start = day, EPOCH + timedelta(days=day)
        yield record(
            prefix + str(number),
            kind,
            day_start + seconds[second],
            ids[index],
            emails[index] if emails is not None else None,
            dict(properties),
            SOURCE,
        )
