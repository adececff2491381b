"""Waiting in integration tests: poll a check until it holds, or fail naming what was awaited.

Each test area bounds its waits with its own patience (`wait_until = waiter(PATIENCE)`); the
bound only ends a hopeless wait, no test asserts how long anything took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import pytest


class WaitUntil(Protocol):
    def __call__(self, what: str, check: Callable[[], Any], patience: float = ...) -> Any: ...


def waiter(default_patience: float, *, interval: float = 0.05) -> WaitUntil:
    """`wait_until(what, check, patience=default_patience)`: `check()`'s first truthy value."""

    def wait_until(what: str, check: Callable[[], Any], patience: float = default_patience) -> Any:
        deadline = time.monotonic() + patience
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting for {what}")
            time.sleep(interval)

    return wait_until
