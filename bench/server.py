"""Load benchmark of the HTTP API: a loopback load generator against the real ``leadscore serve`` process,
on SQLite (1 worker) and on PostgreSQL (2 workers).

For each backend, in one run, on a fresh database with the sample leads loaded through the API:

- single events at a fixed offered load (open loop: latency counts from when each request was due, so a
  slow server cannot hide its queue), p50 and p99, against the same load on ``/healthz`` (the HTTP floor);
  each after a warm-up of the same load on the same connections (``--warmup``), reported on its own, and
  after ``sync``, so that the disk is not still writing back what earlier phases left in the page cache;
- batches of events, closed loop with a few connections: events/s acknowledged (stored in the event
  queue), and events/s scored (until a read, which waits for the queue, answers), against the same batches
  handed to the service layer in one process with no HTTP, scoring in the call (``LiveService``);
- the time from sending an event to receiving the webhook it causes, on a local receiver.

For the single-event and ``/healthz`` loads it also reports CPU time per request: the server's processes
(uvicorn, its workers, their scorer and scheduler children), PostgreSQL's, and the generator's own. Their
sum against what 2 cores give each request (4 ms at 500 a second) shows how close the machine is to full.

    python bench/server.py                       # both backends
    python bench/server.py --backend sqlite --rate 500 --seconds 10
    python bench/server.py --bulk-mb 300      # a 300 MB write beside the single events (bench/sync_floor.py)

The load generator runs on the same 2 cores as the server, so every figure includes its cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pg_schema import add_backend_options, fresh_schema
from proc_cpu import cpu_of
from sync_floor import bulk_write

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))  # the test suite's real-server helper

from server_process import Server  # noqa: E402

from leadscore.sample import sample_events, sample_leads  # noqa: E402

TRACE = os.environ.get("LEADSCORE_BENCH_TRACE")  # a file to append each open-loop request's latency to


class Connection:
    """A keep-alive HTTP/1.1 connection: the least client code between the generator and the server."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.key = key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


def _descendants(root: int) -> list[int]:
    """``root`` and every process under it, from ``/proc`` (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU seconds of each process still there."""
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_of(pid)
        except OSError:
            continue
    return out


class CpuMeter:
    """CPU seconds the server's processes, PostgreSQL (every ``postgres`` process on the machine) and this
    generator spend between ``start`` and ``stop``."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        self.server, self.postgres = _descendants(self.server_pid), _postgres_pids()
        self.before = cpu_seconds(self.server), cpu_seconds(self.postgres), time.process_time()

    def stop(self) -> dict[str, float]:
        before_server, before_pg, before_self = self.before
        after_server, after_pg = cpu_seconds(self.server), cpu_seconds(self.postgres)
        return {
            "server": sum(after_server[p] - before_server[p] for p in after_server if p in before_server),
            "postgres": sum(after_pg[p] - before_pg[p] for p in after_pg if p in before_pg),
            "generator": time.process_time() - before_self,
        }


def _event_objects(people: list[Any], count: int, seed: int, now: datetime) -> list[bytes]:
    stream = sample_events(people, count, seed=seed, start=now - timedelta(days=30), end=now)
    out = []
    for record in stream:
        obj = {"id": f"{record.id}-{uuid.uuid4().hex[:6]}", "type": record.type,
               "occurred_at": record.occurred_at.isoformat(), "properties": record.properties}  # fmt: skip
        if record.lead_id:
            obj["lead_id"] = record.lead_id
        if record.email:
            obj["email"] = record.email
        out.append(json.dumps(obj).encode())
    return out


async def open_loop(
    port: int, key: str, path: str, bodies: list[bytes], rate: float, pool: int, warmup: list[bytes], meter: CpuMeter
) -> dict[str, Any]:
    """Sends ``bodies`` at ``rate`` per second whatever the replies; latency from each request's due time.

    ``warmup`` goes first, at the same rate on the same connections, and is reported on its own: it opens
    the connections and fills the server's caches, which the steady figures (and their CPU) leave out."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(Connection(port, key))
    cold = await _paced(idle, path, warmup, rate) if warmup else None
    meter.start()
    steady = await _paced(idle, path, bodies, rate)
    steady["cpu_ms_per_request"] = {k: v * 1000 / len(bodies) for k, v in meter.stop().items()}
    if TRACE:
        with open(TRACE, "a") as out:  # when each request was due (s from the start), and its latency (ms)
            out.write(json.dumps({"path": path, "warmup": cold and cold.pop("trace"), "trace": steady["trace"]}) + "\n")
    steady.pop("trace")
    if cold is not None:
        cold.pop("trace", None)
        steady["warmup"] = cold
    return steady


