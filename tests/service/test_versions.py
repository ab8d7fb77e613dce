"""Model versions on each backend: a dry run and an activation agree with the reference engine, webhooks
are owed against the replaced version, rollbacks stack, and other processes switch at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import score
from leadscore.engine.types import to_micros
from leadscore.model.loader import ModelError, loads_model
from leadscore.sample import sample_events, sample_leads
from leadscore.service import versions, webhooks
from leadscore.service.ingest import ingest_events, ingest_leads
from leadscore.service.live import LiveService
from leadscore.service.project import LoadedModel, Project
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store
from leadscore.store.url import open_store

START = datetime(2026, 9, 1, tzinfo=UTC)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def _version(project: Project, number: int, vp_points: int) -> str:
    """The example model under another version, giving a VP ``vp_points`` instead of 12."""
    source = project.models[0].source
    changed = source.replace("\nversion: 1\n", f"\nversion: {number}\n").replace(
        "- name: vp\n    points: 12\n", f"- name: vp\n    points: {vp_points}\n"
    )
    assert changed.count(f"version: {number}") == 1 and f"points: {vp_points}" in changed
    return changed


def _load(store: Store, project: Project, leads: int = 150) -> list[LoadedModel]:
    models = versions.resolve(store, project.models, to_micros(START))
    scorer = Scorer(store, models)
    people = list(sample_leads(leads, 7, start=START, end=AS_OF))
    ingest_leads(store, scorer, people, as_of=AS_OF, now=AS_OF, source="t")
    events = sample_events(people, leads * 12, 7, start=START, end=AS_OF)
    ingest_events(store, scorer, events, as_of=AS_OF, now=AS_OF, source="t")
    return models


def _reference(store: Store, source: str, as_of: datetime) -> dict[int, tuple[int, str, str]]:
    """(total cents, tier, stage) per lead from the reference engine, over the stored leads and events."""
    compiled = CompiledModel(loads_model(source))
    low, high = store.seq_bounds()
    seqs = list(range(low, high + 1))
    leads = store.load_leads(seqs)
    events = store.load_events(seqs, {seq: lead.id for seq, lead in leads.items()})
    out = {}
    for seq, lead in leads.items():
        s = score(compiled, lead, events[seq], as_of)
        out[seq] = (int(s.total * 100), s.tier, s.stage)
    return out


def test_a_dry_run_counts_what_the_reference_engine_changes_and_writes_nothing(project: Project, store: Store) -> None:
    _load(store, project)
    v2 = _version(project, 2, 30)
    versions.upload(store, v2, to_micros(AS_OF))
    written = (store.count("scores"), store.count("score_history"), store.model_generation())

    result = versions.dry_run(store, "b2b_saas@2", AS_OF, sample=5)

    old, new = _reference(store, project.models[0].source, AS_OF), _reference(store, v2, AS_OF)
    tiers = Counter(f"{old[s][1]} -> {new[s][1]}" for s in old if old[s][1] != new[s][1])
    stages = Counter(f"{old[s][2]} -> {new[s][2]}" for s in old if old[s][2] != new[s][2])
    assert result.leads == len(old) == 150
    assert (result.against, result.tiers, result.stages) == ("b2b_saas@1", dict(tiers), dict(stages))
    assert result.tier_changes == sum(tiers.values()) > 0  # a VP worth 18 more moves someone
    assert result.raised == sum(new[s][0] > old[s][0] for s in old) and result.lowered == 0
    assert 0 < len(result.sample) <= 5
    for change in result.sample:
        seq = store.find_lead(change.lead_id)
        assert seq is not None and change.after["tier"] == new[seq][1] and change.before is not None
        assert change.before["tier"] == old[seq][1]
    assert (store.count("scores"), store.count("score_history"), store.model_generation()) == written


def test_activation_rescores_everyone_and_owes_webhooks_against_the_replaced_version(
    project: Project, store: Store
) -> None:
    _load(store, project)
    webhooks.subscribe(store, "http://127.0.0.1:9/hook", ["tier_changed", "model_activated"], None, 0)
    v2 = _version(project, 2, 30)
    versions.upload(store, v2, to_micros(AS_OF))
    stored_v1 = store.score_labels("b2b_saas@1")
    later = AS_OF + timedelta(days=3)

    done = versions.activate(store, "b2b_saas@2", later)

    expected = _reference(store, v2, later)
    assert store.score_labels("b2b_saas@2") == expected
    assert store.active_models() == {"b2b_saas": "b2b_saas@2"}
    moved = sum(expected[s][1] != stored_v1[s][1] for s in expected)
    assert moved > 0 and done.comparison.tier_changes == moved
    assert store.outbox_counts()["pending"] == done.webhooks == moved + 1
    [activation] = store.model_activations("b2b_saas")[1:]
    assert (activation["previous"], activation["cause"]) == ("b2b_saas@1", "activate")
    assert orjson.loads(activation["summary"])["leads"] == 150
    # The scoring set is the new version alone, and accounts were rolled up under it.
    assert [m.model.key for m in versions.scoring_versions(store, project.models)] == ["b2b_saas@2"]
    assert store.count("scores") == 300  # both versions' rows are kept; only @2 is written from now on

    back = versions.rollback(store, "b2b_saas", later + timedelta(days=1))
    assert (back.model, back.previous, back.cause) == ("b2b_saas@1", "b2b_saas@2", "rollback")
    assert store.score_labels("b2b_saas@1") == _reference(store, project.models[0].source, later + timedelta(days=1))


def test_rollbacks_stack_and_versions_are_immutable(project: Project, store: Store) -> None:
    versions.resolve(store, project.models, 0)
    for number in (2, 3):
        stored, created = versions.upload(store, _version(project, number, 10 * number), number)
        assert created and stored["key"] == f"b2b_saas@{number}"
        versions.activate(store, f"b2b_saas@{number}", AS_OF)
    assert versions.upload(store, _version(project, 3, 30), 9) == (stored, False)  # re-sent
    with pytest.raises(versions.VersionError, match="already stored with other content"):
        versions.upload(store, _version(project, 3, 31), 9)
    with pytest.raises(versions.VersionError, match="already the active version"):
        versions.activate(store, "b2b_saas@3", AS_OF)
    assert versions.rollback(store, "b2b_saas", AS_OF).model == "b2b_saas@2"
    assert versions.rollback(store, "b2b_saas", AS_OF).model == "b2b_saas@1"
    with pytest.raises(versions.VersionError, match="no earlier version"):
        versions.rollback(store, "b2b_saas", AS_OF)
    with pytest.raises(versions.VersionError) as missing:
        versions.activate(store, "b2b_saas@9", AS_OF)
    assert missing.value.status == 404
    with pytest.raises(ModelError) as invalid:
        versions.upload(store, "name: x\nfit:\n  - name: a\n    points: lots\n", 0)
    assert invalid.value.issues[0].line == 4


def test_another_process_scores_with_the_new_version_from_its_next_write(project: Project, store: Store) -> None:
    _load(store, project, leads=20)
    other = LiveService(open_store(project.database, base=project.root), project.models)
    try:
        lead = store.load_leads([store.seq_bounds()[0]])
        lead_id = next(iter(lead.values())).id
        other.ingest_events([_event("warm-1", lead_id)], AS_OF)  # its states are warm under @1
        v2 = _version(project, 2, 30)
        versions.upload(store, v2, 0)
        versions.activate(store, "b2b_saas@2", AS_OF)
        before_v1 = store.score_labels("b2b_saas@1")

        demo = {**_event("after-1", lead_id), "type": "form_submit", "form": "demo"}
        other.ingest_events([demo], AS_OF + timedelta(hours=1))

        seq = store.find_lead(lead_id)
        assert seq is not None
        assert store.score_labels("b2b_saas@1") == before_v1  # nothing more is written under @1
        new = {s.model: s for s in store.scores_for_lead(seq)}["b2b_saas@2"]
        assert new.as_of == to_micros(AS_OF + timedelta(hours=1))  # written by the other process's request
        reference = _reference(store, v2, AS_OF + timedelta(hours=1))[seq]
        assert (new.total_cents, new.tier, new.stage) == reference
        assert [m.model.key for m in other.current_models()] == ["b2b_saas@2"]
    finally:
        other.store.close()


def _event(event_id: str, lead_id: str) -> dict[str, object]:
    return {
        "id": event_id,
        "lead_id": lead_id,
        "type": "page_view",
        "occurred_at": AS_OF.isoformat(),
        "url": "/pricing",
    }


def test_a_project_listing_two_versions_scores_both_and_a_dropped_name_stops(project: Project, store: Store) -> None:
    versions.resolve(store, project.models, 0)
    assert store.active_models() == {"b2b_saas": "b2b_saas@1"}
    # A name added through the store scores even though no project file lists it.
    other = project.models[0].source.replace("name: b2b_saas", "name: other", 1)
    versions.upload(store, other, 0)
    versions.activate(store, "other@1", AS_OF)
    assert [m.model.key for m in versions.scoring_versions(store, project.models)] == ["b2b_saas@1", "other@1"]
    # A project name is seeded from its file; a project that no longer lists it stops scoring it.
    assert [m.model.key for m in versions.scoring_versions(store, [])] == ["other@1"]
