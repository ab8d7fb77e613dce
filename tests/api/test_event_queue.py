"""The event queue: an acknowledgement waits only for the queue, scoring drains it, and reads wait for the
scoring of everything acknowledged before them (read-your-writes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from leadscore.api.app import create_app
from leadscore.engine.scoring import score
from leadscore.engine.types import from_micros
from leadscore.service.keys import create_key
from leadscore.service.live import LiveService
from leadscore.service.project import Project
from leadscore.store.url import open_store

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _event(event_id: str, lead: str, kind: str = "email_click") -> dict[str, Any]:
    return {"id": event_id, "lead_id": lead, "type": kind, "occurred_at": "2026-11-20T10:00:00Z"}


@pytest.fixture
def queued(project: Project) -> Iterator[LiveService]:
    """A service that acknowledges events and leaves their scoring to someone else, as the server does."""
    service = LiveService(open_store(project.database, base=project.root), project.models, score_inline=False)
    yield service
    service.store.close()


def test_an_acknowledged_event_is_queued_not_yet_stored_or_scored(queued: LiveService) -> None:
    outcome = queued.ingest_events([_event("e1", "L1"), _event("e2", "L1")], NOW)
    assert (outcome.accepted, outcome.duplicates) == (2, 0)
    store = queued.store
    bounds = store.queue_bounds()
    assert bounds is not None and bounds[1] - bounds[0] == 1
    assert store.count("events") == 0 and store.find_lead("L1") is None

    assert queued.drain() == 2
    assert store.queue_bounds() is None
    assert store.count("events") == 2
    seq = store.find_lead("L1")
    assert seq is not None
    [current] = store.scores_for_lead(seq)
    events = store.load_events([seq])[seq]
    lead = store.load_leads([seq])[seq]
    expected = score(queued.models[0].compiled, lead, events, from_micros(current.as_of))
    assert current.total_cents == int(expected.total * 100)
    assert queued.drain() == 0


def test_a_resent_event_is_a_duplicate_once_scored_and_counts_once_while_queued(queued: LiveService) -> None:
    store = queued.store
    queued.ingest_events([_event("a", "L1")], NOW)
    again = queued.ingest_events([_event("a", "L1"), _event("a", "L1")], NOW)  # still queued; repeated here
    assert (again.accepted, again.duplicates) == (1, 1)
    queued.drain()
    assert store.count("events") == 1
    seq = store.find_lead("L1")
    assert seq is not None
    assert len(store.score_history(seq)) == 1  # scored once, with the event once
    late = queued.ingest_events([_event("a", "L1")], NOW)
    assert (late.accepted, late.duplicates) == (0, 1)
    assert store.queue_bounds() is None


def test_a_read_waits_for_the_scorer_to_score_what_was_acknowledged_before_it(
    project: Project, queued: LiveService
) -> None:
    """The read's process never scores: it waits, and another service (the scorer) drains the queue."""
    token = create_key(queued.store, "tests", ["ingest", "read"], NOW)
    headers = {"Authorization": f"Bearer {token}"}
    queued.catch_up_s = 60.0

    def refuse(limit: int = 0) -> int:
        raise AssertionError("the reading process scored the queue itself")

    queued.drain = refuse  # type: ignore[method-assign]
    scorer = LiveService(open_store(project.database, base=project.root), project.models, score_inline=False)
    with TestClient(create_app(queued), raise_server_exceptions=False) as client:
        reply = client.post(
            "/v1/events", json=[_event(f"w{n}", "L9", "webinar_signup") for n in range(3)], headers=headers
        )
        assert reply.status_code == 200 and reply.json()["accepted"] == 3

        def later() -> None:
            time.sleep(0.3)
            scorer.drain()

        worker = threading.Thread(target=later)
        worker.start()
        started = time.monotonic()
        detail = client.get("/v1/leads/L9", headers=headers)
        waited = time.monotonic() - started
        worker.join()
    assert scorer.store.queue_bounds() is None
    scorer.store.close()
    assert detail.status_code == 200, detail.text
    assert waited >= 0.2  # it answered after the scorer, not before
    [current] = detail.json()["scores"]
    assert current["engagement"] > 0


def test_a_read_scores_the_queue_itself_when_no_scorer_does(project: Project, queued: LiveService) -> None:
    token = create_key(queued.store, "tests", ["ingest", "read"], NOW)
    headers = {"Authorization": f"Bearer {token}"}
    queued.catch_up_s = 0.05
    with TestClient(create_app(queued), raise_server_exceptions=False) as client:
        assert client.post("/v1/events", json=_event("x", "L2"), headers=headers).status_code == 200
        detail = client.get("/v1/leads/L2", headers=headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["scores"][0]["engagement"] > 0


def test_an_event_that_cannot_be_scored_is_kept_as_a_reject_and_the_rest_are_scored(
    queued: LiveService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = queued.store
    queued.ingest_events([_event("good1", "L1"), _event("bad", "L2"), _event("good2", "L3")], NOW)
    insert = store.insert_events

    def failing(events: Any, now_us: int) -> list[bool]:
        if any(record.id == "bad" for _, record in events):
            raise ValueError("refused by the test")
        return insert(events, now_us)

    monkeypatch.setattr(store, "insert_events", failing)
    assert queued.drain() == 3
    assert store.queue_bounds() is None
    stored = {
        e.id
        for events in store.load_events([s for s in map(store.find_lead, ["L1", "L3"]) if s]).values()
        for e in events
    }
    assert stored == {"good1", "good2"}
    [row] = cast(Any, store).db.execute("SELECT source, reason, raw FROM rejects").fetchall()
    assert row[0] == "api-queue" and "refused by the test" in row[1] and '"bad"' in row[2]


def test_a_database_that_cannot_be_used_leaves_the_queue_as_it_is(
    queued: LiveService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked or unreachable database says nothing about the events: none is set aside."""
    import sqlite3

    store = queued.store
    queued.ingest_events([_event("k1", "L1")], NOW)

    def unavailable(limit: int) -> list[Any]:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "queued_events", unavailable)
    with pytest.raises(sqlite3.OperationalError):
        queued.drain()
    monkeypatch.undo()
    assert store.count("rejects") == 0
    assert queued.drain() == 1


def test_a_read_that_must_wait_tells_the_scorer_and_one_that_need_not_does_not(queued: LiveService) -> None:
    calls: list[str] = []
    queued.on_wait = lambda: calls.append("hurry")
    queued.catch_up()
    assert calls == []  # the queue is empty: nothing to wait for
    queued.ingest_events([_event("e1", "L1")], NOW)
    queued.catch_up_s = 0.0  # no scorer here: the read scores the queue itself, after telling the scorer
    queued.catch_up()
    assert calls == ["hurry"] and queued.store.queue_bounds() is None
