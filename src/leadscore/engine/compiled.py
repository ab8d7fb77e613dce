"""A scoring model prepared for fast evaluation: predicates built once, rules indexed by event type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import orjson

from leadscore.engine.predicates import Accessor, Predicate, compile_condition, mapping_access
from leadscore.engine.types import US_PER_DAY, Contribution, ContributionKind
from leadscore.model.bands import Bands
from leadscore.model.conditions import Condition, iter_field_tests
from leadscore.model.describe import describe
from leadscore.model.rules import Decay, EngagementRule, ExponentialDecay, FitRule, LinearDecay, NoDecay
from leadscore.model.scoring_model import Limit, ScoringModel

MATCH_MEMO_SIZE = 65_536


@cache
def free_mail_domains() -> frozenset[str]:
    """The shipped list of free-mail domains (``domain_in: free_mail``)."""
    text = files("leadscore.data").joinpath("free_mail_domains.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def lead_access(name: str) -> Accessor:
    """Reads a lead's field, or its account's field as ``account.<field>``."""
    if name.startswith("account."):
        key = name[8:]
        if "." not in key:
            return lambda lead: lead.account.fields.get(key) if lead.account is not None else None
        inner = mapping_access(key)
        return lambda lead: inner(lead.account.fields) if lead.account is not None else None
    if name == "id":
        return lambda lead: lead.id
    if "." not in name:
        return lambda lead: lead.fields.get(name)  # one call, not two: fit rules run on every lead
    inner_field = mapping_access(name)
    return lambda lead: inner_field(lead.fields)


def stage_access(name: str) -> Accessor:
    """Stage conditions read scores by name, and the lead as ``lead.<field>`` or ``account.<field>``."""
    if name.startswith("lead."):
        inner = lead_access(name[5:])
        return lambda subject: inner(subject["lead"])
    if name.startswith("account."):
        inner_account = lead_access(name)
        return lambda subject: inner_account(subject["lead"])
    return lambda subject: subject.get(name)


@dataclass(frozen=True, slots=True)
class CompiledFitRule:
    rule: FitRule
    matches: Predicate
    cents: int
    contribution: Contribution
    line: tuple[str, ContributionKind, int, int, int, int]


@dataclass(frozen=True, slots=True)
class CompiledEngagementRule:
    """An engagement rule with its effective decay and window (the rule's own, else the model's)."""

    index: int
    name: str
    rule: EngagementRule
    matches: Predicate | None
    points: float
    decay: Decay
    window_us: int | None
    period: str | None
    per_period: int
    decay_kind: str
    half_us: float  # exponential decay's half-life in µs (0.0 for other kinds)
    factor: Callable[[int], float]  # the share left after an age in µs
    max_points: float | None  # the rule's cap, read on every outcome
    positive: bool
    #: Raw points in hundredths per number of counted occurrences: a few small counts, on every outcome.
    raw_cents: dict[int, int] = field(default_factory=dict)


class CompiledModel:
    """Everything the engine needs from a model, computed once and shared across leads."""

    def __init__(self, model: ScoringModel) -> None:
        self.model = model
        self.key = model.key
        self.lists: dict[str, frozenset[str]] = {"free_mail": free_mail_domains()}
        self.lists.update({name: frozenset(d.casefold() for d in ds) for name, ds in model.lists.items()})
        self.fit = [self._fit_rule(rule) for rule in model.fit]
        self.account_fit = [self._fit_rule(rule) for rule in model.account.fit]
        #: The model's engagement rules, as people wrote them: what a breakdown or a rule's columns list.
        self.rules = [self._engagement_rule(i, rule) for i, rule in enumerate(model.engagement)]
        inactivity = model.inactivity
        #: With ``inactivity.since: any_event``, one more slot after the rules that every event matches, whatever
        #: its type: its last occurrence is what the penalty counts from. It gives no points and no line, and
        #: every path (batch, incremental, keyed) keeps its occurrences as it keeps a rule's.
        self.activity_index: int | None = None
        self.engagement = list(self.rules)
        if inactivity is not None and inactivity.since == "any_event":
            self.activity_index = len(self.rules)
            self.engagement.append(self._activity_slot(self.activity_index))
        by_type: dict[str, list[CompiledEngagementRule]] = {}
        for crule in self.rules:
            by_type.setdefault(crule.rule.event, []).append(crule)
        self.rules_by_type = by_type
        #: What an event of a type no rule names matches: the activity slot, if any.
        self.any_type: tuple[int, ...] = (self.activity_index,) if self.activity_index is not None else ()
        #: Event types some rule tests properties of; other events are scored from their type and time alone.
        self.typed_with_properties = frozenset(c.rule.event for c in self.rules if c.matches is not None)
        #: The rules an event of a type matches whatever its properties, for types no rule tests properties of.
        self.indexes_by_type = {
            kind: tuple(c.index for c in rules) + self.any_type
            for kind, rules in by_type.items()
            if kind not in self.typed_with_properties
        }
        #: Rules matched per (type, properties JSON): stored events repeat the same few property sets
        #: (a pricing page view, a demo form), so a batch tests each set once. Bounded; see ``match_text``.
        self.match_memo: dict[tuple[str, str], tuple[int, ...]] = {}
        #: The same per (type, properties) for events in memory whose property values are all text.
        self.mapping_memo: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self.positive_flags = tuple(c.points > 0 for c in self.rules)
        #: Inactivity's step in µs and its floor in hundredths, worked out once rather than on every score.
        self.inactivity_every_us = round(inactivity.every_days * US_PER_DAY) if inactivity is not None else 0
        self.inactivity_floor = (
            to_cents(inactivity.floor) if inactivity is not None and inactivity.floor is not None else None
        )
        limits = model.limits
        self.fit_bounds = _bounds(limits.fit)
        self.engagement_bounds = _bounds(limits.engagement)
        self.total_bounds = _bounds(limits.total)
        self.place_tier = band_places(model.tiers)
        self.place_grade = band_places(model.grades)
        self.place_level = band_places(model.levels)
        lifecycle = model.lifecycle
        self.first_stage = lifecycle.stages[0].name
        # Highest first, with the reason each gives, written out once.
        self.stage_rules = [
            (stage.name, self.stage_predicate(stage.when), f"{stage.name}: {describe(stage.when)}")
            for stage in reversed(lifecycle.stages[1:])
            if stage.when is not None
        ]
        self.recycle = self.stage_predicate(lifecycle.recycle) if lifecycle.recycle else None
        self.recycle_reason = f"recycle: {describe(lifecycle.recycle)}" if lifecycle.recycle else ""
        self.disqualify = self.stage_predicate(lifecycle.disqualify) if lifecycle.disqualify else None
        self.disqualify_reason = f"disqualify: {describe(lifecycle.disqualify)}" if lifecycle.disqualify else ""
        # A disqualify condition on lead fields alone is decided once per lead, not once per score.
        self.disqualify_on_lead = lifecycle.disqualify is not None and all(
            t.field.startswith(("lead.", "account.")) for t in iter_field_tests(lifecycle.disqualify)
        )

    def _fit_rule(self, rule: FitRule) -> CompiledFitRule:
        cents = to_cents(rule.points)
        value = cents_to_decimal(cents)
        contribution = Contribution(rule.name, "fit", value, value, 1, 1)
        line: tuple[str, ContributionKind, int, int, int, int] = (rule.name, "fit", cents, cents, 1, 1)
        return CompiledFitRule(rule, compile_condition(rule.when, lead_access, self.lists), cents, contribution, line)

    def _activity_slot(self, index: int) -> CompiledEngagementRule:
        """The activity slot: every event, no window, no decay, no points (a rule no model file can write:
        ``*`` names no event type, and points must not be 0)."""
        rule = EngagementRule.model_construct(
            name="inactivity.since", event="*", points=0.0, decay=NoDecay(kind="none"), window_days=None
        )
        return self._engagement_rule(index, rule)

    def _engagement_rule(self, index: int, rule: EngagementRule) -> CompiledEngagementRule:
        model = self.model
        where = compile_condition(rule.where, mapping_access, self.lists) if rule.where is not None else None
        window = rule.window_days if "window_days" in rule.model_fields_set else model.window_days
        if rule.once:
            period, per_period = "ever", 1
        elif rule.limit is not None:
            period, per_period = rule.limit.per, rule.limit.count
        else:
            period, per_period = None, 0
        decay = rule.decay if rule.decay is not None else model.decay
        return CompiledEngagementRule(
            index=index,
            name=rule.name,
            rule=rule,
            matches=where,
            points=float(rule.points),
            decay=decay,
            window_us=round(window * US_PER_DAY) if window is not None else None,
            period=period,
            per_period=per_period,
            decay_kind=decay.kind,
            half_us=decay.half_life_days * US_PER_DAY if isinstance(decay, ExponentialDecay) else 0.0,
            factor=decay_function(decay),
            max_points=rule.max_points,
            positive=rule.points > 0,
        )

    def match_properties(self, kind: str, properties: Mapping[str, Any]) -> tuple[int, ...]:
        """Indexes of the engagement rules an event of this type with these properties matches (and the
        activity slot's, which every event matches)."""
        rules = self.rules_by_type.get(kind, ())
        return tuple(c.index for c in rules if c.matches is None or c.matches(properties)) + self.any_type

    def match_text(self, kind: str, properties: str) -> tuple[int, ...]:
        """``match_properties`` for properties as JSON text, remembered: predicates are pure functions of it."""
        key = (kind, properties)
        indexes = self.match_memo.get(key)
        if indexes is None:
            indexes = self.match_properties(kind, orjson.loads(properties))
            if len(self.match_memo) >= MATCH_MEMO_SIZE:
                self.match_memo.clear()
            self.match_memo[key] = indexes
        return indexes

    def match_mapping(self, kind: str, properties: Mapping[str, Any]) -> tuple[int, ...]:
        """``match_properties``, remembered when every property value is text: the answer is then a pure
        function of the type and the key-value pairs (a number or a boolean could equal a different value
        of another kind, ``1 == True``, so those are matched afresh). Bounded like ``match_text``."""
        for value in properties.values():
            if value.__class__ is not str:
                return self.match_properties(kind, properties)
        key = (kind, *properties.items())
        indexes = self.mapping_memo.get(key)
        if indexes is None:
            indexes = self.match_properties(kind, properties)
            if len(self.mapping_memo) >= MATCH_MEMO_SIZE:
                self.mapping_memo.clear()
            self.mapping_memo[key] = indexes
        return indexes

    def stage_predicate(self, condition: Condition) -> Predicate:
        return compile_condition(condition, stage_access, self.lists)


def _bounds(limit: Limit) -> tuple[int | None, int | None]:
    return (
        to_cents(limit.min) if limit.min is not None else None,
        to_cents(limit.max) if limit.max is not None else None,
    )


def decay_function(decay: Decay) -> Callable[[int], float]:
    """The share of an occurrence's points left after an age in µs; never above 1, never rising with age.

    ``engagement._tally`` writes the exponential case out inline; the two must stay the same expression.
    """
    if isinstance(decay, ExponentialDecay):
        half_us = decay.half_life_days * US_PER_DAY
        return lambda age_us: 0.5 ** (age_us / half_us)
    if isinstance(decay, LinearDecay):
        step_us = round(decay.every_days * US_PER_DAY)
        share = decay.percent / 100.0
        return lambda age_us: max(0.0, 1.0 - share * (age_us // step_us))
    return lambda age_us: 1.0


def to_cents(points: float) -> int:
    """Rounds to hundredths, halves away from zero (2.345 -> 2.35, -2.345 -> -2.35) as people do by hand."""
    scaled = abs(points) * 100.0
    cents = int(scaled + 0.5)
    # Guard against binary noise such as 2.345 * 100 == 234.49999999999997.
    if abs(scaled + 0.5 - (cents + 1)) < 1e-9:
        cents += 1
    return -cents if points < 0 else cents


@lru_cache(maxsize=16_384)
def cents_to_decimal(cents: int) -> Decimal:
    # Points repeat across leads (a rule's 5.00, a cap's 10.00), so exact Decimals are memoised.
    return Decimal(cents).scaleb(-2)


def band_places(bands: Bands) -> Callable[[int], str]:
    """A band lookup on integer hundredths, for the hot path."""
    limits = [(to_cents(b.min) if b.min is not None else None, b.name) for b in bands.root]

    def place(cents: int) -> str:
        for low, name in limits:
            if low is None or cents >= low:
                return name
        raise AssertionError("the last band catches every score")  # pragma: no cover

    return place
