"""The scorer's wait between drains: a read that waits for the queue cuts it short; a commit does not. And
its rounds: one scorer leads, the others drain only for their own process's reads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from leadscore.service.delivery import HURRY, _wait_for_turn, _wait_for_work, score_queue


def test_a_waiting_read_ends_the_scorers_spacing_and_a_plain_commit_does_not() -> None:
    fd, writing = os.pipe()
    reading = os.fdopen(fd, "rb", buffering=0)  # as the scorer's end of its pipe, it has a fileno()
    try:
        started = time.monotonic()
        _wait_for_turn(reading, started + 0.2)  # nothing written: the whole spacing
        assert time.monotonic() - started >= 0.2

        os.write(writing, b"\0\0")  # commits: their events are for the coming drain, which still waits
        started = time.monotonic()
        _wait_for_turn(reading, started + 0.2)
        assert time.monotonic() - started >= 0.2

        os.write(writing, b"\0" + HURRY)
        started = time.monotonic()
        _wait_for_turn(reading, started + 30)
        assert time.monotonic() - started < 5  # at once, where the spacing was 30 s
    finally:
        reading.close()
        os.close(writing)


def test_a_read_that_wakes_an_idle_scorer_is_not_made_to_wait_out_the_spacing() -> None:
    fd, writing = os.pipe()
    reading = os.fdopen(fd, "rb", buffering=0)
    try:
        assert not _wait_for_work(reading, 0.05)  # nothing queued: the poll times out
        os.write(writing, b"\0\0")
        assert not _wait_for_work(reading, 5)  # commits: the next drain keeps its spacing
        os.write(writing, b"\0" + HURRY)
        assert _wait_for_work(reading, 5)  # a read among them: the next drain goes at once
        assert not _wait_for_work(reading, 0.05)  # every wake-up was taken
    finally:
        reading.close()
        os.close(writing)


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_standby_scorer_drains_only_for_its_reads_and_leads_once_the_lead_is_free() -> None:
    fd, writing = os.pipe()
    reading = os.fdopen(fd, "rb", buffering=0)
    free = threading.Event()  # the lead scorer's connection is gone
    stop = threading.Event()
    drains: list[float] = []
    failures: list[Exception] = []

    def drain() -> int:
        drains.append(time.monotonic())
        return 0  # the queue is empty

    rounds = threading.Thread(
        target=score_queue,
        args=(reading,),
        kwargs={"drain": drain, "claim": free.is_set, "alive": lambda: not stop.is_set(), "failed": failures.append},
    )
    rounds.start()
    try:
        os.write(writing, b"\0\0\0")  # this process's appends: the lead scorer takes their events
        time.sleep(0.5)
        assert drains == []
        os.write(writing, HURRY)  # a read in this process waits for the queue
        assert _until(lambda: len(drains) == 1)
        time.sleep(0.3)
        assert len(drains) == 1  # one drain for the read, then standing by again
        free.set()
        assert _until(lambda: len(drains) > 5)  # leading: it polls the queue by itself
    finally:
        stop.set()
        os.write(writing, b"\0")
        rounds.join(timeout=10)
        reading.close()
        os.close(writing)
    assert not rounds.is_alive()
    assert failures == []


def test_a_scorer_whose_drain_fails_asks_for_the_lead_again() -> None:
    fd, writing = os.pipe()
    reading = os.fdopen(fd, "rb", buffering=0)
    stop = threading.Event()
    claims: list[float] = []
    failures: list[Exception] = []

    def claim() -> bool:
        claims.append(time.monotonic())
        return True

    def drain() -> int:
        raise RuntimeError("the connection is gone")

    rounds = threading.Thread(
        target=score_queue,
        args=(reading,),
        kwargs={"drain": drain, "claim": claim, "alive": lambda: not stop.is_set(), "failed": failures.append},
    )
    rounds.start()
    try:
        assert _until(lambda: len(failures) >= 2)
        assert len(claims) >= 2  # a new connection must claim the lead for itself
    finally:
        stop.set()
        rounds.join(timeout=10)
        reading.close()
        os.close(writing)
