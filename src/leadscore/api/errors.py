"""Every error is JSON: ``{"error": {"code", "message", "details"}}``, with a 4xx status for bad input,
and 503 when the database cannot be used at the moment."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send


class RefuseNul:
    """ASGI middleware: no database stores a NUL character, so a URL holding one is refused before routing.
    (Plain ASGI, not ``@app.middleware``: Starlette's ``BaseHTTPMiddleware`` costs every request.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = bytes(scope.get("raw_path") or b"") + scope["path"].encode() + b"?" + scope.get("query_string", b"")
            if b"\x00" in raw or b"%00" in raw:
                body = error_body("invalid_request", "expected a URL without NUL characters")
                await JSONResponse(body, 400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: What a database that cannot be used at the moment raises (``leadscore.service.live.store_unavailable``).
UNAVAILABLE: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers


def unavailable() -> ApiError:
    """The database cannot be used at the moment (a server restarting, a lock held past the busy timeout):
    nothing is wrong with the request, and nothing of it was acknowledged. Send it again."""
    return ApiError(
        503,
        "store_unavailable",
        "the database is unavailable at the moment; send the request again",
        [],
        {"Retry-After": "1"},
    )


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def install(app: FastAPI) -> None:
    app.add_middleware(RefuseNul)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers)

    async def store_down(request: Request, exc: Exception) -> JSONResponse:
        error = unavailable()
        return JSONResponse(error_body(error.code, error.message), error.status, headers=error.headers)

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, store_down)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        return JSONResponse(error_body("invalid_request", "the request does not match the API", details), 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)
