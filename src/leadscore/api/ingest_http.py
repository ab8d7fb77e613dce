"""The ingest endpoints' HTTP side: body limits, one item or a batch, the per-item answer, and a fast path.

``FastIngest`` answers the ingest endpoints (``POST /v1/events``, ``/v1/track``, ``/v1/leads``,
``/v1/identify``) as plain ASGI, ahead of FastAPI's routing, dependencies and response validation. At 500
single events a second on PostgreSQL, a profile of one server process (py-spy ``--gil``, 2026-11-23) found
79% of the samples under ``FastAPI.__call__`` and 4% in leadscore's ingest. The FastAPI routes stay, for
the OpenAPI schema and for cross-origin requests, which need the CORS middleware; both paths run the same
code below.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from leadscore.api import observability
from leadscore.api.auth import Gate, bearer_token
from leadscore.api.errors import UNAVAILABLE, ApiError, error_body, unavailable
from leadscore.service.live import BatchOutcome
from leadscore.service.project import ServerConfig

Prepare = Callable[[dict[str, Any]], dict[str, Any]]


class IngestEndpoint(NamedTuple):
    """An ingest endpoint: its path, the service call that stores its items, and its metrics label.
    ``prepare`` turns a Segment call into an item, and then ``{"batch": [...]}`` is taken too."""

    path: str
    call: Callable[..., BatchOutcome]
    label: str
    prepare: Prepare | None = None


class Handoff:
    """Runs the service's blocking calls on threads of its own: asyncio's executor costs a request less
    than Starlette's ``run_in_threadpool``. Several threads, so that requests arriving while one commits
    join the next transaction together (``LiveService._ingest``)."""

    def __init__(self, threads: int = 16) -> None:
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="leadscore-ingest")

    async def __call__(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(function, *args))

    def close(self) -> None:
        self.executor.shutdown(wait=False)


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the body is over {limit} bytes")


def refuse_declared_length(config: ServerConfig, declared: str | None) -> None:
    """413 before reading a body whose ``Content-Length`` is over the limit."""
    if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
        raise body_too_large(config.max_body_bytes)


def parse_items(body: bytes, config: ServerConfig, segment: bool) -> tuple[list[Any], bool]:
    """The body's items, and whether it was one object (whose refusal is the whole answer)."""
    if len(body) > config.max_body_bytes:
        raise body_too_large(config.max_body_bytes)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from None
    if segment and isinstance(parsed, dict) and isinstance(parsed.get("batch"), list):
        parsed = parsed["batch"]
    if isinstance(parsed, dict):
        return [parsed], True
    if isinstance(parsed, list):
        if len(parsed) > config.max_batch:
            raise ApiError(413, "too_large", f"a batch holds at most {config.max_batch} items, got {len(parsed)}")
        return parsed, False
    raise ApiError(422, "invalid_request", "expected a JSON object or an array of objects")


async def ingest(endpoint: IngestEndpoint, body: bytes, config: ServerConfig, handoff: Handoff) -> dict[str, Any]:
    """Stores the body's items off the event loop and answers for each: 422 if none could be used."""
    items, single = parse_items(body, config, segment=endpoint.prepare is not None)
    outcome: BatchOutcome = await handoff(endpoint.call, items, datetime.now(UTC), endpoint.prepare)
    count = len(items)
    observability.count_ingest(endpoint.label, outcome.accepted, outcome.duplicates, len(outcome.errors))
    if outcome.errors and (single or len(outcome.errors) == count):
        raise ApiError(422, "invalid_items", "no item could be used", outcome.errors)
    return {
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "rejected": len(outcome.errors),
        "errors": outcome.errors,
    }


class _Route(NamedTuple):
    """What ``Timed`` reads from ``scope["route"]`` for its latency label."""

    path: str


class _Disconnected(Exception):
    pass


#: What the fast path answers as an error: the request's own (4xx), or the database's at the moment (503).
REFUSED: tuple[type[Exception], ...] = (ApiError, *UNAVAILABLE)


class FastIngest:
    """ASGI middleware: the ingest endpoints in ``endpoints`` for ``POST``, answered here; every other
    request, and any request with an ``Origin`` header when CORS is on, goes on to ``app``."""

    def __init__(
        self, app: ASGIApp, endpoints: list[IngestEndpoint], config: ServerConfig, gate: Gate, handoff: Handoff
    ) -> None:
        self.app = app
        self.endpoints = {e.path: e for e in endpoints}
        self.config = config
        self.gate = gate
        self.handoff = handoff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.config.cors_origins and b"origin" in headers:
            await self.app(scope, receive, send)
            return
        scope["route"] = _Route(endpoint.path)
        status, extra = 200, []
        try:
            token = bearer_token(_text(headers.get(b"authorization")), _text(headers.get(b"x-api-key")))
            await self.gate.check(token, "ingest")
            refuse_declared_length(self.config, _text(headers.get(b"content-length")))
            body = await _read_body(receive, self.config.max_body_bytes)
            answer = await ingest(endpoint, body, self.config, self.handoff)
        except REFUSED as exc:
            error = exc if isinstance(exc, ApiError) else unavailable()
            status, answer = error.status, error_body(error.code, error.message, error.details)
            extra = [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()]
        except _Disconnected:
            return
        content = orjson.dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refused (413) once it grows past ``limit`` whatever its declared length."""
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise body_too_large(limit)
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)
