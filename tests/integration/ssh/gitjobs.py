"""The shell executor's job set through a coordinator on the docker bridge, for executors with remote targets.

The coordinator listens on 172.17.0.1 (the docker bridge's host address), so a target in a
container or simulated VM clones the project over smart HTTP with the job token and its
`runnerfleet` helper commands reach the artifact and cache endpoints. One `runnerfleet run`
process serves two runners: the remote one (tag `remote`) and a shell runner (tag `local`), so
artifacts travel between a remote job and a local one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.coordinator import start_coordinator
from tests.integration.cache.s3server import BUCKET, S3Server, moto_server_command
from tests.integration.service.conftest import World, toml_value, wait_until

# The docker bridge's host address (testworld §1): reachable from containers, not from outside.
BRIDGE_HOST = "172.17.0.1"
PATIENCE = 240.0


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


def toml_document(values: dict[str, Any], runners: list[dict[str, Any]]) -> str:
    """config.toml text: global keys, then [[runners]] with nested tables ([runners.cache.s3])."""
    def table(header: str, entries: dict[str, Any]) -> list[str]:
        lines = [header] + [f"{k} = {toml_value(v)}" for k, v in entries.items() if not isinstance(v, dict)]
        name = header.strip("[]")
        for k, v in entries.items():
            if isinstance(v, dict):
                lines += ["", *table(f"[{name}.{k}]", v)]
        return lines

    lines = [f"{k} = {toml_value(v)}" for k, v in values.items()]
    for runner in runners:
        lines += ["", *table("[[runners]]", runner)]
    return "\n".join(lines) + "\n"


@dataclass
class S3OnBridge:
    """moto_server on the bridge address, so jobs in VMs reach the pre-signed cache URLs."""

    server: S3Server

    @property
    def cache_table(self) -> dict[str, Any]:
        return {"Type": "s3", "Shared": True,
                "s3": {"ServerAddress": self.server.address, "AccessKey": "test", "SecretKey": "test",
                       "BucketName": BUCKET, "Insecure": True, "BucketLocation": "us-east-1"}}


@contextmanager
def s3_on_bridge() -> Iterator[S3OnBridge]:
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind((BRIDGE_HOST, 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([moto_server_command(), "-H", BRIDGE_HOST, "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = S3Server(f"{BRIDGE_HOST}:{port}", proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://{server.address}/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto_server did not start on the bridge") from None
                time.sleep(0.1)
        server.client().create_bucket(Bucket=BUCKET)
        yield S3OnBridge(server)
    finally:
        server.stop()


def _bridge_fleet_fixture(tmp_path: Path) -> Iterator[BridgeFleet]:
    fleet = BridgeFleet(tmp_path)
    try:
        yield fleet
    finally:
        fleet.close()


class BridgeFleet:
    """A coordinator on the bridge with one pushed project, and a `runnerfleet run` service world."""

    PROJECT = "fleet/app"

    def __init__(self, tmp_path: Path) -> None:
        self.coordinator = start_coordinator(tmp_path / "coordinator", "--long-poll-timeout", "2",
                                             listen=f"{BRIDGE_HOST}:0")
        self.world = World(tmp_path, self.coordinator)
        self.admin = self.world.admin
        self.src = tmp_path / "src"
        created = self.admin.http.post("/-/projects", json={"path": self.PROJECT})
        assert created.status_code == 201, created.text
        self.repo_dir = created.json()["repo_dir"]
        self.src.mkdir()
        _git(self.src, "init", "-q", "-b", "main")
        self.commit("README.md", "version one\n", "first commit")

    def commit(self, name: str, text: str, message: str) -> str:
        """Commit `text` as `name` and push it to the coordinator's repository; the new sha."""
        (self.src / name).write_text(text)
        _git(self.src, "add", name)
        _git(self.src, "commit", "-q", "-m", message)
        _git(self.src, "push", "-q", self.repo_dir, "main")
        return _git(self.src, "rev-parse", "HEAD").strip()

    def create_runner(self, tag: str) -> str:
        return self.admin.create_runner(tag_list=[tag], run_untagged=False)

    def write_config(self, *runners: dict[str, Any]) -> None:
        entries = [{"url": self.coordinator.url, **r} for r in runners]
        self.world.config.write_text(toml_document({"concurrent": 1, "check_interval": 1}, entries))

    def enqueue(self, tag: str, *script: str, **body: Any) -> int:
        payload = {"project": self.PROJECT, "script": list(script), "tags": [tag], **body}
        r = self.admin.http.post("/-/jobs", json=payload)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def finished(self, job_id: int) -> dict[str, Any]:
        return self.admin.finished(job_id, patience=PATIENCE)

    def close(self) -> None:
        self.world.close()
        self.coordinator.stop()


