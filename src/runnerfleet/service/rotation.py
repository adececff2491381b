"""Automatic runner token rotation (engine spec §4.6): reset at 75 % of the token's lifetime.

The runner whose reset time comes first is handled first; a config reload re-plans. The new
token and times are written into config.toml (the file watcher then reloads it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from runnerfleet.config import Config, ConfigFile, RunnerConfig
from runnerfleet.errors import RunnerfleetError
from runnerfleet.log import fields
from runnerfleet.service.clients import ClientPool
from runnerfleet.service.config_holder import ConfigHolder

log = logging.getLogger("runnerfleet.service")

RESET_FACTOR = 0.75
DISABLE_FLAG = "FF_DISABLE_AUTOMATIC_TOKEN_ROTATION"
RETRY_AFTER_FAILURE = 60.0


def next_reset(config: Config) -> tuple[RunnerConfig, datetime] | None:
    """The runner to reset first and when (None when no token expires)."""
    best: tuple[RunnerConfig, datetime] | None = None
    for runner in config.runners:
        if runner.token_expires_at is None:
            continue
        obtained = runner.token_obtained_at or runner.token_expires_at
        at = obtained + (runner.token_expires_at - obtained) * RESET_FACTOR
        if best is None or at < best[1]:
            best = (runner, at)
    return best


class TokenRotation:
    """A background thread that resets tokens when due; `replan()` after every config load."""

    def __init__(self, holder: ConfigHolder, clients: ClientPool,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.holder = holder
        self.clients = clients
        self._now = now
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="token-rotation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def replan(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            planned = next_reset(self.holder.current)
            if planned is None:
                self._wake.wait()
                continue
            runner, at = planned
            delay = (at - self._now()).total_seconds()
            if delay > 0 and self._wake.wait(delay):
                continue  # reloaded (or stopping): plan again
            if self._stop.is_set():
                return
            # After a failure GitLab is asked again a minute later, not in a tight loop.
            if not self.rotate(runner):
                self._wake.wait(RETRY_AFTER_FAILURE)

    def rotate(self, runner: RunnerConfig) -> bool:
        extra = fields(runner=runner.short_token, runner_name=runner.name)
        if runner.feature_flags.get(DISABLE_FLAG, False):
            log.warning("Automatic token rotation is disabled for runner: %s. Your token is about "
                        "to expire", runner.short_token, extra=extra)
            self._wake.wait()  # nothing to do until the config changes
            return False
        try:
            result = self.clients.for_runner(runner).reset_token(runner.token)
        except RunnerfleetError as error:
            log.error("Failed to reset the runner token: %s", error, extra=extra)
            return False

        def edit(config: ConfigFile) -> bool:
            for entry in config.config.runners:
                if entry.token == runner.token:
                    config.update_runner(entry.index, {
                        "token": result.token,
                        "token_obtained_at": self._now().replace(microsecond=0),
                        "token_expires_at": result.token_expires_at,
                    })
                    return True
            return False

        try:
            saved = self.holder.save(edit)
        except RunnerfleetError as error:
            log.error("Failed to save config after the token reset: %s", error, extra=extra)
            return False
        if saved:
            log.info("Runner token reset and config saved", extra=extra)
            self.holder.reload()
        return saved
