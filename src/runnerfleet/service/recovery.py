"""Reports the jobs a dead runner process left in its journal: the whole log, then `failed`.

For each leftover record: the log file's bytes are sent with PATCH from offset 0 (GitLab's 416
and its `Range` say where to go on, so only the missing tail travels), one error line saying why
the job failed is appended (once, even across retries), then `PUT state=failed` with
`failure_reason=runner_system_failure`, the log's checksum and size. When GitLab took the final
state (or says the job is already over), the record and its log are removed; any other outcome
leaves them for the next try (the next start of the runner, or the periodic retry).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from runnerfleet.errors import RunnerfleetError
from runnerfleet.gitlab import patch_trace, runner_info, update_job
from runnerfleet.gitlab.client import GitLabClient
from runnerfleet.gitlab.jobs import DEFAULT_UPDATE_INTERVAL, TRACE_PATCH_LIMIT
from runnerfleet.log import fields
from runnerfleet.service.clients import ClientPool
from runnerfleet.service.journal import DeadOwner, JobRecord, Journal, describe
from runnerfleet.trace import STDOUT
from runnerfleet.trace.colors import error_line
from runnerfleet.trace.timestamps import Timestamper

log = logging.getLogger("runnerfleet.service")

FAILURE_REASON = "runner_system_failure"
TAIL_MESSAGE = ("Job failed (system failure): the runner process stopped before this job "
                "finished (killed, crashed or the host restarted); reported when the runner "
                "started again")
# GitLab may answer the final update with 202 while it persists the log (API spec §7.2).
ACCEPT_TRIES = 20
RETRY_PERIOD = 600.0


def recovery_tail(previous: bytes, *, timestamps: bool, clock: Callable[[], int] = time.time_ns
                  ) -> bytes:
    """The error line appended to a leftover log, on a line of its own."""
    line = error_line(TAIL_MESSAGE)
    if timestamps:
        stamper = Timestamper(0, STDOUT, clock)
        line = stamper.feed(line) + stamper.flush()
    lead = b"\n" if previous and not previous.endswith(b"\n") else b""
    return lead + line


def checksum(data: bytes) -> str:
    return f"crc32:{zlib.crc32(data):08x}"


class LeftoverReporter:
    """Sends one leftover job's log and final state; `report()` is True when the job is settled."""

    def __init__(self, client: GitLabClient, record: JobRecord, save: Callable[[JobRecord], None],
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.record = record
        self._save = save
        self._sleep = sleep
        self._fields = fields(**describe(record))

    def _log_bytes(self) -> bytes:
        record = self.record
        try:
            data = Path(record.trace_path).read_bytes()
        except FileNotFoundError:
            data = b""
        if record.recovery_tail_from is None:
            record.recovery_tail_from = len(data)
            self._save(record)  # from now on the same bytes are sent on every try
        data = data[: record.recovery_tail_from]
        return data + recovery_tail(data, timestamps=record.timestamps)

    def report(self) -> bool:
        record = self.record
        data = self._log_bytes()
        try:
            sent = self._send_log(data)
            if sent is None:
                return False
            if sent < 0:
                return True  # GitLab says the job is over or gone: nothing left to tell it
            return self._final_update(data, complete=sent == len(data))
        except RunnerfleetError as error:
            log.warning("Could not report the unfinished job %d to GitLab: %s; will try again",
                        record.job_id, error, extra=self._fields)
            return False

    def _send_log(self, data: bytes) -> int | None:
        """Bytes GitLab holds at the end; -1 when the job is over there; None on failure."""
        record = self.record
        offset = 0
        tries = 0
        while offset < len(data):
            tries += 1
            if tries > len(data) // TRACE_PATCH_LIMIT + 10:
                return None  # no progress: a server that keeps moving the offset around
            chunk = data[offset: offset + TRACE_PATCH_LIMIT]
            result = patch_trace(self.client, record.job_id, record.token, chunk, offset)
            if result.abort or result.not_found:
                log.info("Job %d is already finished in GitLab (%s); forgetting it",
                         record.job_id, result.job_status or result.status, extra=self._fields)
                return -1
            if result.ok or result.range_mismatch:
                if result.sent_until > len(data):
                    return result.sent_until  # GitLab holds more than survived here
                offset = result.sent_until
                continue
            return None
        return offset

    def _final_update(self, data: bytes, *, complete: bool) -> bool:
        record = self.record
        info = runner_info()
        for _ in range(ACCEPT_TRIES):
            result = update_job(
                self.client, record.job_id, record.token, state="failed", info=info,
                failure_reason=FAILURE_REASON,
                checksum=checksum(data) if complete else None,
                bytesize=len(data) if complete else None,
            )
            if result.accepted or result.abort:
                log.warning("Reported the unfinished job %d as failed (%s) with its log (%d bytes)",
                            record.job_id, FAILURE_REASON, len(data), extra=self._fields)
                return True
            if not result.retry:
                return False
            self._sleep(result.update_interval or DEFAULT_UPDATE_INTERVAL)
        return False


class Recovery:
    """Reports the leftovers of dead runner processes, once at start and then periodically."""

    def __init__(self, journal: Journal, clients: ClientPool, *,
                 sleep: Callable[[float], None] = time.sleep,
                 retry_period: float = RETRY_PERIOD) -> None:
        self.journal = journal
        self.clients = clients
        self._sleep = sleep
        self._retry_period = retry_period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pass over every dead owner's records; returns how many are still left."""
        left = 0
        for owner in self.journal.dead_owners():
            try:
                left += self._owner(owner)
            finally:
                owner.release()
        return left

    def _owner(self, owner: DeadOwner) -> int:
        left = 0
        for path, record in owner.records():
            if self._stop.is_set():
                return left + 1
            if record is None:
                path.unlink(missing_ok=True)
                continue
            log.warning("Found job %d unfinished by a previous runner process; reporting it",
                        record.job_id, extra=fields(**describe(record)))
            try:
                client = self.clients.get(record.url, ca_file=record.tls_ca_file,
                                          cert_file=record.tls_cert_file,
                                          key_file=record.tls_key_file,
                                          certs=record.certs_dir or None)
            except RunnerfleetError as error:
                log.error("Cannot report job %d: %s", record.job_id, error,
                          extra=fields(**describe(record)))
                left += 1
                continue
            reporter = LeftoverReporter(client, record, functools.partial(owner.save, path),
                                        sleep=self._sleep)
            if reporter.report():
                path.unlink(missing_ok=True)
                Path(record.trace_path).unlink(missing_ok=True)
            else:
                left += 1
        return left

    def start(self) -> None:
        """Report in the background (the service serves new jobs meanwhile)."""
        self._thread = threading.Thread(target=self._loop, name="journal-recovery", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            # Later passes retry what could not be reported and find leftovers of runner
            # processes that died meanwhile (several may share one config directory).
            while not self._stop.is_set():
                self.run_once()
                if self._stop.wait(self._retry_period):
                    return
        except Exception:
            log.exception("Reporting unfinished jobs failed")

    def stop(self) -> None:
        self._stop.set()
