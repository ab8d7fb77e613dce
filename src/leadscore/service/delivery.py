"""The background sender of webhook deliveries in a server process: its own store connection, woken at
once after a write commits, and polling otherwise (for retries, and deliveries other processes wrote)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from leadscore.service.webhooks import deliver_due
from leadscore.store.protocol import Store

log = logging.getLogger("leadscore.webhooks")


class DeliveryWorker:
    def __init__(self, open_store: Callable[[], Store], poll_s: float = 0.5) -> None:
        self.open_store = open_store
        self.poll_s = poll_s
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
