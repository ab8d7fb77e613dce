"""Turns one source row into a ``LeadRecord`` using a column mapping, or into a ``Reject`` saying why not."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from leadscore.ingest.errors import IngestError
from leadscore.ingest.mapping import RECORD_KEYS, ColumnMapping, column_key
from leadscore.ingest.records import LeadRecord, Reject
from leadscore.ingest.values import PARSERS, as_text, normalize_email, parse_text, parse_timestamp, snake_case

Parser = Callable[[Any], Any]


class _BadValue(Exception):
    def __init__(self, column: str, reason: str) -> None:
        self.column = column
        self.reason = reason


class LeadMapper:
    """A mapping bound to one file: reads rows whose keys are ``column_key(column)``."""

    def __init__(self, mapping: ColumnMapping, source: str, header: Iterable[str] | None = None) -> None:
        self.mapping = mapping
        self.source = source
        self._missing = frozenset(v.strip() for v in mapping.missing_values)
        self._timestamp = partial(parse_timestamp, formats=tuple(mapping.datetime_formats))
        named = (mapping.id, mapping.email, mapping.created_at, mapping.account_id)
        self._record_columns = {
            name: (column_key(column), column)
            for name, column in zip(RECORD_KEYS, named, strict=True)
            if column is not None
        }
        self._fields = [(column_key(c), name, self._parser(name)) for c, name in mapping.fields.items()]
        self._taken = set(RECORD_KEYS) | set(mapping.fields.values())
        self._named = {column_key(c) for c in mapping.named_columns()}
        self._unmapped: dict[str, tuple[str, Parser]] = {}
        if header is not None:
            self._check_header(list(header))

    def _check_header(self, header: list[str]) -> None:
        present = {column_key(c) for c in header}
        identifying = [self._record_columns[n] for n in ("id", "email") if n in self._record_columns]
        if not any(key in present for key, _ in identifying):
            wanted = " or ".join(repr(column) for _, column in identifying)
            raise IngestError(
                self.source, f"no {wanted} column to identify leads (mapping {self.mapping.name!r}); header: {header}"
            )
        if self.mapping.require_columns:
            absent = [c for c in self.mapping.named_columns() if column_key(c) not in present]
            if absent:
                raise IngestError(
                    self.source,
                    f"columns named in mapping {self.mapping.name!r} are not in the header: {absent}; header: {header}",
                )
        for column in header:
            if column_key(column) not in self._named:
                self._unmapped_name(column)

    def _unmapped_name(self, column: str) -> tuple[str, Parser]:
        """The field a column without a mapping is kept under (snake_case, made unique) and its parser."""
        key = column_key(column)
        found = self._unmapped.get(key)
        if found is None:
            base = snake_case(column) or "column"
            name, suffix = base, 1
            while name in self._taken:
                suffix += 1
                name = f"{base}_{suffix}"
            self._taken.add(name)
            found = self._unmapped[key] = (name, self._parser(name))
        return found

    def _parser(self, name: str) -> Parser:
        kind = self.mapping.types.get(name)
        if kind == "datetime":
            return self._timestamp
        return PARSERS[kind] if kind is not None else parse_text

    def _value(self, row: Mapping[str, tuple[str, Any]], key: str) -> tuple[str, Any] | None:
        found = row.get(key)
        if found is None:
            return None
        column, value = found
        if value is None or (isinstance(value, str) and value.strip() in self._missing):
            return None
        return column, value

    def _convert(self, row: Mapping[str, tuple[str, Any]], key: str, name: str, parse: Parser) -> Any:
        found = self._value(row, key)
        if found is None:
            return None
        column, value = found
        try:
            return parse(value)
        except ValueError as exc:
            label = f"{name}: " if snake_case(column) != name else ""
            raise _BadValue(column, f"{label}{exc}") from None

    def read(self, row: Mapping[str, tuple[str, Any]], line: int, raw: Any) -> LeadRecord | Reject:
        """``row`` maps ``column_key(column)`` to ``(column, value)``."""
        try:
            return self._read(row, line)
        except _BadValue as bad:
            return Reject(self.source, line, bad.reason, field=bad.column, raw=raw)

    def _read(self, row: Mapping[str, tuple[str, Any]], line: int) -> LeadRecord:
        columns = self._record_columns
        lead_id = self._convert(row, columns["id"][0], "id", as_text) if "id" in columns else None
        email = self._convert(row, columns["email"][0], "email", normalize_email) if "email" in columns else None
        if not lead_id and not email:
            named = [column for name, (_, column) in columns.items() if name in ("id", "email")]
            reason = f"expected an id or an email to identify the lead, got neither ({' or '.join(named)} empty)"
            raise _BadValue(named[0], reason)
        created_at = None
        if "created_at" in columns:
            created_at = self._convert(row, columns["created_at"][0], "created_at", self._timestamp)
        account_id = None
        if "account_id" in columns:
            account_id = self._convert(row, columns["account_id"][0], "account_id", as_text) or None
        fields: dict[str, Any] = {}
        for key, name, parse in self._fields:
            value = self._convert(row, key, name, parse)
            if value is not None:
                fields[name] = value
        if self.mapping.keep_unmapped:
            for key, (column, _) in row.items():
                if key not in self._named:
                    name, parse = self._unmapped_name(column)
                    value = self._convert(row, key, name, parse)
                    if value is not None:
                        fields[name] = value
        if email:
            fields["email"] = email
        return LeadRecord(
            id=lead_id or None,
            email=email,
            fields=fields,
            created_at=created_at,
            account_id=account_id,
            source=self.source,
            line=line,
        )