@dataclass
class RemoteSide:
    """How the job set talks about the remote target of one executor."""

    tag: str
    # Whether the next job of the runner sees the previous checkout (shared SSH host), or a fresh
    # VM restored from its snapshot.
    keeps_checkout: bool
    # Command lines of the processes still running on the target(s) ([] when a VM is off).
    processes: Callable[[], list[str]]
    # The job timeout of the timeout job: it covers preparing too (booting a VM), as in gitlab-runner.
    timeout: int = 5
    # gitlab-runner's SSH-based executors report x/crypto/ssh's text for the exit status.
    failure_line: str = "ERROR: Job failed: Process exited with status 3"


def _wait_gone(remote: RemoteSide, fragment: str) -> None:
    wait_until(f"no process running {fragment!r} on the target",
               lambda: not [p for p in remote.processes() if fragment in p], PATIENCE)


_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f]{2}[OE][ +]", re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]|section_(start|end):\d+:\S+\r")


def plain(trace: str) -> str:
    """The job log as a reader sees it: no timestamp headers, colours or section markers."""
    return _ANSI.sub("", _STAMP.sub("", trace.replace("\r\n", "\n")))


def _assert_passed(job: dict[str, Any]) -> str:
    assert job["status"] == "success", job["trace"]
    return plain(str(job["trace"]))


