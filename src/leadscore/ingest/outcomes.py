"""Outcomes: what became of a lead (converted, lost, disqualified) and when, read from CSV or JSONL (an
outcome file, or a CRM's deals or opportunities export), from a label column of a lead file (X Education's
``Converted``), or from a leadforge bundle's labels and opportunities.

Recognised columns (CSV) or keys (JSONL), compared ignoring case, the first alias present winning:
``lead_id``/``lead``, ``email``, ``outcome``/``status``/``stage`` and ``occurred_at``/``closed_at``/``date``/
``timestamp``, plus the names HubSpot's deal and Salesforce's opportunity exports use (``ALIASES``). Outcome
words are mapped to three outcomes (``OUTCOME_WORDS``); the time may be missing, for sources that only say
whether a lead converted. A deal with several contacts (``123;456``) is an outcome for each of them. An
open deal or opportunity (a stage such as ``Negotiation``) is not an outcome yet: it is rejected with that
reason and kept in the rejects file, so the count of deals read always adds up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from leadscore.ingest.errors import IngestError
from leadscore.ingest.mapping import column_key
from leadscore.ingest.records import Reject
from leadscore.ingest.sources import DEFAULT_ENCODING, CsvRows, Records, file_format, jsonl_objects, open_text
from leadscore.ingest.values import as_text, normalize_email, parse_timestamp, text_or_none

OUTCOMES = ("converted", "lost", "disqualified")
#: What CRMs call each outcome, compared after lower-casing and turning spaces and dashes into underscores.
OUTCOME_WORDS: dict[str, str] = {
    **dict.fromkeys(("converted", "won", "closed_won", "closedwon", "customer", "win"), "converted"),
    **dict.fromkeys(("lost", "closed_lost", "closedlost", "loss", "not_converted"), "lost"),
    **dict.fromkeys(("disqualified", "dq", "unqualified", "junk", "rejected"), "disqualified"),
}
ALIASES: dict[str, tuple[str, ...]] = {
    # HubSpot deals: "Associated Contact IDs", "Deal Stage" (closedwon), "Close Date".
    # Salesforce opportunities: "Contact ID" or "Contact: Email", "Stage" (Closed Won), "Close Date".
    "lead_id": (
        "lead_id",
        "lead",
        "contact_id",
        "associated_contact_ids",
        "associated_contact_id",
        "primary_contact_id",
    ),
    "email": ("email", "contact_email", "contact:_email", "primary_contact_email"),
    "outcome": ("outcome", "status", "stage", "deal_stage", "opportunity_stage"),
    "occurred_at": ("occurred_at", "closed_at", "close_date", "closedate", "closed_date", "date", "timestamp"),
}
#: Separates the contacts of one deal in a CRM export's id column.
CONTACT_SEPARATOR = ";"


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """One lead's outcome; ``occurred_at`` is None when the source does not say when."""

    lead_id: str | None
    email: str | None
    outcome: str
    occurred_at: datetime | None
    source: str = ""
    line: int = 0

    @property
    def id(self) -> str:
        """Stable for the same lead, outcome and time: loading a file twice stores each outcome once."""
        when = self.occurred_at.isoformat() if self.occurred_at else ""
        text = "\x1f".join((self.lead_id or "", self.email or "", self.outcome, when))
        return "out-" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def outcome_of(value: Any) -> str:
    """An outcome word as one of ``OUTCOMES``; raises ValueError listing what is understood."""
    word = as_text(value).strip().lower().replace(" ", "_").replace("-", "_")
    if word in OUTCOME_WORDS:
        return OUTCOME_WORDS[word]
    known = ", ".join(sorted(OUTCOME_WORDS))
    raise ValueError(
        f"expected an outcome such as converted, lost or disqualified ({known}), got {value!r} "
        f"(an open deal or opportunity is not an outcome yet)"
    )


def read_outcome(values: dict[str, Any], line: int, source: str) -> OutcomeRecord | Reject:
    """A row's recognised values (by role) as an outcome, or a Reject naming the field at fault."""
    role = "lead_id"
    try:
        lead_id = text_or_none(values.get("lead_id"))
        role = "email"
        raw_email = values.get("email")
        email = None if text_or_none(raw_email) is None else normalize_email(raw_email)
        if lead_id is None and email is None:
            return Reject(source, line, "expected lead_id or email to say whose outcome it is", field="lead_id")
        role = "outcome"
        if text_or_none(values.get("outcome")) is None:
            return Reject(source, line, "expected an outcome, got nothing", field="outcome")
        outcome = outcome_of(values["outcome"])
        role = "occurred_at"
        when = values.get("occurred_at")
        occurred_at = None if text_or_none(when) is None else parse_timestamp(when)
    except ValueError as exc:
        return Reject(source, line, str(exc), field=role, raw=values)
    return OutcomeRecord(lead_id, email, outcome, occurred_at, source, line)


def read_outcomes(path: str | Path, *, encoding: str = DEFAULT_ENCODING) -> Records[OutcomeRecord | Reject]:
    """Outcomes from a CSV or JSONL file, one record or Reject per row, in file order."""
    path = Path(path)
    source = str(path)
    kind, gzipped = file_format(path)
    handle = open_text(path, gzipped, encoding)
    try:
        if kind == "csv":
            rows = CsvRows(handle, source)
            roles = _roles(rows.header)
            if "outcome" not in roles or not {"lead_id", "email"} & set(roles):
                raise IngestError(
                    source, f"expected columns outcome and lead_id or email for outcomes; header: {rows.header}"
                )
            return Records(_csv(rows, roles, handle), handle)
        return Records(_jsonl(handle, source), handle)
    except BaseException:
        handle.close()
        raise


