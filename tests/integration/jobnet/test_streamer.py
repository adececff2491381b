"""TraceStreamer against the coordinator: the log GitLab ends up with is the runner's, byte for byte."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runnerfleet.gitlab import request_job
from runnerfleet.trace import TraceBuffer, TraceStreamer
from tests.integration.jobnet.conftest import ManualClock, Pauses, Setup, wait_for

MIB = 1024 * 1024


class Cancels:
    """The on_cancel callback: records the kinds it was called with."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.called = threading.Event()

    def __call__(self, kind: str) -> None:
        self.kinds.append(kind)
        self.called.set()


def _take_job(s: Setup, **enqueue: Any) -> tuple[int, str]:
    queued = s.admin.enqueue(**enqueue)
    got = request_job(s.client, s.runner_token, system_id=s.system_id, info=s.info,
                      last_update=None)
    assert got.payload is not None and got.payload["id"] == queued["id"]
    return int(queued["id"]), str(got.payload["token"])


@pytest.fixture
def buffers() -> Iterator[Callable[..., TraceBuffer]]:
    made: list[TraceBuffer] = []

    def _make(**options: Any) -> TraceBuffer:
        options.setdefault("output_limit", 16 * MIB)
        buffer = TraceBuffer(**options)
        made.append(buffer)
        return buffer

    yield _make
    for buffer in made:
        buffer.close()


def _new_job(s: Setup, buffers: Callable[..., TraceBuffer],
             **buffer_options: Any) -> tuple[int, str, TraceBuffer]:
    """A job GitLab handed to the runner (its id and token) and a fresh buffer for its log."""
    job_id, token = _take_job(s)
    return job_id, token, buffers(**buffer_options)


def _streamer(s: Setup, job_id: int, token: str, buffer: TraceBuffer,
              pauses: Callable[[float], None] | None = None, cancels: Cancels | None = None,
              *, start: bool = False, **options: Any) -> TraceStreamer:
    """A streamer of the job's log, started when `start`; without `pauses` it sleeps for real."""
    if pauses is not None:
        options["sleep"] = pauses
    streamer = TraceStreamer(s.client, job_id, token, buffer, info=s.info,
                             on_cancel=cancels or Cancels(), **options)
    if start:
        streamer.start()
    return streamer


def _wait_all_sent(streamer: TraceStreamer, buffer: TraceBuffer, what: str) -> None:
    """Wait until GitLab acknowledged everything the buffer holds."""
    wait_for(lambda: streamer.sent_offset == buffer.size(), what)


def _cancel_mid_job(s: Setup, job_id: int, buffer: TraceBuffer, streamer: TraceStreamer,
                    cancels: Cancels) -> None:
    """GitLab cancels the job once its first line arrived; the job writes on until on_cancel is called."""
    buffer.write(b"working\n")
    _wait_all_sent(streamer, buffer, "the first patch")
    s.admin.cancel(job_id)
    n = 0
    while not cancels.called.wait(0.02):
        n += 1
        buffer.write(b"still working %d\n" % n)
        assert n < 3000, "on_cancel was never called"


def mixed_output(total: int, seed: int = 7) -> Iterator[bytes]:
    """Pieces of build-like output: ASCII, UTF-8, colours, CR progress, tabs, a stray byte."""
    rnd = random.Random(seed)
    samples = [
        b"Compiling module %d of 512 ...\n",
        "héllo wörld ✓ 日本語 ключ %d\n".encode(),
        b"\x1b[32;1mPASS\x1b[0;m test_%d\n",
        b"downloading %d%%\r",
        b"\tcol1\tcol2\t%d\n",
        b"no newline at all %d ",
        b"bad byte \xff here %d\n",
        b"emoji \xf0\x9f\x9a\x80 launch %d\n",
    ]
    written = 0
    while written < total:
        piece = b"".join(
            rnd.choice(samples).replace(b"%d", str(rnd.randrange(10**6)).encode())
            for _ in range(rnd.randrange(200, 2000))
        )
        # Cut at random points, even inside UTF-8 characters: writers do that.
        cut = rnd.randrange(1, len(piece))
        yield from (piece[:cut], piece[cut:])
        written += len(piece)


