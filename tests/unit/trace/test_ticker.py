"""The trace ticker: one thread calls each registration back once, in deadline order."""

from __future__ import annotations

import threading
import time

from runnerfleet.trace.ticker import Ticker


def test_callbacks_come_in_deadline_order_whatever_the_registration_order() -> None:
    ticker = Ticker()
    calls: list[str] = []
    done = threading.Event()
    now = time.monotonic()
    ticker.call_at(now + 0.3, lambda: (calls.append("late"), done.set()))
    ticker.call_at(now + 0.1, lambda: calls.append("early"))
    ticker.call_at(now + 0.2, lambda: calls.append("middle"))
    assert done.wait(30)
    assert calls == ["early", "middle", "late"]


def test_a_cancelled_registration_is_never_called() -> None:
    ticker = Ticker()
    calls: list[str] = []
    done = threading.Event()
    now = time.monotonic()
    ticket = ticker.call_at(now + 0.05, lambda: calls.append("cancelled"))
    ticker.call_at(now + 0.1, lambda: (calls.append("kept"), done.set()))
    ticket.cancel()
    assert done.wait(30)
    assert calls == ["kept"]


def test_an_earlier_deadline_registered_later_is_not_held_back_by_a_far_one() -> None:
    ticker = Ticker()
    far = threading.Event()
    near = threading.Event()
    ticker.call_at(time.monotonic() + 3600, far.set)
    time.sleep(0.05)  # the thread now sleeps towards the hour
    ticker.call_at(time.monotonic(), near.set)
    assert near.wait(30)
    assert not far.is_set()


def test_a_failing_callback_does_not_stop_later_ones() -> None:
    ticker = Ticker()
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    now = time.monotonic()
    ticker.call_at(now, fail)
    ticker.call_at(now + 0.01, done.set)
    assert done.wait(30)
