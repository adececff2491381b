"""In-process runner workers: the service's job request and `JobRun`, N jobs at a time."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from runnerfleet.config import ConfigFile, RunnerConfig, certs_dir
from runnerfleet.errors import RunnerfleetError
from runnerfleet.gitlab import request_job
from runnerfleet.service.clients import ClientPool
from runnerfleet.service.job import ActiveJobs, JobRun, JobServices
from runnerfleet.service.metrics import ServiceMetrics
from runnerfleet.service.single import random_system_id
from runnerfleet.service.slots import BuildSlots
from runnerfleet.service.worker import LastUpdates, info_for

log = logging.getLogger("runnerfleet.exec")


def runner_config(url: str, token: str, executor: str, image: str | None,
                  repos_root: Path | None = None) -> RunnerConfig:
    """The runner exec runs its jobs with. `repos_root` (shell executor): the coordinator's
    repositories on this disk, fetched from through git's local transport (`clone_url`)."""
    entry: dict[str, Any] = {"name": "exec", "url": url, "token": token, "executor": executor}
    if repos_root is not None and executor == "shell":
        # `clone_url` as users set it: only the fetch goes to `file://<root>/<project>.git`, so
        # get_sources skips HTTP, auth and git-http-backend; the payload (repo_url,
        # CI_REPOSITORY_URL) and CI_PROJECT_DIR stay what GitLab and `run` give.
        entry["clone_url"] = repos_root.resolve().as_uri()
    if executor == "docker":
        # Job containers reach the in-process coordinator on loopback only with the host's
        # network; local images are used without pulling when present.
        entry["docker"] = {"image": image or "alpine:latest", "network_mode": "host",
                           "pull_policy": ["if-not-present"]}
    return ConfigFile.from_text("", path="runnerfleet exec").add_runner(entry)


class _FailingSince:
    """Job requests that keep failing: the in-process coordinator answers every request unless
    something is broken, so after `bound` seconds of nothing but failures exec stops with the
    last one instead of waiting for jobs nobody can take."""

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self.since: float | None = None

    def note(self, what: str) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
        elif now - self.since >= self.bound:
            raise RunnerfleetError(f"exec: {what} for {now - self.since:.0f} s; run with --debug "
                                   "for the requests and answers")

    def clear(self) -> None:
        self.since = None


class Workers:
    """`concurrent` threads that each ask the coordinator for a job and run it to completion."""

    def __init__(self, state_dir: Path, persistent_failure: float = 10.0) -> None:
        self.persistent_failure = persistent_failure
        self.config_path = state_dir / "config.toml"
        self.system_id = random_system_id()
        self.clients = ClientPool(self.config_path)
        self.active = ActiveJobs()
        self.last_updates = LastUpdates()
        self.services = JobServices(
            clients_job_tokens=self.clients.job_tokens, slots=BuildSlots(self.system_id),
            metrics=ServiceMetrics(), journal=None, system_id=self.system_id,
            working_directory=state_dir / "work", certs_dir=str(certs_dir(self.config_path)))
        self._stop = threading.Event()
        # Why a worker thread died; `check()` turns it into exec's error instead of a wait for
        # jobs that nobody takes.
        self.error: BaseException | None = None
        self._threads: list[threading.Thread] = []

    def prepare(self, url: str) -> None:
        """Create the HTTP client for the coordinator at `url` (tens of ms: its TLS context)
        before the runner exists, so that it can happen while the pipeline is created.
        An unusable client is reported by `start()`, which asks for the same one again."""
        try:
            self.clients.get(url)
        except RunnerfleetError:
            log.debug("exec: client for %s not ready", url, exc_info=True)

    def start(self, runner: RunnerConfig, concurrent: int) -> None:
        """Executor, runner info and client set up here, so that their errors are exec's."""
        from runnerfleet.executors import get_provider

        self.runner = runner
        provider = get_provider(runner.executor)
        if provider is None:
            raise RunnerfleetError(f"exec: unknown executor {runner.executor}")
        self._provider = provider
        self._info = info_for(runner, provider)
        self._client = self.clients.for_runner(runner)
        (self.config_path.parent / "work").mkdir(parents=True, exist_ok=True)
        self._threads = [threading.Thread(target=self._loop, name=f"exec-worker-{i}", daemon=True)
                         for i in range(max(1, concurrent))]
        for thread in self._threads:
            thread.start()

    def check(self) -> None:
        """Raise when a worker thread died (then no job would ever be taken or finished)."""
        if isinstance(self.error, RunnerfleetError):
            raise self.error
        if self.error is not None:
            log.debug("exec worker failed", exc_info=self.error)
            raise RunnerfleetError(f"exec: a job worker stopped: {type(self.error).__name__}: "
                                   f"{self.error}; run with --debug for details")

    def _loop(self) -> None:
        try:
            self._serve()
        except BaseException as exc:
            self.error = exc

    def _serve(self) -> None:
        provider, info, client = self._provider, self._info, self._client
        failing = _FailingSince(self.persistent_failure)
        while not self._stop.is_set():
            try:
                result = request_job(client, self.runner.token, system_id=self.system_id,
                                     info=info, last_update=self.last_updates.get(self.runner))
            except RunnerfleetError as exc:
                failing.note(str(exc))
                if self._stop.wait(0.2):
                    return
                continue
            if result is None or result.payload is None:
                if result is not None:
                    self.last_updates.set(self.runner, result.last_update)
                # 204: ask again at once, the coordinator holds the request until new work
                # (long poll); 409: another worker took that job, another may be pending.
                # Anything else (429, 5xx): back off a little.
                if result is None or result.status not in (204, 409):
                    failing.note(f"the coordinator answered {result.status if result else 'nothing'}"
                                 " to the runner's job request")
                    self._stop.wait(0.1)
                else:
                    failing.clear()
                continue
            failing.clear()
            self.last_updates.set(self.runner, result.last_update)
            data = provider.acquire(self.runner)
            try:
                JobRun(self.services, self.runner, result.payload, client, info,
                       self.active).execute()
            finally:
                provider.release(self.runner, data)

    def stop(self) -> None:
        self._stop.set()
        self.active.interrupt_all("SIGTERM")

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=30)
        self.clients.close()
