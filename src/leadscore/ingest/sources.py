"""Opening CSV and JSONL files (optionally gzipped) and walking them row by row with line numbers."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Generic, Literal, TypeVar

import orjson

from leadscore.ingest.errors import IngestError
from leadscore.ingest.mapping import column_key
from leadscore.ingest.records import Reject

T = TypeVar("T")
Format = Literal["csv", "jsonl"]
SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
DEFAULT_ENCODING = "utf-8-sig"


def file_format(path: Path) -> tuple[Format, bool]:
    """The format from the file name, and whether it is gzipped: ``leads.csv.gz`` is ``("csv", True)``."""
    name = path.name.lower()
    gzipped = name.endswith(".gz")
    name = name.removesuffix(".gz")
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return kind, gzipped
    raise IngestError(str(path), "unsupported file type: expected .csv, .jsonl or .ndjson, optionally gzipped (.gz)")


def open_text(path: Path, gzipped: bool, encoding: str) -> IO[str]:
    """Opens for reading with universal newlines left to the reader (``newline=""``), as csv requires."""
    try:
        if gzipped:
            return gzip.open(path, "rt", encoding=encoding, newline="")
        return open(path, encoding=encoding, newline="")
    except (OSError, LookupError) as exc:
        raise IngestError(str(path), f"cannot open: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not {exc.encoding} text ({exc.reason}); save the file as UTF-8 or pass its encoding"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def read_failure(source: str, line: int, exc: BaseException) -> IngestError:
    return IngestError(source, f"cannot read past line {line}: {_reason(exc)}")


READ_ERRORS = (OSError, EOFError, UnicodeDecodeError)


class Records(Iterator[T], Generic[T]):
    """Records read lazily from an open file, which is closed when they run out or on ``close()``.

    Use it in a ``with`` block, or read it to the end, so the file is not left open.
    """

    def __init__(self, items: Iterator[T], handle: IO[str]) -> None:
        self._items = items
        self._handle = handle

    def __iter__(self) -> Records[T]:
        return self

    def __next__(self) -> T:
        try:
            return next(self._items)
        except BaseException:
            self._handle.close()
            raise

    def close(self) -> None:
        close: Callable[[], None] | None = getattr(self._items, "close", None)
        if close is not None:
            close()
        self._handle.close()

    def __enter__(self) -> Records[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class CsvRows:
    """A CSV file's header and rows; each row comes with the physical line it starts on (1-based)."""

    def __init__(self, handle: IO[str], source: str) -> None:
        self.source = source
        self._reader = csv.reader(handle)
        self.header_line, header = self._first_row()
        self.header = [cell.strip() or f"column_{i + 1}" for i, cell in enumerate(header)]
        seen: dict[str, int] = {}
        for index, name in enumerate(self.header):
            key = column_key(name)
            if key in seen:
                raise IngestError(
                    source, f"column {name!r} appears twice in the header (columns {seen[key] + 1} and {index + 1})"
                )
            seen[key] = index

    def _first_row(self) -> tuple[int, list[str]]:
        try:
            for row in self._reader:
                if row:
                    return self._reader.line_num, row
        except READ_ERRORS as exc:
            raise IngestError(self.source, f"cannot read the header: {_reason(exc)}") from None
        except csv.Error as exc:
            raise IngestError(self.source, f"cannot read the header: {exc}") from None
        raise IngestError(self.source, "the file is empty: expected a header row with column names")

    def __iter__(self) -> Iterator[tuple[int, list[str]] | Reject]:
        """Rows as ``(line, cells)``; blank lines are skipped, a row csv cannot parse is a ``Reject``."""
        reader = self._reader
        end = reader.line_num
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                yield Reject(self.source, start, f"cannot parse CSV: {exc}")
                continue
            except READ_ERRORS as exc:
                raise read_failure(self.source, end, exc) from None
            end = reader.line_num
            if row:
                yield start, row


def jsonl_objects(handle: IO[str], source: str) -> Iterator[tuple[int, dict[str, Any]] | Reject]:
    """Objects as ``(line, object)``; blank lines are skipped, a line that is not an object is a ``Reject``."""
    line = 0
    while True:
        try:
            text = handle.readline()
        except READ_ERRORS as exc:
            raise read_failure(source, line, exc) from None
        if not text:
            return
        line += 1
        # Universal newlines are off (newline=""), so a CRLF line keeps its "\r": strip it with the rest.
        text = text.strip()
        if not text:
            continue
        try:
            value = orjson.loads(text)
        except json.JSONDecodeError as exc:
            yield Reject(source, line, f"invalid JSON: {exc.msg} at column {exc.colno}", raw=text)
            continue
        if not isinstance(value, dict):
            yield Reject(source, line, f"expected a JSON object, got {type(value).__name__}", raw=value)
            continue
        yield line, value
