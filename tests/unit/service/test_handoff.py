"""The feeder→worker hand-off behaves like Go's unbuffered channel."""

from __future__ import annotations

import threading

from runnerfleet.service.handoff import Handoff


def _taker(handoff: Handoff[str], got: list[str | None], started: threading.Event) -> threading.Thread:
    def run() -> None:
        started.set()
        got.append(handoff.take())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_idle(handoff: Handoff[str], count: int) -> None:
    # Deterministic: wait until the takers are blocked inside take().
    while handoff.idle < count:
        threading.Event().wait(0.001)


def test_put_without_an_idle_worker_does_not_buffer_the_item() -> None:
    handoff: Handoff[str] = Handoff()
    assert handoff.put("runner-1", timeout=0) is False
    assert handoff.offer("runner-1") is False


def test_put_hands_the_item_to_a_waiting_worker() -> None:
    handoff: Handoff[str] = Handoff()
    got: list[str | None] = []
    thread = _taker(handoff, got, threading.Event())
    _wait_idle(handoff, 1)
    assert handoff.put("runner-1") is True
    thread.join(10)
    assert got == ["runner-1"]


def test_offer_requeues_only_to_an_idle_worker_and_each_item_goes_to_one_worker() -> None:
    handoff: Handoff[str] = Handoff()
    got: list[str | None] = []
    threads = [_taker(handoff, got, threading.Event()) for _ in range(2)]
    _wait_idle(handoff, 2)
    assert handoff.offer("a") is True
    assert handoff.offer("b") is True
    assert handoff.offer("c") is False  # both idle workers are already promised an item
    for t in threads:
        t.join(10)
    assert sorted(x for x in got if x) == ["a", "b"]


def test_retire_stops_one_idle_worker_and_close_stops_the_rest() -> None:
    handoff: Handoff[str] = Handoff()
    got: list[str | None] = []
    threads = [_taker(handoff, got, threading.Event()) for _ in range(3)]
    _wait_idle(handoff, 3)
    handoff.retire(1)
    while len(got) < 1:
        threading.Event().wait(0.001)
    assert got == [None]
    handoff.close()
    for t in threads:
        t.join(10)
    assert got == [None, None, None]
    assert handoff.put("x", timeout=0) is False


def test_a_retired_slot_waits_for_a_busy_worker_to_become_idle() -> None:
    handoff: Handoff[str] = Handoff()
    handoff.retire(1)  # nobody idle: the request stays pending
    got: list[str | None] = []
    thread = _taker(handoff, got, threading.Event())
    thread.join(10)
    assert got == [None]


def test_a_requeue_without_an_idle_worker_goes_to_the_next_worker_that_frees_up() -> None:
    handoff: Handoff[str] = Handoff()
    assert handoff.requeue("runner-1") is False  # every worker busy: remembered, not dropped
    assert handoff.requeue("runner-1") is False  # one remembered requeue per runner
    got: list[str | None] = []
    _taker(handoff, got, threading.Event()).join(10)
    assert got == ["runner-1"]
    handoff.close()
    assert handoff.take() is None  # nothing else was remembered


def test_a_feeder_waiting_in_put_goes_before_a_remembered_requeue() -> None:
    # Otherwise a runner with an endless queue would keep every worker and starve the others.
    handoff: Handoff[str] = Handoff()
    handoff.requeue("busy-runner")
    fed: list[bool] = []
    feeder = threading.Thread(target=lambda: fed.append(handoff.put("other-runner")), daemon=True)
    feeder.start()
    while handoff.putters < 1:
        threading.Event().wait(0.001)
    got: list[str | None] = []
    _taker(handoff, got, threading.Event()).join(10)
    feeder.join(10)
    _taker(handoff, got, threading.Event()).join(10)
    assert fed == [True]
    assert got == ["other-runner", "busy-runner"]


def test_forget_deferred_and_close_drop_remembered_requeues() -> None:
    handoff: Handoff[str] = Handoff()
    handoff.requeue("removed-runner")
    handoff.forget_deferred()
    handoff.close()
    assert handoff.take() is None
    assert handoff.requeue("runner") is False
