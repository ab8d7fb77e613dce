"""Predictive scores on every backend: trained from the store's outcomes, stored beside the rules scores,
and equal to what the artifact gives for the same features."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadscore.engine.types import to_micros
from leadscore.ingest.records import LeadRecord
from leadscore.predict.dataset import Snapshots, features_at, training_rows
from leadscore.predict.facets import discover
from leadscore.predict.train import from_rows, train
from leadscore.service.predictions import event_types, predict_all
from leadscore.service.project import Project
from leadscore.store.protocol import Store
from outcome_crm import OBSERVED_UNTIL, load_crm


def test_stored_predictions_are_replaced_not_appended(store: Store) -> None:
    with store.transaction():
        (seq,), _, _ = store.upsert_leads([LeadRecord("L1", "a@b.io", {})], now_us=1)
    with store.transaction():
        store.write_predictions([("predictive", seq, "v1", 0.25, '{"up": [], "down": []}', 10)], now_us=11)
    with store.transaction():
        store.write_predictions([("predictive", seq, "v2", 0.75, '{"up": [1], "down": []}', 20)], now_us=21)
    (found,) = store.predictions([seq])[seq]
    assert (found.version, found.probability, found.reasons, found.as_of) == ("v2", 0.75, {"up": [1], "down": []}, 20)
    assert store.predictions() == {seq: [found]}


def test_the_stored_score_is_the_artifacts_probability_for_the_leads_features(project: Project, store: Store) -> None:
    load_crm(store, project, leads=400)
    models = [m.compiled for m in project.models]
    facets = discover(store)
    assert facets.sums == (("page_view", "seconds"),)
    rows = list(training_rows(store, models, Snapshots((7,)), 90, OBSERVED_UNTIL, facets=facets))
    assert rows[0].account_id == "domain:co0.io" and rows[0].features["account.industry"] == "software"
    artifact = train(
        from_rows(rows), horizon_days=90, trained_at=OBSERVED_UNTIL, min_per_class=30, facets=facets.as_dict()
    )
    assert "events.page_view.seconds.sum.30d" in artifact.metadata["features"]
    assert artifact.metadata["metrics"]["test"]["auc"] > 0.7  # industry and demo requests drive conversion
    as_of = OBSERVED_UNTIL - timedelta(days=100)
    report = predict_all(store, artifact, models, as_of=as_of, now=OBSERVED_UNTIL)
    assert report.leads == 400 and report.missing_models == ()
    stored = store.predictions()
    sample = list(store.scan())[:25]
    expected = []
    for _seq, lead, events in sample:
        past = [e for e in events if e[2] <= to_micros(as_of)]
        created = to_micros(lead.created_at) if lead.created_at else None
        expected.append(features_at(lead, past, to_micros(as_of), created, models, event_types(artifact), facets))
    probabilities = artifact.predict(expected)
    for (seq, _, _), p in zip(sample, probabilities, strict=True):
        (found,) = stored[seq]
        assert found.probability == pytest.approx(float(p)) and found.version == artifact.version
        assert found.as_of == to_micros(as_of) and set(found.reasons) == {"probability", "up", "down"}
