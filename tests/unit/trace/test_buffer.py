"""TraceBuffer as the streamer sees it: limit notice, checksum, offsets, file, runner lines."""

from __future__ import annotations

import os
import stat
import zlib

import pytest

from runnerfleet.trace import STDERR, TraceBuffer, limit_notice

from .helpers import fixed_clock

NOTICE_100 = (
    b"\n\x1b[33;1mJob's log exceeded limit of 100 bytes.\n"
    b"Job execution will continue but no more output will be collected.\x1b[0;m\n"
)


def test_limit_notice_is_gitlab_runners_bold_yellow_text() -> None:
    assert limit_notice(100) == NOTICE_100


def test_output_past_the_limit_is_dropped_after_one_notice_and_writes_still_succeed() -> None:
    with TraceBuffer(timestamps=False, output_limit=100) as buffer:
        for _ in range(10):
            assert buffer.write(b"0123456789abcdef") == 16
        buffer.write(b"more after the limit")
        buffer.finish()
        log = buffer.bytes_since(0)
        assert log == b"0123456789abcdef" * 6 + b"0123" + NOTICE_100
        assert log.count(b"exceeded limit") == 1
        assert buffer.size() == len(log)
        assert buffer.limit_exceeded


def test_reaching_the_limit_exactly_appends_the_notice() -> None:
    with TraceBuffer(timestamps=False, output_limit=100) as buffer:
        buffer.write(b"x" * 100)
        assert buffer.bytes_since(0) == b"x" * 100 + NOTICE_100


def test_the_limit_does_not_cut_a_utf8_character_in_half() -> None:
    with TraceBuffer(timestamps=False, output_limit=100) as buffer:
        buffer.write(b"a" * 99 + "é".encode())
        assert buffer.bytes_since(0) == b"a" * 99 + NOTICE_100


def test_checksum_is_crc32_of_the_final_bytes() -> None:
    with TraceBuffer(masked=["hidden-value"], clock=fixed_clock) as buffer:
        buffer.write(b"line one hidden-value\npartial")
        buffer.warning("careful")
        buffer.finish()
        log = buffer.bytes_since(0)
        assert b"hidden-value" not in log
        assert buffer.checksum() == f"crc32:{zlib.crc32(log):08x}"
        assert len(buffer.checksum()) == len("crc32:") + 8


def test_checksum_of_an_empty_log() -> None:
    with TraceBuffer() as buffer:
        assert buffer.checksum() == "crc32:00000000"
        assert buffer.size() == 0
        assert buffer.bytes_since(0) == b""


def test_bytes_since_returns_the_tail_from_any_offset_and_respects_max_bytes() -> None:
    with TraceBuffer(timestamps=False) as buffer:
        buffer.write(b"0123456789")
        assert buffer.bytes_since(4) == b"456789"
        assert buffer.bytes_since(10) == b""
        assert buffer.bytes_since(2, max_bytes=3) == b"234"
        buffer.write(b"abc")
        assert buffer.bytes_since(10) == b"abc"
        with pytest.raises(ValueError, match="offset 14"):
            buffer.bytes_since(14)
        with pytest.raises(ValueError):
            buffer.bytes_since(-1)


def test_invalid_utf8_becomes_one_replacement_character_per_byte() -> None:
    with TraceBuffer(timestamps=False) as buffer:
        buffer.write(b"ok \xff\xfe and split \xc3")
        buffer.write(b"\xa9 and cut \xe2\x82")
        buffer.finish()
        assert buffer.bytes_since(0) == "ok \ufffd\ufffd and split é and cut \ufffd\ufffd".encode()


def test_the_log_lives_in_a_private_file_that_close_removes() -> None:
    buffer = TraceBuffer(timestamps=False)
    path = buffer._store.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    buffer.write(b"x" * 1_000_000)
    buffer.finish()
    assert os.path.getsize(path) == 1_000_000
    buffer.close()
    assert not os.path.exists(path)
    with pytest.raises(ValueError, match="closed"):
        buffer.write(b"late")


def test_writes_after_finish_are_ignored() -> None:
    with TraceBuffer(timestamps=False) as buffer:
        buffer.write(b"done")
        buffer.finish()
        assert buffer.is_finished
        assert buffer.write(b"late") == 4
        assert buffer.bytes_since(0) == b"done"


def test_runner_lines_use_gitlab_runners_colours() -> None:
    with TraceBuffer(timestamps=False, clock=fixed_clock) as buffer:
        buffer.notice("Running with runnerfleet")
        buffer.println("plain")
        buffer.warning("slow")
        buffer.error("Job failed: exit code 1")
        buffer.section_start("prepare_script")
        buffer.section_end("prepare_script")
        assert buffer.bytes_since(0) == (
            b"\x1b[32;1mRunning with runnerfleet\x1b[0;m\n"
            b"\x1b[0Kplain\x1b[0;m\n"
            b"\x1b[0;33mWARNING: slow\x1b[0;m\n"
            b"\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m\n"
            b"section_start:1700000000:prepare_script\r\x1b[0K"
            b"section_end:1700000000:prepare_script\r\x1b[0K"
        )


def test_runner_lines_are_masked_too() -> None:
    with TraceBuffer(timestamps=False, masked=["p4ssw0rd!"]) as buffer:
        buffer.error("login with p4ssw0rd! failed")
        assert b"p4ssw0rd!" not in buffer.bytes_since(0)


def test_set_masked_applies_to_later_output_of_existing_streams() -> None:
    with TraceBuffer(timestamps=False) as buffer:
        err = buffer.stream(1, STDERR)
        err.write(b"before s3cr3tvalue\n")
        buffer.set_masked(["s3cr3tvalue"])
        err.write(b"after s3cr3tvalue\n")
        buffer.finish()
        assert buffer.bytes_since(0) == b"before s3cr3tvalue\nafter [MASKED]\n"


def test_every_released_byte_is_in_the_log_file_when_write_returns() -> None:
    """The file is the crash journal's copy: a runner killed right after a write loses nothing
    it had released (the read side would flush, so the file is read directly)."""
    with TraceBuffer(timestamps=False) as buffer:
        buffer.write(b"first line\n")
        with open(buffer.path, "rb") as file:
            assert file.read() == b"first line\n"
        buffer.stream(2, STDERR).write(b"an error line\n")
        buffer.println("a runner line")
        with open(buffer.path, "rb") as file:
            on_disk = file.read()
        assert on_disk == buffer.bytes_since(0)
        assert on_disk.startswith(b"first line\nan error line\n") and b"a runner line" in on_disk
