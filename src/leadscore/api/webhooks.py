"""Webhook subscriptions over the API (admin scope): create, list, remove, and read the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from leadscore.api.auth import requires
from leadscore.api.errors import ApiError
from leadscore.api.render import iso
from leadscore.engine.types import to_micros
from leadscore.service.keys import ApiKey
from leadscore.service.live import LiveService
from leadscore.service.webhooks import EVENTS, WebhookError, subscribe

AdminKey = Annotated[ApiKey, Depends(requires("admin"))]
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, examples=["https://crm.example/hooks/leadscore"])
    events: list[str] = Field(min_length=1, max_length=len(EVENTS), examples=[["tier_changed", "stage_changed"]])
    min_delta: float | None = Field(default=None, ge=0, le=1e9, description="score_changed: the least change")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    min_delta: float | None
    secret: str | None = Field(default=None, description="Shown once, when the subscription is created.")


def _service(request: Request) -> LiveService:
    service: LiveService = request.app.state.service
    return service


@router.post("", response_model=WebhookOut, status_code=201)
def create(body: WebhookIn, request: Request, key: AdminKey) -> Any:
    """Subscribe a URL to events; the reply holds the signing secret, shown this once."""
    now_us = to_micros(datetime.now(UTC))
    try:
        sub = _service(request).run(lambda store: subscribe(store, body.url, body.events, body.min_delta, now_us))
    except WebhookError as exc:
        raise ApiError(422, "invalid_request", str(exc), [{"field": "body", "reason": str(exc)}]) from None
    return WebhookOut(id=sub.id, url=sub.url, events=sorted(sub.events), min_delta=body.min_delta, secret=sub.secret)


@router.get("", response_model=list[WebhookOut])
def list_all(request: Request, key: AdminKey) -> Any:
    subs = _service(request).run(lambda store: store.webhooks())
    return [
        WebhookOut(
            id=s.id,
            url=s.url,
            events=sorted(s.events),
            min_delta=s.min_delta_cents / 100 if s.min_delta_cents is not None else None,
        )
        for s in subs
    ]


@router.delete("/{webhook_id}", status_code=204)
def remove(webhook_id: str, request: Request, key: AdminKey) -> None:
    """Stops new deliveries; deliveries already owed are still sent."""
    now_us = to_micros(datetime.now(UTC))
    if not _service(request).run(lambda store: store.remove_webhook(webhook_id, now_us)):
        raise ApiError(404, "not_found", f"no active webhook {webhook_id!r}")


@router.get("/{webhook_id}/deliveries")
def deliveries(
    webhook_id: str, request: Request, key: AdminKey, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """The newest deliveries, each with its status and every attempt (time, HTTP status, error, duration)."""
    rows = _service(request).run(lambda store: store.deliveries(webhook_id, limit))
    for row in rows:
        row["created_at"] = iso(row["created_at"])
        row["delivered_at"] = iso(row["delivered_at"])
        for attempt in row["attempt_log"]:
            attempt["at"] = iso(attempt["at"])
    return rows
