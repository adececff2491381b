"""Artifacts between an SSH job and a shell job (issue 7), and the line a target without runnerfleet gets.

The SSH target is an sshd container with runnerfleet installed from wheels built on this host;
the coordinator listens on the docker bridge address so the target's helper commands reach it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.build import Build, JobResult
from runnerfleet.config import RunnerConfig, SshConfig
from runnerfleet.executors.ssh import SshExecutorProvider
from runnerfleet.trace import TraceBuffer
from tests.fixtures.coordinator import start_coordinator
from tests.integration.artifacts.helpers import Api, Taken
from tests.integration.artifacts.pipeline import EMPTY_CHECKOUT, Runner
from tests.integration.ssh.sshd import KeyPair, SshdContainer, start_sshd
from tests.integration.ssh.targets import build_wheelhouse, install_runnerfleet

pytestmark = pytest.mark.integration

# The docker bridge's host address (testworld §1): reachable from containers, not from outside.
BRIDGE_LISTEN = "172.17.0.1:0"
_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]|section_(start|end):\d+:\S+\r")


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    return build_wheelhouse()


@pytest.fixture
def bridge_api(tmp_path: Path) -> Iterator[Api]:
    coordinator = start_coordinator(tmp_path / "coordinator", listen=BRIDGE_LISTEN)
    api = Api(coordinator)
    try:
        yield api
    finally:
        api.close()
        coordinator.stop()


@pytest.fixture
def bare_target(test_image: None, key: KeyPair) -> Iterator[SshdContainer]:
    """An SSH target without runnerfleet."""
    container = start_sshd(key)
    try:
        yield container
    finally:
        container.remove()


@pytest.fixture
def target(bare_target: SshdContainer, wheelhouse: Path) -> SshdContainer:
    """An SSH target with runnerfleet on the login shell's PATH."""
    install_runnerfleet(bare_target.name, wheelhouse)
    return bare_target


@dataclass
class Ran:
    taken: Taken
    result: JobResult
    log: str


class SshRunner:
    """An ssh runner of the coordinator logging in as root with the test key."""

    def __init__(self, api: Api, target: SshdContainer, key: KeyPair, workdir: Path) -> None:
        self.api = api
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(target.host_key_line + "\n")
        self.config = RunnerConfig(name="ssh-e2e", url=api.url, token=api.runner_token, executor="ssh",
                                   ssh=SshConfig(host="127.0.0.1", port=str(target.port), user="root",
                                                 identity_file=str(key.private_path),
                                                 known_hosts_file=str(known_hosts)))

    def run(self, *script: str, **body: Any) -> Ran:
        taken = self.api.take(script=list(script), variables=list(EMPTY_CHECKOUT), **body)
        trace = TraceBuffer(timestamps=False)
        build = Build(taken.payload, self.config, trace, system_id="s_0123456789ab", concurrent_id=0,
                      concurrent_project_id=0, working_directory=self.workdir,
                      provider=SshExecutorProvider())
        result = build.run()
        self.api.finish(taken, "success" if result.state == "success" else "failed")
        return Ran(taken, result, _ANSI.sub("", trace.bytes_since(0).decode("utf-8", "replace")))


def test_a_shell_job_downloads_the_artifacts_an_ssh_job_uploaded(
        bridge_api: Api, target: SshdContainer, key: KeyPair, tmp_path: Path) -> None:
    remote = SshRunner(bridge_api, target, key, tmp_path / "ssh-runner")
    producer = remote.run("mkdir -p out", 'echo "made on $(hostname)" > out/report.txt', name="remote-build",
                          artifacts=[{"name": "report", "paths": ["out/"]}])
    assert producer.result.state == "success", producer.log
    assert "Using SSH executor..." in producer.log
    assert "Uploading artifacts to coordinator... 201 Created" in producer.log
    assert producer.taken.token not in producer.log
    assert [a["filename"] for a in bridge_api.artifacts(producer.taken.id)] == ["report.zip"]

    local = Runner(bridge_api, tmp_path / "shell-runner")
    consumer = local.run("cat out/report.txt", name="local-test", dependencies=[producer.taken.id])
    assert consumer.state == "success", consumer.log
    assert "Downloading artifacts from coordinator... ok" in consumer.log
    assert f"\nmade on {target.exec('hostname').strip()}\n" in consumer.log


def test_an_ssh_job_downloads_the_artifacts_a_shell_job_uploaded(
        bridge_api: Api, target: SshdContainer, key: KeyPair, tmp_path: Path) -> None:
    local = Runner(bridge_api, tmp_path / "shell-runner")
    producer = local.run("mkdir -p out", "echo 'made on the runner host' > out/notes.txt",
                         name="local-build", artifacts=[{"name": "notes", "paths": ["out/"]}])
    assert producer.state == "success", producer.log
    assert "Uploading artifacts to coordinator... 201 Created" in producer.log

    remote = SshRunner(bridge_api, target, key, tmp_path / "ssh-runner")
    consumer = remote.run("cat out/notes.txt", "hostname", name="remote-test",
                          dependencies=[producer.taken.id])
    assert consumer.result.state == "success", consumer.log
    assert f"Downloading artifacts for local-build ({producer.taken.id})..." in consumer.log
    assert "Downloading artifacts from coordinator... ok" in consumer.log
    assert "\nmade on the runner host\n" in consumer.log
    assert f"\n{target.exec('hostname').strip()}\n" in consumer.log


def test_an_ssh_target_without_runnerfleet_says_how_to_install_it(
        bridge_api: Api, bare_target: SshdContainer, key: KeyPair, tmp_path: Path) -> None:
    remote = SshRunner(bridge_api, bare_target, key, tmp_path / "ssh-runner")
    ran = remote.run("echo data > out.txt", artifacts=[{"paths": ["out.txt"]}])
    # gitlab-runner's guard only warns: the job's own result stands, nothing is uploaded.
    assert ran.result.state == "success", ran.log
    warnings = [line for line in ran.log.splitlines() if "Missing runnerfleet" in line]
    assert len(warnings) == 1, ran.log
    warning = warnings[0]
    assert warning.startswith("Missing runnerfleet. Uploading artifacts is disabled.")
    assert "pip install" in warning and "PATH" in warning
    assert bridge_api.artifacts(ran.taken.id) == []


def test_an_ssh_job_restores_the_cache_an_earlier_ssh_job_saved_on_the_target(
        bridge_api: Api, target: SshdContainer, key: KeyPair, tmp_path: Path) -> None:
    remote = SshRunner(bridge_api, target, key, tmp_path / "ssh-runner")
    cache = [{"key": "deps-ssh", "paths": ["vendor/"]}]
    first = remote.run("mkdir -p vendor", "echo 'cached on target' > vendor/lib.txt", cache=cache)
    assert first.result.state == "success", first.log
    assert "Creating cache deps-ssh..." in first.log and "Created cache" in first.log
    # GIT_STRATEGY=empty empties the build dir first: only the cache can bring the file back.
    second = remote.run("cat vendor/lib.txt", cache=cache)
    assert second.result.state == "success", second.log
    assert "Successfully extracted cache" in second.log
    assert "\ncached on target\n" in second.log
