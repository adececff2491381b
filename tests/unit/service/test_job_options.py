"""Which job options make a received job fail at once, in gitlab-runner's words."""

from __future__ import annotations

from runnerfleet.service.job_options import unsupported_options


def test_supported_executor_options_and_plain_jobs_pass() -> None:
    assert unsupported_options({"steps": [{"name": "script", "script": ["true"]}]}) == []
    image = {"name": "x", "executor_opts": {"docker": {"platform": "arm64", "user": 1000},
                                            "kubernetes": {"user": "1000:1000"}}}
    assert unsupported_options({"image": image, "services": [image]}) == []


def test_a_services_unknown_option_is_named_with_the_image_section() -> None:
    services = [{"name": "db"}, {"name": "redis", "executor_opts": {"kubernetes": {"cpu": "1"}}}]
    assert unsupported_options({"services": services}) == [
        'Unsupported "image" options [cpu] for "kubernetes executor"; supported options are '
        "[user]"]


def test_run_with_a_steps_variable_is_refused_and_without_run_nothing_is_checked() -> None:
    variables = [{"key": "STEPS", "value": "[]"}]
    assert unsupported_options({"run": "[]", "steps": [], "variables": variables}) == [
        "the `run` keyword requires the exclusive use of the variable STEPS"]
    assert unsupported_options({"steps": [], "variables": variables}) == []
