"""Artifacts and cache through the docker executor's helper container (issue 6), jobs from a coordinator.

The coordinator listens on the docker bridge address so the helper container, which runs
`runnerfleet artifacts-uploader/-downloader` and `cache-archiver/-extractor`, can reach it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.build import Build, JobResult
from runnerfleet.config import DockerConfig, RunnerConfig
from runnerfleet.executors.docker import DockerExecutorProvider
from runnerfleet.trace import TraceBuffer
from tests.fixtures.coordinator import start_coordinator
from tests.integration.artifacts.helpers import Api, Taken
from tests.integration.docker.helpers import BASE_IMAGE

pytestmark = pytest.mark.integration

# The docker bridge's host address (testworld §1): reachable from containers, not from outside.
BRIDGE_LISTEN = "172.17.0.1:0"
_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]|section_(start|end):\d+:\S+\r")
EMPTY_CHECKOUT = [{"key": "GIT_STRATEGY", "value": "empty"}]


@pytest.fixture
def bridge_api(tmp_path: Path, docker_ready: None) -> Iterator[Api]:
    coordinator = start_coordinator(tmp_path / "coordinator", listen=BRIDGE_LISTEN)
    api = Api(coordinator)
    try:
        yield api
    finally:
        api.close()
        coordinator.stop()


@dataclass
class Ran:
    taken: Taken
    result: JobResult
    log: str


class DockerRunner:
    """One docker runner of the coordinator; its jobs share one builds/cache working directory."""

    def __init__(self, api: Api, provider: DockerExecutorProvider, workdir: Path,
                 volumes: list[str] | None = None) -> None:
        self.api = api
        self.provider = provider
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = RunnerConfig(name="docker-e2e", url=api.url, token=api.runner_token,
                                   executor="docker",
                                   docker=DockerConfig(image=BASE_IMAGE, pull_policy=["if-not-present"],
                                                       volumes=volumes or []))

    def run(self, *script: str, **body: Any) -> Ran:
        taken = self.api.take(script=list(script), variables=list(EMPTY_CHECKOUT), **body)
        trace = TraceBuffer(timestamps=False)
        build = Build(taken.payload, self.config, trace, system_id="s_0123456789ab", concurrent_id=0,
                      concurrent_project_id=0, working_directory=self.workdir, provider=self.provider)
        result = build.run()
        self.api.finish(taken, "success" if result.state == "success" else "failed")
        return Ran(taken, result, _ANSI.sub("", trace.bytes_since(0).decode("utf-8", "replace")))


def remove_cache_volumes(short_token: str) -> None:
    """The runner's per-project cache volumes outlive jobs by design; a test removes its own."""
    listed = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=runnerfleet-{short_token}-"],
                            capture_output=True, text=True, check=True).stdout.split()
    if listed:
        subprocess.run(["docker", "volume", "rm", "-f", *listed], capture_output=True, check=False)


def test_a_docker_job_downloads_the_artifacts_another_docker_job_uploaded(
        bridge_api: Api, provider: DockerExecutorProvider, tmp_path: Path) -> None:
    runner = DockerRunner(bridge_api, provider, tmp_path / "runner")
    producer = runner.run("mkdir -p dist", "echo 'bundle from docker' > dist/app.js",
                          "printf 'spaces' > 'dist/with space.txt'", name="build",
                          artifacts=[{"name": "dist", "paths": ["dist/"]}])
    assert producer.result.state == "success", producer.log
    assert "Uploading artifacts for successful job" in producer.log
    assert "Uploading artifacts to coordinator... 201 Created" in producer.log
    assert "Missing runnerfleet" not in producer.log
    assert [a["filename"] for a in bridge_api.artifacts(producer.taken.id)] == ["dist.zip"]

    consumer = runner.run("cat dist/app.js", "cat 'dist/with space.txt'; echo", name="test",
                          dependencies=[producer.taken.id])
    assert consumer.result.state == "success", consumer.log
    assert f"Downloading artifacts for build ({producer.taken.id})..." in consumer.log
    assert "Downloading artifacts from coordinator... ok" in consumer.log
    assert "\nbundle from docker\n" in consumer.log
    assert "\nspaces\n" in consumer.log
    assert consumer.log.index("Downloading artifacts") < consumer.log.index("$ cat dist/app.js")


def test_a_docker_job_restores_the_cache_an_earlier_docker_job_saved(
        bridge_api: Api, provider: DockerExecutorProvider, tmp_path: Path) -> None:
    # `volumes = ["/cache"]` is what `register` writes: the project's cache volume outlives a job.
    runner = DockerRunner(bridge_api, provider, tmp_path / "runner", volumes=["/cache"])
    try:
        cache = [{"key": "deps-docker", "paths": ["vendor/"], "policy": "pull-push"}]
        first = runner.run("test ! -e vendor/lib.txt && echo 'cold cache'", "mkdir -p vendor",
                           "echo 'cached v1' > vendor/lib.txt", name="first", cache=cache)
        assert first.result.state == "success", first.log
        assert "\ncold cache\n" in first.log
        assert "Creating cache deps-docker..." in first.log
        assert "Created cache" in first.log
        assert "Missing runnerfleet" not in first.log

        # GIT_STRATEGY=empty empties the build dir first: only the cache can bring the file back.
        second = runner.run("cat vendor/lib.txt", name="second", cache=cache)
        assert second.result.state == "success", second.log
        assert "Checking cache for deps-docker..." in second.log
        assert "Successfully extracted cache" in second.log
        assert "\ncached v1\n" in second.log
    finally:
        remove_cache_volumes(runner.config.short_token)
