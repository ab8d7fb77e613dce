"""Reading leadforge bundles: synthetic B2B CRM data as leadscore accounts, leads and events.

A leadforge bundle (https://pypi.org/project/leadforge/) is a directory with ``manifest.json``,
relational Parquet tables under ``tables/`` and a prediction task under ``tasks/<task>/``. This module
reads the relational tables, not the flat task files:

- ``accounts`` become ``AccountRecord``s;
- each row of ``leads`` becomes a ``LeadRecord`` with the fields of its contact and its account, in
  leadscore's names (``job_title`` is ``title``, ``region`` is ``country``, ``employee_band`` gives
  ``company_size``; see ``leadforge_convert``), and a synthetic email, because leadforge has none;
- ``touches``, ``sessions`` and ``sales_activities`` become ``EventRecord``s in leadscore's event
  vocabulary where one fits (an email touch is ``email_open``, a pricing-page session a ``page_view`` of
  ``/pricing``), always with the original leadforge columns kept in ``properties``.

What is never read, because it leaks the outcome that scores are judged against:

- ``opportunities.stage``: written after the whole 90-day simulation, so ``closed_won`` there *is* the
  label (every closed_won row in a public bundle is a converted lead) although events stop at day 30;
- ``total_touches_all`` (split files): counts touches over all 90 days, past the snapshot;
- the label columns: ``converted_within_90_days`` and ``conversion_timestamp`` on leads,
  ``close_outcome``/``closed_at`` on opportunities, ``current_stage``/``is_sql`` on leads and the
  ``customers``/``subscriptions`` tables (all present in ``research_instructor`` bundles).

Only named columns are read from each file, so a new or leaking column can never slip into the fields.
The labels are read by ``read_labels``, separately, for evaluation only. In a bundle that is not
snapshot-safe (``research_instructor``), events after ``lead_created_at + snapshot_day`` are held back
and counted in ``held_back`` unless ``full_horizon=True``.

leadforge dates are plain days (``2024-01-31``): they become midnight UTC. A row that cannot be converted
becomes a ``Reject`` naming the file, the row number (1 is the first row) and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from leadscore.ingest import leadforge_convert as convert
from leadscore.ingest.errors import IngestError
from leadscore.ingest.leadforge_convert import RowError
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject

RECIPE = "b2b_saas_procurement_v1"
SCHEMA_VERSIONS = frozenset({"5"})
SPLITS = ("train", "valid", "test")
#: A fixed generation time: the same seed then gives byte-identical bundles, manifest included.
GENERATION_TIMESTAMP = "2024-01-01T00:00:00+00:00"

Row = dict[str, Any]
EventConverter = Callable[..., list[EventRecord]]

ACCOUNT_COLUMNS = ("account_id", "company_name", "industry", "region", "employee_band", "estimated_revenue_band")
ACCOUNT_OPTIONAL = ("process_maturity_band", "created_at")
CONTACT_COLUMNS = ("contact_id", "account_id", "job_title", "seniority", "role_function", "email_domain_type")
CONTACT_OPTIONAL = ("buyer_role",)
LEAD_COLUMNS = ("lead_id", "contact_id", "account_id", "lead_created_at", "lead_source")
LEAD_OPTIONAL = ("first_touch_channel", "owner_rep_id")
#: table -> (required columns, optional columns, converter). ``opportunities.stage`` is deliberately absent.
EVENT_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], EventConverter]] = {
    "touches": (
        ("touch_id", "lead_id", "touch_timestamp", "touch_type"),
        ("touch_channel", "touch_direction", "campaign_id"),
        convert.touch_events,
    ),
    "sessions": (
        ("session_id", "lead_id", "session_timestamp", "session_type"),
        ("page_views", "pricing_page_views", "demo_page_views", "session_duration_seconds"),
        convert.session_events,
    ),
    "sales_activities": (
        ("activity_id", "lead_id", "activity_timestamp", "activity_type"),
        ("activity_outcome", "rep_id"),
        convert.activity_events,
    ),
    "opportunities": (
        ("opportunity_id", "lead_id", "created_at"),
        ("estimated_acv",),
        convert.opportunity_events,
    ),
}
DEFAULT_EVENT_TABLES = ("touches", "sessions", "sales_activities")


def iter_rows(
    file: Path, required: Sequence[str], optional: Sequence[str] = (), *, batch_size: int = 50_000
) -> Iterator[tuple[int, Row]]:
    """``(row number, {column: value})`` for only the named columns, read in batches of ``batch_size``."""
    try:
        parquet = pq.ParquetFile(file)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise IngestError(str(file), f"cannot read the Parquet file: {error}") from None
    present = set(parquet.schema_arrow.names)
    missing = [column for column in required if column not in present]
    if missing:
        raise IngestError(str(file), f"missing column(s) {', '.join(missing)}; the file has {sorted(present)}")
    columns = [*required, *(column for column in optional if column in present)]
    line = 0
    for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
        names = batch.schema.names
        values = [batch.column(index).to_pylist() for index in range(batch.num_columns)]
        for row_values in zip(*values, strict=True):
            line += 1
            yield line, dict(zip(names, row_values, strict=True))


def _reject(source: str, line: int, error: RowError, row: Row) -> Reject:
    return Reject(source=source, line=line, reason=error.reason, field=error.field, raw=row)


class LeadforgeBundle:
    """An opened bundle: accounts are loaded; leads and events are read from disk on each iteration.

    ``rejects`` holds the rejected rows of every table read so far; iterating a table again replaces
    that table's rejects, so they are never counted twice.
    """

    def __init__(
        self,
        path: Path,
        manifest: Mapping[str, Any],
        *,
        event_tables: Sequence[str] = DEFAULT_EVENT_TABLES,
        full_horizon: bool = False,
        batch_size: int = 50_000,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.event_tables = tuple(event_tables)
        self.batch_size = batch_size
        snapshot_safe = bool(manifest.get("relational_snapshot_safe", True))
        snapshot_day = manifest.get("snapshot_day")
        self.snapshot_days: int | None = None
        if not full_horizon and not snapshot_safe and isinstance(snapshot_day, int):
            self.snapshot_days = snapshot_day
        self._rejects: dict[str, list[Reject]] = {}
        self._held_back: dict[str, int] = {}
        self.accounts: list[AccountRecord] = list(self._read_accounts())
        self._account_index = {account.id: account for account in self.accounts}
        self._contacts = self._read_contacts()
        self._lead_created = self._read_lead_index()

    def table(self, name: str) -> Path:
        return self.path / "tables" / f"{name}.parquet"

    @property
    def rejects(self) -> list[Reject]:
        return [reject for rejects in self._rejects.values() for reject in rejects]

    @property
    def held_back(self) -> int:
        """Events after the snapshot day in a bundle that is not snapshot-safe; not emitted."""
        return sum(self._held_back.values())

    def _rows(self, name: str, required: Sequence[str], optional: Sequence[str]) -> Iterator[tuple[int, Row]]:
        return iter_rows(self.table(name), required, optional, batch_size=self.batch_size)

    def _read_accounts(self) -> Iterator[AccountRecord]:
        source, rejects = str(self.table("accounts")), self._start("accounts")
        seen: set[str] = set()
        for line, row in self._rows("accounts", ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL):
            try:
                account = convert.account_record(row, source=source, line=line)
                if account.id in seen:
                    raise RowError("account_id", f"account {account.id!r} appears more than once")
            except RowError as error:
                rejects.append(_reject(source, line, error, row))
                continue
            seen.add(account.id)
            yield account

    def _read_contacts(self) -> dict[str, dict[str, Any]]:
        source, rejects = str(self.table("contacts")), self._start("contacts")
        contacts: dict[str, dict[str, Any]] = {}
        for line, row in self._rows("contacts", CONTACT_COLUMNS, CONTACT_OPTIONAL):
            try:
                fields = convert.contact_fields(row)
                if fields["contact_id"] in contacts:
                    raise RowError("contact_id", f"contact {fields['contact_id']!r} appears more than once")
            except RowError as error:
                rejects.append(_reject(source, line, error, row))
                continue
            contacts[fields["contact_id"]] = fields
        return contacts

    def _read_lead_index(self) -> dict[str, datetime | None]:
        """Every lead id in leads.parquet with its creation day (None if unreadable): for events' lead_id."""
        index: dict[str, datetime | None] = {}
        for _, row in self._rows("leads", ("lead_id", "lead_created_at"), ()):
            lead_id = row["lead_id"]
            if isinstance(lead_id, str) and lead_id.strip():
                try:
                    index[lead_id.strip()] = convert.parse_day(row, "lead_created_at")
                except RowError:
                    index[lead_id.strip()] = None
        return index

    def _start(self, table: str) -> list[Reject]:
        self._rejects[table] = []
        return self._rejects[table]

    def leads(self) -> Iterator[LeadRecord]:
        """One ``LeadRecord`` per row of leads.parquet, with its contact's and account's fields."""
        source, rejects = str(self.table("leads")), self._start("leads")
        seen: set[str] = set()
        for line, row in self._rows("leads", LEAD_COLUMNS, LEAD_OPTIONAL):
            try:
                lead = convert.lead_record(row, self._contacts, self._account_index, source=source, line=line)
                if lead.id in seen:
                    raise RowError("lead_id", f"lead {lead.id!r} appears more than once")
            except RowError as error:
                rejects.append(_reject(source, line, error, row))
                continue
            seen.add(lead.id or "")
            yield lead

    def events(self) -> Iterator[EventRecord]:
        """The events of each table in ``event_tables``, table after table, each in file order."""
        for table in self.event_tables:
            yield from self.table_events(table)

    def table_events(self, table: str) -> Iterator[EventRecord]:
        required, optional, converter = EVENT_TABLES[table]
        source, rejects = str(self.table(table)), self._start(table)
        self._held_back[table] = 0
        span = timedelta(days=self.snapshot_days) if self.snapshot_days is not None else None
        for line, row in self._rows(table, required, optional):
            try:
                events = converter(row, source=source, line=line)
                lead_id = events[0].lead_id or ""
                if lead_id not in self._lead_created:
                    raise RowError("lead_id", f"lead {lead_id!r} is not in leads.parquet")
            except RowError as error:
                rejects.append(_reject(source, line, error, row))
                continue
            created = self._lead_created[lead_id]
            if span is not None and created is not None and events[0].occurred_at > created + span:
                self._held_back[table] += len(events)
                continue
            yield from events


