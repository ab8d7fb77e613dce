"""Segment ``track`` and ``identify`` payloads, sent as Segment sends them, on each backend."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from leadscore.ingest.segment import SegmentError, identify_lead, track_event

Api = tuple[TestClient, dict[str, str]]

IDENTIFY = {
    "type": "identify",
    "messageId": "m-1",
    "userId": "u-42",
    "timestamp": "2026-11-20T09:00:00.000Z",
    "traits": {
        "email": "Ana@Acme.io",
        "firstName": "Ana",
        "title": "VP Marketing",
        "company": {"name": "Acme", "industry": "Software", "employee_count": 120},
        "address": {"country": "US"},
        "plan": "Pro Trial",
    },
}
TRACK = {
    "type": "track",
    "event": "Form Submit",
    "userId": "u-42",
    "messageId": "m-2",
    "timestamp": "2026-11-20T09:05:00.000Z",
    "properties": {"form": "demo"},
    "context": {"ip": "203.0.113.9", "traits": {"email": "ana@acme.io"}},
}


def test_identify_then_track_score_the_lead(api: Api) -> None:
    client, headers = api
    assert client.post("/v1/identify", json=IDENTIFY, headers=headers).json()["accepted"] == 1
    reply = client.post("/v1/track", json={"batch": [TRACK, TRACK]}, headers=headers).json()
    assert (reply["accepted"], reply["duplicates"]) == (1, 1)  # messageId makes a retry harmless
    [score] = client.get("/v1/leads/u-42", headers=headers).json()["scores"]
    rules = {c["rule"] for c in score["contributions"]}
    assert {"vp", "target_industry", "target_country", "company_size_10_500", "demo_request"} <= rules
    assert score["email"] == "ana@acme.io"


def test_bad_calls_name_the_segment_field(api: Api) -> None:
    client, headers = api
    reply = client.post(
        "/v1/track",
        json=[TRACK, {**TRACK, "event": ""}, {**TRACK, "userId": None, "context": {}}, {**TRACK, "timestamp": None}],
        headers=headers,
    ).json()
    assert [(e["index"], e["field"]) for e in reply["errors"]] == [(1, "event"), (2, "userId"), (3, "timestamp")]
    single = client.post("/v1/identify", json={"type": "identify", "traits": {}}, headers=headers)
    assert (single.status_code, single.json()["error"]["details"][0]["field"]) == (422, "userId")


def test_the_mapping() -> None:
    assert track_event(TRACK) == {
        "id": "m-2",
        "lead_id": "u-42",
        "email": "ana@acme.io",
        "type": "form_submit",
        "occurred_at": "2026-11-20T09:05:00.000Z",
        "properties": {"form": "demo", "segment_event": "Form Submit"},
    }
    assert identify_lead(IDENTIFY) == {
        "id": "u-42",
        "email": "Ana@Acme.io",
        "first_name": "Ana",
        "title": "VP Marketing",
        "company": "Acme",
        "industry": "Software",
        "company_size": 120,
        "country": "US",
        "plan": "Pro Trial",
    }
    with pytest.raises(SegmentError, match="expected a track call"):
        track_event({**TRACK, "type": "page"})
