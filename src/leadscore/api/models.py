"""Model versions over the API (admin scope): upload, list with history, dry run, activate, roll back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from leadscore.api.auth import requires
from leadscore.api.errors import ApiError
from leadscore.engine.types import to_micros
from leadscore.model.loader import ModelError
from leadscore.service import versions
from leadscore.service.keys import ApiKey
from leadscore.service.live import LiveService

AdminKey = Annotated[ApiKey, Depends(requires("admin"))]
router = APIRouter(prefix="/v1/models", tags=["models"])


class ModelUpload(BaseModel):
    source: str = Field(max_length=2_000_000, description="The model's YAML, as in a model file.")


class StoredVersion(BaseModel):
    key: str
    name: str
    version: str
    sha256: str
    created: bool | None = None
    active: bool | None = None
    source: str | None = None


def _service(request: Request) -> LiveService:
    service: LiveService = request.app.state.service
    return service


def _failed(exc: versions.VersionError) -> ApiError:
    return ApiError(exc.status, "not_found" if exc.status == 404 else "conflict", str(exc))


@router.post("", response_model=StoredVersion, status_code=201, responses={200: {"model": StoredVersion}})
def upload(body: ModelUpload, request: Request, response: Response, key: AdminKey) -> Any:
    """Validates and stores a new version (it does not score until activated). 201 when new, 200 when the
    same content is sent again, 409 when the ``name@version`` is taken by other content, 422 listing every
    problem with its line and field when the model is invalid."""
    if "\x00" in body.source:
        raise ApiError(422, "invalid_model", "the model is not valid", [{"field": "source", "reason": "NUL"}])
    now_us = to_micros(datetime.now(UTC))
    try:
        stored, created = _service(request).run(lambda store: versions.upload(store, body.source, now_us))
    except ModelError as exc:
        details = [{"field": i.field, "line": i.line, "column": i.column, "reason": i.message} for i in exc.issues]
        raise ApiError(422, "invalid_model", f"the model has {len(details)} problem(s)", details) from None
    except versions.VersionError as exc:
        raise _failed(exc) from None
    if not created:
        response.status_code = 200
    return StoredVersion(**stored, created=created)


@router.get("")
def list_models(request: Request, key: AdminKey) -> list[dict[str, Any]]:
    """Every model name: its active version, its stored versions and its activation log."""
    return _service(request).run(versions.history)


@router.get("/{model_key}", response_model=StoredVersion)
def get_version(model_key: str, request: Request, key: AdminKey) -> Any:
    """One stored version with its YAML source."""

    def load(store: Any) -> StoredVersion | None:
        stored = store.model_source(model_key)
        if stored is None:
            return None
        name, version, source = stored
        active = store.active_models().get(name) == model_key
        digest = hashlib.sha256(source.encode()).hexdigest()
        return StoredVersion(key=model_key, name=name, version=version, sha256=digest, active=active, source=source)

    found = _service(request).run(load)
    if found is None:
        raise ApiError(404, "not_found", f"no stored model version {model_key!r}")
    return found


@router.post("/{model_key}/dry-run")
def dry_run(
    model_key: str, request: Request, key: AdminKey, sample: Annotated[int, Query(ge=0, le=500)] = versions.SAMPLE
) -> dict[str, Any]:
    """What activating this version would change, writing nothing: every lead scored by it now against the
    active version's current score, with counts of tier and stage changes and a sample of changed leads."""
    now = datetime.now(UTC)
    try:
        result = _service(request).run(lambda store: versions.dry_run(store, model_key, now, sample))
    except versions.VersionError as exc:
        raise _failed(exc) from None
    return result.as_dict()


@router.post("/{model_key}/activate")
def activate(model_key: str, request: Request, key: AdminKey) -> dict[str, Any]:
    """Makes this version its name's active one and rescores every lead with it, in one transaction; tier
    and stage webhooks fire for leads it changes, and ``model_activated`` once."""
    return _activation(request, lambda store, now: versions.activate(store, model_key, now))


@router.post("/{name}/rollback")
def rollback(name: str, request: Request, key: AdminKey) -> dict[str, Any]:
    """Re-activates the version the current one replaced (and rescores everyone with it)."""
    return _activation(request, lambda store, now: versions.rollback(store, name, now))


def _activation(request: Request, action: Any) -> dict[str, Any]:
    service = _service(request)
    now = datetime.now(UTC)
    try:
        done: versions.Activation = service.run(lambda store: action(store, now))
    except versions.VersionError as exc:
        raise _failed(exc) from None
    if service.on_commit is not None:
        service.on_commit()  # the activation owes webhooks: send them now
    comparison = done.comparison.as_dict()
    del comparison["sample"]
    return {
        "model": done.model,
        "previous": done.previous,
        "cause": done.cause,
        "activated_at": done.activated_at,
        "webhooks": done.webhooks,
        "summary": comparison,
    }
