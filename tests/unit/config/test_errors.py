"""Bad input: one clear line per problem, warnings for unknown keys, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.config import ConfigFile
from runnerfleet.errors import ConfigError

P = "/etc/gitlab-runner/config.toml"

# (file text, the exact ConfigError text)
BROKEN = [
    ("concurrent = 1\n\n[[runners]]\n  name = x\n",
     f"{P}:4:10: unexpected character 'x' (invalid value)"),
    ("concurrent = 1\nconcurrent = 2\n",
     f"{P}:2:15: cannot overwrite a value (a key or table is defined twice)"),
    ("[[runners]]\n  name = \"open\n",
     f"{P}:2:15: unterminated string: the line ends before the closing quote"),
    ("[runners\n", f"{P}:1:9: expected ']' at the end of a table declaration"),
    ("a = 1 b = 2\n", f"{P}:1:7: unexpected character 'b' "
                      "(expected newline or end of document after a statement)"),
    ("x = [1,\n", f"{P}:2:1: invalid value"),
    ("concurrent = \"4\"\n", f'{P}: concurrent: expected an integer, got "4"'),
    ("[[runners]]\n  token = 123\n", f"{P}: runners[0].token: expected a string, got ***"),
    ("[[runners]]\n  limit = \"2\"\n", f'{P}: runners[0].limit: expected an integer, got "2"'),
    ("[[runners]]\n  environment = \"A=1\"\n",
     f'{P}: runners[0].environment: expected an array of strings like ["a", "b"], got "A=1"'),
    ("[[runners]]\n  token_obtained_at = \"yesterday\"\n",
     f"{P}: runners[0].token_obtained_at: expected a TOML datetime like 2025-01-01T00:00:00Z, "
     'got "yesterday"'),
    ("[[runners]]\n[[runners]]\n[[runners]]\n  [runners.docker]\n    memory = 12\n",
     f'{P}: runners[2].docker.memory: expected a size like "4g", got 12'),
    ("[[runners]]\n  [runners.docker]\n    cpus = \"many\"\n",
     f'{P}: runners[0].docker.cpus: expected a number of CPUs like "1.5" or 2, got "many"'),
    ("[[runners]]\n  unhealthy_interval = \"5 minutes\"\n",
     f"{P}: runners[0].unhealthy_interval: expected a duration like \"90s\", \"15m0s\" or "
     '"1h30m", got "5 minutes"'),
    ("[[runners]]\n  [runners.docker]\n    privileged = \"yes\"\n",
     f'{P}: runners[0].docker.privileged: expected true or false, got "yes"'),
    ("[[runners]]\n  docker = \"alpine\"\n",
     f'{P}: runners[0].docker: expected a table [runners.docker], got "alpine"'),
    ("[[runners]]\n  [runners.feature_flags]\n    FF_X = \"on\"\n",
     f'{P}: runners[0].feature_flags.FF_X: expected true or false, got "on"'),
    ("[[runners]]\n  [runners.docker]\n    [runners.docker.services]\n      image = \"docker:dind\"\n",
     f"{P}: runners[0].docker.services: expected an array of tables: write "
     '[[runners.docker.services]] with name = "<image>" for each entry, got a single table '
     "[runners.docker.services] (the key is name, not image)"),
    ("[[runners]]\n  [runners.shell]\n    path = \"/bin/bash\"\n",
     f'{P}: runners[0].shell.path: expected shell to be a string like "bash"; gitlab-runner has '
     'no [runners.shell] table (for job variables use environment = ["KEY=value"] under '
     "[[runners]])"),
    ("[[runners]]\n  [runners.shell.env]\n    PORT = 8080\n",
     f"{P}: runners[0].shell.env.PORT: expected a string, got 8080"),
    ("[session_server]\n  session_timeout = \"30m\"\n",
     f'{P}: session_server.session_timeout: expected an integer, got "30m"'),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_broken_file_gives_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ConfigFile.from_text(text, path=P)
    assert str(caught.value) == message
    assert caught.value.problems == [message]


def test_every_problem_of_the_file_is_reported() -> None:
    text = (
        "concurrent = \"x\"\n[[runners]]\n  limit = true\n"
        "[[runners]]\n  [runners.docker]\n    memory = 5\n    shm_size = \"1g\"\n"
    )
    with pytest.raises(ConfigError) as caught:
        ConfigFile.from_text(text, path="c.toml")
    assert caught.value.problems == [
        'c.toml: concurrent: expected an integer, got "x"',
        "c.toml: runners[0].limit: expected an integer, got true",
        'c.toml: runners[1].docker.memory: expected a size like "4g", got 5',
        'c.toml: runners[1].docker.shm_size: expected an integer, got "1g"',
    ]


def test_secrets_never_appear_in_errors() -> None:
    text = '[[runners]]\n  token = ["glrt-secret"]\n  [runners.ssh]\n    password = 12345\n'
    with pytest.raises(ConfigError) as caught:
        ConfigFile.from_text(text)
    assert "12345" not in str(caught.value) and "glrt-secret" not in str(caught.value)


def test_unknown_keys_warn_with_hints_and_the_file_loads() -> None:
    text = (
        "[[runners]]\n  token = \"t\"\n  url = \"https://g/\"\n  tls_verify = false\n"
        "  colour = \"blue\"\n"
        "  [runners.docker]\n    [runners.docker.helper_image_opts]\n      x = 1\n"
        "    [runners.docker.cache]\n      Type = \"s3\"\n"
        "    [[runners.docker.services]]\n      image = \"redis\"\n"
    )
    config_file = ConfigFile.from_text(text, path="c.toml")
    assert config_file.warnings == [
        "c.toml: runners[0].tls_verify: unknown key, ignored (tls_verify belongs to "
        "[runners.docker] (the Docker daemon); for GitLab's certificate set tls-ca-file)",
        "c.toml: runners[0].colour: unknown key, ignored",
        "c.toml: runners[0].docker.helper_image_opts: unknown key, ignored "
        "(gitlab-runner has no such table)",
        "c.toml: runners[0].docker.cache: unknown key, ignored (use [runners.cache])",
        "c.toml: runners[0].docker.services[0].image: unknown key, ignored (the key is name)",
    ]
    assert config_file.config.runners[0].docker is not None


def test_ci_suffix_and_empty_token_warn() -> None:
    config_file = ConfigFile.from_text(
        '[[runners]]\n  url = "https://gitlab.example.com/ci"\n  token = "  "\n', path="c.toml"
    )
    assert config_file.warnings == [
        "c.toml: runners[0].url: the /ci suffix is deprecated; use the GitLab base URL "
        "https://gitlab.example.com/",
        "c.toml: runners[0].token: empty; this runner is skipped when polling for jobs",
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "config.toml"
    config_file = ConfigFile.load(path)
    assert not config_file.exists and config_file.config.concurrent == 1
    assert config_file.dumps() == "" and config_file.config.runners == []
    with pytest.raises(ConfigError) as caught:
        ConfigFile.load(path, missing_ok=False)
    assert str(caught.value).startswith(f"{path}: file not found")


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    directory = tmp_path / "config.toml"
    directory.mkdir()  # a directory where the file should be: unreadable even as root
    with pytest.raises(ConfigError, match=r"config\.toml: cannot read: Is a directory"):
        ConfigFile.load(directory)
    (tmp_path / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        ConfigFile.load(tmp_path / "latin1.toml")


def test_broken_corpus_on_disk_never_raises_anything_but_config_error(tmp_path: Path) -> None:
    for number, (text, message) in enumerate(BROKEN):
        path = tmp_path / f"broken-{number}.toml"
        path.write_text(text)
        with pytest.raises(ConfigError) as caught:
            ConfigFile.load(path)
        assert str(caught.value) == message.replace(P, str(path))
        assert "\n" not in str(caught.value)
