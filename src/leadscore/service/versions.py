"""Model versions: upload, dry run, activation with a full rescore, rollback, and the versions a process
scores with.

A model's name is one line of scoring (one per product, say) and ``name@version`` one version of it. The
store keeps every version, uploaded or registered from the project's files, and an append-only log of
activations: each name scores with its latest activated version. The project's files seed that log: a
name with no activation is activated at its file's version the first time a process opens the store. From
then on only an activation (``POST /v1/models/{key}/activate``, ``leadscore models activate``) changes
what scores, and a file whose version is not the active one is reported, not used.

Activation holds the store's model lock (``Store.lock_models``) exclusively while it rescores everyone, and
every scoring write holds it shared, so no write scores with a version that is no longer active.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.types import from_micros, to_micros
from leadscore.model.loader import loads_model
from leadscore.service.project import LoadedModel
from leadscore.service.rescore import RANGE, roll_up_all, score_range
from leadscore.service.webhooks import enqueue, enqueue_notice, score_state
from leadscore.store.protocol import ScoreChange, Store

log = logging.getLogger("leadscore.models")

SAMPLE = 20  # leads shown by a dry run, by default


class VersionError(ValueError):
    """A version that cannot be used as asked; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Change:
    """A lead whose tier or stage a version changes: what a dry run samples."""

    lead_id: str
    email: str | None
    before: dict[str, object] | None
    after: dict[str, object]


@dataclass
class Comparison:
    """A version's scores against the active version's stored ones, lead by lead."""

    model: str
    against: str | None
    as_of: str
    leads: int = 0
    events: int = 0
    tier_changes: int = 0
    stage_changes: int = 0
    score_changes: int = 0
    raised: int = 0
    lowered: int = 0
    tiers: dict[str, int] = field(default_factory=dict)  # "warm -> hot": count
    stages: dict[str, int] = field(default_factory=dict)
    sample: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Activation:
    model: str
    previous: str | None
    cause: str
    activated_at: str
    comparison: Comparison
    webhooks: int = 0


_compiled: dict[str, LoadedModel] = {}


def compile_version(key: str, source: str) -> LoadedModel:
    """A stored version, compiled once per process (keyed by its content, which a key can change in dev)."""
    digest = hashlib.sha256(source.encode()).hexdigest()
    cached = _compiled.get(digest)
    if cached is None:
        model = loads_model(source, key)
        cached = LoadedModel(Path(key), source, model, CompiledModel(model))
        if len(_compiled) > 64:
            _compiled.clear()
        _compiled[digest] = cached
    return cached


def scoring_versions(store: Store, project_models: Sequence[LoadedModel] = ()) -> list[LoadedModel]:
    """The versions that score: each name's active version first, then, when the project lists that active
    version, the other versions of the name it lists (challengers, scored side by side for comparison).

    Names appear in the project's order, then the names added through the API or CLI. A name the project
    seeded stops scoring when the project no longer lists it."""
    active = store.active_models()
    listed = {m.model.key for m in project_models}
    in_project = [m.model.name for m in project_models if m.model.name in active]
    first_cause: dict[str, str] = {}
    for row in store.model_activations():
        first_cause.setdefault(row["name"], row["cause"])
    added = [name for name in active if name not in in_project and first_cause[name] != "project"]
    out: dict[str, LoadedModel] = {}
    names = list(dict.fromkeys(in_project + added))
    for name in names:
        current = active[name]
        project_copy = next((m for m in project_models if m.model.key == current), None)
        out[current] = project_copy or _version(store, current)
        if current in listed:
            for m in project_models:
                if m.model.name == name:
                    out.setdefault(m.model.key, m)
    return list(out.values())


