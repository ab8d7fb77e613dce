"""What the API sends back, and the request bodies as the OpenAPI schema shows them.

Request bodies are read as raw JSON and checked item by item by the ingest readers (the same rules as
JSONL files), so that one bad item in a batch does not refuse the others; the schemas here document them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

EVENT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["type", "occurred_at"],
    "properties": {
        "id": {"type": "string", "description": "Makes a re-sent event harmless; derived from the content if absent."},
        "lead_id": {"type": "string"},
        "email": {"type": "string"},
        "type": {"type": "string", "example": "page_view"},
        "occurred_at": {"type": "string", "description": "ISO-8601; a time with no zone is UTC."},
        "properties": {"type": "object"},
    },
    "additionalProperties": True,
}
LEAD_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "created_at": {"type": "string"},
        "account_id": {"type": "string"},
    },
    "additionalProperties": True,
    "description": "An id or an email, and any lead fields (title, industry, company_size, country, ...).",
}


def body_of(item: dict[str, Any], max_batch: int) -> dict[str, Any]:
    """``openapi_extra`` for an endpoint that takes one item or a JSON array of up to ``max_batch``."""
    schema = {"oneOf": [item, {"type": "array", "items": item, "maxItems": max_batch}]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


SEGMENT_TRACK: dict[str, Any] = {
    "type": "object",
    "description": "A Segment track call (https://segment.com/docs/connections/spec/track/).",
    "required": ["event"],
    "properties": {
        "type": {"type": "string", "enum": ["track"]},
        "event": {"type": "string", "example": "Demo Requested"},
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "messageId": {"type": "string"},
        "timestamp": {"type": "string"},
        "properties": {"type": "object"},
        "context": {"type": "object"},
    },
    "additionalProperties": True,
}
SEGMENT_IDENTIFY: dict[str, Any] = {
    "type": "object",
    "description": "A Segment identify call (https://segment.com/docs/connections/spec/identify/).",
    "properties": {
        "type": {"type": "string", "enum": ["identify"]},
        "userId": {"type": "string"},
        "traits": {"type": "object"},
        "timestamp": {"type": "string"},
    },
    "additionalProperties": True,
}


class ItemError(BaseModel):
    index: int
    field: str | None
    reason: str


class BatchResult(BaseModel):
    """``accepted`` items were stored (and scored), ``duplicates`` were known already, ``errors`` were refused."""

    accepted: int
    duplicates: int
    rejected: int
    errors: list[ItemError]


class Contribution(BaseModel):
    rule: str
    kind: str
    points: float
    raw_points: float
    count: int
    counted: int


class ScoreOut(BaseModel):
    model: str
    lead_id: str
    email: str | None
    account_id: str | None
    as_of: str
    fit: float
    engagement: float
    total: float
    tier: str
    grade: str
    level: str
    matrix: str
    stage: str
    stage_reason: str
    last_engagement_at: str | None
    contributions: list[Contribution] | None = None


class PredictionOut(BaseModel):
    name: str
    version: str
    probability: float = Field(description="Calibrated probability of converting within the model's horizon.")
    as_of: str
    up: list[dict[str, Any]] = Field(description="Features that pushed the probability up most, in log-odds.")
    down: list[dict[str, Any]] = Field(description="Features that pushed it down most, in log-odds.")


class LeadDetail(BaseModel):
    id: str
    scores: list[ScoreOut]
    predictions: list[PredictionOut] = Field(default_factory=list)
    history: list[dict[str, Any]]
    stage_transitions: list[dict[str, Any]]


class LeadPage(BaseModel):
    items: list[ScoreOut]
    next_cursor: str | None


class AccountScoreOut(BaseModel):
    model: str
    as_of: str
    rollup: float = Field(description="The leads' part: their sum, max or top-N mean, as the model says.")
    fit: float = Field(description="The account's own fit rules.")
    total: float
    tier: str
    lead_count: int
    contributions: list[Contribution]


class AccountDetail(BaseModel):
    id: str
    domain: str | None
    fields: dict[str, Any]
    scores: list[AccountScoreOut]
    leads: list[ScoreOut] = Field(description="The account's leads under ``model``, highest score first.")
    next_cursor: str | None
