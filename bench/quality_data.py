"""Datasets for ``bench/quality.py``: leadscore stores loaded through our own ingest path, point-in-time rows
built from them, and the flat tables the reference baselines read. Everything is cached under a work
folder outside the repository; the shared data is read in place and never copied.

- X Education: ``Leads.csv`` through ``examples/x_education/mapping.yaml`` (which leaves out the columns the
  dataset's README marks as leaking), outcomes from its ``Converted`` column, one snapshot on a fixed date
  (the file has no timestamps). The flat table for the baseline is the same file read with ``csv``.
- leadforge: a bundle made by ``leadforge generate``, imported from its raw relational tables with
  ``import_bundle`` (what ``leadscore import leadforge`` runs), outcomes from the bundle's labels, one
  snapshot 30 days after each lead's creation. The flat table is the bundle's own task files.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from leadscore.predict.dataset import Row, Snapshots, training_rows, write_rows
from leadscore.predict.facets import discover
from leadscore.service.ingest import IngestReport
from leadscore.store.protocol import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "datasets"
X_EDUCATION_CSV = SHARED / "x_education" / "Leads.csv"
#: leadforge difficulties, in the order a full run takes them.
DIFFICULTIES = ("intro", "intermediate", "advanced")
#: Fixed times, so that two runs build the same rows. X Education has no dates at all.
NOW = datetime(2026, 11, 23, tzinfo=UTC)
X_EDUCATION_SNAPSHOT = datetime(2026, 1, 1, tzinfo=UTC)
#: A leadforge bundle holds each lead's first 30 days of activity and its task's features are aggregated
#: up to that day (``snapshot_day`` in its manifest): our snapshot is the same moment.
LEADFORGE_SNAPSHOT_DAYS = 30
HORIZON_DAYS = 90
LEADFORGE_RECIPE = "b2b_saas_procurement_v1"
LEADFORGE_TASK = "converted_within_90_days"
#: Columns of the bundle's task files that are not features: the label, ``total_touches_all``, which counts
#: touches over all 90 days (leaky on purpose), the lead's creation date, and the opaque ids of the lead, its
#: contact and its account (thousands of one-hot columns that only name a record: a plain regression
#: overfits them, from AUC 0.62 to 0.55 on seed 1, intermediate).
LEADFORGE_FLAT_DROP = frozenset(
    {LEADFORGE_TASK, "total_touches_all", "lead_created_at", "lead_id", "contact_id", "account_id"}
)
#: Flat-file columns that need to know whether an opportunity was still open at the snapshot, i.e. its close
#: date, which a public bundle's ``opportunities`` table withholds (the label can be read from it): the raw
#: tables cannot rebuild them. ``bench/quality.py`` scores the flat regression without them as a diagnostic.
LEADFORGE_NEEDS_CLOSE_DATE = frozenset({"has_open_opportunity", "opportunity_estimated_acv", "expected_acv"})
#: Leads.csv columns that are not features: the README's leaking columns, the label and the two ids.
X_EDUCATION_LEAKING = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Last Activity",
    "Last Notable Activity",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)
X_EDUCATION_FLAT_DROP = frozenset({*X_EDUCATION_LEAKING, "Converted", "Prospect ID", "Lead Number"})
#: Row features that no model may use: X Education's label loaded as a field, and the opaque ids that only
#: name a record (X Education's lead number, which on a random split can only encode the order of the
#: export; leadforge's contact id, its account's name and domain, and the account's creation day, text
#: that is unique per account), as in the flat files above.
ROW_DROP = frozenset(
    {
        "field.converted",
        "field.lead_number",
        "field.contact_id",
        "field.company",
        "field.company_domain",
        "field.created_at",
        "account.company",
        "account.company_domain",
        "account.created_at",
    }
)
X_EDUCATION_MISSING = frozenset({"", "Select"})
#: The rules models scored into every row: the generic example first, then the dataset's own hand-set one.
GENERIC_MODEL = EXAMPLES / "b2b_saas.yaml"
X_EDUCATION_MODEL = EXAMPLES / "x_education" / "model.yaml"
LEADFORGE_MODEL = ROOT / "src" / "leadscore" / "data" / "models" / "leadforge_procurement.yaml"
#: Bump when the rows change, so that cached rows are rebuilt; a change to any of ``SOURCES`` does too.
ROWS_VERSION = 1
SOURCES = (
    "src/leadscore/predict/dataset.py",
    "src/leadscore/predict/facets.py",
    "src/leadscore/ingest/leadforge.py",
    "src/leadscore/ingest/leadforge_convert.py",
    "src/leadscore/ingest/outcomes.py",
    "src/leadscore/ingest/mapping.py",
    "src/leadscore/service/leadforge_import.py",
    "examples/x_education/mapping.yaml",
    "examples/x_education/model.yaml",
    "examples/b2b_saas.yaml",
    "src/leadscore/data/models/leadforge_procurement.yaml",
    "bench/quality_data.py",
)


def fingerprint() -> str:
    """A hash of the code and files the rows depend on."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


