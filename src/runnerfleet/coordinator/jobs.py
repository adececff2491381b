"""Job dispatch and lifecycle rules: queueing, assignment, state updates, trace, cancel, drop."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.coordinator import matching, repos
from runnerfleet.coordinator.artifact_store import ArtifactStore
from runnerfleet.coordinator.job_store import EXECUTING, Job, JobStore, Project
from runnerfleet.coordinator.payload import FAILURE_REASONS, build_payload
from runnerfleet.coordinator.queues import RunnerQueues
from runnerfleet.coordinator.store import Runner, Store
from runnerfleet.coordinator.traces import TraceFiles

DEFAULT_PROJECT = "runnerfleet/sandbox"
# GitLab stops waiting for live trace chunks after this and applies the final state anyway.
ACCEPT_TIMEOUT = 300.0
MiB = 1 << 20
# A trace PATCH marks its job as updated at most this often: GitLab's PATCH does not touch the
# job at all (the runner's keep-alive PUT does), and a transaction per 1 MiB chunk would cost
# more than the chunk's write. Far below any stuck-job timeout.
TRACE_TOUCH_INTERVAL = 1.0


@dataclass
class JobOptions:
    """Tunables of the job side (CLI flags of `runnerfleet coordinator`)."""

    long_poll_timeout: float = 50.0  # Workhorse apiCiLongPollingDuration; 0 = off
    stuck_timeout: float = 3600.0  # running jobs without updates this long are dropped
    job_timeout_slack: float = 900.0  # server-side timeout = job timeout + this
    trace_update_interval: int = 3  # `X-GitLab-Trace-Update-Interval` (60 unwatched, 3 watched)
    trace_size_limit: int = 100 * MiB  # `ci_jobs_trace_size_limit`


def backoff_seconds(age: float) -> int:
    """`Gitlab::Ci::Runner::Backoff`: 1 s at first, doubling with the age, at most 64 s."""
    if age < 2:
        return 1
    slot = min(max(math.floor(math.log2(age)) - 1, 0), 6)
    return int(2 ** slot)


def failure_reason_or_unknown(reason: str | None) -> str:
    return reason if reason in FAILURE_REASONS else "unknown_failure"


@dataclass
class Pick:
    job: Job | None
    incomplete: bool  # another runner won a race: answer 409 instead of 204


class JobService:
    """Everything that changes jobs; HTTP modules only translate to and from it."""

    def __init__(self, store: Store, data_dir: Path, options: JobOptions) -> None:
        self.store = store
        self.jobs = JobStore(store)
        self.options = options
        self.queues = RunnerQueues()
        self.traces = TraceFiles(data_dir / "traces")
        self.artifacts = ArtifactStore(store, data_dir / "artifacts")
        self.repos_root = data_dir / "repos"
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self._trace_touched: dict[int, float] = {}  # job → monotonic time of its last touch

    # -- projects ------------------------------------------------------------------------------

    def repo_dir(self, project: Project) -> Path:
        return repos.repo_dir(self.repos_root, project.full_path)

    def create_project(self, full_path: str) -> Project | None:
        project = self.jobs.create_project(full_path)
        if project is not None and not self.repo_dir(project).exists():
            repos.init_bare(self.repo_dir(project))
        return project

    def ensure_project(self, full_path: str) -> Project:
        project = self.jobs.project_by_path(full_path) or self.create_project(full_path)
        if project is None:  # created concurrently
            project = self.jobs.project_by_path(full_path)
        assert project is not None
        if not self.repo_dir(project).exists():
            repos.init_bare(self.repo_dir(project))
        return project

    # -- queue ---------------------------------------------------------------------------------

    def enqueue(self, project: Project, fields: dict[str, Any]) -> Job:
        """Insert a pending job, create its pipeline ref, wake the runners that may take it."""
        job = self.jobs.create_job(project, fields)
        if job.sha and repos.commit_exists(self.repo_dir(project), job.sha):
            repos.update_ref(self.repo_dir(project), f"refs/pipelines/{job.pipeline_id}", job.sha)
        self.tick_matching(job, project)
        return job

    def tick_matching(self, job: Job, project: Project) -> None:
        runners = self.store.list_runners()
        self.queues.tick(r.id for r in runners if matching.matches(r, job, project))

    def pick(self, runner: Runner, manager_id: int | None, system_xid: str | None,
             features: dict[str, Any]) -> Pick:
        """`RegisterJobService`: the oldest pending job this runner matches, assigned atomically."""
        incomplete = False
        projects: dict[int, Project | None] = {}
        for job in self.jobs.iter_pending():
            if job.project_id not in projects:
                projects[job.project_id] = self.jobs.project_by_id(job.project_id)
            project = projects[job.project_id]
            if project is None or not matching.matches(runner, job, project):
                continue
            if matching.unsupported(job.spec, features):
                self.jobs.finish(job.id, "failed", failure_reason="runner_unsupported",
                                 from_statuses=("pending",))
                continue
            if any(self.artifacts.archive_expired(int(d)) for d in job.spec.get("dependencies") or []):
                # `has_valid_build_dependencies?`: a dependency's artifacts expired.
                self.jobs.finish(job.id, "failed", failure_reason="missing_dependency_failure",
                                 from_statuses=("pending",))
                continue
            assigned = self.jobs.assign(job.id, runner.id, manager_id, system_xid)
            if assigned is None:
                incomplete = True
                continue
            return Pick(assigned, False)
        return Pick(None, incomplete)

    def payload(self, job: Job, runner: Runner, external_url: str,
                session_url: str | None = None) -> dict[str, Any]:
        project = self.jobs.project_by_id(job.project_id)
        assert project is not None
        dependencies = [d for i in job.spec.get("dependencies") or []
                        if (d := self.jobs.job_by_id(int(i))) is not None]
        queue_size = self.jobs.pending_count()
        archives = {d.id: a for d in dependencies if (a := self.artifacts.available_archive(d.id))}
        return build_payload(job, project, runner, external_url, dependencies, queue_size,
                             session_url,
                             artifacts_files={i: {"filename": a.filename, "size": a.size}
                                              for i, a in archives.items()})

    # -- lifecycle -----------------------------------------------------------------------------

    def update_state(self, job: Job, params: dict[str, Any]) -> tuple[int, int | None]:
        """`UpdateBuildStateService`: (HTTP status, back-off seconds or None)."""
        state = str(params.get("state") or "")
        output = params.get("output") or {}
        checksum = output.get("checksum") or params.get("checksum")
        bytesize = output.get("bytesize")
        if state == "running" and not checksum:
            # The common "still running" update: one transaction.
            self.jobs.record_update(job.id, state, touch=True)
            return 200, None
        self.jobs.record_update(job.id, state)
        if checksum:
            self.jobs.update_job(job.id, output_checksum=str(checksum),
                                 output_bytesize=bytesize if isinstance(bytesize, int) else None)
        if state != "running" and checksum:
            now = time.time()
            if job.pending_state is None:
                # The first final state wins, as GitLab's BuildPendingState.
                job = self.jobs.update_job(job.id, pending_state={
                    "state": state, "checksum": checksum, "bytesize": bytesize,
                    "failure_reason": params.get("failure_reason")}, pending_state_at=now)
            age = now - (job.pending_state_at or now)
            incomplete = isinstance(bytesize, int) and self.traces.size(job.id) < bytesize
            if incomplete and age <= ACCEPT_TIMEOUT:
                # Log bytes the runner reported are still missing: ask it to come back.
                return 202, backoff_seconds(age)
        return self._apply_state(job, state, params), None

    def _apply_state(self, job: Job, state: str, params: dict[str, Any]) -> int:
        exit_code = params.get("exit_code")
        if state == "running":
            self.jobs.touch(job.id)
            return 200
        if state not in ("success", "failed"):
            return 400
        if job.status == "canceling":
            self.jobs.finish(job.id, "canceled", exit_code=exit_code, from_statuses=("canceling",))
        elif state == "success":
            self.jobs.finish(job.id, "success", exit_code=exit_code, from_statuses=("running",))
        else:
            reason = failure_reason_or_unknown(params.get("failure_reason"))
            self.jobs.finish(job.id, "failed", failure_reason=reason, exit_code=exit_code,
                             from_statuses=("running",))
        return 200

    def append_trace(self, job: Job, start: int, data: bytes,
                     debug_trace: bool) -> tuple[int, int]:
        """`AppendBuildTraceService`: (HTTP status, stored length)."""
        end = start + len(data)
        if start == 0 and debug_trace:
            self.jobs.update_job(job.id, debug_trace=True)
        if end > self.options.trace_size_limit:
            self.jobs.finish(job.id, "failed", failure_reason="trace_size_exceeded",
                             from_statuses=EXECUTING)
            return 403, self.traces.size(job.id)
        # GitLab hides the job token inside appended log chunks (same-length replacement).
        token = job.token.encode()
        data = data.replace(token, b"x" * len(token))
        size = self.traces.append(job.id, start, data)
        self._touch_for_trace(job.id)
        if size != end:
            return 416, size
        return 202, size

    def _touch_for_trace(self, job_id: int) -> None:
        now = time.monotonic()
        last = self._trace_touched.get(job_id)
        if last is not None and now - last < TRACE_TOUCH_INTERVAL:
            return
        if len(self._trace_touched) > 4096:  # finished jobs' entries: forget them all at once
            self._trace_touched.clear()
        self._trace_touched[job_id] = now
        self.jobs.touch(job_id)

    def cancel(self, job: Job) -> Job:
        """GitLab's cancel: `canceling` when the job's runner manager can cancel gracefully."""
        if job.status == "pending":
            return self.jobs.finish(job.id, "canceled", from_statuses=("pending",)) or job
        if job.status == "running":
            graceful = False
            if job.runner_id is not None:
                for manager in self.store.managers(job.runner_id):
                    if manager.id == job.runner_manager_id:
                        graceful = (manager.info.get("features") or {}).get("cancel_gracefully") is True
            if graceful:
                return self.jobs.update_job(job.id, status="canceling")
            return self.jobs.finish(job.id, "canceled", from_statuses=("running",)) or job
        return job

    def drop(self, job: Job, reason: str) -> Job:
        return self.jobs.finish(job.id, "failed", failure_reason=reason,
                                from_statuses=("pending", *EXECUTING)) or job

    # -- housekeeping --------------------------------------------------------------------------

    def housekeeping(self, now: float | None = None) -> None:
        """Drop stuck jobs and jobs past their timeout (GitLab's stuck/timeout workers)."""
        now = time.time() if now is None else now
        for job in self.jobs.jobs():
            if job.status not in EXECUTING:
                continue
            if job.updated_at < now - self.options.stuck_timeout:
                if job.status == "canceling":
                    self.jobs.finish(job.id, "canceled", from_statuses=("canceling",))
                else:
                    self.jobs.finish(job.id, "failed", failure_reason="stuck_or_timeout_failure",
                                     from_statuses=("running",))
                continue
            timeout = job.timeout
            runner = self.store.runner_by_id(job.runner_id) if job.runner_id else None
            if runner is not None and runner.maximum_timeout:
                timeout = min(timeout, runner.maximum_timeout)
            started = job.started_at or job.created_at
            if started + timeout + self.options.job_timeout_slack < now:
                self.jobs.finish(job.id, "failed", failure_reason="job_execution_server_timeout",
                                 from_statuses=EXECUTING)

    def start_housekeeping(self) -> None:
        shortest = min(self.options.stuck_timeout, self.options.job_timeout_slack)
        interval = min(max(shortest / 4, 0.1), 30.0)

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.housekeeping()
                except Exception:  # the store may be closing; the next round retries
                    if self._stop.is_set():
                        return

        self._housekeeper = threading.Thread(target=loop, name="coordinator-housekeeping",
                                             daemon=True)
        self._housekeeper.start()

    def close(self) -> None:
        self._stop.set()
        self.queues.close()
        if self._housekeeper is not None:
            self._housekeeper.join(timeout=10)
