"""Reading users' files: ``read_leads`` and ``read_events`` for CSV and JSONL, optionally gzipped.

Both stream: one row in memory at a time. Both yield a record or a ``Reject`` for every row, in file
order, with the source path and the 1-based line the row starts on. Only a file that cannot be read at
all (missing, no header, wrong columns, not UTF-8) raises ``IngestError``. See docs/ingest.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from leadscore.ingest.errors import IngestError
from leadscore.ingest.event_mapping import EventMapping, load_event_mapping
from leadscore.ingest.events import CsvEventReader, JsonEventReader, read_event_object
from leadscore.ingest.leads import LeadMapper
from leadscore.ingest.mapping import ColumnMapping, column_key, detect_preset, load_mapping, load_preset, presets
from leadscore.ingest.records import EventRecord, LeadRecord, Reject
from leadscore.ingest.rejects import write_rejects
from leadscore.ingest.sources import DEFAULT_ENCODING, CsvRows, Records, file_format, jsonl_objects, open_text

__all__ = ["IngestError", "Records", "read_events", "read_leads", "write_rejects"]


def _mapping(mapping: ColumnMapping | str | Path | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    return load_mapping(mapping)


def read_leads(
    path: str | Path, mapping: ColumnMapping | str | Path | None = None, *, encoding: str = DEFAULT_ENCODING
) -> Records[LeadRecord | Reject]:
    """Leads from a CSV or JSONL file, mapped by ``mapping`` (a ``ColumnMapping`` or a YAML file's path).

    Without a mapping, a CSV header picks a built-in preset (HubSpot, Salesforce, or leadscore's own
    names); a JSONL file uses leadscore's own names. Raises ``IngestError`` (or ``MappingError``) before
    the first row if the file or the mapping cannot be used.
    """
    path = Path(path)
    source = str(path)
    chosen = _mapping(mapping)
    kind, gzipped = file_format(path)
    handle = open_text(path, gzipped, encoding)
    try:
        if kind == "csv":
            rows = CsvRows(handle, source)
            if chosen is None:
                chosen = detect_preset(rows.header)
            if chosen is None:
                raise IngestError(source, _no_preset_message(rows.header))
            mapper = LeadMapper(chosen, source, rows.header)
            return Records(_csv_leads(rows, mapper, handle), handle)
        mapper = LeadMapper(chosen or load_preset("canonical"), source)
        return Records(_jsonl_leads(handle, source, mapper), handle)
    except BaseException:
        handle.close()
        raise


def _no_preset_message(header: list[str]) -> str:
    known = "; ".join(f"{p.name} ({', '.join(p.detect.all + p.detect.any)})" for p in presets() if p.detect is not None)
    return f"no mapping given and the header matches no preset: {header}. Presets look for: {known}"


def _csv_leads(rows: CsvRows, mapper: LeadMapper, handle: IO[str]) -> Iterator[LeadRecord | Reject]:
    header = rows.header
    keys = [column_key(c) for c in header]
    width = len(header)
    try:
        for item in rows:
            if isinstance(item, Reject):
                yield item
                continue
            line, cells = item
            if len(cells) != width:
                reason = f"expected {width} values (one per header column), got {len(cells)}"
                yield Reject(rows.source, line, reason, raw=cells)
                continue
            row = {key: (column, cell) for key, column, cell in zip(keys, header, cells, strict=True)}
            yield mapper.read(row, line, dict(zip(header, cells, strict=True)))
    finally:
        handle.close()


def _jsonl_leads(handle: IO[str], source: str, mapper: LeadMapper) -> Iterator[LeadRecord | Reject]:
    try:
        for item in jsonl_objects(handle, source):
            if isinstance(item, Reject):
                yield item
                continue
            line, obj = item
            yield mapper.read({column_key(k): (k, v) for k, v in obj.items()}, line, obj)
    finally:
        handle.close()


def read_events(
    path: str | Path, mapping: EventMapping | str | Path | None = None, *, encoding: str = DEFAULT_ENCODING
) -> Records[EventRecord | Reject]:
    """Events from a CSV or JSONL file; see docs/ingest.md for the columns and the timestamp rules.

    Raises ``IngestError`` before the first row if the file cannot be read, a CSV header lacks
    ``type``, ``occurred_at`` or both of ``lead_id`` and ``email``, or lacks a column the mapping names.
    """
    if mapping is not None and not isinstance(mapping, EventMapping):
        mapping = load_event_mapping(mapping)
    path = Path(path)
    source = str(path)
    kind, gzipped = file_format(path)
    handle = open_text(path, gzipped, encoding)
    try:
        if kind == "csv":
            rows = CsvRows(handle, source)
            reader = CsvEventReader(rows.header, source, mapping)
            return Records(_csv_events(rows, reader, handle), handle)
        return Records(_jsonl_events(handle, source, mapping), handle)
    except BaseException:
        handle.close()
        raise


def _csv_events(rows: CsvRows, reader: CsvEventReader, handle: IO[str]) -> Iterator[EventRecord | Reject]:
    try:
        for item in rows:
            yield item if isinstance(item, Reject) else reader.read(item[1], item[0])
    finally:
        handle.close()


def _jsonl_events(handle: IO[str], source: str, mapping: EventMapping | None) -> Iterator[EventRecord | Reject]:
    mapped = JsonEventReader(source, mapping) if mapping is not None else None
    try:
        for item in jsonl_objects(handle, source):
            if isinstance(item, Reject):
                yield item
            elif mapped is not None:
                yield mapped.read(item[1], item[0])
            else:
                yield read_event_object(item[1], item[0], source)
    finally:
        handle.close()
