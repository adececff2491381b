"""Throughput of TraceBuffer end to end (not a test): `python tests/unit/trace/bench_trace.py [MB]`.

Prints MB/s by wall clock and by this process's CPU time (the steadier figure on a busy machine)
for pipe-sized (64 KiB) writes, then reading everything back in 1 MiB patches.
"""

from __future__ import annotations

import sys
import time

from runnerfleet.trace import TraceBuffer

# The line bench/cases.py's trace job prints, and a build log line with `&&` (a URL separator).
BENCH_LINE = b"runnerfleet trace benchmark line: 0123456789 abcdefghijklmnopqrstuvwxyz\n"
BUILD_LINE = b"Step 12/40 : RUN make -j8 all && echo building target with some output words here\n"


def measure(total_mb: int = 200, chunk_size: int = 64 * 1024, timestamps: bool = True,
            line: bytes = BUILD_LINE) -> tuple[float, float]:
    """(MB/s wall, MB/s CPU) for writing `total_mb` MiB and reading it back."""
    chunk = (line * (chunk_size // len(line) + 1))[:chunk_size]
    total = total_mb * 1024 * 1024
    with TraceBuffer(
        masked=["glcbt-64_sVyzt3aHr8qmYyykh2y", "another-masked-variable"],
        timestamps=timestamps,
        output_limit=2 * total + 1024 * 1024,
    ) as buffer:
        start, cpu = time.perf_counter(), time.process_time()
        written = 0
        while written < total:
            buffer.write(chunk)
            written += len(chunk)
        buffer.finish()
        read = 0
        while read < buffer.size():
            read += len(buffer.bytes_since(read, max_bytes=1024 * 1024))
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    mib = written / 1024 / 1024
    return mib / elapsed, mib / used


def main(total_mb: int = 200, chunk_size: int = 64 * 1024, timestamps: bool = True) -> float:
    """MB/s by wall clock for the build-log line (kept for callers of the old entry point)."""
    return measure(total_mb, chunk_size, timestamps)[0]


if __name__ == "__main__":
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for name, text in (("bench job line", BENCH_LINE), ("build log line", BUILD_LINE)):
        for stamps in (True, False):
            wall, cpu = measure(mb, timestamps=stamps, line=text)
            state = "on " if stamps else "off"
            print(f"{name}, timestamps {state}: {wall:4.0f} MB/s wall, {cpu:4.0f} MB/s CPU")
