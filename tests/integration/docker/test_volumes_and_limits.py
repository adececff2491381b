"""volumes/cache keys and container limits, observed from inside the job's container."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import World
from tests.integration.docker.helpers import (
    NO_GIT,
    NOTHING_LEFT,
    docker_runner,
    job_resources,
    run_docker_job,
)

pytestmark = pytest.mark.integration


def _cache_id(tmp: Path) -> str:
    return tmp.name  # distinct per test, so cache volumes of other tests never interfere


def test_a_cache_volume_keeps_files_between_jobs_of_the_project(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, volumes=["/cache"])
    key = _cache_id(world.root)
    first, log = run_docker_job(world, provider, [f"echo kept > /cache/{key}"], runner=runner,
                                variables=NO_GIT)
    assert first.state == "success", log
    second, log = run_docker_job(world, provider, [f"cat /cache/{key}", f"rm /cache/{key}"], runner=runner,
                                 variables=NO_GIT, id=4243)
    assert second.state == "success", log
    assert "kept\n" in log
    assert job_resources(4242) == NOTHING_LEFT and job_resources(4243) == NOTHING_LEFT


def test_disable_cache_gives_every_job_an_empty_cache_volume(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, volumes=["/cache"], disable_cache=True)
    key = _cache_id(world.root)
    first, log = run_docker_job(world, provider, [f"echo kept > /cache/{key}"], runner=runner,
                                variables=NO_GIT)
    assert first.state == "success", log
    _, log = run_docker_job(world, provider, [f"cat /cache/{key} || echo cache-is-empty"], runner=runner,
                            variables=NO_GIT)
    assert "cache-is-empty\n" in log
    assert job_resources(4242) == NOTHING_LEFT


def test_cache_dir_keeps_cache_volumes_as_host_directories(
        world: World, provider: DockerExecutorProvider, tmp_path: Path) -> None:
    host_cache = tmp_path / "host-cache"
    runner = docker_runner(world, volumes=["/cache"], cache_dir=str(host_cache))
    result, log = run_docker_job(world, provider, ["echo on-the-host > /cache/file"], runner=runner,
                                 variables=NO_GIT)
    assert result.state == "success", log
    files = list(host_cache.glob("runnerfleet-abcdefghi-project-7/*/file"))
    assert [f.read_text() for f in files] == ["on-the-host\n"]


def test_bind_mounts_from_volumes_are_visible_in_the_job(
        world: World, provider: DockerExecutorProvider, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "input.txt").write_text("from-the-host\n")
    runner = docker_runner(world, volumes=[f"{shared}:/data:ro"])
    result, log = run_docker_job(world, provider, ["cat /data/input.txt", "touch /data/x || echo read-only"],
                                 runner=runner, variables=NO_GIT)
    assert result.state == "success", log
    assert "from-the-host\n" in log and "read-only\n" in log


def test_limits_and_options_apply_to_the_build_container(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, memory="96m", memory_swap="96m", cpus="0.5", shm_size=8 * 1024 * 1024,
                           dns=["10.53.0.53"], extra_hosts=["db.internal:10.1.2.3"],
                           cap_drop=["CHOWN"], security_opt=["no-new-privileges"],
                           devices=["/dev/null:/dev/runnerfleet-null"], tmpfs={"/scratch": "rw,size=4m"})
    result, log = run_docker_job(world, provider, [
        # cgroup v2 files first, else the v1 ones (this machine's docker uses v1).
        "cg=/sys/fs/cgroup; if [ -f $cg/memory.max ]; then echo memory=$(cat $cg/memory.max); "
        "else echo memory=$(cat $cg/memory/memory.limit_in_bytes); fi",
        "if [ -f $cg/cpu.max ]; then echo cpu=$(cat $cg/cpu.max); "
        "else echo cpu=$(cat $cg/cpu/cpu.cfs_quota_us) $(cat $cg/cpu/cpu.cfs_period_us); fi",
        "echo shm=$(df -k /dev/shm | awk 'NR==2 {print $2}')",
        "grep nameserver /etc/resolv.conf",
        "grep db.internal /etc/hosts",
        "touch f && (chown nobody f 2>/dev/null && echo chown-allowed || echo chown-refused)",
        "grep NoNewPrivs /proc/self/status",
        "test -c /dev/runnerfleet-null && echo device-present",
        "echo scratch=$(df -k /scratch | awk 'NR==2 {print $1, $2}')",
    ], runner=runner, variables=NO_GIT)
    assert result.state == "success", log
    assert f"memory={96 * 1024 * 1024}\n" in log
    assert "cpu=50000 100000\n" in log
    assert "shm=8192\n" in log
    assert "nameserver 10.53.0.53\n" in log
    assert "10.1.2.3\tdb.internal\n" in log
    assert "chown-refused\n" in log
    assert "NoNewPrivs:\t1\n" in log
    assert "device-present\n" in log
    assert "scratch=tmpfs 4096\n" in log


def test_running_out_of_memory_fails_the_job_with_a_clear_line(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, memory="48m", memory_swap="48m")
    result, log = run_docker_job(world, provider, [
        "python3 -c 'blocks = [bytearray(8 * 1024 * 1024) for _ in range(64)]'"],
        runner=runner, variables=NO_GIT)
    assert result.state == "failed" and result.failure_reason == "script_failure"
    assert result.exit_code == 137
    # The daemon flags the OOM kill through an event that a loaded host may deliver late; the job
    # line then names the memory limit as the likely cause instead of confirming it.
    confirmed = ('Job failed: exit code 137 (the container ran out of memory and was OOM-killed; '
                 'runners.docker.memory = "48m")')
    likely = ('Job failed: exit code 137 (the script was killed, most likely by the memory limit: '
              'runners.docker.memory = "48m")')
    assert confirmed in log or likely in log
    assert job_resources(4242) == NOTHING_LEFT


def test_privileged_refused_by_this_daemon_fails_with_a_clear_line(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, privileged=True)
    result, log = run_docker_job(world, provider, ["echo never-runs"], runner=runner, variables=NO_GIT)
    if result.state == "success":
        # A daemon whose host grants every capability runs privileged containers: nothing to explain.
        assert "never-runs\n" in log
        return
    assert result.failure_reason == "runner_configuration_error"
    assert "runners.docker.privileged = true: this docker daemon cannot start privileged containers" in log
    assert "never-runs\n" not in log
    assert job_resources(4242) == NOTHING_LEFT


def test_gpus_on_a_daemon_without_a_gpu_driver_fail_the_job_with_one_line_naming_the_key(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, gpus="all")
    result, log = run_docker_job(world, provider, ["echo never-runs"], runner=runner, variables=NO_GIT)
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error"), log
    failed = [line for line in log.splitlines() if "Job failed" in line]
    assert len(failed) == 1
    assert 'runners.docker.gpus = "all": this docker daemon has no GPU device driver' in failed[0]
    assert "never-runs\n" not in log
    assert job_resources(4242) == NOTHING_LEFT


def test_network_mode_none_leaves_the_job_without_a_network(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, network_mode="none")
    result, log = run_docker_job(world, provider, ["ls /sys/class/net | tr '\\n' ' '; echo"], runner=runner,
                                 variables=NO_GIT)
    assert result.state == "success", log
    assert "\nlo \n" in log
