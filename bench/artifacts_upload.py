"""Benchmark: archive + upload of a 10k-file / 500 MB tree vs `zip -r` + `curl`, peak RSS, helper start-up.

Usage: .venv/bin/python bench/artifacts_upload.py [--files N] [--mb N] [--rounds N] [--big-gib N]
Starts a real coordinator on loopback; each upload goes to a fresh running job. Prints one
markdown table; asserts nothing (a miss is printed as a miss).

Rows:
  tree upload     `runnerfleet artifacts-uploader --path tree` (a new process, as job scripts run
                  it: start-up, file walk, deflate, chunked multipart upload) vs `zip -r -q` of
                  the same tree then `curl -F file=@...` of the zip, both against the coordinator,
                  alternating, median of --rounds; ratio = baseline time / runnerfleet time.
  peak RSS        max resident set of the uploader process (os.wait4 rusage), tree and a sparse
                  --big-gib file (a 1 GiB artifact must not need 1 GiB of memory).
  stage cost      what a cache/artifact stage adds per helper call on the shell executor: the
                  `runnerfleet --version` guard plus one helper process (median of 15 each),
                  next to `bash -c true`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PYTHON = sys.executable
RUNNERFLEET = str(Path(PYTHON).with_name("runnerfleet"))
MIB = 1024 * 1024


class Coordinator:
    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "coordinator"
        self.proc = subprocess.Popen([PYTHON, "-m", "runnerfleet", "coordinator", "--listen", "127.0.0.1:0",
                                      "--data-dir", str(self.data)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        found: dict[str, str] = {}
        for line in self.proc.stdout:
            for key, rx in (("url", r"listening on (\S+)"), ("admin", r"PRIVATE-TOKEN\): (\S+)")):
                if m := re.search(rx, line):
                    found[key] = m.group(1)
            if len(found) == 2:
                break
        self.url, admin = found["url"], found["admin"]
        self.admin = httpx.Client(base_url=self.url, headers={"PRIVATE-TOKEN": admin}, timeout=60,
                                  trust_env=False)
        self.api = httpx.Client(base_url=self.url + "/api/v4", timeout=60, trust_env=False)
        self.admin.put("/-/artifacts/settings", json={"max_artifacts_size": 8192}).raise_for_status()
        r = self.admin.post("/api/v4/user/runners",
                            json={"runner_type": "instance_type", "run_untagged": True})
        r.raise_for_status()
        self.runner_token = r.json()["token"]

    def job(self) -> tuple[int, str]:
        """A new running job: (id, job token)."""
        self.admin.post("/-/jobs", json={"script": ["true"]}).raise_for_status()
        r = self.api.post("/jobs/request", json={"token": self.runner_token, "info": {"features": {}}})
        r.raise_for_status()
        return int(r.json()["id"]), str(r.json()["token"])

    def stored(self, job_id: int) -> int:
        r = self.admin.get(f"/-/jobs/{job_id}/artifacts")
        r.raise_for_status()
        sizes = [a["size"] for a in r.json()]
        shutil.rmtree(self.data / "artifacts" / str(job_id), ignore_errors=True)  # keep the disk free
        return int(sum(sizes))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def make_tree(root: Path, files: int, total_mb: int) -> int:
    """`files` files of mixed content (half random, half repetitive text) totalling ~total_mb."""
    rng = random.Random(42)
    per_file = total_mb * MIB // files
    text = b"".join(f"line {i}: the quick brown fox jumps over the lazy dog\n".encode() for i in range(200))
    written = 0
    for i in range(files):
        d = root / f"d{i // 500:02d}" / f"s{(i // 50) % 10}"
        d.mkdir(parents=True, exist_ok=True)
        half = per_file // 2
        data = rng.randbytes(half) + (text * (per_file // len(text) + 1))[: per_file - half]
        (d / f"f{i:05d}.bin").write_bytes(data)
        written += len(data)
    return written


def run_measured(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(seconds, peak RSS KiB, output) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}):\n{output[-2000:]}")
    return elapsed, int(usage.ru_maxrss), output


def ours(co: Coordinator, workdir: Path, path: str) -> tuple[float, int, int]:
    job_id, token = co.job()
    env = {**os.environ, "CI_SERVER_URL": co.url, "CI_JOB_TOKEN": token, "CI_JOB_ID": str(job_id)}
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    seconds, rss, _ = run_measured([RUNNERFLEET, "artifacts-uploader", "--path", path], workdir, env)
    return seconds, rss, co.stored(job_id)


def baseline(co: Coordinator, workdir: Path, path: str, scratch: Path) -> tuple[float, int]:
    job_id, token = co.job()
    archive = scratch / "baseline.zip"
    archive.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(["zip", "-r", "-q", str(archive), path], cwd=workdir, check=True)
    subprocess.run(["curl", "-sS", "--fail", "--noproxy", "*", "-o", "/dev/null", "-H", f"JOB-TOKEN: {token}",
                    "-F", f"file=@{archive};filename=artifacts.zip",
                    f"{co.url}/api/v4/jobs/{job_id}/artifacts"], check=True)
    elapsed = time.perf_counter() - start
    archive.unlink()
    return elapsed, co.stored(job_id)


def median_wall(argv: list[str], cwd: Path, n: int = 15) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--mb", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--big-gib", type=float, default=1.0)
    args = p.parse_args()
    for tool in ("zip", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed for the baseline")
    with tempfile.TemporaryDirectory(prefix="rf-bench-artifacts-") as tmp_name:
        tmp = Path(tmp_name)
        work = tmp / "project"
        work.mkdir()
        size = make_tree(work / "tree", args.files, args.mb)
        co = Coordinator(tmp)
        try:
            rows: list[str] = []
            ours_t, base_t, rss = [], [], []
            sizes: tuple[int, int] = (0, 0)
            for _ in range(args.rounds):
                b, b_size = baseline(co, work, "tree", tmp)
                o, o_rss, o_size = ours(co, work, "tree")
                base_t.append(b)
                ours_t.append(o)
                rss.append(o_rss)
                sizes = (o_size, b_size)
            o_med, b_med = statistics.median(ours_t), statistics.median(base_t)
            ratio = b_med / o_med
            rows.append(f"| tree upload ({args.files} files, {size / MIB:.0f} MiB) | "
                        f"{o_med:.2f} s ({size / MIB / o_med:.0f} MiB/s) | zip -r + curl: {b_med:.2f} s "
                        f"({size / MIB / b_med:.0f} MiB/s) | ratio {ratio:.2f}x "
                        f"{'(target >= 0.8x: met)' if ratio >= 0.8 else '(target >= 0.8x: MISSED)'} |")
            rows.append(f"| archive size | {sizes[0] / MIB:.1f} MiB | {sizes[1] / MIB:.1f} MiB | |")
            peak = max(rss) / 1024
            rows.append(f"| peak RSS, tree upload | {peak:.1f} MiB | | "
                        f"{'target <= 64 MiB: met' if peak <= 64 else 'target <= 64 MiB: MISSED'} |")

            big = work / "big.bin"
            with open(big, "wb") as f:
                f.truncate(int(args.big_gib * 1024 * MIB))
            big_t, big_rss, big_size = ours(co, work, "big.bin")
            big.unlink()
            rows.append(f"| sparse {args.big_gib:g} GiB file | {big_t:.2f} s, peak RSS "
                        f"{big_rss / 1024:.1f} MiB | | archive {big_size / MIB:.1f} MiB |")

            bash = median_wall(["bash", "-c", "true"], work)
            guard = median_wall([RUNNERFLEET, "--version"], work)
            helper = median_wall([RUNNERFLEET, "cache-extractor", "--file", "missing.zip"], work)
            rows.append(f"| stage cost per helper call | guard `--version` {guard * 1000:.0f} ms + helper "
                        f"start {helper * 1000:.0f} ms | bash -c true: {bash * 1000:.1f} ms | |")
        finally:
            co.stop()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print("| measure | runnerfleet | baseline (same run) | verdict |")
    print("|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
