"""What both backends share for a keyed scan (``Store.scan_keyed``): the SQL of an event's key, and the
merge of leads with their keyed event rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from leadscore.engine.event_keys import KeyedRow
from leadscore.engine.types import Account, Lead
from leadscore.store.common import lead_from_row


def event_key(types: Sequence[str], properties_for: frozenset[str], *, postgres: bool = False) -> str:
    """An event's key in SQL (see ``event_keys.KeyedRow``), with one parameter per type: the type's index,
    or for a type whose properties are read, the index, a space and the properties JSON. SQLite returns
    bare indexes as integers (cheaper to read); PostgreSQL needs one type per column, so all are text."""
    mark, properties = ("%s", "properties::text") if postgres else ("?", "properties")
    whens = []
    for index, kind in enumerate(types):
        if kind in properties_for:
            whens.append(f"WHEN {mark} THEN '{index} ' || {properties}")
        else:
            whens.append(f"WHEN {mark} THEN '{index}'" if postgres else f"WHEN {mark} THEN {index}")
    if not whens:
        return "-1"
    other = "'-1'" if postgres else "-1"
    return f"CASE type {' '.join(whens)} ELSE {other} END"


def merge_keyed(
    leads: Iterable[Sequence[Any]], events: Iterable[KeyedRow], accounts: dict[str, Account]
) -> Iterator[tuple[int, Lead, list[KeyedRow]]]:
    """Leads (in seq order) with their keyed event rows (in the same order), grouped in C by ``groupby``."""
    groups = groupby(events, itemgetter(0))
    group = next(groups, None)
    for row in leads:
        seq = int(row[0])
        while group is not None and group[0] < seq:  # rows of a lead not read: none, with the foreign key
            group = next(groups, None)
        rows: list[KeyedRow] = []
        if group is not None and group[0] == seq:
            rows = list(group[1])
            group = next(groups, None)
        yield seq, lead_from_row(row[1:], accounts), rows
