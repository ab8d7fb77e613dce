"""End to end: the real server process on loopback, on each backend, with a key made by the CLI."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from receiver import Receiver
from server_process import Server, free_port

from leadscore.engine.scoring import score
from leadscore.engine.types import from_micros
from leadscore.service import webhooks
from leadscore.service.project import Project, load_project, write_project
from leadscore.store.url import open_store


def _recent(minutes_ago: int) -> str:
    """A time shortly before now: the server scores as of its own clock, and the example model's decay
    would take an event of a fixed date below the hot threshold as the calendar moves on."""
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cli(project: Path, *args: str) -> str:
    command = [sys.executable, "-c", "from leadscore.cli.main import app; app()", "-p", str(project), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def server(project: Project) -> Iterator[Server]:
    running = Server(project.root, log_level="info").start()
    yield running
    running.stop()


def test_events_that_make_a_lead_hot_show_at_once(project: Project, server: Server) -> None:
    key = _cli(project.root, "keys", "create", "--name", "e2e", "--scope", "ingest", "--scope", "read")
    lead = {"id": "L1", "email": "cto@acme.io", "title": "CTO", "industry": "software", "company_size": 120}
    assert server.request("POST", "/v1/leads", lead, key)[0] == 200
    status, cold = server.request("GET", "/v1/leads/L1", key=key)
    assert (status, cold["scores"][0]["tier"]) == (200, "warm")
    events = [
        {"id": "d1", "lead_id": "L1", "type": "form_submit", "occurred_at": _recent(60), "form": "demo"},
        {"id": "p1", "lead_id": "L1", "type": "page_view", "occurred_at": _recent(55), "url": "/pricing"},
    ]
    status, reply = server.request("POST", "/v1/events", events, key)
    assert (status, reply["accepted"]) == (200, 2)
    status, hot = server.request("GET", "/v1/leads/L1", key=key)
    assert hot["scores"][0]["tier"] == "hot"
    assert hot["history"][0]["cause"] == "events:d1,p1"
    assert server.request("GET", "/v1/leads/L1")[0] == 401
    server.stop()
    # Structured logs: every line the server wrote is one JSON object.
    lines = (project.root / "server.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"] == "uvicorn.access" and "/v1/events" in e["message"] for e in entries)


def _subscribe(server: Server, admin: str, url: str) -> str:
    status, sub = server.request("POST", "/v1/webhooks", {"url": url, "events": ["tier_changed"]}, admin)
    assert status == 201, sub
    return str(sub["secret"])


def test_a_hot_lead_reaches_a_real_receiver_signed_once_per_delivery(project: Project, server: Server) -> None:
    admin = _cli(project.root, "keys", "create", "--name", "ops", "--scope", "admin")
    with Receiver() as receiver:
        secret = _subscribe(server, admin, receiver.url)
        lead = {"id": "L1", "email": "cto@acme.io", "title": "CTO", "industry": "software", "company_size": 120}
        server.request("POST", "/v1/leads", lead, admin)
        demo = {
            "id": "d1",
            "lead_id": "L1",
            "type": "form_submit",
            "occurred_at": _recent(60),
            "form": "demo",
        }
        pricing = {**demo, "id": "p1", "type": "page_view", "url": "/pricing"}
        pricing.pop("form")
        assert server.request("POST", "/v1/events", [demo, pricing], admin)[0] == 200
        receiver.wait_for(2)
        time.sleep(1.0)  # room for a duplicate to arrive, if the server sent one
        tiers = [(p["from"] and p["from"]["tier"], p["to"]["tier"]) for p in receiver.payloads()]
        assert tiers == [(None, "warm"), ("warm", "hot")]
        ids = [headers["x-leadscore-delivery"] for headers, _ in receiver.received]
        assert len(ids) == len(set(ids)) == 2
        for headers, body in receiver.received:
            signature, timestamp = headers["x-leadscore-signature"], headers["x-leadscore-timestamp"]
            assert webhooks.verify(secret, timestamp, body, signature, time.time())


def test_a_dropped_database_connection_answers_503_and_the_server_recovers(tmp_path: Path, store_url: str) -> None:
    """PostgreSQL drops every connection of the server (a restart, a failover): a request that meets the
    drop gets a 503 with Retry-After, never a 500, and the server reconnects: the request processes, the
    scorer and the webhook sender go on, and the events acknowledged after the drop reach the receiver."""
    if not store_url.startswith("postgres"):
        pytest.skip("PostgreSQL only: a SQLite file has no server to drop its connections")
    name = f"leadscore-test-{uuid.uuid4().hex[:8]}"  # marks this server's connections, to drop them
    write_project(tmp_path, database=f"{store_url}&application_name={name}")
    project = load_project(tmp_path)
    admin = _cli(project.root, "keys", "create", "--name", "ops", "--scope", "admin")
    server = Server(project.root, log_level="info").start()
    try:
        with Receiver() as receiver:
            _subscribe(server, admin, receiver.url)
            lead = {"id": "L1", "email": "cto@acme.io", "title": "CTO", "industry": "software", "company_size": 120}
            assert server.request("POST", "/v1/leads", lead, admin)[0] == 200
            receiver.wait_for(1)  # warm
            with psycopg.connect(store_url, autocommit=True) as dba:
                # The request process, its webhook sender and scheduler, the scorer and its sender: once all
                # are connected, drop them all.
                assert _until(lambda: _connections(dba, name) >= 5)
                drop = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                dba.execute(drop, (name,))
            demo = {"id": "d1", "lead_id": "L1", "type": "form_submit", "occurred_at": _recent(60),
                    "form": "demo"}  # fmt: skip
            pricing = {"id": "p1", "lead_id": "L1", "type": "page_view", "occurred_at": _recent(55),
                       "url": "/pricing"}  # fmt: skip
            status, refused = server.request("POST", "/v1/events", [demo, pricing], admin)
            assert (status, refused["error"]["code"]) == (503, "store_unavailable")  # it met the drop
            status, reply = server.request("POST", "/v1/events", [demo, pricing], admin)
            assert (status, reply["accepted"]) == (200, 2)  # reconnected
            receiver.wait_for(2)  # hot: scored and delivered by reconnected processes
            assert [p["to"]["tier"] for p in receiver.payloads()] == ["warm", "hot"]
            with psycopg.connect(store_url, autocommit=True) as dba:
                dba.execute(drop, (name,))  # and again, before a read (a FastAPI route, not the fast path)
            status, refused = server.request("GET", "/v1/leads/L1", key=admin)
            assert (status, refused["error"]["code"]) == (503, "store_unavailable")
            status, detail = server.request("GET", "/v1/leads/L1", key=admin)
            assert (status, detail["scores"][0]["tier"]) == (200, "hot")
    finally:
        server.stop()


def _connections(dba: psycopg.Connection[Any], name: str) -> int:
    row = dba.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def _until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_sigkill_loses_no_acknowledged_event_and_no_pending_webhook(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kill the server in the middle of a stream; restart it: every acknowledged event is stored and scored
    (the score equals the reference engine over the stored events), and the deliveries owed are sent,
    including one the killed server had claimed but not sent (once its lease runs out)."""
    monkeypatch.setenv("LEADSCORE_DELIVERY_LEASE_SECONDS", "3")
    server = Server(project.root).start()
    admin = _cli(project.root, "keys", "create", "--name", "ops", "--scope", "admin")
    port = free_port()  # the receiver is down until after the restart: deliveries wait in the outbox
    _subscribe(server, admin, f"http://127.0.0.1:{port}/hook")
    acknowledged: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        for number in range(100_000):
            if stop.is_set():
                return
            event = {
                "id": f"e{number}",
                "lead_id": f"L{number % 7}",
                "type": "form_submit",
                "occurred_at": f"2026-11-{1 + number % 20:02d}T10:00:00Z",
                "form": "demo" if number % 5 else "trial",
            }
            try:
                status, _ = server.request("POST", "/v1/events", event, admin)
            except (OSError, http.client.HTTPException):
                # The server is gone: this event was never acknowledged. The kill can also land between a
                # reply's headers and its body (IncompleteRead): a reply not read whole acknowledges nothing.
                return
            if status == 200:
                acknowledged.append(str(event["id"]))

    sender = threading.Thread(target=stream)
    sender.start()
    while len(acknowledged) < 150:
        time.sleep(0.01)
    server.kill()
    stop.set()
    sender.join(30)
    restarted = Server(project.root, port=server.port).start()
    try:
        # A read waits until every acknowledged event is scored; the restarted scorer drains the queue.
        assert restarted.request("GET", "/v1/leads/L0", None, admin)[0] == 200
        store = open_store(project.database, base=project.root)
        try:
            assert store.queue_bounds() is None
            seqs = [s for s in (store.find_lead(f"L{i}") for i in range(7)) if s is not None]
            events = store.load_events(seqs)
            stored = {e.id for evs in events.values() for e in evs}
            assert set(acknowledged) <= stored
            leads = store.load_leads(seqs)
            compiled = project.models[0].compiled
            for current in store.iter_scores([compiled.key]):
                lead_events = events[current.lead_seq]
                expected = score(compiled, leads[current.lead_seq], lead_events, from_micros(current.as_of))
                assert current.total_cents == int(expected.total * 100)
            owed = store.outbox_counts()["pending"]
            assert owed >= 7  # each lead's first score at least
        finally:
            store.close()
        with Receiver(port=port) as receiver:
            receiver.wait_for(owed, timeout=30)
            ids = [headers["x-leadscore-delivery"] for headers, _ in receiver.received]
            assert len(set(ids)) == owed
    finally:
        restarted.stop()
