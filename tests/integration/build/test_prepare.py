"""Executor preparation retries, prepare/get_sources timeouts, and jobs asking for secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.config import Duration
from runnerfleet.executors import BuildContext, Executor, ExecutorEnvironment
from runnerfleet.executors.shell import ShellExecutorProvider
from tests.integration.build.helpers import World, payload, run_job, runner_config

pytestmark = pytest.mark.integration

ERROR = "\x1b[31;1mERROR: "
RESET = "\x1b[0;m"


class FlakyProvider(ShellExecutorProvider):
    """A shell provider whose first `failures` executors cannot prepare (like a VM that did not boot)."""

    def __init__(self, world: World, failures: int) -> None:
        super().__init__(environ=world.env)
        self.failures = failures
        self.created = 0

    def create(self) -> Executor:
        executor = super().create()
        self.created += 1
        if self.created > self.failures:
            return executor
        provider = self

        class Broken:
            def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
                raise OSError(f"machine {provider.created} did not start")

            run = executor.run
            finish = executor.finish
            cleanup = executor.cleanup

        return Broken()  # type: ignore[return-value]


def test_a_failed_preparation_is_retried_three_times(world: World) -> None:
    provider = FlakyProvider(world, failures=2)
    waits: list[float] = []
    body = payload(world, ["echo ran"], variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body, provider=provider, sleep=waits.append)
    assert result.state == "success" and "ran\n" in log
    assert f"{ERROR}Preparation failed: machine 1 did not start{RESET}\n" in log
    assert "\x1b[32;1mWill be retried in 3s ...\x1b[0;m\n" in log
    assert waits == [3.0, 3.0] and provider.created == 3


def test_preparation_that_never_works_is_a_system_failure(world: World) -> None:
    body = payload(world, ["echo ran"], variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body, provider=FlakyProvider(world, failures=5), sleep=lambda _: None)
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert log.count("Preparation failed") == 3
    assert log.endswith(f"{ERROR}Job failed (system failure): machine 3 did not start{RESET}\n")


def test_get_sources_timeout_fails_the_job_without_later_stages(world: World) -> None:
    runner = runner_config(get_sources_timeout=Duration.parse("1s"), pre_get_sources_script="sleep 30")
    body = payload(world, ["echo never"], after_script=["echo never-after"])
    result, log = run_job(world, body, runner=runner)
    assert (result.state, result.failure_reason) == ("failed", "job_execution_timeout")
    assert result.message == "get sources timeout: exceeded timeout of 1s"
    assert "never" not in log and "Cleaning up project directory" not in log


def test_prepare_timeout_fails_a_job_whose_shell_profile_hangs(world: World) -> None:
    Path(world.env["HOME"], ".bash_profile").write_text("sleep 30\n")
    runner = runner_config(prepare_timeout=Duration.parse("1s"))
    body = payload(world, ["echo never"], after_script=["echo never-after"])
    result, log = run_job(world, body, runner=runner)
    assert (result.state, result.failure_reason) == ("failed", "job_execution_timeout")
    assert result.message == "prepare timeout: exceeded timeout of 1s"
    assert "Getting source from Git repository" not in log and "never" not in log


def test_a_broken_shell_profile_points_at_the_profile_docs(world: World) -> None:
    Path(world.env["HOME"], ".bash_profile").write_text("echo broken profile; exit 1\n")
    result, log = run_job(world, payload(world, ["echo never"]))
    assert (result.state, result.failure_reason, result.exit_code) == ("failed", "script_failure", 1)
    assert result.message == (
        "prepare environment: exit status 1. Check "
        "https://docs.gitlab.com/runner/shells/#shell-profile-loading for more information")
    assert "broken profile\n" in log and "Getting source from Git repository" not in log


def test_jobs_with_secrets_fail_clearly_until_a_provider_exists(world: World) -> None:
    body = payload(world, ["echo never"], secrets={"DB": {"vault": {"path": "db", "field": "pw"}}})
    result, log = run_job(world, body)
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert "resolving secrets:" in log and "never" not in log


class ExplodingProvider(ShellExecutorProvider):
    """A shell provider whose executors crash while running a stage (a bug, not a job problem)."""

    def __init__(self, world: World) -> None:
        super().__init__(environ=world.env)
        self.cleaned_up = False

    def create(self) -> Executor:
        executor = super().create()
        provider = self

        class Exploding:
            prepare = executor.prepare
            finish = executor.finish

            def run(self, *args: object, **kwargs: object) -> object:
                raise RuntimeError("executor bug")

            def cleanup(self) -> None:
                provider.cleaned_up = True

        return Exploding()  # type: ignore[return-value]


def test_an_executor_bug_fails_the_job_instead_of_raising(world: World) -> None:
    provider = ExplodingProvider(world)
    result, log = run_job(world, payload(world, ["echo hi"]), provider=provider)
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert log.endswith(f"{ERROR}Job failed (system failure): panic: executor bug{RESET}\n")
    assert provider.cleaned_up
