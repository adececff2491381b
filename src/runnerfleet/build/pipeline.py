"""Build: runs one job through gitlab-runner's stage sequence on an executor and writes its log.

Engine spec §5.2 (stages, attempts, error priority), §5.9 (after_script), §5.10 (timeouts,
cancel, abort, interrupt), §5.11 (final error and failure reason). The flow follows
gitlab-runner's `common/build.go` (Run → executeScript → executePrepareScripts /
executeUserScripts → pickPriorityError); scopes and deadlines are `RunContext`s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runnerfleet.build import stages
from runnerfleet.build.context import Done, RunContext
from runnerfleet.build.failure_reasons import map_failure_reason
from runnerfleet.build.featureflags import ResolvedFlags, resolve_feature_flags
from runnerfleet.build.layout import build_info, job_layout, masked_values
from runnerfleet.build.result import JobResult, JobState
from runnerfleet.build.settings import (
    AFTER_SCRIPT_TIMEOUT,
    BuildSettings,
    go_seconds_text,
    read_settings,
    stage_timeout,
)
from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import BuildContext, Executor, ExecutorEnvironment, ExecutorProvider
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.registry import get_provider
from runnerfleet.executors.signals import go_signal_name
from runnerfleet.job import JobPayload, JobPayloadError, JobVariables, Variable
from runnerfleet.shells import BuildInfo, ShellScriptError, generate, in_process_stage
from runnerfleet.trace import STDOUT, STREAM_WORK, TraceBuffer
from runnerfleet.trace.colors import RESET
from runnerfleet.version import COMPATIBLE_GITLAB_RUNNER_VERSION, VERSION

log = logging.getLogger(__name__)

BOLD_CYAN = "\x1b[36;1m"
DEFAULT_JOB_TIMEOUT = 7200
PREPARATION_RETRIES = 3
PREPARATION_RETRY_INTERVAL = 3.0
SHELL_PROFILE_HINT = "Check https://docs.gitlab.com/runner/shells/#shell-profile-loading for more information"
TIMEOUT_HINT = ("could not run to completion because the timeout was exceeded. For more control over job "
                "and script timeouts see: "
                "https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts")
NATIVE_STEPS_ERROR = ("native step execution (e.g. the `run:` keyword) on this executor requires the "
                      "FF_CONCRETE feature flag to be enabled")


def _canceled() -> BuildError:
    return BuildError("canceled", failure_reason=FailureReason.JOB_CANCELED)


def _system(message: str) -> BuildError:
    return BuildError(message, failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE)


def _context_error(done: Done) -> BuildError:
    # What Go's ctx.Err() says when a stage is not even started; later logic replaces it.
    return _system("context canceled" if done.canceled else "context deadline exceeded")


def _raw_masked_values(raw: Any) -> list[str]:
    """Masked values of a payload that failed validation, so not even they leak into the log."""
    values: list[str] = []
    variables = raw.get("variables") if isinstance(raw, dict) else None
    if isinstance(variables, list):
        for item in variables:
            if isinstance(item, dict) and item.get("masked") is True and isinstance(item.get("value"), str):
                values.append(item["value"])
    return values


def _raw_feature_list(raw: Any, key: str) -> list[str]:
    features = raw.get("features") if isinstance(raw, dict) else None
    values = features.get(key) if isinstance(features, dict) else None
    if isinstance(values, list):
        return [v for v in values if isinstance(v, str)]
    return []


def _raw_failure_reasons(raw: Any) -> list[str]:
    return _raw_feature_list(raw, "failure_reasons")


def _raw_token_prefixes(raw: Any) -> list[str]:
    return _raw_feature_list(raw, "token_mask_prefixes")


class Build:
    """One job from payload to final state. `run()` blocks; `cancel()`/`interrupt()` are thread-safe.

    `raw_payload` is the parsed `/jobs/request` body (validated here); `trace` receives the whole
    log (`finish()` is left to the caller); `working_directory` is `run -d` (shell executor builds
    and cache dirs default below it); `user` is `run --user`; `features` are feature-flag values
    the service sets for this runner (precedence: `[runners.feature_flags]` > `features` > job
    variables > defaults).

    Injection points: `provider` (else the one registered for `runner.executor`), `clock`
    (monotonic seconds for deadlines), `sleep` (stage-retry back-off and preparation-retry waits;
    by default they wait on the job's cancel signal), `preparation_retry_interval`.
    """

    def __init__(
        self,
        raw_payload: dict[str, Any],
        runner: RunnerConfig,
        trace: TraceBuffer,
        *,
        system_id: str,
        concurrent_id: int,
        concurrent_project_id: int,
        working_directory: Path,
        user: str | None = None,
        features: Mapping[str, bool] | None = None,
        provider: ExecutorProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        preparation_retry_interval: float = PREPARATION_RETRY_INTERVAL,
    ) -> None:
        self.raw_payload = raw_payload
        self.runner = runner
        self.trace = trace
        self.system_id = system_id
        self.concurrent_id = concurrent_id
        self.concurrent_project_id = concurrent_project_id
        self.working_directory = Path(working_directory)
        self.user = user or None
        self.features = dict(features or {})
        self._provider = provider
        self._clock = clock
        self._sleep = sleep
        self._preparation_retry_interval = preparation_retry_interval
        self._lock = threading.Lock()
        # Abort and interrupt cancel `_root`; a graceful cancel cancels `_graceful` (the whole job
        # until the user scripts start, then only the user scripts: gitlab-runner's SetCancelFunc).
        self._root = RunContext(clock)
        self._graceful = self._root
        self._started = False
        # Filled while running.
        self.payload: JobPayload | None = None
        self.flags: ResolvedFlags | None = None
        self.settings: BuildSettings | None = None
        self._executor: Executor | None = None
        self._env: ExecutorEnvironment | None = None
        self._info: BuildInfo | None = None
        self._masked: list[str] = []

    # -- control from other threads ---------------------------------------------------------------

    def cancel(self, graceful: bool) -> None:
        """GitLab asked to cancel: `graceful` for `canceling` (after_script still runs), else abort."""
        with self._lock:
            target = self._graceful if graceful else self._root
        target.cancel(_canceled())

    def interrupt(self, signal_name: str) -> None:
        """The runner is shutting down forcefully: stop everything, fail with `aborted: <signal>`."""
        error = BuildError(f"aborted: {go_signal_name(signal_name)}",
                           failure_reason=FailureReason.RUNNER_INTERRUPTED)
        self._root.cancel(error)

    # -- the job --------------------------------------------------------------------------------

    def run(self) -> JobResult:
        """Run the job to its end and write its whole log; job problems are in the result, not raised."""
        with self._lock:
            if self._started:
                raise RuntimeError("Build.run() may be called only once")
            self._started = True
        start = self._clock()
        supported_reasons: list[str] = []
        try:
            try:
                self.payload = JobPayload.from_json(self.raw_payload)
            except JobPayloadError as exc:
                supported_reasons = _raw_failure_reasons(self.raw_payload)
                self.trace.set_token_mask_prefixes(_raw_token_prefixes(self.raw_payload))
                self.trace.set_masked(_raw_masked_values(self.raw_payload))
                self._print_header()
                error: BuildError | None = _system(str(exc))
            else:
                supported_reasons = list(self.payload.features.failure_reasons)
                error = self._run_job(self.payload)
        except Exception as exc:  # a bug must fail the job, never the runner (gitlab-runner's recover)
            job_id = self.raw_payload.get("id") if isinstance(self.raw_payload, dict) else None
            log.exception("job %s: unexpected error", job_id)
            error = _system(f"panic: {exc}")
        return self._report(error, supported_reasons, self._clock() - start)

    def _run_job(self, payload: JobPayload) -> BuildError | None:
        # Masking first: no job byte may be written before the payload's secrets are known.
        self.trace.set_token_mask_prefixes(payload.features.token_mask_prefixes)
        self._masked = masked_values(payload.variables)
        self.trace.set_masked(self._masked)

        early = self._early_variables(payload)
        self.flags = resolve_feature_flags(self.runner.feature_flags, early, self.features)
        self.settings = read_settings(early, allow_git_fetch=payload.allow_git_fetch,
                                      git_depth=payload.git_info.depth,
                                      debug_trace_disabled=self.runner.debug_trace_disabled)
        timeout = payload.runner_info.timeout if payload.runner_info.timeout > 0 else DEFAULT_JOB_TIMEOUT
        # CI_JOB_TIMEOUT carries the effective timeout, as gitlab-runner's GetBuildTimeout.
        payload = replace(payload, runner_info=replace(payload.runner_info, timeout=timeout))
        self.payload = payload
        self._print_header()

        if payload.secrets:
            error = self._resolve_secrets()
            if error is not None:
                return error

        job = self._root.child(timeout=float(timeout))
        job_timeout_error = BuildError(f"execution took longer than {go_seconds_text(timeout)} seconds",
                                       failure_reason=FailureReason.JOB_EXECUTION_TIMEOUT)
        if self.settings.errors or self.flags.errors:
            self.trace.warning("\n".join([*self.settings.errors, *self.flags.errors]))

        prepare_timeout = self._stage_cap(self.runner.prepare_timeout, timeout)
        prepare_ctx = job.child(timeout=prepare_timeout, deadline_cause=BuildError(
            f"prepare timeout: exceeded timeout of {go_seconds_text(prepare_timeout)}",
            failure_reason=FailureReason.JOB_EXECUTION_TIMEOUT))

        error = self._prepare_executor(payload, prepare_ctx)
        if error is not None:
            done = prepare_ctx.err()
            if done is not None and done.deadline_exceeded and done.cause is not None:
                return done.cause
            return self._job_error(job, job_timeout_error) or error
        assert self._executor is not None
        try:
            error = self._execute_script(job, prepare_ctx, timeout)
            error = self._job_error(job, job_timeout_error) or error
        finally:
            self._executor.finish(error)
            self._executor.cleanup()
        return error

    def _job_error(self, job: RunContext, timeout_error: BuildError) -> BuildError | None:
        """The job-level outcome once the job scope ended (abort, interrupt, job timeout)."""
        done = job.err()
        if done is None:
            return None
        if done.canceled:
            return done.cause or _canceled()
        return timeout_error

    def _early_variables(self, payload: JobPayload) -> JobVariables:
        """Runner `environment` + job variables (expanded): enough to resolve flags and settings."""
        variables = JobVariables()
        for entry in self.runner.job_environment:
            key, sep, value = entry.partition("=")
            if sep and key:
                variables.append(Variable(key, value, public=True))
        variables.extend(payload.variables)
        return variables.expanded()

    @staticmethod
    def _stage_cap(configured: Any, job_timeout: int) -> float:
        """prepare_timeout/get_sources_timeout: the job timeout when unset, <= 0 or longer."""
        seconds = configured.seconds if configured is not None else 0.0
        return seconds if 0 < seconds <= job_timeout else float(job_timeout)

    # -- log lines --------------------------------------------------------------------------------

    def _print_header(self) -> None:
        compatible = f"gitlab-runner {COMPATIBLE_GITLAB_RUNNER_VERSION} compatible"
        self.trace.println(f"Running with runnerfleet {VERSION} ({compatible})")
        runner = self.runner
        if runner.short_token:
            self.trace.println(f"  on {runner.name} {runner.short_token}, system ID: {self.system_id}")
        if self.flags is not None and (differing := self.flags.differing()):
            self.trace.println("  feature flags: " + ", ".join(differing))

    def _section(self, name: str) -> _Section:
        enabled = self.payload is not None and self.payload.features.trace_sections
        return _Section(self.trace, name, enabled)

    def _describe(self, text: str) -> None:
        self.trace.println(f"{BOLD_CYAN}{text}{RESET}")

    def _report(self, error: BuildError | None, supported: list[str], duration: float) -> JobResult:
        if error is None:
            self.trace.notice("Job succeeded")
            return JobResult("success", None, None, duration)
        message = str(error)
        reason = error.failure_reason
        if reason == FailureReason.RUNNER_SYSTEM_FAILURE:
            self.trace.error(f"Job failed (system failure): {message}")
        else:
            self.trace.error(f"Job failed: {message}")
        state: JobState = "canceled" if reason == FailureReason.JOB_CANCELED else "failed"
        return JobResult(state, map_failure_reason(reason.value, supported), error.exit_code or None,
                         duration, message)

    # -- stages before the scripts ----------------------------------------------------------------

    def _resolve_secrets(self) -> BuildError | None:
        with self._section(stages.RESOLVE_SECRETS):
            return _system("resolving secrets: no secrets provider is available in runnerfleet")

    def _prepare_executor(self, payload: JobPayload, ctx: RunContext) -> BuildError | None:
        provider = self._provider or get_provider(self.runner.executor)
        if provider is None:
            return _system("executor not found")
        assert self.flags is not None and self.settings is not None
        with self._section(stages.PREPARE_EXECUTOR):
            self._describe(f'Preparing the "{self.runner.executor}" executor')
            error: BuildError | None = None
            for attempt in range(PREPARATION_RETRIES):
                executor = provider.create()
                try:
                    env = executor.prepare(BuildContext(
                        runner=self.runner, trace=self.trace, job_id=payload.id,
                        working_directory=self.working_directory, user=self.user,
                        feature_flags=self.flags.values, payload=payload,
                        concurrent_id=self.concurrent_id,
                        concurrent_project_id=self.concurrent_project_id,
                        # Long waits in prepare (services' health) end on cancel and job timeout.
                        cancel_event=ctx.event, prepare_timeout=ctx.remaining()))
                    layout = job_layout(payload, self.runner, env, self.settings,
                                        concurrent_id=self.concurrent_id,
                                        concurrent_project_id=self.concurrent_project_id,
                                        feature_flags=self.flags.values)
                except BuildError as exc:
                    executor.cleanup()
                    return exc
                except Exception as exc:
                    executor.cleanup()
                    done = ctx.err()
                    if done is not None:
                        return _context_error(done)
                    error = _system(str(exc) or type(exc).__name__)
                    self.trace.error(f"Preparation failed: {error}")
                    if attempt + 1 < PREPARATION_RETRIES:
                        self.trace.notice(
                            f"Will be retried in {go_seconds_text(self._preparation_retry_interval)} ...")
                        self._wait(ctx, self._preparation_retry_interval)
                        if (done := ctx.err()) is not None:
                            return _context_error(done)
                    continue
                self._executor, self._env = executor, env
                # Now every variable is known: mask what GitLab and the runner marked masked
                # (usually the same values: then the log's maskers need no rebuild).
                masked = layout.masked_values()
                if masked != self._masked:
                    self._masked = masked
                    self.trace.set_masked(masked)
                self._info = build_info(payload, self.runner, env, layout, self.flags.values)
                return None
            return error

    def _wait(self, ctx: RunContext, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
            return
        remaining = ctx.remaining()
        ctx.wait(seconds if remaining is None else min(seconds, remaining))

    # -- the stage sequence -----------------------------------------------------------------------

    def _execute_script(self, job: RunContext, prepare_ctx: RunContext, timeout: int) -> BuildError | None:
        assert self.payload is not None
        if self.payload.run:
            return BuildError(NATIVE_STEPS_ERROR, failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
        error, go_on = self._prepare_scripts(job, prepare_ctx, timeout)
        if not go_on:
            return error
        if error is None:
            error = self._user_scripts(job)
        archive_error = self._stage(job, stages.ARCHIVE_CACHE if error is None
                                    else stages.ARCHIVE_CACHE_ON_FAILURE)
        upload_error = self._stage(job, stages.UPLOAD_ARTIFACTS_ON_SUCCESS if error is None
                                   else stages.UPLOAD_ARTIFACTS_ON_FAILURE)
        cleaned, cleanup_error = self._run_stage(job, stages.CLEANUP_FILE_VARIABLES)
        if cleaned and cleanup_error is not None:
            log.warning("job %s: error while removing file based variables: %s",
                        self.payload.id, cleanup_error)
        # The job's own failure matters most, then the cache, then the artifacts.
        return error or archive_error or upload_error

    def _prepare_scripts(
        self, job: RunContext, prepare_ctx: RunContext, timeout: int
    ) -> tuple[BuildError | None, bool]:
        assert self.settings is not None
        error = self._stage(prepare_ctx, stages.PREPARE_SCRIPT)
        if error is not None:
            done = prepare_ctx.err()
            if done is not None and done.deadline_exceeded and done.cause is not None:
                return done.cause, False
            return error.wrap("prepare environment: ", f". {SHELL_PROFILE_HINT}"), False

        get_sources_timeout = self._stage_cap(self.runner.get_sources_timeout, timeout)
        sources_ctx = job.child(timeout=get_sources_timeout, deadline_cause=BuildError(
            f"get sources timeout: exceeded timeout of {go_seconds_text(get_sources_timeout)}",
            failure_reason=FailureReason.JOB_EXECUTION_TIMEOUT))

        def clear_before_second_attempt(attempt: int) -> BuildError | None:
            # A failed fetch can leave a broken worktree (submodules): start the retry from scratch.
            return self._stage(sources_ctx, stages.CLEAR_WORKTREE) if attempt == 1 else None

        error = self._attempts(sources_ctx, stages.GET_SOURCES, self.settings.get_sources_attempts,
                               clear_before_second_attempt)
        if error is not None:
            done = sources_ctx.err()
            if done is not None and done.deadline_exceeded and done.cause is not None:
                return done.cause, False
        if error is None:
            error = self._attempts(job, stages.RESTORE_CACHE, self.settings.restore_cache_attempts)
        if error is None:
            error = self._attempts(job, stages.DOWNLOAD_ARTIFACTS, self.settings.artifact_download_attempts)
        return error, True

    def _attempts(
        self,
        ctx: RunContext,
        stage: str,
        attempts: int,
        before: Callable[[int], BuildError | None] | None = None,
    ) -> BuildError | None:
        """Run a stage up to `attempts` times (already clamped), backing off between tries."""
        assert self.flags is not None
        if self.flags.on("FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY"):
            backoff_min, backoff_max = 5.0, 300.0
        else:
            backoff_min, backoff_max = 1.0, 5.0
        error: BuildError | None = None
        for attempt in range(attempts):
            error = before(attempt) if before is not None else None
            if error is None:
                error = self._stage(ctx, stage)
            if error is None or attempt + 1 >= attempts or ctx.err() is not None:
                return error
            self.trace.warning("Retrying...")
            self._wait(ctx, min(backoff_min * 2**attempt, backoff_max))
        return error

    def _user_scripts(self, job: RunContext) -> BuildError | None:
        assert self.payload is not None and self.settings is not None and self._info is not None
        variables = self._info.expanded()
        remaining = job.remaining()
        script_timeout, warning = stage_timeout(variables, "RUNNER_SCRIPT_TIMEOUT", 0.0, remaining)
        if warning:
            self.trace.warning(warning)
        after_timeout, warning = stage_timeout(variables, "RUNNER_AFTER_SCRIPT_TIMEOUT",
                                               AFTER_SCRIPT_TIMEOUT, remaining)
        if warning:
            self.trace.warning(warning)

        script_ctx = job.child(timeout=script_timeout or None)
        with self._lock:
            self._graceful = script_ctx
        error: BuildError | None = None
        for step in self.payload.steps:
            if step.name == "after_script":
                continue
            error = self._stage(script_ctx, stages.step_stage(step.name))
            if error is not None:
                break

        job_done, script_done = job.err(), script_ctx.err()
        if job_done is None and script_done is not None and script_done.canceled:
            error = _canceled()
            self.trace.warning("script canceled externally (UI, API)")
        elif (not (job_done is not None and job_done.deadline_exceeded)
              and script_done is not None and script_done.deadline_exceeded):
            error = BuildError("script timeout: context deadline exceeded",
                               failure_reason=FailureReason.JOB_EXECUTION_TIMEOUT)

        after_ctx = job.child(timeout=after_timeout or None)
        info = replace(self._info, job_status=_job_status(error))
        ran, after_error = self._run_stage(after_ctx, stages.AFTER_SCRIPT, info)
        # An after_script that never started because the whole job had ended is not its failure.
        if after_error is not None and ran and not _deadline(job.err()):
            if self.settings.after_script_ignore_errors:
                self.trace.warning(f"after_script failed, but job will continue unaffected: {after_error}")
            elif error is None:
                error = after_error
        return error

    def _stage(self, ctx: RunContext, stage: str, info: BuildInfo | None = None) -> BuildError | None:
        """Generate a stage's script and run it inside its section; None when it succeeded or was empty."""
        return self._run_stage(ctx, stage, info)[1]

    def _script(self, stage: str, info: BuildInfo) -> tuple[str | None, BuildError | None]:
        """(the stage's script, None) or (None, why it cannot be generated) or (None, None): no work."""
        assert self._env is not None
        try:
            return generate(stage, info, self._env.shell), None
        except ShellScriptError as exc:
            return None, _system(str(exc))

    def _run_stage(
        self, ctx: RunContext, stage: str, info: BuildInfo | None = None
    ) -> tuple[bool, BuildError | None]:
        """(whether a script ran, its error): gitlab-runner's executeStage."""
        assert self._executor is not None and self._env is not None
        done = ctx.err()
        if done is not None:
            return False, _context_error(done)
        info = info or self._info
        assert info is not None
        # The executor says whether runner-side bookkeeping may replace a stage's script here.
        local = in_process_stage(stage, info) if self._env.in_process_stages else None
        script: str | None = None
        if local is None:
            script, error = self._script(stage, info)
            if script is None:
                return False, error  # None: nothing to do, skipped silently like gitlab-runner
        with self._section(stage):
            self._describe(stages.description(stage))
            if local is not None:
                if local.run(self.trace.stream(STREAM_WORK, STDOUT)):
                    return True, None
                # Declined (a file in the way, ...): the script redoes the work and says what is wrong.
                script, error = self._script(stage, info)
                if script is None:
                    return True, error
            assert script is not None  # both paths above end with a script or return
            result = self._executor.run(stage, script, timeout=ctx.remaining(), cancel_event=ctx.event)
            if result.timed_out:
                ctx.expire()
        if _deadline(ctx.err()):
            self.trace.warning(f"{stage} {TIMEOUT_HINT}")
        if result.error is not None:
            return True, result.error
        if result.exit_code != 0:
            return True, _system(f"{stage}: the script ended without an exit status")
        return True, None


def _deadline(done: Done | None) -> bool:
    return done is not None and done.deadline_exceeded


def _job_status(error: BuildError | None) -> str:
    """CI_JOB_STATUS for after_script: success, failed, canceled or timedout."""
    if error is None:
        return "success"
    if error.failure_reason == FailureReason.JOB_CANCELED:
        return "canceled"
    if error.failure_reason == FailureReason.JOB_EXECUTION_TIMEOUT:
        return "timedout"
    return "failed"


class _Section:
    """`section_start`/`section_end` around a stage when GitLab announced `trace_sections`."""

    def __init__(self, trace: TraceBuffer, name: str, enabled: bool) -> None:
        self.trace, self.name, self.enabled = trace, name, enabled

    def __enter__(self) -> None:
        if self.enabled:
            self.trace.section_start(self.name)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.trace.section_end(self.name)
