"""Run every job-pipeline benchmark and print one table of measured values vs same-run baselines.

Usage: .venv/bin/python bench/run.py [--quick] [--jobs N] [--throughput-jobs N] [--trace-mb N]
       [--only overhead,throughput,trace,idle]
Asserts nothing; a miss is printed as a miss. See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import Row, idle, sequential, throughput, trace


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split()[1]
    return (f"{os.cpu_count()} CPUs ({cpu}), {int(mem) // 1024} MiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer jobs and a 20 MB trace")
    p.add_argument("--jobs", type=int, help="sequential trivial jobs (default 60; quick 15)")
    p.add_argument("--throughput-jobs", type=int, help="default 400; quick 100")
    p.add_argument("--trace-mb", type=int, help="default 200; quick 20")
    p.add_argument("--only", default="overhead,throughput,trace,idle")
    a = p.parse_args()
    jobs = a.jobs or (15 if a.quick else 60)
    tp_jobs = a.throughput_jobs or (100 if a.quick else 400)
    trace_mb = a.trace_mb or (20 if a.quick else 200)
    only = set(a.only.split(","))
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="runnerfleet-bench-") as tmp:
        root = Path(tmp)
        if "overhead" in only:
            rows += sequential(root, jobs)
        if "throughput" in only:
            rows += throughput(root, tp_jobs)
        if "trace" in only:
            rows += trace(root, trace_mb)
        if "idle" in only:
            rows += idle(root)
    print(f"machine: {machine()}; bench took {time.monotonic() - started:.0f} s")
    print("| benchmark | measured | baseline (same run) | ratio | target | result | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        base = f"{r.baseline:.1f} {r.unit} ({r.baseline_name})" if r.baseline else "-"
        print(f"| {r.name} | {r.value:.1f} {r.unit} | {base} | {r.ratio} | {r.target} "
              f"| {'pass' if r.ok else 'MISS'} | {r.note} |")


if __name__ == "__main__":
    main()
