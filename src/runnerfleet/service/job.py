"""One received job, end to end: `PUT running`, log buffer, journal, streamer, Build, final state.

Used by `run` workers and by `run-single`. The order follows gitlab-runner's requestJob and
processBuildOnRunner: a job using options this runner does not support fails at once; GitLab is
told `running` (an abort answer drops the job, `canceling` fails it as canceled at once); the
job's log and its journal record exist, synced, before any stage runs (see `execute` for why the
update may go first); the job joins the processing list (concurrency ids); the Build runs while
the TraceStreamer sends its log; `finish()` sends the tail of the log and the final state. The
journal record is removed only once GitLab took that final state; otherwise it stays for the
next start to report.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runnerfleet.config import RunnerConfig
from runnerfleet.errors import RunnerfleetError
from runnerfleet.gitlab import GitLabClient, update_job
from runnerfleet.gitlab.jobs import JobUpdate
from runnerfleet.log import fields
from runnerfleet.service import job_flags, job_options
from runnerfleet.service.journal import JobRecord, Journal, JournalSlot
from runnerfleet.service.metrics import ServiceMetrics
from runnerfleet.service.slots import BuildSlots, RunningJob
from runnerfleet.service.stage_trace import StageTrace
from runnerfleet.trace import TraceBuffer, TraceStreamer

log = logging.getLogger("runnerfleet.service")



class BuildLike(Protocol):
    """What the service uses of `runnerfleet.build.Build`."""

    def run(self) -> Any: ...

    def cancel(self, graceful: bool) -> None: ...

    def interrupt(self, signal_name: str) -> None: ...


@dataclass
class JobServices:
    """What every job of one runner process shares."""

    clients_job_tokens: Any  # runnerfleet.service.clients.JobTokens
    slots: BuildSlots
    metrics: ServiceMetrics
    journal: Journal | None
    system_id: str
    working_directory: Path
    certs_dir: str
    user: str | None = None


class ActiveJobs:
    """The jobs running in this process, so a shutdown can interrupt them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: set[JobRun] = set()
        self._interrupted: str | None = None

    def add(self, job: JobRun) -> None:
        with self._lock:
            self._jobs.add(job)
            signal_name = self._interrupted
        if signal_name is not None:
            job.interrupt(signal_name)

    def discard(self, job: JobRun) -> None:
        with self._lock:
            self._jobs.discard(job)

    def interrupt_all(self, signal_name: str) -> None:
        """Abort every running job (and any that starts from now on)."""
        with self._lock:
            self._interrupted = signal_name
            jobs = list(self._jobs)
        for job in jobs:
            job.interrupt(signal_name)

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


_COPIES_LOCK = threading.Lock()
_COPIES: dict[int, tuple[RunnerConfig, RunnerConfig]] = {}  # id(config) -> (config, its copy)
_MAX_COPIES = 64


def job_config(runner: RunnerConfig) -> RunnerConfig:
    """A deep copy of a runner's config that a config reload cannot change under a job.

    One copy per config object, shared by the jobs started with it: a reload replaces the
    config objects instead of editing them, and no job changes its copy, so a copy per job
    (~2% of a trivial job's runner CPU) bought nothing. The original is kept with its copy,
    so its id is not reused while the entry exists.
    """
    with _COPIES_LOCK:
        entry = _COPIES.get(id(runner))
    if entry is not None and entry[0] is runner:
        return entry[1]
    frozen = copy.deepcopy(runner)
    with _COPIES_LOCK:
        if len(_COPIES) >= _MAX_COPIES:
            _COPIES.clear()
        _COPIES[id(runner)] = (runner, frozen)
    return frozen


