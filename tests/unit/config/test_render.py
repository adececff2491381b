"""add_runner writes exactly what gitlab-runner's TOML encoder writes for a registered runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from runnerfleet.config import ConfigFile, Duration
from runnerfleet.errors import ConfigError

HEADER = (
    "concurrent = 1\ncheck_interval = 0\nconnection_max_age = \"15m0s\"\nshutdown_timeout = 0\n"
    "\n[session_server]\n  session_timeout = 1800\n"
)
CACHE = (
    "  [runners.cache]\n"
    "    MaxUploadedArchiveSize = 0\n"
    "    [runners.cache.s3]\n"
    "      AssumeRoleMaxConcurrency = 0\n"
    "    [runners.cache.gcs]\n"
    "    [runners.cache.azure]\n"
)
OBTAINED = datetime(2025, 1, 1, tzinfo=UTC)


def test_shell_runner_in_a_new_file_is_written_like_gitlab_runner(tmp_path: Path) -> None:
    config_file = ConfigFile.load(tmp_path / "config.toml")
    assert not config_file.exists and config_file.config.concurrent == 1
    runner = config_file.add_runner({
        "name": "host-1", "url": "http://gitlab.example.com/", "id": 0,
        "token": "test-runner-token", "token_obtained_at": OBTAINED, "token_expires_at": None,
        "executor": "shell", "shell": "pwsh",
    })
    assert config_file.dumps() == HEADER + (
        "\n[[runners]]\n"
        '  name = "host-1"\n'
        '  url = "http://gitlab.example.com/"\n'
        "  id = 0\n"
        '  token = "test-runner-token"\n'
        "  token_obtained_at = 2025-01-01T00:00:00Z\n"
        "  token_expires_at = 0001-01-01T00:00:00Z\n"
        '  executor = "shell"\n'
        '  shell = "pwsh"\n'
    ) + CACHE
    assert runner.index == 0 and runner.token_obtained_at == OBTAINED
    assert runner.token_expires_at is None


def test_docker_runner_keeps_only_its_section_and_gitlab_runner_zero_keys() -> None:
    config_file = ConfigFile.from_text(HEADER)
    config_file.add_runner({
        "name": "h1", "url": "https://gitlab.example.com/", "id": 3,
        "token": "glrt-abc", "token_obtained_at": OBTAINED,
        "token_expires_at": datetime(2594, 7, 21, 17, 42, 53, tzinfo=timezone(timedelta(hours=2))),
        "executor": "docker", "limit": 0, "request_concurrency": 2,
        "docker": {"image": "alpine", "volumes": ["/cache"], "pull_policy": "if-not-present",
                   "services": [{"name": "postgres:16", "alias": "db"}]},
        "ssh": {"host": "dropped: not the docker executor's section"},
    })
    assert config_file.dumps() == HEADER + (
        "\n[[runners]]\n"
        '  name = "h1"\n'
        "  request_concurrency = 2\n"
        '  url = "https://gitlab.example.com/"\n'
        "  id = 3\n"
        '  token = "glrt-abc"\n'
        "  token_obtained_at = 2025-01-01T00:00:00Z\n"
        "  token_expires_at = 2594-07-21T15:42:53Z\n"
        '  executor = "docker"\n'
    ) + CACHE + (
        "  [runners.docker]\n"
        "    tls_verify = false\n"
        '    image = "alpine"\n'
        "    privileged = false\n"
        "    disable_entrypoint_overwrite = false\n"
        "    oom_kill_disable = false\n"
        "    disable_cache = false\n"
        '    volumes = ["/cache"]\n'
        "    volume_keep = false\n"
        '    pull_policy = ["if-not-present"]\n'
        "    shm_size = 0\n"
        "    network_mtu = 0\n"
        "\n"
        "    [[runners.docker.services]]\n"
        '      name = "postgres:16"\n'
        '      alias = "db"\n'
    )
    runner = config_file.config.runners[0]
    assert runner.ssh is None and runner.docker is not None
    assert runner.docker.services[0].name == "postgres:16"


def test_second_runner_is_separated_by_one_blank_line_and_other_bytes_stay() -> None:
    config_file = ConfigFile.from_text(HEADER)
    config_file.add_runner({"name": "a", "url": "https://g.example/", "token": "t1",
                            "executor": "shell"})
    before = config_file.dumps()
    config_file.add_runner({"name": "b", "url": "https://g.example/", "token": "t2",
                            "executor": "ssh", "ssh": {"host": "h", "port": 22, "user": "u"},
                            "unhealthy_interval": Duration.parse("90s"),
                            "feature_flags": {"FF_B": True, "FF_A": False}})
    text = config_file.dumps()
    assert text.startswith(before + "\n[[runners]]\n")
    assert text.endswith(
        '  unhealthy_interval = "1m30s"\n'
        '  url = "https://g.example/"\n  id = 0\n  token = "t2"\n'
        "  token_obtained_at = 0001-01-01T00:00:00Z\n  token_expires_at = 0001-01-01T00:00:00Z\n"
        '  executor = "ssh"\n' + CACHE
        + "  [runners.feature_flags]\n    FF_A = false\n    FF_B = true\n"
        '  [runners.ssh]\n    user = "u"\n    host = "h"\n    port = "22"\n'
    )


def test_virtualbox_runner_writes_its_always_present_keys() -> None:
    config_file = ConfigFile.from_text("")
    config_file.add_runner({"name": "v", "url": "https://g/", "token": "t",
                            "executor": "virtualbox", "ssh": {"user": "u"},
                            "virtualbox": {"base_name": "vm"}})
    assert config_file.dumps().endswith(
        '  [runners.ssh]\n    user = "u"\n'
        '  [runners.virtualbox]\n    base_name = "vm"\n    base_folder = ""\n'
        '    disable_snapshots = false\n    start_type = ""\n'
    )


def test_add_runner_with_a_bad_value_names_the_new_entry_and_changes_nothing() -> None:
    config_file = ConfigFile.from_text(HEADER)
    with pytest.raises(ConfigError) as caught:
        config_file.add_runner({"name": "x", "url": "https://g/", "token": "t",
                                "executor": "docker", "docker": {"memory": "lots"}})
    assert str(caught.value) == (
        'config.toml: runners[0].docker.memory: expected a size like "4g", got "lots"'
    )
    assert config_file.dumps() == HEADER and config_file.config.runners == []
