"""The job log a simple job produces, byte for byte (timestamps off, section times fixed)."""

from __future__ import annotations

import socket

import pytest

from runnerfleet.version import COMPATIBLE_GITLAB_RUNNER_VERSION, VERSION
from tests.integration.build.helpers import World, payload, run_job, runner_config

pytestmark = pytest.mark.integration

CLEAR, CYAN, GREEN, RESET = "\x1b[0K", "\x1b[36;1m", "\x1b[32;1m", "\x1b[0;m"


def _start(name: str) -> str:
    return f"section_start:1700000000:{name}\r{CLEAR}"


def _end(name: str) -> str:
    return f"section_end:1700000000:{name}\r{CLEAR}"


def _describe(text: str) -> str:
    return f"{CLEAR}{CYAN}{text}{RESET}{RESET}\n"


def test_a_simple_job_writes_gitlab_runners_log_with_sections(world: World) -> None:
    body = payload(world, ["echo hello"], after_script=["echo bye"],
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body)

    assert result.state == "success"
    assert log == (
        f"{CLEAR}Running with runnerfleet {VERSION} (gitlab-runner {COMPATIBLE_GITLAB_RUNNER_VERSION} "
        f"compatible){RESET}\n"
        f"{CLEAR}  on test-runner abcdefghi, system ID: s_0123456789ab{RESET}\n"
        + _start("prepare_executor") + _describe('Preparing the "shell" executor')
        + f"{CLEAR}Using Shell (bash) executor...{RESET}\n"
        + _end("prepare_executor")
        + _start("prepare_script") + _describe("Preparing environment")
        + f"Running on {socket.gethostname()}...\n"
        + _end("prepare_script")
        + _start("get_sources") + _describe("Getting source from Git repository")
        + f"{GREEN}Skipping Git repository setup{RESET}\n"
        + _end("get_sources")
        + _start("step_script") + _describe('Executing "step_script" stage of the job script')
        + f"{GREEN}$ echo hello{RESET}\nhello\n"
        + _end("step_script")
        + _start("after_script") + _describe("Running after_script")
        + f"{GREEN}$ echo bye{RESET}\nbye\n"
        + _end("after_script")
        + _start("cleanup_file_variables")
        + _describe("Cleaning up project directory and file based variables")
        + _end("cleanup_file_variables")
        + f"{GREEN}Job succeeded{RESET}\n"
    )


def test_without_trace_sections_the_log_has_descriptions_but_no_markers(world: World) -> None:
    body = payload(world, ["echo hello"], trace_sections=False,
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body)
    assert result.state == "success"
    assert "section_" not in log
    assert _describe('Executing "step_script" stage of the job script') + f"{GREEN}$ echo hello" in log


def test_the_header_lists_feature_flags_that_differ_from_their_defaults(world: World) -> None:
    body = payload(world, ["true"], variables=[{"key": "GIT_STRATEGY", "value": "none"},
                                               {"key": "FF_SCRIPT_SECTIONS", "value": "true"}])
    runner = runner_config(feature_flags={"FF_TIMESTAMPS": False})
    _, log = run_job(world, body, runner=runner)
    assert f"{CLEAR}  feature flags: FF_SCRIPT_SECTIONS:true, FF_TIMESTAMPS:false{RESET}\n" in log


def test_setting_errors_are_printed_once_before_the_executor_is_prepared(world: World) -> None:
    body = payload(world, ["true"], variables=[{"key": "GIT_STRATEGY", "value": "none"},
                                               {"key": "GET_SOURCES_ATTEMPTS", "value": "0"},
                                               {"key": "FF_TIMESTAMPS", "value": "maybe"}])
    result, log = run_job(world, body)
    assert result.state == "success"
    warning = ("\x1b[0;33mWARNING: GET_SOURCES_ATTEMPTS: number of attempts out of the range [1, 10], "
               "clamping to: 1\nFF_TIMESTAMPS: could not parse feature flag, expected bool, got maybe"
               f"{RESET}\n")
    assert log.count(warning) == 1
    assert log.index(warning) < log.index("Preparing the")
