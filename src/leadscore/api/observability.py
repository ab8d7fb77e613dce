"""Prometheus ``/metrics`` and structured JSON logs for the server.

Counters and the latency histogram are per process; with several workers, ``leadscore serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a folder they share, so that one scrape sees them all. The webhook figures
are read from the store at scrape time, so they cover every process and survive restarts.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadscore.service.live import LiveService

INGESTED = Counter("leadscore_ingested_total", "Items stored by ingest endpoints", ["endpoint", "outcome"])
LATENCY = Histogram(
    "leadscore_request_seconds",
    "Time to answer a request",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def count_ingest(endpoint: str, accepted: int, duplicates: int, rejected: int) -> None:
    for outcome, number in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
        if number:
            INGESTED.labels(endpoint, outcome).inc(number)


class Timed:
    """ASGI middleware timing each request by its route template (bounded label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(scope["method"], path, str(status)).observe(time.perf_counter() - started)


def install(app: FastAPI, service: LiveService) -> None:
    app.add_middleware(Timed)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format: ingest counts, request latency, the webhook outbox by status, and the
        event queue's backlog."""
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            body = generate_latest(registry)
        else:
            body = generate_latest()
        counts, queued = service.run(lambda store: (store.outbox_counts(), store.queue_bounds()))
        lines = ["# HELP leadscore_webhook_deliveries Webhook deliveries by status (pending is the backlog)",
                 "# TYPE leadscore_webhook_deliveries gauge"]  # fmt: skip
        lines += [f'leadscore_webhook_deliveries{{status="{status}"}} {number}' for status, number in counts.items()]
        # Acknowledged events not yet scored, as the span of queue ids (an upper bound on their number).
        lines += ["# HELP leadscore_event_queue Events acknowledged and not yet scored (at most)",
                  "# TYPE leadscore_event_queue gauge",
                  f"leadscore_event_queue {queued[1] - queued[0] + 1 if queued else 0}"]  # fmt: skip
        return Response(body + ("\n".join(lines) + "\n").encode(), media_type=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, and any ``extra`` fields."""

    _standard = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: every logger (uvicorn's, the access log, leadscore's) as JSON on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "leadscore.api.observability.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "leadscore")
        },
    }
