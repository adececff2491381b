"""Containers, networks and volumes of a runner process that was killed are removed when a provider starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import docker as sdk
import pytest

from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import World
from tests.integration.docker.helpers import NOTHING_LEFT, docker_runner, job_resources, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]

_KILLED_RUNNER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from runnerfleet.config import DockerConfig, RunnerConfig
    from runnerfleet.executors.docker import DockerExecutorProvider
    from tests.integration.build.helpers import World, payload, start_job
    from tests.integration.docker.helpers import docker_runner, wait_until
    root = Path(sys.argv[1])
    world = World(root, {}, root / "acme" / "webapp.git", "", root / "runner")
    body = payload(world, ["echo started", "sleep 300"], variables=[{"key": "GIT_STRATEGY", "value": "none"}],
                   id=5151)
    runner = docker_runner(world, volumes=["/cache"])
    run = start_job(world, body, runner=runner, provider=DockerExecutorProvider())
    wait_until("the script to start", lambda: "started" in run.log)
    print("started", flush=True)
    run.wait(600)
""")


def test_a_killed_runners_containers_are_removed_at_the_next_start_but_cache_volumes_stay(
        world: World, provider: DockerExecutorProvider) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUNNER, str(world.root)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = job_resources(5151)
    # A job without helper work has only its build container (and its builds volume).
    assert [name.rsplit("-", 1)[-1] for name in left["containers"]] == ["build"]
    assert len(left["volumes"]) == 1

    client = sdk.from_env()
    try:
        cache = client.volumes.list(filters={"label": ["com.runnerfleet.type=cache",
                                                       "com.runnerfleet.project.id=7"]})
        assert cache, "the job's /cache volume should exist"
        provider.daemon_for(docker_runner(world).docker)
        assert provider.orphans_removed >= 2  # the build container and the builds volume
        wait_until("the orphans to be gone", lambda: job_resources(5151) == NOTHING_LEFT)
        kept = client.volumes.list(filters={"label": ["com.runnerfleet.type=cache",
                                                      "com.runnerfleet.project.id=7"]})
        assert {v.name for v in kept} == {v.name for v in cache}
    finally:
        client.close()