#: Taken when this module is imported, with the modules it builds rows with: a file changed while a run
#: goes on (others work in this checkout) must not label rows built by the old code as new.
FINGERPRINT = fingerprint()


@dataclass
class Prepared:
    """One dataset's rows (cached), its flat table for the baselines, and what preparing it cost."""

    name: str
    rows: list[Row]
    flat: dict[str, dict[str, Any]]  # lead id -> the flat file's feature columns
    dataset_model: str  # the name of the dataset's own hand-set rules model
    seconds: dict[str, float]
    notes: dict[str, Any]


def _project(root: Path, models: Sequence[Path]) -> None:
    """A project folder naming the models by absolute path; the database is a fresh SQLite file."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    listed = "".join(f"  - {m}\n" for m in models)
    (root / "leadscore.yaml").write_text(f"database: sqlite:///leadscore.db\nmodels:\n{listed}", encoding="utf-8")


def _timed(seconds: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    seconds[name] = round(now - started, 3)
    return now


def _strip(rows: list[Row]) -> list[Row]:
    for row in rows:
        for column in ROW_DROP & row.features.keys():
            del row.features[column]
    return rows


def read_rows(path: Path) -> list[Row]:
    """Rows written by ``write_rows`` as JSONL, back as ``Row``s."""
    head = ("lead_id", "snapshot", "label", "label_timed", "fields_changed_after", "account_id")
    rows = []
    with path.open("rb") as handle:
        for line in handle:
            item = orjson.loads(line)
            lead_id, snapshot, label, timed, changed, account = (item.pop(k) for k in head)
            at = datetime.fromisoformat(snapshot.replace("Z", "+00:00"))
            rows.append(Row(lead_id, at, int(label), bool(timed), bool(changed), item, account))
    return rows


def _cached(folder: Path, key: dict[str, Any]) -> tuple[list[Row], dict[str, Any]] | None:
    meta = folder / "meta.json"
    if not meta.exists():
        return None
    saved = json.loads(meta.read_text())
    if saved.get("key") != key:
        return None
    return read_rows(folder / "rows.jsonl"), saved


def _save(folder: Path, key: dict[str, Any], rows: list[Row], seconds: dict[str, float], notes: dict[str, Any]) -> None:
    write_rows(rows, folder / "rows.jsonl")
    (folder / "meta.json").write_text(json.dumps({"key": key, "seconds": seconds, "notes": notes}, indent=2))


def x_education(work: Path, csv_path: Path = X_EDUCATION_CSV) -> Prepared:
    """Leads.csv loaded with the shipped mapping, outcomes from ``Converted``, one row per lead."""
    folder = work / "x_education"
    key = {"version": ROWS_VERSION, "code": FINGERPRINT, "snapshot": X_EDUCATION_SNAPSHOT.isoformat()}
    flat = x_education_flat(csv_path)
    hit = _cached(folder, key)
    if hit is not None:
        rows, meta = hit
        return Prepared("x_education", _strip(rows), flat, "x_education", meta["seconds"], meta["notes"])
    from leadscore.ingest.outcomes import read_label_column
    from leadscore.ingest.readers import read_leads
    from leadscore.service.ingest import ingest_leads
    from leadscore.service.outcomes import load_outcomes
    from leadscore.service.project import load_project
    from leadscore.service.scorer import Scorer
    from leadscore.store.url import open_store

    seconds: dict[str, float] = {}
    _project(folder / "project", [GENERIC_MODEL, X_EDUCATION_MODEL])
    project = load_project(folder / "project")
    store = open_store(project.database, base=project.root)
    started = time.perf_counter()
    leads = read_leads(csv_path, EXAMPLES / "x_education" / "mapping.yaml")
    loaded = ingest_leads(store, Scorer(store, []), leads, as_of=NOW, now=NOW, source=str(csv_path))
    started = _timed(seconds, "ingest_leads", started)
    labels = read_label_column(csv_path, "Converted", id_column="Prospect ID")
    outcomes = load_outcomes(store, labels, now=NOW, source=str(csv_path))
    started = _timed(seconds, "outcomes", started)
    snapshots = Snapshots(dates=(X_EDUCATION_SNAPSHOT,))
    models = [m.compiled for m in project.models]
    rows = list(training_rows(store, models, snapshots, HORIZON_DAYS, X_EDUCATION_SNAPSHOT, facets=discover(store)))
    _timed(seconds, "rows", started)
    store.close()
    notes = {
        "leads": {"read": loaded.read, "loaded": loaded.loaded, "rejected": loaded.rejected},
        "outcomes": {"read": outcomes.read, "loaded": outcomes.loaded, "rejected": outcomes.rejected},
    }
    _save(folder, key, rows, seconds, notes)
    return Prepared("x_education", _strip(rows), flat, "x_education", seconds, notes)


def x_education_flat(csv_path: Path = X_EDUCATION_CSV) -> dict[str, dict[str, Any]]:
    """Leads.csv's non-leaking columns by Prospect ID, read with ``csv`` alone (not through leadscore).
    Empty cells and ``Select`` are missing; a cell that reads as a number is a number."""
    flat: dict[str, dict[str, Any]] = {}
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        for item in csv.DictReader(handle):
            values: dict[str, Any] = {}
            for column, cell in item.items():
                if column in X_EDUCATION_FLAT_DROP:
                    continue
                text = cell.strip()
                values[column] = None if text in X_EDUCATION_MISSING else _number_or_text(text)
            flat[item["Prospect ID"]] = values
    return flat


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def bundle_path(work: Path, seed: int, difficulty: str, n_leads: int) -> Path:
    return work / "bundles" / f"s{seed}-{difficulty}-n{n_leads}"


def generate(work: Path, seed: int, difficulty: str, n_leads: int) -> tuple[Path, float]:
    """``leadforge generate`` once per seed, difficulty and size; a finished bundle is reused. The shards of
    a run want the same bundles at the same time: a lock makes the second wait for the first's bundle."""
    out = bundle_path(work, seed, difficulty, n_leads)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "manifest.json").exists():
            return out, 0.0
        started = time.perf_counter()
        tool = Path(sys.executable).with_name("leadforge")
        command = [str(tool), "generate", "--recipe", LEADFORGE_RECIPE, "--seed", str(seed), "--mode", "student_public"]
        command += ["--difficulty", difficulty, "--n-leads", str(n_leads), "--out", str(out)]
        subprocess.run(command, check=True, capture_output=True)
        return out, time.perf_counter() - started


