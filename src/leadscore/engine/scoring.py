"""The reference engine: ``score(model, lead, events, as_of)`` with no I/O and no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from leadscore.engine.compiled import CompiledEngagementRule, CompiledModel, cents_to_decimal, to_cents
from leadscore.engine.engagement import Occurrence, RuleOutcome, evaluate
from leadscore.engine.types import US_PER_DAY, Contribution, Event, Lead, Score, from_micros, to_micros
from leadscore.model.scoring_model import ScoringModel


def compile_model(model: ScoringModel | CompiledModel) -> CompiledModel:
    return model if isinstance(model, CompiledModel) else CompiledModel(model)


def match_event(compiled: CompiledModel, event: Event) -> list[int]:
    """Indexes of the engagement rules an event matches."""
    rules = compiled.rules_by_type.get(event.type)
    if not rules:
        return []
    props = event.properties
    return [c.index for c in rules if c.matches is None or c.matches(props)]


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
            occurrence = (to_micros(event.occurred_at), event.id)
            for index in indexes:
                per_rule[index].append(occurrence)
    for rows in per_rule:
        rows.sort()
    return per_rule


def occurrences_from_rows(
    compiled: CompiledModel, rows: Iterable[tuple[str, str, int, Mapping[str, Any] | str]], *, unique: bool = False
) -> list[list[Occurrence]]:
    """Like ``occurrences_of`` for stored rows ``(event id, type, occurred_at µs, properties)``.

    Properties may be JSON text; it is decoded only when a rule of that event type tests a property,
    which is what makes batch rescoring fast. The result is the same as ``occurrences_of``.

    With ``unique``, the rows are known to hold each event once (a store's rows), so ids are not
    checked and may be left empty: which of two occurrences at the same moment comes first changes no
    score, since every step reads only occurrence times.
    """
    per_rule: list[list[Occurrence]] = [[] for _ in compiled.engagement]
    seen: set[str] = set()
    by_type = compiled.rules_by_type
    for event_id, kind, occurred_us, props in rows:
        rules = by_type.get(kind)
        if not rules or (not unique and event_id in seen):
            continue
        decoded: Mapping[str, Any] | None = None
        for crule in rules:
            if crule.matches is not None:
                if decoded is None:
                    decoded = orjson.loads(props) if isinstance(props, str) else props
                if not crule.matches(decoded):
                    continue
            per_rule[crule.index].append((occurred_us, event_id))
            if not unique:
                seen.add(event_id)
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


def _limit_contribution(name: str, before: int, after: int) -> Contribution:
    delta = cents_to_decimal(after - before)
    return Contribution(rule=name, kind="limit", points=delta, raw_points=delta)


RuleResult = tuple[RuleOutcome, Contribution]


def rule_result(crule: CompiledEngagementRule, outcome: RuleOutcome) -> RuleResult:
    contribution = Contribution(
        crule.rule.name,
        "engagement",
        cents_to_decimal(outcome.cents),
        cents_to_decimal(outcome.raw_cents),
        outcome.matched,
        outcome.counted,
    )
    return outcome, contribution


class LeadPart(NamedTuple):
    """What depends on the lead alone: fit cents after the fit limit, their contributions, and whether a
    disqualify condition on lead fields holds (None when it also reads scores, so each score decides)."""

    fit_cents: int
    contributions: list[Contribution]
    disqualified: bool | None


def fit_part(compiled: CompiledModel, lead: Lead) -> LeadPart:
    contributions: list[Contribution] = []
    fit_cents = 0
    for frule in compiled.fit:
        if frule.matches(lead):
            fit_cents += frule.cents
            contributions.append(frule.contribution)
    clamped = _clamp(fit_cents, compiled.fit_bounds)
    if clamped != fit_cents:
        contributions.append(_limit_contribution("limits.fit", fit_cents, clamped))
    disqualified = None
    if compiled.disqualify is not None and compiled.disqualify_on_lead:
        disqualified = compiled.disqualify({"lead": lead})
    return LeadPart(clamped, contributions, disqualified)


def assemble(
    compiled: CompiledModel,
    lead: Lead,
    occurrences: list[list[Occurrence]],
    as_of_us: int,
    as_of: datetime | None = None,
    *,
    fit: LeadPart | None = None,
    results: list[RuleResult | None] | None = None,
) -> Score:
    """Builds the score from per-rule occurrences; shared by every path so that they agree exactly.

    ``fit`` and ``results`` let an incremental caller reuse what it computed for the same lead at the
    same ``as_of``; a rule whose result is None is evaluated here and stored back into ``results``.
    """
    model = compiled.model
    fit_cents, fit_contributions, disqualified = fit if fit is not None else fit_part(compiled, lead)
    contributions = list(fit_contributions)
    engagement_cents = 0
    last_us: int | None = None
    positive = compiled.positive_flags
    for crule in compiled.engagement:
        index = crule.index
        result = results[index] if results is not None else None
        if result is None:
            rows = occurrences[index]
            if not rows or rows[0][0] > as_of_us:
                continue
            result = rule_result(crule, evaluate(crule, rows, as_of_us))
            if results is not None:
                results[index] = result
        outcome, contribution = result
        engagement_cents += outcome.cents
        contributions.append(contribution)
        if positive[index] and outcome.last_us is not None and (last_us is None or outcome.last_us > last_us):
            last_us = outcome.last_us
    inactivity = model.inactivity
    if inactivity is not None:
        since = last_us
        if since is None and lead.created_at is not None:
            since = min(to_micros(lead.created_at), as_of_us)
        if since is not None:
            periods = (as_of_us - since) // round(inactivity.every_days * US_PER_DAY)
            if periods > 0:
                penalty = to_cents(periods * inactivity.points)
                if inactivity.floor is not None:
                    penalty = max(penalty, to_cents(inactivity.floor))
                engagement_cents += penalty
                value = cents_to_decimal(penalty)
                contributions.append(Contribution("inactivity", "inactivity", value, value, periods, periods))
    clamped = _clamp(engagement_cents, compiled.engagement_bounds)
    if clamped != engagement_cents:
        contributions.append(_limit_contribution("limits.engagement", engagement_cents, clamped))
        engagement_cents = clamped

    total_cents = fit_cents + engagement_cents
    clamped = _clamp(total_cents, compiled.total_bounds)
    if clamped != total_cents:
        contributions.append(_limit_contribution("limits.total", total_cents, clamped))
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
        "matrix": f"{grade}{level}",
        "days_since_engagement": days,
        "lead": lead,
    }
    stage, reason = _stage(compiled, subject, disqualified)
    return Score(
        model=compiled.key,
        lead_id=lead.id,
        as_of=as_of if as_of is not None else from_micros(as_of_us),
        fit=cents_to_decimal(fit_cents),
        engagement=cents_to_decimal(engagement_cents),
        total=cents_to_decimal(total_cents),
        tier=tier,
        grade=grade,
        level=level,
        stage=stage,
        stage_reason=reason,
        contributions=tuple(contributions),
        last_engagement_at=from_micros(last_us) if last_us is not None else None,
    )


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
