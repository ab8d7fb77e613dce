"""Webhooks: subscriptions, deliveries made from score changes, HMAC signatures, and delivery with retries.

Deliveries are written to the outbox in the transaction that changes the score (``enqueue``), and sent
after commit (``Deliverer``): at least once, so receivers deduplicate by the delivery id. A failed attempt
is retried with exponential backoff and jitter, up to ``MAX_ATTEMPTS``, then dead-lettered. Every attempt
is logged.

Signature: ``X-Leadscore-Signature: v1=<hex>``, the HMAC-SHA256 with the subscription's secret of
``<X-Leadscore-Timestamp>.<raw body>``. Receivers recompute it and refuse old timestamps (``verify``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from leadscore.engine.types import from_micros
from leadscore.store.outbox import Delivery, Subscription
from leadscore.store.protocol import ScoreChange, Store

EVENTS = ("tier_changed", "stage_changed", "score_changed", "model_activated")
MAX_ATTEMPTS = 10
FIRST_RETRY_S = 1.0
LONGEST_WAIT_S = 3600.0
LEASE_S = 60.0  # a claimed delivery is sent again by anyone after this long if its sender died
TIMEOUT_S = 10.0


class WebhookError(ValueError):
    """A subscription that cannot be made as asked."""


def subscribe(store: Store, url: str, events: Sequence[str], min_delta: float | None, now_us: int) -> Subscription:
    """Stores a subscription with a new secret; the secret is returned once, for the receiver to verify."""
    if "\x00" in url:
        raise WebhookError("expected a URL without NUL characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WebhookError(f"expected an http:// or https:// URL, got {url!r}")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise WebhookError(f"expected events from {', '.join(EVENTS)}, got {', '.join(unknown) or 'none'}")
    if min_delta is not None and min_delta < 0:
        raise WebhookError(f"expected a min_delta of 0 or more, got {min_delta}")
    sub = Subscription(
        id=f"wh_{secrets.token_hex(6)}",
        url=url,
        events=frozenset(events),
        min_delta_cents=round(min_delta * 100) if min_delta is not None else None,
        secret=f"whsec_{secrets.token_urlsafe(24)}",
    )
    store.add_webhook(sub, now_us)
    return sub


def _wanted(sub: Subscription, change: ScoreChange) -> list[str]:
    before, after = change.before, change.after
    wanted = []
    if "tier_changed" in sub.events and (before is None or before[1] != after[1]):
        wanted.append("tier_changed")
    if "stage_changed" in sub.events and (before is None or before[2] != after[2]):
        wanted.append("stage_changed")
    if "score_changed" in sub.events:
        delta = after[0] - (before[0] if before else 0)
        if delta and abs(delta) >= (sub.min_delta_cents or 0):
            wanted.append("score_changed")
    return wanted


def score_state(value: tuple[int, str, str] | None) -> dict[str, object] | None:
    """(total cents, tier, stage) as the JSON that webhooks and dry runs show."""
    return None if value is None else {"total": value[0] / 100, "tier": value[1], "stage": value[2]}


def enqueue(store: Store, changes: Sequence[ScoreChange], now_us: int) -> int:
    """Writes the deliveries these changes owe to the outbox; call it inside the write's transaction.

    A lead's first score counts as a change from nothing (``from`` is null), so a new lead that arrives
    hot is reported like one that becomes hot.
    """
    if not changes:
        return 0
    subs = store.webhooks()
    if not subs:
        return 0
    refs = store.lead_refs(sorted({c.lead_seq for c in changes}))
    created = from_micros(now_us).isoformat().replace("+00:00", "Z")
    rows = []
    for change in changes:
        lead_id, email, account_id = refs.get(change.lead_seq, ("", None, None))
        for sub in subs:
            for event in _wanted(sub, change):
                delivery_id = uuid.uuid4().hex
                payload = {
                    "delivery_id": delivery_id,
                    "event": event,
                    "model": change.model,
                    "lead": {"id": lead_id, "email": email, "account_id": account_id},
                    "from": score_state(change.before),
                    "to": score_state(change.after),
                    "delta": (change.after[0] - (change.before[0] if change.before else 0)) / 100,
                    "cause": change.cause,
                    "as_of": from_micros(change.as_of).isoformat().replace("+00:00", "Z"),
                    "created_at": created,
                }
                rows.append((delivery_id, sub.id, event, orjson.dumps(payload).decode(), now_us))
    if rows:
        store.add_deliveries(rows)
    return len(rows)


def enqueue_notice(store: Store, event: str, body: Mapping[str, object], now_us: int) -> int:
    """Writes one delivery per subscriber of an event that concerns no single lead (``model_activated``)."""
    rows = []
    created = from_micros(now_us).isoformat().replace("+00:00", "Z")
    for sub in store.webhooks():
        if event in sub.events:
            delivery_id = uuid.uuid4().hex
            payload = {"delivery_id": delivery_id, "event": event, **body, "created_at": created}
            rows.append((delivery_id, sub.id, event, orjson.dumps(payload).decode(), now_us))
    if rows:
        store.add_deliveries(rows)
    return len(rows)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (no replays)."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff_s(attempt: int, rng: random.Random) -> float:
    """Seconds before retry ``attempt + 1``: doubling from ``FIRST_RETRY_S``, capped, with jitter (50 to 100 %)."""
    return float(min(LONGEST_WAIT_S, FIRST_RETRY_S * 2.0 ** (attempt - 1)) * rng.uniform(0.5, 1.0))


@dataclass
class Attempt:
    status_code: int | None
    error: str | None


def post(delivery: Delivery, now_s: float) -> Attempt:
    """One signed POST; 2xx is delivered, anything else (or no answer) is an error to retry."""
    body = delivery.payload.encode()
    timestamp = str(int(now_s))
    request = urllib.request.Request(
        delivery.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "leadscore-webhooks/1",
            "X-Leadscore-Delivery": delivery.delivery_id,
            "X-Leadscore-Event": delivery.event,
            "X-Leadscore-Timestamp": timestamp,
            "X-Leadscore-Signature": sign(delivery.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
            return Attempt(reply.status, None)
    except urllib.error.HTTPError as exc:
        return Attempt(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Attempt(None, f"{type(exc).__name__}: {reason}")


def deliver_due(store: Store, rng: random.Random, limit: int = 100) -> int:
    """Claims the due deliveries, sends each, and records the outcome; returns how many were attempted."""
    now_us = time.time_ns() // 1000
    with store.transaction():
        lease_s = float(os.environ.get("LEADSCORE_DELIVERY_LEASE_SECONDS", LEASE_S))
        claimed = store.claim_deliveries(now_us, int(lease_s * 1_000_000), limit)
    for delivery in claimed:
        started = time.monotonic()
        attempt = post(delivery, time.time())
        duration_us = int((time.monotonic() - started) * 1_000_000)
        number = delivery.attempts + 1
        retry_at = None
        if attempt.error is not None and number < MAX_ATTEMPTS:
            retry_at = time.time_ns() // 1000 + int(backoff_s(number, rng) * 1_000_000)
        with store.transaction():
            store.finish_delivery(
                delivery.delivery_id,
                number,
                time.time_ns() // 1000,
                duration_us,
                attempt.status_code,
                attempt.error,
                retry_at,
            )
    return len(claimed)