async def _paced(idle: asyncio.Queue[Connection], path: str, bodies: list[bytes], rate: float) -> dict[str, Any]:
    latencies: list[float] = []
    trace: list[tuple[float, float]] = []
    errors = 0
    start, wall = time.perf_counter(), time.time()

    async def one(due: float, body: bytes) -> None:
        nonlocal errors
        connection = await idle.get()
        try:
            status, _ = await connection.request("POST" if body else "GET", path, body)
            if status >= 300:
                errors += 1
        finally:
            idle.put_nowait(connection)
        latencies.append(time.perf_counter() - due)
        trace.append((round(due - start, 4), round(latencies[-1] * 1000, 2)))

    # Only the tasks still running: a gather over every task of the run made the event loop work through
    # thousands of finished ones while the last replies waited, 20 to 100 ms added to them.
    running: set[asyncio.Task[None]] = set()
    for number, body in enumerate(bodies):
        due = start + number / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due, body))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests_per_s": len(bodies) / elapsed, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000,
            "max_ms": max(latencies) * 1000, "errors": float(errors),
            "over_25ms": sum(x > 0.025 for x in latencies) / len(latencies),
            "trace": {"started": wall, "due_ms": trace}}  # fmt: skip


async def closed_loop(port: int, key: str, batches: list[bytes], connections: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def worker() -> None:
        connection = Connection(port, key)
        while not queue.empty():
            status, body = await connection.request("POST", "/v1/events", queue.get_nowait())
            if status != 200:
                raise RuntimeError(f"batch refused: {status} {body[:200]!r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - start


class Hooks:
    """A webhook receiver that notes when each event's delivery arrived (by the event id in ``cause``)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                owner.arrived.setdefault(body["cause"].removeprefix("event:"), time.perf_counter())
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _cli(project: Path, *args: str) -> str:
    import subprocess

    command = [sys.executable, "-c", "from leadscore.cli.main import app; app()", "-p", str(project), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    from leadscore.service.project import write_project

    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    write_project(folder, database=url)
    key = _cli(folder, "keys", "create", "--name", "bench", "--scope", "admin")
    workers = args.workers if name == "postgresql" else 1
    server = Server(folder, workers=workers, log_level=args.server_log_level).start()
    print(f"{name}: server log in {folder / 'server.log'}", file=sys.stderr)
    now = datetime.now(UTC)
    try:
        people = list(sample_leads(args.leads, seed=1, start=now - timedelta(days=60), end=now))
        leads = [{"id": p.id, "email": p.email, **{k: v for k, v in p.fields.items() if v is not None}}
                 for p in people]  # fmt: skip
        for start in range(0, len(leads), 1000):
            status, _ = server.request("POST", "/v1/leads", leads[start : start + 1000], key)
            assert status == 200
        result: dict[str, Any] = {"backend": name, "workers": server.workers}

        singles = _event_objects(people, int(args.rate * args.seconds), 2, now)
        warmup = _event_objects(people, int(args.rate * args.warmup), 6, now)
        assert server.process is not None
        meter = CpuMeter(server.process.pid)
        for name, path, bodies, cold in (
            ("healthz", "/healthz", [b""] * len(singles), [b""] * len(warmup)),
            ("single", "/v1/events", singles, warmup),
        ):
            # The disk first writes back what earlier phases left in the page cache (the other backend's
            # batches, its in-process baseline): a commit's sync waits behind such writeback for up to
            # 450 ms (bench/sync_floor.py), which is the previous phase's cost, not this load's.
            flushing = time.perf_counter()
            os.sync()
            flushed = time.perf_counter() - flushing
            writer = None
            if name == "single" and args.bulk_mb:
                # The disk shared with a bulk writer, 2 s into the counted load: the server's tail against
                # bench/sync_floor.py's plain commits beside the same write.
                target = folder / "bulk"
                writer = multiprocessing.Process(target=bulk_write, args=(str(target), args.bulk_mb, args.warmup + 2))
                writer.start()
            result[name] = asyncio.run(open_loop(server.port, key, path, bodies, args.rate, args.pool, cold, meter))
            if writer is not None:
                writer.join()
                target.unlink()
            result[name]["sync_s"] = round(flushed, 3)

        events = _event_objects(people, args.batch_events, 3, now)
        batches = [b"[" + b",".join(events[i : i + args.batch]) + b"]" for i in range(0, len(events), args.batch)]
        started = time.perf_counter()
        seconds = asyncio.run(closed_loop(server.port, key, batches, args.connections))
        # A read waits until every acknowledged event is scored: the time to it is the time to score them all.
        status, _ = server.request("GET", "/v1/leads?limit=1", None, key, timeout=600)
        assert status == 200
        scored_s = time.perf_counter() - started
        result["batch"] = {"events_per_s": len(events) / seconds, "scored_per_s": len(events) / scored_s,
                           "batch": args.batch, "events": len(events)}  # fmt: skip

        hooks = Hooks()
        status, _ = server.request("POST", "/v1/webhooks", {"url": hooks.url, "events": ["score_changed"]}, key)
        assert status == 201
        result["webhook"] = asyncio.run(_webhook_latency(server.port, key, people, hooks, args, now))
    finally:
        server.stop()
    # With the server stopped, so that its scheduler competes with neither the baseline nor its lock.
    result["batch_baseline"] = _in_process(folder, url, _event_objects(people, args.batch_events, 4, now), args)
    return result


def _in_process(folder: Path, url: str, events: list[bytes], args: argparse.Namespace) -> dict[str, float]:
    """The same batches through ``LiveService`` in this process: the cost of ingest without HTTP."""
    from leadscore.service.live import LiveService
    from leadscore.service.project import load_project
    from leadscore.store.url import open_store

    project = load_project(folder)
    service = LiveService(open_store(url, base=folder), project.models)
    items = [json.loads(e) for e in events]
    start = time.perf_counter()
    for i in range(0, len(items), args.batch):
        service.ingest_events(items[i : i + args.batch], datetime.now(UTC))
    seconds = time.perf_counter() - start
    service.store.close()
    return {"events_per_s": len(items) / seconds}


async def _webhook_latency(
    port: int, key: str, people: list[Any], hooks: Hooks, args: argparse.Namespace, now: datetime
) -> dict[str, float]:
    connection = Connection(port, key)
    sent: dict[str, float] = {}
    rng = random.Random(5)
    # A different lead each time, with an uncapped rule, so that every event changes a score.
    for number, lead in enumerate(rng.sample(people, args.webhook_events)):
        event_id = f"wh-{number}-{uuid.uuid4().hex[:6]}"
        body = {"id": event_id, "lead_id": lead.id, "type": "webinar_signup",
                "occurred_at": (now - timedelta(minutes=number)).isoformat()}  # fmt: skip
        sent[event_id] = time.perf_counter()
        await connection.request("POST", "/v1/events", json.dumps(body).encode())
        await asyncio.sleep(1 / args.webhook_rate)
    deadline = time.perf_counter() + 30
    while len(hooks.arrived.keys() & sent.keys()) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    delays = [hooks.arrived[i] - sent[i] for i in sent if i in hooks.arrived]
    cuts = statistics.quantiles(delays, n=100)
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "received": float(len(delays)),
            "sent": float(len(sent))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0, help="offered single-event load, requests/s")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of the same load first, not counted")
    parser.add_argument("--pool", type=int, default=64, help="connections for the open-loop load")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch request")
    parser.add_argument("--batch-events", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=4, help="concurrent batch requests")
    parser.add_argument("--workers", type=int, default=2, help="server processes on PostgreSQL")
    parser.add_argument("--webhook-events", type=int, default=300)
    parser.add_argument("--webhook-rate", type=float, default=50.0)
    parser.add_argument("--server-log-level", default="warning", help="info logs each request and scheduler tick")
    parser.add_argument("--bulk-mb", type=int, default=0, help="written to the same disk during the single events")
    parser.add_argument("--tick-seconds", type=float, default=60.0, help="the server's scheduler; 0 turns it off")
    args = parser.parse_args()
    os.environ["LEADSCORE_TICK_SECONDS"] = str(args.tick_seconds)  # the server process inherits it
    results = []
    if args.backend in ("sqlite", "both"):
        results.append(run_backend("sqlite", "sqlite:///leadscore.db", args))
    if args.backend in ("postgresql", "both"):
        with fresh_schema(args.postgres) as url:
            results.append(run_backend("postgresql", url, args))
    for r in results:
        print(json.dumps(r))
    print(f"\nleadscore server benchmark ({sys.version.split()[0]}), {args.leads:,} leads, events/s or requests/s")
    for r in results:
        s, h, w = r["single"], r["healthz"], r["webhook"]
        batch, base = r["batch"]["events_per_s"], r["batch_baseline"]["events_per_s"]
        print(f"{r['backend']}, {r['workers']} worker(s)")
        print(f"  single events offered at {args.rate:,.0f}/s: served {s['requests_per_s']:,.0f}/s, "
              f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms, "
              f"over 25 ms {s['over_25ms']:.2%}, errors {s['errors']:.0f}; the disk's writeback before them took "
              f"{s['sync_s']:.2f} s" + (f"; beside a {args.bulk_mb:,} MB write" if args.bulk_mb else ""))  # fmt: skip
        print(f"    baseline /healthz at the same load: p50 {h['p50_ms']:.1f} ms, p99 {h['p99_ms']:.1f} ms")
        for label, figures in (("single events", s), ("/healthz", h)):
            if "warmup" in figures:
                cold = figures["warmup"]
                print(f"    warm-up before them ({args.warmup:g} s, {label}, new connections, not counted): "
                      f"p50 {cold['p50_ms']:.1f} ms, p99 {cold['p99_ms']:.1f} ms")  # fmt: skip
        for label, figures in (("single events", s), ("/healthz", h)):
            cpu = figures["cpu_ms_per_request"]
            print(f"    CPU ms a request, {label}: server {cpu['server']:.2f}, PostgreSQL {cpu['postgres']:.2f}, "
                  f"generator {cpu['generator']:.2f}, sum {sum(cpu.values()):.2f} (2 cores at {args.rate:,.0f}/s: "
                  f"{2000 / args.rate:.2f})")  # fmt: skip
        scored = r["batch"].get("scored_per_s", batch)
        print(f"  batches of {args.batch}: {batch:,.0f} events/s acknowledged, {scored:,.0f} events/s scored "
              f"(to the read that waits for the last); baseline in process, no HTTP, scored in the call: "
              f"{base:,.0f} (ratios {batch / base:.2f}, {scored / base:.2f})")  # fmt: skip
        print(f"  event to webhook: {w['received']:.0f} of {w['sent']:.0f} received, "
              f"p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
