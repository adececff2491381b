"""The typed view: defaults, Go durations, sizes, env expansion, token shortening."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runnerfleet.config import ConfigFile, Duration, parse_size, shorten_token


def _runner(body: str = "") -> Any:
    text = '[[runners]]\n  url = "https://g/"\n  token = "t"\n  executor = "docker"\n' + body
    return ConfigFile.from_text(text).config.runners[0]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("config.concurrent", 1),
        ("config.check_interval", 0),
        ("config.effective_check_interval", 3),
        ("config.effective_shutdown_timeout", 30),
        ("config.effective_connection_max_age", Duration.parse("15m")),
        ("config.connection_max_age", None),
        ("config.effective_log_level", "info"),
        ("config.effective_log_format", "runner"),
        ("config.listen_address", ""),
        ("config.session_server.effective_session_timeout", 1800),
        ("runner.limit", 0),
        ("runner.effective_output_limit", 4096),
        ("runner.effective_request_concurrency", 1),
        ("runner.effective_unhealthy_requests_limit", 3),
        ("runner.effective_unhealthy_interval", Duration.parse("60m")),
        ("runner.effective_job_status_final_update_retry_limit", 10),
        ("runner.token_obtained_at", None),
        ("runner.environment", []),
        ("runner.feature_flags", {}),
        ("runner.cache.shared", False),
        ("runner.cache.s3.effective_dual_stack", True),
        ("runner.artifact.effective_upload_timeout", Duration.parse("1h")),
        ("runner.artifact.effective_response_header_timeout", Duration.parse("10m")),
        ("runner.custom_build_dir.enabled", None),
        ("runner.docker", None),
        ("runner.ssh", None),
        ("runner.shell_env", {}),
    ],
)
def test_defaults_of_an_empty_file(expression: str, expected: object) -> None:
    config = ConfigFile.from_text('[[runners]]\n  token = "t"\n').config
    assert eval(expression, {"config": config, "runner": config.runners[0]}) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("docker.effective_pull_policy", ["always"]),
        ("docker.effective_wait_for_services_timeout", 30),
        ("docker.effective_services_limit", -1),
        ("docker.privileged", False),
        ("docker.services_privileged", None),
        ("docker.volumes", []),
        ("ssh.effective_port", "22"),
        ("ssh.effective_host", "localhost"),
        ("ssh.effective_user", "root"),
        ("ssh.strict_host_key_checking", True),
        ("virtualbox.effective_start_type", "headless"),
    ],
)
def test_executor_section_defaults(expression: str, expected: object) -> None:
    runner = _runner("  [runners.docker]\n  [runners.ssh]\n  [runners.virtualbox]\n")
    assert eval(expression, {"docker": runner.docker, "ssh": runner.ssh,
                             "virtualbox": runner.virtualbox}) == expected


def test_values_are_typed_as_gitlab_runner_types_them() -> None:
    runner = _runner(
        "  tls-ca-file = \"/etc/ca.pem\"\n  token_obtained_at = 2025-01-01T10:00:00Z\n"
        "  unhealthy_interval = \"90s\"\n"
        "  [runners.feature_flags]\n    FF_NETWORK_PER_BUILD = true\n"
        "  [runners.docker]\n    cpus = 2\n    memory = \"4g\"\n    pull_policy = \"never\"\n"
        "    tmpfs = {\"/tmp\" = \"rw\"}\n    services_limit = 0\n"
        "    [[runners.docker.services]]\n      name = \"redis\"\n      alias = \"a, b\"\n"
        "  [runners.ssh]\n    port = 2222\n"
    )
    assert runner.tls_ca_file == "/etc/ca.pem"
    assert runner.token_obtained_at == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert runner.unhealthy_interval == Duration.parse("1m30s")
    assert runner.feature_flags == {"FF_NETWORK_PER_BUILD": True}
    assert runner.docker.cpus == "2" and runner.docker.memory == "4g"
    assert runner.docker.pull_policy == ["never"] and runner.docker.tmpfs == {"/tmp": "rw"}
    assert runner.docker.effective_services_limit == 0
    assert runner.docker.services[0].aliases == ["a", "b"]
    assert runner.ssh.port == "2222"


def test_url_and_token_are_env_expanded_in_the_view_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GL_HOST", "gitlab.example.com")
    monkeypatch.setenv("GL_TOKEN", "glrt-from-env")
    monkeypatch.delenv("GL_UNSET", raising=False)
    text = '[[runners]]\n  url = "https://${GL_HOST}/$GL_UNSET"\n  token = "$GL_TOKEN"\n'
    config_file = ConfigFile.from_text(text)
    runner = config_file.config.runners[0]
    assert runner.url == "https://gitlab.example.com/"
    assert runner.token == "glrt-from-env" and runner.short_token == "from-env"
    assert config_file.dumps() == text


def test_job_environment_lists_environment_then_shell_env_extension() -> None:
    runner = _runner('  environment = ["A=1"]\n  [runners.shell.env]\n    HTTP_PROXY = "http://p:8080"\n')
    assert runner.job_environment == ["A=1", "HTTP_PROXY=http://p:8080"]


@pytest.mark.parametrize(
    ("text", "seconds", "go"),
    [
        ("1h30m", 5400.0, "1h30m0s"),
        ("15m0s", 900.0, "15m0s"),
        ("90s", 90.0, "1m30s"),
        ("1.5s", 1.5, "1.5s"),
        ("300ms", 0.3, "300ms"),
        ("-1s", -1.0, "-1s"),
        ("0", 0.0, "0s"),
        ("2h45m30.5s", 9930.5, "2h45m30.5s"),
        ("1.5us", 1.5e-06, "1.5µs"),
    ],
)
def test_duration_parse_keeps_text_and_knows_go_form(text: str, seconds: float, go: str) -> None:
    duration = Duration.parse(text)
    assert duration.text == text and str(duration) == text
    assert duration.seconds == pytest.approx(seconds)
    assert duration.go_string == go


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(900, "15m0s"), (5400, "1h30m0s"), (0, "0s"), (1.5, "1.5s"), (0.3, "300ms"), (3600, "1h0m0s")],
)
def test_duration_from_seconds_uses_go_string_form(seconds: float, text: str) -> None:
    assert Duration.from_seconds(seconds).text == text


def test_durations_are_equal_by_value() -> None:
    assert Duration.parse("90s") == Duration.parse("1m30s")
    assert len({Duration.parse("1h"), Duration.parse("60m")}) == 1


@pytest.mark.parametrize("bad", ["", "5", "1x", "m", "1.5.2s", "1h 30m", "abc"])
def test_bad_durations_are_rejected_clearly(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like"):
        Duration.parse(bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [("4g", 4 * 1024**3), ("512m", 512 * 1024**2), ("1024k", 1024**2), ("100", 100),
     ("2G", 2 * 1024**3), ("64mb", 64 * 1024**2), ("1KB", 1024), ("10b", 10)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["4 gigs", "g", "-1m", "4x"])
def test_bad_sizes(bad: str) -> None:
    with pytest.raises(ValueError, match='expected a size like "4g"'):
        parse_size(bad)


@pytest.mark.parametrize(
    ("token", "short"),
    [("glrt-abcdefghijkl", "abcdefghi"), ("glrt-t1_abcdefghijkl", "abcdefghi"),
     ("t3_abcdefghijkl", "abcdefghi"), ("glrtr-abcdefghijkl", "abcdefghi"),
     ("glcbt-abcdefghijkl", "abcdefghi"), ("GR1348941abcdefghijkl", "abcdefghi"),
     ("plain1234567890", "plain1234"), ("short", "short")],
)
def test_shorten_token(token: str, short: str) -> None:
    assert shorten_token(token) == short
