"""Invariants of the engine over random models and random event streams.

The models mix once, frequency limits, caps, every decay kind, windows set on the model, on the rule or
opted out of, inactivity with and without a floor, counted from positive engagement or from any event,
limits on every part, and their own tiers, grades, levels and lifecycle (stages on scores, bands, the
matrix and recency, with recycle and disqualify).
The event streams mix types, properties and times (ties and exact day boundaries included), re-sent
copies and any order.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from engine_helpers import T0, assert_adds_up
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.engine import Event, Lead, LeadState, Score, compile_model, score
from leadscore.engine.scoring import assemble, assemble_cents, occurrences_from_rows, occurrences_of
from leadscore.engine.types import US_PER_DAY, to_micros
from leadscore.model import (
    AllOf,
    AnyOf,
    Band,
    Bands,
    Decay,
    EngagementRule,
    ExponentialDecay,
    FieldTest,
    FitRule,
    FrequencyLimit,
    Inactivity,
    Lifecycle,
    Limit,
    Limits,
    LinearDecay,
    NoDecay,
    ScoringModel,
    Stage,
)
from leadscore.model.conditions import Condition
from leadscore.store.codec import encode_cents, encode_score

PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EVENT_TYPES = ("visit", "demo", "email_open", "junk")  # no rule ever listens to "junk"
VALUES = ("a", "b", "c")
SPAN_DAYS = 60
SINCE: tuple[Literal["positive_engagement", "any_event"], ...] = ("positive_engagement", "any_event")

# Points in cents, plus a few values that are awkward in binary or exactly half a cent.
AWKWARD = (0.125, -0.125, 2.345, -2.345, 1.005, 0.333, -0.007)
nonzero_points = st.one_of(
    st.integers(-50, 50).filter(lambda p: p != 0).map(float),
    st.integers(-5000, 5000).filter(lambda c: c != 0).map(lambda c: c / 100),
    st.sampled_from(AWKWARD),
)
#: Caps and limits are written in cents, as people write them; see test_caps_and_limits_are_never_exceeded.
cents = st.integers(-20000, 20000).map(lambda c: c / 100)
caps = st.one_of(st.integers(1, 80).map(float), st.integers(1, 8000).map(lambda c: c / 100))
days = st.sampled_from([0.25, 0.5, 1, 2.5, 3, 7, 10, 30])

decays: st.SearchStrategy[Decay] = st.one_of(
    st.just(NoDecay(kind="none")),
    st.builds(ExponentialDecay, kind=st.just("exponential"), half_life_days=days),
    st.builds(LinearDecay, kind=st.just("linear"), percent=st.sampled_from([5, 25, 33.3, 50, 100]), every_days=days),
)


@st.composite
def conditions(draw: st.DrawFn, field: str) -> FieldTest | None:
    kind = draw(st.sampled_from(["none", "equals", "in", "gte", "is_missing"]))
    if kind == "none":
        return None
    if kind == "equals":
        return FieldTest(field=field, equals=draw(st.sampled_from(VALUES)))
    if kind == "in":
        return FieldTest.model_validate(
            {"field": field, "in": draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=2))}
        )
    if kind == "gte":
        return FieldTest(field="n", gte=draw(st.integers(0, 10)))
    return FieldTest(field=field, is_missing=True)


@st.composite
def engagement_rules(draw: st.DrawFn, index: int, sign: str) -> EngagementRule:
    """A random rule; ``sign`` is "any", or "steady_negatives": negative rules neither decay nor expire."""
    rule: dict[str, Any] = {"name": f"e{index}", "event": draw(st.sampled_from(EVENT_TYPES[:3]))}
    rule["points"] = draw(nonzero_points)
    where = draw(conditions("k")) if draw(st.booleans()) else None  # half the rules take every event of their type
    if where is not None:
        rule["where"] = where
    counting = draw(st.sampled_from(["every", "once", "limit"]))
    if counting == "once":
        rule["once"] = True
    elif counting == "limit":
        rule["limit"] = FrequencyLimit(
            count=draw(st.integers(1, 3)), per=draw(st.sampled_from(["day", "week", "month"]))
        )
    if draw(st.booleans()):
        rule["max_points"] = draw(caps)
    if draw(st.booleans()):
        rule["decay"] = draw(decays)
    window = draw(st.sampled_from(["model", "none", 0.5, 3, 10, 40]))
    if window != "model":  # leaving it out inherits the model's window; null opts out of it
        rule["window_days"] = None if window == "none" else window
    if sign == "steady_negatives" and rule["points"] < 0:
        rule["decay"] = NoDecay(kind="none")
        rule["window_days"] = None
    return EngagementRule(**rule)


@st.composite
def limits(draw: st.DrawFn) -> Limit:
    low, high = sorted(draw(st.lists(cents, min_size=2, max_size=2)))
    return Limit(min=draw(st.sampled_from([None, low])), max=draw(st.sampled_from([None, high])))


@st.composite
def bands(draw: st.DrawFn, names: tuple[str, ...]) -> Bands:
    """Bands from the highest to the lowest, with distinct thresholds in cents (half-cent edges included)."""
    count = draw(st.integers(1, len(names)))
    thresholds = sorted(draw(st.lists(cents, min_size=count - 1, max_size=count - 1, unique=True)), reverse=True)
    return Bands([*(Band(name=n, min=m) for n, m in zip(names, thresholds, strict=False)), Band(name=names[count - 1])])


@st.composite
def stage_conditions(draw: st.DrawFn, tiers: Bands, grades: Bands) -> Condition:
    """What a lifecycle reads: scores against thresholds, bands by name, the matrix, days since engagement."""
    tests: list[Condition] = [
        FieldTest(field=draw(st.sampled_from(["total", "fit", "engagement"])), gte=draw(cents)),
        FieldTest.model_validate(
            {"field": "tier", "in": draw(st.lists(st.sampled_from(tiers.names()), min_size=1, unique=True))}
        ),
        FieldTest.model_validate(
            {"field": "grade", "in": draw(st.lists(st.sampled_from(grades.names()), min_size=1, unique=True))}
        ),
        FieldTest(field="matrix", starts_with=draw(st.sampled_from(grades.names()))),
        FieldTest(field="days_since_engagement", gte=draw(days)),
        FieldTest(field="days_since_engagement", is_missing=True),
    ]
    chosen = draw(st.lists(st.sampled_from(tests), min_size=1, max_size=3))
    if len(chosen) == 1:
        return chosen[0]
    return AllOf(all=chosen) if draw(st.booleans()) else AnyOf(any=chosen)


@st.composite
def lifecycles(draw: st.DrawFn, tiers: Bands, grades: Bands) -> Lifecycle:
    stages = [Stage(name="lead")]
    stages += [
        Stage(name=name, when=draw(stage_conditions(tiers, grades)))
        for name in ("mql", "sql")[: draw(st.integers(0, 2))]
    ]
    recycle = draw(st.one_of(st.none(), stage_conditions(tiers, grades)))
    disqualify = draw(st.one_of(st.none(), stage_conditions(tiers, grades)))
    return Lifecycle(stages=stages, recycle=recycle, disqualify=disqualify)


@st.composite
def models(draw: st.DrawFn, sign: str = "any") -> ScoringModel:
    count = draw(st.integers(1, 5))
    engagement = [draw(engagement_rules(i, sign)) for i in range(count)]
    fit = [
        FitRule(
            name=f"f{i}", points=draw(nonzero_points), when=draw(conditions("x")) or FieldTest(field="x", is_set=True)
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    inactivity = None
    if draw(st.booleans()):
        floor = draw(st.sampled_from([None, -0.5, -10, -25.25]))
        since = draw(st.sampled_from(SINCE))
        inactivity = Inactivity(every_days=draw(days), points=-draw(caps), floor=floor, since=since)
    return ScoringModel(
        name="random",
        decay=draw(decays),
        window_days=draw(st.sampled_from([None, 1, 7, 30])),
        inactivity=inactivity,
        fit=fit,
        engagement=engagement,
        limits=Limits(fit=draw(limits()), engagement=draw(limits()), total=draw(limits())),
        **draw(st.one_of(st.just({}), banded())),
    )


@st.composite
def banded(draw: st.DrawFn) -> dict[str, Any]:
    """A model's own tiers, grades, levels and lifecycle (half the models keep the defaults)."""
    tiers = draw(bands(("hot", "warm", "cold")))
    grades = draw(bands(("A", "B", "C", "D")))
    levels = draw(bands(("1", "2", "3", "4")))
    return {"tiers": tiers, "grades": grades, "levels": levels, "lifecycle": draw(lifecycles(tiers, grades))}


