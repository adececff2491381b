"""The live config of `run`: loaded at start, reloaded on mtime change (every 3 s) or SIGHUP.

A failed reload keeps the config in use, logs "Failed to load config" and remembers the file's
mtime so the same broken file is not retried (engine spec §2.2). Readers take `current`, an
object that is replaced, never changed, so a job can keep the copy it started with.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from runnerfleet.config import Config, ConfigFile
from runnerfleet.errors import ConfigError
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.service")

RELOAD_INTERVAL = 3.0


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def long_polling_warning(config: Config) -> str | None:
    """gitlab-runner's "Long polling issues detected" text, or None when the settings are fine."""
    warnings: list[str] = []
    solutions: list[str] = []
    runners = config.runners
    if config.concurrent < len(runners):
        warnings.append(f"Worker starvation bottleneck: 'concurrent' setting ({config.concurrent}) "
                        f"is less than number of runners ({len(runners)})")
        solutions.append(f"Increase 'concurrent' to at least {len(runners) + 1} "
                         f"(current: {config.concurrent})")
    low = sum(1 for r in runners if r.effective_request_concurrency == 1)
    restrictive = sum(1 for r in runners
                      if 0 < r.limit <= 2 and r.effective_request_concurrency == 1)
    if low:
        warnings.append(f"Request bottleneck: {low} runners have request_concurrency=1, causing "
                        "job delays during long polling")
        solutions.append(f"Increase 'request_concurrency' to 2-4 for {low} runners currently "
                         "using request_concurrency=1")
    if restrictive:
        warnings.append(f"Build limit bottleneck: {restrictive} runners have low 'limit' settings "
                        "(≤2) with request_concurrency=1")
        solutions.append(f"For {restrictive} runners with low limits: either increase 'limit' to "
                         "5+ or increase 'request_concurrency' to 2+")
    if not warnings:
        return None
    lines = ["CONFIGURATION: Long polling issues detected.", "Issues found:"]
    lines += [f"  - {w}" for w in warnings]
    lines.append("This can cause job delays matching your GitLab instance's long polling timeout.")
    lines.append("Recommended solutions:")
    lines += [f"  {i}. {s}" for i, s in enumerate(solutions, 1)]
    return "\n".join(lines)


class ConfigHolder:
    """config.toml as the service sees it now; `on_loaded` runs after every successful (re)load."""

    def __init__(self, path: Path, *, user: str = "",
                 on_loaded: Callable[[Config], None] | None = None) -> None:
        self.path = path
        self.user = user
        self._on_loaded = on_loaded
        self._lock = threading.Lock()
        self._file: ConfigFile | None = None
        self._config = Config()
        self._mtime: int | None = None

    @property
    def current(self) -> Config:
        with self._lock:
            return self._config

    @property
    def file(self) -> ConfigFile | None:
        with self._lock:
            return self._file

    def load(self) -> Config:
        """(Re)load the file; raises ConfigError and keeps the previous config on failure."""
        mtime = _mtime(self.path)
        try:
            loaded = ConfigFile.load(self.path)
        except ConfigError:
            with self._lock:
                self._mtime = mtime  # do not retry the same broken file every 3 s
            raise
        config = loaded.config
        config.user = self.user  # `run --user` overrides the file's key, as in gitlab-runner
        with self._lock:
            self._file, self._config, self._mtime = loaded, config, mtime
        for warning in loaded.warnings:
            log.warning(warning)
        if not loaded.exists:
            log.warning("%s does not exist: no runners are configured (register one, or pass the "
                        "right file with -c/--config)", self.path)
        log.info("Configuration loaded", extra=fields(builds=0, max_builds=config.concurrent))
        for runner in config.runners:
            if runner.url.rstrip("/").endswith("/ci"):
                log.warning("The runner URL %s ends in /ci, which is deprecated; remove the suffix",
                            runner.url, extra=fields(runner=runner.short_token))
            if not runner.token.strip():
                log.warning("Runner token is empty or whitespace; this runner will be skipped "
                            "during job polling. Check the 'token' field in your config.toml for "
                            "this runner.", extra=fields(runner=runner.short_token,
                                                         runner_name=runner.name))
        polling = long_polling_warning(config)
        if polling:
            log.warning(polling)
        if self._on_loaded is not None:
            self._on_loaded(config)
        return config

    def reload(self) -> bool:
        """Reload now (SIGHUP); False when it failed (logged, the old config stays)."""
        try:
            self.load()
            return True
        except ConfigError as error:
            log.error("Failed to load config %s", _one_line(error))
            return False

    def check(self) -> bool:
        """Reload if the file's mtime is newer than at the last load; True if it was reloaded."""
        mtime = _mtime(self.path)
        with self._lock:
            known = self._mtime
        if mtime is None or (known is not None and mtime <= known):
            return False
        return self.reload()

    def save(self, edit: Callable[[ConfigFile], bool]) -> bool:
        """Re-read the file, apply `edit` (True: something changed), save it; for token rotation."""
        loaded = ConfigFile.load(self.path)
        if not edit(loaded):
            return False
        loaded.save()
        log.info("Updated %s", os.fspath(self.path))
        return True


def _one_line(error: ConfigError) -> str:
    return "; ".join(error.problems)
