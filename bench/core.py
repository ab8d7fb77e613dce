"""Core benchmark: loading into SQLite, scoring on ingest, full rescore, and the in-memory incremental fold.

It generates 100,000 leads and 2,000,000 events with leadscore's sample generator (seeded, so every run
scores the same data), then runs each phase in its own process, so that its peak memory (ru_maxrss) is
its own. Each rate is reported next to a baseline measured in the same run, on the same data:

- ingest into SQLite, no model (read JSONL, resolve leads, store once by id)  vs  a bare SQLite insert;
- incremental scoring with SQLite persistence (events from the generator)     vs  a bare SQLite insert;
- ingest of the file with scoring on ingest (what ``leadscore ingest`` does)   vs  a bare SQLite insert;
- full rescore with the reference engine, 1 and 2 processes                    vs  scanning the same rows;
- incremental fold + score per event, in memory                              vs  a running sum per lead.

    python bench/core.py --leads 100000 --events 2000000
    python bench/core.py --leads 100000 --events 500000 --memory-only   # peak memory at another size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)


def phase_generate(work: Path, leads: int, events: int) -> dict[str, float]:
    from leadscore.ingest.writers import write_events_jsonl, write_leads_csv
    from leadscore.sample import sample_events, sample_leads

    marker = work / "generated.json"
    if marker.exists() and json.loads(marker.read_text()) == [leads, events]:
        return {"events": float(events), "seconds": 0.0}  # the same seeds give the same files: reuse them
    write_leads_csv(work / "leads.csv", sample_leads(leads, seed=1, start=START, end=END))
    count = write_events_jsonl(work / "events.jsonl", sample_events(leads, events, seed=2, start=START, end=END))
    marker.write_text(json.dumps([leads, events]))
    return {"events": float(count)}


def _project(work: Path, name: str) -> Path:
    from leadscore.service.project import write_project

    root = work / name
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    write_project(root)
    return root


def phase_ingest(work: Path) -> dict[str, float]:
    from leadscore.ingest.readers import read_events, read_leads
    from leadscore.service.ingest import ingest_events, ingest_leads
    from leadscore.service.project import load_project
    from leadscore.service.scorer import Scorer
    from leadscore.store.url import open_store

    project = load_project(_project(work, "project"))
    store = open_store(project.database, base=project.root)
    scorer = Scorer(store, project.models)
    started = time.perf_counter()
    leads = ingest_leads(store, scorer, read_leads(work / "leads.csv"), as_of=END, now=END, source="leads.csv")
    lead_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = ingest_events(store, scorer, read_events(work / "events.jsonl"), as_of=END, now=END, source="events")
    seconds = time.perf_counter() - started
    assert report.rejected == 0 and leads.rejected == 0, (report.rejects[:3], leads.rejects[:3])
    store.close()
    return {
        "leads": float(leads.read),
        "lead_seconds": lead_seconds,
        "events": float(report.loaded),
        "seconds": seconds,
        "score_changes": float(report.score_changes),
    }


def phase_ingest_raw(work: Path) -> dict[str, float]:
    """``leadscore ingest events`` with no model: read JSONL, resolve leads, store events once by id."""
    from leadscore.ingest.readers import read_events, read_leads
    from leadscore.service.ingest import ingest_events, ingest_leads
    from leadscore.service.project import load_project
    from leadscore.service.scorer import Scorer
    from leadscore.store.url import open_store

    project = load_project(_project(work, "raw"))
    store = open_store(project.database, base=project.root)
    loader = Scorer(store, [])
    ingest_leads(store, loader, read_leads(work / "leads.csv"), as_of=END, now=END, source="leads.csv")
    started = time.perf_counter()
    report = ingest_events(store, loader, read_events(work / "events.jsonl"), as_of=END, now=END, source="events")
    seconds = time.perf_counter() - started
    store.close()
    return {"events": float(report.loaded), "seconds": seconds}


def phase_incremental(
    work: Path, leads: int, events: int, state_cache: int = 2_000_000, batch_size: int = 50_000
) -> dict[str, float]:
    """Scoring on ingest with SQLite persistence, fed records (from the generator, not a file): store each
    event once, fold it into its lead's state, and persist the new score, its history and stage changes."""
    from leadscore.sample import sample_events, sample_leads
    from leadscore.service.ingest import ingest_events, ingest_leads
    from leadscore.service.project import load_project
    from leadscore.service.scorer import Scorer
    from leadscore.store.url import open_store

    project = load_project(_project(work, "incremental"))
    store = open_store(project.database, base=project.root)
    scorer = Scorer(store, project.models, capacity=state_cache)
    ingest_leads(store, scorer, sample_leads(leads, seed=1, start=START, end=END), as_of=END, now=END, source="s")
    stream = sample_events(leads, events, seed=2, start=START, end=END)
    started = time.perf_counter()
    report = ingest_events(store, scorer, stream, as_of=END, now=END, source="generator", batch_size=batch_size)
    seconds = time.perf_counter() - started
    store.close()
    return {"events": float(report.loaded), "seconds": seconds, "score_changes": float(report.score_changes)}


