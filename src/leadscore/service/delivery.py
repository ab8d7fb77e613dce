"""The background threads of a server process, each on a store connection of its own:

- the webhook sender, woken at once after a write commits, and polling otherwise (for retries, and for
  deliveries that other processes wrote);
- the scheduler, which runs a tick every ``tick_s``. It has its own thread, so that a long tick never
  holds up deliveries.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from leadscore.service.project import LoadedModel
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
        models: Sequence[LoadedModel] = (),
        tick_s: float = 60.0,
    ) -> None:
        self.open_store = open_store
        self.poll_s = poll_s
        self.models = list(models)  # with models, a scheduler thread ticks too, with the active versions
        self.tick_s = tick_s
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._deliver, name="leadscore-webhooks", daemon=True)]
        if self.models:
            self.threads.append(threading.Thread(target=self._schedule, name="leadscore-scheduler", daemon=True))
        for thread in self.threads:
            thread.start()

    def notify(self) -> None:
        """A write committed: there may be deliveries to send now."""
        self.wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
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

    def _schedule(self) -> None:
        store = self.open_store()
        try:
            while not self.stopping.is_set():
                try:
                    report = tick(store, scoring_versions(store, self.models), datetime.now(UTC), pause_s=0.1)
                    if report.changed:
                        self.wake.set()  # the tick owes webhooks: send them now
                except Exception:
                    log.getChild("scheduler").exception("scheduler tick failed; retrying at the next one")
                self.stopping.wait(self.tick_s)
        finally:
            store.close()
