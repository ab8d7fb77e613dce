"""Event mappings: which source column plays which role in an event file, and what the tool calls its types.

Activity exports name things their own way (HubSpot's ``Activity Date``, Marketo's ``Activity Type ID``,
a warehouse's ``event_name``). A mapping names the columns; a role it leaves out is found by the usual
aliases (``docs/ingest.md``). It can rename property columns and turn the source's activity names into the
event types a scoring model matches (``Email Opened`` -> ``email_open``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field, model_validator

from leadscore.ingest.errors import IngestError
from leadscore.ingest.mapping import TypedName, _Strict, column_key, parse_mapping, read_mapping_text

#: The roles a column can play in an event row, in the order a mapping file lists them.
ROLES: tuple[str, ...] = ("id", "lead_id", "email", "type", "occurred_at", "properties")


class EventMapping(_Strict):
    """Source columns to event roles and properties. Column names match ignoring case and surrounding spaces."""

    name: str = "custom"
    description: str = ""
    id: str | None = None
    lead_id: str | None = None
    email: str | None = None
    type: str | None = None
    occurred_at: str | None = None
    properties: str | None = None  # a column holding a JSON object of properties
    #: Property columns under another name (``Page URL: url``); the rest keep theirs, unless ``keep_unmapped`` is off.
    rename: dict[str, TypedName] = Field(default_factory=dict)
    keep_unmapped: bool = True
    ignore: list[str] = Field(default_factory=list)
    #: The source's event names to the model's event types; a name not listed is kept as it is.
    event_types: dict[str, str] = Field(default_factory=dict)

    def _named(self) -> list[tuple[str, str]]:
        """(where, column) for every column the mapping names: a role, a new name, or ignored."""
        named = [(r, getattr(self, r)) for r in ROLES if getattr(self, r) is not None]
        return named + [(f"rename.{c}", c) for c in self.rename] + [(f"ignore.{c}", c) for c in self.ignore]

    @model_validator(mode="after")
    def _each_column_once(self) -> EventMapping:
        seen: dict[str, str] = {}
        for place, column in self._named():
            key = column_key(column)
            if key in seen:
                raise ValueError(f"expected each column once, got {column!r} in both {seen[key]} and {place}")
            seen[key] = place
        return self

    def roles_for(self, columns: Sequence[str], source: str, *, strict: bool = True) -> dict[str, str]:
        """The role columns this mapping names, as the header spells them.

        In a CSV header (``strict``) a named column that is missing stops the file before its first row,
        because every row would be rejected for it. A JSONL line may simply lack a key: the role keeps the
        mapping's name, so that the line is rejected naming it, and no alias stands in for it."""
        present = {column_key(c): c for c in columns}
        roles: dict[str, str] = {}
        for role in ROLES:
            wanted = getattr(self, role)
            if wanted is None:
                continue
            if column_key(wanted) in present:
                roles[role] = present[column_key(wanted)]
            elif strict:
                raise IngestError(
                    source, f"mapping {self.name!r} names column {wanted!r} for {role}; header: {list(columns)}"
                )
            else:
                roles[role] = wanted
        return roles

    def claimed(self) -> set[str]:
        """Column keys no alias may take: those the mapping gives a role, a new name, or ignores."""
        return {column_key(column) for _, column in self._named()}

    def property_name(self, column: str) -> str | None:
        """What a column without a role is called as a property, or None when it is left out."""
        key = column_key(column)
        for source, name in self.rename.items():
            if column_key(source) == key:
                return name
        if any(column_key(c) == key for c in self.ignore) or not self.keep_unmapped:
            return None
        return column


def loads_event_mapping(text: str, file: str = "<mapping>") -> EventMapping:
    """Parses and validates an event mapping; raises ``MappingError`` naming the file, line and field."""
    return parse_mapping(text, file, EventMapping, "expected a mapping of event roles to columns")


def load_event_mapping(path: str | Path) -> EventMapping:
    return loads_event_mapping(read_mapping_text(path), str(path))