def read_manifest(path: str | Path) -> dict[str, Any]:
    """``manifest.json``, checked: a leadforge bundle with a schema version this reader knows."""
    file = Path(path) / "manifest.json"
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IngestError(str(file), "not a leadforge bundle: manifest.json is missing") from None
    except (OSError, ValueError) as error:
        raise IngestError(str(file), f"cannot read the manifest: {error}") from None
    if not isinstance(manifest, dict) or "tables" not in manifest:
        raise IngestError(str(file), "not a leadforge manifest: expected an object with 'tables'")
    version = str(manifest.get("bundle_schema_version"))
    if version not in SCHEMA_VERSIONS:
        known = ", ".join(sorted(SCHEMA_VERSIONS))
        raise IngestError(str(file), f"bundle_schema_version {version!r} is not supported (expected {known})")
    return manifest


def read_bundle(
    path: str | Path,
    *,
    include_opportunities: bool = False,
    full_horizon: bool = False,
    batch_size: int = 50_000,
) -> LeadforgeBundle:
    """Open a bundle directory; ``include_opportunities`` adds ``opportunity_created`` events."""
    root = Path(path)
    manifest = read_manifest(root)
    tables: Iterable[str] = DEFAULT_EVENT_TABLES + (("opportunities",) if include_opportunities else ())
    return LeadforgeBundle(root, manifest, event_tables=tuple(tables), full_horizon=full_horizon, batch_size=batch_size)


