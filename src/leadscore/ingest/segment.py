"""Segment's ``track`` and ``identify`` calls as leadscore events and leads, so that Segment, RudderStack and
Jitsu can send to leadscore unchanged (https://segment.com/docs/connections/spec/).

``track``: ``messageId`` is the event id, ``userId`` the lead id (else ``anonymousId``), the email comes
from ``context.traits.email`` or ``properties.email``, and the time from ``timestamp`` (else
``originalTimestamp``, else ``sentAt``). The event name becomes the event type in snake_case ("Demo
Requested" is ``demo_requested``), with the name as sent kept in the ``segment_event`` property.

``identify``: ``userId`` is the lead id, and the traits become lead fields. The spec's reserved traits map to
leadscore's field names (``firstName`` to ``first_name``, ``company.employee_count`` to ``company_size``,
``address.country`` to ``country``, and so on). Other traits are kept in snake_case.
"""

from __future__ import annotations

from typing import Any

from leadscore.ingest.values import snake_case

#: Segment's reserved traits (flattened with dots) and the lead fields they fill.
TRAITS = {
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "title": "title",
    "phone": "phone",
    "industry": "industry",
    "employees": "company_size",
    "website": "company_domain",
    "createdAt": "created_at",
    "company.name": "company",
    "company.industry": "industry",
    "company.employee_count": "company_size",
    "company.id": "account_id",
    "address.country": "country",
    "address.city": "city",
    "address.state": "state",
}


class SegmentError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _object(call: dict[str, Any], key: str) -> dict[str, Any]:
    value = call.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SegmentError(key, f"expected a JSON object, got {type(value).__name__}")
    return value


def track_event(call: dict[str, Any]) -> dict[str, Any]:
    """A Segment ``track`` call as a leadscore event object (as ``POST /v1/events`` takes)."""
    if call.get("type", "track") != "track":
        raise SegmentError("type", f"expected a track call, got {call.get('type')!r}")
    name = call.get("event")
    if not isinstance(name, str) or not snake_case(name):
        raise SegmentError("event", "expected the event name, got nothing")
    properties = _object(call, "properties")
    traits = _object(_object(call, "context"), "traits")
    lead_id = call.get("userId") or call.get("anonymousId")
    email = traits.get("email") or properties.get("email")
    if not lead_id and not email:
        raise SegmentError("userId", "expected userId, anonymousId or context.traits.email to say whose event it is")
    moment = call.get("timestamp") or call.get("originalTimestamp") or call.get("sentAt")
    if not moment:
        raise SegmentError("timestamp", "expected when the event occurred, got nothing")
    event: dict[str, Any] = {
        "type": snake_case(name),
        "occurred_at": moment,
        "properties": {**properties, "segment_event": name},
    }
    if call.get("messageId"):
        event["id"] = str(call["messageId"])
    if lead_id:
        event["lead_id"] = str(lead_id)
    if email:
        event["email"] = email
    return event


def _flatten(traits: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in traits.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name in ("company", "address"):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def identify_lead(call: dict[str, Any]) -> dict[str, Any]:
    """A Segment ``identify`` call as a leadscore lead object (as ``POST /v1/leads`` takes)."""
    if call.get("type", "identify") != "identify":
        raise SegmentError("type", f"expected an identify call, got {call.get('type')!r}")
    traits = _flatten(_object(call, "traits"))
    lead: dict[str, Any] = {}
    for key, value in traits.items():
        if value is None or isinstance(value, dict | list):
            continue
        name = TRAITS.get(key) or snake_case(key.replace(".", "_"))
        lead.setdefault(name, value)
    if call.get("userId"):
        lead["id"] = str(call["userId"])
    if not lead.get("id") and not lead.get("email"):
        raise SegmentError("userId", "expected userId or traits.email to identify the lead")
    return lead
