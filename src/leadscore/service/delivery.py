"""What a server process runs beside its requests, each on a store connection of its own:

- the scorer, a child process that scores the event queue (``LiveService.drain``): requests only append
  to the queue, so the interpreter lock they wait for is never held by scoring. One server process's
  scorer leads and drains everyone's events; the others stand by (``score_queue``). It sends the webhooks
  its scoring causes from a sender thread of its own;
- the webhook sender, a thread, woken at once after a write commits, and polling otherwise (for retries,
  and for deliveries that other processes or the scheduler wrote);
- the scheduler, which runs a tick every ``tick_s``. It is a child process at a lower CPU priority
  (nice 10): a tick is CPU-bound Python, and as a thread it held the interpreter lock that requests wait
  for, which tripled single-event latency. The child leaves when its parent is gone, even after SIGKILL.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import logging.config
import multiprocessing
import os
import random
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from leadscore.service.tick import tick
from leadscore.service.versions import scoring_versions
from leadscore.service.webhooks import deliver_due
from leadscore.store.protocol import Store

log = logging.getLogger("leadscore.webhooks")
#: The least time between the starts of two drains of the event queue by one scorer, unless a read is
#: waiting (``HURRY``). A drain has a fixed cost (on PostgreSQL, 16 statements: ``bench/drain.py``), so
#: fewer, larger drains leave more of the machine to the requests.
DRAIN_SPACING_S = 0.1
#: The byte a waiting read writes to the scorer's pipe; any other byte is a commit's plain wake-up.
HURRY = b"\1"
#: How often a standby scorer (another server process's) asks for the lead, and at most how long its
#: process's events wait for the next scorer when the lead's process is gone.
STANDBY_POLL_S = 1.0


class DeliveryWorker:
    def __init__(
        self,
        open_store: Callable[[], Store],
        poll_s: float = 0.5,
        schedule: Schedule | None = None,
        scoring: Schedule | None = None,
    ) -> None:
        self.open_store = open_store
        self.poll_s = poll_s
        self.schedule = schedule  # with a schedule, a scheduler process ticks too
        self.scoring = scoring  # and with this, a scorer process scores the event queue
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.scheduler: BaseProcess | None = None
        self.scorer: BaseProcess | None = None
        self.scorer_wake: Any = None  # the write end of a pipe the scorer waits on

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._deliver, name="leadscore-webhooks", daemon=True)]
        for thread in self.threads:
            thread.start()
        context = multiprocessing.get_context("spawn")  # not fork: this process already runs threads
        if self.scoring is not None:
            # A pipe, not a multiprocessing Event: a byte written never blocks (the end is non-blocking, and a
            # full pipe already means "wake up"), and there are no named semaphores to leak on SIGTERM.
            reading, self.scorer_wake = context.Pipe(duplex=False)
            os.set_blocking(self.scorer_wake.fileno(), False)
            self.scorer = context.Process(
                target=run_scorer,
                args=(self.scoring, os.getpid(), reading),
                name="leadscore-scorer",
                daemon=True,
            )
            self.scorer.start()
        if self.schedule is not None:
            self.scheduler = context.Process(
                target=run_scheduler,
                args=(self.schedule, os.getpid()),
                name="leadscore-scheduler",
                daemon=True,
            )
            self.scheduler.start()

    def notify(self) -> None:
        """A write committed: there may be events to score and deliveries to send now."""
        self.wake.set()
        self.queued()

    def queued(self) -> None:
        """Events were queued: the scorer has work. Deliveries have not changed, so the sender sleeps on (a
        round of it is a transaction on the store, which cost every single-event request one)."""
        self._tell_scorer(b"\0")

    def hurry(self) -> None:
        """A read waits for the queue to be scored: the scorer should not wait out its spacing."""
        self._tell_scorer(HURRY)

    def _tell_scorer(self, byte: bytes) -> None:
        if self.scorer_wake is not None:
            # A full pipe: the scorer wakes anyway; an error: the scorer is gone.
            with contextlib.suppress(OSError):
                os.write(self.scorer_wake.fileno(), byte)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for child in (self.scorer, self.scheduler):
            if child is not None:
                child.terminate()  # work cut short rolls back, and is done again at the next start
                child.join(timeout=15)
        for thread in self.threads:
            thread.join(timeout=15)

    def _deliver(self) -> None:
        store = self.open_store()
        rng = random.Random()
        try:
            while not self.stopping.is_set():
                try:
                    store.recover()
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
    """What the scheduler and scorer processes need to open the project and its store by themselves, and
    to log as their server does (a spawned child starts with no logging configured: its records would go
    to stderr as plain text, warnings only)."""

    project: str
    database: str
    tick_s: float = 60.0
    log_level: str | None = None
    log_format: str = "json"


def _configure_logging(place: Schedule) -> None:
    if place.log_level is None:
        return
    if place.log_format == "json":
        from leadscore.api.observability import log_config

        logging.config.dictConfig(log_config(place.log_level))
    else:
        logging.basicConfig(level=place.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_scheduler(schedule: Schedule, parent: int) -> None:
    """The scheduler process: a tick every ``tick_s`` with the scoring versions of the moment, until it is
    terminated or its parent is gone."""
    from leadscore.service.project import load_project
    from leadscore.store.url import open_store

    os.nice(10)
    _configure_logging(schedule)
    project = load_project(Path(schedule.project), schedule.database)
    store = open_store(project.database, base=project.root)
    try:
        while os.getppid() == parent:
            try:
                store.recover()
                with store.scheduler_turn() as mine:  # another server process's scheduler may be ticking
                    if mine:
                        started = time.monotonic()
                        done = tick(store, scoring_versions(store, project.models), datetime.now(UTC), pause_s=0.1)
                        log.getChild("scheduler").info(
                            "tick: %d leads checked, %d scores changed, %d left to the next tick, in %.2f s",
                            done.checked,
                            done.changed,
                            done.skipped,
                            time.monotonic() - started,
                            extra={"checked": done.checked, "changed": done.changed, "skipped": done.skipped},
                        )
            except Exception:
                log.getChild("scheduler").exception("scheduler tick failed; retrying at the next one")
            # Wake each second to notice a parent that is gone.
            waited = 0.0
            while waited < schedule.tick_s and os.getppid() == parent:
                time.sleep(min(1.0, schedule.tick_s - waited))
                waited += 1.0
    finally:
        store.close()


def run_scorer(place: Schedule, parent: int, wake: Any) -> None:
    """The scorer process: drains the event queue until its parent is gone. A store that cannot be used is
    reopened after a pause; events stay queued."""
    from leadscore.service.live import LiveService, store_unavailable
    from leadscore.service.project import load_project
    from leadscore.store.url import open_store

    _configure_logging(place)
    project = load_project(Path(place.project), place.database)
    sender = DeliveryWorker(lambda: open_store(project.database, base=project.root))
    sender.start()
    gc.freeze()  # what startup made lives as long as the process: full collections need not scan it
    service: LiveService | None = None

    def opened() -> LiveService:
        nonlocal service
        if service is None:
            service = LiveService(open_store(project.database, base=project.root), project.models, score_inline=False)
            service.on_commit = sender.notify
        return service

    def failed(exc: Exception) -> None:
        nonlocal service
        log.getChild("scorer").exception("scoring the event queue failed; retrying in 1 s")
        if store_unavailable(exc) and service is not None:
            service.store.close()
            service = None  # and a new connection claims the lead again
        time.sleep(1.0)

    try:
        score_queue(
            wake,
            drain=lambda: opened().drain(),
            claim=lambda: opened().store.claim_scoring(),
            alive=lambda: os.getppid() == parent,
            failed=failed,
        )
    finally:
        sender.stop()
        if service is not None:
            service.store.close()


def score_queue(
    wake: Any,
    drain: Callable[[], int],
    claim: Callable[[], bool],
    alive: Callable[[], bool],
    failed: Callable[[Exception], None],
) -> None:
    """The scorer's rounds, while ``alive()``.

    The lead scorer (``claim()``: one per database) drains at most once every ``DRAIN_SPACING_S``, so that
    each drain takes several events, unless a read waits (``HURRY``); with the queue empty, it waits for a
    wake-up, or polls every 50 ms for events other server processes queued. Every other server process's
    scorer is a standby: it drains only for a read that waits in its own process, and asks for the lead
    every ``STANDBY_POLL_S`` (it is free once the lead's connection is gone). With one drain for all the
    processes' events, not one each, the drains are fewer and larger, and one scorer's lead states stay
    current.
    """
    leading, hurried = False, False
    started = next_claim = 0.0
    while alive():
        # At most one drain every DRAIN_SPACING_S, unless a read waits.
        hurried = hurried or _wait_for_turn(wake, started + DRAIN_SPACING_S)
        started = time.monotonic()
        taken = 0
        try:
            if not leading and started >= next_claim:
                leading, next_claim = claim(), started + STANDBY_POLL_S
            if leading or hurried:
                hurried = False
                taken = drain()
        except Exception as exc:
            leading, next_claim = False, 0.0  # a new connection claims the lead for itself
            failed(exc)
            continue
        if not taken:
            hurried = _wait_for_work(wake, 0.05 if leading else STANDBY_POLL_S)
            if hurried:
                started = 0.0  # a read waits: the next drain goes at once


def _wait_for_work(wake: Any, timeout: float) -> bool:
    """With the queue found empty: waits up to ``timeout`` for a wake-up, and takes every one so far (the
    drain that follows sees their events). True if a read wrote ``HURRY`` among them."""
    if not select.select([wake], [], [], timeout)[0]:
        return False
    return HURRY in os.read(wake.fileno(), 65536)


def _wait_for_turn(wake: Any, until: float) -> bool:
    """Sleeps until ``until``, or until a read writes ``HURRY`` to the pipe; True in the second case. Plain
    wake-ups read meanwhile are for events the coming drain takes anyway."""
    while (left := until - time.monotonic()) > 0:
        if not select.select([wake], [], [], left)[0]:
            return False
        if HURRY in os.read(wake.fileno(), 65536):
            return True
    return False
