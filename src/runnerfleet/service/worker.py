"""One worker turn on one runner entry (gitlab-runner's processRunner, engine spec §4.2).

limit slot → request slot → executor capacity → `POST /jobs/request` (long polling with the
runner's `X-GitLab-Last-Update`) → health → the job, if one came, run to completion on this
worker after the runner was requeued for another idle worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runnerfleet.config import Config, RunnerConfig
from runnerfleet.errors import RunnerfleetError
from runnerfleet.gitlab import JobRequest, request_job, runner_info
from runnerfleet.log import fields
from runnerfleet.service.clients import ClientPool
from runnerfleet.service.health import HealthTracker
from runnerfleet.service.job import ActiveJobs, JobRun, JobServices
from runnerfleet.service.metrics import ServiceMetrics
from runnerfleet.service.slots import BuildSlots

if TYPE_CHECKING:
    from runnerfleet.executors import ExecutorProvider

log = logging.getLogger("runnerfleet.service")

# Features of the network layer and of the bash/sh shells (gitlab-runner network/gitlab.go
# getFeatures, shells/abstract.go GetFeatures); the executor adds its own.
NETWORK_FEATURES = ("trace_reset", "trace_checksum", "trace_size", "cancelable",
                    "cancel_gracefully", "two_phase_job_commit")
SHELL_FEATURES = ("artifacts", "upload_multiple_artifacts", "upload_raw_artifacts", "cache",
                  "fallback_cache_keys", "refspecs", "masking", "raw_variables",
                  "artifacts_exclude", "multi_build_steps", "return_exit_code")


def info_for(runner: RunnerConfig, provider: ExecutorProvider | None,
             labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `info` object sent with job requests and updates for this runner."""
    features = dict.fromkeys((*NETWORK_FEATURES, *SHELL_FEATURES), True)
    shell = runner.shell
    if provider is not None:
        executor_features = provider.features()
        features["variables"] = executor_features.variables
        features["shared"] = executor_features.shared
        shell = shell or provider.default_shell()
    return runner_info(executor=runner.executor, shell=shell, features=features,
                       labels={**(labels or {}), **runner.labels} or None)


class LastUpdates:
    """`X-GitLab-Last-Update` per runner (URL + token), sent back on its next job request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], str] = {}

    def get(self, runner: RunnerConfig) -> str | None:
        with self._lock:
            return self._values.get((runner.url, runner.token))

    def set(self, runner: RunnerConfig, value: str | None) -> None:
        if not value:
            return  # a bare 204 keeps the stored value (API spec §5.3)
        with self._lock:
            self._values[(runner.url, runner.token)] = value


class RunnerWorker:
    """Everything a worker needs to serve runner entries; `process()` is one turn."""

    def __init__(self, *, services: JobServices, clients: ClientPool, health: HealthTracker,
                 slots: BuildSlots, metrics: ServiceMetrics, active: ActiveJobs,
                 config: Callable[[], Config], last_updates: LastUpdates | None = None,
                 begin_job: Callable[[], bool] = lambda: True,
                 end_job: Callable[[], None] = lambda: None) -> None:
        self.services = services
        self.clients = clients
        self.health = health
        self.slots = slots
        self.metrics = metrics
        self.active = active
        self.config = config
        self.last_updates = last_updates or LastUpdates()
        # The service counts jobs from the moment one arrives, so a shutdown waits for it.
        self.begin_job = begin_job
        self.end_job = end_job

    def process(self, runner: RunnerConfig, requeue: Callable[[RunnerConfig], object] | None = None
                ) -> bool:
        """One turn; True when a job was received (and has been run)."""
        from runnerfleet.executors import get_provider  # loaded with the first runner served

        fields_ = fields(runner=runner.short_token, runner_name=runner.name)
        provider = get_provider(runner.executor)
        if provider is None:
            log.error('Executor "%s" is not known; marking Runner as unhealthy', runner.executor,
                      extra=fields_)
            self.health.mark(runner, False)
            return False
        if not self.slots.acquire_build(runner):
            log.debug("Failed to request job, runner limit met", extra=fields_)
            return False
        try:
            if not self.slots.acquire_request(runner):
                log.debug("Failed to request job: 'request_concurrency' already reached",
                          extra=fields_)
                return False
            try:
                data = provider.acquire(runner)
            except Exception as error:
                self.slots.release_request(runner, has_job=False, retried=False)
                log.warning("Failed to process runner: failed to update executor: %s", error,
                            extra=fields_)
                self.metrics.processing_failure("no_free_executor", runner.short_token,
                                                runner.name, self.services.system_id)
                return False
            try:
                return self._request_and_run(runner, provider, requeue)
            finally:
                provider.release(runner, data)
        finally:
            self.slots.release_build(runner)

    def _request_and_run(self, runner: RunnerConfig, provider: ExecutorProvider,
                         requeue: Callable[[RunnerConfig], object] | None) -> bool:
        info = info_for(runner, provider, self.config().labels)
        result: JobRequest | None = None
        try:
            client = self.clients.for_runner(runner)
            result = request_job(client, runner.token, system_id=self.services.system_id,
                                 info=info, last_update=self.last_updates.get(runner))
        except RunnerfleetError as error:
            # No answer, TLS trouble, or a 201 that is not JSON: gitlab-runner's "client error".
            log.error("Checking for jobs... error: %s", error,
                      extra=fields(runner=runner.short_token))
        finally:
            self.slots.release_request(
                runner, has_job=bool(result and result.payload is not None),
                retried=bool(result and result.retried))
        self.health.mark(runner, result is not None and result.healthy)
        if result is None:
            return False
        self.last_updates.set(runner, result.last_update)
        if result.payload is None:
            return False
        if not self.begin_job():
            log.error("Received job %s while the process was exiting; GitLab ends it when it times "
                      "out", result.payload.get("id"), extra=fields(runner=runner.short_token))
            return True
        try:
            job = JobRun(self.services, runner, result.payload, client, info, self.active)
            again = None
            if requeue is not None and not runner.strict_check_interval:
                def again() -> None:
                    requeue(runner)
            job.execute(requeue=again)
        finally:
            self.end_job()
        return True
