"""`runnerfleet run-single`: one runner from flags (or one entry of a config), one job at a time.

gitlab-runner's RunSingleCommand (engine spec §3.6): ask for a job; unhealthy → wait 300 s;
none → wait 3 s; else run it. `--max-builds N` exits after N jobs, `--wait-timeout S` when no job
came for S seconds. SIGQUIT finishes the current job then exits; SIGINT/SIGTERM abort the job and
wait up to 30 s (then exit 1); a second signal exits at once.
"""

from __future__ import annotations

import logging
import queue
import secrets
import signal
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from runnerfleet.config import RunnerConfig, certs_dir
from runnerfleet.errors import RunnerfleetError
from runnerfleet.gitlab import request_job
from runnerfleet.log import fields
from runnerfleet.service.clients import ClientPool
from runnerfleet.service.job import ActiveJobs, JobRun, JobServices
from runnerfleet.service.journal import Journal, journal_root
from runnerfleet.service.metrics import ServiceMetrics
from runnerfleet.service.recovery import Recovery
from runnerfleet.service.slots import BuildSlots
from runnerfleet.service.worker import LastUpdates, info_for

log = logging.getLogger("runnerfleet.service")

NOT_HEALTHY_CHECK_INTERVAL = 300.0
CHECK_INTERVAL = 3.0
DEFAULT_SHUTDOWN_TIMEOUT = 30.0
_SIGNALS = {signal.SIGQUIT: "quit", signal.SIGTERM: "terminated", signal.SIGINT: "interrupt"}
_GO_TO_SIGNAL = {"terminated": "SIGTERM", "interrupt": "SIGINT"}


def random_system_id() -> str:
    """gitlab-runner's GenerateUniqueSystemID for a runner given on the command line."""
    alphabet = string.ascii_letters + string.digits
    return "r_" + "".join(secrets.choice(alphabet) for _ in range(12))


@dataclass
class SingleOptions:
    runner: RunnerConfig
    config_path: Path
    system_id: str
    max_builds: int = 0
    wait_timeout: int = 0
    working_directory: Path | None = None
    user: str = ""
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    check_interval: float = CHECK_INTERVAL
    not_healthy_interval: float = NOT_HEALTHY_CHECK_INTERVAL


class SingleRunner:
    """The run-single loop on a thread; the main thread handles signals. `execute()` → exit code."""

    def __init__(self, options: SingleOptions) -> None:
        self.o = options
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.finished = threading.Event()  # no further job requests
        self.aborting = threading.Event()  # interrupts the loop's waits
        self.active = ActiveJobs()
        self.max_builds = options.max_builds
        self.run_forever = options.max_builds == 0
        self.last_build = time.monotonic()
        self.clients = ClientPool(options.config_path.absolute())
        self.journal = Journal(journal_root(options.config_path.absolute()))
        self.metrics = ServiceMetrics()
        self.slots = BuildSlots(options.system_id)
        self.last_updates = LastUpdates()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.events.put(_SIGNALS.get(signal.Signals(signum), str(signum)))

    def execute(self) -> int:
        from runnerfleet.executors import get_provider

        runner = self.o.runner
        provider = get_provider(runner.executor)
        if provider is None:
            raise RunnerfleetError(f"Unknown executor: {runner.executor}")
        for sig in _SIGNALS:
            signal.signal(sig, self._on_signal)
        try:
            self.journal.open(slots=1)
            Recovery(self.journal, self.clients).start()
        except OSError as error:
            log.error("Cannot create the job journal in %s (%s): a job running when this process "
                      "dies will not be reported", self.journal.root, error)
        log.info("Starting runner for %s with token %s ...", runner.url, runner.short_token)
        loop = threading.Thread(target=self._loop, name="run-single", daemon=True)
        loop.start()
        try:
            return self._wait_for_signals()
        finally:
            self.journal.close()
            self.clients.close()

    # -- signals (main thread) -----------------------------------------------------------------
    def _wait_for_signals(self) -> int:
        event = self.events.get()
        if event == "done":
            return 0
        self.finished.set()
        while event == "quit":
            log.warning("Requested quit, waiting for builds to finish")
            event = self.events.get()
            if event == "done":
                return 0
        log.warning("Requested exit: %s", event)
        self.aborting.set()
        self.active.interrupt_all(_GO_TO_SIGNAL.get(event, "SIGTERM"))
        try:
            second = self.events.get(timeout=self.o.shutdown_timeout)
        except queue.Empty:
            log.critical("shutdown timed out")
            return 1
        if second != "done":
            log.critical("forced exit: %s", second)
            return 1
        return 0

    # -- the loop (its own thread) -------------------------------------------------------------
    def _loop(self) -> None:
        from runnerfleet.executors import get_provider

        try:
            while not self.finished.is_set():
                provider = get_provider(self.o.runner.executor)
                assert provider is not None
                data = None
                try:
                    data = provider.acquire(self.o.runner)
                except Exception as error:
                    log.warning("Executor update: %s", error)
                try:
                    self._process_build()
                except RunnerfleetError as error:
                    log.error("Failed to process build: %s", error)
                finally:
                    provider.release(self.o.runner, data)
                self._check_finished()
        except Exception:
            log.exception("run-single stopped by an unexpected error")
        finally:
            self.events.put("done")

    def _wait(self, seconds: float) -> None:
        self.aborting.wait(seconds)

    def _process_build(self) -> None:
        from runnerfleet.executors import get_provider

        runner = self.o.runner
        provider = get_provider(runner.executor)
        info = info_for(runner, provider)
        client = self.clients.for_runner(runner)
        try:
            result = request_job(client, runner.token, system_id=self.o.system_id, info=info,
                                 last_update=self.last_updates.get(runner))
        except RunnerfleetError as error:
            log.error("Checking for jobs... error: %s", error,
                      extra=fields(runner=runner.short_token))
            result = None
        if result is None or not result.healthy:
            log.info("Runner is not healthy!")
            self._wait(self.o.not_healthy_interval)
            return
        self.last_updates.set(runner, result.last_update)
        if result.payload is None:
            self._wait(self.o.check_interval)
            return
        services = JobServices(
            clients_job_tokens=self.clients.job_tokens, slots=self.slots, metrics=self.metrics,
            journal=self.journal, system_id=self.o.system_id,
            working_directory=self.o.working_directory or Path.cwd(),
            certs_dir=str(certs_dir(self.o.config_path.absolute())), user=self.o.user or None)
        JobRun(services, runner, result.payload, client, info, self.active).execute()
        if self.max_builds > 0:
            self.max_builds -= 1
        self.last_build = time.monotonic()

    def _check_finished(self) -> None:
        if self.max_builds < 1 and not self.run_forever:
            log.info("This runner has processed its build limit, so now exiting")
            self.finished.set()
        waited = time.monotonic() - self.last_build
        if self.o.wait_timeout > 0 and int(waited) > self.o.wait_timeout:
            log.info("This runner has not received a job in %d seconds, so now exiting",
                     self.o.wait_timeout)
            self.finished.set()