def _write_while_streaming(buffer: TraceBuffer, streamer: TraceStreamer, total: int,
                           on_half: Callable[[], None] | None = None) -> None:
    """Write `total` bytes; at the half wait until GitLab acknowledged some, so it streams."""
    written = 0
    half_done = False
    for part in mixed_output(total):
        buffer.write(part)
        written += len(part)
        if not half_done and written >= total // 2:
            half_done = True
            wait_for(lambda: streamer.sent_offset > 0, "a patch while the job writes")
            if on_half is not None:
                on_half()


def _assert_gitlab_has_the_log(s: Setup, job_id: int, buffer: TraceBuffer, state: str) -> None:
    log = buffer.bytes_since(0)
    job = s.admin.job(job_id)
    assert job["status"] == state
    assert job["trace_bytesize"] == len(log) == buffer.size()
    assert job["trace"].encode() == log
    assert job["trace_checksum"] == buffer.checksum() == f"crc32:{zlib.crc32(log):08x}"
    assert job["output_checksum"] == buffer.checksum()


def _finish_with_success(s: Setup, job_id: int, streamer: TraceStreamer, buffer: TraceBuffer) -> None:
    """The job succeeds: GitLab ends up with the whole log and the success state."""
    streamer.finish("success")
    _assert_gitlab_has_the_log(s, job_id, buffer, "success")


def _patch_ranges(s: Setup, job_id: int) -> list[tuple[int, int, int]]:
    """(start, inclusive end, status) of every PATCH the coordinator received, in order.

    A dropped connection (no answer) has status 0.
    """
    out = []
    for e in s.admin.requests("PATCH", f"jobs/{job_id}/trace"):
        start, end = e["headers"]["content-range"].split("-")
        out.append((int(start), int(end), int(e["status"] or 0)))
    return out


def test_five_mb_written_while_streaming_arrive_byte_identical(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers)
    pauses = Pauses()
    streamer = _streamer(setup, job_id, token, buffer, pauses, start=True)
    _write_while_streaming(buffer, streamer, 5 * MIB)
    streamer.finish("success")
    result = streamer.final_result
    assert result is not None and result.accepted and result.attempts == 1
    assert buffer.size() > 5 * MIB
    _assert_gitlab_has_the_log(setup, job_id, buffer, "success")
    ranges = _patch_ranges(setup, job_id)
    assert all(end - start + 1 <= MIB for start, end, _ in ranges)
    # Contiguous, in order, nothing twice: each accepted patch starts where the last ended.
    accepted = [(start, end) for start, end, status in ranges if status == 202]
    assert accepted[0][0] == 0
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(accepted))
    final = setup.admin.requests("PUT", f"jobs/{job_id}")[-1]["json"]
    assert final["state"] == "success"
    assert final["output"] == {"checksum": buffer.checksum(), "bytesize": buffer.size()}
    assert final["checksum"] == buffer.checksum()


def test_a_416_mid_stream_resyncs_to_gitlabs_range(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers)
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), start=True)

    def inject() -> None:
        # GitLab claims to hold nothing, then a bogus Range: the runner rewinds, the real
        # coordinator answers 416 with its true length, the runner continues from there.
        setup.admin.fault(f"jobs/{job_id}/trace", status=416, headers={"Range": "0-0"})
        setup.admin.fault(f"jobs/{job_id}/trace", status=416, headers={"Range": "nonsense"})
        # More than the runner ever wrote: it rewinds once to learn GitLab's real length.
        setup.admin.fault(f"jobs/{job_id}/trace", status=416, headers={"Range": "0-999999999"})

    _write_while_streaming(buffer, streamer, 2 * MIB, on_half=inject)
    _finish_with_success(setup, job_id, streamer, buffer)
    ranges = _patch_ranges(setup, job_id)
    mismatches = [i for i, r in enumerate(ranges) if r[2] == 416]
    assert len(mismatches) >= 4  # the three injected and the coordinator's own
    assert ranges[mismatches[0] + 1][0] == 0  # resent from GitLab's "0-0"
    assert ranges[mismatches[2] + 1][0] == 0  # the probe after the impossible length


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 502, "count": 8, "body": "<html>Bad Gateway</html>", "content_type": "text/html"},
        {"status": 500, "count": 3},
        {"kind": "drop", "count": 3},
        {"kind": "drop", "after_body": True, "count": 3},
        {"kind": "delay", "seconds": 0.3, "count": 3},
    ],
    ids=["502-storm", "500s", "dropped", "dropped-after-body", "slow"],
)
def test_server_errors_drops_and_slow_answers_mid_stream_lose_nothing(
    setup: Setup, buffers: Callable[..., TraceBuffer], fault: dict[str, Any]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers)
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), start=True)
    _write_while_streaming(
        buffer, streamer, 2 * MIB,
        on_half=lambda: setup.admin.fault(f"jobs/{job_id}/trace", **fault),
    )
    _finish_with_success(setup, job_id, streamer, buffer)
    if fault.get("kind", "status") != "delay":
        statuses = [status for _, _, status in _patch_ranges(setup, job_id)]
        assert statuses.count(int(fault.get("status", 0))) == fault["count"]  # all were met


