"""Two writers (two server processes' worth: each its own connection) sending events for the same leads at
once lose nothing and count nothing twice: every stored score equals the reference engine over every
stored event, at that score's as_of."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leadscore.engine.account import score_account
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
    # The three leads share one account, whose rollup both writers redo after each of their writes.
    people = [{"id": f"L{i}", "email": f"p{i}@acme.io"} for i in range(3)]
    services[0].upsert_leads(people, datetime.now(UTC))

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
    # The account's rollup is of every lead's final total: neither writer's rollup overwrote the other's.
    totals = [Decimal(s.total_cents).scaleb(-2) for s in store.iter_scores([compiled.key])]
    account = store.load_accounts(["domain:acme.io"])["domain:acme.io"]
    [rolled] = store.account_scores("domain:acme.io")
    assert rolled["total_cents"] == int(score_account(compiled, account, totals).total * 100)
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


def test_two_rollups_of_one_account_take_turns(project: Project) -> None:
    """Writer B rolls up the account while writer A's rollup of it is not yet committed: B must wait and
    then read A's lead total, not write a rollup that misses it."""
    if project.database.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: two rollups cannot overlap there")
    first, second = (LiveService(open_store(project.database, base=project.root), project.models) for _ in range(2))
    now = datetime(2026, 11, 20, tzinfo=UTC)
    first.upsert_leads([{"id": f"L{i}", "email": f"p{i}@acme.io"} for i in range(2)], now)
    demo = {"type": "form_submit", "occurred_at": "2026-11-19T10:00:00Z", "form": "demo"}
    failures: list[BaseException] = []

    def other_writer() -> None:
        try:
            second.ingest_events([{**demo, "id": "b", "lead_id": "L1"}], now)
        except BaseException as exc:
            failures.append(exc)

    import psycopg

    thread = threading.Thread(target=other_writer)
    with first.store.transaction():  # writer A's request, held open until B is seen waiting
        first.ingest_events([{**demo, "id": "a", "lead_id": "L0"}], now)
        thread.start()
        with psycopg.connect(project.database, autocommit=True) as watcher:
            for _ in range(1000):
                if watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() != (0,):
                    break
                time.sleep(0.01)
            else:
                raise AssertionError("writer B never waited on writer A")
    thread.join()
    assert failures == []
    compiled = project.models[0].compiled
    totals = [Decimal(s.total_cents).scaleb(-2) for s in first.store.iter_scores([compiled.key])]
    assert len(totals) == 2 and min(totals) > 0
    account = first.store.load_accounts(["domain:acme.io"])["domain:acme.io"]
    [rolled] = first.store.account_scores("domain:acme.io")
    assert rolled["total_cents"] == int(score_account(compiled, account, totals).total * 100)
    for service in (first, second):
        service.store.close()