def resolve(store: Store, project_models: Sequence[LoadedModel], now_us: int) -> list[LoadedModel]:
    """Registers the project's files, activates the first listed version of each name that has no active
    version, and returns ``scoring_versions``. A file whose name has another active version is logged.

    When every file is already stored as it is and every name is active, there is nothing to write, and
    no write transaction is taken: ``leadscore top`` or ``explain`` then reads while a long load holds
    the writer's lock, as WAL allows, instead of waiting for it and failing."""
    active = store.active_models()
    if not _settled(store, project_models, active):
        with store.transaction():
            store.lock_models(exclusive=True)
            active = store.active_models()
            for loaded in project_models:
                model = loaded.model
                store.register_model(model.key, model.name, str(model.version), loaded.source, now_us)
                if model.name not in active:
                    summary = orjson.dumps({"seeded_from": str(loaded.path)}).decode()
                    store.record_activation(model.name, model.key, None, now_us, "project", summary)
                    active[model.name] = model.key
    listed = {m.model.key for m in project_models}
    for loaded in project_models:
        current = active[loaded.model.name]
        if current not in listed:
            log.warning(
                "%s is active; the project's file %s holds %s, which is stored but does not score "
                "(activate it with 'leadscore models activate %s')",
                current,
                loaded.path,
                loaded.model.key,
                loaded.model.key,
            )
    return scoring_versions(store, project_models)


def _settled(store: Store, project_models: Sequence[LoadedModel], active: dict[str, str]) -> bool:
    """Every project file stored with its current source, and every name with an active version."""
    for loaded in project_models:
        stored = store.model_source(loaded.model.key)
        if loaded.model.name not in active or stored is None or stored[2] != loaded.source:
            return False
    return True


def upload(store: Store, source: str, now_us: int, file: str = "<upload>") -> tuple[dict[str, Any], bool]:
    """Validates and stores a version (not active yet). Returns its description and whether it is new; the
    same content sent again is not new, other content under a stored ``name@version`` is refused."""
    model = loads_model(source, file)  # a ModelError lists every problem with its line and field
    digest = hashlib.sha256(source.encode()).hexdigest()
    with store.transaction():
        existed = store.model_source(model.key) is not None
        stored = store.insert_model(model.key, model.name, str(model.version), source, now_us)
    if stored != digest:
        raise VersionError(f"{model.key} is already stored with other content: give this model a new version")
    return {"key": model.key, "name": model.name, "version": str(model.version), "sha256": digest}, not existed


def _version(store: Store, key: str) -> LoadedModel:
    stored = store.model_source(key)
    if stored is None:
        raise VersionError(f"no stored model version {key!r}", status=404)
    return compile_version(key, stored[2])


def dry_run(store: Store, key: str, as_of: datetime, sample: int = SAMPLE) -> Comparison:
    """What activating ``key`` would change, written nowhere: every lead scored at ``as_of`` by ``key`` and by
    the active version, so the differences are the model's alone (not decay since the last write)."""
    loaded = _version(store, key)
    against = store.active_models().get(loaded.model.name)
    comparison = Comparison(key, against, _iso(to_micros(as_of)))
    baseline = _version(store, against) if against not in (None, key) else None
    _compare(store, loaded, as_of, {}, comparison, sample, write=None, baseline=baseline)
    return comparison


def activate(store: Store, key: str, now: datetime, cause: str = "activate") -> Activation:
    """Makes ``key`` its name's active version: rescores every lead with it at ``now``, in one transaction
    that also rolls up accounts, logs the activation and writes the webhooks it owes (tier and stage
    changes against the version it replaces, and one ``model_activated``)."""
    now_us = to_micros(now)
    with store.transaction():
        store.lock_models(exclusive=True)
        loaded = _version(store, key)
        name = loaded.model.name
        against = store.active_models().get(name)
        if against == key:
            raise VersionError(f"{key} is already the active version of {name!r}")
        comparison = Comparison(key, against, _iso(now_us))
        previous = store.score_labels(against) if against else {}
        sent = _compare(store, loaded, now, previous, comparison, 0, write=f"model:{cause}:{key}")
        roll_up_all(store, [loaded], now)
        summary = comparison.as_dict()
        del summary["sample"]
        store.record_activation(name, key, against, now_us, cause, orjson.dumps(summary).decode())
        notice = {"model": key, "previous": against, "cause": cause, "summary": summary}
        sent += enqueue_notice(store, "model_activated", notice, now_us)
    return Activation(key, against, cause, _iso(now_us), comparison, sent)


