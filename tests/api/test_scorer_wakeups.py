"""The scorer's wait between drains: a read that waits for the queue cuts it short; a commit does not."""

from __future__ import annotations

import os
import time

from leadscore.service.delivery import HURRY, _wait_for_turn


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
