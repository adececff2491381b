"""Throughput of TraceBuffer end to end (not a test): `python tests/unit/trace/bench_trace.py`."""

from __future__ import annotations

import sys
import time

from runnerfleet.trace import TraceBuffer


def main(total_mb: int = 200, chunk_size: int = 64 * 1024, timestamps: bool = True) -> float:
    line = b"Step 12/40 : RUN make -j8 all && echo building target with some output words here\n"
    chunk = (line * (chunk_size // len(line) + 1))[:chunk_size]
    total = total_mb * 1024 * 1024
    with TraceBuffer(
        masked=["s3cr3t-value-123", "another-masked-variable"],
        token_mask_prefixes=["custom-"],
        timestamps=timestamps,
        output_limit=total + 1024 * 1024,
    ) as buffer:
        start = time.perf_counter()
        written = 0
        while written < total:
            buffer.write(chunk)
            written += len(chunk)
        buffer.finish()
        read = 0
        while read < buffer.size():
            read += len(buffer.bytes_since(read, max_bytes=1024 * 1024))
        elapsed = time.perf_counter() - start
    return written / elapsed / 1024 / 1024


if __name__ == "__main__":
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(f"timestamps on:  {main(mb, timestamps=True):.0f} MB/s")
    print(f"timestamps off: {main(mb, timestamps=False):.0f} MB/s")
