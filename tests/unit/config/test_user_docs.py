"""Configs users copy from /work/shared/user-docs/troubleshooting-lost-connection.txt."""

from __future__ import annotations

import pytest

from runnerfleet.config import ConfigFile
from runnerfleet.config.validate import SHELL_ENV_WARNING
from runnerfleet.errors import ConfigError

DOCKER_PROXY_SAMPLE = """[[runners]]
  name = "Docker Runner"
  url = "https://gitlab.example.com/"
  token = "YOUR_RUNNER_TOKEN"
  executor = "docker"
  [runners.docker]
    tls_verify = false
    image = "docker:latest"
    privileged = true
    disable_cache = false
    volumes = ["/cache"]
    shm_size = 0
    helper_image = "gitlab/gitlab-runner-helper:alpine-x86_64-latest"
    [runners.docker.services]
      image = "docker:dind"
      entrypoint = ["/usr/bin/docker", "dockerd-entrypoint.sh"]
      command = ["--storage-driver=overlay2"]
    [runners.docker.cache]
      Type = "s3"
      Shared = true
      [runners.docker.cache.s3]
        BucketName = "gitlab-runner-cache"
        BucketLocation = "us-east-1"
"""

SHELL_PROXY_SAMPLE = """[[runners]]
  name = "Shell Runner"
  url = "https://gitlab.example.com/"
  token = "YOUR_RUNNER_TOKEN"
  executor = "shell"
  [runners.shell.env]
    HTTP_PROXY = "http://proxy.example.com:8080"
    HTTPS_PROXY = "http://proxy.example.com:8080"
"""

LIMITS_SAMPLE = """[[runners]]
  executor = "docker"
  [runners.docker]
    cpus = 2
    memory = "4g"
"""

TLS_SAMPLE = """[[runners]]
  name = "My Runner"
  url = "https://gitlab.example.com/"
  token = "YOUR_RUNNER_TOKEN"
  executor = "docker"
  [runners.docker]
    tls_verify = false # <-- Set to false
"""

P = "/etc/gitlab-runner/config.toml"


def test_docker_proxy_sample_fails_on_the_single_services_table() -> None:
    with pytest.raises(ConfigError) as caught:
        ConfigFile.from_text(DOCKER_PROXY_SAMPLE, path=P)
    assert caught.value.problems == [
        f"{P}: runners[0].docker.services: expected an array of tables: write "
        '[[runners.docker.services]] with name = "<image>" for each entry, got a single table '
        "[runners.docker.services] (the key is name, not image)"
    ]


def test_docker_proxy_sample_with_services_fixed_loads_with_cache_hint() -> None:
    fixed = DOCKER_PROXY_SAMPLE.replace("    [runners.docker.services]\n      image =",
                                        "    [[runners.docker.services]]\n      name =")
    config_file = ConfigFile.from_text(fixed, path=P)
    assert config_file.warnings == [
        f"{P}: runners[0].docker.cache: unknown key, ignored (use [runners.cache])"
    ]
    docker = config_file.config.runners[0].docker
    assert docker is not None and docker.services[0].name == "docker:dind"
    assert docker.services[0].command == ["--storage-driver=overlay2"]
    assert config_file.config.runners[0].cache.type == ""  # the misplaced cache does nothing


def test_shell_env_sample_loads_as_extension_with_one_warning() -> None:
    doubled = SHELL_PROXY_SAMPLE + SHELL_PROXY_SAMPLE.replace("Shell Runner", "Second")
    config_file = ConfigFile.from_text(doubled, path=P)
    assert config_file.warnings == [f"{P}: {SHELL_ENV_WARNING}"]
    assert "gitlab-runner" in SHELL_ENV_WARNING and 'environment = ["KEY=value"]' in SHELL_ENV_WARNING
    runner = config_file.config.runners[0]
    assert runner.shell == ""
    assert runner.shell_env == {"HTTP_PROXY": "http://proxy.example.com:8080",
                                "HTTPS_PROXY": "http://proxy.example.com:8080"}
    assert runner.job_environment == ["HTTP_PROXY=http://proxy.example.com:8080",
                                      "HTTPS_PROXY=http://proxy.example.com:8080"]


def test_limits_sample_loads_with_cpus_kept_as_text_and_warns_about_the_token() -> None:
    config_file = ConfigFile.from_text(LIMITS_SAMPLE, path=P)
    docker = config_file.config.runners[0].docker
    assert docker is not None and docker.cpus == "2" and docker.memory == "4g"
    assert config_file.warnings == [
        f"{P}: runners[0].token: empty; this runner is skipped when polling for jobs"
    ]


def test_tls_sample_loads_cleanly() -> None:
    config_file = ConfigFile.from_text(TLS_SAMPLE, path=P)
    assert config_file.warnings == []
    docker = config_file.config.runners[0].docker
    assert docker is not None and docker.tls_verify is False
