"""Webhooks on each backend: deliveries written with the score change, signed, retried, dead-lettered."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from receiver import Receiver

from leadscore.engine.types import to_micros
from leadscore.service import webhooks
from leadscore.service.live import LiveService
from leadscore.service.project import Project
from leadscore.store.protocol import Store
from leadscore.store.url import open_store

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
LEAD = {
    "id": "L1",
    "email": "cto@acme.io",
    "title": "CTO",
    "industry": "software",
    "company_size": 120,
    "country": "US",
}


def _demo(event_id: str) -> dict[str, object]:
    at = (NOW - timedelta(hours=1)).isoformat()
    return {"id": event_id, "lead_id": "L1", "type": "form_submit", "occurred_at": at, "form": "demo"}


@pytest.fixture
def live(project: Project) -> Iterator[LiveService]:
    service = LiveService(open_store(project.database, base=project.root), project.models)
    yield service
    service.store.close()


def _deliver_all(store: Store) -> None:
    while webhooks.deliver_due(store, random.Random(1)):
        pass


def test_a_lead_turning_hot_is_delivered_signed_once(live: LiveService) -> None:
    with Receiver() as receiver:
        sub = webhooks.subscribe(live.store, receiver.url, ["tier_changed", "stage_changed"], None, to_micros(NOW))
        live.upsert_leads([LEAD], NOW)  # a first score: from nothing to warm
        live.ingest_events([_demo("d1")], NOW)  # warm to hot, lead to sql
        live.ingest_events([_demo("d1")], NOW)  # re-sent: no change, no delivery
        _deliver_all(live.store)
        what = {"tier_changed": "tier", "stage_changed": "stage"}
        events = [
            (p["event"], p["from"] and p["from"][what[p["event"]]], p["to"][what[p["event"]]])
            for p in receiver.payloads()
        ]
        assert events == [
            ("tier_changed", None, "warm"),
            ("stage_changed", None, "mql"),
            ("tier_changed", "warm", "hot"),
            ("stage_changed", "mql", "sql"),
        ]
        for headers, body in receiver.received:
            assert headers["x-leadscore-event"] in ("tier_changed", "stage_changed")
            assert webhooks.verify(
                sub.secret, headers["x-leadscore-timestamp"], body, headers["x-leadscore-signature"], time.time()
            )
            assert not webhooks.verify("whsec_other", headers["x-leadscore-timestamp"], body,
                                       headers["x-leadscore-signature"], time.time())  # fmt: skip
        ids = [h["x-leadscore-delivery"] for h, _ in receiver.received]
        assert len(set(ids)) == len(ids) == 4
        assert all(p["lead"]["id"] == "L1" and p["cause"] for p in receiver.payloads())
    assert live.store.outbox_counts() == {"pending": 0, "delivered": 4, "dead": 0}


def test_a_rolled_back_write_owes_no_delivery(live: LiveService) -> None:
    webhooks.subscribe(live.store, "http://127.0.0.1:9/hook", ["score_changed"], 1, to_micros(NOW))
    with pytest.raises(RuntimeError), live.store.transaction():
        live.upsert_leads([LEAD], NOW)
        assert live.store.outbox_counts()["pending"] == 1
        raise RuntimeError("the request failed after scoring")
    assert live.store.outbox_counts() == {"pending": 0, "delivered": 0, "dead": 0}


def test_min_delta_filters_score_changes(live: LiveService) -> None:
    with Receiver() as receiver:
        webhooks.subscribe(live.store, receiver.url, ["score_changed"], 40, to_micros(NOW))
        live.upsert_leads([LEAD], NOW)  # +35: under 40
        live.ingest_events([_demo("d1")], NOW)  # +44.96
        _deliver_all(live.store)
        [payload] = receiver.payloads()
        assert payload["delta"] >= 40


def test_failures_are_retried_with_backoff_then_dead_lettered(
    live: LiveService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "FIRST_RETRY_S", 0.01)
    with Receiver(fail_first=2) as receiver:
        sub = webhooks.subscribe(live.store, receiver.url, ["tier_changed"], None, to_micros(NOW))
        live.upsert_leads([LEAD], NOW)
        deadline = time.monotonic() + 10
        while live.store.outbox_counts()["delivered"] == 0 and time.monotonic() < deadline:
            _deliver_all(live.store)
            time.sleep(0.01)
        [log] = live.store.deliveries(sub.id)
        assert (log["status"], log["attempts"]) == ("delivered", 3)
        assert [a["status_code"] for a in log["attempt_log"]] == [500, 500, 204]
        assert len({h["x-leadscore-delivery"] for h, _ in receiver.received}) == 1  # one id, three tries
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 2)
    dead = webhooks.subscribe(live.store, "http://127.0.0.1:9/hook", ["score_changed"], None, to_micros(NOW))
    live.ingest_events([_demo("d1")], NOW)
    deadline = time.monotonic() + 10
    # Wait on this subscription's own delivery: the first one's tier_changed, sent to the receiver that
    # is now closed, fails and dies too, and may die first.
    while [d["status"] for d in live.store.deliveries(dead.id)] != ["dead"] and time.monotonic() < deadline:
        _deliver_all(live.store)
        time.sleep(0.01)
    [log] = live.store.deliveries(dead.id)
    assert (log["status"], log["attempts"]) == ("dead", 2)
    assert log["last_error"]


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    waits = [webhooks.backoff_s(n, rng) for n in range(1, 16)]
    assert all(0.5 * min(3600, 2 ** (n - 1)) <= w <= min(3600, 2 ** (n - 1)) for n, w in enumerate(waits, 1))


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("ftp://x/y", ["tier_changed"], "http:// or https://"),
        ("http://x/y", ["nope"], "expected events"),
        ("http://x/y", [], "expected events"),
    ],
)
def test_bad_subscriptions_are_refused(live: LiveService, url: str, events: list[str], message: str) -> None:
    with pytest.raises(webhooks.WebhookError, match=message):
        webhooks.subscribe(live.store, url, events, None, 0)