def test_errors_during_the_final_flush_and_update_are_retried_with_backoff(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    pauses = Pauses()
    # Not started: the whole log goes in the final flush, which meets the PATCH fault first.
    streamer = _streamer(setup, job_id, token, buffer, pauses)
    buffer.write(b"line\n" * 1000)
    setup.admin.fault(f"jobs/{job_id}/trace", status=502)
    setup.admin.fault(f"jobs/{job_id}", method="PUT", status=500, count=2)
    setup.admin.fault(f"jobs/{job_id}", method="PUT", kind="drop")
    streamer.finish("failed", "script_failure", 2)
    result = streamer.final_result
    assert result is not None and result.attempts == 5
    # PUT answered 200 + Job-Status: failed, which gitlab-runner files under "abort".
    assert result.aborted or result.accepted
    # One back-off per failed try: 1 s, doubling.
    assert [p for p in pauses.requested if p in (1.0, 2.0, 4.0, 8.0, 16.0)] == [1.0, 2.0, 4.0, 8.0]
    _assert_gitlab_has_the_log(setup, job_id, buffer, "failed")
    job = setup.admin.job(job_id)
    assert job["failure_reason"] == "script_failure" and job["exit_code"] == 2


def test_the_final_update_gives_up_after_the_retry_limit(
    setup: Setup, buffers: Callable[..., TraceBuffer], caplog: pytest.LogCaptureFixture
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    buffer.write(b"done\n")
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), final_update_retry_limit=3)
    setup.admin.fault(f"jobs/{job_id}", method="PUT", status=500, count=100)
    with caplog.at_level(logging.ERROR, logger="runnerfleet.trace"):
        streamer.finish("success")
    result = streamer.final_result
    assert result is not None and result.gave_up and result.attempts == 3
    puts = [e for e in setup.admin.requests("PUT", f"jobs/{job_id}") if e["json"]["state"] == "success"]
    assert len(puts) == 3
    assert setup.admin.job(job_id)["status"] == "running"
    assert any("Gave up sending the job's final state" in r.getMessage() for r in caplog.records)
    assert all(token not in r.getMessage() and token not in str(r.__dict__) for r in caplog.records)


def test_finish_twice_sends_the_final_state_once(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    buffer.write(b"done\n")
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), start=True)
    streamer.finish("success")
    streamer.finish("failed", "script_failure", 1)
    assert setup.admin.job(job_id)["updates"][-1:] == ["success"]
    finals = [e for e in setup.admin.requests("PUT", f"jobs/{job_id}")
              if e["json"]["state"] != "running"]
    assert len(finals) == 1
    _assert_gitlab_has_the_log(setup, job_id, buffer, "success")


