"""Shared helpers for the trace tests: feeding '|'-split inputs and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterable

from runnerfleet.trace import TraceBuffer

# 2023-11-14T22:13:20.123456Z
FIXED_NS = 1_700_000_000_123_456_789
FIXED_STAMP = b"2023-11-14T22:13:20.123456Z"


def fixed_clock() -> int:
    return FIXED_NS


def run_parts(parts: Iterable[bytes], **options: object) -> bytes:
    """Write the parts one by one into a raw (no timestamps) buffer and return the final log."""
    options.setdefault("timestamps", False)
    with TraceBuffer(**options) as buffer:  # type: ignore[arg-type]
        for part in parts:
            assert buffer.write(part) == len(part)
        buffer.finish()
        return buffer.bytes_since(0)


def run_split(text: str, **options: object) -> str:
    """gitlab-runner's test convention: '|' marks a write boundary."""
    return run_parts([p.encode() for p in text.split("|")], **options).decode()
