"""API keys on requests (``Authorization: Bearer ls_…`` or ``X-API-Key``), scopes, and rate limits per key."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from leadscore.api.errors import ApiError
from leadscore.service.keys import ApiKey, verify_key
from leadscore.service.live import LiveService


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of up to that many.

    Each server process keeps its own buckets, so with N workers a key gets up to N times the limit.
    """

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def retry_after(self, key_id: str) -> float:
        """0 when the request may go ahead (and takes a token), else the seconds until it may."""
        now = time.monotonic()
        with self.lock:
            tokens, then = self.buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self.buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self.buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate


def bearer_token(authorization: str | None, api_key: str | None) -> str | None:
    """The key a request presents: ``Authorization: Bearer …``, else ``X-API-Key``."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return api_key or None


class KeyCache:
    """Verified tokens for ``ttl_s`` seconds, so that a request does not wait for the store's connection
    (busy with the write before it) just to check its key. So a revoked key stops working within
    ``ttl_s`` on every server process. Keyed by the token's SHA-256; bounded, then cleared."""

    def __init__(self, ttl_s: float = 5.0, size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.entries: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, token: str) -> tuple[bool, ApiKey | None]:
        entry = self.entries.get(_fingerprint(token))
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token: str, key: ApiKey | None) -> None:
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[_fingerprint(token)] = (time.monotonic() + self.ttl_s, key)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Gate:
    """Who may call: a request's key, checked against the store (through ``KeyCache``), its scopes, and
    the rate limit. One per app, shared by its FastAPI dependencies and its fast ingest path."""

    def __init__(self, service: LiveService, keys: KeyCache, limiter: RateLimiter | None) -> None:
        self.service = service
        self.keys = keys
        self.limiter = limiter

    async def check(self, token: str | None, scope: str) -> ApiKey:
        """The key, which must hold ``scope``: else 401 without a valid key, 403 without the scope, 429 over
        the rate limit."""
        if token is None:
            raise ApiError(401, "unauthorized", "expected an API key: Authorization: Bearer ls_… or X-API-Key")
        hit, key = self.keys.get(token)
        if not hit:
            key = await run_in_threadpool(self.service.run, lambda store: verify_key(store, token))
            self.keys.put(token, key)
        if key is None:
            raise ApiError(401, "unauthorized", "the API key is unknown, malformed or revoked")
        if not key.allows(scope):
            raise ApiError(403, "forbidden", f"this API key lacks the {scope!r} scope")
        if self.limiter is not None:
            wait = self.limiter.retry_after(key.id)
            if wait > 0:
                raise ApiError(
                    429, "rate_limited", "too many requests for this API key", headers={"Retry-After": f"{wait:.0f}"}
                )
        return key


def requires(scope: str) -> Callable[[Request], Awaitable[ApiKey]]:
    """A FastAPI dependency: the request's key, which must hold ``scope`` (see ``Gate.check``)."""

    async def check(request: Request) -> ApiKey:
        gate: Gate = request.app.state.gate
        token = bearer_token(request.headers.get("authorization"), request.headers.get("x-api-key"))
        return await gate.check(token, scope)

    return check