def phase_insert_baseline(work: Path) -> dict[str, float]:
    """The floor for ingest: the same rows into a bare SQLite table in batches, no parsing, no scoring."""
    import sqlite3

    rows = []
    with (work / "events.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            rows.append(
                (item["id"], item["lead_id"], item["type"], item["occurred_at"], json.dumps(item["properties"]))
            )
    path = work / "baseline.db"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE events (id TEXT PRIMARY KEY, lead TEXT, type TEXT, at TEXT, properties TEXT)")
    started = time.perf_counter()
    for start in range(0, len(rows), 2000):
        db.execute("BEGIN")
        db.executemany("INSERT INTO events VALUES (?,?,?,?,?)", rows[start : start + 2000])
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return {"events": float(len(rows)), "seconds": seconds}


def phase_rescore(work: Path, workers: int = 1) -> dict[str, float]:
    from leadscore.service.project import load_project
    from leadscore.service.rescore import rescore
    from leadscore.store.url import open_store

    project = load_project(work / "project")
    store = open_store(project.database, base=project.root)
    started = time.perf_counter()
    report = rescore(store, project.models, as_of=END, now=END, workers=workers)
    seconds = time.perf_counter() - started
    store.close()
    return {"events": float(report.events), "leads": float(report.leads), "seconds": seconds,
            "changed": float(report.changed)}  # fmt: skip


def phase_rescore_parallel(work: Path) -> dict[str, float]:
    """The same rescore, scored by two worker processes (the machine has two cores)."""
    return phase_rescore(work, workers=2)


def phase_scan_baseline(work: Path) -> dict[str, float]:
    """The floor for rescoring: stream the same leads and events out of SQLite and touch every row."""
    from leadscore.store.url import open_store

    store = open_store(f"sqlite:///{work / 'project' / 'leadscore.db'}")
    started = time.perf_counter()
    events = 0
    for _, _, rows in store.scan():
        events += len(rows)
    seconds = time.perf_counter() - started
    store.close()
    return {"events": float(events), "seconds": seconds}


