"""Column mappings: which source column holds a lead's id, email and fields, and what type each field has.

A mapping is a small YAML file (see docs/ingest.md). Built-in presets for common CRM exports live in
``leadscore/data/mappings/`` and are picked by the columns of a file's header when no mapping is given.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

from leadscore.ingest.errors import MappingError
from leadscore.ingest.values import FieldType
from leadscore.model.loader import ModelError, ModelIssue, parse_yaml, read_document, validate_document

DEFAULT_MISSING_VALUES: tuple[str, ...] = ("", "NULL", "null", "N/A")
#: Lead attributes that have their own key in a mapping, not an entry in ``fields``.
RECORD_KEYS: tuple[str, ...] = ("id", "email", "created_at", "account_id")
#: Presets in the order they are tried; the first whose ``detect`` matches the header wins.
PRESET_NAMES: tuple[str, ...] = ("hubspot_contacts", "salesforce_leads", "canonical")


def column_key(name: str) -> str:
    """How columns are compared: ``" Email"`` in a header matches ``email`` in a mapping."""
    return name.strip().casefold()


_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _snake_name(name: str) -> str:
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"expected a field name in snake_case (a-z, 0-9, _), got {name!r}")
    return name


def _not_record_key(name: str) -> str:
    if name in RECORD_KEYS:
        raise ValueError(f"{name!r} has its own key: write '{name}: <Source Column>' at the top of the mapping")
    return name


FieldName = Annotated[str, AfterValidator(_snake_name), AfterValidator(_not_record_key)]
TypedName = Annotated[str, AfterValidator(_snake_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Detect(_Strict):
    """A header matches when it has every column in ``all`` and at least one in ``any`` (if given)."""

    all: list[str] = []
    any: list[str] = []

    @model_validator(mode="after")
    def _not_empty(self) -> Detect:
        if not self.all and not self.any:
            raise ValueError("expected 'all' or 'any': the columns that identify this kind of file")
        return self

    def matches(self, columns: Iterable[str]) -> bool:
        present = {column_key(c) for c in columns}
        if any(column_key(c) not in present for c in self.all):
            return False
        return not self.any or any(column_key(c) in present for c in self.any)


class ColumnMapping(_Strict):
    """Source columns to lead fields. Column names match ignoring case and surrounding spaces."""

    name: str = "custom"
    description: str = ""
    detect: Detect | None = None
    id: str | None = None
    email: str | None = None
    created_at: str | None = None
    account_id: str | None = None
    fields: dict[str, FieldName] = {}
    keep_unmapped: bool = False
    types: dict[TypedName, FieldType] = {}
    missing_values: list[str] = list(DEFAULT_MISSING_VALUES)
    datetime_formats: list[str] = []
    ignore: list[str] = []
    require_columns: bool = True

    @field_validator("fields")
    @classmethod
    def _one_column_per_field(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        columns: dict[str, str] = {}
        for column, name in value.items():
            if name in seen:
                raise ValueError(f"expected one column per field, got {seen[name]!r} and {column!r} for {name!r}")
            if column_key(column) in columns:
                raise ValueError(f"expected each column once, got {columns[column_key(column)]!r} and {column!r}")
            seen[name] = column
            columns[column_key(column)] = column
        return value

    @field_validator("types")
    @classmethod
    def _typed_fields_exist(cls, value: dict[str, FieldType], info: ValidationInfo) -> dict[str, FieldType]:
        if info.data.get("keep_unmapped", False) or "fields" not in info.data:
            return value
        produced = set(info.data["fields"].values())
        unknown = sorted(set(value) - produced)
        if unknown:
            raise ValueError(f"expected types only for mapped fields, got {unknown} (not in 'fields')")
        return value

    @model_validator(mode="after")
    def _identifies_leads(self) -> ColumnMapping:
        if self.id is None and self.email is None:
            raise ValueError("expected 'id' or 'email': the column that identifies a lead")
        return self

    def named_columns(self) -> list[str]:
        """Every source column the mapping names, in order, each once."""
        named = [c for c in (self.id, self.email, self.created_at, self.account_id) if c is not None]
        named += [*self.fields, *self.ignore]
        unique: dict[str, str] = {}
        for column in named:
            unique.setdefault(column_key(column), column)
        return list(unique.values())


Schema = TypeVar("Schema", bound=BaseModel)


def parse_mapping(text: str, file: str, schema: type[Schema], expected: str) -> Schema:
    """Parses and validates a mapping file of any kind (``schema``); raises ``MappingError`` naming the
    file, line and field of every problem, and ``expected`` when the document is not a mapping at all."""
    try:
        data, locations = parse_yaml(text, file)
        if not isinstance(data, dict):
            raise MappingError([ModelIssue(file, 1, 1, "", expected)])
        mapping = validate_document(data, locations, file, schema)
    except MappingError:
        raise
    except ModelError as exc:
        raise MappingError(exc.issues) from None
    assert isinstance(mapping, schema)
    return mapping


def read_mapping_text(path: str | Path) -> str:
    """A mapping file's text; a file that cannot be read is a ``MappingError`` naming it."""
    try:
        return read_document(Path(path))
    except ModelError as exc:
        raise MappingError(exc.issues) from None


def loads_mapping(text: str, file: str = "<mapping>") -> ColumnMapping:
    """Parses and validates a mapping; raises ``MappingError`` naming the file, line and field."""
    return parse_mapping(text, file, ColumnMapping, "expected a mapping with 'id' or 'email' and 'fields'")


def load_mapping(path: str | Path) -> ColumnMapping:
    """Loads one mapping file; raises ``MappingError`` listing every problem."""
    return loads_mapping(read_mapping_text(path), str(path))


@functools.cache
def presets() -> tuple[ColumnMapping, ...]:
    """The built-in mappings, in the order they are tried."""
    return tuple(load_preset(name) for name in PRESET_NAMES)


@functools.cache
def load_preset(name: str) -> ColumnMapping:
    """A built-in mapping by name: ``hubspot_contacts``, ``salesforce_leads`` or ``canonical``."""
    if name not in PRESET_NAMES:
        raise ValueError(f"unknown mapping preset {name!r}: expected one of {', '.join(PRESET_NAMES)}")
    resource = resources.files("leadscore.data").joinpath("mappings", f"{name}.yaml")
    return loads_mapping(resource.read_text(encoding="utf-8"), f"leadscore/data/mappings/{name}.yaml")


def detect_preset(columns: Iterable[str]) -> ColumnMapping | None:
    """The first preset whose ``detect`` matches these header columns, if any."""
    header = list(columns)
    for preset in presets():
        if preset.detect is not None and preset.detect.matches(header):
            return preset
    return None