def read_label_column(
    path: str | Path,
    column: str,
    *,
    id_column: str | None = None,
    positive: Sequence[str] = ("1", "true", "yes", "converted"),
    encoding: str = DEFAULT_ENCODING,
) -> Records[OutcomeRecord | Reject]:
    """Outcomes from a lead file's label column: a positive label is ``converted``, any other ``lost``,
    both with no time. Leads are matched by ``id_column`` (default: the file's id or email column)."""
    path = Path(path)
    source = str(path)
    handle = open_text(path, file_format(path)[1], encoding)
    try:
        rows = CsvRows(handle, source)
        index = {_key(c): i for i, c in enumerate(rows.header)}
        if _key(column) not in index:
            raise IngestError(source, f"no label column {column!r}; header: {rows.header}")
        who = _key(id_column) if id_column else next((k for k in ("id", "lead_id", "email") if k in index), None)
        if who is None or who not in index:
            raise IngestError(source, f"no id column {id_column or 'id, lead_id or email'!r}; header: {rows.header}")
        wanted = {p.strip().lower() for p in positive}
        return Records(_labels(rows, index[_key(column)], index[who], who, wanted, handle), handle)
    except BaseException:
        handle.close()
        raise


def _labels(
    rows: CsvRows, label: int, who: int, kind: str, positive: set[str], handle: IO[str]
) -> Iterator[OutcomeRecord | Reject]:
    try:
        for item in rows:
            if isinstance(item, Reject):
                yield item
                continue
            line, cells = item
            if max(label, who) >= len(cells):
                yield Reject(rows.source, line, f"expected {len(rows.header)} values, got {len(cells)}", raw=cells)
                continue
            value = cells[label].strip()
            if not value:
                yield Reject(rows.source, line, "expected a label, got nothing", field=rows.header[label])
                continue
            outcome = "converted" if value.lower() in positive else "lost"
            ref = {"email" if kind == "email" else "lead_id": cells[who]}
            yield read_outcome({**ref, "outcome": outcome}, line, rows.source)
    finally:
        handle.close()


def _key(column: str) -> str:
    """A column name compared ignoring case, spaces and dashes: ``Close Date`` is ``close_date``."""
    return column_key(column).replace(" ", "_").replace("-", "_")


def _roles(columns: Sequence[str]) -> dict[str, str]:
    present = {_key(c): c for c in columns}
    roles: dict[str, str] = {}
    for role, aliases in ALIASES.items():
        found = next((present[a] for a in aliases if a in present), None)
        if found is not None:
            roles[role] = found
    return roles


def _csv(rows: CsvRows, roles: dict[str, str], handle: IO[str]) -> Iterator[OutcomeRecord | Reject]:
    index = {column: i for i, column in enumerate(rows.header)}
    try:
        for item in rows:
            if isinstance(item, Reject):
                yield item
                continue
            line, cells = item
            if len(cells) != len(rows.header):
                reason = f"expected {len(rows.header)} values (one per header column), got {len(cells)}"
                yield Reject(rows.source, line, reason, raw=cells)
                continue
            values = {role: cells[index[column]] for role, column in roles.items()}
            for each in _each_contact(values):
                yield _named(read_outcome(each, line, rows.source), roles)
    finally:
        handle.close()


def _jsonl(handle: IO[str], source: str) -> Iterator[OutcomeRecord | Reject]:
    try:
        for item in jsonl_objects(handle, source):
            if isinstance(item, Reject):
                yield item
                continue
            line, obj = item
            roles = _roles(list(obj))
            for each in _each_contact({role: obj[key] for role, key in roles.items()}):
                yield _named(read_outcome(each, line, source), roles)
    finally:
        handle.close()


def _each_contact(values: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per contact of a deal whose id cell lists several (``123;456``)."""
    ids = values.get("lead_id")
    if not isinstance(ids, str) or CONTACT_SEPARATOR not in ids:
        return [values]
    return [{**values, "lead_id": one.strip()} for one in ids.split(CONTACT_SEPARATOR) if one.strip()]


def _named(result: OutcomeRecord | Reject, roles: dict[str, str]) -> OutcomeRecord | Reject:
    """A Reject names the file's own column, not the role."""
    if isinstance(result, Reject) and result.field in roles:
        return Reject(result.source, result.line, result.reason, field=roles[result.field], raw=result.raw)
    return result


def read_leadforge_outcomes(path: str | Path) -> list[OutcomeRecord]:
    """A leadforge bundle's labels (``converted_within_90_days``, from its task's split files) and its
    closed opportunities, as outcomes.

    A label is converted or lost with no time, since a public bundle does not say when. A closed
    opportunity (``closed_won``/``closed_lost``) is converted or lost at its ``closed_at`` when the bundle
    has it (research bundles), else with no time too; an open one is no outcome. An untimed outcome that
    repeats a label is the same outcome (same lead, outcome and time), so it is stored once."""
    from leadscore.ingest.leadforge import iter_rows, read_labels

    root = Path(path)
    source = str(root)
    out = [
        OutcomeRecord(lead_id, None, "converted" if converted else "lost", None, source, line)
        for line, (lead_id, converted) in enumerate(sorted(read_labels(root).items()), start=1)
    ]
    file = root / "tables" / "opportunities.parquet"
    if not file.exists():
        return out
    for line, row in iter_rows(file, ("lead_id", "stage"), ("closed_at",)):
        outcome = {"closed_won": "converted", "closed_lost": "lost"}.get(str(row["stage"]))
        if outcome is None or not isinstance(row["lead_id"], str):
            continue
        closed = row.get("closed_at")
        when = parse_timestamp(closed) if closed else None
        out.append(OutcomeRecord(row["lead_id"], None, outcome, when, str(file), line))
    return out