def run_job_set(fleet: BridgeFleet, remote: RemoteSide, local_tag: str = "local") -> None:
    """Clone, fetch, cache, artifacts both ways, failure with after_script, cancel and timeout."""
    runner = fleet.world.run()
    tag = remote.tag

    # Clone with the job token over smart HTTP.
    first = fleet.finished(fleet.enqueue(tag, "cat README.md", "git log -1 --format='subject: %s'"))
    trace = _assert_passed(first)
    assert "Created fresh repository." in trace, trace
    assert "\nversion one\n" in trace and "\nsubject: first commit\n" in trace, trace

    # A second job gets the new commit: fetched into the same checkout on a shared target.
    sha = fleet.commit("README.md", "version two\n", "second commit")
    second = fleet.finished(fleet.enqueue(tag, "cat README.md", "git rev-parse HEAD", sha=sha))
    trace = _assert_passed(second)
    assert "\nversion two\n" in trace and f"\n{sha}\n" in trace, trace
    assert "Fetching changes" in trace, trace
    assert ("Created fresh repository." not in trace) == remote.keeps_checkout, trace

    # The cache a job saved is restored into the next job (the checkout is cleaned in between).
    cache = [{"key": "deps", "paths": ["vendor/"], "policy": "pull-push"}]
    saved = fleet.finished(fleet.enqueue(tag, "test ! -e vendor/lib.txt && echo cold cache",
                                         "mkdir -p vendor", "echo cached-remotely > vendor/lib.txt",
                                         cache=cache))
    trace = _assert_passed(saved)
    assert "\ncold cache\n" in trace and "Created cache" in trace, trace
    restored = fleet.finished(fleet.enqueue(tag, "cat vendor/lib.txt", cache=cache))
    trace = _assert_passed(restored)
    assert "Successfully extracted cache" in trace and "\ncached-remotely\n" in trace, trace

    # Artifacts from a remote job to a shell job on the runner host, and back.
    made = fleet.finished(fleet.enqueue(tag, "mkdir -p out",
                                        'echo "made remotely: $(cat README.md)" > out/r.txt',
                                        name="remote-build", artifacts=[{"name": "r", "paths": ["out/"]}]))
    trace = _assert_passed(made)
    assert "Uploading artifacts to coordinator... 201 Created" in trace, trace
    used = fleet.finished(fleet.enqueue(local_tag, "cat out/r.txt", dependencies=[made["id"]]))
    assert "\nmade remotely: version two\n" in _assert_passed(used)
    made = fleet.finished(fleet.enqueue(local_tag, "mkdir -p out", "echo made-locally > out/l.txt",
                                        name="local-build", artifacts=[{"name": "l", "paths": ["out/"]}]))
    _assert_passed(made)
    used = fleet.finished(fleet.enqueue(tag, "cat out/l.txt", dependencies=[made["id"]]))
    trace = _assert_passed(used)
    assert "Downloading artifacts from coordinator... ok" in trace and "\nmade-locally\n" in trace, trace

    # A failing script: after_script still runs, GitLab gets script_failure and the exit code.
    failed = fleet.finished(fleet.enqueue(tag, "echo about to fail", "exit 3",
                                          after_script=["echo after script ran with $CI_JOB_STATUS"]))
    outcome = (failed["status"], failed["failure_reason"], failed["exit_code"])
    assert outcome == ("failed", "script_failure", 3), failed["trace"]
    trace = plain(failed["trace"])
    assert "after script ran with failed" in trace, trace
    assert remote.failure_line in trace, trace

    # Canceled in GitLab: the remote script is killed.
    job_id = fleet.enqueue(tag, "echo started", "sleep 3001")
    fleet.admin.running_with(job_id, "started")
    fleet.admin.cancel(job_id)
    assert fleet.finished(job_id)["status"] == "canceled"
    runner.wait_line(rf"Removed job from processing list.*job={job_id}", patience=PATIENCE)
    _wait_gone(remote, "sleep 3001")

    # Over its timeout: killed, and GitLab gets job_execution_timeout.
    timed = fleet.finished(fleet.enqueue(tag, "echo waiting", "sleep 3002", timeout=remote.timeout))
    assert (timed["status"], timed["failure_reason"]) == ("failed", "job_execution_timeout"), timed["trace"]
    trace = plain(timed["trace"])
    assert "\nwaiting\n" in trace, trace
    _wait_gone(remote, "sleep 3002")

    runner.signal(signal.SIGQUIT)
    assert runner.wait(PATIENCE) == 0, runner.output
    # Nor on the runner host: no process works in the runner's directory any more.
    assert _processes_in(fleet.world.workdir) == []


def run_vm_job_set(fleet: BridgeFleet, *, executor: str, section: dict[str, Any], simulator: Path,
                   simulator_env: dict[str, str], identity_file: Path,
                   processes: Callable[[], list[str]]) -> str:
    """The job set with a VM executor whose hypervisor CLI is the `simulator` executable; the token.

    The service finds the CLI on its PATH, as on a host with the hypervisor installed. A VM goes
    back to its snapshot (or is new) for every job: only a distributed cache (S3 on the bridge)
    survives between jobs.
    """
    fleet.world.env["PATH"] = f"{simulator.parent}{os.pathsep}{fleet.world.env['PATH']}"
    fleet.world.env.update(simulator_env)
    token = fleet.create_runner("vm")
    with s3_on_bridge() as s3:
        fleet.write_config(
            {"name": "vm", "token": token, "executor": executor,
             "ssh": {"user": "root", "identity_file": str(identity_file),
                     "disable_strict_host_key_checking": True},
             executor: section, "cache": s3.cache_table},
            {"name": "local", "token": fleet.create_runner("local"), "executor": "shell"},
        )
        # Booting a VM counts against the job's timeout, as in gitlab-runner.
        run_job_set(fleet, RemoteSide("vm", keeps_checkout=False, processes=processes, timeout=60))
    return token


def _processes_in(directory: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if cwd == str(directory) or cwd.startswith(f"{directory}{os.sep}"):
                found.append(int(proc.name))
    return found


# Test modules import it: `from tests.integration.ssh.gitjobs import fleet`.
fleet = pytest.fixture(_bridge_fleet_fixture, name="fleet")
