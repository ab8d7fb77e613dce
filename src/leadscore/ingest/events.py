"""Turns one source row into an ``EventRecord``, or into a ``Reject`` saying why not.

Recognised columns (CSV) or keys (JSONL), compared ignoring case, the first alias present winning:
``id``/``event_id``, ``lead_id``, ``email``, ``type``/``event``, ``occurred_at``/``timestamp`` and
``properties``. Everything else is a property. An ``EventMapping`` (``event_mapping``) names columns for
any of these roles, renames or drops property columns, and maps the source's event names to event types.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from leadscore.ingest.errors import IngestError
from leadscore.ingest.event_mapping import EventMapping
from leadscore.ingest.mapping import column_key
from leadscore.ingest.records import EventRecord, Reject
from leadscore.ingest.values import normalize_email, parse_timestamp, text_or_none

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "event_id"),
    "lead_id": ("lead_id",),
    "email": ("email",),
    "type": ("type", "event"),
    "occurred_at": ("occurred_at", "timestamp"),
    "properties": ("properties",),
}


def resolve_columns(
    columns: Iterable[str], mapping: EventMapping | None = None, source: str = "", *, strict: bool = True
) -> dict[str, str]:
    """Which column plays each role: ``{"type": "event", ...}`` for the columns present. The mapping's
    columns come first (see ``EventMapping.roles_for`` for ``strict``); a role it leaves out goes to the
    first alias that the mapping does not claim."""
    columns = list(columns)
    roles = mapping.roles_for(columns, source, strict=strict) if mapping is not None else {}
    claimed = mapping.claimed() if mapping is not None else set()
    present = {column_key(c): c for c in columns if column_key(c) not in claimed}
    for role, aliases in ALIASES.items():
        if role in roles:
            continue
        for alias in aliases:
            if alias in present:
                roles[role] = present[alias]
                break
    return roles


def check_columns(roles: dict[str, str], source: str, header: Sequence[str]) -> None:
    missing = []
    if "lead_id" not in roles and "email" not in roles:
        missing.append("lead_id or email")
    if "type" not in roles:
        missing.append("type (or event)")
    if "occurred_at" not in roles:
        missing.append("occurred_at (or timestamp)")
    if missing:
        raise IngestError(source, f"expected columns {', '.join(missing)} for events; header: {list(header)}")


class _BadValue(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason


def derived_id(lead_id: str | None, email: str | None, kind: str, at: datetime, props: dict[str, Any]) -> str:
    """An id made from the event's content, for sources without one: loading the file twice adds nothing."""
    content = json.dumps([lead_id, email, kind, at.isoformat(), props], sort_keys=True, default=str)
    return "auto-" + hashlib.blake2b(content.encode(), digest_size=12).hexdigest()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _nested(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text else None
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a JSON object: {exc.msg} at column {exc.colno}") from None
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def build_event(values: dict[str, Any], props: dict[str, Any], roles: dict[str, str]) -> EventRecord:
    """``values`` holds the recognised roles' raw values; raises ``_BadValue`` naming the column."""
    role = "lead_id"
    try:
        lead_id = text_or_none(values.get("lead_id"))
        role = "email"
        email = values.get("email")
        email = None if _empty(email) else normalize_email(email)
        if lead_id is None and email is None:
            named = " or ".join(roles[r] for r in ("lead_id", "email") if r in roles) or "lead_id or email"
            field = roles.get("lead_id") or roles.get("email") or "lead_id"
            raise _BadValue(field, f"expected {named} to say whose event it is")
        role = "type"
        kind = text_or_none(values.get("type"))
        if kind is None:
            raise _BadValue(roles.get("type", "type"), "expected the event type, got nothing")
        role = "occurred_at"
        when = values.get("occurred_at")
        if _empty(when):
            raise _BadValue(roles.get("occurred_at", "occurred_at"), "expected when the event occurred, got nothing")
        occurred_at = parse_timestamp(when)
        role = "properties"
        nested = _nested(values.get("properties"))
        if nested:
            props = {**props, **nested}
        role = "id"
        event_id = text_or_none(values.get("id")) or derived_id(lead_id, email, kind, occurred_at, props)
    except ValueError as exc:
        raise _BadValue(roles.get(role, role), str(exc)) from None
    return EventRecord(id=event_id, type=kind, occurred_at=occurred_at, lead_id=lead_id, email=email, properties=props)


class CsvEventReader:
    """Reads event rows of one CSV header; property columns are every column without a role."""

    def __init__(self, header: Sequence[str], source: str, mapping: EventMapping | None = None) -> None:
        self.source = source
        self.header = list(header)
        self.roles = resolve_columns(header, mapping, source)
        check_columns(self.roles, source, header)
        index = {column: i for i, column in enumerate(header)}
        self._role_index = [(role, index[column]) for role, column in self.roles.items()]
        taken = set(self.roles.values())
        self._property_index = [
            (name, i)
            for i, column in enumerate(header)
            if column not in taken and (name := _property_name(mapping, column)) is not None
        ]
        self._event_types = mapping.event_types if mapping is not None else {}

    def read(self, cells: list[str], line: int) -> EventRecord | Reject:
        if len(cells) != len(self.header):
            reason = f"expected {len(self.header)} values (one per header column), got {len(cells)}"
            return Reject(self.source, line, reason, raw=cells)
        values = {role: cells[i] for role, i in self._role_index}
        props = {}
        for column, i in self._property_index:
            cell = cells[i].strip()
            if cell:
                props[column] = cell
        try:
            event = build_event(values, props, self.roles)
        except _BadValue as bad:
            return Reject(
                self.source, line, bad.reason, field=bad.field, raw=dict(zip(self.header, cells, strict=True))
            )
        return _placed(event, self.source, line, self._event_types)


def _property_name(mapping: EventMapping | None, column: str) -> str | None:
    return column if mapping is None else mapping.property_name(column)


def _placed(event: EventRecord, source: str, line: int, event_types: Mapping[str, str]) -> EventRecord:
    """The event with its place in the source, under the type a mapping gives the source's name for it."""
    if event_types:
        event.type = event_types.get(event.type, event.type)
    event.source = source
    event.line = line
    return event


def _object_event(
    obj: dict[str, Any],
    line: int,
    source: str,
    roles: dict[str, str],
    props: dict[str, Any],
    event_types: Mapping[str, str],
) -> EventRecord | Reject:
    """One JSONL object as an event, its roles and properties already worked out; a role's key the object
    lacks is an empty value, which ``build_event`` rejects naming the key."""
    values = {role: obj.get(key) for role, key in roles.items()}
    try:
        event = build_event(values, props, roles)
    except _BadValue as bad:
        return Reject(source, line, bad.reason, field=bad.field, raw=obj)
    return _placed(event, source, line, event_types)


@lru_cache(maxsize=512)
def _object_roles(keys: tuple[str, ...]) -> tuple[dict[str, str], frozenset[str]]:
    # JSONL lines of one file share their keys: resolve each key set once. Callers must not mutate.
    roles = resolve_columns(keys)
    return roles, frozenset(roles.values())


def read_event_object(obj: dict[str, Any], line: int, source: str) -> EventRecord | Reject:
    """A JSONL event: recognised keys take their roles, every other key with a value is a property."""
    roles, taken = _object_roles(tuple(obj))
    props = {k: v for k, v in obj.items() if k not in taken and v is not None and v != ""}
    return _object_event(obj, line, source, roles, props, {})


class JsonEventReader:
    """``read_event_object`` through an ``EventMapping``: roles and property names are worked out once per
    key set, as the lines of one file share theirs."""

    def __init__(self, source: str, mapping: EventMapping) -> None:
        self.source = source
        self.mapping = mapping
        self._plans: dict[tuple[str, ...], tuple[dict[str, str], dict[str, str]]] = {}

    def _plan(self, keys: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
        plan = self._plans.get(keys)
        if plan is None:
            if len(self._plans) >= 512:
                self._plans.clear()
            roles = resolve_columns(keys, self.mapping, self.source, strict=False)
            taken = set(roles.values())
            names = {k: n for k in keys if k not in taken and (n := self.mapping.property_name(k)) is not None}
            plan = self._plans[keys] = (roles, names)
        return plan

    def read(self, obj: dict[str, Any], line: int) -> EventRecord | Reject:
        roles, names = self._plan(tuple(obj))
        props = {name: obj[key] for key, name in names.items() if obj[key] is not None and obj[key] != ""}
        return _object_event(obj, line, self.source, roles, props, self.mapping.event_types)
