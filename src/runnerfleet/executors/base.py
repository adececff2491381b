"""The executor contract: an Executor runs opaque stage scripts; a provider creates executors.

Shaped like gitlab-runner's `common/executor.go`: the pipeline (`runnerfleet.build`) decides which
stage runs when and generates its script; an executor only prepares a place to run scripts, runs
one script at a time with a timeout and a cancel signal, and cleans up. It never knows what a
stage means.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.errors import BuildError
from runnerfleet.job import JobPayload
from runnerfleet.trace import TraceBuffer


@dataclass(frozen=True)
class ExecutorFeatures:
    """What an executor supports (gitlab-runner's FeaturesInfo, the parts runnerfleet uses).

    `shared`: jobs share one builds dir (CI_SHARED_ENVIRONMENT) instead of a disposable
    environment (CI_DISPOSABLE_ENVIRONMENT); shared executors put the runner's short token and
    CI_CONCURRENT_PROJECT_ID into the project dir.
    """

    variables: bool = True
    shared: bool = False
    session: bool = False
    terminal: bool = False


@dataclass(frozen=True)
class BuildContext:
    """What an executor gets to prepare for one job (gitlab-runner's ExecutorPrepareOptions)."""

    runner: RunnerConfig
    trace: TraceBuffer
    job_id: int
    working_directory: Path
    user: str | None = None
    feature_flags: Mapping[str, bool] = field(default_factory=dict)
    # The job itself: executors that pick an image or a VM from it, name containers after the
    # concurrency slots or label them with the project need these (the scripts stay opaque).
    payload: JobPayload | None = None
    concurrent_id: int = 0
    concurrent_project_id: int = 0
    # The job's cancel signal and the seconds `prepare` may take (prepare_timeout or what is left
    # of the job timeout), so that long waits in `prepare` (a service health check) end early.
    cancel_event: threading.Event | None = None
    prepare_timeout: float | None = None

    @property
    def image(self) -> str:
        """The job's `image:` name as GitLab sent it ("" when the job has none)."""
        if self.payload is None or self.payload.image is None:
            return ""
        return self.payload.image.name


# What job scripts call on remote targets (helper image, SSH host, VM), like gitlab-runner's
# `gitlab-runner`/`gitlab-runner-helper` on their PATH.
REMOTE_RUNNER_COMMAND = "runnerfleet"


@dataclass(frozen=True)
class ExecutorEnvironment:
    """Where scripts run, as decided by `Executor.prepare` (paths in the executor's own context)."""

    shell: str
    builds_dir: str
    cache_dir: str
    shared: bool
    custom_build_dir_enabled: bool = False
    safe_directory_checkout: bool = False
    # The `runnerfleet` the cache/artifact stages call where scripts run; None = this process's
    # own executable (the runner's host). Remote executors name the one on their target's PATH.
    runner_command: str | None = None
    # Scripts run on this host, as the runner's own user, and `shell` is exactly that shell (no
    # fallback to another one). Then stages whose whole work is runner-side bookkeeping run
    # inside the runner process (same output, no interpreter started), and bash scripts need no
    # probe for bash-only options.
    in_process_stages: bool = False
    # prepare_script prints "Running on $(hostname) via <runner host>..." (gitlab-runner's
    # ShowHostname); None: when the scripts run elsewhere, i.e. the executor names a
    # `runner_command` on its target.
    show_hostname: bool | None = None

    @property
    def names_runner_host(self) -> bool:
        """Whether prepare_script names the runner's host ("... via <host>...")."""
        return self.runner_command is not None if self.show_hostname is None else self.show_hostname


@dataclass(frozen=True)
class StageResult:
    """The outcome of one stage script: its exit status, or the error that stopped it.

    `exit_code` is the process's exit status (None when it never ran or could not be reaped);
    `error` is set for every non-zero outcome: a script failure (`exit status 3`, carrying the
    exit code) or an executor problem (`failed to start process: ...`, a system failure).
    `timed_out`/`canceled` say why the executor killed the script, if it did.
    """

    exit_code: int | None = None
    error: BuildError | None = None
    timed_out: bool = False
    canceled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_code == 0


@runtime_checkable
class Executor(Protocol):
    """Runs a job's stage scripts in one prepared environment; one script at a time."""

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        """Set up where scripts run; raises BuildError (classified) or another error (retried)."""
        ...

    def run(
        self,
        stage_name: str,
        script: str,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> StageResult:
        """Run one opaque script, streaming its output into the job log.

        Stops (and kills everything the script started) when `timeout` seconds have passed or
        `cancel_event` is set. Never raises for script problems: they are in the result.
        """
        ...

    def finish(self, error: BuildError | None) -> None:
        """The job is over (its final error, if any); called before `cleanup`."""
        ...

    def cleanup(self) -> None:
        """Release whatever `prepare` created; always called once `prepare` was attempted."""
        ...


@runtime_checkable
class ExecutorProvider(Protocol):
    """Creates executors of one kind and manages their capacity (gitlab-runner's ExecutorProvider)."""

    name: str

    @property
    def shared(self) -> bool:
        """True when jobs share a builds dir (CI_SHARED_ENVIRONMENT), False for disposable ones."""
        ...

    def can_create(self) -> bool: ...

    def create(self) -> Executor: ...

    def acquire(self, runner: RunnerConfig) -> object | None:
        """Reserve capacity before asking GitLab for a job; raises when none is free."""
        ...

    def release(self, runner: RunnerConfig, data: object | None) -> None: ...

    def features(self) -> ExecutorFeatures: ...

    def default_shell(self) -> str: ...


class DefaultExecutorProvider:
    """gitlab-runner's DefaultExecutorProvider: no capacity to reserve, bash by default, and
    the `shared` feature as the executor kind has it (`SHARED_BUILDS`: jobs share one builds
    dir, CI_SHARED_ENVIRONMENT, as with shell and ssh; disposable environments otherwise).
    Subclasses set `name` and implement `create`."""

    SHARED_BUILDS = False

    @property
    def shared(self) -> bool:
        return self.SHARED_BUILDS

    def can_create(self) -> bool:
        return True

    def acquire(self, runner: RunnerConfig) -> object | None:
        return None

    def release(self, runner: RunnerConfig, data: object | None) -> None:
        pass

    def features(self) -> ExecutorFeatures:
        return ExecutorFeatures(variables=True, shared=self.SHARED_BUILDS, session=False,
                                terminal=False)

    def default_shell(self) -> str:
        return "bash"