def test_202_on_the_final_update_waits_gitlabs_interval_and_sends_again(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    buffer.write(b"almost\n")
    pauses = Pauses()
    streamer = _streamer(setup, job_id, token, buffer, pauses)
    setup.admin.fault(f"jobs/{job_id}", method="PUT", status=202, count=2,
                      headers={"X-GitLab-Trace-Update-Interval": "7", "Job-Status": "running"})
    streamer.finish("success")
    result = streamer.final_result
    assert result is not None and result.accepted and result.attempts == 1
    assert pauses.requested.count(7.0) == 2
    _assert_gitlab_has_the_log(setup, job_id, buffer, "success")


def test_412_on_the_final_update_offers_the_whole_log_again(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    buffer.write(b"0123456789" * 100)
    streamer = _streamer(setup, job_id, token, buffer, Pauses())
    setup.admin.fault(f"jobs/{job_id}", method="PUT", status=412)
    streamer.finish("success")
    assert streamer.final_result is not None and streamer.final_result.accepted
    ranges = _patch_ranges(setup, job_id)
    # Sent once, offered again from 0 after the 412. GitLab writes nothing for a range it
    # already holds and, the length matching, answers 202.
    assert ranges == [(0, 999, 202), (0, 999, 202)]
    _assert_gitlab_has_the_log(setup, job_id, buffer, "success")


def test_graceful_cancel_is_reported_once_and_the_job_ends_canceled(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    cancels = Cancels()
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), cancels, start=True)
    _cancel_mid_job(setup, job_id, buffer, streamer, cancels)
    buffer.write(b"after_script ran\n")
    for _ in range(5):  # more patches after the cancel: no second call
        buffer.write(b"more\n")
        _wait_all_sent(streamer, buffer, "a patch after the cancel")
    streamer.finish("failed", "unknown_failure")
    assert cancels.kinds == ["canceling"]
    assert streamer.cancel_requested and not streamer.aborted
    _assert_gitlab_has_the_log(setup, job_id, buffer, "canceled")


def test_hard_cancel_aborts_once_and_streaming_stops(
    make_setup: Callable[..., Setup], buffers: Callable[..., TraceBuffer]
) -> None:
    s = make_setup("--long-poll-timeout", "0", cancel_gracefully=False)
    job_id, token, buffer = _new_job(s, buffers, timestamps=False)
    cancels = Cancels()
    streamer = _streamer(s, job_id, token, buffer, Pauses(), cancels, start=True)
    _cancel_mid_job(s, job_id, buffer, streamer, cancels)
    wait_for(lambda: streamer.aborted, "the streamer to record the abort")
    buffer.write(b"written after the abort\n")
    streamer.finish("failed", "unknown_failure")
    assert cancels.kinds == ["abort"]
    result = streamer.final_result
    assert result is not None and result.aborted
    job = s.admin.job(job_id)
    assert job["status"] == "canceled"
    assert b"written after the abort" not in job["trace"].encode()


def test_a_silent_job_is_kept_alive_with_running_updates(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    clock = ManualClock()
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), clock=clock)

    def keepalives() -> list[dict[str, Any]]:
        return [e["json"] for e in setup.admin.requests("PUT", f"jobs/{job_id}")
                if e["json"]["state"] == "running"]

    streamer.start()
    # gitlab-runner touches the job at the first tick (nothing was ever sent).
    wait_for(lambda: len(keepalives()) == 1, "the first keep-alive")
    buffer.write(b"one line\n")
    _wait_all_sent(streamer, buffer, "the patch")
    clock.advance(29)  # within the 30 s force-send interval: no update
    buffer.write(b"two\n")
    _wait_all_sent(streamer, buffer, "the second patch")
    assert len(keepalives()) == 1
    clock.advance(31)  # silent for longer than 30 s: PUT state=running with the log's output
    wait_for(lambda: len(keepalives()) == 2, "the keep-alive after 30 s of silence")
    assert keepalives()[-1]["output"] == {"checksum": buffer.checksum(), "bytesize": buffer.size()}
    _finish_with_success(setup, job_id, streamer, buffer)


