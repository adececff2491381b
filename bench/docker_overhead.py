"""Benchmark: per-job overhead of the docker executor vs a raw `docker run --rm`, and 8 jobs in parallel.

Usage: .venv/bin/python bench/docker_overhead.py [--rounds N] [--parallel N]
Needs a running dockerd, runnerfleet/debian:bookworm and the helper image
(scripts/testworld/dockerd.sh, scripts/testworld/images.sh, scripts/build-helper-image.sh).
Prints a table; asserts nothing. The trivial job is `echo hi` with GIT_STRATEGY=none, so the
job runs prepare_script and get_sources (helper), step_script (build), cleanup (helper).
"""

from __future__ import annotations

import argparse
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


def run_job(provider: DockerExecutorProvider, runner: RunnerConfig, job_id: int, workdir: Path) -> float:
    body = job_body(job_id)
    trace = TraceBuffer(timestamps=False)
    start = time.perf_counter()
    result = Build(body, runner, trace, system_id="s_bench", concurrent_id=0, concurrent_project_id=0,
                   working_directory=workdir, provider=provider).run()
    elapsed = time.perf_counter() - start
    if result.state != "success":
        raise SystemExit(f"job {job_id} failed:\n{trace.bytes_since(0).decode()}")
    return elapsed


def raw_docker_run() -> float:
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", IMAGE, "sh", "-c", SCRIPT], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()

    provider = DockerExecutorProvider()
    runner = RunnerConfig(name="bench", token="glrt-t1_bench", executor="docker",
                          docker=DockerConfig(image=IMAGE, pull_policy=["if-not-present"]))
    workdir = Path(tempfile.mkdtemp(prefix="runnerfleet-bench-"))
    run_job(provider, runner, 1, workdir)  # warm-up: connection, image inspection
    raw_docker_run()

    jobs, raws = [], []
    for i in range(args.rounds):  # interleaved, so both see the same machine state
        jobs.append(run_job(provider, runner, 100 + i, workdir))
        raws.append(raw_docker_run())

    wall_start = time.perf_counter()
    parallel: list[float] = []
    lock = threading.Lock()

    def one(job_id: int) -> None:
        elapsed = run_job(provider, runner, job_id, workdir)
        with lock:
            parallel.append(elapsed)

    threads = [threading.Thread(target=one, args=(1000 + i,)) for i in range(args.parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall_start
    provider.close()

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |"

    print(f"| measurement (trivial job, {args.rounds} rounds) | median s | min s | max s |")
    print("|---|---|---|---|")
    print(row("runnerfleet docker job (Build, 4 stages)", jobs))
    print(row(f"docker run --rm {IMAGE} sh -c '{SCRIPT}'", raws))
    ratio = statistics.median(jobs) / statistics.median(raws)
    print(f"| ratio job / raw (target <= 1.2) | {ratio:.2f} | | |")
    print(f"| {args.parallel} parallel jobs: wall time | {wall:.3f} | | |")
    print(row(f"{args.parallel} parallel jobs: per job", parallel))


if __name__ == "__main__":
    main()
