"""Job timeout, script timeout, graceful cancel, abort and interrupt: outcome, log, no processes left.

Each job writes its shell's PID (the process group id, since every stage starts a new session) to
a marker file, then starts background and subshell sleepers that hold the job's output open.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.build.helpers import World, live_group_members, payload, start_job, wait_for_file

pytestmark = pytest.mark.integration

WARNING = "\x1b[0;33mWARNING: "
ERROR = "\x1b[31;1mERROR: "
RESET = "\x1b[0;m"
TIMEOUT_HINT = ("could not run to completion because the timeout was exceeded. For more control over job "
                "and script timeouts see: "
                "https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts")


def _sleeper(marker: Path) -> list[str]:
    return [
        f'echo "$$" > {marker}',
        "sleep 1000 &",
        "(sleep 1000; echo never) &",
        "sleep 1000",
    ]


def _after(marker: Path) -> list[str]:
    return [f'echo "status=$CI_JOB_STATUS" > {marker}.after', 'echo "after: $CI_JOB_STATUS"']


def _pgid(marker: Path) -> int:
    return int(wait_for_file(marker).strip())


def test_job_timeout_kills_the_script_and_skips_after_script(world: World, tmp_path: Path) -> None:
    marker = tmp_path / "pgid"
    body = payload(world, _sleeper(marker), after_script=_after(marker), timeout=2,
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body)
    pgid = _pgid(marker)
    result = run.wait()
    log = run.log
    assert (result.state, result.failure_reason) == ("failed", "job_execution_timeout")
    assert result.exit_code is None
    assert result.message == "execution took longer than 2s seconds"
    assert f"{WARNING}step_script {TIMEOUT_HINT}{RESET}\n" in log
    assert log.endswith(f"{ERROR}Job failed: execution took longer than 2s seconds{RESET}\n")
    assert "Running after_script" not in log and not Path(f"{marker}.after").exists()
    assert "Cleaning up project directory" not in log
    assert live_group_members(pgid) == []


def test_script_timeout_stops_the_scripts_but_after_script_runs_as_timedout(
    world: World, tmp_path: Path
) -> None:
    marker = tmp_path / "pgid"
    body = payload(world, _sleeper(marker), after_script=_after(marker),
                   variables=[{"key": "GIT_STRATEGY", "value": "none"},
                              {"key": "RUNNER_SCRIPT_TIMEOUT", "value": "1s"}])
    run = start_job(world, body)
    pgid = _pgid(marker)
    result = run.wait()
    log = run.log
    assert (result.state, result.failure_reason) == ("failed", "job_execution_timeout")
    assert result.message == "script timeout: context deadline exceeded"
    assert f"{WARNING}step_script {TIMEOUT_HINT}{RESET}\n" in log
    assert "after: timedout\n" in log
    assert "Cleaning up project directory and file based variables" in log
    assert log.endswith(f"{ERROR}Job failed: script timeout: context deadline exceeded{RESET}\n")
    assert live_group_members(pgid) == []


def test_graceful_cancel_stops_the_script_and_runs_after_script_as_canceled(
    world: World, tmp_path: Path
) -> None:
    marker = tmp_path / "pgid"
    body = payload(world, _sleeper(marker), after_script=_after(marker),
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body)
    pgid = _pgid(marker)
    run.build.cancel(graceful=True)
    result = run.wait()
    log = run.log
    assert (result.state, result.failure_reason, result.exit_code) == ("canceled", "unknown_failure", None)
    assert result.api_state == "failed"
    assert f"{WARNING}script canceled externally (UI, API){RESET}\n" in log
    assert "after: canceled\n" in log
    assert "never\n" not in log
    assert log.endswith(f"{ERROR}Job failed: canceled{RESET}\n")
    assert live_group_members(pgid) == []


def test_abort_stops_everything_at_once(world: World, tmp_path: Path) -> None:
    marker = tmp_path / "pgid"
    body = payload(world, _sleeper(marker), after_script=_after(marker),
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body)
    pgid = _pgid(marker)
    run.build.cancel(graceful=False)
    result = run.wait()
    log = run.log
    assert (result.state, result.failure_reason) == ("canceled", "unknown_failure")
    assert "Running after_script" not in log and "Cleaning up project directory" not in log
    assert "script canceled externally" not in log
    assert log.endswith(f"{ERROR}Job failed: canceled{RESET}\n")
    assert live_group_members(pgid) == []


def test_interrupt_fails_the_job_as_runner_interrupted(world: World, tmp_path: Path) -> None:
    marker = tmp_path / "pgid"
    body = payload(world, _sleeper(marker), after_script=_after(marker),
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body)
    pgid = _pgid(marker)
    run.build.interrupt("SIGTERM")
    result = run.wait()
    log = run.log
    assert (result.state, result.failure_reason) == ("failed", "runner_interrupted")
    assert result.message == "aborted: terminated"
    assert "Running after_script" not in log
    assert log.endswith(f"{ERROR}Job failed: aborted: terminated{RESET}\n")
    assert live_group_members(pgid) == []


def test_interrupt_maps_to_unknown_failure_for_a_gitlab_without_runner_interrupted(
    world: World, tmp_path: Path
) -> None:
    marker = tmp_path / "pgid"
    body = payload(world, _sleeper(marker), failure_reasons=["script_failure", "runner_system_failure"],
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body)
    _pgid(marker)
    run.build.interrupt("SIGINT")
    result = run.wait()
    assert (result.failure_reason, result.message) == ("unknown_failure", "aborted: interrupt")


def test_graceful_cancel_before_the_scripts_stops_the_whole_job(world: World) -> None:
    body = payload(world, ["echo never"], after_script=["echo never-after"],
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body, sleep=lambda _: None)
    run.build.cancel(graceful=True)  # may land before or during the first stages: all stop
    result = run.wait()
    log = run.log
    assert result.state == "canceled"
    assert "never" not in log
    assert log.endswith(f"{ERROR}Job failed: canceled{RESET}\n")


def test_a_script_that_ignores_sigterm_is_killed_after_the_graceful_timeout(
    world: World, tmp_path: Path
) -> None:
    marker = tmp_path / "pgid"
    script = [f'echo "$$" > {marker}', "trap '' TERM", "(trap '' TERM; sleep 1000) &", "sleep 1000"]
    body = payload(world, script, variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    run = start_job(world, body, provider=world.provider(graceful_kill_timeout=1.0))
    pgid = _pgid(marker)
    run.build.cancel(graceful=False)
    result = run.wait()
    assert result.state == "canceled"
    assert live_group_members(pgid) == []
