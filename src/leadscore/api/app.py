"""The FastAPI application: ingest, reads, health. ``create_app`` for tests and embedding;
``from_environment`` is the factory ``leadscore serve`` gives uvicorn (one per worker process)."""

from __future__ import annotations

import base64
import binascii
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware

from leadscore.api import errors, models, observability, webhooks
from leadscore.api.auth import Gate, KeyCache, RateLimiter, requires
from leadscore.api.errors import ApiError
from leadscore.api.ingest_http import FastIngest, Handoff, IngestEndpoint, ingest, refuse_declared_length
from leadscore.api.render import account_score_out, history_out, prediction_out, score_out, transitions_out
from leadscore.api.schemas import (
    EVENT_BODY,
    LEAD_BODY,
    SEGMENT_IDENTIFY,
    SEGMENT_TRACK,
    AccountDetail,
    BatchResult,
    LeadDetail,
    LeadPage,
    body_of,
)
from leadscore.ingest.segment import identify_lead, track_event
from leadscore.service.delivery import DeliveryWorker, Schedule
from leadscore.service.keys import ApiKey
from leadscore.service.live import LiveService
from leadscore.service.project import LoadedModel, ServerConfig, load_project
from leadscore.store.score_queries import ScoreFilter
from leadscore.store.url import open_store

#: Lead states a server process keeps warm, in matched occurrences (see ``Scorer``).
SERVER_STATE_CACHE = 20_000

# Module level: FastAPI resolves these (string) annotations in this module's namespace.
IngestKey = Annotated[ApiKey, Depends(requires("ingest"))]
ReadKey = Annotated[ApiKey, Depends(requires("read"))]


