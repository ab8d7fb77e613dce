"""The reference engine: ``score(model, lead, events, as_of)`` with no I/O and no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from leadscore.engine.compiled import CompiledModel, cents_to_decimal, to_cents
from leadscore.engine.engagement import Line, Occurrence, RuleOutcome, evaluate
from leadscore.engine.types import (
    US_PER_DAY,
    Contribution,
    Event,
    Lead,
    Score,
    from_micros,
    to_micros,
)
from leadscore.model.scoring_model import ScoringModel


def compile_model(model: ScoringModel | CompiledModel) -> CompiledModel:
    return model if isinstance(model, CompiledModel) else CompiledModel(model)


def match_event(compiled: CompiledModel, event: Event) -> tuple[int, ...]:
    """Indexes of the engagement rules an event matches."""
    indexes = compiled.indexes_by_type.get(event.type)
    if indexes is not None:
        return indexes
    if event.type not in compiled.rules_by_type:
        return compiled.any_type
    return compiled.match_mapping(event.type, event.properties)


def occurrences_of(compiled: CompiledModel, events: Iterable[Event]) -> list[list[Occurrence]]:
    """Sorted occurrences per engagement rule; a repeated event id counts once (the first one a rule matched).

    Ids of events that matched no rule are not remembered, as in ``LeadState.fold``, so that both agree.
    """
    per_rule: list[list[Occurrence]] = [[] for _ in compiled.engagement]
    seen: set[str] = set()
    for event in events:
        if event.id in seen:
            continue
        indexes = match_event(compiled, event)
        if indexes:
            seen.add(event.id)
            occurred_us = to_micros(event.occurred_at)
            for index in indexes:
                per_rule[index].append(occurred_us)
    for rows in per_rule:
        rows.sort()
    return per_rule


def occurrences_from_rows(
    compiled: CompiledModel, rows: Iterable[tuple[str, str, int, Mapping[str, Any] | str]], *, unique: bool = False
) -> list[list[Occurrence]]:
    """Like ``occurrences_of`` for stored rows ``(event id, type, occurred_at µs, properties)``.

    Properties may be JSON text; it is decoded only when a rule of that event type tests a property,
    and the rules it matches are remembered per text, which is what makes batch rescoring fast. The
    result is the same as ``occurrences_of``.

    With ``unique``, the rows are known to hold each event once (a store's rows), so ids are not
    checked and may be left empty.
    """
    per_rule: list[list[Occurrence]] = [[] for _ in compiled.engagement]
    seen: set[str] = set()
    static = compiled.indexes_by_type
    typed = compiled.rules_by_type
    for event_id, kind, occurred_us, props in rows:
        indexes = static.get(kind)
        if indexes is None:
            if kind not in typed:
                if not compiled.any_type:
                    continue
                indexes = compiled.any_type
            elif isinstance(props, str):
                indexes = compiled.match_text(kind, props)
            else:
                indexes = compiled.match_properties(kind, props)
            if not indexes:
                continue
        if not unique:
            if event_id in seen:
                continue
            seen.add(event_id)
        for index in indexes:
            per_rule[index].append(occurred_us)
    for rule_rows in per_rule:
        rule_rows.sort()
    return per_rule


def score(model: ScoringModel | CompiledModel, lead: Lead, events: Iterable[Event], as_of: datetime) -> Score:
    """The lead's score at ``as_of``: only events at or before ``as_of`` count."""
    compiled = compile_model(model)
    return assemble(compiled, lead, occurrences_of(compiled, events), to_micros(as_of), as_of)


def _clamp(cents: int, bounds: tuple[int | None, int | None]) -> int:
    low, high = bounds
    if low is not None and cents < low:
        return low
    if high is not None and cents > high:
        return high
    return cents


def _limit_line(name: str, before: int, after: int) -> Line:
    return (name, "limit", after - before, after - before, 0, 0)


class LeadPart(NamedTuple):
    """What depends on the lead alone: fit cents after the fit limit, their lines, and whether a
    disqualify condition on lead fields holds (None when it also reads scores, so each score decides)."""

    fit_cents: int
    lines: tuple[Line, ...]  # a tuple: kept in every warm lead state, and the collector skips tuples of values
    disqualified: bool | None


def fit_part(compiled: CompiledModel, lead: Lead) -> LeadPart:
    lines: list[Line] = []
    fit_cents = 0
    for frule in compiled.fit:
        if frule.matches(lead):
            fit_cents += frule.cents
            lines.append(frule.line)
    clamped = _clamp(fit_cents, compiled.fit_bounds)
    if clamped != fit_cents:
        lines.append(_limit_line("limits.fit", fit_cents, clamped))
    disqualified = None
    if compiled.disqualify is not None and compiled.disqualify_on_lead:
        disqualified = compiled.disqualify({"lead": lead})
    return LeadPart(clamped, tuple(lines), disqualified)


class ScoreCents(NamedTuple):
    """A score in integer hundredths, as every path computes it. A ``Score`` (exact Decimals) is made from
    it only where one is read; batch paths encode it for the store directly."""

    fit: int
    engagement: int
    total: int
    tier: str
    grade: str
    level: str
    stage: str
    stage_reason: str
    lines: list[Line]
    last_us: int | None


def assemble(
    compiled: CompiledModel,
    lead: Lead,
    occurrences: list[list[Occurrence]],
    as_of_us: int,
    as_of: datetime | None = None,
    *,
    fit: LeadPart | None = None,
    results: list[RuleOutcome | None] | None = None,
) -> Score:
    """The score from per-rule occurrences, as exact Decimals with its contributions."""
    cents = assemble_cents(compiled, lead, occurrences, as_of_us, fit=fit, results=results)
    return to_score(compiled.key, lead.id, as_of if as_of is not None else from_micros(as_of_us), cents)


#: Bound on the remembered ``Contribution`` per line; cleared when full, like the other memos.
CONTRIBUTION_MEMO_SIZE = 65_536
_contributions: dict[Line, Contribution] = {}


def contribution(line: Line) -> Contribution:
    """The ``Contribution`` of a line. Lines repeat (every fit rule's, a capped rule's) and a contribution
    is an immutable value of its line, so one instance serves every score that has the line."""
    made = _contributions.get(line)
    if made is None:
        rule, kind, points, raw, count, counted = line
        made = Contribution(rule, kind, cents_to_decimal(points), cents_to_decimal(raw), count, counted)
        if len(_contributions) >= CONTRIBUTION_MEMO_SIZE:
            _contributions.clear()
        _contributions[line] = made
    return made


def to_score(model: str, lead_id: str, as_of: datetime, cents: ScoreCents) -> Score:
    return Score(
        model=model,
        lead_id=lead_id,
        as_of=as_of,
        fit=cents_to_decimal(cents.fit),
        engagement=cents_to_decimal(cents.engagement),
        total=cents_to_decimal(cents.total),
        tier=cents.tier,
        grade=cents.grade,
        level=cents.level,
        stage=cents.stage,
        stage_reason=cents.stage_reason,
        contributions=tuple(map(contribution, cents.lines)),
        last_engagement_at=from_micros(cents.last_us) if cents.last_us is not None else None,
    )


def assemble_cents(
    compiled: CompiledModel,
    lead: Lead,
    occurrences: list[list[Occurrence]],
    as_of_us: int,
    *,
    fit: LeadPart | None = None,
    results: list[RuleOutcome | None] | None = None,
) -> ScoreCents:
    """Builds the score from per-rule occurrences; shared by every path so that they agree exactly.

    ``fit`` and ``results`` let an incremental caller reuse what it computed for the same lead at the
    same ``as_of``; a rule whose result is None is evaluated here and stored back into ``results``.
    """
    if results is None:
        results = [None] * len(compiled.engagement)
    for crule in compiled.engagement:
        index = crule.index
        if results[index] is None:
            rows = occurrences[index]
            if rows and rows[0] <= as_of_us:
                results[index] = evaluate(crule, rows, as_of_us)
    return assemble_outcomes(compiled, lead, fit if fit is not None else fit_part(compiled, lead), results, as_of_us)


def assemble_outcomes(
    compiled: CompiledModel, lead: Lead, fit: LeadPart, outcomes: list[RuleOutcome | None], as_of_us: int
) -> ScoreCents:
    """The score from each engagement rule's outcome (None for a rule with no occurrence at or before
    ``as_of``): inactivity, the limits, the bands and the stage, in the order docs/scoring.md gives."""
    fit_cents, fit_lines, disqualified = fit
    lines = list(fit_lines)
    engagement_cents = 0
    last_us: int | None = None
    activity = compiled.activity_index
    rules = outcomes if activity is None else outcomes[:activity]
    for outcome, positive in zip(rules, compiled.positive_flags, strict=True):
        if outcome is None:
            continue
        engagement_cents += outcome.cents
        lines.append(outcome.line)
        if positive:
            last = outcome.last_us
            if last is not None and (last_us is None or last > last_us):
                last_us = last
    inactivity = compiled.model.inactivity
    if inactivity is not None:
        since = last_us
        if activity is not None:
            tracked = outcomes[activity]
            since = tracked.last_us if tracked is not None else None
        if since is None and lead.created_at is not None:
            since = min(to_micros(lead.created_at), as_of_us)
        if since is not None:
            periods = (as_of_us - since) // compiled.inactivity_every_us
            if periods > 0:
                penalty = to_cents(periods * inactivity.points)
                if compiled.inactivity_floor is not None:
                    penalty = max(penalty, compiled.inactivity_floor)
                engagement_cents += penalty
                lines.append(("inactivity", "inactivity", penalty, penalty, periods, periods))
    clamped = _clamp(engagement_cents, compiled.engagement_bounds)
    if clamped != engagement_cents:
        lines.append(_limit_line("limits.engagement", engagement_cents, clamped))
        engagement_cents = clamped

    total_cents = fit_cents + engagement_cents
    clamped = _clamp(total_cents, compiled.total_bounds)
    if clamped != total_cents:
        lines.append(_limit_line("limits.total", total_cents, clamped))
        total_cents = clamped

    tier = compiled.place_tier(total_cents)
    grade = compiled.place_grade(fit_cents)
    level = compiled.place_level(engagement_cents)
    days = (as_of_us - last_us) / US_PER_DAY if last_us is not None else None
    subject: dict[str, Any] = {
        "total": total_cents / 100,
        "fit": fit_cents / 100,
        "engagement": engagement_cents / 100,
        "tier": tier,
        "grade": grade,
        "level": level,
        "matrix": grade + level,
        "days_since_engagement": days,
        "lead": lead,
    }
    stage, reason = _stage(compiled, subject, disqualified)
    return ScoreCents(fit_cents, engagement_cents, total_cents, tier, grade, level, stage, reason, lines, last_us)


def _stage(compiled: CompiledModel, subject: dict[str, Any], disqualified: bool | None) -> tuple[str, str]:
    if compiled.disqualify is not None:
        if disqualified is None:
            disqualified = compiled.disqualify(subject)
        if disqualified:
            return compiled.model.lifecycle.disqualified_stage, compiled.disqualify_reason
    if compiled.recycle is not None and compiled.recycle(subject):
        return compiled.first_stage, compiled.recycle_reason
    for name, test, reason in compiled.stage_rules:
        if test(subject):
            return name, reason
    return compiled.first_stage, "default stage"
