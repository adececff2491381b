"""`runnerfleet register` against the coordinator: what GitLab receives and what config.toml gets."""

from __future__ import annotations

import os
import pty
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import tomlkit

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.cli.conftest import CliRunner

HEADER = """concurrent = 1
check_interval = 0
connection_max_age = "15m0s"
shutdown_timeout = 0

[session_server]
  session_timeout = 1800
"""

CACHE = """  [runners.cache]
    MaxUploadedArchiveSize = 0
    [runners.cache.s3]
      AssumeRoleMaxConcurrency = 0
    [runners.cache.gcs]
    [runners.cache.azure]
"""


# The shape gitlab-runner 19.4's TOML encoder writes (spec §2.12, completed from its register test:
# the s3 table carries AssumeRoleMaxConcurrency, docker volume_keep and network_mtu).
def _normalise_obtained_at(text: str) -> str:
    return re.sub(r"token_obtained_at = \S+", "token_obtained_at = <now>", text)


def test_register_with_authentication_token_writes_gitlab_runner_shaped_entry(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner(description="ci-host")
    result = runnerfleet(
        "register", "--non-interactive", "--config", str(config_path), "--url", coordinator.url,
        "--token", created["token"], "--name", "host-1", "--executor", "shell",
    )
    assert result.code == 0, result.output
    assert "Runner registered successfully" in result.stderr
    text = config_path.read_text()
    expected = HEADER + f"""
[[runners]]
  name = "host-1"
  url = "{coordinator.url}"
  id = {created["id"]}
  token = "{created["token"]}"
  token_obtained_at = <now>
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "shell"
""" + CACHE
    assert _normalise_obtained_at(text) == expected
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    # The token itself never reaches the terminal.
    assert created["token"] not in result.output

    verify_calls = [r for r in coordinator.requests_log() if r["path"] == "/api/v4/runners/verify"]
    assert len(verify_calls) == 1
    body = verify_calls[0]["json"]
    assert re.fullmatch(r"[sr]_[0-9a-zA-Z]{12}", body["system_id"])
    assert (config_path.parent / ".runner_system_id").read_text().strip() == body["system_id"]
    assert body["info"]["executor"] == "shell"
    assert body["info"]["name"] == "runnerfleet"
    assert not any(r["path"] == "/api/v4/runners" for r in coordinator.requests_log())


def test_register_docker_executor_writes_docker_table_with_cache_volume(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner()
    result = runnerfleet(
        "register", "-n", "-c", str(config_path), "-u", coordinator.url, "-t", created["token"],
        "--name", "host-1", "--executor", "docker", "--docker-image", "alpine:latest",
        "--ssh-host", "ignored.example",
    )
    assert result.code == 0, result.output
    text = _normalise_obtained_at(config_path.read_text())
    assert text.endswith(CACHE + """  [runners.docker]
    tls_verify = false
    image = "alpine:latest"
    privileged = false
    disable_entrypoint_overwrite = false
    oom_kill_disable = false
    disable_cache = false
    volumes = ["/cache"]
    volume_keep = false
    shm_size = 0
    network_mtu = 0
"""), text
    # Only the chosen executor's section is kept.
    assert "[runners.ssh]" not in text


def test_register_with_registration_token_uses_legacy_endpoint_and_stores_returned_token(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    result = runnerfleet(
        "register", "--non-interactive", "--config", str(config_path), "--url", coordinator.url,
        "--registration-token", coordinator.registration_token, "--description", "legacy-1",
        "--tag-list", "linux, docker", "--locked=false", "--access-level", "ref_protected",
        "--maximum-timeout", "3600", "--executor", "shell",
    )
    assert result.code == 0, result.output
    calls = [r for r in coordinator.requests_log() if r["path"] == "/api/v4/runners"]
    assert len(calls) == 1
    body = calls[0]["json"]
    assert body["description"] == "legacy-1"
    assert body["tag_list"] == "linux,docker"
    assert body["locked"] is False
    assert body["run_untagged"] is False
    assert body["access_level"] == "ref_protected"
    assert body["maximum_timeout"] == 3600
    assert body["paused"] is False
    runner = tomlkit.parse(config_path.read_text())["runners"][0]
    assert runner["name"] == "legacy-1"
    assert runner["token"] != coordinator.registration_token
    assert int(runner["id"]) > 0
    # The stored token is a working runner token.
    verify = runnerfleet("verify", "-c", str(config_path))
    assert verify.code == 0, verify.output
    assert "is alive" in verify.stderr


def test_register_with_authentication_token_refuses_server_side_flags(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner()
    result = runnerfleet(
        "register", "-n", "-c", str(config_path), "-u", coordinator.url, "-t", created["token"],
        "--executor", "shell", "--tag-list", "a,b", "--locked=false",
    )
    assert result.code == 1
    assert "--locked" in result.stderr and "--tag-list" in result.stderr
    assert "Traceback" not in result.output
    assert not config_path.exists()
    assert not [r for r in coordinator.requests_log() if r["path"].startswith("/api/v4/runners")]


def test_register_reads_flags_from_environment_variables(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner()
    result = runnerfleet("register", env={
        "REGISTER_NON_INTERACTIVE": "true",
        "CONFIG_FILE": str(config_path),
        "CI_SERVER_URL": coordinator.url,
        "CI_SERVER_TOKEN": created["token"],
        "RUNNER_NAME": "from-env",
        "RUNNER_EXECUTOR": "shell",
        "RUNNER_BUILDS_DIR": "/srv/builds",
    })
    assert result.code == 0, result.output
    runner = tomlkit.parse(config_path.read_text())["runners"][0]
    assert runner["name"] == "from-env"
    assert runner["builds_dir"] == "/srv/builds"


def test_register_non_interactive_without_url_fails_with_gitlab_runner_message(
    runnerfleet: CliRunner, config_path: Path
) -> None:
    result = runnerfleet("register", "-n", "-c", str(config_path), "-t", "glrt-abc",
                         "--executor", "shell")
    assert result.code == 1
    assert "The url needs to be entered" in result.stderr
    assert "Traceback" not in result.output
    assert not config_path.exists()


def test_register_checks_settings_before_contacting_gitlab(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner()
    result = runnerfleet("register", "-n", "-c", str(config_path), "-u", coordinator.url,
                         "-t", created["token"], "--executor", "docker", "--docker-image", "alpine",
                         "--docker-memory", "lots")
    assert result.code == 1
    assert "runners[0].docker.memory" in result.stderr
    assert not config_path.exists()
    assert not [r for r in coordinator.requests_log() if r["path"] == "/api/v4/runners/verify"]


def test_register_rejects_unsupported_executor(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner()
    result = runnerfleet("register", "-n", "-c", str(config_path), "-u", coordinator.url,
                         "-t", created["token"], "--executor", "kubernetes")
    assert result.code == 1
    assert 'Invalid executor specified: "kubernetes"' in result.stderr
    assert not config_path.exists()


def test_register_removes_runner_manager_again_when_config_cannot_be_saved(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, tmp_path: Path
) -> None:
    # A directory that cannot be created even by root: the save fails after GitLab knew the runner.
    unwritable = Path("/proc/runnerfleet-no-such-dir/config.toml")
    created = coordinator.create_runner()
    result = runnerfleet("register", "-n", "-c", str(unwritable), "-u",
                         coordinator.url, "-t", created["token"], "--executor", "shell")
    assert result.code == 1
    assert "Traceback" not in result.output
    assert str(unwritable) in result.stderr
    assert "removed from GitLab again" in result.stderr
    paths = [(r["method"], r["path"]) for r in coordinator.requests_log()]
    assert ("POST", "/api/v4/runners/verify") in paths
    assert ("DELETE", "/api/v4/runners/managers") in paths


def test_register_interactive_asks_for_what_is_missing(
    coordinator: RunningCoordinator, cli_env: dict[str, str], config_path: Path, tmp_path: Path
) -> None:
    created = coordinator.create_runner()
    answers = [coordinator.url, created["token"], "typed-name", "docker", "debian:bookworm"]
    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI on a real terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "runnerfleet", "register", "-c",
                                   str(config_path)], cli_env)
    transcript = b""
    pending = list(answers)
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        transcript += chunk
        # Answer each question once it has been printed in full.
        questions = transcript.count(b"Enter ")
        answered = len(answers) - len(pending)
        if pending and questions > answered:
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    text = transcript.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Enter the GitLab instance URL" in text
    assert "Enter the registration token" in text
    assert "Enter the default Docker image" in text
    runner = tomlkit.parse(config_path.read_text())["runners"][0]
    assert runner["name"] == "typed-name"
    assert runner["executor"] == "docker"
    assert runner["docker"]["image"] == "debian:bookworm"


def test_register_default_name_is_the_hostname(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    created = coordinator.create_runner()
    result = runnerfleet("register", "-n", "-c", str(config_path), "-u", coordinator.url,
                         "-t", created["token"], "--executor", "shell")
    assert result.code == 0, result.output
    assert tomlkit.parse(config_path.read_text())["runners"][0]["name"] == socket.gethostname()


def test_every_command_has_help(runnerfleet: CliRunner) -> None:
    for command in ("register", "unregister", "verify", "list", "reset-token"):
        result = runnerfleet(command, "--help")
        assert result.code == 0, result.output
        assert "--config" in result.stdout
    reg = runnerfleet("register", "--help").stdout
    for flag in ("--docker-image", "--ssh-host", "--tag-list", "--registration-token",
                 "--tls-ca-file", "--builds-dir", "--leave-runner", "$DOCKER_IMAGE"):
        assert flag in reg, flag


def test_version_names_runnerfleet_and_gitlab_runner_compatibility() -> None:
    out = subprocess.run([sys.executable, "-m", "runnerfleet", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert "gitlab-runner 19.4.0 compatible" in out


def test_unknown_command_and_flag_fail_with_one_line_exit_1(runnerfleet: CliRunner) -> None:
    unknown = runnerfleet("foo")
    assert unknown.code == 1
    assert unknown.stderr.strip() == "ERROR: Command foo not found."
    bad_flag = runnerfleet("list", "--bogus")
    assert bad_flag.code == 1
    assert "--bogus" in bad_flag.stderr and "Traceback" not in bad_flag.output
