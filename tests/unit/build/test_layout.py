"""Project dir and variable precedence of a job once the executor chose its dirs (§5.4, §5.6)."""

from __future__ import annotations

from typing import Any

import pytest

from runnerfleet.build import BuildError, FailureReason, resolve_feature_flags
from runnerfleet.build.layout import JobLayout, job_layout
from runnerfleet.build.settings import read_settings
from runnerfleet.config import CustomBuildDirConfig, RunnerConfig
from runnerfleet.executors import ExecutorEnvironment
from runnerfleet.job import JobPayload

ENV = ExecutorEnvironment(shell="bash", builds_dir="/srv/builds", cache_dir="/srv/cache", shared=True)


def _layout(variables: list[dict[str, Any]] | None = None, *, env: ExecutorEnvironment = ENV,
            runner: RunnerConfig | None = None, concurrent_project_id: int = 3) -> JobLayout:
    payload = JobPayload.from_json({
        "id": 1, "token": "glcbt-jobtoken",
        "job_info": {"project_id": 9},
        "git_info": {"repo_url": "https://gitlab-ci-token:glcbt-jobtoken@gitlab.example.com/acme/web/app.git"},
        "variables": variables or [],
    })
    runner = runner or RunnerConfig(token="glrt-t1_abcdefghijklmn", executor="shell")
    settings = read_settings(payload.variables, allow_git_fetch=False, git_depth=0,
                             debug_trace_disabled=False)
    flags = resolve_feature_flags(runner.feature_flags, payload.variables)
    return job_layout(payload, runner, env, settings, concurrent_id=2,
                      concurrent_project_id=concurrent_project_id, feature_flags=flags.values)


def _value(layout: JobLayout, key: str) -> str:
    return layout.variables.expanded().get(key)


def test_shared_builds_dir_gets_short_token_and_concurrent_project_id() -> None:
    layout = _layout()
    assert layout.project_dir == "/srv/builds/abcdefghi/3/acme/web/app"
    assert layout.tmp_dir == "/srv/builds/abcdefghi/3/acme/web/app.tmp"
    assert layout.cache_dir == "/srv/cache/acme/web/app"
    assert _value(layout, "CI_PROJECT_DIR") == layout.project_dir
    assert _value(layout, "CI_BUILDS_DIR") == "/srv/builds"
    assert (_value(layout, "CI_CONCURRENT_ID"), _value(layout, "CI_CONCURRENT_PROJECT_ID")) == ("2", "3")
    assert _value(layout, "CI_SHARED_ENVIRONMENT") == "true"


def test_concurrent_jobs_of_one_project_get_different_dirs() -> None:
    assert _layout(concurrent_project_id=0).project_dir != _layout(concurrent_project_id=1).project_dir


def test_empty_strategy_gets_its_own_dir() -> None:
    assert _layout([{"key": "GIT_STRATEGY", "value": "empty"}]).project_dir.endswith("/acme/web/app-empty")


def test_a_job_variable_beats_the_runner_environment_which_the_predefined_dirs_beat() -> None:
    runner = RunnerConfig(token="glrt-t1_abcdefghijklmn", executor="shell",
                          environment=["GREETING=from-runner", "CI_PROJECT_DIR=/nope", "ONLY_RUNNER=1",
                                       "BROKEN"])
    layout = _layout([{"key": "GREETING", "value": "from-job"}], runner=runner)
    assert _value(layout, "GREETING") == "from-job"
    assert _value(layout, "ONLY_RUNNER") == "1"
    assert _value(layout, "CI_PROJECT_DIR") == layout.project_dir
    assert "BROKEN" not in layout.variables


def test_job_variables_come_after_the_predefined_dirs_as_in_gitlab_runner() -> None:
    # §5.6 order: dirs (3) before job variables (4), and the last definition wins.
    layout = _layout([{"key": "CI_PROJECT_DIR", "value": "/job"}])
    assert _value(layout, "CI_PROJECT_DIR") == "/job"


def test_feature_flags_are_exported_with_their_resolved_values() -> None:
    runner = RunnerConfig(token="glrt-t1_abcdefghijklmn", executor="shell",
                          feature_flags={"FF_TIMESTAMPS": False})
    layout = _layout([{"key": "FF_TIMESTAMPS", "value": "true"},
                      {"key": "FF_SCRIPT_SECTIONS", "value": "true"}], runner=runner)
    assert _value(layout, "FF_TIMESTAMPS") == "false"
    assert _value(layout, "FF_SCRIPT_SECTIONS") == "true"
    assert _value(layout, "FF_USE_FASTZIP") == "true"


def test_masked_values_are_taken_after_expansion() -> None:
    layout = _layout([{"key": "PART", "value": "abc"},
                      {"key": "SECRET", "value": "${PART}-xyz", "masked": True}])
    assert layout.masked_values() == ["abc-xyz"]


def test_git_clone_path_needs_custom_build_dir() -> None:
    with pytest.raises(BuildError) as caught:
        _layout([{"key": "GIT_CLONE_PATH", "value": "$CI_BUILDS_DIR/mine"}])
    assert str(caught.value) == "setting GIT_CLONE_PATH is not allowed, enable `custom_build_dir` feature"
    assert caught.value.failure_reason == FailureReason.RUNNER_CONFIGURATION_ERROR


def test_git_clone_path_inside_the_builds_dir_is_used_when_enabled() -> None:
    env = ExecutorEnvironment(shell="bash", builds_dir="/srv/builds", cache_dir="/srv/cache", shared=True,
                              custom_build_dir_enabled=True)
    runner = RunnerConfig(token="glrt-t1_abcdefghijklmn", executor="shell",
                          custom_build_dir=CustomBuildDirConfig(enabled=True))
    layout = _layout([{"key": "GIT_CLONE_PATH", "value": "$CI_BUILDS_DIR/mine/./app"}],
                     env=env, runner=runner)
    assert layout.project_dir == "/srv/builds/mine/app"
    with pytest.raises(BuildError) as caught:
        _layout([{"key": "GIT_CLONE_PATH", "value": "/elsewhere/app"}], env=env, runner=runner)
    assert str(caught.value) == 'the GIT_CLONE_PATH="/elsewhere/app" has to be within "/srv/builds"'