def rollback(store: Store, name: str, now: datetime) -> Activation:
    """Activates the version that the current one replaced. Activations stack up and each rollback undoes
    one, so rolling back twice after v1, v2, v3 gives v1 (not v3 again)."""
    stack: list[str] = []
    for row in store.model_activations(name):
        if row["cause"] == "rollback" and len(stack) > 1:
            stack.pop()
        else:
            stack.append(row["model"])
    if not stack:
        raise VersionError(f"no model named {name!r} has been activated", status=404)
    if len(stack) < 2:
        raise VersionError(f"{name!r} has no earlier version to roll back to (active: {stack[-1]})")
    return activate(store, stack[-2], now, cause="rollback")


def history(store: Store) -> list[dict[str, Any]]:
    """Every model name with its active version, its stored versions and its activation log."""
    active = store.active_models()
    names: dict[str, dict[str, Any]] = {}
    for name in active:
        names[name] = {"name": name, "active": active[name], "versions": [], "activations": []}
    for row in store.stored_models():
        entry = names.setdefault(row["name"], {"name": row["name"], "active": None, "versions": [], "activations": []})
        entry["versions"].append({**row, "stored_at": _iso(row["stored_at"]), "active": row["key"] == entry["active"]})
    for row in store.model_activations():
        names[row["name"]]["activations"].append(
            {
                "model": row["model"],
                "previous": row["previous"],
                "activated_at": _iso(row["activated_at"]),
                "cause": row["cause"],
                "summary": orjson.loads(row["summary"]),
            }
        )
    return list(names.values())


def _compare(
    store: Store,
    loaded: LoadedModel,
    as_of: datetime,
    previous: dict[int, tuple[int, str, str]],
    out: Comparison,
    sample: int,
    write: str | None,
    baseline: LoadedModel | None = None,
) -> int:
    """Scores every lead with ``loaded`` range by range and counts what differs from ``previous`` (or from
    ``baseline``'s scores of the same leads at the same time); with ``write`` (the history's cause), also
    writes the scores and enqueues the webhooks the changes owe."""
    key = loaded.model.key
    compiled = [loaded.compiled] if baseline is None else [loaded.compiled, baseline.compiled]
    tiers: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    sent = 0
    low, high = store.seq_bounds()
    for start in range(low, high + 1, RANGE) if high else ():
        leads, events, rows = score_range(store, compiled, (start, min(start + RANGE, high + 1)), as_of)
        if baseline is not None:
            previous = {row[1]: (row[5], row[6], row[9]) for row in rows[baseline.model.key]}
        out.leads += leads
        out.events += events
        changes = []
        for row in rows[key]:
            seq, after = row[1], (row[5], row[6], row[9])
            before = previous.get(seq)
            if before == after:
                continue
            changes.append(ScoreChange(key, seq, before, after, write or "dry_run", row[2]))
            out.score_changes += before is None or before[0] != after[0]
            out.raised += before is not None and after[0] > before[0]
            out.lowered += before is not None and after[0] < before[0]
            if before is None or before[1] != after[1]:
                out.tier_changes += 1
                tiers[f"{before[1] if before else None} -> {after[1]}"] += 1
            if before is None or before[2] != after[2]:
                out.stage_changes += 1
                stages[f"{before[2] if before else None} -> {after[2]}"] += 1
        labelled = [c for c in changes if c.before is None or c.before[1:] != c.after[1:]]
        if len(out.sample) < sample and labelled:
            refs = store.lead_refs([c.lead_seq for c in labelled[: sample - len(out.sample)]])
            for c in labelled[: sample - len(out.sample)]:
                lead_id, email, _ = refs[c.lead_seq]
                out.sample.append(Change(lead_id, email, score_state(c.before), score_state(c.after) or {}))
        if write is not None:
            store.write_score_rows([(row, write) for row in rows[key]], to_micros(as_of))
            sent += enqueue(store, changes, to_micros(as_of))
    out.tiers = dict(sorted(tiers.items()))
    out.stages = dict(sorted(stages.items()))
    return sent


def _iso(us: int) -> str:
    return from_micros(us).isoformat().replace("+00:00", "Z")
