"""The build container session's stream protocol: stage input and end markers found in any chunking."""

from __future__ import annotations

import subprocess

import pytest

from runnerfleet.executors.docker.session import MarkerFilter, stage_input

TOKEN = "0123456789abcdef"


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def feed(chunks: list[bytes]) -> tuple[bytes, int | None]:
    sink = Sink()
    marker = MarkerFilter(sink, TOKEN)
    for chunk in chunks:
        marker.write(chunk)
    return bytes(sink.data), marker.status


def test_output_before_the_marker_is_passed_on_byte_for_byte_and_the_status_is_read() -> None:
    stream = b"hello\nno newline at the end" + b"\x1e" + TOKEN.encode() + b":3\x1e"
    assert feed([stream]) == (b"hello\nno newline at the end", 3)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11])
def test_a_marker_split_across_chunks_is_still_found(size: int) -> None:
    stream = b"out\x1e with a record separator\n" + b"\x1e" + TOKEN.encode() + b":127\x1e"
    chunks = [stream[i:i + size] for i in range(0, len(stream), size)]
    assert feed(chunks) == (b"out\x1e with a record separator\n", 127)


def test_output_that_only_looks_like_a_marker_start_is_not_held_back() -> None:
    sink = Sink()
    marker = MarkerFilter(sink, TOKEN)
    marker.write(b"progress \x1e" + TOKEN[:4].encode())
    assert bytes(sink.data) == b"progress "  # a possible marker start waits for more bytes
    marker.write(b"xyz")
    assert bytes(sink.data) == b"progress \x1e" + TOKEN[:4].encode() + b"xyz"
    assert marker.status is None


def test_bytes_held_back_come_out_when_the_stream_ends_without_a_marker() -> None:
    sink = Sink()
    marker = MarkerFilter(sink, TOKEN)
    marker.write(b"tail\x1e" + TOKEN.encode())
    marker.flush()
    assert bytes(sink.data) == b"tail\x1e" + TOKEN.encode()


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_shell_reading_stage_inputs_runs_each_stage_with_its_status(shell: str) -> None:
    # A stage reading its stdin reads (the rest of) its own script, never the next stages.
    stages = ["echo first\nexit 3", "echo 'RUNNERFLEET_STAGE_x' second >&2", "cat >/dev/null; exit 1",
              "echo fourth"]
    data = b"".join(stage_input(script, TOKEN, n) for n, script in enumerate(stages, 1))
    # `kill -9 -1` would reach this test's processes outside a container: stubbed by a function.
    done = subprocess.run([shell, "-c", "kill() { :; }; eval \"$(cat)\""], input=data, capture_output=True,
                          check=True)
    out_sink, err_sink = Sink(), Sink()
    statuses = []
    out, err = done.stdout, done.stderr
    for _ in stages:
        o, e = MarkerFilter(out_sink, TOKEN), MarkerFilter(err_sink, TOKEN)
        for stream, filt in ((out, o), (err, e)):
            end = stream.index(b"\x1e", stream.index(b"\x1e" + TOKEN.encode()) + 1) + 1
            filt.write(stream[:end])
        out = out[out.index(b"\x1e", out.index(b"\x1e" + TOKEN.encode()) + 1) + 1:]
        err = err[err.index(b"\x1e", err.index(b"\x1e" + TOKEN.encode()) + 1) + 1:]
        assert o.status == e.status
        statuses.append(o.status)
    assert statuses == [3, 0, 1, 0]
    assert bytes(out_sink.data) == b"first\nfourth\n"
    assert bytes(err_sink.data) == b"RUNNERFLEET_STAGE_x second\n"
