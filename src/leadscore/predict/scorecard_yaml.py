"""A scorecard written as a model file that the engine runs as it is, with a comment on every rule saying
where its points come from.

The text is written line by line rather than dumped, so that the comments sit beside what they explain.
Text is written plain when YAML reads it back as the same text (``Lead Add Form``), else in JSON form, a
YAML subset (``"yes"``, ``"1"``, ``"Thane & Outskirts"``), so that it stays text.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from leadscore.predict.scorecard import Scorecard, ScorecardRule, Threshold

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/ ]*[A-Za-z0-9_]|[A-Za-z]")


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        return text if "e" not in text else f"{value:.15f}".rstrip("0")
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to a model file")


def _text(value: str) -> str:
    """Plain when YAML reads it back as the same text (``Mumbai``, ``Lead Add Form``), else quoted (``"yes"``)."""
    if _PLAIN.fullmatch(value):
        try:
            if yaml.safe_load(f"[{value}]") == [value]:
                return value
        except yaml.YAMLError:
            pass
    # JSON leaves C1 controls and DEL as they are, which YAML reads as other text or refuses: escape them.
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))


def _rate(converted: int, rows: int) -> str:
    return f"{converted / rows:.1%}" if rows else "-"


def _odds(card: Scorecard, total: float) -> str:
    odds = 2 ** ((total - card.even_odds_at) / card.points_to_double)
    return f"{odds / (1 + odds):.0%}"


def _header(card: Scorecard) -> list[str]:
    pdo, even = _value(card.points_to_double), _value(card.even_odds_at)
    overall = _rate(card.positives, card.rows)
    low, high = card.even_odds_at - card.points_to_double, card.even_odds_at + card.points_to_double
    auc = f"{card.training_auc:.3f}" if card.training_auc is not None else "undefined"
    return [
        f"# Suggested by `leadscore suggest` from {card.rows:,} training rows ({card.positives:,} converted, "
        f"{overall}).",
        "#",
        f"# Every {pdo} points double the odds of converting, and a total of {even} is even odds (a 50% chance):",
        f"# {_value(low)} is {_odds(card, low)}, {even} is 50%, {_value(high)} is {_odds(card, high)}. "
        "The `base` rule, which every lead matches,",
        "# carries the odds of a lead in no other rule's bin.",
        "#",
        "# Each rule's comment gives the training rows it matches (for an event count: those who reached its cap),",
        f"# their conversion rate against {overall} overall, and the logistic regression coefficient (log-odds)",
        f"# behind the points: coefficient * {pdo} / ln 2, rounded together with the other rules' (a rule can sit",
        "# a point off its own rounding where correlated rules trade off). A field's largest bin has no rule;",
        "# the other bins' points compare with it. Rules whose points round to 0 are left out.",
        "#",
        f"# Training AUC {auc} on the rows it was fitted on (expect less on new leads). Regularisation C = "
        f"{card.regularisation:g},",
        f"# chosen by cross-validation; a bin or a count cap needs {card.min_support:,} rows.",
        *_selection_lines(card),
    ]


def _selection_lines(card: Scorecard) -> list[str]:
    chosen = card.selection
    if chosen is None or chosen.strength is None:
        return []
    return [
        f"# The rules were picked from {chosen.candidates:,} candidate bins and counts by an L1 penalty (the lasso,",
        f"# C = {chosen.strength:g}, chosen by cross-validation), which kept {len(chosen.kept):,} of them.",
    ]


def _fit_lines(card: Scorecard) -> list[str]:
    lines = [
        "fit:",
        "  - name: base",
        '    description: "Every lead: the odds of a lead in no other rule\'s bin."',
        f"    points: {card.base}",
        "    when: {all: []}",
    ]
    group = None
    for rule in card.rules:
        candidate = rule.candidate
        if candidate.is_count or candidate.when is None:
            continue
        if candidate.group != group:
            group = candidate.group
            label, rows, converted = card.references.get(group, ("", 0, 0))
            against = f" (0 points: {label}, {rows:,} rows, {_rate(converted, rows)} converted)" if rows else ""
            lines.append(f"  # {group}{against}")
        lines += [
            f"  - name: {candidate.name}",
            f"    points: {rule.points}  # {_evidence(card, rule)}",
            f"    when: {_value(candidate.when)}",
        ]
    return lines


def _evidence(card: Scorecard, rule: ScorecardRule) -> str:
    reached = f"{rule.rows:,} rows" if rule.candidate.cap in (None, 1) else f"{rule.rows:,} rows reached the cap"
    per = " per event" if rule.candidate.is_count else ""
    return (
        f"{reached}, {_rate(rule.converted, rule.rows)} converted vs {_rate(card.positives, card.rows)} overall; "
        f"coefficient {rule.coefficient:.3f}{per}"
    )


def _curve(rules: list[ScorecardRule]) -> str:
    """Points against the count, at each cap: the rules of one event type and window add up."""
    caps = sorted({r.candidate.cap or 1 for r in rules})
    parts = []
    for count in caps:
        points = sum(r.points * min(count, r.candidate.cap or 1) for r in rules)
        parts.append(f"{count} -> {points:+d}")
    return ", ".join(parts) + f" points (no more after {caps[-1]})"


def _counted(cap: int) -> str:
    return "one event counts, however many" if cap == 1 else f"at most {cap} events count"


def _engagement_lines(card: Scorecard) -> list[str]:
    counts = [r for r in card.rules if r.candidate.is_count]
    if not counts:
        return ["engagement: []"]
    lines = ["engagement:"]
    keys = list(dict.fromkeys((r.candidate.event, r.candidate.where, r.candidate.window_days) for r in counts))
    for event, where, window in keys:
        rules = [
            r
            for r in counts
            if (r.candidate.event, r.candidate.where, r.candidate.window_days) == (event, where, window)
        ]
        what = event if where is None else f"{event} with {where[0]} {where[1]}"
        lines.append(f"  # {what} in the last {window} days: {_curve(rules)}")
        for rule in rules:
            candidate = rule.candidate
            cap = abs(rule.points) * (candidate.cap or 1)
            lines += [f"  - name: {candidate.name}", f"    event: {_value(event)}"]
            if where is not None:
                test = {"field": where[0], "equals": where[1], "case_sensitive": True}
                lines.append(f"    where: {_value(test)}")
            lines += [
                f"    points: {rule.points}  # {_evidence(card, rule)}",
                f"    max_points: {cap}  # {_counted(candidate.cap or 1)}",
                f"    window_days: {window}",
            ]
    return lines


def _inactivity_lines(card: Scorecard) -> list[str]:
    penalty = card.inactivity
    if penalty is None:
        return []
    floor = penalty.points * penalty.cap
    rates = f"{_rate(penalty.converted, penalty.rows)} converted vs {_rate(card.positives, card.rows)} overall"
    return [
        "",
        f"# Quiet leads: {penalty.points} points for every full {penalty.every_days} days since the lead's last event",
        f"# of any type (or since it was created), at most {penalty.cap} times.",
        f"# {penalty.rows:,} rows reached that floor, {rates}; coefficient {penalty.coefficient:.3f} per period.",
        f"inactivity: {{every_days: {penalty.every_days}, points: {penalty.points}, floor: {floor}, since: any_event}}",
    ]


def _bands(card: Scorecard) -> list[str]:
    pdo, even = card.points_to_double, card.even_odds_at
    mql, sql = card.mql, card.sql
    return [
        "# Tiers and stages on the training rows: the share of rows at or above each threshold at their snapshot,",
        "# and how many of those converted.",
        "tiers:",
        f"  - {{name: hot, min: {sql.points}}}  # top {sql.share:.1%}, {sql.precision:.1%} converted",
        f"  - {{name: warm, min: {mql.points}}}  # top {mql.share:.1%}, {mql.precision:.1%} converted",
        "  - {name: cold}",
        "# Fit grades read fit points (with the base) on the same odds scale; engagement levels say how far",
        f"# engagement moved the odds (every +{_value(pdo)} doubles them).",
        "grades:",
        f"  - {{name: A, min: {_value(even)}}}  # {_odds(card, even)} or better from who the lead is alone",
        f"  - {{name: B, min: {_value(even - pdo)}}}  # {_odds(card, even - pdo)} or better",
        f"  - {{name: C, min: {_value(even - 2 * pdo)}}}  # {_odds(card, even - 2 * pdo)} or better",
        "  - {name: D}",
        "levels:",
        f'  - {{name: "1", min: {_value(2 * pdo)}}}  # engagement at least quadrupled the odds',
        f'  - {{name: "2", min: {_value(pdo)}}}  # at least doubled them',
        '  - {name: "3", min: 1}  # raised them',
        '  - {name: "4"}',
        "lifecycle:",
        "  stages:",
        "    - name: lead",
        "    - name: mql" + _reached(mql),
        f"      when: {{field: total, gte: {mql.points}}}",
        "    - name: sql" + _reached(sql),
        f"      when: {{field: total, gte: {sql.points}}}",
    ]


def _reached(threshold: Threshold) -> str:
    """What a stage's threshold was picked on, when it was picked on each lead's highest total."""
    words = threshold.reached_words
    return f"  # {words}" if words else ""


def to_yaml(card: Scorecard) -> str:
    """The model file: header comments, fit rules, engagement rules, then tiers, grades, levels and stages."""
    description = (
        f"Points learned from {card.rows:,} training rows: every {_value(card.points_to_double)} points double "
        f"the odds of converting; {_value(card.even_odds_at)} is even odds."
    )
    lines = [
        *_header(card),
        f"name: {_value(card.name)}",
        "version: 1",
        f"description: {_value(description)}",
        "decay: {kind: none}  # counts are over fixed windows, undecayed, as the fit saw them",
        "",
        *_fit_lines(card),
        "",
        *_engagement_lines(card),
        *_inactivity_lines(card),
        "",
        *_bands(card),
    ]
    return "\n".join(lines) + "\n"
