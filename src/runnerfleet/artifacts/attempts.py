"""Retrying one step of a helper command: each failed try says whether another one is worth it."""

from __future__ import annotations

from collections.abc import Callable

from runnerfleet.artifacts.report import Reporter

# gitlab-runner's defaults of the helpers' --retry and --retry-time.
RETRIES = 2
RETRY_TIME = 1.0


class StepFailed(Exception):
    """One try of a step failed; `str()` is the line for the log, `retry` whether to try again."""

    def __init__(self, text: str, *, retry: bool) -> None:
        super().__init__(text)
        self.retry = retry


def run_with_retries(step: Callable[[int], None], *, retries: int, retry_time: float,
                     sleep: Callable[[float], None], reporter: Reporter) -> StepFailed | None:
    """Call `step(attempt)` up to `retries + 1` times; None once it succeeds, else its last failure.

    Between tries: wait `retry_time`, then warn "Retrying..." with the error (gitlab-runner's order).
    A failure that is not retryable ends at once. The caller logs the failure at its own level.
    """
    attempt = 0
    while True:
        try:
            step(attempt)
            return None
        except StepFailed as exc:
            if not exc.retry or attempt >= retries:
                return exc
            sleep(retry_time)
            reporter.warning("Retrying...", error=str(exc))
        attempt += 1