def create_app(
    service: LiveService, config: ServerConfig | None = None, deliveries: DeliveryWorker | None = None
) -> FastAPI:
    """The app on a service; with ``deliveries``, webhook deliveries are sent from this process too."""
    config = config or ServerConfig()
    handoff = Handoff()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if deliveries is not None:
            service.on_commit = deliveries.notify
            service.on_queue = deliveries.queued
            service.on_wait = deliveries.hurry
            deliveries.start()
        yield
        if deliveries is not None:
            deliveries.stop()
        handoff.close()
        service.store.close()

    app = FastAPI(title="leadscore", version="1", lifespan=lifespan)
    app.state.service = service
    app.state.config = config
    app.state.keys = KeyCache(config.key_cache_seconds)
    limiter = RateLimiter(config.rate_limit_per_minute) if config.rate_limit_per_minute else None
    app.state.gate = Gate(service, app.state.keys, limiter)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["*"], allow_headers=["*"])
    events = IngestEndpoint("/v1/events", service.ingest_events, "events")
    leads = IngestEndpoint("/v1/leads", service.upsert_leads, "leads")
    track = IngestEndpoint("/v1/track", service.ingest_events, "track", track_event)
    identify = IngestEndpoint("/v1/identify", service.upsert_leads, "identify", identify_lead)
    app.add_middleware(
        FastIngest, endpoints=[events, leads, track, identify], config=config, gate=app.state.gate, handoff=handoff
    )
    errors.install(app)
    observability.install(app, service)
    app.include_router(webhooks.router)
    app.include_router(models.router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up. On the event loop: a hand-off to a thread would cost more than the answer."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> dict[str, str]:
        """The store answers: the process can take traffic."""
        try:
            service.run(lambda store: store.seq_bounds())
        except Exception as exc:
            raise ApiError(503, "not_ready", f"the store does not answer: {type(exc).__name__}") from None
        return {"status": "ready"}

    @app.post("/v1/events", **ingest_route(EVENT_BODY, config))
    async def post_events(request: Request, key: IngestKey) -> Any:
        """One event, or a JSON array of up to ``max_batch``. A 2xx reply means every accepted event is
        durably stored; it is scored moments later, and reads wait for that. A re-sent id changes nothing
        (it is counted as a duplicate once its first copy is scored)."""
        return await _ingest(request, events, config, handoff)

    @app.post("/v1/leads", **ingest_route(LEAD_BODY, config))
    async def post_leads(request: Request, key: IngestKey) -> Any:
        """Upserts one lead or a JSON array of leads, by id, else email, and rescores them."""
        return await _ingest(request, leads, config, handoff)

    @app.post("/v1/track", **ingest_route(SEGMENT_TRACK, config))
    async def post_track(request: Request, key: IngestKey) -> Any:
        """Segment ``track`` calls as they are (one, an array, or ``{"batch": [...]}``), stored as events."""
        return await _ingest(request, track, config, handoff)

    @app.post("/v1/identify", **ingest_route(SEGMENT_IDENTIFY, config))
    async def post_identify(request: Request, key: IngestKey) -> Any:
        """Segment ``identify`` calls as they are: the user becomes a lead, its traits lead fields."""
        return await _ingest(request, identify, config, handoff)

    @app.get("/v1/leads/{ref}", response_model=LeadDetail, tags=["read"])
    def get_lead(ref: str, key: ReadKey) -> Any:
        """A lead by id or email: its score per model with the breakdown by rule, history and stage changes."""

        service.catch_up()
        scoring = {m.model.key for m in service.current_models()}

        def load(store: Any) -> LeadDetail | None:
            seq = store.find_lead(ref)
            if seq is None:
                return None
            scores = [s for s in store.scores_for_lead(seq) if s.model in scoring]
            lead_id = scores[0].lead_id if scores else ref
            return LeadDetail(
                id=lead_id,
                scores=[score_out(s, contributions=True) for s in scores],
                predictions=[prediction_out(p) for p in store.predictions([seq]).get(seq, [])],
                history=history_out(store.score_history(seq)),
                stage_transitions=transitions_out(store.stage_transitions(seq)),
            )

        detail = service.run(load)
        if detail is None:
            raise ApiError(404, "not_found", f"no lead with id or email {ref!r}")
        return detail

    @app.get("/v1/leads", response_model=LeadPage, tags=["read"])
    def list_leads(
        key: ReadKey,
        model: str | None = None,
        tier: str | None = None,
        stage: str | None = None,
        grade: str | None = None,
        account: str | None = None,
        min_score: Annotated[float | None, Query(ge=-1e12, le=1e12)] = None,
        max_score: Annotated[float | None, Query(ge=-1e12, le=1e12)] = None,
        sort: Literal["score", "changed"] = "score",
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Any:
        """Current scores under one model (the first by default), highest first or most recently written
        first, a page at a time: pass ``next_cursor`` back as ``cursor`` for the next page."""
        where = ScoreFilter(
            _model_key(model),
            tier,
            stage,
            grade,
            account,
            round(min_score * 100) if min_score is not None else None,
            round(max_score * 100) if max_score is not None else None,
        )
        after = _decode_cursor(cursor) if cursor else None
        service.catch_up()
        rows = service.run(lambda store: store.list_scores(where, sort=sort, after=after, limit=limit + 1))
        more = len(rows) > limit
        page = rows[:limit]
        return LeadPage(
            items=[score_out(s, contributions=False) for s, _ in page],
            next_cursor=_encode_cursor(page[-1][1]) if more else None,
        )

    @app.get("/v1/accounts/{account_id}", response_model=AccountDetail, tags=["read"])
    def get_account(
        account_id: str,
        key: ReadKey,
        model: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Any:
        """An account's rolled-up score under each model, and its leads under ``model`` (the first by default),
        highest first, a page at a time."""
        service.catch_up()
        scoring = service.current_models()
        keys = {m.model.key for m in scoring}
        where = ScoreFilter(_model_key(model, scoring), account_id=account_id)
        after = _decode_cursor(cursor) if cursor else None

        def load(store: Any) -> AccountDetail | None:
            account = store.account(account_id)
            if account is None:
                return None
            rows = store.list_scores(where, sort="score", after=after, limit=limit + 1)
            page = rows[:limit]
            return AccountDetail(
                id=account["id"],
                domain=account["domain"],
                fields=account["fields"],
                scores=[account_score_out(row) for row in store.account_scores(account_id) if row["model"] in keys],
                leads=[score_out(s, contributions=False) for s, _ in page],
                next_cursor=_encode_cursor(page[-1][1]) if len(rows) > limit else None,
            )

        detail = service.run(load)
        if detail is None:
            raise ApiError(404, "not_found", f"no account {account_id!r}")
        return detail

    def _model_key(model: str | None, scoring: list[LoadedModel] | None = None) -> str:
        """A scoring model's key: ``name@version``, or a name for its active version; the first by default."""
        scoring = scoring if scoring is not None else service.current_models()
        if model is None:
            return scoring[0].model.key
        for loaded in scoring:
            if model == loaded.model.key:
                return model
        for loaded in scoring:
            if model == loaded.model.name:
                return loaded.model.key
        names = ", ".join(m.model.key for m in scoring)
        raise ApiError(422, "invalid_request", f"unknown model {model!r}", [{"field": "model", "reason": names}])

    return app


def ingest_route(schema: dict[str, Any], config: ServerConfig) -> dict[str, Any]:
    """What every ingest endpoint declares: one item or an array, the batch result, and its 4xx answers."""
    return {
        "response_model": BatchResult,
        "tags": ["ingest"],
        "openapi_extra": body_of(schema, config.max_batch),
        "responses": {422: {"description": "no item could be used"}, 413: {"description": "body too large"}},
    }


async def _ingest(request: Request, endpoint: IngestEndpoint, config: ServerConfig, handoff: Handoff) -> Any:
    """The FastAPI route's way in to ``ingest`` (cross-origin requests; ``FastIngest`` answers the rest)."""
    refuse_declared_length(config, request.headers.get("content-length"))
    return await ingest(endpoint, await request.body(), config, handoff)


def _encode_cursor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value, seq = text.split(":")
        return int(value), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API gave out") from None


def from_environment() -> FastAPI:
    """The app for ``leadscore serve``: the project from LEADSCORE_PROJECT, the database from
    LEADSCORE_DATABASE (else the project's), and LEADSCORE_* overrides of the ``server:`` settings."""
    root = Path(os.environ.get("LEADSCORE_PROJECT", "."))
    project = load_project(root, os.environ.get("LEADSCORE_DATABASE") or None)
    config = project.config.server
    overrides: dict[str, Any] = {}
    if "LEADSCORE_MAX_BODY_BYTES" in os.environ:
        overrides["max_body_bytes"] = int(os.environ["LEADSCORE_MAX_BODY_BYTES"])
    if "LEADSCORE_MAX_BATCH" in os.environ:
        overrides["max_batch"] = int(os.environ["LEADSCORE_MAX_BATCH"])
    if "LEADSCORE_CORS_ORIGINS" in os.environ:
        overrides["cors_origins"] = [o for o in os.environ["LEADSCORE_CORS_ORIGINS"].split(",") if o]
    if "LEADSCORE_KEY_CACHE_SECONDS" in os.environ:
        overrides["key_cache_seconds"] = float(os.environ["LEADSCORE_KEY_CACHE_SECONDS"])
    if "LEADSCORE_RATE_LIMIT" in os.environ:
        overrides["rate_limit_per_minute"] = int(os.environ["LEADSCORE_RATE_LIMIT"]) or None
    if overrides:
        config = ServerConfig.model_validate({**config.model_dump(), **overrides})
    store = open_store(project.database, base=project.root)
    store.defer_checkpoints()  # its scorer process checkpoints; requests never wait for one
    tick_s = float(os.environ.get("LEADSCORE_TICK_SECONDS", "60"))  # 0: this process runs no scheduler
    level, form = os.environ.get("LEADSCORE_LOG_LEVEL"), os.environ.get("LEADSCORE_LOG_FORMAT", "json")
    place = Schedule(str(project.root), project.database, tick_s, level, form)
    worker = DeliveryWorker(
        lambda: open_store(project.database, base=project.root),
        schedule=place if tick_s > 0 else None,
        scoring=place,
    )
    # This process only appends events to the queue; its few lead states are for lead upserts. A large
    # cache of them would make each full garbage collection, which stops every request, take longer.
    service = LiveService(store, project.models, score_inline=False, state_cache=SERVER_STATE_CACHE)
    app = create_app(service, config, worker)
    # What exists now (modules, the app, its schemas) lives as long as the process: the collector need
    # not scan it again. A full collection took 190 to 250 ms before (bench/server.py, 2026-11-23).
    gc.freeze()
    return app