def _times(first_day: int, last_day: int) -> st.SearchStrategy[datetime]:
    """Whole days drawn evenly, plus a time of day that is often midnight or a quarter day (ties, boundaries)."""
    time_of_day = st.one_of(
        st.just(0), st.sampled_from([US_PER_DAY // 4, US_PER_DAY // 2]), st.integers(0, US_PER_DAY - 1)
    )
    return st.builds(
        lambda day, us: T0 + timedelta(days=day, microseconds=us), st.integers(first_day, last_day), time_of_day
    )


#: When events happen: within SPAN_DAYS from T0.
moments = _times(0, SPAN_DAYS)
#: Times to score at: from a day before any event can happen to two days after the last one can.
as_of_moments = _times(-1, SPAN_DAYS + 2)
#: How much later to score again: a microsecond to 90 days.
durations = st.one_of(
    st.builds(lambda day, us: day * US_PER_DAY + us, st.integers(0, 90), st.integers(1, US_PER_DAY)),
    st.sampled_from([1, US_PER_DAY]),
)


@st.composite
def events(draw: st.DrawFn, event_id: str) -> Event:
    properties: dict[str, Any] = {"n": draw(st.integers(0, 10))}
    value = draw(st.sampled_from([*VALUES, None]))
    if value is not None:
        properties["k"] = value
    return Event(event_id, "L", draw(st.sampled_from(EVENT_TYPES)), draw(moments), properties)


@dataclass(frozen=True)
class Stream:
    """Distinct events, the same plus re-sent copies in two arrival orders, and times to score at."""

    distinct: list[Event]
    arrival: list[Event]
    other_arrival: list[Event]
    as_ofs: list[datetime]


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    distinct = [draw(events(f"ev{i}")) for i in range(draw(st.integers(0, 30)))]
    resent = draw(st.lists(st.sampled_from(distinct), max_size=8)) if distinct else []
    arrival = draw(st.permutations([*distinct, *resent]))
    other_arrival = draw(st.permutations(arrival))
    # Some times to score at fall just at, before or after an event, where ages cross their boundaries.
    near_events = st.builds(
        lambda event, offset: event.occurred_at + timedelta(microseconds=offset),
        st.sampled_from(distinct or [Event("none", "L", "junk", T0)]),
        st.sampled_from([0, 1, -1, US_PER_DAY // 4, US_PER_DAY // 2, US_PER_DAY - 1, US_PER_DAY, 7 * US_PER_DAY]),
    )
    as_ofs = draw(st.lists(st.one_of(as_of_moments, near_events), min_size=1, max_size=4))
    return Stream(distinct, arrival, other_arrival, as_ofs)


leads = st.builds(
    Lead,
    id=st.just("L"),
    fields=st.fixed_dictionaries({"x": st.sampled_from(VALUES)}),
    created_at=st.one_of(st.none(), moments),
)


@PROPERTIES
@given(model=models(), lead=leads, stream=streams())
def test_folding_in_any_order_equals_scoring_everything(model: ScoringModel, lead: Lead, stream: Stream) -> None:
    compiled = compile_model(model)
    state = LeadState(compiled, lead)
    for event in stream.arrival:
        state.fold(event)
    for as_of in stream.as_ofs:
        assert state.score(as_of) == score(compiled, lead, stream.other_arrival, as_of)
        assert state.score(as_of) == score(compiled, lead, stream.distinct, as_of)


@PROPERTIES
@given(model=models(), lead=leads, stream=streams())
def test_inactivity_since_any_event_counts_from_the_last_event_of_any_type(
    model: ScoringModel, lead: Lead, stream: Stream
) -> None:
    # The oracle reads the stream itself, not the rules: "junk" events, which no rule matches, count too.
    inactivity = Inactivity(
        every_days=model.inactivity.every_days if model.inactivity else 3, points=-2, since="any_event"
    )
    model = model.model_copy(update={"inactivity": inactivity})
    compiled = compile_model(model)
    every = round(inactivity.every_days * US_PER_DAY)
    for as_of in stream.as_ofs:
        at_us = to_micros(as_of)
        past = [to_micros(e.occurred_at) for e in stream.distinct if to_micros(e.occurred_at) <= at_us]
        since = max(past) if past else (min(to_micros(lead.created_at), at_us) if lead.created_at else None)
        periods = (at_us - since) // every if since is not None else 0
        lines = [c for c in score(compiled, lead, stream.arrival, as_of).contributions if c.kind == "inactivity"]
        assert [line.count for line in lines] == ([periods] if periods > 0 else [])
        assert all(c.rule != "inactivity.since" for c in score(compiled, lead, stream.arrival, as_of).contributions)


@PROPERTIES
@given(model=models(), lead=leads, stream=streams(), data=st.data())
def test_scoring_between_folds_equals_scoring_everything_so_far(
    model: ScoringModel, lead: Lead, stream: Stream, data: st.DataObject
) -> None:
    # Reads between folds, often at the same as_of, must never reuse anything a fold or a lead update made stale.
    compiled = compile_model(model)
    state = LeadState(compiled, lead)
    current = lead
    for count, event in enumerate(stream.arrival, start=1):
        state.fold(event)
        if data.draw(st.integers(0, 9)) == 0:
            current = Lead(id="L", fields={"x": data.draw(st.sampled_from(VALUES))}, created_at=lead.created_at)
            state.update_lead(current)
        as_of = data.draw(st.sampled_from(stream.as_ofs))
        assert state.score(as_of) == score(compiled, current, stream.arrival[:count], as_of)


@PROPERTIES
@given(model=models(), lead=leads, data=st.data())
def test_every_path_agrees_when_ids_collide_with_different_content(
    model: ScoringModel, lead: Lead, data: st.DataObject
) -> None:
    # Ids drawn from a small pool: the same id may come with another type, time or properties.
    arrival = data.draw(st.lists(st.sampled_from(["a", "b", "c", "d"]).flatmap(events), max_size=20))
    as_of = data.draw(as_of_moments)
    compiled = compile_model(model)
    state = LeadState(compiled, lead)
    for event in arrival:
        state.fold(event)
    rows = [(e.id, e.type, to_micros(e.occurred_at), json.dumps(dict(e.properties))) for e in arrival]
    from_rows = assemble(compiled, lead, occurrences_from_rows(compiled, rows), to_micros(as_of), as_of)
    assert state.score(as_of) == score(compiled, lead, arrival, as_of) == from_rows


@PROPERTIES
@given(model=models(), stream=streams())
def test_stored_rows_give_the_same_occurrences_as_events(model: ScoringModel, stream: Stream) -> None:
    compiled = compile_model(model)
    rows = [
        (e.id, e.type, to_micros(e.occurred_at), json.dumps(dict(e.properties)) if i % 2 else e.properties)
        for i, e in enumerate(stream.arrival)
    ]
    assert occurrences_from_rows(compiled, rows) == occurrences_of(compiled, stream.arrival)


def _cents(value: float) -> Decimal:
    """A limit or cap written in cents, as the exact Decimal it stands for."""
    return Decimal(str(value))


@PROPERTIES
@given(model=models(), lead=leads, stream=streams())
def test_caps_and_limits_are_never_exceeded(model: ScoringModel, lead: Lead, stream: Stream) -> None:
    # Precondition: caps and limits are whole cents (points are rounded to cents after capping, so a
    # cap of 10.005 can give 10.01). The strategies above only write whole cents.
    rules = {rule.name: rule for rule in model.engagement}
    for as_of in stream.as_ofs:
        result = score(model, lead, stream.arrival, as_of)
        for c in result.contributions:
            if c.kind == "engagement":
                rule = rules[c.rule]
                assert c.points * Decimal(rule.points) >= 0, "a rule's points never change sign"
                if rule.max_points is not None:
                    assert abs(c.points) <= _cents(rule.max_points)
            if c.kind == "inactivity" and model.inactivity and model.inactivity.floor is not None:
                assert c.points >= _cents(model.inactivity.floor)
        for value, limit in (
            (result.fit, model.limits.fit),
            (result.engagement, model.limits.engagement),
            (result.total, model.limits.total),
        ):
            assert limit.min is None or value >= _cents(limit.min)
            assert limit.max is None or value <= _cents(limit.max)


@PROPERTIES
@given(
    model=models(sign="steady_negatives"),
    lead=leads,
    stream=streams(),
    later=st.lists(durations, min_size=1, max_size=6),
)
def test_time_passing_never_raises_the_score(model: ScoringModel, lead: Lead, stream: Stream, later: list[int]) -> None:
    # Precondition: a negative rule neither decays nor leaves a window. A negative rule that decays, or
    # whose events leave the window, loses its (negative) points as time passes and the score rises;
    # see test_a_decaying_negative_rule_raises_the_score_as_time_passes. Positive rules, once, limits,
    # caps, rounding, the inactivity penalty and limits all keep the score from rising.
    compiled = compile_model(model)
    first = stream.as_ofs[0]
    times = [first, *sorted(first + timedelta(microseconds=us) for us in later)]
    # No new events from the first time to the last (events after the last are ignored anyway).
    kept = [e for e in stream.arrival if not first < e.occurred_at <= times[-1]]
    scores = [score(compiled, lead, kept, as_of) for as_of in times]
    for before, after in itertools.pairwise(scores):
        assert after.engagement <= before.engagement
        assert after.total <= before.total
        assert after.fit == before.fit
        # Rule by rule too, so that one rule rising cannot hide behind others decaying.
        earlier = {c.rule: c.points for c in before.contributions if c.kind in ("engagement", "inactivity")}
        for c in after.contributions:
            if c.kind in ("engagement", "inactivity"):
                assert c.points <= earlier.get(c.rule, Decimal(0)), c.rule


@st.composite
def two_ages(draw: st.DrawFn, decay: Decay) -> tuple[int, int]:
    """Two ages in microseconds, the second one older, often at or next to a multiple of the decay's period."""
    if isinstance(decay, ExponentialDecay):
        period = round(decay.half_life_days * US_PER_DAY)
    elif isinstance(decay, LinearDecay):
        period = round(decay.every_days * US_PER_DAY)
    else:
        period = US_PER_DAY
    near = st.builds(
        lambda steps, nudge: max(0, steps * period + nudge),
        st.integers(0, 5),
        st.sampled_from([-1, 0, 1, period // 2]),
    )
    age = st.one_of(st.integers(0, SPAN_DAYS * US_PER_DAY), near)
    young, old = sorted(draw(st.lists(age, min_size=2, max_size=2, unique=True)))
    return young, old


@PROPERTIES
@given(decay=decays, window=st.sampled_from([None, 0.5, 3, 10, 40]), points=nonzero_points, data=st.data())
def test_an_occurrence_never_gains_points_with_age(
    decay: Decay, window: float | None, points: float, data: st.DataObject
) -> None:
    # The same invariant one occurrence at a time, where nothing else can hide a rise: the magnitude of its
    # points only shrinks with age, whatever the sign (a negative rule's points shrink towards zero).
    model = ScoringModel(
        name="m", decay=decay, window_days=window, engagement=[EngagementRule(name="r", event="x", points=points)]
    )
    young_age, old_age = data.draw(two_ages(decay))
    event = [Event("e", "L", "x", T0)]
    young = score(model, Lead(id="L"), event, T0 + timedelta(microseconds=young_age)).engagement
    old = score(model, Lead(id="L"), event, T0 + timedelta(microseconds=old_age)).engagement
    assert abs(old) <= abs(young) <= abs(Decimal(str(points))).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert old * young >= 0  # never changes sign


@PROPERTIES
@given(model=models(), lead=leads, stream=streams(), data=st.data())
def test_resending_an_event_changes_nothing(
    model: ScoringModel, lead: Lead, stream: Stream, data: st.DataObject
) -> None:
    if not stream.distinct:
        return
    resent = data.draw(st.sampled_from(stream.distinct))
    position = data.draw(st.integers(0, len(stream.arrival)))
    again = [*stream.arrival[:position], resent, *stream.arrival[position:]]
    compiled = compile_model(model)
    state = LeadState(compiled, lead)
    for event in stream.arrival:
        state.fold(event)
    before = [state.score(as_of) for as_of in stream.as_ofs]
    assert state.fold(resent) is False
    assert [state.score(as_of) for as_of in stream.as_ofs] == before
    assert [score(compiled, lead, again, as_of) for as_of in stream.as_ofs] == before


@PROPERTIES
@given(model=models(), lead=leads, stream=streams())
def test_contributions_add_up_exactly(model: ScoringModel, lead: Lead, stream: Stream) -> None:
    for as_of in stream.as_ofs:
        result: Score = score(model, lead, stream.arrival, as_of)
        assert_adds_up(result)
        assert result.tier == model.tiers.place(float(result.total))
        assert result.grade == model.grades.place(float(result.fit))
        assert result.level == model.levels.place(float(result.engagement))


def test_a_decaying_negative_rule_raises_the_score_as_time_passes() -> None:
    # Why the precondition above is needed: the same model with a decaying negative rule.
    model = ScoringModel(
        name="m",
        decay=ExponentialDecay(kind="exponential", half_life_days=1),
        engagement=[EngagementRule(name="unsubscribe", event="visit", points=-8)],
    )
    lead = Lead(id="L")
    stream = [Event("u", "L", "visit", T0)]
    # -8 at age 0, -8 x 0.5**3 = -1 at age 3: the score went up with no new event.
    assert score(model, lead, stream, T0).engagement == Decimal(-8)
    assert score(model, lead, stream, T0 + timedelta(days=3)).engagement == Decimal(-1)
    windowed = model.model_copy(update={"decay": NoDecay(kind="none"), "window_days": 2})
    assert score(windowed, lead, stream, T0 + timedelta(days=3)).engagement == Decimal(0)


@PROPERTIES
@given(model=models(), lead=leads, stream=streams())
def test_the_batch_encoding_is_the_reference_score_encoded(model: ScoringModel, lead: Lead, stream: Stream) -> None:
    # Rescoring and scoring on ingest write a score straight from hundredths, never making a Score;
    # what they write must be, field for field, the reference engine's Score encoded from its Decimals.
    compiled = compile_model(model)
    rows = [(e.id, e.type, to_micros(e.occurred_at), json.dumps(dict(e.properties))) for e in stream.arrival]
    occurrences = occurrences_from_rows(compiled, rows)
    for as_of in stream.as_ofs:
        as_of_us = to_micros(as_of)
        batch = encode_cents(compiled.key, 7, as_of_us, assemble_cents(compiled, lead, occurrences, as_of_us))
        assert batch == encode_score(7, score(compiled, lead, stream.distinct, as_of))
