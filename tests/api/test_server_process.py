"""End to end: the real server process on loopback, on each backend, with a key made by the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_process import Server

from leadscore.service.project import Project


def _cli(project: Path, *args: str) -> str:
    command = [sys.executable, "-c", "from leadscore.cli.main import app; app()", "-p", str(project), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def server(project: Project) -> Iterator[Server]:
    running = Server(project.root).start()
    yield running
    running.stop()


def test_events_that_make_a_lead_hot_show_at_once(project: Project, server: Server) -> None:
    key = _cli(project.root, "keys", "create", "--name", "e2e", "--scope", "ingest", "--scope", "read")
    lead = {"id": "L1", "email": "cto@acme.io", "title": "CTO", "industry": "software", "company_size": 120}
    assert server.request("POST", "/v1/leads", lead, key)[0] == 200
    status, cold = server.request("GET", "/v1/leads/L1", key=key)
    assert (status, cold["scores"][0]["tier"]) == (200, "warm")
    events = [
        {"id": "d1", "lead_id": "L1", "type": "form_submit", "occurred_at": "2026-11-20T09:00:00Z", "form": "demo"},
        {"id": "p1", "lead_id": "L1", "type": "page_view", "occurred_at": "2026-11-20T09:05:00Z", "url": "/pricing"},
    ]
    status, reply = server.request("POST", "/v1/events", events, key)
    assert (status, reply["accepted"]) == (200, 2)
    status, hot = server.request("GET", "/v1/leads/L1", key=key)
    assert hot["scores"][0]["tier"] == "hot"
    assert hot["history"][0]["cause"] == "events:d1,p1"
    assert server.request("GET", "/v1/leads/L1")[0] == 401
