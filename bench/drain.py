"""What one drain of the event queue costs by how many events it takes (``LiveService.drain``), on SQLite
and on PostgreSQL: the figure behind the scorer's spacing (``service.delivery.DRAIN_SPACING_S``).

For each batch size, in one run on a fresh store with the sample leads: queue that many events for random
leads, drain them, and time the drain (wall and this process's CPU; on PostgreSQL its backend's CPU too, from
``/proc``). The baseline is a drain of 1 event: the ratio is events per second against it.

    python bench/drain.py                     # both backends
    python bench/drain.py --backend sqlite
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leadscore.sample import sample_leads
from leadscore.service.live import LiveService
from leadscore.service.project import load_project, write_project
from leadscore.store.url import open_store
from pg_schema import add_backend_options, fresh_schema
from proc_cpu import cpu_of

SIZES = (1, 5, 12, 50, 200, 1000)


def _backend_cpu(service: LiveService) -> Callable[[], float]:
    """CPU seconds of the store's PostgreSQL backend so far (0 on SQLite, which runs in this process)."""
    if not service.store.url.startswith("postgres"):
        return lambda: 0.0
    pid = service.store.db.info.backend_pid  # type: ignore[attr-defined]
    return lambda: cpu_of(pid)


def run(url: str, folder: Path, leads: int, repeats: int) -> list[dict[str, Any]]:
    write_project(folder, database=url)
    project = load_project(folder)
    now = datetime.now(UTC)
    service = LiveService(open_store(url, base=folder), project.models, score_inline=False)
    people = list(sample_leads(leads, seed=1, start=now - timedelta(days=60), end=now))
    rows = [{"id": p.id, "email": p.email, **{k: v for k, v in p.fields.items() if v is not None}} for p in people]
    for start in range(0, len(rows), 1000):
        service.upsert_leads(rows[start : start + 1000], now)
    backend = _backend_cpu(service)
    rng = random.Random(1)
    number = 0
    results = []
    for size in SIZES:
        walls, cpus, servers = [], [], []
        for _ in range(repeats if size < 200 else max(3, repeats // 4)):
            items = []
            for _ in range(size):
                number += 1
                lead = rng.choice(people).id
                items.append({"id": f"d{number}", "lead_id": lead, "type": "email_open", "occurred_at": str(now)})
            service.ingest_events(items, datetime.now(UTC))
            wall, cpu, server = time.perf_counter(), time.process_time(), backend()
            assert service.drain() == size
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            servers.append(backend() - server)
        results.append({"events": size, "wall_ms": statistics.median(walls) * 1000,
                        "cpu_ms": statistics.median(cpus) * 1000,
                        "server_cpu_ms": statistics.fmean(servers) * 1000})  # fmt: skip
    service.store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser)
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print("leadscore drain benchmark: one drain of the event queue by events taken (median of repeats)")
    for name in ("sqlite", "postgresql"):
        if args.backend not in (name, "both"):
            continue
        folder = Path(tempfile.mkdtemp(prefix=f"drain-{name}-"))
        if name == "sqlite":
            results = run("sqlite:///leadscore.db", folder, args.leads, args.repeats)
        else:
            with fresh_schema(args.postgres) as url:
                results = run(url, folder, args.leads, args.repeats)
        base = results[0]["events"] / results[0]["wall_ms"]
        print(f"{name}:")
        for r in results:
            rate = r["events"] / r["wall_ms"] * 1000
            print(f"  {r['events']:5d} events: wall {r['wall_ms']:7.2f} ms, CPU here {r['cpu_ms']:7.2f} ms"
                  f", PostgreSQL {r['server_cpu_ms']:6.2f} ms; {r['wall_ms'] / r['events']:.3f} ms an event"
                  f", {rate:8,.0f} events/s (ratio {rate / 1000 / base:.2f} to a 1-event drain)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
