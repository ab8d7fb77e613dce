"""How the PostgreSQL store sends rows in bulk (``leadscore.store.postgres_bulk``): as one JSON parameter,
or by ``COPY`` into a staging table, against the array parameters (``unnest``) it used before, in the same
run, for a few rows (what group commit makes of single events) and for 1,000 (a batch request).

Each method stores events with the store's own ``insert_events`` statement and upserts the same number of
score rows with ``write_score_rows``, one transaction per batch, on leadscore's schema in a schema of its
own. Client CPU is this process's; server CPU is its PostgreSQL backend's (read from ``/proc``, as both run
on this machine). On 2 cores shared by the server's workers and PostgreSQL, their sum is what counts.

    python bench/pg_bulk.py [--postgres URL]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

from leadscore.ingest.records import EventRecord
from leadscore.store import postgres_bulk
from leadscore.store.postgres_bulk import PostgresConnected
from pg_schema import add_backend_options, fresh_schema
from proc_cpu import cpu_of

UNNEST_EVENTS = (
    "WITH new AS (INSERT INTO events(id, lead_seq, type, occurred_at, properties, received_at) "
    "SELECT i, s, t, o, p::jsonb, r FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], "
    "%s::text[], %s::bigint[]) AS e(i, s, t, o, p, r) ON CONFLICT (id) DO NOTHING RETURNING id, lead_seq), "
    "counted AS (INSERT INTO event_counts SELECT lead_seq, count(*) FROM new GROUP BY lead_seq "
    "ON CONFLICT (lead_seq) DO UPDATE SET events = event_counts.events + excluded.events) SELECT id FROM new"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser, backend=False)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from datetime import UTC, datetime, timedelta

    from leadscore.store.url import open_store

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with fresh_schema(args.postgres) as url:
        store: Any = open_store(url)
        seqs = [seq for seq, _ in store.resolve_leads([(f"L{n}", None) for n in range(args.leads)], 0)]
        backend = int(store.db.execute("SELECT pg_backend_pid()").fetchone()[0])
        results: dict[tuple[int, str], list[tuple[float, float, float]]] = {}
        serial = 0
        for _ in range(args.rounds):
            for size, batches in ((3, 300), (1000, 10)):
                for method in ("unnest", "json", "copy"):
                    work = []
                    for _ in range(batches):
                        events = []
                        for _ in range(size):
                            serial += 1
                            record = EventRecord(f"e{serial}", "page_view", t0 + timedelta(seconds=serial),
                                                 properties={"url": "/pricing", "n": serial})  # fmt: skip
                            events.append((seqs[(serial * 7919) % len(seqs)], record))
                        distinct = sorted({seq for seq, _ in events})
                        scores = [(("m", seq, 1, 100, 200, serial % 9000, "warm", "B", "2", "mql", "mql: total",
                                    '[["pricing", "engagement", "5.00", "5.00", 1, 1]]', 7), "x")
                                  for seq in distinct]  # fmt: skip
                        work.append((events, scores))
                    server = cpu_of(backend)
                    wall, cpu = _run(store, method, work)
                    server = cpu_of(backend) - server
                    rows = size * batches
                    results.setdefault((size, method), []).append((rows / wall, cpu / rows * 1e6, server / rows * 1e6))
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"leadscore PostgreSQL bulk writes, {args.rounds} rounds, median of each; peak memory {peak:.0f} MiB")
    print(
        f"{'rows a batch':>12} {'method':>7} {'events/s':>10} {'ratio':>6} {'client µs/row':>14} {'server µs/row':>14}"
    )
    for size in (3, 1000):
        base = _median([r[0] for r in results[(size, "unnest")]])
        for method in ("unnest", "json", "copy"):
            rate, client, server = (_median([r[i] for r in results[(size, method)]]) for i in range(3))
            print(f"{size:>12} {method:>7} {rate:>10,.0f} {rate / base:>6.2f} {client:>14.1f} {server:>14.1f}")


def _run(store: Any, method: str, work: list[Any]) -> tuple[float, float]:
    """Wall and client CPU seconds to store ``work`` (events, then their leads' scores, per transaction)."""
    threshold = postgres_bulk.COPY_FROM
    postgres_bulk.COPY_FROM = {"json": 1 << 30, "copy": 0}.get(method, threshold)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        for events, scores in work:
            with store.transaction():
                if method == "unnest":
                    _unnest_events(store, events)
                else:
                    store.insert_events(events, 0)
                store.write_score_rows(scores, 0)
    finally:
        postgres_bulk.COPY_FROM = threshold
    return time.perf_counter() - started, time.process_time() - cpu


def _unnest_events(store: PostgresConnected, events: list[Any]) -> None:
    import orjson

    rows = [(r.id, seq, r.type, int(r.occurred_at.timestamp() * 1e6), orjson.dumps(r.properties).decode(), 0)
            for seq, r in events]  # fmt: skip
    store.db.execute(UNNEST_EVENTS, [list(c) for c in zip(*rows, strict=True)]).fetchall()


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    main()
