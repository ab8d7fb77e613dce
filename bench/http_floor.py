"""The HTTP floor on this machine: CPU time and latency per request of uvicorn with no leadscore code,
for a raw ASGI app (the baseline), a FastAPI ``async def`` route and a FastAPI ``def`` route (which
FastAPI runs in its threadpool, as the server does for every store call).

Each app answers ``GET /healthz`` with a small JSON body, under the same open loop as ``bench/server.py``
(500 requests/s for 10 s by default, after a 1 s warm-up); the CPU time is the uvicorn process's, read
from ``/proc``.

    python bench/http_floor.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import CpuMeter, open_loop

BODY = b'{"status":"ok"}'


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


async_app = FastAPI()
sync_app = FastAPI()


@async_app.get("/healthz")
async def async_healthz() -> dict[str, str]:
    return {"status": "ok"}


@sync_app.get("/healthz")
def sync_healthz() -> dict[str, str]:
    return {"status": "ok"}


APPS = {"raw ASGI": "raw", "FastAPI async def": "async_app", "FastAPI def (threadpool)": "sync_app"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(app: str, args: argparse.Namespace) -> dict[str, float]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", f"http_floor:{app}", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"uvicorn did not start for {app}") from None
                time.sleep(0.1)
        count, warmup = int(args.rate * args.seconds), [b""] * int(args.rate * args.warmup)
        meter = CpuMeter(process.pid)
        result = asyncio.run(open_loop(port, "none", "/healthz", [b""] * count, args.rate, args.pool, warmup, meter))
        result["cpu_ms_per_request"] = result["cpu_ms_per_request"]["server"]
        return result
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of the same load first, not counted")
    parser.add_argument("--pool", type=int, default=64)
    args = parser.parse_args()
    results = {label: measure(app, args) for label, app in APPS.items()}
    base = results["raw ASGI"]["cpu_ms_per_request"]
    print(f"HTTP floor ({sys.version.split()[0]}, {os.cpu_count()} cores), GET /healthz at {args.rate:,.0f}/s")
    for label, r in results.items():
        cpu = r["cpu_ms_per_request"]
        print(f"  {label:26} served {r['requests_per_s']:,.0f}/s  p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  "
              f"CPU {cpu:.3f} ms a request (ratio to raw ASGI {cpu / base:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