def test_the_cadence_follows_gitlabs_update_interval(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    pauses = Pauses()
    # The first tick touches the job; its answer announces 11 s.
    setup.admin.fault(f"jobs/{job_id}", method="PUT", status=200,
                      headers={"Job-Status": "running", "X-GitLab-Trace-Update-Interval": "11"})
    streamer = _streamer(setup, job_id, token, buffer, pauses, start=True)
    wait_for(lambda: 11.0 in pauses.requested, "a pause of GitLab's 11 s")
    assert streamer.update_interval == 11.0
    buffer.write(b"x\n")
    # The coordinator's PATCH answer says 3 s again.
    wait_for(lambda: streamer.update_interval == 3.0, "the interval from the PATCH answer")
    streamer.finish("success")
    assert pauses.requested[0] == 3.0  # gitlab-runner's default before GitLab says anything


def test_a_masked_value_split_across_writes_and_chunks_never_reaches_gitlab(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    secret = "s3cr3t-Value-4711"
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False, masked=[secret])
    streamer = _streamer(setup, job_id, token, buffer, Pauses(), max_chunk=5, start=True)
    for part in (b"the key is s3cr", b"3t-Val", b"ue-4711 and again s3cr3t-Value-", b"4711!\n"):
        buffer.write(part)
        # Let GitLab catch up with everything the buffer released before the next piece.
        _wait_all_sent(streamer, buffer, "the patches of one piece")
    streamer.finish("success")
    trace = setup.admin.job(job_id)["trace"]
    assert trace == "the key is [MASKED] and again [MASKED]!\n"
    ranges = _patch_ranges(setup, job_id)
    assert all(end - start + 1 <= 5 for start, end, _ in ranges) and len(ranges) >= 9
    for fragment in ("s3cr", "3t-Val", "ue-4711", "4711"):
        assert fragment not in trace
    _assert_gitlab_has_the_log(setup, job_id, buffer, "success")


def test_a_backlog_of_full_patches_is_sent_while_the_job_runs_without_waiting_the_interval(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    buffer.write(b"x" * (3 * MIB + MIB // 2 - 1) + b"\n")
    # A 10-minute interval and the real clock: only the early sending can move the log now.
    streamer = _streamer(setup, job_id, token, buffer, update_interval=600.0, start=True)
    wait_for(lambda: streamer.sent_offset == 3 * MIB, "three full patches before the interval")
    # Less than a full patch is left: it waits for the interval (or, here, the final flush).
    assert [(s, e) for s, e, _ in _patch_ranges(setup, job_id)] == [
        (0, MIB - 1), (MIB, 2 * MIB - 1), (2 * MIB, 3 * MIB - 1)]
    _finish_with_success(setup, job_id, streamer, buffer)
    assert _patch_ranges(setup, job_id)[-1][:2] == (3 * MIB, buffer.size() - 1)


def test_a_full_patch_written_while_the_streamer_sleeps_wakes_it_before_the_interval(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    streamer = _streamer(setup, job_id, token, buffer, update_interval=600.0, start=True)
    buffer.write(b"first line\n")
    # The log grows past one full patch in small writes while the watcher waits its 10 minutes.
    line = b"z" * 1023 + b"\n"
    for _ in range(MIB // len(line) + 1):
        buffer.write(line)
    wait_for(lambda: streamer.sent_offset == MIB, "the full patch before the interval")
    assert [(s, e) for s, e, _ in _patch_ranges(setup, job_id)] == [(0, MIB - 1)]
    _finish_with_success(setup, job_id, streamer, buffer)


def test_a_job_shorter_than_the_interval_is_streamed_without_a_thread_of_its_own(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    streamer = _streamer(setup, job_id, token, buffer, update_interval=600.0, start=True)
    buffer.write(b"a short job\n")
    assert not any(t.name == f"trace-{job_id}" for t in threading.enumerate())
    _finish_with_success(setup, job_id, streamer, buffer)
    assert [(s, e) for s, e, _ in _patch_ranges(setup, job_id)] == [(0, buffer.size() - 1)]


def test_with_the_real_clock_the_log_goes_out_after_one_interval_while_the_job_runs(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    streamer = _streamer(setup, job_id, token, buffer, update_interval=0.2, start=True)
    buffer.write(b"first output\n")
    _wait_all_sent(streamer, buffer, "the patch after the interval")
    buffer.write(b"second output\n")
    _wait_all_sent(streamer, buffer, "the patch after the next interval")
    _finish_with_success(setup, job_id, streamer, buffer)


def test_a_failing_patch_falls_back_to_the_interval_even_with_a_backlog(
    setup: Setup, buffers: Callable[..., TraceBuffer]
) -> None:
    job_id, token, buffer = _new_job(setup, buffers, timestamps=False)
    buffer.write(b"y" * (4 * MIB - 1) + b"\n")
    setup.admin.fault(f"jobs/{job_id}/trace", status=500, count=2)
    acknowledged_at_pauses: list[tuple[float, int]] = []

    def pause(seconds: float) -> None:
        acknowledged_at_pauses.append((seconds, streamer.sent_offset))
        time.sleep(0.005)

    streamer = _streamer(setup, job_id, token, buffer, pause, start=True)
    _wait_all_sent(streamer, buffer, "the whole backlog")
    _finish_with_success(setup, job_id, streamer, buffer)
    statuses = [status for _, _, status in _patch_ranges(setup, job_id)]
    assert statuses == [500, 500, 202, 202, 202, 202]
    # One interval pause after each failed patch; none between the full patches that followed.
    before_all_sent = [p for p in acknowledged_at_pauses if p[1] < buffer.size()]
    assert before_all_sent == [(3.0, 0), (3.0, 0)]
