"""CPU time of a process on this machine, from ``/proc`` (Linux): for benchmarks that count what other
processes (a server, PostgreSQL's backends) spent."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_of(pid: int) -> float:
    """The process's user and system CPU seconds so far (in clock ticks, 10 ms); OSError once it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
