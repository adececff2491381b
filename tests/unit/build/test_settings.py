"""Job settings read from variables: attempts clamping, parse fallbacks and their warning lines."""

from __future__ import annotations

import pytest

from runnerfleet.build.settings import BuildSettings, read_settings, stage_timeout
from runnerfleet.job import JobVariables, Variable


def _vars(**values: str) -> JobVariables:
    return JobVariables(Variable(k, v) for k, v in values.items())


def _settings(
    debug_trace_disabled: bool = False, allow_git_fetch: bool = False, **values: str
) -> BuildSettings:
    return read_settings(_vars(**values), allow_git_fetch=allow_git_fetch, git_depth=20,
                         debug_trace_disabled=debug_trace_disabled)


def test_defaults_without_variables() -> None:
    s = _settings()
    assert (s.get_sources_attempts, s.restore_cache_attempts, s.artifact_download_attempts) == (1, 1, 1)
    assert s.after_script_ignore_errors is True
    assert s.git_strategy == "clone"
    assert s.git_submodule_depth == 20
    assert s.errors == []


@pytest.mark.parametrize(("value", "expected"), [("0", 1), ("-4", 1), ("11", 10), ("100", 10)])
def test_attempts_outside_1_to_10_are_clamped_with_a_warning(value: str, expected: int) -> None:
    s = _settings(GET_SOURCES_ATTEMPTS=value)
    assert s.get_sources_attempts == expected
    assert s.errors == [f"GET_SOURCES_ATTEMPTS: number of attempts out of the range [1, 10], "
                        f"clamping to: {expected}"]


@pytest.mark.parametrize("value", ["1", "5", "10", "+3"])
def test_attempts_inside_the_range_are_kept_silently(value: str) -> None:
    s = _settings(RESTORE_CACHE_ATTEMPTS=value, ARTIFACT_DOWNLOAD_ATTEMPTS=value)
    assert s.restore_cache_attempts == s.artifact_download_attempts == int(value)
    assert s.errors == []


def test_a_non_number_keeps_the_default_with_gitlab_runners_wording() -> None:
    s = _settings(GET_SOURCES_ATTEMPTS="three", ARTIFACT_DOWNLOAD_ATTEMPTS=" 2")
    assert s.get_sources_attempts == 1 and s.artifact_download_attempts == 1
    assert s.errors == [
        'GET_SOURCES_ATTEMPTS: expected int got "three", using default value: 1',
        'ARTIFACT_DOWNLOAD_ATTEMPTS: expected int got " 2", using default value: 1',
    ]


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("F", False),
                                                  ("TRUE", True), ("t", True)])
def test_after_script_ignore_errors_accepts_gos_bool_spellings(value: str, expected: bool) -> None:
    assert _settings(AFTER_SCRIPT_IGNORE_ERRORS=value).after_script_ignore_errors is expected


def test_an_unparseable_bool_keeps_the_default_and_says_so() -> None:
    s = _settings(AFTER_SCRIPT_IGNORE_ERRORS="no")
    assert s.after_script_ignore_errors is True
    assert s.errors == ['AFTER_SCRIPT_IGNORE_ERRORS: expected bool got "no", using default value: true']


def test_git_strategy_default_follows_allow_git_fetch_and_invalid_values_warn() -> None:
    assert _settings(allow_git_fetch=True).git_strategy == "fetch"
    s = _settings(allow_git_fetch=True, GIT_STRATEGY="rsync")
    assert s.git_strategy == "fetch"
    assert s.errors == ["GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' got \"rsync\", "
                        "using default value 'fetch'"]


def test_an_unknown_submodule_strategy_is_reported() -> None:
    s = _settings(GIT_SUBMODULE_STRATEGY="deep")
    assert s.git_submodule_strategy == "invalid"
    assert s.errors == ["GIT_SUBMODULE_STRATEGY: expected either 'normal', 'recursive' or 'none' "
                        "got \"deep\""]


def test_debug_trace_is_refused_when_the_runner_disables_it() -> None:
    s = _settings(debug_trace_disabled=True, CI_DEBUG_TRACE="true")
    assert s.ci_debug_trace is False
    assert s.errors == ["CI_DEBUG_TRACE: usage is disabled on this Runner"]


@pytest.mark.parametrize(("raw", "seconds", "warning"), [
    ("", 300.0, None),
    ("90s", 90.0, None),
    ("1h30m", 5400.0, None),
    ("0", 300.0, None),
    ("ten minutes", 300.0, "Ignoring malformed RUNNER_AFTER_SCRIPT_TIMEOUT timeout: ten minutes"),
    ("15", 300.0, "Ignoring malformed RUNNER_AFTER_SCRIPT_TIMEOUT timeout: 15"),
    ("-5m", 300.0, "Ignoring relative RUNNER_AFTER_SCRIPT_TIMEOUT timeout: -5m"),
    ("3h", 300.0,
     "RUNNER_AFTER_SCRIPT_TIMEOUT timeout: 3h is longer than job timeout. Setting to job timeout"),
])
def test_stage_timeouts_parse_go_durations(raw: str, seconds: float, warning: str | None) -> None:
    variables = _vars(RUNNER_AFTER_SCRIPT_TIMEOUT=raw) if raw else _vars()
    assert stage_timeout(variables, "RUNNER_AFTER_SCRIPT_TIMEOUT", 300.0, 7200.0) == (seconds, warning)


def test_script_timeout_defaults_to_none() -> None:
    assert stage_timeout(_vars(), "RUNNER_SCRIPT_TIMEOUT", 0.0, 60.0) == (0.0, None)
    assert stage_timeout(_vars(RUNNER_SCRIPT_TIMEOUT="2s"), "RUNNER_SCRIPT_TIMEOUT", 0.0, 60.0) == (2.0, None)
