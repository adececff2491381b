"""Job outcomes GitLab sees: success, script failures, after_script errors, bad payloads, prepare errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.build.helpers import (
    JOB_TOKEN,
    World,
    payload,
    project_dir,
    run_job,
    runner_config,
)

pytestmark = pytest.mark.integration

ERROR = "\x1b[31;1mERROR: "
WARNING = "\x1b[0;33mWARNING: "
RESET = "\x1b[0;m"


def test_a_cloned_job_succeeds_in_its_project_dir(world: World) -> None:
    body = payload(world, ["cat README", 'echo "dir=$CI_PROJECT_DIR"', "git rev-parse HEAD"])
    result, log = run_job(world, body)
    assert (result.state, result.failure_reason, result.exit_code) == ("success", None, None)
    assert result.api_state == "success"
    assert "hello from the repo\n" in log
    assert f"dir={project_dir(world)}\n" in log
    assert f"{world.sha}\n" in log
    assert log.endswith(f"\x1b[32;1mJob succeeded{RESET}\n")
    assert JOB_TOKEN not in log


def test_a_failing_script_fails_with_its_exit_code_and_after_script_sees_failed(world: World) -> None:
    body = payload(world, ["echo before", "exit 3", "echo never"],
                   after_script=['echo "after: $CI_JOB_STATUS"'])
    result, log = run_job(world, body)
    assert (result.state, result.failure_reason, result.exit_code) == ("failed", "script_failure", 3)
    assert result.api_state == "failed"
    assert "before\n" in log and "never\n" not in log
    assert "after: failed\n" in log
    assert log.endswith(f"{ERROR}Job failed: exit status 3{RESET}\n")


def test_after_script_failure_is_ignored_by_default(world: World) -> None:
    body = payload(world, ["echo ok"], after_script=["exit 4"])
    result, log = run_job(world, body)
    assert result.state == "success"
    assert f"{WARNING}after_script failed, but job will continue unaffected: exit status 4{RESET}\n" in log


def test_after_script_failure_fails_the_job_when_errors_are_not_ignored(world: World) -> None:
    body = payload(world, ["echo ok"], after_script=["exit 4"],
                   variables=[{"key": "AFTER_SCRIPT_IGNORE_ERRORS", "value": "false"}])
    result, log = run_job(world, body)
    assert (result.state, result.failure_reason, result.exit_code) == ("failed", "script_failure", 4)
    assert "after_script failed, but job will continue" not in log
    assert log.endswith(f"{ERROR}Job failed: exit status 4{RESET}\n")


def test_after_script_failure_never_replaces_the_scripts_own_failure(world: World) -> None:
    body = payload(world, ["exit 2"], after_script=["exit 4"],
                   variables=[{"key": "AFTER_SCRIPT_IGNORE_ERRORS", "value": "false"}])
    result, _ = run_job(world, body)
    assert result.exit_code == 2


def test_a_malformed_payload_fails_as_a_system_failure_with_one_line(world: World) -> None:
    body = payload(world, ["echo hi"],
                   variables=[{"key": "DEPLOY_KEY", "value": "hunter2-very-secret", "masked": True}])
    body["steps"][0]["script"] = 3
    result, log = run_job(world, body)
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert result.exit_code is None
    assert result.message == "job payload: steps[0].script: expected a list of strings, got 3"
    assert log.startswith("\x1b[0KRunning with runnerfleet")
    assert log.endswith(f"{ERROR}Job failed (system failure): job payload: steps[0].script: "
                        f"expected a list of strings, got 3{RESET}\n")
    assert "hunter2-very-secret" not in log
    assert "Preparing the" not in log


def test_a_payload_that_is_not_an_object_fails_the_same_way(world: World) -> None:
    result, log = run_job(world, ["not", "a", "job"])  # type: ignore[arg-type]
    assert result.failure_reason == "runner_system_failure"
    assert "Job failed (system failure): job payload: expected an object, got a list" in log


def test_an_unsupported_shell_is_a_configuration_error(world: World) -> None:
    result, log = run_job(world, payload(world, ["echo hi"]), runner=runner_config(shell="pwsh"))
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error")
    assert 'shell pwsh not found: runners.shell "pwsh" is not supported by the shell executor' in log
    assert "Preparation failed" not in log  # classified errors are not retried


def test_configuration_errors_map_to_script_failure_for_an_old_gitlab(world: World) -> None:
    body = payload(world, ["echo hi"], failure_reasons=["script_failure"])
    result, _ = run_job(world, body, runner=runner_config(shell="pwsh"))
    assert result.failure_reason == "script_failure"


def test_jobs_run_with_sh_when_the_runner_says_so(world: World) -> None:
    body = payload(world, ['echo "shell=$0"'], variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body, runner=runner_config(shell="sh"))
    assert result.state == "success"
    assert "Using Shell (sh) executor..." in log


def test_get_sources_attempts_retry_with_backoff_and_clear_the_worktree(world: World, tmp_path: Path) -> None:
    body = payload(world, ["echo never"], variables=[{"key": "GET_SOURCES_ATTEMPTS", "value": "3"}])
    body["git_info"]["repo_url"] = f"file://{tmp_path}/missing/repo.git"
    waits: list[float] = []
    result, log = run_job(world, body, sleep=waits.append)
    assert (result.state, result.failure_reason, result.exit_code) == ("failed", "script_failure", 128)
    assert log.count("Getting source from Git repository") == 3
    assert log.count("Deleting all tracked and untracked files due to source fetch failure") == 1
    assert log.count(f"{WARNING}Retrying...{RESET}\n") == 2
    assert waits == [5.0, 10.0]  # FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY: 5 s doubling
    assert "never" not in log and "Running after_script" not in log
    assert "Cleaning up project directory and file based variables" in log


def test_without_exponential_backoff_retries_wait_one_second_doubling(world: World, tmp_path: Path) -> None:
    body = payload(world, ["echo never"],
                   variables=[{"key": "GET_SOURCES_ATTEMPTS", "value": "4"},
                              {"key": "FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY", "value": "false"}])
    body["git_info"]["repo_url"] = f"file://{tmp_path}/missing/repo.git"
    waits: list[float] = []
    run_job(world, body, sleep=waits.append)
    assert waits == [1.0, 2.0, 4.0]


def test_native_steps_are_refused_on_the_shell_executor(world: World) -> None:
    body = payload(world, ["echo hi"], run="[{\"name\": \"x\"}]")
    result, log = run_job(world, body)
    assert result.failure_reason == "runner_configuration_error"
    assert "requires the FF_CONCRETE feature flag to be enabled" in log
