"""TraceStreamer: sends one job's log to GitLab while it runs, then the final state update.

gitlab-runner's clientJobTrace (network/trace.go; API spec §7.6, §8.3): a background thread
wakes every update interval (3 s until GitLab sends `X-GitLab-Trace-Update-Interval`), PATCHes
everything new since the offset GitLab acknowledged (at most 1 MiB per request), and after a
successful patch touches the job with `PUT state=running` when nothing reached GitLab for the
force-send interval (30 s). `finish()` patches until GitLab holds the whole log, then sends the
final PUT with the log's checksum and size, retrying as gitlab-runner does.

One deviation, on purpose: gitlab-runner sends one patch per interval however much is waiting,
so a job printing faster than 1 MiB per interval ends with its log still to upload (a 200 MB
log: some 200 patches after the job, or after 10 minutes at GitLab's unwatched 60 s). GitLab's
interval is how long new output may wait before it is sent (3 s while someone watches the log,
60 s otherwise: gitlabhq lib/gitlab/ci/trace.rb UPDATE_FREQUENCY_*), not a minimum gap between
requests; the API takes patches back to back, as gitlab-runner's own final flush sends them.
So while the last patch succeeded and at least one full patch (`max_chunk`) is waiting, the
watcher sends at once instead of waiting out the interval; smaller remainders keep the
interval. Every patch is still at most `max_chunk` and read from the acknowledged offset, so
memory stays bounded and a failed patch falls back to the interval (no hammering a failing
GitLab). GitLab 18.5+ rate-limits PATCH trace (200/min per job by default): only a log growing
faster than ~3 MiB/s can reach that, and the HTTP client waits out a 429 as gitlab-runner does.

Bytes are only ever read from the buffer at the acknowledged offset, so a failed or refused
patch is simply sent again: nothing is lost, duplicated or reordered.
"""

from __future__ import annotations

import enum
import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runnerfleet.errors import ApiError, TransportError
from runnerfleet.gitlab.client import GitLabClient
from runnerfleet.gitlab.jobs import (
    DEFAULT_UPDATE_INTERVAL,
    MAX_UPDATE_INTERVAL,
    TRACE_PATCH_LIMIT,
    JobUpdate,
    TracePatch,
    patch_trace,
    update_job,
)
from runnerfleet.log import fields
from runnerfleet.trace.buffer import TraceBuffer
from runnerfleet.trace.ticker import Ticket, ticker

log = logging.getLogger("runnerfleet.trace")

# gitlab-runner common/consts.go.
FORCE_SEND_INTERVAL = 30.0
MAX_FORCE_SEND_INTERVAL = 30 * 60.0
FORCE_SEND_MULTIPLIER = 4
FINAL_UPDATE_RETRY_LIMIT = 10
FINAL_UPDATE_BACKOFF_MIN = 1.0
FINAL_UPDATE_BACKOFF_MAX = 60 * 60.0
# GitLab applies a pending final state after 5 minutes of 202s; a server that keeps answering
# 202 for twice that long will never accept it, so finish() stops waiting then.
ACCEPT_WAIT_LIMIT = 10 * 60.0

# After a patch at least this big, the young garbage is collected at once: the HTTP client's
# request and response objects form reference cycles that keep the body alive until the cyclic
# collector runs, so a long final upload would otherwise hold dozens of 1 MiB bodies.
COLLECT_AFTER_PATCH = 256 * 1024

CANCEL_GRACEFUL = "canceling"
CANCEL_ABORT = "abort"


class PatchOutcome(enum.Enum):
    """What one step of sending the log came to (gitlab-runner's PatchState)."""

    NOTHING = "nothing"  # nothing new to send
    OK = "ok"
    ABORT = "abort"
    NOT_FOUND = "not_found"
    RANGE_MISMATCH = "range_mismatch"
    FAILED = "failed"
    AHEAD = "ahead"  # GitLab claims more bytes than the runner wrote: nothing can be sent


