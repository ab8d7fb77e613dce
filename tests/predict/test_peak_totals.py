"""``peak_totals``: a lead's highest total up to each snapshot, what a stage threshold is crossed by, held to
the reference engine scored at every hour and at every edge in between."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import assemble_cents, occurrences_from_rows
from leadscore.engine.types import US_PER_DAY, Lead, to_micros
from leadscore.model.loader import loads_model
from leadscore.predict.funnel import peak_totals

MODEL = """
name: peaks
fit:
  - {name: base, when: {all: []}, points: 20}
engagement:
  - {name: demo, event: demo, points: 15, window_days: 7, max_points: 30}
  - {name: careers, event: careers, points: -12, window_days: 3}
  - {name: webinar, event: webinar, points: 4, window_days: 2.5}
inactivity: {every_days: 1, points: -3, floor: -12, since: any_event}
"""
HOUR = US_PER_DAY // 24
CREATED = to_micros(datetime(2026, 1, 1, tzinfo=UTC))


def _by_brute_force(compiled: CompiledModel, lead: Lead, rows: list[tuple[str, str, int, str]], until: int) -> int:
    occurrences = occurrences_from_rows(compiled, rows, unique=True)
    edges = {t + d for _, _, t, _ in rows for d in (0, 1, 3 * US_PER_DAY, 3 * US_PER_DAY + 1)}
    moments = set(range(CREATED, until + 1, HOUR)) | {t for t in edges if CREATED <= t <= until} | {until}
    return max(assemble_cents(compiled, lead, occurrences, t).total for t in moments)


def test_the_peak_is_the_highest_total_at_any_moment_up_to_each_snapshot() -> None:
    compiled = CompiledModel(loads_model(MODEL, "<peaks>"))
    rng = random.Random(11)
    for case in range(40):
        lead = Lead(f"L{case}", {}, created_at=datetime(2026, 1, 1, tzinfo=UTC))
        times = sorted(CREATED + rng.randrange(0, 12 * US_PER_DAY) for _ in range(rng.randrange(0, 7)))
        kinds = ["demo", "careers", "webinar", "newsletter_open"]
        rows = [(f"e{i}", rng.choice(kinds), t, "{}") for i, t in enumerate(times)]
        snapshots = sorted(CREATED + rng.randrange(0, 14 * US_PER_DAY) for _ in range(3))
        peaks = peak_totals(compiled, lead, rows, snapshots)
        assert peaks == [_by_brute_force(compiled, lead, rows, at) for at in snapshots], (case, rows, snapshots)
        occurrences = occurrences_from_rows(compiled, rows, unique=True)
        for peak, at in zip(peaks, snapshots, strict=True):
            assert peak >= assemble_cents(compiled, lead, occurrences, at).total


def test_a_careers_page_leaving_its_window_raises_the_total_between_events() -> None:
    """The total can rise between events: here, when a negative rule's occurrence leaves its window."""
    compiled = CompiledModel(loads_model(MODEL, "<peaks>"))
    lead = Lead("L1", {}, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    rows = [("e1", "careers", CREATED, "{}"), ("e2", "demo", CREATED + 1, "{}")]  # then nothing
    (peak,) = peak_totals(compiled, lead, rows, [CREATED + 10 * US_PER_DAY])
    # At the demo: 20 + 15 - 12 = 23. Three days after creation the careers page leaves its window, two full
    # days after the demo (1 µs later), so the penalty is -6: 20 + 15 - 6 = 29, and it only falls after.
    assert peak == 2900


def test_an_event_no_rule_names_restarts_the_penalty_and_can_set_the_peak() -> None:
    compiled = CompiledModel(loads_model(MODEL, "<peaks>"))
    lead = Lead("L1", {}, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    opened = CREATED + 3 * US_PER_DAY + US_PER_DAY // 2
    rows = [
        ("e1", "careers", CREATED, "{}"),
        ("e2", "demo", CREATED + 1, "{}"),
        ("e3", "newsletter_open", opened, "{}"),
    ]
    # 23 at the demo, 29 when the careers page leaves its window, 35 at the newsletter open: no penalty then.
    assert peak_totals(compiled, lead, rows, [CREATED + 10 * US_PER_DAY]) == [3500]


def test_a_stage_reached_before_the_lead_was_created_counts() -> None:
    """Events may predate the lead's creation (visits tied to it later): the peak and the funnel keep them."""
    from leadscore.predict.funnel import stages_reached

    text = MODEL + "lifecycle:\n  stages:\n    - name: lead\n    - name: mql\n      when: {field: total, gte: 40}\n"
    compiled = CompiledModel(loads_model(text, "<peaks>"))
    lead = Lead("L1", {}, created_at=datetime(2026, 1, 6, tzinfo=UTC))  # five days after the demo
    rows = [("e1", "demo", CREATED, "{}"), ("e2", "demo", CREATED + 1, "{}")]  # 20 + 30, then the window ends
    until = CREATED + 10 * US_PER_DAY
    assert peak_totals(compiled, lead, rows, [until]) == [5000]
    assert stages_reached(compiled, lead, rows, until)["mql"] == CREATED + 1
