"""What a server process runs beside its requests, each on a store connection of its own:

- the webhook sender, a thread, woken at once after a write commits, and polling otherwise (for retries,
  and for deliveries that other processes or the scheduler wrote);
- the scheduler, which runs a tick every ``tick_s``. It is a child process at a lower CPU priority
  (nice 10): a tick is CPU-bound Python, and as a thread it held the interpreter lock that requests wait
  for, which tripled single-event latency. The child leaves when its parent is gone, even after SIGKILL.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from pathlib import Path

from leadscore.service.tick import tick
from leadscore.service.versions import scoring_versions
from leadscore.service.webhooks import deliver_due
from leadscore.store.protocol import Store

log = logging.getLogger("leadscore.webhooks")


class DeliveryWorker:
    def __init__(
        self,
        open_store: Callable[[], Store],
        poll_s: float = 0.5,
        schedule: Schedule | None = None,
    ) -> None:
        self.open_store = open_store
        self.poll_s = poll_s
        self.schedule = schedule  # with a schedule, a scheduler process ticks too
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.scheduler: BaseProcess | None = None

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._deliver, name="leadscore-webhooks", daemon=True)]
        for thread in self.threads:
            thread.start()
        if self.schedule is not None:
            context = multiprocessing.get_context("spawn")  # not fork: this process already runs threads
            self.scheduler = context.Process(
                target=run_scheduler,
                args=(self.schedule, os.getpid()),
                name="leadscore-scheduler",
                daemon=True,
            )
            self.scheduler.start()

    def notify(self) -> None:
        """A write committed: there may be deliveries to send now."""
        self.wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.scheduler is not None:
            self.scheduler.terminate()  # a tick cut short rolls back, and the next one does it again
            self.scheduler.join(timeout=15)
        for thread in self.threads:
            thread.join(timeout=15)

    def _deliver(self) -> None:
        store = self.open_store()
        rng = random.Random()
        try:
            while not self.stopping.is_set():
                try:
                    sent = deliver_due(store, rng)
                except Exception:  # a database hiccup must not end deliveries for the process's lifetime
                    log.exception("webhook delivery round failed; retrying")
                    sent = 0
                if not sent:
                    self.wake.wait(self.poll_s)
                    self.wake.clear()
        finally:
            store.close()


@dataclass(frozen=True)
class Schedule:
    """What the scheduler process needs to open the project and its store by itself."""

    project: str
    database: str
    tick_s: float = 60.0


def run_scheduler(schedule: Schedule, parent: int) -> None:
    """The scheduler process: a tick every ``tick_s`` with the scoring versions of the moment, until it is
    terminated or its parent is gone."""
    from leadscore.service.project import load_project
    from leadscore.store.url import open_store

    os.nice(10)
    project = load_project(Path(schedule.project), schedule.database)
    store = open_store(project.database, base=project.root)
    try:
        while os.getppid() == parent:
            try:
                tick(store, scoring_versions(store, project.models), datetime.now(UTC), pause_s=0.1)
            except Exception:
                log.getChild("scheduler").exception("scheduler tick failed; retrying at the next one")
            # Wake each second to notice a parent that is gone.
            waited = 0.0
            while waited < schedule.tick_s and os.getppid() == parent:
                time.sleep(min(1.0, schedule.tick_s - waited))
                waited += 1.0
    finally:
        store.close()
