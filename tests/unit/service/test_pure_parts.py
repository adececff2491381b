"""Pure parts of the service: early job flags, endpoint labels, rotation planning, metrics text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from runnerfleet.config import Config, RunnerConfig
from runnerfleet.service import job_flags
from runnerfleet.service.clients import endpoint_label
from runnerfleet.service.metrics import ServiceMetrics
from runnerfleet.service.metrics_server import MetricsSources, RunnerCollector, jobs_list
from runnerfleet.service.rotation import next_reset
from runnerfleet.service.slots import BuildSlots, RunningJob


def _runner(**kw: object) -> RunnerConfig:
    runner = RunnerConfig(name="r", url="http://gitlab.example", token="glrt-aaaaaaaaaaaa",
                          executor="shell")
    for key, value in kw.items():
        setattr(runner, key, value)
    return runner


def test_early_feature_flags_follow_config_then_job_variable_then_default() -> None:
    payload = {"variables": [{"key": "FF_TIMESTAMPS", "value": "false"},
                             {"key": "CI_DEBUG_TRACE", "value": "true"}]}
    assert job_flags.feature_flag(payload, _runner(), "FF_TIMESTAMPS") is False
    assert job_flags.feature_flag(payload, _runner(feature_flags={"FF_TIMESTAMPS": True}),
                                  "FF_TIMESTAMPS") is True
    assert job_flags.feature_flag({}, _runner(environment=["FF_TIMESTAMPS=0"]),
                                  "FF_TIMESTAMPS") is False
    assert job_flags.feature_flag({"variables": "garbage"}, _runner(), "FF_TIMESTAMPS") is True
    assert job_flags.debug_trace(payload, _runner()) is True
    assert job_flags.debug_trace(payload, _runner(debug_trace_disabled=True)) is False


def test_the_streamer_flags_come_from_one_pass_with_the_same_precedence() -> None:
    payload = {"variables": [{"key": "FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL", "value": "true"},
                             {"key": "CI_DEBUG_SERVICES", "value": "1"},
                             {"key": ["not", "a", "name"], "value": "x"}]}
    assert job_flags.streamer_flags(payload, _runner()) == (True, True)
    assert job_flags.streamer_flags(payload, _runner(
        feature_flags={"FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL": False},
        debug_trace_disabled=True)) == (False, False)
    assert job_flags.streamer_flags({}, _runner(environment=["CI_DEBUG_TRACE=true"])) == (
        False, True)


def test_job_id_and_token_need_both_to_be_usable() -> None:
    assert job_flags.job_id_and_token({"id": 5, "token": "glcbt-x"}) == (5, "glcbt-x")
    assert job_flags.job_id_and_token({"id": "5", "token": "glcbt-x"}) is None
    assert job_flags.job_id_and_token({"id": True, "token": "glcbt-x"}) is None
    assert job_flags.job_id_and_token({"id": 5, "token": ""}) is None
    assert job_flags.project_id({"job_info": {"project_id": 12}}) == 12
    assert job_flags.project_id({"job_info": "x"}) == 0


def test_api_endpoint_labels_are_gitlab_runners() -> None:
    base = "http://gitlab.example/api/v4/"
    assert endpoint_label("POST", base + "jobs/request") == "request_job"
    assert endpoint_label("PUT", base + "jobs/17") == "update_job"
    assert endpoint_label("PATCH", base + "jobs/17/trace?debug_trace=false") == "patch_trace"
    assert endpoint_label("POST", base + "runners/reset_authentication_token") == "reset_token"
    assert endpoint_label("POST", base + "runners/verify") is None


def test_rotation_plans_the_runner_whose_75_percent_point_comes_first() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    early = _runner(name="early", token_obtained_at=now, token_expires_at=now + timedelta(hours=4))
    late = _runner(name="late", token_obtained_at=now, token_expires_at=now + timedelta(hours=8))
    never = _runner(name="never")
    planned = next_reset(Config(runners=[late, never, early]))
    assert planned is not None
    assert planned[0].name == "early" and planned[1] == now + timedelta(hours=3)
    assert next_reset(Config(runners=[never])) is None


def test_collector_renders_runner_metrics_without_the_token() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    metrics = ServiceMetrics()
    slots = BuildSlots("s_000000000001")
    runner = _runner(limit=4)
    slots.register(runner)
    slots.add_job(RunningJob(job_id=1, runner=runner, project_id=1, url="http://x/-/jobs/1"))
    metrics.api_request(runner.short_token, "s_000000000001", "request_job", 201, "POST", 0.2)
    metrics.job_finished(runner.short_token, "r", "s_000000000001", 45.0, "script_failure")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunnerCollector(MetricsSources(
        metrics=metrics, slots=slots, config=lambda: Config(concurrent=3, runners=[runner]),
        system_id="s_000000000001", process_state=lambda: "running")))
    text = generate_latest(registry).decode()
    assert "gitlab_runner_concurrent 3.0" in text
    assert 'gitlab_runner_limit{runner="aaaaaaaaa",runner_name="r",system_id="s_000000000001"} 4.0' in text
    assert re.search(r'gitlab_runner_jobs\{[^}]*state="running"[^}]*\} 1\.0', text)
    assert 'gitlab_runner_job_duration_seconds_bucket{le="30.0"' in text
    assert re.search(r'gitlab_runner_job_duration_seconds_bucket\{le="60\.0",[^}]*\} 1\.0', text)
    assert 'gitlab_runner_process_state{state="running"} 1.0' in text
    assert "glrt-" not in text
    assert jobs_list(slots).startswith("url=http://x/-/jobs/1 state=running stage= ")