def read_labels(path: str | Path, splits: Sequence[str] = SPLITS, *, task: str | None = None) -> dict[str, bool]:
    """The outcome per lead id (``converted_within_90_days``), from the task's split files.

    For evaluating scores only: never join these onto lead fields. A missing label or a lead in two
    splits is an ``IngestError``, since a silently skipped label would bias the evaluation.
    """
    root = Path(path)
    task_name = task or str(read_manifest(root).get("primary_task") or "converted_within_90_days")
    task_dir = root / "tasks" / task_name
    try:
        label_column = json.loads((task_dir / "task_manifest.json").read_text(encoding="utf-8"))["label_column"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IngestError(str(task_dir / "task_manifest.json"), f"cannot read the label column: {error}") from None
    labels: dict[str, bool] = {}
    for split in splits:
        file = task_dir / f"{split}.parquet"
        for line, row in iter_rows(file, ("lead_id", label_column)):
            lead_id, label = row["lead_id"], row[label_column]
            if not isinstance(lead_id, str) or not isinstance(label, bool):
                raise IngestError(f"{file}:{line}", f"expected a lead_id and a true/false label, got {row!r}")
            if lead_id in labels:
                raise IngestError(f"{file}:{line}", f"lead {lead_id!r} has a label in more than one split")
            labels[lead_id] = label
    return labels


def generate_bundle(
    out_dir: str | Path,
    n_leads: int = 2000,
    seed: int = 42,
    difficulty: str = "intermediate",
    *,
    exposure_mode: str = "student_public",
    n_accounts: int | None = None,
    n_contacts: int | None = None,
) -> Path:
    """Generate a bundle in-process with leadforge's Python API and write it to ``out_dir``.

    The same arguments give byte-identical files. leadforge keeps its recipe's 1,500 accounts and 4,200
    contacts whatever ``n_leads`` is; pass ``n_accounts``/``n_contacts`` to scale them down.
    """
    from leadforge.api import Generator  # type: ignore[import-untyped]

    generator = Generator.from_recipe(
        RECIPE,
        seed=seed,
        exposure_mode=exposure_mode,
        difficulty=difficulty,
        n_leads=n_leads,
        n_accounts=n_accounts,
        n_contacts=n_contacts,
    )
    root = Path(out_dir)
    generator.generate().save(str(root), generation_timestamp=GENERATION_TIMESTAMP)
    return root
