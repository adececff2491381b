"""Malformed [runners.docker] keys are reported with their path when config.toml is read."""

from __future__ import annotations

import pytest

from runnerfleet.config import ConfigFile
from runnerfleet.errors import ConfigError

CONFIG = '''
concurrent = 1
[[runners]]
name = "docker"
url = "https://gitlab.example.com/"
token = "glrt-t1_abcdefghijklmnop"
executor = "docker"
[runners.docker]
image = "runnerfleet/debian:bookworm"
memory = "lots"
cpus = "two"
pull_policy = 3
volumes = "/cache"
privileged = "yes"
[[runners.docker.services]]
name = 5
'''


def test_every_malformed_docker_key_is_one_line_naming_its_path() -> None:
    with pytest.raises(ConfigError) as caught:
        ConfigFile.from_text(CONFIG)
    problems = caught.value.problems
    assert problems == [
        'config.toml: runners[0].docker.memory: expected a size like "4g", got "lots"',
        'config.toml: runners[0].docker.cpus: expected a number of CPUs like "1.5" or 2, got "two"',
        'config.toml: runners[0].docker.pull_policy: expected an array of strings like ["a", "b"], got 3',
        'config.toml: runners[0].docker.volumes: expected an array of strings like ["a", "b"], got "/cache"',
        'config.toml: runners[0].docker.privileged: expected true or false, got "yes"',
        "config.toml: runners[0].docker.services[0].name: expected a string, got 5",
    ]


def test_a_valid_docker_section_loads_into_the_typed_config() -> None:
    text = (CONFIG.split("memory =")[0] + 'memory = "64m"\ncpus = "1.5"\npull_policy = ["if-not-present"]\n'
            'volumes = ["/cache"]\n[[runners.docker.services]]\nname = "postgres:16"\nalias = "db"\n')
    runner = ConfigFile.from_text(text).config.runners[0]
    assert runner.docker is not None
    assert runner.docker.memory == "64m" and runner.docker.effective_pull_policy == ["if-not-present"]
    assert [s.aliases for s in runner.docker.services] == [["db"]]