class UpdateOutcome(enum.Enum):
    """What one final `PUT` came to (gitlab-runner's UpdateState)."""

    DONE = "done"  # 200: applied
    ABORT = "abort"  # canceled/failed/403/404: the job is over, stop
    AGAIN = "again"  # 202/412: send again after the update interval
    FAILED = "failed"  # anything else, or no answer: outer retry with back-off


def patch_outcome(result: TracePatch) -> PatchOutcome:
    """The decision for one PATCH answer (gitlab-runner createPatchTraceResult order)."""
    if result.abort:
        return PatchOutcome.ABORT
    if result.ok:
        return PatchOutcome.OK
    if result.not_found:
        return PatchOutcome.NOT_FOUND
    if result.range_mismatch:
        return PatchOutcome.RANGE_MISMATCH
    return PatchOutcome.FAILED


def update_outcome(result: JobUpdate) -> UpdateOutcome:
    """The decision for one PUT answer (gitlab-runner createUpdateJobResult order)."""
    if result.abort:
        return UpdateOutcome.ABORT
    if result.accepted:
        return UpdateOutcome.DONE
    if result.retry:
        return UpdateOutcome.AGAIN
    return UpdateOutcome.FAILED


def next_chunk_size(sent: int, size: int, max_chunk: int) -> int:
    """How many bytes the next PATCH carries: what is new since `sent`, at most `max_chunk`."""
    return max(0, min(size - sent, max_chunk))


def capped_interval(current: float, announced: float | None) -> float:
    """The update interval after GitLab announced one: ignored when absent or ≤ 0, capped at 15 min."""
    if announced is None or announced <= 0:
        return current
    return min(announced, MAX_UPDATE_INTERVAL)


def dynamic_force_send_interval(update_interval: float) -> float:
    """FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: 4 × the update interval, clamped to 30 s–30 min."""
    return min(max(update_interval * FORCE_SEND_MULTIPLIER, FORCE_SEND_INTERVAL),
               MAX_FORCE_SEND_INTERVAL)


def final_update_backoff(attempt: int, *, minimum: float = FINAL_UPDATE_BACKOFF_MIN,
                         maximum: float = FINAL_UPDATE_BACKOFF_MAX) -> float:
    """Pause after the `attempt`-th failed final-update try (1-based): 1 s, doubling, capped."""
    return min(minimum * 2.0 ** max(attempt - 1, 0), maximum)


@dataclass(frozen=True)
class FinalResult:
    """How `finish()` ended: `accepted` (200), `aborted` (GitLab ended the job), or neither."""

    state: str
    accepted: bool
    aborted: bool
    attempts: int

    @property
    def gave_up(self) -> bool:
        return not (self.accepted or self.aborted)


