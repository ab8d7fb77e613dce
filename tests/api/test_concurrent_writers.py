"""Two writers (two server processes' worth: each its own connection) sending events for the same leads at
once lose nothing and count nothing twice: every stored score equals the reference engine over every
stored event, at that score's as_of."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from leadscore.engine.scoring import score
from leadscore.engine.types import from_micros
from leadscore.service.live import LiveService
from leadscore.service.project import Project
from leadscore.store.codec import contributions_json
from leadscore.store.url import open_store

KINDS = [("form_submit", {"form": "demo"}), ("page_view", {"url": "/pricing"}), ("email_click", {}), ("email_open", {})]


def _events(writer: int, count: int) -> list[list[dict[str, object]]]:
    rng = random.Random(writer)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    batches = []
    for number in range(count):
        kind, props = rng.choice(KINDS)
        at = start + timedelta(hours=rng.randrange(24 * 40))
        # Both writers share ids e0..e39, so the same event also arrives twice, from two writers.
        event_id = f"e{number}" if number < 40 else f"w{writer}-{number}"
        event: dict[str, object] = {
            "id": event_id,
            "lead_id": f"L{rng.randrange(3)}",
            "type": kind,
            "occurred_at": at.isoformat(),
        }
        batches.append([{**event, **props}])
    return batches


def test_two_writers_on_the_same_leads_equal_one_after_the_other(project: Project) -> None:
    services = [LiveService(open_store(project.database, base=project.root), project.models) for _ in range(2)]
    failures: list[BaseException] = []

    def send(writer: int) -> None:
        try:
            for batch in _events(writer, 120):
                services[writer].ingest_events(batch, datetime.now(UTC))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store = services[0].store
    compiled = project.models[0].compiled
    seqs = [store.find_lead(f"L{i}") for i in range(3)]
    assert None not in seqs
    events = store.load_events([s for s in seqs if s is not None])
    leads = store.load_leads([s for s in seqs if s is not None])
    assert sum(len(e) for e in events.values()) == 40 + 2 * 80  # each shared id stored once
    for stored in store.iter_scores([compiled.key]):
        expected = score(compiled, leads[stored.lead_seq], events[stored.lead_seq], from_micros(stored.as_of))
        assert stored.total_cents == int(expected.total * 100)
        assert contributions_json(expected.contributions) == contributions_json_of(stored.contributions)
    for service in services:
        service.store.close()


def contributions_json_of(rows: list[dict[str, object]]) -> str:
    from leadscore.engine.types import Contribution

    return contributions_json(Contribution(**r) for r in rows)  # type: ignore[arg-type]


def test_a_warm_state_made_stale_by_another_writer_is_rebuilt(project: Project) -> None:
    first, second = (LiveService(open_store(project.database, base=project.root), project.models) for _ in range(2))
    now = datetime(2026, 11, 20, tzinfo=UTC)
    demo = {"lead_id": "L", "type": "form_submit", "occurred_at": "2026-11-19T10:00:00Z", "form": "demo"}
    first.ingest_events([{**demo, "id": "a"}], now)  # the first writer now holds L's state warm
    second.ingest_events([{**demo, "id": "b", "type": "email_click"}], now)  # another writer adds to L
    first.upsert_leads([{"id": "L", "title": "CTO"}], now)  # no new event: only the version shows b
    [stored] = first.store.scores_for_lead(first.store.find_lead("L") or 0)
    assert {c["rule"] for c in stored.contributions} >= {"demo_request", "email_click", "c_level"}
    for service in (first, second):
        service.store.close()
