"""Benchmark: per-job overhead of the docker executor as a user sees it, vs a raw `docker run --rm`.

Usage: .venv/bin/python bench/docker_overhead.py [--rounds N] [--parallel N]
Needs a running dockerd, runnerfleet/debian:bookworm and the helper image
(scripts/testworld/dockerd.sh, scripts/testworld/images.sh, scripts/build-helper-image.sh).
Prints tables; asserts nothing.

1. User-visible: a real coordinator and a `runnerfleet run` process (docker executor,
   check_interval 1, parked in a held long poll as in bench/cases.py); the trivial job (`echo hi`,
   GIT_STRATEGY=none) is enqueued and timed from the job row's `created_at` (enqueue) to the
   coordinator's answer to the final `PUT /jobs/:id state=success` (its request log): what a user
   watching the pipeline sees. Baseline, right before each job: `docker run --rm
   runnerfleet/debian:bookworm sh -c 'echo hi'` (the docker CLI, wall clock).
   Also the runner process's CPU time per job (utime+stime from /proc, over all timed jobs), a
   measure that does not depend on how loaded the machine is.
2. Engine API round trips per job: the same job through `Build` in this process, every request the
   docker SDK sends counted (the job's own, and those of the removal that follows its final status;
   with the code before that change, all are the job's own).
3. N jobs in parallel through `Build` (one thread each): wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import PYTHON, Coordinator, wait_polling  # noqa: E402

from runnerfleet.build import Build  # noqa: E402
from runnerfleet.config import DockerConfig, RunnerConfig  # noqa: E402
from runnerfleet.executors.docker import DockerExecutorProvider  # noqa: E402
from runnerfleet.trace import TraceBuffer  # noqa: E402

IMAGE = "runnerfleet/debian:bookworm"
SCRIPT = "echo hi"


def job_body(job_id: int) -> dict[str, Any]:
    return {
        "id": job_id, "token": "glcbt-64_benchmarkjobtoken",
        "job_info": {"id": job_id, "name": "bench", "stage": "test", "project_id": 1,
                     "project_name": "bench"},
        "git_info": {"repo_url": "https://gitlab.example.com/bench/bench.git", "ref": "main",
                     "sha": "0" * 40, "before_sha": "", "ref_type": "branch", "refspecs": [], "depth": 0},
        "runner_info": {"timeout": 600},
        "variables": [{"key": "GIT_STRATEGY", "value": "none", "public": True}],
        "steps": [{"name": "script", "script": [SCRIPT], "timeout": 600, "when": "on_success",
                   "allow_failure": False}],
        "features": {"trace_sections": True},
    }


def raw_docker_run() -> float:
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", IMAGE, "sh", "-c", SCRIPT], check=True, capture_output=True)
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children (/proc/<pid>/stat fields 14-17)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_docker_runner(tmp: Path, coordinator: Coordinator, token: str) -> subprocess.Popen[bytes]:
    home = Path(tempfile.mkdtemp(prefix="runner-", dir=tmp))
    config = home / "config.toml"
    (home / "work").mkdir()
    config.write_text(
        "concurrent = 1\ncheck_interval = 1\n\n[[runners]]\n  name = \"bench-docker\"\n"
        f"  url = \"{coordinator.url}\"\n  token = \"{token}\"\n  executor = \"docker\"\n"
        f"  [runners.docker]\n    image = \"{IMAGE}\"\n    pull_policy = [\"if-not-present\"]\n")
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "DOCKER_HOST")}
    env["HOME"] = str(home)
    return subprocess.Popen([PYTHON, "-m", "runnerfleet", "run", "-c", str(config), "-d", str(home / "work")],
                            cwd=home, env=env, stdout=subprocess.DEVNULL,
                            stderr=(home / "runner.log").open("wb"))


def user_visible(tmp: Path, rounds: int) -> tuple[list[float], list[float], float]:
    """(enqueue -> final PUT answered per job, raw docker run per job, runner CPU s per job)."""
    c = Coordinator(tmp, "--long-poll-timeout", "50")
    runner = start_docker_runner(tmp, c, c.create_runner())
    jobs: list[float] = []
    raws: list[float] = []
    cpu_start = 0.0
    try:
        wait_polling(c)
        for i in range(rounds + 2):
            time.sleep(2.3)  # the runner is parked in a held long poll
            raw = raw_docker_run()
            if i == 2:
                cpu_start = cpu_seconds(runner.pid)
            job_id = c.enqueue([SCRIPT])
            row = c.wait_final(job_id, poll=0.002)
            if row["status"] != "success":
                raise SystemExit(f"job {job_id} ended {row}")
            puts = c.put_times(job_id)
            while "success" not in puts:
                time.sleep(0.002)
                puts = c.put_times(job_id)
            if i < 2:
                continue  # warm-up: imports, daemon connection, orphan check
            jobs.append(puts["success"] - row["created_at"])
            raws.append(raw)
        cpu = (cpu_seconds(runner.pid) - cpu_start) / rounds
    finally:
        runner.terminate()
        runner.wait(60)
        c.close()
    return jobs, raws, cpu


def run_job(provider: DockerExecutorProvider, runner: RunnerConfig, job_id: int, workdir: Path) -> float:
    trace = TraceBuffer(timestamps=False)
    start = time.perf_counter()
    result = Build(job_body(job_id), runner, trace, system_id="s_bench", concurrent_id=0,
                   concurrent_project_id=0, working_directory=workdir, provider=provider).run()
    elapsed = time.perf_counter() - start
    if result.state != "success":
        raise SystemExit(f"job {job_id} failed:\n{trace.bytes_since(0).decode()}")
    return elapsed


def round_trips(provider: DockerExecutorProvider, runner: RunnerConfig, workdir: Path
                ) -> tuple[int, int, float]:
    """Engine API requests of one job (its own, its removal's) and how long the removal went on
    after the job had ended (what the final status would wait for if it came after the removal)."""
    daemon = provider.daemon_for(runner.docker)
    job: list[str] = []
    removal: list[str] = []
    original = daemon.api.request

    def counted(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # The removal runs in its own thread once the job has ended (docker-cleanup-<job id>).
        in_removal = threading.current_thread().name.startswith("docker-cleanup")
        (removal if in_removal else job).append(f"{method} {url}")
        return original(method, url, *args, **kwargs)

    provider.wait_for_removals()
    daemon.api.request = counted
    try:
        run_job(provider, runner, 50, workdir)
        ended = time.perf_counter()
        provider.wait_for_removals()
        removal_s = time.perf_counter() - ended
    finally:
        daemon.api.request = original
    return len(job), len(removal), removal_s


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="runnerfleet-bench-docker-"))
    load = os.getloadavg()[0]

    jobs, raws, cpu = user_visible(tmp, args.rounds)

    provider = DockerExecutorProvider()
    runner = RunnerConfig(name="bench", token="glrt-t1_bench", executor="docker",
                          docker=DockerConfig(image=IMAGE, pull_policy=["if-not-present"]))
    workdir = tmp / "build"
    run_job(provider, runner, 1, workdir)  # warm-up
    before, after, removal_s = round_trips(provider, runner, workdir)

    parallel: list[float] = []
    lock = threading.Lock()

    def one(job_id: int) -> None:
        elapsed = run_job(provider, runner, job_id, workdir)
        with lock:
            parallel.append(elapsed)

    wall_start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(1000 + i,)) for i in range(args.parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall_start
    provider.close()

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |"

    print(f"load average (1 min) at start: {load:.2f}, CPUs: {os.cpu_count()}")
    print(f"| measurement (trivial job, {args.rounds} rounds) | median s | min s | max s |")
    print("|---|---|---|---|")
    print(row("runnerfleet run: enqueue → final PUT answered", jobs))
    print(row(f"docker run --rm {IMAGE} sh -c '{SCRIPT}'", raws))
    ratio = statistics.median(jobs) / statistics.median(raws)
    print(f"| ratio job / raw (target ≤ 1.2) | {ratio:.2f} | | |")
    print(f"| runner process CPU per job | {cpu:.3f} | | |")
    print(f"| Engine API requests per job: before final status / removal after it | {before} / {after} | | |")
    print(f"| removal still running after the job ended (not in the final status) | {removal_s:.3f} | | |")
    print(f"| {args.parallel} parallel jobs (Build): wall time | {wall:.3f} | | |")
    print(row(f"{args.parallel} parallel jobs (Build): per job", parallel))


if __name__ == "__main__":
    main()