def _failure_reasons(payload: Mapping[str, Any]) -> list[str]:
    features = payload.get("features")
    reasons = features.get("failure_reasons") if isinstance(features, Mapping) else None
    return [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else []


def _final_state(state: str) -> str:
    # GitLab takes success or failed; a canceled job is reported failed (GitLab makes it canceled).
    return "success" if state == "success" else "failed"


class JobRun:
    """One job from the 201 answer to the final update."""

    def __init__(self, services: JobServices, runner: RunnerConfig, payload: dict[str, Any],
                 client: GitLabClient, info: Mapping[str, Any], active: ActiveJobs,
                 *, build_factory: Callable[..., BuildLike] | None = None) -> None:
        self.s = services
        # Made a deep copy in `_open_log`, after `PUT running` (off the pickup latency), before
        # anything of the job uses it: a config reload must not change a running job (engine
        # spec §2.2; a reload replaces the config objects, it does not edit them in place).
        self.runner = runner
        self.payload = payload
        self.client = client
        self.info = dict(info)
        self.active = active
        self._build_factory = build_factory
        self._lock = threading.Lock()
        self._build: BuildLike | None = None
        self._pending_cancel: bool | None = None  # graceful? (arrived before the Build existed)
        self._pending_interrupt: str | None = None
        self._accepted = False  # GitLab took the final state (or ended the job itself)
        self._trace: StageTrace | None = None
        self._settle_args: tuple[Journal | None, JournalSlot | None, JobRecord | None,
                                 TraceBuffer] | None = None
        ids = job_flags.job_id_and_token(payload)
        self.job_id, self.token = ids if ids is not None else (0, "")
        self._fields = fields(runner=self.runner.short_token, runner_name=self.runner.name,
                              job=self.job_id, project=job_flags.project_id(payload))

    # -- signals from GitLab and from the process ------------------------------------------------
    def cancel(self, kind: str) -> None:
        """The streamer's callback: "canceling" (graceful) or "abort" (stop now)."""
        graceful = kind == "canceling"
        with self._lock:
            build = self._build
            if build is None:
                # Abort wins over a graceful cancel that is still pending.
                self._pending_cancel = graceful if self._pending_cancel is None else (
                    self._pending_cancel and graceful)
        if build is not None:
            build.cancel(graceful)

    def interrupt(self, signal_name: str) -> None:
        with self._lock:
            build = self._build
            if build is None:
                self._pending_interrupt = signal_name
        if build is not None:
            build.interrupt(signal_name)

    def _attach(self, build: BuildLike) -> None:
        with self._lock:
            self._build = build
            cancel, interrupt = self._pending_cancel, self._pending_interrupt
        if interrupt is not None:
            build.interrupt(interrupt)
        elif cancel is not None:
            build.cancel(cancel)

    # -- the job ---------------------------------------------------------------------------------
    def execute(self, requeue: Callable[[], None] | None = None) -> None:
        if not self.token:
            log.error("Received a job without a usable id or token; it cannot be run or reported",
                      extra=fields(runner=self.runner.short_token))
            return
        problems = job_options.unsupported_options(self.payload)
        self.s.clients_job_tokens.add(self.token, self.runner.short_token)
        try:
            # `PUT running` goes out before the log buffer and the journal record are made, to
            # keep them off the pickup latency. Crash safety is unchanged: GitLab holds the job
            # as running since its 201, so this update changes nothing a crash could leave
            # unreported (a crash before the record exists leaves the job to GitLab's stuck-job
            # timeout whether or not the update went out), and the record is on disk before any
            # stage runs or any log exists (`_durable`). A rejected job never says "running".
            if requeue is not None and not problems:
                # gitlab-runner requeues once the job is on its processing list; asking again as
                # soon as a job arrived keeps the next request from waiting for this job's
                # `PUT running` round trip, which is what paces a queue drain.
                requeue()
            running = None if problems else self._tell_running()
            trace, streamer = self._open_log()
            if problems:
                self._accepted = self._reject(trace, streamer, problems)
            else:
                assert running is not None
                self._accepted = self._run(running, trace, streamer)
        finally:
            self.s.clients_job_tokens.remove(self.token)
            self._settle()

    def _tell_running(self) -> JobUpdate | RunnerfleetError:
        try:
            return update_job(self.client, self.job_id, self.token, state="running",
                              info=self.info)
        except RunnerfleetError as error:
            return error

    def _open_log(self) -> tuple[TraceBuffer, TraceStreamer]:
        """The job's log buffer (in the journal directory), its journal record, its streamer."""
        self.runner = job_config(self.runner)
        journal = self.s.journal if self.s.journal is not None and self.s.journal.is_open else None
        from runnerfleet.build import trace_buffer_options

        options = trace_buffer_options(self.runner, self.payload)
        trace = StageTrace(**options,
                           directory=str(journal.directory) if journal is not None else None,
                           on_stage_end=self._stage_finished)
        self._trace = trace
        slot, record = self._journal(journal, trace, timestamps=options["timestamps"])
        self._settle_args = (journal, slot, record, trace)
        dynamic_force_send, debug_trace = job_flags.streamer_flags(self.payload, self.runner)
        streamer = TraceStreamer(
            self.client, self.job_id, self.token, trace, info=self.info, on_cancel=self.cancel,
            final_update_retry_limit=self.runner.effective_job_status_final_update_retry_limit,
            dynamic_force_send_interval=dynamic_force_send, debug_trace=debug_trace,
        )
        return trace, streamer

    def _journal(self, journal: Journal | None, trace: TraceBuffer, *, timestamps: bool
                 ) -> tuple[JournalSlot | None, JobRecord | None]:
        """The job's record, written into a journal slot but not yet synced (see `_durable`)."""
        if journal is None:
            return None, None
        record = JobRecord(
            job_id=self.job_id, url=self.runner.url, token=self.token, trace_path=trace.path,
            runner=self.runner.short_token, tls_ca_file=self.runner.tls_ca_file,
            tls_cert_file=self.runner.tls_cert_file, tls_key_file=self.runner.tls_key_file,
            certs_dir=self.s.certs_dir,
            timestamps=timestamps,
        )
        try:
            slot = journal.take_slot()
        except OSError as error:
            self._journal_error(journal, error)
            return None, None
        try:
            slot.write(record)
        except OSError as error:
            self._journal_error(journal, error)
            slot.close()
            return None, None
        return slot, record

    def _journal_error(self, journal: Journal, error: OSError) -> None:
        log.error("Cannot write the job journal record in %s (%s); this job would not be "
                  "reported after a crash", journal.directory, error.strerror or error,
                  extra=self._fields)

    def _durable(self) -> None:
        """Make the job's record survive a power loss before the job does anything.

        A process crash (SIGKILL, OOM) keeps the written record even unsynced (it is in the
        kernel's page cache); the flush is for power loss, and it must be done before a stage
        runs or any log exists, which is where this is called.
        """
        args = self._settle_args
        slot = args[1] if args is not None else None
        if slot is None:
            return
        try:
            slot.sync()
        except OSError as error:
            log.error("Cannot sync the job journal record %s (%s); this job may not be reported "
                      "after a power loss", slot.path, error.strerror or error, extra=self._fields)

    def _stage(self) -> str:
        trace = self._trace
        return trace.stage if trace is not None else ""

    def _stage_finished(self, stage: str, seconds: float) -> None:
        self.s.metrics.stage_finished(self.runner.short_token, self.runner.name,
                                      self.s.system_id, stage, seconds)

    def _reject(self, trace: TraceBuffer, streamer: TraceStreamer, problems: list[str]) -> bool:
        """Fail a job that uses options this runner does not support, before `PUT running`
        (as gitlab-runner): its log is the reasons; True when GitLab took the final state."""
        log.warning("Job uses options this runner does not support: %s", "; ".join(problems),
                    extra=self._fields)
        trace.write(("\n".join(problems) + "\n").encode())
        streamer.finish("failed", job_options.FAILURE_REASON, job_options.EXIT_CODE)
        result = streamer.final_result
        return result is not None and not result.gave_up

    def _run(self, update: JobUpdate | RunnerfleetError, trace: TraceBuffer,
             streamer: TraceStreamer) -> bool:
        """Returns True when GitLab took the job's final state (or ended the job itself)."""
        if isinstance(update, RunnerfleetError):
            # gitlab-runner drops the job when the first update gets no answer; the journal
            # keeps it for the next start to report.
            log.error("Failed to tell GitLab that job %d is running: %s; dropping it",
                      self.job_id, update, extra=self._fields)
            return False
        if update.abort:
            log.warning("GitLab ended job %d before it started; dropping it", self.job_id,
                        extra=self._fields)
            return True
        self._durable()
        if update.cancel_requested:
            from runnerfleet.build.failure_reasons import map_failure_reason

            reason = map_failure_reason("job_canceled", _failure_reasons(self.payload))
            streamer.finish("failed", reason, None)
            result = streamer.final_result
            return result is not None and not result.gave_up

        job = RunningJob(job_id=self.job_id, runner=self.runner,
                         project_id=job_flags.project_id(self.payload),
                         url=job_flags.job_url(self.payload), stage=self._stage)
        self.s.slots.add_job(job)
        self.s.metrics.job_added(self.runner.short_token, self.runner.name, self.s.system_id)
        self.active.add(self)
        log.info("Added job to processing list", extra=self._fields)
        failure_reason: str | None = None
        try:
            streamer.start()
            build = self._new_build(trace, job)
            self._attach(build)
            state, failure_reason, exit_code = self._run_build(build, trace)
            log.info("Job %s", "succeeded" if state == "success" else f"{state}",
                     extra=fields(**self._fields["fields"], failure_reason=failure_reason or "",
                                  exit_code=exit_code or 0))
            streamer.finish(_final_state(state), failure_reason, exit_code)
            final = streamer.final_result
            self._accepted = final is not None and not final.gave_up
            return self._accepted
        finally:
            self.active.discard(self)
            self._settle()  # before the job leaves the list: its journal record is settled
            self.s.slots.remove_job(job)
            self.s.metrics.job_finished(self.runner.short_token, self.runner.name,
                                        self.s.system_id, _duration(job), failure_reason)
            log.info("Removed job from processing list", extra=self._fields)

    def _new_build(self, trace: TraceBuffer, job: RunningJob) -> BuildLike:
        factory = self._build_factory
        if factory is None:
            from runnerfleet.build import Build

            factory = Build
        return factory(
            self.payload, self.runner, trace,
            system_id=self.s.system_id,
            concurrent_id=job.concurrent_id,
            concurrent_project_id=job.concurrent_project_id,
            working_directory=self.s.working_directory,
            user=self.s.user or None,
        )

    def _run_build(self, build: BuildLike, trace: TraceBuffer) -> tuple[str, str | None, int | None]:
        try:
            result = build.run()
            return str(result.state), result.failure_reason, result.exit_code
        except Exception as error:  # a bug must fail the job visibly, not hang it in GitLab
            log.exception("The job pipeline failed unexpectedly", extra=self._fields)
            with contextlib.suppress(ValueError):
                trace.error(f"Job failed (system failure): {type(error).__name__}: {error}")
            return "failed", "runner_system_failure", None

    def _settle(self) -> None:
        """Forget the job if GitLab has its final state, else keep its log for the next start.

        Runs once (the first call wins)."""
        if self._settle_args is None:
            return
        journal, slot, record, trace = self._settle_args
        self._settle_args = None
        accepted = self._accepted
        if journal is None or slot is None or record is None:
            trace.close()
            return
        if accepted:
            journal.give_back(slot)
            trace.close()
            return
        kept = journal.directory / f"{self.job_id}.log"
        try:
            trace.finish()
            os.link(trace.path, kept)  # the buffer's file is removed on close; keep a name
            record.trace_path = str(kept)
            journal.save(record)  # a record of its own: the slot serves the next job
            journal.give_back(slot)
            log.warning("GitLab did not take the final state of job %d; it stays in the job "
                        "journal and is reported at the next start", self.job_id,
                        extra=self._fields)
        except OSError as error:
            # The slot keeps the record (its log is lost with the buffer): never reused.
            slot.close()
            log.error("Cannot keep the log of job %d in the journal: %s", self.job_id, error,
                      extra=self._fields)
        trace.close()


def _duration(job: RunningJob) -> float:
    return time.monotonic() - job.started
