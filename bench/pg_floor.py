"""PostgreSQL's own floor on this machine, with no leadscore code in the way: how fast the events table
takes rows (the issue 3 batch target is 20,000 events/s), and what a round trip and a durable commit cost
(the single-event target is p99 < 25 ms at 500 requests/s).

The events table is leadscore's own (``0001_core``: the (lead, time, id) key, the unique id index and JSONB
properties). Rows go in batches of 1,000, as the server benchmark sends them, by the statement leadscore
uses (``unnest`` arrays with ``ON CONFLICT DO NOTHING RETURNING id``) and by ``COPY`` into a temporary
table first. The baseline, in the same run, is a plain ``SELECT 1`` round trip.

    python bench/pg_floor.py [--postgres URL] [--rows 100000]
"""

from __future__ import annotations

import argparse
import random
import time

import orjson
import psycopg

from pg_schema import add_backend_options, fresh_schema

INSERT = (
    "INSERT INTO events(id, lead_seq, type, occurred_at, properties, received_at) "
    "SELECT i, s, t, o, p::jsonb, r FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], "
    "%s::text[], %s::bigint[]) AS e(i, s, t, o, p, r) ON CONFLICT (id) DO NOTHING RETURNING id"
)
INCOMING = (
    "CREATE TEMP TABLE IF NOT EXISTS incoming (id text, lead_seq bigint, type text, occurred_at bigint, "
    "properties text, received_at bigint) ON COMMIT DELETE ROWS"
)
FROM_COPY = (
    "INSERT INTO events(id, lead_seq, type, occurred_at, properties, received_at) "
    "SELECT id, lead_seq, type, occurred_at, properties::jsonb, received_at FROM incoming "
    "ON CONFLICT (id) DO NOTHING RETURNING id"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser, backend=False)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--leads", type=int, default=5000)
    args = parser.parse_args()
    from leadscore.store.url import open_store

    with fresh_schema(args.postgres) as url:
        open_store(url).close()  # leadscore's schema, by its own migrations
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "INSERT INTO leads(id, updated_at) SELECT 'L' || n, 0 FROM generate_series(1, %s) AS n", (args.leads,)
            )
            started = time.perf_counter()
            for _ in range(2000):
                db.execute("SELECT 1").fetchone()
            round_trip = (time.perf_counter() - started) / 2000
            started = time.perf_counter()
            for n in range(1000):
                with db.transaction():
                    db.execute("INSERT INTO ingest_runs(kind, source, read, loaded, updated, duplicates, rejected, "
                               "started_at, finished_at) VALUES ('x', 'x', 0, 0, 0, 0, %s, 0, 0)", (n,))  # fmt: skip
            commit = (time.perf_counter() - started) / 1000
            rates = {}
            for method in ("unnest", "copy"):
                rows = _rows(args.rows, args.leads, method)
                started = time.perf_counter()
                for start in range(0, len(rows), 1000):
                    batch = rows[start : start + 1000]
                    with db.transaction():
                        if method == "unnest":
                            db.execute(INSERT, [list(c) for c in zip(*batch, strict=True)]).fetchall()
                        else:
                            db.execute(INCOMING)
                            with db.cursor().copy("COPY incoming FROM STDIN") as copy:
                                for row in batch:
                                    copy.write_row(row)
                            db.execute(FROM_COPY).fetchall()
                rates[method] = len(rows) / (time.perf_counter() - started)
    print(f"round trip (baseline): {round_trip * 1000:.3f} ms; a one-row transaction with its durable commit: "
          f"{commit * 1000:.2f} ms, ratio {commit / round_trip:.1f}")  # fmt: skip
    for method, rate in rates.items():
        print(f"events insert by {method}, batches of 1,000: {rate:,.0f} rows/s, {1e6 / rate:.1f} µs a row, "
              f"{rate * round_trip:.2f} rows a round trip")  # fmt: skip


def _rows(count: int, leads: int, tag: str) -> list[tuple[object, ...]]:
    rng = random.Random(1)
    return [
        (
            f"{tag}-{n}",
            rng.randrange(1, leads + 1),
            "page_view",
            1_780_000_000_000_000 + rng.randrange(10**12),
            orjson.dumps({"url": "/pricing", "n": n}).decode(),
            0,
        )
        for n in range(count)
    ]


if __name__ == "__main__":
    main()