class TraceStreamer:
    """Streams one job's TraceBuffer to GitLab on a background thread (gitlab-runner's job trace).

    `on_cancel("canceling")` is called once when GitLab asks for a graceful cancel
    (`Job-Status: canceling`); `on_cancel("abort")` once when the job is over on GitLab's side
    (`Job-Status: canceled|failed` or 403), after which the thread stops sending. Callbacks run
    on the streamer's thread and must not block.

    `sleep` is used for every pause (the watcher's interval and finish()'s retries); without it
    the watcher waits on an event that `finish()`/`stop()` set, so they never wait out an
    interval. `clock` measures the force-send interval. The buffer is finished but not closed.
    """

    def __init__(
        self,
        client: GitLabClient,
        job_id: int,
        job_token: str,
        buffer: TraceBuffer,
        *,
        info: Mapping[str, Any],
        on_cancel: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        max_chunk: int = TRACE_PATCH_LIMIT,
        final_update_retry_limit: int = FINAL_UPDATE_RETRY_LIMIT,
        update_interval: float = DEFAULT_UPDATE_INTERVAL,
        force_send_interval: float = FORCE_SEND_INTERVAL,
        dynamic_force_send_interval: bool = False,
        final_update_backoff_max: float = FINAL_UPDATE_BACKOFF_MAX,
        accept_wait_limit: float = ACCEPT_WAIT_LIMIT,
        debug_trace: bool = False,
    ) -> None:
        if max_chunk <= 0:
            raise ValueError(f"max_chunk must be a positive number of bytes, got {max_chunk}")
        if final_update_retry_limit <= 0:
            raise ValueError(
                f"final_update_retry_limit must be at least 1, got {final_update_retry_limit}"
            )
        self._client = client
        self.job_id = job_id
        self._token = job_token
        self._buffer = buffer
        self._info = dict(info)
        self._on_cancel = on_cancel
        self._clock = clock
        self._sleep = sleep
        self._max_chunk = max_chunk
        self._retry_limit = final_update_retry_limit
        self._default_interval = update_interval
        self._interval = update_interval
        self._force_send = force_send_interval
        self._dynamic_force_send = dynamic_force_send_interval
        self._backoff_max = final_update_backoff_max
        self._accept_wait_limit = accept_wait_limit
        self._debug_trace = debug_trace

        self._lock = threading.Lock()  # guards the offsets, times and flags below
        self._send_lock = threading.Lock()  # one PATCH/PUT sequence at a time
        self._sent = 0
        self._sent_time: float | None = None  # gitlab-runner's zero time: touch at once
        self._canceling_notified = False
        self._abort_notified = False
        self._ahead_probed = False  # rewound once to learn GitLab's real length
        self._ahead_logged = False
        self._last_patch_ok = True  # a backlog is sent early only after a successful patch
        self._stop = threading.Event()
        # The watcher sleeps on this between ticks: set by stop() and by the buffer when a full
        # patch is waiting (no polling: an idle or short job costs the watcher no wake-up).
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._ticket: Ticket | None = None  # the first tick, while no thread runs yet
        self._final: FinalResult | None = None
        self._fields = fields(job=job_id)

    # -- state for callers -----------------------------------------------------------------------

    @property
    def sent_offset(self) -> int:
        """How many log bytes GitLab acknowledged (as far as the runner knows)."""
        with self._lock:
            return self._sent

    @property
    def update_interval(self) -> float:
        with self._lock:
            return self._interval

    @property
    def aborted(self) -> bool:
        """GitLab ended the job (canceled/failed/403) while it ran."""
        with self._lock:
            return self._abort_notified

    @property
    def cancel_requested(self) -> bool:
        with self._lock:
            return self._canceling_notified

    @property
    def final_result(self) -> FinalResult | None:
        """How `finish()` ended; None before it returned."""
        with self._lock:
            return self._final

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start streaming (once): the first tick comes after one update interval.

        With the real clock the background thread starts only at that first tick, or when a
        full patch is waiting before it (see the `ticker` module): a job that ends sooner costs
        no thread. With an injected `sleep` the thread starts at once and waits with it.
        """
        with self._lock:
            if self._started:
                raise RuntimeError("the trace streamer was already started")
            self._started = True
            if self._sleep is not None:
                self._thread = threading.Thread(
                    target=self._watch, name=f"trace-{self.job_id}", daemon=True
                )
                self._thread.start()
                return
            interval = self._interval
            self._ticket = ticker().call_at(time.monotonic() + interval, self._begin)
            size = self._sent + self._max_chunk if self._last_patch_ok else None
        self._buffer.wake_at(size, self._begin)

    def _begin(self) -> None:
        """The first tick is due (interval over, or a full patch waiting): start the thread."""
        with self._lock:
            if self._stop.is_set() or self._thread is not None:
                return
            ticket, self._ticket = self._ticket, None
            self._thread = threading.Thread(
                target=self._watch, args=(True,), name=f"trace-{self.job_id}", daemon=True
            )
            self._thread.start()
        if ticket is not None:
            ticket.cancel()

    def stop(self) -> None:
        """Stop the background thread without the final update (gitlab-runner's `Finish`)."""
        with self._lock:
            self._stop.set()
            thread = self._thread
            ticket, self._ticket = self._ticket, None
        if ticket is not None:
            ticket.cancel()
            self._buffer.wake_at(None, None)
        if thread is not None:
            self._wake.set()
            if thread is not threading.current_thread():
                thread.join()

    def finish(self, state: str, failure_reason: str | None = None,
               exit_code: int | None = None) -> None:
        """Finish the buffer, send all of the log, then the final `PUT` until GitLab takes it.

        Blocks. A 202/412 answer is retried every update interval; a failed patch or update
        (5xx, 4xx other than 403/404, no answer) ends one try, and up to
        `final_update_retry_limit` tries are made with back-off 1 s, 2 s, 4 s, … between them.
        Then it gives up with a logged error (the job stays running on GitLab's side).
        The outcome is in `final_result`; a second call does nothing.
        """
        self._buffer.finish()
        self.stop()
        with self._send_lock:
            if self.final_result is not None:
                return
            # gitlab-runner falls back to the default interval so GitLab can set it afresh.
            with self._lock:
                self._interval = self._default_interval
            result = self._final_update(state, failure_reason, exit_code)
        with self._lock:
            self._final = result

    # -- the watcher thread ------------------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            time.sleep(seconds)

    def _backlog_full(self) -> bool:
        """A full patch is waiting and the last patch went through: send without waiting."""
        with self._lock:
            if not self._last_patch_ok:
                return False
            sent = self._sent
        return self._buffer.size() - sent >= self._max_chunk

    def _wait_tick(self) -> bool:
        """Wait one update interval, or less when a full patch is waiting (see the module doc).

        False when the streamer was stopped meanwhile.
        """
        if self._stop.is_set():
            return False
        if self._backlog_full():
            return True
        interval = self.update_interval
        if self._sleep is not None:
            self._sleep(interval)
            return not self._stop.is_set()
        deadline = time.monotonic() + interval
        try:
            while (left := deadline - time.monotonic()) > 0:
                # Cleared before arming, and stop() sets `_stop` before `_wake`: a wake-up that
                # comes between the checks and the wait is never lost.
                self._wake.clear()
                if self._stop.is_set():
                    return False
                self._arm_backlog_wake()
                if self._wake.wait(left):
                    if self._stop.is_set():
                        return False
                    if self._backlog_full():
                        return True
            return not self._stop.is_set()
        finally:
            self._buffer.wake_at(None, None)

    def _arm_backlog_wake(self) -> None:
        """Ask the buffer to wake the watcher when a full patch is waiting (after a good patch)."""
        with self._lock:
            size = self._sent + self._max_chunk if self._last_patch_ok else None
        self._buffer.wake_at(size, self._wake.set)

    def _watch(self, tick_now: bool = False) -> None:
        try:
            while tick_now or self._wait_tick():
                tick_now = False
                with self._send_lock:
                    if self._stop.is_set():
                        return
                    if not self._incremental_update():
                        return
        except Exception:  # the thread must never die silently: the job would hang unseen
            log.exception("Trace streamer stopped by an unexpected error", extra=self._fields)

    def _incremental_update(self) -> bool:
        """One tick: patch what is new, maybe touch the job. False when the job was aborted."""
        outcome, result = self._send_patch()
        if result is not None and result.cancel_requested:
            self._cancel(CANCEL_GRACEFUL)
        if outcome is PatchOutcome.ABORT:
            self._cancel(CANCEL_ABORT)
            return False
        if outcome in (PatchOutcome.OK, PatchOutcome.NOTHING):
            touch = self._touch_job()
            if touch is not None and touch.cancel_requested:
                self._cancel(CANCEL_GRACEFUL)
            if touch is not None and touch.abort:
                self._cancel(CANCEL_ABORT)
                return False
        return True

    def _cancel(self, kind: str) -> None:
        with self._lock:
            if kind == CANCEL_ABORT:
                if self._abort_notified:
                    return
                self._abort_notified = True
            else:
                if self._canceling_notified or self._abort_notified:
                    return
                self._canceling_notified = True
        log.warning(
            "GitLab %s the job", "canceled or failed" if kind == CANCEL_ABORT
            else "asked to cancel", extra=fields(job=self.job_id, cancel=kind),
        )
        try:
            self._on_cancel(kind)
        except Exception:
            log.exception("The job's cancel handler failed", extra=self._fields)

    def _set_interval(self, announced: float | None) -> None:
        with self._lock:
            self._interval = capped_interval(self._interval, announced)
            if self._dynamic_force_send:
                self._force_send = dynamic_force_send_interval(self._interval)

    # -- sending -------------------------------------------------------------------------------------

    def _send_patch(self) -> tuple[PatchOutcome, TracePatch | None]:
        """Send the next chunk from the acknowledged offset (gitlab-runner `sendPatch`)."""
        with self._lock:
            offset = self._sent
        size = self._buffer.size()
        if offset > size:
            return self._ahead(offset, size)
        try:
            data = self._buffer.bytes_since(offset, next_chunk_size(offset, size, self._max_chunk))
        except ValueError as exc:
            log.error("Failed to read trace buffer bytes: %s", exc,
                      extra=fields(job=self.job_id, offset=offset))
            self._patch_failed()
            return PatchOutcome.FAILED, None
        if not data:
            return PatchOutcome.NOTHING, None
        try:
            result = patch_trace(self._client, self.job_id, self._token, data, offset,
                                 debug_trace=self._debug_trace)
        except (TransportError, ApiError) as exc:
            log.warning("Appending trace to coordinator... error: %s", exc, extra=self._fields)
            self._patch_failed()
            return PatchOutcome.FAILED, None
        finally:
            if len(data) >= COLLECT_AFTER_PATCH:
                del data
                gc.collect(1)
        self._set_interval(result.update_interval)
        with self._lock:
            self._last_patch_ok = result.ok
            if result.ok or result.range_mismatch:
                self._sent = result.sent_until
                self._sent_time = self._clock()
                if result.ok:
                    self._ahead_probed = False
        return patch_outcome(result), result

    def _patch_failed(self) -> None:
        with self._lock:
            self._last_patch_ok = False

    def _ahead(self, claimed: int, size: int) -> tuple[PatchOutcome, TracePatch | None]:
        """GitLab's `Range` named more bytes than the runner wrote.

        gitlab-runner then fails every patch until it gives up. A bogus answer (a proxy, a
        hiccup) should not cost the rest of the log: rewind to 0 once, so that GitLab's next
        416 states its real length. Only if it claims too much again is the log given up.
        """
        extra = fields(job=self.job_id, gitlab_bytes=claimed, runner_bytes=size)
        with self._lock:
            probe = not self._ahead_probed
            if probe:
                self._ahead_probed = True
                self._sent = 0
        if probe:
            log.warning("GitLab claims more of the job log than the runner wrote; sending from "
                        "offset 0 so that GitLab states its real length", extra=extra)
            return PatchOutcome.RANGE_MISMATCH, None
        if not self._ahead_logged:
            self._ahead_logged = True
            log.error("GitLab holds more of the job log than the runner wrote; the rest of the "
                      "log cannot be sent", extra=extra)
        return PatchOutcome.AHEAD, None

    def _touch_job(self) -> JobUpdate | None:
        """The keep-alive `PUT state=running` when nothing reached GitLab for a while."""
        with self._lock:
            due = self._sent_time is None or self._clock() - self._sent_time > self._force_send
        if not due:
            return None
        try:
            result = update_job(
                self._client, self.job_id, self._token, state="running", info=self._info,
                checksum=self._buffer.checksum(), bytesize=self._buffer.size(),
            )
        except (TransportError, ApiError) as exc:
            # gitlab-runner aborts the job here; a network blip is no reason to kill a job,
            # the next tick tries again.
            log.warning("Updating job... error: %s", exc, extra=self._fields)
            return None
        self._set_interval(result.update_interval)
        if result.accepted:
            with self._lock:
                self._sent_time = self._clock()
        return result

    # -- the final update ----------------------------------------------------------------------------

    def _final_update(self, state: str, failure_reason: str | None,
                      exit_code: int | None) -> FinalResult:
        accept_started: float | None = None
        for attempt in range(1, self._retry_limit + 1):
            outcome, accept_started = self._final_try(
                state, failure_reason, exit_code, accept_started
            )
            if outcome is UpdateOutcome.DONE:
                log.info("Job's final state sent", extra=fields(job=self.job_id, state=state))
                return FinalResult(state, accepted=True, aborted=False, attempts=attempt)
            if outcome is UpdateOutcome.ABORT:
                return FinalResult(state, accepted=False, aborted=True, attempts=attempt)
            if accept_started is not None and self._waited_too_long(accept_started):
                break
            if attempt < self._retry_limit:
                self._pause(final_update_backoff(attempt, maximum=self._backoff_max))
        log.error(
            "Gave up sending the job's final state to GitLab; the job stays running there until "
            "GitLab's stuck-job check ends it",
            extra=fields(job=self.job_id, state=state, attempts=self._retry_limit),
        )
        return FinalResult(state, accepted=False, aborted=False, attempts=self._retry_limit)

    def _waited_too_long(self, since: float) -> bool:
        return self._clock() - since > self._accept_wait_limit

    def _final_try(
        self, state: str, failure_reason: str | None, exit_code: int | None,
        accept_started: float | None,
    ) -> tuple[UpdateOutcome, float | None]:
        """One try of gitlab-runner's `finalUpdate`: all of the log, then the PUT."""
        while True:
            sent_all = self._ensure_all_sent()
            if sent_all is None:
                return UpdateOutcome.FAILED, accept_started
            if sent_all is PatchOutcome.ABORT:
                log.warning("GitLab ended the job before its final state was sent",
                            extra=self._fields)
            try:
                result = update_job(
                    self._client, self.job_id, self._token, state=state, info=self._info,
                    failure_reason=failure_reason, exit_code=exit_code,
                    checksum=self._buffer.checksum(), bytesize=self._buffer.size(),
                )
            except (TransportError, ApiError) as exc:
                # gitlab-runner gives the job up here; the final state is worth another try.
                log.warning("Updating job... error: %s", exc, extra=self._fields)
                self._pause(self.update_interval)
                return UpdateOutcome.FAILED, accept_started
            self._set_interval(result.update_interval)
            outcome = update_outcome(result)
            if outcome is UpdateOutcome.ABORT and result.status == 200 and result.job_status == state:
                # GitLab answers a final `failed` with `Job-Status: failed`: that is the state taken.
                return UpdateOutcome.DONE, accept_started
            if outcome is UpdateOutcome.ABORT:
                log.warning(
                    "GitLab ended the job (Job-Status %s, %d) on its final update",
                    result.job_status or "-", result.status, extra=self._fields,
                )
                return outcome, accept_started
            if outcome is not UpdateOutcome.AGAIN:
                if outcome is UpdateOutcome.FAILED:
                    self._pause(self.update_interval)
                return outcome, accept_started
            if accept_started is None:
                accept_started = self._clock()
            elif self._waited_too_long(accept_started):
                log.error(
                    "GitLab kept answering %d to the final update for %.0f s", result.status,
                    self._accept_wait_limit, extra=self._fields,
                )
                return UpdateOutcome.FAILED, accept_started
            if result.trace_reset:
                # 412: GitLab's copy failed validation; resend all of it (feature trace_reset).
                with self._lock:
                    self._sent = 0
                    self._sent_time = self._clock()
            self._pause(self.update_interval)

    def _ensure_all_sent(self) -> PatchOutcome | None:
        """Patch until GitLab holds the whole log; None when a patch failed (ends the try)."""
        while True:
            with self._lock:
                sent = self._sent
            if sent == self._buffer.size():
                return PatchOutcome.OK
            outcome, _ = self._send_patch()
            if outcome in (PatchOutcome.OK, PatchOutcome.NOTHING):
                continue
            if outcome in (PatchOutcome.ABORT, PatchOutcome.NOT_FOUND, PatchOutcome.AHEAD):
                # Nothing more can be appended: the final PUT tells GitLab the rest.
                return outcome
            if outcome is PatchOutcome.RANGE_MISMATCH:
                self._pause(self.update_interval)
                continue
            self._pause(self.update_interval)
            return None
