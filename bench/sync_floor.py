"""The disk's floor under single-event latency: a durable one-row commit at a fixed rate, with no leadscore
code, alone and while another process writes a large file to the same disk.

A 2xx from ``POST /v1/events`` waits for a commit that is on disk (PostgreSQL's default, SQLite's
``synchronous=FULL``), so its latency can never beat the disk's sync time. On this machine's virtual disk a
sync is well under a millisecond while nothing else writes, and waits behind the page cache's writeback
when something does. This measures both, so that ``bench/server.py``'s tail can be read against them:

- each backend: 8 connections commit one row each, open loop at ``--rate`` (latency from when each commit
  was due), for ``--seconds``; the baseline is the same load with no other writer;
- then the same load while a second process writes ``--bulk-mb`` to a file beside the database (``dd``-like,
  through the page cache) and syncs it.

    python bench/sync_floor.py
    python bench/sync_floor.py --backend sqlite --bulk-mb 1500
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from pg_schema import add_backend_options

Commit = Callable[[], None]


def _postgres(url: str) -> Callable[[], Commit]:
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS sync_floor (id BIGSERIAL PRIMARY KEY, event TEXT NOT NULL)")

    def connect() -> Commit:
        db = psycopg.connect(url, autocommit=True)

        def commit() -> None:
            db.execute("INSERT INTO sync_floor(event) VALUES (%s)", ("x" * 300,))

        return commit

    return connect


def _sqlite(path: Path) -> Callable[[], Commit]:
    with sqlite3.connect(path, isolation_level=None) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE IF NOT EXISTS sync_floor (id INTEGER PRIMARY KEY, event TEXT NOT NULL)")

    def connect() -> Commit:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA synchronous=FULL")  # what leadscore's store sets (leadscore.store.sqlite_common)

        def commit() -> None:
            db.execute("INSERT INTO sync_floor(event) VALUES (?)", ("x" * 300,))

        return commit

    return connect


def open_loop(connect: Callable[[], Commit], rate: float, seconds: float, connections: int) -> list[float]:
    """Latencies (ms) of commits due every 1/rate s, counted from when each was due."""
    due: queue.Queue[float | None] = queue.Queue()
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        commit = connect()
        while (when := due.get()) is not None:
            commit()
            done = (time.perf_counter() - when) * 1000
            with lock:
                latencies.append(done)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # connections open
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        when = start + n / rate
        if (wait := when - time.perf_counter()) > 0:
            time.sleep(wait)
        due.put(when)
    for _ in threads:
        due.put(None)
    for thread in threads:
        thread.join()
    return latencies


def bulk_write(path: str, megabytes: int, delay: float) -> None:
    """After ``delay`` s, writes ``megabytes`` through the page cache and syncs them: a backup or an import
    sharing the disk."""
    time.sleep(delay)
    block = b"\0" * 2**20
    with open(path, "wb") as out:
        for _ in range(megabytes):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())


def _figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    n = len(ordered)
    return {
        "p50": ordered[n // 2],
        "p99": ordered[int(n * 0.99)],
        "max": ordered[-1],
        "over_25ms": sum(x > 25 for x in ordered) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--bulk-mb", type=int, default=1500, help="written beside the load, from 2 s into it")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sync-floor-"))
    backends: list[tuple[str, Callable[[], Commit]]] = []
    if args.backend in ("sqlite", "both"):
        backends.append(("sqlite", _sqlite(folder / "floor.db")))
    if args.backend in ("postgresql", "both"):
        backends.append(("postgresql", _postgres(args.postgres)))
    print(f"durable one-row commits at {args.rate:,.0f}/s for {args.seconds:g} s, {args.connections} connections "
          f"({sys.version.split()[0]}); latency in ms from when each was due")  # fmt: skip
    for name, connect in backends:
        os.sync()
        alone = _figures(open_loop(connect, args.rate, args.seconds, args.connections))
        os.sync()
        writer = multiprocessing.Process(target=bulk_write, args=(str(folder / "bulk"), args.bulk_mb, 2.0))
        writer.start()
        beside = _figures(open_loop(connect, args.rate, args.seconds, args.connections))
        writer.join()
        os.unlink(folder / "bulk")
        for label, figures in (("alone (baseline)", alone), (f"beside a {args.bulk_mb:,} MB write", beside)):
            ratio = figures["p99"] / alone["p99"]
            print(f"  {name}, {label}: p50 {figures['p50']:.2f}, p99 {figures['p99']:.2f}, max {figures['max']:.1f}, "
                  f"over 25 ms {figures['over_25ms']:.2%}; p99 ratio to the baseline {ratio:.1f}")  # fmt: skip
    if args.backend in ("postgresql", "both"):
        with psycopg.connect(args.postgres, autocommit=True) as db:
            db.execute("DROP TABLE IF EXISTS sync_floor")


if __name__ == "__main__":
    main()