def _events_in_memory(work: Path) -> list[tuple[str, str, str, datetime, dict[str, object]]]:
    out = []
    with (work / "events.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            at = datetime.fromisoformat(item["occurred_at"].replace("Z", "+00:00"))
            out.append((item["id"], item["lead_id"], item["type"], at, item["properties"]))
    return out


def phase_fold(work: Path) -> dict[str, float]:
    """Per event: fold into the lead's state and read its score at ``as_of``, as scoring on ingest does."""
    from leadscore.engine.compiled import CompiledModel
    from leadscore.engine.state import LeadState
    from leadscore.engine.types import Event, Lead
    from leadscore.model.loader import load_model

    compiled = CompiledModel(load_model(ROOT / "examples" / "b2b_saas.yaml"))
    items = _events_in_memory(work)
    states: dict[str, LeadState] = {}
    started = time.perf_counter()
    for event_id, lead_id, kind, at, props in items:
        state = states.get(lead_id)
        if state is None:
            state = states[lead_id] = LeadState(compiled, Lead(lead_id, {}))
        if state.fold(Event(event_id, lead_id, kind, at, props)):
            state.score(END)
    seconds = time.perf_counter() - started
    return {"events": float(len(items)), "seconds": seconds}


def phase_fold_baseline(work: Path) -> dict[str, float]:
    """A running sum per lead with one weight per event type: the cheapest possible incremental scorer."""
    items = _events_in_memory(work)
    weights = {"page_view": 1.0, "email_open": 1.0, "form_submit": 10.0}
    totals: dict[str, float] = {}
    started = time.perf_counter()
    for _, lead_id, kind, _, _ in items:
        totals[lead_id] = totals.get(lead_id, 0.0) + weights.get(kind, 0.5)
    seconds = time.perf_counter() - started
    return {"events": float(len(items)), "seconds": seconds}


PHASES: dict[str, Callable[..., dict[str, float]]] = {
    "generate": phase_generate,
    "ingest_raw": phase_ingest_raw,
    "incremental": phase_incremental,
    "ingest": phase_ingest,
    "insert_baseline": phase_insert_baseline,
    "rescore": phase_rescore,
    "rescore_parallel": phase_rescore_parallel,
    "scan_baseline": phase_scan_baseline,
    "fold": phase_fold,
    "fold_baseline": phase_fold_baseline,
}


def run_child(name: str, work: Path, extra: list[str]) -> dict[str, float]:
    """Runs one phase in a fresh interpreter; adds its wall time and peak memory."""
    args = [sys.executable, __file__, "--phase", name, "--work", str(work), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    assert process.stdout is not None
    output = process.stdout.read()
    if status != 0:
        raise SystemExit(f"phase {name} failed with status {status}")
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--phase", choices=sorted(PHASES), default=None)
    parser.add_argument("--state-cache", type=int, default=2_000_000, help="Scorer capacity for the incremental phase")
    parser.add_argument("--batch-size", type=int, default=50_000, help="events per batch for the incremental phase")
    parser.add_argument(
        "--memory-only", action="store_true", help="only generate, ingest and rescore: for peak memory at this size"
    )
    args = parser.parse_args()
    work: Path = args.work or OUT / f"core-{args.leads}-{args.events}"
    if args.phase:
        work.mkdir(parents=True, exist_ok=True)
        phase = PHASES[args.phase]
        if args.phase == "incremental":
            result = phase(work, args.leads, args.events, args.state_cache, args.batch_size)
        elif args.phase == "generate":
            result = phase(work, args.leads, args.events)
        else:
            result = phase(work)
        print(json.dumps(result))
        return
    work.mkdir(parents=True, exist_ok=True)
    size = ["--leads", str(args.leads), "--events", str(args.events)]
    if args.memory_only:
        for name in ("generate", "ingest", "rescore"):
            one = run_child(name, work, size)
            speed = one["events"] / one.get("seconds", one["wall"])
            print(f"{args.events:>10,} events  {name:<10} {speed:>10,.0f} events/s  peak {one['peak_mib']:.0f} MiB")
        return
    results: dict[str, dict[str, float]] = {}
    for name in PHASES:
        results[name] = run_child(name, work, size)
        print(f"{name}: {json.dumps(results[name])}", flush=True)
        (work / "results.json").write_text(json.dumps(results, indent=2))
    rate = {name: r["events"] / r["seconds"] for name, r in results.items() if r.get("seconds")}
    print(f"leadscore core benchmark: {args.leads:,} leads, {args.events:,} events (python {sys.version.split()[0]})")
    print(f"{'phase':<34}{'events/s':>12}{'baseline/s':>13}{'ratio':>8}{'peak MiB':>10}")
    rows = [
        ("ingest into SQLite, no model", "ingest_raw", "insert_baseline"),
        ("incremental scoring, SQLite", "incremental", "insert_baseline"),
        ("ingest file + score on ingest", "ingest", "insert_baseline"),
        ("full rescore, reference engine", "rescore", "scan_baseline"),
        ("full rescore, 2 worker processes", "rescore_parallel", "scan_baseline"),
        ("incremental fold + score, memory", "fold", "fold_baseline"),
    ]
    for label, name, baseline in rows:
        print(
            f"{label:<34}{rate[name]:>12,.0f}{rate[baseline]:>13,.0f}{rate[name] / rate[baseline]:>8.3f}"
            f"{results[name]['peak_mib']:>10.0f}"
        )
    lead_rate = results["ingest"]["leads"] / results["ingest"]["lead_seconds"]
    print(f"lead ingest with scoring: {lead_rate:,.0f} leads/s")
    baselines = dict.fromkeys(b for _, _, b in rows)
    print("baseline peak MiB: " + ", ".join(f"{b} {results[b]['peak_mib']:.0f}" for b in baselines))
    (work / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
