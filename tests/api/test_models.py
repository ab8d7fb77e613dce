"""Model versions and accounts over the API, on each backend: upload with line-level errors, dry run,
activation with its webhook delivered to a real receiver, rollback, history, and an account's scores."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from receiver import Receiver

from leadscore.api.app import create_app
from leadscore.service import webhooks
from leadscore.service.keys import create_key
from leadscore.service.live import LiveService
from leadscore.service.project import Project
from leadscore.store.url import open_store

Api = tuple[TestClient, dict[str, str], dict[str, str]]
LEADS = [
    {"id": "L1", "email": "vp@acme.io", "title": "VP Sales", "industry": "software", "company_size": 200},
    {"id": "L2", "email": "intern@acme.io", "title": "Intern", "industry": "software", "company_size": 200},
    {"id": "L3", "email": "cto@other.io", "title": "CTO", "industry": "retail", "company_size": 40},
]


@pytest.fixture
def api(project: Project) -> Iterator[Api]:
    """A client, headers with an ingest and read key, and headers with an admin key."""
    store = open_store(project.database, base=project.root)
    now = datetime.now(UTC)
    user = create_key(store, "tests", ["ingest", "read"], now)
    admin = create_key(store, "admin", ["admin", "read"], now)
    with TestClient(create_app(LiveService(store, project.models)), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {user}"}, {"Authorization": f"Bearer {admin}"}


def _v2(project: Project) -> str:
    source = project.models[0].source.replace("\nversion: 1\n", "\nversion: 2\n")
    changed = source.replace("- name: c_level\n    points: 15\n", "- name: c_level\n    points: 30\n")
    assert changed != source
    return changed


def test_upload_lists_every_problem_and_refuses_a_used_version(api: Api, project: Project) -> None:
    client, user, admin = api
    assert client.post("/v1/models", json={"source": _v2(project)}, headers=user).status_code == 403
    bad = client.post("/v1/models", json={"source": "name: x\nfit:\n  - name: a\n    points: lots\n"}, headers=admin)
    assert bad.status_code == 422
    [detail] = [d for d in bad.json()["error"]["details"] if d["line"] == 4]
    assert "points" in detail["field"]
    first = client.post("/v1/models", json={"source": _v2(project)}, headers=admin)
    again = client.post("/v1/models", json={"source": _v2(project)}, headers=admin)
    other = client.post("/v1/models", json={"source": _v2(project) + "\n# changed\n"}, headers=admin)
    assert (first.status_code, first.json()["created"], again.status_code, again.json()["created"]) == (
        201,
        True,
        200,
        False,
    )
    assert other.status_code == 409 and "new version" in other.json()["error"]["message"]
    shown = client.get("/v1/models/b2b_saas@2", headers=admin).json()
    assert (shown["source"], shown["active"]) == (_v2(project), False)
    assert client.get("/v1/models/nope@1", headers=admin).status_code == 404


def test_dry_run_activate_and_roll_back(api: Api, project: Project) -> None:
    client, user, admin = api
    assert client.post("/v1/leads", json=LEADS, headers=user).json()["accepted"] == 3
    client.post("/v1/models", json={"source": _v2(project)}, headers=admin)
    before = client.get("/v1/leads/L3", headers=user).json()["scores"][0]
    assert before["model"] == "b2b_saas@1"

    dry = client.post("/v1/models/b2b_saas@2/dry-run", headers=admin).json()
    assert (dry["against"], dry["leads"], dry["raised"], dry["lowered"]) == ("b2b_saas@1", 3, 1, 0)
    assert [c["lead_id"] for c in dry["sample"]] == ["L3"] and dry["tier_changes"] == 1
    assert client.get("/v1/leads/L1", headers=user).json()["scores"][0]["model"] == "b2b_saas@1"  # nothing written

    store = open_store(project.database, base=project.root)
    try:
        with Receiver() as receiver:
            webhooks.subscribe(store, receiver.url, ["model_activated", "tier_changed"], None, 0)
            done = client.post("/v1/models/b2b_saas@2/activate", headers=admin)
            assert done.status_code == 200
            assert (done.json()["previous"], done.json()["summary"]["tier_changes"]) == ("b2b_saas@1", 1)
            while webhooks.deliver_due(store, random.Random(1)):
                pass
            got = {p["event"]: p for p in receiver.payloads()}
        assert got["model_activated"]["model"] == "b2b_saas@2"
        assert got["model_activated"]["previous"] == "b2b_saas@1"
        assert got["tier_changed"]["lead"]["id"] == "L3" and got["tier_changed"]["model"] == "b2b_saas@2"
    finally:
        store.close()
    after = client.get("/v1/leads/L3", headers=user).json()["scores"]
    assert [s["model"] for s in after] == ["b2b_saas@2"]
    assert (after[0]["fit"], before["tier"], after[0]["tier"]) == (before["fit"] + 15, "cold", "warm")
    listed = client.get("/v1/leads", params={"model": "b2b_saas"}, headers=user).json()["items"]
    assert {s["model"] for s in listed} == {"b2b_saas@2"}
    assert client.post("/v1/models/b2b_saas@2/activate", headers=admin).status_code == 409

    back = client.post("/v1/models/b2b_saas/rollback", headers=admin).json()
    assert (back["model"], back["previous"], back["cause"]) == ("b2b_saas@1", "b2b_saas@2", "rollback")
    assert client.get("/v1/leads/L3", headers=user).json()["scores"][0]["fit"] == before["fit"]
    [entry] = client.get("/v1/models", headers=admin).json()
    assert entry["active"] == "b2b_saas@1"
    assert [(a["model"], a["cause"]) for a in entry["activations"]] == [
        ("b2b_saas@1", "project"),
        ("b2b_saas@2", "activate"),
        ("b2b_saas@1", "rollback"),
    ]
    assert client.post("/v1/models/nobody/rollback", headers=admin).status_code == 404


def test_an_account_shows_its_rolled_up_scores_and_its_leads(api: Api) -> None:
    client, user, _ = api
    client.post("/v1/leads", json=LEADS, headers=user)
    account = client.get("/v1/accounts/domain:acme.io", headers=user)
    assert account.status_code == 200
    body = account.json()
    [rolled] = body["scores"]
    assert (body["domain"], rolled["model"], rolled["lead_count"]) == ("acme.io", "b2b_saas@1", 2)
    assert [lead["lead_id"] for lead in body["leads"]] == ["L1", "L2"]  # highest score first
    assert rolled["total"] == pytest.approx(rolled["rollup"] + rolled["fit"])
    page = client.get("/v1/accounts/domain:acme.io", params={"limit": 1}, headers=user).json()
    rest = client.get("/v1/accounts/domain:acme.io", params={"cursor": page["next_cursor"]}, headers=user).json()
    assert [lead["lead_id"] for lead in page["leads"] + rest["leads"]] == ["L1", "L2"]
    assert client.get("/v1/accounts/nope", headers=user).status_code == 404
    assert client.get("/v1/accounts/domain:acme.io", params={"model": "x"}, headers=user).status_code == 422
