"""Cancellation scopes: cancel propagation and which deadline or cancel ended a scope first."""

from __future__ import annotations

from runnerfleet.build import BuildError, FailureReason
from runnerfleet.build.context import RunContext


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cancelling_a_scope_cancels_its_children_but_not_its_parent() -> None:
    clock = FakeClock()
    job = RunContext(clock)
    script = job.child()
    step = script.child()
    script.cancel()
    assert step.event.is_set() and step.err() is not None and step.err().canceled  # type: ignore[union-attr]
    assert job.err() is None and not job.event.is_set()


def test_a_child_created_after_its_parent_was_cancelled_starts_cancelled() -> None:
    job = RunContext(FakeClock())
    job.cancel()
    assert job.child().event.is_set()


def test_the_first_cancel_cause_is_kept() -> None:
    job = RunContext(FakeClock())
    first = BuildError("aborted: terminated", failure_reason=FailureReason.RUNNER_INTERRUPTED)
    job.cancel(first)
    job.cancel(BuildError("canceled", failure_reason=FailureReason.JOB_CANCELED))
    assert job.child().err().cause is first  # type: ignore[union-attr]


def test_a_child_deadline_later_than_the_parents_never_is_the_reason() -> None:
    clock = FakeClock()
    job = RunContext(clock).child(timeout=10)
    cause = BuildError("prepare timeout: exceeded timeout of 1m0s")
    prepare = job.child(timeout=60, deadline_cause=cause)
    assert prepare.remaining() == 10
    clock.now += 11
    done = prepare.err()
    assert done is not None and done.deadline_exceeded and done.cause is None


def test_an_earlier_own_deadline_carries_its_cause() -> None:
    clock = FakeClock()
    job = RunContext(clock).child(timeout=100)
    cause = BuildError("get sources timeout: exceeded timeout of 5s")
    sources = job.child(timeout=5, deadline_cause=cause)
    clock.now += 6
    assert sources.err().cause is cause  # type: ignore[union-attr]
    assert job.err() is None


def test_the_earliest_event_wins() -> None:
    clock = FakeClock()
    job = RunContext(clock).child(timeout=100)
    script = job.child(timeout=5)
    clock.now += 2
    job.cancel()  # cancelled before the script deadline
    clock.now += 10
    done = script.err()
    assert done is not None and done.canceled


def test_expire_marks_the_binding_deadline_as_passed() -> None:
    clock = FakeClock()
    job = RunContext(clock).child(timeout=3)
    script = job.child(timeout=30)  # later than the job's: the job deadline binds
    script.expire()
    assert job.err() is not None and job.err().deadline_exceeded  # type: ignore[union-attr]
