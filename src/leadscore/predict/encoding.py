"""Feature rows as numbers, fitted on training rows only and stored in the artifact as data.

A column is numeric when every value it holds is a number (or text that reads as one; booleans are 0
and 1); anything else is a category. Categories seen fewer than ``min_count`` times are grouped as
``(other)`` so that the model does not learn one lead's quirks, and a missing value is its own category,
``(missing)``, because a form field left blank says something about the lead. Numbers stay missing (NaN)
for the trees, which route missing values on their own; for the linear model they are imputed with the
training median beside a 0/1 "was missing" column, squashed with sign·log1p so that one lead with 5,000
page views does not own the slope, and held within the training range, so that a lead older or busier than
any the model learned from is not extrapolated to a certainty (the trees do the same by construction).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

OTHER = "(other)"
MISSING = "(missing)"
MAX_CATEGORIES = 100

Values = Sequence[Any] | NDArray[Any]
Table = Mapping[str, Values]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "number" or "category"
    categories: tuple[str, ...] = ()
    median: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    missing_seen: bool = False
    low: float = -math.inf
    high: float = math.inf


def _number(value: Any) -> float | None:
    """The value as a float, or None when it is not a number; booleans count as 0 and 1."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    )


def _category(value: Any) -> str:
    if _missing(value):
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def numbers(values: Values) -> NDArray[np.float64] | None:
    """The column as floats (NaN for missing), or None when some value is not a number.

    NumPy's own conversion reads numbers, numeric text and None in one C loop; only a column it refuses
    (blank text, say) is read value by value."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(np.float64)
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        parsed = []
        for v in values:
            if _missing(v):
                parsed.append(math.nan)
                continue
            x = _number(v)
            if x is None:
                return None
            parsed.append(x)
        array = np.asarray(parsed, dtype=np.float64)
    array[~np.isfinite(array)] = np.nan
    return array


def _squash(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class Encoding:
    columns: list[Column]
    _index: dict[str, dict[str, int]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def fit(cls, table: Table, min_count: int | None = None) -> Encoding:
        """Columns in a fixed (sorted) order, with categories kept by count; ``min_count`` defaults to 0.1%
        of rows, at least 10."""
        size = len(next(iter(table.values()))) if table else 0
        floor = min_count if min_count is not None else max(10, size // 1000)
        columns = []
        for name in sorted(table):
            values = table[name]
            array = numbers(values)
            if array is not None and not np.isnan(array).all():
                gone = np.isnan(array)
                present = array[~gone]
                squashed = _squash(present)
                std = float(squashed.std()) or 1.0
                low, high = float(present.min()), float(present.max())
                columns.append(Column(name, "number", (), float(np.median(present)), float(squashed.mean()), std,
                                      bool(gone.any()), low, high))  # fmt: skip
                continue
            counts = Counter(_category(v) for v in values)
            kept = [c for c, n in counts.most_common(MAX_CATEGORIES) if n >= floor and c != MISSING]
            columns.append(Column(name, "category", tuple(sorted(kept)), missing_seen=MISSING in counts))
        return cls(columns)

    def _codes(self, column: Column) -> dict[str, int]:
        index = self._index.get(column.name)
        if index is None:
            index = {c: i for i, c in enumerate(column.categories)}
            index[OTHER] = len(column.categories)
            index[MISSING] = len(column.categories) + 1
            self._index[column.name] = index
        return index

    def labels(self, column: Column) -> list[str]:
        """A category column's code → its name, for reason codes."""
        return [*column.categories, OTHER, MISSING]

    def tree_matrix(self, table: Table, size: int) -> NDArray[np.float64]:
        """One column per feature: numbers as they are (NaN when missing or not a number), categories as
        integer codes. A feature absent from ``table`` is missing for every row."""
        out = np.full((size, len(self.columns)), np.nan, dtype=np.float64)
        for j, column in enumerate(self.columns):
            values = table.get(column.name)
            if column.kind == "number":
                if values is not None:
                    array = numbers(values)
                    out[:, j] = (
                        array if array is not None else [math.nan if (x := _number(v)) is None else x for v in values]
                    )
            else:
                codes = self._codes(column)
                other = codes[OTHER]
                if values is None:
                    out[:, j] = codes[MISSING]
                else:
                    out[:, j] = [codes.get(_category(v), other) for v in values]
        return out

    def categorical_indexes(self) -> list[int]:
        return [j for j, c in enumerate(self.columns) if c.kind == "category"]

    def linear_names(self) -> list[tuple[int, str]]:
        """(feature index, part) for each column of the linear matrix: the value, "missing", or a category."""
        out: list[tuple[int, str]] = []
        for j, column in enumerate(self.columns):
            if column.kind == "number":
                out.append((j, "value"))
                if column.missing_seen:
                    out.append((j, MISSING))
            else:
                out.extend((j, label) for label in self.labels(column))
        return out

    def linear_matrix(self, tree: NDArray[np.float64]) -> NDArray[np.float64]:
        """Standardised numbers with missing flags, and categories one-hot, from ``tree_matrix``'s output."""
        parts: list[NDArray[np.float64]] = []
        for j, column in enumerate(self.columns):
            values = tree[:, j]
            if column.kind == "number":
                gone = np.isnan(values)
                filled = np.clip(np.where(gone, column.median, values), column.low, column.high)
                parts.append(((_squash(filled) - column.mean) / column.std)[:, None])
                if column.missing_seen:
                    parts.append(gone.astype(np.float64)[:, None])
            else:
                width = len(column.categories) + 2
                onehot = np.zeros((len(values), width), dtype=np.float64)
                onehot[np.arange(len(values)), values.astype(np.int64)] = 1.0
                parts.append(onehot)
        return np.hstack(parts) if parts else np.zeros((tree.shape[0], 0))

    def describe(self, j: int, value: float) -> str:
        """A feature's value as a person reads it: ``field.industry = Software`` or ``events.demo.30d = 2``."""
        column = self.columns[j]
        if column.kind == "category":
            return f"{column.name} = {self.labels(column)[int(value)]}"
        if math.isnan(value):
            return f"{column.name} missing"
        return f"{column.name} = {value:g}"

    def as_dict(self) -> dict[str, Any]:
        return {"columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Encoding:
        columns = []
        for item in data["columns"]:
            # JSON has no infinity: an unbounded (category) column's bounds are stored as null.
            bounds = {
                "low": -math.inf if item.get("low") is None else float(item["low"]),
                "high": math.inf if item.get("high") is None else float(item["high"]),
            }
            columns.append(Column(**{**item, **bounds, "categories": tuple(item["categories"])}))
        return cls(columns)


def table_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Feature dicts (one per row) as columns; a key a row lacks is None there."""
    names = sorted({k for r in rows for k in r})
    return {name: [r.get(name) for r in rows] for name in names}
