"""The background thread of a server process: it sends webhook deliveries (woken at once after a write
commits, and polling otherwise, for retries and deliveries other processes wrote) and runs the scheduler's
tick every ``tick_s``, on a store connection of its own."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from leadscore.service.project import LoadedModel
from leadscore.service.tick import tick
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
        self.models = list(models)  # with models, the scheduler ticks from this thread too
        self.tick_s = tick_s
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="leadscore-webhooks", daemon=True)
        self.thread.start()

    def notify(self) -> None:
        """A write committed: there may be deliveries to send now."""
        self.wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=15)

    def _run(self) -> None:
        store = self.open_store()
        rng = random.Random()
        last_tick = float("-inf")
        try:
            while not self.stopping.is_set():
                if self.models and time.monotonic() - last_tick >= self.tick_s:
                    last_tick = time.monotonic()
                    try:
                        tick(store, self.models, datetime.now(UTC))
                    except Exception:
                        log.exception("scheduler tick failed; retrying at the next one")
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
