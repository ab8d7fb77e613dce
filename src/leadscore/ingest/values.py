"""Reading single values from files: timestamps, numbers, booleans, emails and column names.

Each parser returns the typed value or raises ``ValueError`` with a message meant for a person fixing
the file; readers turn that message into a ``Reject``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

FieldType = Literal["number", "integer", "boolean", "datetime", "text"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Epoch values at or above this are milliseconds (1e11 seconds is the year 5138; 1e11 ms is March 1973).
EPOCH_MILLISECONDS_FROM = 100_000_000_000
#: Epoch values at or above this are refused (microseconds and nanoseconds are not guessed).
EPOCH_LIMIT = 100_000_000_000_000

_EPOCH_TEXT = re.compile(r"[+-]?\d+(\.\d+)?")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_CURRENCY = "$€£¥"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
TRUE_WORDS = frozenset({"true", "yes", "y", "t", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "f", "0"})


def _from_epoch(number: Decimal, original: Any) -> datetime:
    magnitude = abs(number)
    if magnitude >= EPOCH_LIMIT:
        raise ValueError(f"expected epoch seconds or milliseconds, got {original!r}, which is too large")
    scale = 1_000 if magnitude >= EPOCH_MILLISECONDS_FROM else 1_000_000
    return EPOCH + timedelta(microseconds=int((number * scale).to_integral_value()))


def _strptime(text: str, formats: Sequence[str]) -> datetime | None:
    for form in formats:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def parse_timestamp(value: Any, formats: Sequence[str] = ()) -> datetime:
    """An aware UTC datetime from ISO-8601 text or epoch seconds/milliseconds; no zone means UTC.

    ``formats`` are ``strptime`` formats tried, in order, when the text is not ISO-8601.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a timestamp, got {value!r}")
    if isinstance(value, int):
        return _from_epoch(Decimal(value), value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a timestamp, got {value!r}")
        return _from_epoch(Decimal(repr(value)), value)
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp, got {type(value).__name__} {value!r}")
    text = value.strip()
    if _EPOCH_TEXT.fullmatch(text):
        return _from_epoch(Decimal(text), value)
    if text.endswith("z"):
        text = text[:-1] + "Z"
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _strptime(text, formats)
    if moment is None:
        expected = "an ISO-8601 timestamp (2024-05-01T09:30:00Z) or epoch seconds/milliseconds"
        if formats:
            expected += f" or one of the formats {list(formats)}"
        raise ValueError(f"expected {expected}, got {value!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_number(value: Any) -> int | float:
    """A number from text: ``"1,200"`` is 1200 (a comma only as a thousands separator), ``"$5"`` is 5."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    text = value.strip()
    sign = ""
    if len(text) > 1 and text[0] in "+-" and text[1] in _CURRENCY:
        sign, text = text[0], text[1:]
    text = sign + text.lstrip(_CURRENCY).strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise ValueError(f"expected a number (',' only between thousands, '.' before decimals), got {value!r}")
        text = text.replace(",", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValueError(f"expected a number, got {value!r}")
    if "." in text or "e" in text or "E" in text:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number
    return int(text)


def parse_integer(value: Any) -> int:
    """A whole number; ``"1,200"`` and ``"12.0"`` are accepted, ``"12.5"`` is not."""
    number = parse_number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(number)
    return number


def parse_boolean(value: Any) -> bool:
    """``true/yes/y/t/1`` or ``false/no/n/f/0`` in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"expected yes/no or true/false, got {value!r}")


def parse_text(value: Any) -> Any:
    """Text stays text (trimmed); JSON numbers, booleans, lists and objects are kept as they are."""
    return value.strip() if isinstance(value, str) else value


def text_or_none(value: Any) -> str | None:
    """A cell's text, stripped, or None when it is empty or missing."""
    if isinstance(value, str):
        return value.strip() or None
    return None if value is None else as_text(value) or None


def as_text(value: Any) -> str:
    """Identifiers: JSON numbers become text so that ``42`` and ``"42"`` are the same lead."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected text or a whole number, got {type(value).__name__} {value!r}")
    return str(value).strip()


PARSERS: dict[str, Callable[[Any], Any]] = {
    "number": parse_number,
    "integer": parse_integer,
    "boolean": parse_boolean,
    "datetime": parse_timestamp,
    "text": parse_text,
}


def normalize_email(value: Any) -> str:
    """Trimmed and lower-cased; it must look like ``name@domain`` (one ``@``, no spaces)."""
    if not isinstance(value, str):
        raise ValueError(f"expected an email address, got {type(value).__name__} {value!r}")
    email = value.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"expected an email address like name@example.com, got {value!r}")
    return email


def snake_case(name: str) -> str:
    """A column name as a field name: ``"Total Time Spent"`` and ``"TotalTime"`` give ``total_time...``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[\W_]+", "_", text).strip("_").lower()
