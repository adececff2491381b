"""The five job-pipeline benchmarks of issue 4; each returns table rows, none asserts anything."""

from __future__ import annotations

import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness import PYTHON, Coordinator, rss_kib, start_runner, wait_polling

TRIVIAL = "echo hello"


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str
    target: str
    ok: bool
    note: str = ""

    @property
    def ratio(self) -> str:
        if not self.baseline:
            return "-"
        return f"{self.value / self.baseline:.2f}x"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def raw_bash(script: str) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-c", script], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def sequential(tmp: Path, jobs: int) -> list[Row]:
    """Benchmarks 1 and 2: trivial jobs one at a time, the runner parked in a long poll."""
    c = Coordinator(tmp, "--long-poll-timeout", "50")
    # check_interval 1 (the smallest): after a job the runner's first request is answered 204 at
    # once with a new X-GitLab-Last-Update (taking a job ticks the queue, as in GitLab); its
    # next one, 1 s later, is held by the long poll. Each job is enqueued after that.
    runner = start_runner(tmp, c, [c.create_runner()], check_interval=1)
    try:
        wait_polling(c)
        overheads: list[float] = []
        pickups: list[float] = []  # enqueue -> PUT state=running answered
        assigned: list[float] = []  # enqueue -> job handed out in a jobs/request answer
        raws: list[float] = []
        for i in range(jobs + 2):
            time.sleep(2.3)  # the runner is parked in a held long poll
            raw = raw_bash(TRIVIAL)
            job_id = c.enqueue([TRIVIAL])
            row = c.wait_final(job_id, poll=0.002)
            if row["status"] != "success":
                raise RuntimeError(f"trivial job {job_id} ended {row}")
            puts = c.put_times(job_id)
            while "success" not in puts:
                # The row turns final when the PUT is stored; its request-log entry follows.
                time.sleep(0.002)
                puts = c.put_times(job_id)
            if i < 2:
                continue  # warm-up: first imports of the pipeline and executor
            raws.append(raw)
            overheads.append(puts["success"] - row["created_at"])
            pickups.append(puts["running"] - row["created_at"])
            assigned.append(row["started_at"] - row["created_at"])
    finally:
        runner.close()
        c.close()
    job_ms = statistics.median(overheads) * 1000
    raw_ms = statistics.median(raws) * 1000
    limit = 1.5 * raw_ms + 25
    rtt = _round_trip_ms(tmp)
    p50, p99 = pct(pickups, 0.5) * 1000, pct(pickups, 0.99) * 1000
    return [
        Row(f"1. trivial job enqueue→final PUT (median of {jobs})", job_ms, "ms", raw_ms,
            "bash -c", f"≤ 1.5x+25 ms = {limit:.1f} ms", job_ms <= limit),
        Row("2. pickup enqueue→PUT running, p50", p50, "ms", rtt, "API round trip",
            "≤ 5 ms", p50 <= 5, f"handed out p50 {pct(assigned, 0.5) * 1000:.1f} ms"),
        Row("2. pickup enqueue→PUT running, p99", p99, "ms", rtt, "API round trip",
            "≤ 20 ms", p99 <= 20, f"handed out p99 {pct(assigned, 0.99) * 1000:.1f} ms"),
    ]


def _round_trip_ms(tmp: Path) -> float:
    """Median of a small authenticated API call (runners/verify) on a warm connection."""
    c = Coordinator(tmp / "rtt")
    try:
        token = c.create_runner()
        times = []
        for _ in range(50):
            start = time.perf_counter()
            c.http.post("/api/v4/runners/verify", json={"token": token})
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000
    finally:
        c.close()


def throughput(tmp: Path, jobs: int) -> list[Row]:
    """Benchmark 3: `jobs` trivial jobs queued, then `run` with concurrent = 8."""
    c = Coordinator(tmp / "tp", "--long-poll-timeout", "50")
    token = c.create_runner()
    ids = [c.enqueue([TRIVIAL]) for _ in range(jobs)]
    runner = start_runner(tmp / "tp", c, [token], concurrent=8,
                          runner_keys={"request_concurrency": 8})
    try:
        # CPU per job is measured from the first finished job on (start-up is not per job):
        # runner, its reaped children (the job shells) and the coordinator.
        c.wait_final(ids[0], poll=0.01)
        done_before = _finished(c)
        before = [_cpu(runner.pid), _cpu(runner.pid, children=True), _cpu(c.proc.pid)]
        rows = [c.wait_final(i, poll=0.05) for i in ids]
        after = [_cpu(runner.pid), _cpu(runner.pid, children=True), _cpu(c.proc.pid)]
    finally:
        runner.close()
        c.close()
    counted = max(1, jobs - done_before)
    runner_ms, shells_ms, coord_ms = ((a - b) * 1000 / counted for a, b in zip(after, before, strict=True))
    note = (f"CPU per job: runner {runner_ms:.1f} ms, job shells {shells_ms:.1f} ms, "
            f"coordinator {coord_ms:.1f} ms (over the last {counted} jobs)")
    failed = [r for r in rows if r["status"] != "success"]
    if failed:
        raise RuntimeError(f"{len(failed)} throughput jobs failed: {failed[0]}")
    span = max(r["finished_at"] for r in rows) - min(r["started_at"] for r in rows)
    rate = jobs / span
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: raw_bash(TRIVIAL), range(jobs)))
    raw_rate = jobs / (time.perf_counter() - start)
    return [Row(f"3. throughput, concurrent = 8 ({jobs} jobs)", rate, "jobs/s", raw_rate,
                "8 x bash -c", "≥ 100 jobs/s", rate >= 100, note)]