def _opportunity_events(store: Store, bundle: Path) -> IngestReport:
    """Each opportunity's creation as an ``opportunity_created`` event, read by our importer (the
    opportunity's stage, written at day 90, is never read). ``leadscore import leadforge`` leaves this
    table out; the rows score every model from the stored events, so the import's rescore needs no redo."""
    from leadscore.ingest.leadforge import read_bundle
    from leadscore.service.ingest import ingest_events
    from leadscore.service.scorer import Scorer

    reader = read_bundle(bundle, include_opportunities=True)
    events = reader.table_events("opportunities")
    return ingest_events(store, Scorer(store, []), events, as_of=NOW, now=NOW, source=f"{bundle} (opportunities)")


def leadforge_name(seed: int, difficulty: str, n_leads: int, opportunities: bool) -> str:
    return f"leadforge s{seed} {difficulty} n{n_leads}" + (" +opportunities" if opportunities else "")


def leadforge(work: Path, seed: int, difficulty: str, n_leads: int, opportunities: bool = False) -> Prepared:
    """A bundle's raw tables imported into a store, its labels as outcomes, a row 30 days after creation.
    ``opportunities`` adds an ``opportunity_created`` event per opportunity to the touches, sessions and
    sales activities that ``leadscore import leadforge`` reads."""
    name = leadforge_name(seed, difficulty, n_leads, opportunities)
    bundle, generate_seconds = generate(work, seed, difficulty, n_leads)
    folder = work / "leadforge" / (bundle.name + ("-opportunities" if opportunities else ""))
    key = {"version": ROWS_VERSION, "code": FINGERPRINT, "snapshot_days": LEADFORGE_SNAPSHOT_DAYS}
    flat = leadforge_flat(bundle)
    hit = _cached(folder, key)
    if hit is not None:
        rows, meta = hit
        return Prepared(name, _strip(rows), flat, "leadforge_procurement", meta["seconds"], meta["notes"])
    from leadscore.engine.types import from_micros
    from leadscore.ingest.leadforge import read_labels
    from leadscore.ingest.outcomes import read_leadforge_outcomes
    from leadscore.service.leadforge_import import import_bundle
    from leadscore.service.outcomes import load_outcomes
    from leadscore.service.project import load_project
    from leadscore.store.url import open_store

    seconds: dict[str, float] = {"generate": round(generate_seconds, 3)}
    _project(folder / "project", [GENERIC_MODEL, LEADFORGE_MODEL])
    project = load_project(folder / "project")
    store = open_store(project.database, base=project.root)
    started = time.perf_counter()
    reports, rescored = import_bundle(store, project.models, bundle, as_of=None, now=NOW)
    if opportunities:
        reports.append(_opportunity_events(store, bundle))
    started = _timed(seconds, "import", started)
    outcomes = load_outcomes(store, read_leadforge_outcomes(bundle), now=NOW, source=str(bundle))
    started = _timed(seconds, "outcomes", started)
    latest = store.latest_event_us()
    until = from_micros(latest) + timedelta(days=1) if latest is not None else NOW
    snapshots = Snapshots(after_creation_days=(LEADFORGE_SNAPSHOT_DAYS,))
    models = [m.compiled for m in project.models]
    rows = list(training_rows(store, models, snapshots, HORIZON_DAYS, until, facets=discover(store)))
    _timed(seconds, "rows", started)
    store.close()
    labelled, converted = sum(read_labels(bundle).values()), sum(r.label for r in rows)
    if labelled != converted or len(rows) != n_leads:
        message = f"{len(rows)} rows, {converted} converted; the bundle labels {labelled} of {n_leads} converted"
        raise ValueError(f"{bundle}: {message}")
    notes = {
        "leads": {"read": reports[0].read, "loaded": reports[0].loaded, "rejected": reports[0].rejected},
        "events": {k: sum(getattr(r, k) for r in reports[1:]) for k in ("read", "loaded", "rejected")},
        "rescored_leads": rescored.leads,
        "outcomes": {"read": outcomes.read, "loaded": outcomes.loaded, "rejected": outcomes.rejected},
    }
    _save(folder, key, rows, seconds, notes)
    return Prepared(name, _strip(rows), flat, "leadforge_procurement", seconds, notes)


def leadforge_flat(bundle: Path) -> dict[str, dict[str, Any]]:
    """The bundle's own flat task features (train, valid and test files together) by lead id."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    flat: dict[str, dict[str, Any]] = {}
    for split in ("train", "valid", "test"):
        table = pq.read_table(bundle / "tasks" / LEADFORGE_TASK / f"{split}.parquet")
        for item in table.to_pylist():
            flat[item["lead_id"]] = {k: v for k, v in item.items() if k not in LEADFORGE_FLAT_DROP}
    return flat


def order_key(name: str) -> tuple[int, int, int, bool]:
    """Where a leadforge dataset's run comes in a full run (seed, difficulty, size, opportunities last)."""
    match = re.fullmatch(r"leadforge s(\d+) (\w+) n(\d+)( \+opportunities)?", name)
    if match is None:
        return (0, 0, 0, False)
    seed, difficulty, size, opportunities = match.groups()
    return int(seed), DIFFICULTIES.index(difficulty), int(size), opportunities is not None


def iter_names(seeds: Sequence[int], difficulties: Sequence[str]) -> Iterator[tuple[int, str]]:
    for seed in seeds:
        for difficulty in difficulties:
            yield seed, difficulty
