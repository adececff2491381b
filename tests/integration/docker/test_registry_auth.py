"""Registry credentials against a real registry (Debian's docker-registry, htpasswd auth, on loopback).

dockerd treats 127.0.0.0/8 registries as insecure (plain HTTP) by default, so pulls from
`127.0.0.1:<port>/...` need only the credentials under test.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker as sdk
import httpx
import pytest

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import ALL_REASONS, World
from tests.integration.docker.helpers import (
    BASE_IMAGE,
    NO_GIT,
    NOTHING_LEFT,
    docker_runner,
    job_resources,
    run_docker_job,
)

pytestmark = pytest.mark.integration

USER = "rfuser"
REASONS = [*ALL_REASONS, "image_pull_failure"]


class Registry:
    def __init__(self, address: str, password: str, image: str) -> None:
        self.address = address
        self.password = password
        self.image = image

    def auth_config(self, password: str | None = None) -> str:
        token = base64.b64encode(f"{USER}:{password or self.password}".encode()).decode()
        return json.dumps({"auths": {self.address: {"auth": token}}})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def registry(docker_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry with htpasswd auth on 127.0.0.1, holding one pushed image."""
    root = tmp_path_factory.mktemp("registry")
    password = secrets.token_hex(12)
    htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, password], check=True, capture_output=True,
                              text=True)
    (root / "htpasswd").write_text(htpasswd.stdout)
    address = f"127.0.0.1:{_free_port()}"
    (root / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: {address}\n"
        f"auth:\n  htpasswd:\n    realm: runnerfleet-test\n    path: {root / 'htpasswd'}\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=(root / "registry.log").open("wb"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://{address}/v2/", trust_env=False).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not start:\n{(root / 'registry.log').read_text()}")
            time.sleep(0.1)
        repository = f"{address}/rftest/debian"
        client = sdk.from_env()
        try:
            client.images.get(BASE_IMAGE).tag(repository, "1")
            for event in client.api.push(repository, tag="1", stream=True, decode=True,
                                         auth_config={"username": USER, "password": password}):
                assert "error" not in event, event
            client.images.remove(f"{repository}:1")  # only the registry has it now
        finally:
            client.close()
        yield Registry(address, password, f"{repository}:1")
    finally:
        proc.terminate()
        proc.wait(10)


def _runner(world: World, **keys: Any) -> RunnerConfig:
    return docker_runner(world, pull_policy=["always"], **keys)


def test_docker_auth_config_job_variable_authenticates_the_pull(
        world: World, provider: DockerExecutorProvider, registry: Registry) -> None:
    result, log = run_docker_job(
        world, provider, ["cat /etc/debian_version"], runner=_runner(world), image={"name": registry.image},
        variables=[*NO_GIT, {"key": "DOCKER_AUTH_CONFIG", "value": registry.auth_config()}])
    assert result.state == "success", log
    assert "Authenticating with credentials from $DOCKER_AUTH_CONFIG\x1b[0;m\n" in log
    assert f"Pulling docker image {registry.image} ..." in log
    assert registry.password not in log
    assert job_resources(4242) == NOTHING_LEFT


def test_payload_registry_credentials_authenticate_the_pull(
        world: World, provider: DockerExecutorProvider, registry: Registry) -> None:
    credentials = [{"type": "registry", "url": registry.address, "username": USER,
                    "password": registry.password}]
    result, log = run_docker_job(world, provider, ["true"], runner=_runner(world),
                                 image={"name": registry.image}, variables=NO_GIT, credentials=credentials)
    assert result.state == "success", log
    assert "Authenticating with credentials from job payload (GitLab Registry)\x1b[0;m\n" in log
    assert registry.password not in log


def test_the_runner_users_docker_config_is_used_and_docker_auth_config_comes_first(
        world: World, provider: DockerExecutorProvider, registry: Registry, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(registry.auth_config())
    monkeypatch.setenv("HOME", str(home))  # the runner user's home directory
    # The home config has the right password, the payload a wrong one: the home config wins.
    wrong = [{"type": "registry", "url": registry.address, "username": USER, "password": "wrong"}]
    result, log = run_docker_job(world, provider, ["true"], runner=_runner(world),
                                 image={"name": registry.image}, variables=NO_GIT, credentials=wrong)
    assert result.state == "success", log
    assert f"Authenticating with credentials from {home / '.docker' / 'config.json'}\x1b[0;m\n" in log

    # DOCKER_AUTH_CONFIG from the runner's environment comes before the home config.
    runner = _runner(world, environment=[f"DOCKER_AUTH_CONFIG={registry.auth_config('not-the-password')}"])
    result, log = run_docker_job(world, provider, ["true"], runner=runner, failure_reasons=REASONS,
                                 image={"name": registry.image}, variables=NO_GIT)
    assert result.state == "failed" and result.failure_reason == "image_pull_failure", log
    assert "Authenticating with credentials from $DOCKER_AUTH_CONFIG\x1b[0;m\n" in log
    assert "not-the-password" not in log and registry.password not in log


def test_wrong_credentials_fail_the_job_with_a_line_naming_the_image_and_the_registry(
        world: World, provider: DockerExecutorProvider, registry: Registry) -> None:
    result, log = run_docker_job(
        world, provider, ["true"], runner=_runner(world), image={"name": registry.image},
        failure_reasons=REASONS,
        variables=[*NO_GIT, {"key": "DOCKER_AUTH_CONFIG", "value": registry.auth_config("wrong-password")}])
    assert (result.state, result.failure_reason) == ("failed", "image_pull_failure"), log
    line = next(line for line in log.splitlines() if "Job failed" in line)
    assert f'failed to pull image "{registry.image}" with specified policies [always]' in line
    assert f"(registry {registry.address}, credentials from $DOCKER_AUTH_CONFIG)" in line
    assert "wrong-password" not in log
    assert job_resources(4242) == NOTHING_LEFT


def test_a_credential_helper_named_in_the_home_config_gives_the_credentials(
        world: World, provider: DockerExecutorProvider, registry: Registry, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    (home / ".docker").mkdir(parents=True)
    # A credential helper program (docker-credential-<name> get: server on stdin, JSON out).
    helper = bin_dir / "docker-credential-rftest"
    answer = json.dumps({"ServerURL": registry.address, "Username": USER, "Secret": registry.password})
    helper.write_text(f"#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n"
                      f"[ \"$server\" = \"{registry.address}\" ] || "
                      "{ echo \"credentials not found\"; exit 1; }\n"
                      f"echo '{answer}'\n")
    helper.chmod(0o755)
    config = home / ".docker" / "config.json"
    config.write_text(json.dumps({"credHelpers": {registry.address: "rftest"}}))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result, log = run_docker_job(world, provider, ["true"], runner=_runner(world),
                                 image={"name": registry.image}, variables=NO_GIT)
    assert result.state == "success", log
    assert f"Authenticating with credentials from {config}\x1b[0;m\n" in log
    assert registry.password not in log
