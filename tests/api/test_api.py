"""The HTTP API in process, on each backend: ingest with per-item errors, reads, keys, limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from api_helpers import client_for
from fastapi.testclient import TestClient

from leadscore.service.keys import create_key
from leadscore.service.project import Project, ServerConfig
from leadscore.store.url import open_store

Api = tuple[TestClient, dict[str, str]]
LEAD = {"id": "L1", "email": "ann@acme.io", "title": "VP Marketing", "industry": "software", "company_size": "200"}


def _demo(event_id: str = "e1", lead: str = "L1") -> dict[str, object]:
    return {
        "id": event_id,
        "lead_id": lead,
        "type": "form_submit",
        "occurred_at": "2026-11-20T10:00:00Z",
        "form": "demo",
    }


def test_a_batch_stores_the_good_items_and_lists_the_bad(api: Api) -> None:
    client, headers = api
    assert client.post("/v1/leads", json=LEAD, headers=headers).json()["accepted"] == 1
    reply = client.post(
        "/v1/events",
        json=[
            _demo(),
            {"lead_id": "L1", "occurred_at": "2026-11-20T10:00:00Z"},
            7,
            {**_demo("e2"), "occurred_at": "x"},
        ],
        headers=headers,
    )
    assert reply.status_code == 200
    body = reply.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 3)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "type"), (2, None), (3, "occurred_at")]
    # Read your writes: the demo request shows at once, rule by rule.
    lead = client.get("/v1/leads/L1", headers=headers).json()
    [score] = lead["scores"]
    assert {c["rule"] for c in score["contributions"]} >= {"demo_request", "vp", "target_industry"}
    assert score["total"] == pytest.approx(score["fit"] + score["engagement"])
    assert lead["stage_transitions"][-1]["to_stage"] == score["stage"]
    assert lead["stage_transitions"][0]["from_stage"] is None


def test_a_resent_event_is_acknowledged_and_changes_nothing(api: Api) -> None:
    client, headers = api
    first = client.post("/v1/events", json=_demo(), headers=headers).json()
    before = client.get("/v1/leads/L1", headers=headers).json()
    again = client.post("/v1/events", json=_demo(), headers=headers)
    assert (first["accepted"], again.status_code, again.json()["duplicates"]) == (1, 200, 1)
    after = client.get("/v1/leads/L1", headers=headers).json()
    assert after["history"] == before["history"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"42", 422, "invalid_request"),
        (b'{"lead_id": "L1"}', 422, "invalid_items"),
        (b"[1, 2]", 422, "invalid_items"),
    ],
)
def test_bad_bodies_get_4xx_with_details(api: Api, body: bytes, status: int, code: str) -> None:
    client, headers = api
    reply = client.post("/v1/events", content=body, headers={**headers, "content-type": "application/json"})
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code


def test_keys_and_scopes(project: Project) -> None:
    client, _ = client_for(project)
    with client:
        assert client.get("/v1/leads").status_code == 401
        assert client.get("/v1/leads", headers={"Authorization": "Bearer ls_nope_nope"}).status_code == 401
        store = open_store(project.database, base=project.root)
        try:
            reader = create_key(store, "reader", ["read"], datetime.now(UTC))
            key_id = reader.split("_")[1]
            assert reader.split("_", 2)[2] not in str(store.api_keys())  # only a hash is stored
            denied = client.post("/v1/events", json=_demo(), headers={"X-API-Key": reader})
            assert (denied.status_code, denied.json()["error"]["code"]) == (403, "forbidden")
            assert client.get("/v1/leads", headers={"X-API-Key": reader}).status_code == 200
            assert store.revoke_api_key(key_id, 1)
        finally:
            store.close()
        # Each process trusts a key it checked for key_cache_seconds (5 s by default), then checks again.
        assert client.get("/v1/leads", headers={"X-API-Key": reader}).status_code == 200
        client.app.state.keys.entries.clear()  # type: ignore[attr-defined]  # as when the 5 s are over
        assert client.get("/v1/leads", headers={"X-API-Key": reader}).status_code == 401


def test_listing_filters_sorts_and_pages(api: Api) -> None:
    client, headers = api
    leads = [{"id": f"L{i}", "email": f"p{i}@acme.io", "title": "VP Sales" if i % 2 else "Intern"} for i in range(7)]
    client.post("/v1/leads", json=leads, headers=headers)
    client.post("/v1/events", json=[_demo(f"d{i}", f"L{i}") for i in range(0, 7, 3)], headers=headers)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/leads", params=params, headers=headers).json()
        seen += [item["lead_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    totals = {i["lead_id"]: i["total"] for i in client.get("/v1/leads?limit=50", headers=headers).json()["items"]}
    assert sorted(seen) == sorted(totals) and len(seen) == 7
    assert [totals[i] for i in seen] == sorted(totals.values(), reverse=True)
    high = client.get("/v1/leads", params={"min_score": 30}, headers=headers).json()["items"]
    assert {i["lead_id"] for i in high} == {k for k, v in totals.items() if v >= 30}
    assert client.get("/v1/leads", params={"cursor": "!!"}, headers=headers).status_code == 400
    assert client.get("/v1/leads", params={"model": "nope"}, headers=headers).status_code == 422
    assert client.get("/v1/leads", params={"limit": 0}, headers=headers).status_code == 422
    assert client.get("/v1/leads/nobody", headers=headers).status_code == 404


def test_size_and_rate_limits_and_cors(project: Project) -> None:
    config = ServerConfig(
        max_body_bytes=2000, max_batch=3, rate_limit_per_minute=5, cors_origins=["https://app.example"]
    )
    client, headers = client_for(project, config)
    with client:
        assert client.post("/v1/events", json=[_demo(str(i)) for i in range(4)], headers=headers).status_code == 413
        assert client.post("/v1/events", content=b"[" + b" " * 3000 + b"]", headers=headers).status_code == 413
        statuses = [client.get("/v1/leads", headers=headers).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]  # two requests above spent two of the five tokens
        preflight = client.options(
            "/v1/events",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"


def test_a_number_too_large_for_64_bits_is_kept_not_a_500(api: Api) -> None:
    client, headers = api
    big = 2**70
    event = {**_demo("big"), "properties": {"form": "demo", "quantity": big}}
    body = json.dumps([event])  # Python's json writes the number as it is; orjson refuses it
    reply = client.post("/v1/events", content=body, headers={**headers, "content-type": "application/json"})
    assert reply.status_code < 500, reply.text
    assert reply.json()["accepted"] + len(reply.json()["errors"]) == 1


def test_health_and_readiness(api: Api) -> None:
    client, _ = api
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_nul_characters_are_refused_not_stored(api: Api) -> None:
    # No database stores NUL; PostgreSQL refuses it outright. Each place it can come in gets a 4xx.
    client, headers = api
    reply = client.post("/v1/events", json=[_demo(), {**_demo("e2"), "properties": {"u\x00": "x"}}], headers=headers)
    assert (reply.status_code, reply.json()["errors"][0]["field"]) == (200, "properties.u\\u0000")
    assert client.post("/v1/identify", json={"userId": "\x00"}, headers=headers).status_code == 422
    assert client.get("/v1/leads/a%00b", headers=headers).status_code == 400
    assert client.get("/v1/leads?tier=%00", headers=headers).status_code == 400


def _metric(text: str, line_start: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


def test_metrics_count_ingest_latency_and_the_webhook_backlog(api: Api) -> None:
    client, headers = api
    before = client.get("/metrics").text
    client.post("/v1/events", json=[_demo("m1"), _demo("m1"), {"type": "x"}], headers=headers)
    after = client.get("/metrics").text
    accepted = 'leadscore_ingested_total{endpoint="events",outcome="accepted"}'
    duplicate = 'leadscore_ingested_total{endpoint="events",outcome="duplicate"}'
    rejected = 'leadscore_ingested_total{endpoint="events",outcome="rejected"}'
    assert _metric(after, accepted) - _metric(before, accepted) == 1
    assert _metric(after, duplicate) - _metric(before, duplicate) == 1
    assert _metric(after, rejected) - _metric(before, rejected) == 1
    count = 'leadscore_request_seconds_count{method="POST",route="/v1/events",status="200"}'
    assert _metric(after, count) - _metric(before, count) == 1
    assert 'leadscore_webhook_deliveries{status="pending"} 0' in after


def test_a_leads_predictive_score_is_read_beside_its_points(api: Api, project: Project) -> None:
    client, headers = api
    assert client.post("/v1/leads", json=LEAD, headers=headers).json()["accepted"] == 1
    assert client.get("/v1/leads/L1", headers=headers).json()["predictions"] == []
    store = open_store(project.database, base=project.root)
    try:
        seq = store.find_lead("L1")
        assert seq is not None
        reasons = '{"probability": 0.42, "up": [{"feature": "events.demo.30d", "value": "events.demo.30d = 1", ' \
                  '"contribution": 0.9}], "down": []}'  # fmt: skip
        with store.transaction():
            store.write_predictions([("predictive", seq, "v7", 0.42, reasons, 1_763_600_000_000_000)], now_us=1)
    finally:
        store.close()
    (prediction,) = client.get("/v1/leads/L1", headers=headers).json()["predictions"]
    assert (prediction["name"], prediction["version"], prediction["probability"]) == ("predictive", "v7", 0.42)
    assert prediction["up"][0]["feature"] == "events.demo.30d" and prediction["down"] == []
    assert prediction["as_of"].startswith("2025-11-20")


def test_the_fast_ingest_path_answers_as_the_fastapi_route_does(project: Project) -> None:
    """Ingest requests without an ``Origin`` header are answered by ``FastIngest``; cross-origin ones by the
    FastAPI route behind the CORS middleware. Each case goes through both and must get the same answer."""
    config = ServerConfig(max_body_bytes=3000, max_batch=3, cors_origins=["https://app.example"])
    client, headers = client_for(project, config)
    store = open_store(project.database, base=project.root)
    read_only = {"X-API-Key": create_key(store, "reader", ["read"], datetime.now(UTC))}
    store.close()
    cases: list[tuple[str, str, object, dict[str, str]]] = [
        ("/v1/events", "ok", [_demo("a"), {"type": "page_view"}], headers),
        ("/v1/events", "one bad", {"type": "page_view"}, headers),
        ("/v1/events", "none usable", [{"type": "x"}, 3], headers),
        ("/v1/events", "not JSON", b"{nope", headers),
        ("/v1/events", "a string", b'"hello"', headers),
        ("/v1/events", "too many", [_demo(str(n)) for n in range(4)], headers),
        ("/v1/events", "too large", b"[" + b" " * 4000 + b"]", headers),
        ("/v1/events", "no key", [_demo("b")], {}),
        ("/v1/events", "bad key", [_demo("b")], {"Authorization": "Bearer ls_nope"}),
        ("/v1/events", "no scope", [_demo("b")], read_only),
        ("/v1/events", "again", [_demo("a")], headers),
        ("/v1/leads", "lead", [{"id": "L9", "title": "VP Sales"}, {"created_at": "never"}], headers),
        ("/v1/track", "segment", {"batch": [{"event": "Demo Requested", "userId": "u1", "messageId": "m1"}]}, headers),
        ("/v1/identify", "identify", {"userId": "u1", "traits": {"title": "CTO"}}, headers),
    ]  # fmt: skip
    with client:
        for path, case, body, extra in cases:
            answers = []
            for origin in ({}, {"Origin": "https://app.example"}):
                sent = {**extra, **origin, "content-type": "application/json"}
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                reply = client.post(path, content=content, headers=sent)
                answers.append((reply.status_code, reply.json(), reply.headers["content-type"]))
                assert reply.status_code < 500, (case, reply.text)
                if origin:
                    assert reply.headers["access-control-allow-origin"] == "https://app.example", case
                else:
                    assert "access-control-allow-origin" not in reply.headers, case
            # The second request of a pair re-sends the first's items: its accepted count is a duplicate.
            fast, routed = answers
            if fast[0] == 200 and path != "/v1/leads" and path != "/v1/identify":
                fast_body = {**fast[1], "accepted": fast[1]["accepted"] + fast[1]["duplicates"], "duplicates": 0}
                routed_body = {
                    **routed[1],
                    "accepted": routed[1]["accepted"] + routed[1]["duplicates"],
                    "duplicates": 0,
                }
                assert (fast[0], fast_body, fast[2]) == (routed[0], routed_body, routed[2]), case
            else:
                assert fast == routed, case
