"""Group commit: requests that arrive while a transaction runs are stored together in the next one, and
each still gets its own reply: its accepted items, its duplicates, and its errors by its own indexes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from leadscore.service.live import BatchOutcome, LiveService
from leadscore.service.project import Project
from leadscore.store.url import open_store

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def live(project: Project) -> Iterator[LiveService]:
    service = LiveService(open_store(project.database, base=project.root), project.models)
    yield service
    service.store.close()


def _click(event_id: str, lead: str) -> dict[str, Any]:
    return {"id": event_id, "lead_id": lead, "type": "email_click", "occurred_at": "2026-11-20T10:00:00Z"}


def test_requests_queued_behind_a_transaction_share_the_next_and_get_their_own_replies(live: LiveService) -> None:
    groups = 0
    run_group = live._run_group

    def counted(load: Any) -> None:
        nonlocal groups
        groups += 1
        run_group(load)

    live._run_group = counted  # type: ignore[method-assign]
    replies: dict[int, BatchOutcome] = {}

    def send(number: int) -> None:
        items: list[Any] = [_click(f"e{number}", f"L{number % 3}"), {"type": "email_click"}]
        if number in (3, 4):
            items.append(_click("shared", "L0"))  # the same event from two requests: stored once
        replies[number] = live.ingest_events(items, NOW)

    with live.lock:  # a transaction in progress: every request below queues behind it
        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for _ in range(1000):
            with live.queue_lock:
                if len(live.queue) == 8:
                    break
            time.sleep(0.01)
        else:
            raise AssertionError("the requests never queued")
    for thread in threads:
        thread.join()

    assert groups == 1  # one transaction for all eight requests
    assert len(replies) == 8
    assert all([e["index"] for e in reply.errors] == [1] for reply in replies.values())  # its own index
    shared = [replies[3], replies[4]]
    assert sorted((r.accepted, r.duplicates) for r in shared) == [(1, 1), (2, 0)]
    assert sum(r.accepted for r in replies.values()) == 8 + 1 == live.store.count("events")