def _cpu(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a process (or of its reaped children) from /proc."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def _finished(c: Coordinator) -> int:
    """How many jobs the coordinator holds in a final state."""
    row = c.db.execute("SELECT COUNT(*) FROM jobs WHERE status IN "
                       "('success', 'failed', 'canceled')").fetchone()
    return int(row[0])


def trace(tmp: Path, megabytes: int) -> list[Row]:
    """Benchmark 4: one job printing `megabytes` MB; end-to-end rate and the runner's extra RSS."""
    size = megabytes * 1_000_000
    # `|| true`: `yes` ends on SIGPIPE, which pipefail would make the job's failure.
    script = f"{{ yes 'runnerfleet trace benchmark line: 0123456789 abcdefghijklmnopqrstuvwxyz'" \
             f" || true; }} | head -c {size}"
    # The job notes when its output ended, to count the PATCHes sent while it ran and after.
    ended_file = tmp / "trace-job-ended"
    job_script = f"{script}; date +%s.%N > {ended_file}"
    c = Coordinator(tmp / "trace", "--long-poll-timeout", "50",
                    "--trace-size-limit", str(4 * size + (1 << 20)))
    runner = start_runner(tmp / "trace", c, [c.create_runner()],
                          runner_keys={"output_limit": size // 1000 + 1024})
    peak = 0
    stop = threading.Event()

    def cpu_seconds(pid: int) -> float:
        """User + system CPU time the runner has used so far (from /proc/<pid>/stat)."""
        import os

        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, rss_kib(runner.pid))
            except (OSError, RuntimeError):
                return
            time.sleep(0.01)

    try:
        wait_polling(c)
        warm = c.enqueue([TRIVIAL])  # import the pipeline first: that is not trace memory
        c.wait_final(warm)
        time.sleep(0.5)
        base = rss_kib(runner.pid)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu_before = cpu_seconds(runner.pid)
        coordinator_cpu_before = cpu_seconds(c.proc.pid)
        job_id = c.enqueue([job_script])
        row = c.wait_final(job_id, patience=1800, poll=0.05)
        cpu = cpu_seconds(runner.pid) - cpu_before
        coordinator_cpu = cpu_seconds(c.proc.pid) - coordinator_cpu_before
        stop.set()
        sampler.join()
        if row["status"] != "success":
            raise RuntimeError(f"trace job ended {row}")
        puts = c.put_times(job_id)
        while "success" not in puts:
            # The row turns final when the PUT is stored; its request-log entry follows.
            time.sleep(0.002)
            puts = c.put_times(job_id)
        from harness import log_time

        patches = [log_time(e) for e in c.requests()
                   if e["method"] == "PATCH" and e["path"] == f"/api/v4/jobs/{job_id}/trace"]
    finally:
        runner.close()
        c.close()
    seconds = puts["success"] - puts["running"]
    logged = int(row["output_bytesize"] or 0)
    rate = logged / 1e6 / seconds
    start = time.perf_counter()
    with subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while proc.stdout.read(1 << 16):
            pass
    raw_rate = size / 1e6 / (time.perf_counter() - start)
    extra = (peak - base) / 1024
    # While the job runs its log goes out as soon as a full 1 MiB patch is waiting; what is left
    # when it ends is flushed before the final PUT ("after"). Patch times are the coordinator's
    # request-log times (ms), the job's end is `date` after its output ended.
    upload = puts["success"] - min(patches) if patches else 0.0
    ended = float(ended_file.read_text())
    during = sum(1 for t in patches if t <= ended)
    note = (f"{logged / 1e6:.0f} MB logged; runner CPU {cpu:.2f} s, coordinator CPU "
            f"{coordinator_cpu:.2f} s; {len(patches)} PATCHes "
            f"({during} while the job ran, {len(patches) - during} after), "
            f"first PATCH → final PUT {upload:.2f} s, job end → final PUT "
            f"{puts['success'] - ended:.2f} s")
    return [
        Row(f"4. trace {megabytes} MB, PUT running→final PUT", rate, "MB/s", raw_rate,
            "bash -c into a pipe reader", "≥ 100 MB/s", rate >= 100, note),
        Row("4. trace: runner extra RSS (peak − idle)", extra, "MB", base / 1024,
            "runner idle RSS", "≤ 20 MB", extra <= 20),
    ]


def idle(tmp: Path) -> list[Row]:
    """Benchmark 5: RSS of `run` with 10 runners configured, all polling, no job."""
    c = Coordinator(tmp / "idle", "--long-poll-timeout", "50")
    tokens = [c.create_runner() for _ in range(10)]
    runner = start_runner(tmp / "idle", c, tokens, concurrent=10)
    try:
        wait_polling(c, count=10)
        time.sleep(2)
        rss = rss_kib(runner.pid) / 1024
    finally:
        runner.close()
        c.close()
    bare = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(5)"])
    try:
        time.sleep(1)
        bare_rss = rss_kib(bare.pid) / 1024
    finally:
        bare.kill()
        bare.wait()
    return [Row("5. idle RSS of `run`, 10 runners", rss, "MB", bare_rss, "bare python",
                "≤ 40 MB", rss <= 40)]
