"""Line timestamps as gitlab-runner writes them with FF_TIMESTAMPS (header, stream id, '+')."""

from __future__ import annotations

import re

from runnerfleet.trace import STDERR, STREAM_WORK, TraceBuffer

from .helpers import FIXED_STAMP, fixed_clock

HEADER = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [0-9a-f]{2}[OE][ +]")


def stamped(*parts: bytes, stream: tuple[int, str] | None = None) -> bytes:
    with TraceBuffer(clock=fixed_clock) as buffer:
        writer = buffer.stream(*stream) if stream else buffer
        for part in parts:
            writer.write(part)
        buffer.finish()
        return buffer.bytes_since(0)


def test_each_line_gets_a_utc_microsecond_timestamp_and_stream_header() -> None:
    assert stamped(b"one\ntwo\n") == FIXED_STAMP + b" 00O one\n" + FIXED_STAMP + b" 00O two\n"


def test_stream_id_is_two_hex_digits_and_stderr_is_e() -> None:
    assert stamped(b"oops\n", stream=(STREAM_WORK, STDERR)) == FIXED_STAMP + b" 01E oops\n"
    assert stamped(b"svc\n", stream=(31, "O")) == FIXED_STAMP + b" 1fO svc\n"


def test_a_line_split_over_writes_gets_one_header() -> None:
    assert stamped(b"hel", b"lo wo", b"rld\nnext") == (
        FIXED_STAMP + b" 00O hello world\n" + FIXED_STAMP + b" 00O next\n"
    )


def test_a_carriage_return_write_is_flushed_and_the_next_entry_continues_it() -> None:
    log = stamped(b"progress 10%\r", b"progress 20%\r", b"done\n")
    assert log == (
        FIXED_STAMP
        + b" 00O progress 10%\r\n"
        + FIXED_STAMP
        + b" 00O+progress 20%\r\n"
        + FIXED_STAMP
        + b" 00O+done\n"
    )


def test_a_line_longer_than_the_line_buffer_is_continued_with_plus() -> None:
    log = stamped(b"a" * 5000, b"b" * 5000, b"c\n")
    lines = log.split(b"\n")
    assert lines[0] == FIXED_STAMP + b" 00O " + b"a" * 5000 + b"b" * 5000
    assert lines[1] == FIXED_STAMP + b" 00O+c"


def test_finish_terminates_a_partial_last_line() -> None:
    assert stamped(b"no newline") == FIXED_STAMP + b" 00O no newline\n"


def test_timestamps_off_keeps_the_raw_bytes() -> None:
    with TraceBuffer(timestamps=False) as buffer:
        buffer.write(b"raw\rbytes\nno newline")
        buffer.finish()
        assert buffer.bytes_since(0) == b"raw\rbytes\nno newline"


def test_masking_happens_before_timestamping() -> None:
    with TraceBuffer(clock=fixed_clock, masked=["abcdefgh"]) as buffer:
        buffer.write(b"x abcd")
        buffer.write(b"efgh y\n")
        buffer.finish()
        log = buffer.bytes_since(0)
        assert log == FIXED_STAMP + b" 00O x [MASKED] y\n"
        assert all(HEADER.match(line) for line in log.splitlines())


def test_the_header_time_follows_the_clock() -> None:
    times = iter([0, 1_500_000, 86_400_000_000_000 + 999_999_999])
    with TraceBuffer(clock=lambda: next(times)) as buffer:
        for line in (b"a\n", b"b\n", b"c\n"):
            buffer.write(line)
        assert buffer.bytes_since(0) == (
            b"1970-01-01T00:00:00.000000Z 00O a\n"
            b"1970-01-01T00:00:00.001500Z 00O b\n"
            b"1970-01-02T00:00:00.999999Z 00O c\n"
        )
