"""The scorer's wait between drains: a read that waits for the queue cuts it short; a commit does not."""

from __future__ import annotations

import os
import time

from leadscore.service.delivery import HURRY, _wait_for_turn, _wait_for_work


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
