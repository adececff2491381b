"""`runnerfleet run`: the multi-runner service (engine spec §1, §2.2, §3.5, §3.10, §4).

A feeder thread hands runner entries to a pool of `concurrent` worker threads through an
unbuffered hand-off, pacing one pass over all runners to `check_interval`; a runner that just got
a job is asked again by the next free worker (handoff.requeue). The main thread owns
signals and the config: it reloads on mtime change (every 3 s) and SIGHUP, resizes the pool, and
runs the shutdowns: SIGQUIT drains (no new requests, running jobs finish, exit 0); SIGTERM/SIGINT
interrupt every job and wait up to `shutdown_timeout` (exit 0 if all stopped, else 1); another
signal during a shutdown exits at once with 1.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from runnerfleet import log as logsetup
from runnerfleet.config import Config, RunnerConfig, certs_dir, load_system_id
from runnerfleet.errors import RunnerfleetError
from runnerfleet.log import fields
from runnerfleet.service.clients import ClientPool
from runnerfleet.service.config_holder import RELOAD_INTERVAL, ConfigHolder
from runnerfleet.service.handoff import Handoff
from runnerfleet.service.health import HealthTracker
from runnerfleet.service.job import ActiveJobs, JobServices
from runnerfleet.service.journal import Journal, journal_root
from runnerfleet.service.metrics import ErrorCountingHandler, ServiceMetrics
from runnerfleet.service.metrics_server import MetricsServer, MetricsSources, listen_address
from runnerfleet.service.recovery import Recovery
from runnerfleet.service.rotation import TokenRotation
from runnerfleet.service.slots import BuildSlots
from runnerfleet.service.worker import LastUpdates, RunnerWorker

log = logging.getLogger("runnerfleet.service")

_SIGNAL_NAMES = {signal.SIGQUIT: "quit", signal.SIGTERM: "terminated", signal.SIGINT: "interrupt",
                 signal.SIGHUP: "hangup"}
_WORKER_DONE = "worker-done"
# Longest blocking wait of the main thread: a signal the kernel delivers to another thread only
# sets CPython's flag, and the handler runs when the main thread next runs Python code.
_SIGNAL_POLL = 1.0


@dataclass
class RunOptions:
    """`run`'s command line."""

    config_path: Path
    working_directory: Path | None = None
    user: str = ""
    service_name: str = "gitlab-runner"
    listen_address: str | None = None
    syslog: bool = False
    log_level_fixed: bool = False  # --log-level/--debug given: the config's log_level is ignored
    log_format_fixed: bool = False


class RunService:
    """The whole `run` process; `execute()` returns its exit code."""

    def __init__(self, options: RunOptions) -> None:
        # Absolute before `--working-directory` changes the current directory.
        options.config_path = options.config_path.absolute()
        self.options = options
        self.metrics = ServiceMetrics()
        self._error_counter = ErrorCountingHandler(self.metrics)
        self.state = "starting"
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.handoff: Handoff[RunnerConfig] = Handoff()
        self.active = ActiveJobs()
        self.holder = ConfigHolder(options.config_path, user=options.user,
                                   on_loaded=self._config_loaded)
        self._lock = threading.Lock()
        self._workers = 0  # the pool size the workers are heading to
        self._jobs_in_flight = 0
        self._exiting = False
        self._worker_index = 0
        self.system_id = ""
        self.slots: BuildSlots | None = None
        self.health = HealthTracker(on_failure=self._health_failure)
        self.clients: ClientPool | None = None
        self.worker: RunnerWorker | None = None
        self.journal: Journal | None = None
        self.recovery: Recovery | None = None
        self.rotation: TokenRotation | None = None
        self.metrics_server: MetricsServer | None = None

    # -- logging -------------------------------------------------------------------------------
    def _counts(self) -> dict[str, int]:
        """gitlab-runner's `builds=` and `max_builds=` fields of the service's log lines."""
        return {"builds": len(self.active), "max_builds": self.holder.current.concurrent}

    def _log_fields(self) -> dict[str, object]:
        return fields(**self._counts())

    def _attach_error_counter(self) -> None:
        root = logging.getLogger("runnerfleet")
        if self._error_counter not in root.handlers:
            root.addHandler(self._error_counter)

    def _config_loaded(self, config: Config) -> None:
        self.health.reset()
        self.handoff.forget_deferred()
        level = config.effective_log_level
        fmt = config.effective_log_format
        if not (self.options.log_level_fixed and self.options.log_format_fixed) and (
                level in logsetup.LEVELS and fmt in logsetup.FORMATS):
            current = logging.getLogger("runnerfleet")
            keep_level = logging.getLevelName(current.level).lower() if \
                self.options.log_level_fixed else level
            handler = current.handlers[0] if current.handlers else None
            keep_format = getattr(getattr(handler, "formatter", None), "style_name", fmt) if \
                self.options.log_format_fixed else fmt
            logsetup.setup(keep_level, keep_format)
            self._attach_error_counter()
        if self.slots is not None:
            for runner in config.runners:
                self.slots.register(runner)
                self.metrics.runner_seen(runner.short_token, runner.name, self.system_id)
        if self.rotation is not None:
            self.rotation.replan()

    def _health_failure(self, runner: RunnerConfig) -> None:
        self.metrics.health_failure(runner.short_token, runner.name, self.system_id)

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Everything before serving; raises RunnerfleetError for a fatal start problem."""
        self._attach_error_counter()
        options = self.options
        log.info("Starting multi-runner from %s...", options.config_path,
                 extra=fields(builds=0, max_builds=0))
        if os.geteuid() != 0:
            log.warning("Running in user-mode.")
        if options.syslog:
            log.info("--syslog: logging to stderr (journald captures it under systemd)")
        if options.working_directory is not None:
            try:
                os.chdir(options.working_directory)
            except OSError as error:
                raise RunnerfleetError(f"--working-directory {options.working_directory}: "
                                       f"{error.strerror or error}") from None
        config_path = options.config_path
        self.system_id = _system_id(config_path)
        self.slots = BuildSlots(self.system_id)
        self.clients = ClientPool(config_path, observer=self._api_observed)
        config = self.holder.load()
        self._check_concurrent(config)
        self._start_metrics(config)
        log.info("[session_server].listen_address not defined, session endpoints disabled",
                 extra=self._log_fields())
        self.journal = Journal(journal_root(config_path))
        try:
            self.journal.open(slots=min(config.concurrent, 16))
        except OSError as error:
            log.error("Cannot create the job journal in %s (%s): jobs running when this process "
                      "dies will not be reported", self.journal.root, error,
                      extra=self._log_fields())
        services = JobServices(
            clients_job_tokens=self.clients.job_tokens, slots=self.slots, metrics=self.metrics,
            journal=self.journal, system_id=self.system_id,
            working_directory=Path.cwd(), certs_dir=str(certs_dir(config_path)),
            user=options.user or None)
        self.worker = RunnerWorker(services=services, clients=self.clients, health=self.health,
                                   slots=self.slots, metrics=self.metrics, active=self.active,
                                   config=lambda: self.holder.current, last_updates=LastUpdates(),
                                   begin_job=self._begin_job, end_job=self._end_job)
        if self.journal.is_open:
            self.recovery = Recovery(self.journal, self.clients)
            self.recovery.start()
        self.rotation = TokenRotation(self.holder, self.clients)
        self.rotation.start()
        self._config_loaded(config)
        threading.Thread(target=self._feed, name="feeder", daemon=True).start()
        self.state = "running"

    def _start_metrics(self, config: Config) -> None:
        address = listen_address(config.listen_address, self.options.listen_address)
        if not address:
            log.info("listen_address not defined, metrics & debug endpoints disabled",
                     extra=self._log_fields())
            return
        assert self.slots is not None
        sources = MetricsSources(metrics=self.metrics, slots=self.slots,
                                 config=lambda: self.holder.current, system_id=self.system_id,
                                 process_state=lambda: self.state)
        self.metrics_server = MetricsServer(address, sources)
        self.metrics_server.start()
        log.info("Metrics server listening", extra=fields(address=self.metrics_server.address,
                                                          **self._counts()))

    def _api_observed(self, runner: str, endpoint: str, method: str, status: int,
                      seconds: float) -> None:
        self.metrics.api_request(runner, self.system_id, endpoint, status, method, seconds)

    def _check_concurrent(self, config: Config) -> None:
        if config.concurrent < 1:
            raise RunnerfleetError(
                f"Current configuration 'concurrent = {config.concurrent}' means that no jobs will "
                "be processed; set concurrent to 1 or more in " + str(self.options.config_path))

    # -- feeder and workers --------------------------------------------------------------------
    def _feed(self) -> None:
        while not self.stopping.is_set():
            config = self.holder.current
            interval = float(config.effective_check_interval)
            if not config.runners:
                self.stopping.wait(interval)
                continue
            step = interval / len(config.runners)
            for runner in config.runners:
                if self.stopping.is_set():
                    return
                self._feed_one(runner)
                if self.stopping.wait(step):
                    return

    def _feed_one(self, runner: RunnerConfig) -> None:
        if not runner.token.strip() or not self.health.is_healthy(runner):
            self.metrics.feed(runner.short_token, runner.name, self.system_id, ok=False)
            return
        self.metrics.feed(runner.short_token, runner.name, self.system_id, ok=True)
        self.handoff.put(runner)

    def _update_workers(self) -> None:
        target = self.holder.current.concurrent
        with self._lock:
            current = self._workers
            self._workers = target
        if target < current:
            self.handoff.retire(current - target)
            for _ in range(current - target):
                self.metrics.worker_stopped(target)
        for _ in range(target - current):
            self._worker_index += 1
            threading.Thread(target=self._work, args=(self._worker_index,),
                             name=f"worker-{self._worker_index}", daemon=True).start()
            self.metrics.worker_started(target)

    def _work(self, index: int) -> None:
        assert self.worker is not None
        log.debug("Starting worker", extra=fields(worker=index))
        try:
            while True:
                runner = self.handoff.take()
                if runner is None:
                    break
                try:
                    self.worker.process(runner, requeue=self.handoff.requeue)
                except Exception:
                    log.exception("Failed to process runner",
                                  extra=fields(runner=runner.short_token, runner_name=runner.name))
                    self.metrics.processing_failure("other", runner.short_token, runner.name,
                                                    self.system_id)
        finally:
            log.debug("Stopping worker", extra=fields(worker=index))
            self.events.put(_WORKER_DONE)

    def _begin_job(self) -> bool:
        """A job arrived: count it, unless the process already decided to exit."""
        with self._lock:
            if self._exiting:
                return False
            self._jobs_in_flight += 1
            return True

    def _end_job(self) -> None:
        with self._lock:
            self._jobs_in_flight = max(0, self._jobs_in_flight - 1)
        # Only a graceful shutdown waits for the count (it reads it before each wait, after
        # `stopping` is set): waking the main loop for every job would cost a thread wake-up.
        if self.stopping.is_set():
            self.events.put(_WORKER_DONE)

    # -- the main loop -------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.events.put(_SIGNAL_NAMES.get(signal.Signals(signum), str(signum)))

    def install_signals(self) -> None:
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def serve(self) -> int:
        """Run until a stop signal; returns the process exit code."""
        self._update_workers()
        next_check = time.monotonic() + RELOAD_INTERVAL
        while True:
            try:
                event = self.events.get(timeout=max(0.0, next_check - time.monotonic()))
            except queue.Empty:
                event = ""
            if event == "hangup":
                self.holder.reload()
            elif event in ("quit", "terminated", "interrupt"):
                log.warning("[runWait] received stop signal", extra=fields(**{"stop-signal": event},
                                                                           **self._counts()))
                return self._shutdown(event)
            if time.monotonic() >= next_check:
                self.holder.check()
                next_check = time.monotonic() + RELOAD_INTERVAL
            if event in ("hangup", ""):
                if self.holder.current.concurrent < 1:
                    log.critical(
                        "Current configuration 'concurrent = %d' means that no jobs will be "
                        "processed", self.holder.current.concurrent)
                    return self._forceful("terminated", code_if_clean=1)
                self._update_workers()

    def _busy(self) -> int:
        with self._lock:
            return self._jobs_in_flight

    def _stop_requesting(self) -> None:
        self.stopping.set()
        self.handoff.close()
        if self.recovery is not None:
            self.recovery.stop()
        if self.rotation is not None:
            self.rotation.stop()

    def _shutdown(self, first: str) -> int:
        self._stop_requesting()
        if first == "quit":
            self.state = "graceful-shutdown"
            log.warning("Starting graceful shutdown, waiting for builds to finish",
                        extra=fields(StopSignal=first, **self._counts()))
            while True:
                if self._done():
                    return self._finished(0)
                try:
                    event = self.events.get(timeout=_SIGNAL_POLL)
                except queue.Empty:
                    continue
                if event in ("terminated", "interrupt"):
                    log.warning("[handleGracefulShutdown] received stop signal",
                                extra=fields(**{"stop-signal": event}))
                    log.warning("Graceful shutdown not finished properly. To gracefully clean up "
                                "running plugins please use SIGQUIT (ctrl-\\) instead of SIGINT "
                                "(ctrl-c)", extra=fields(error=f"received stop signal: {event}"))
                    return self._forceful(event)
        return self._forceful(first)

    def _done(self) -> bool:
        """True once no job is running; from then on a job that still arrives is not taken."""
        with self._lock:
            if self._jobs_in_flight == 0:
                self._exiting = True
                return True
            return False

    def _forceful(self, stop_signal: str, code_if_clean: int = 0) -> int:
        self._stop_requesting()
        self.state = "forceful-shutdown"
        timeout = self.holder.current.effective_shutdown_timeout
        log.warning("Starting forceful shutdown",
                    extra=fields(StopSignal=stop_signal, **{"shutdown-timeout": f"{timeout}s"}))
        self.active.interrupt_all(_GO_TO_SIGNAL.get(stop_signal, "SIGTERM"))
        deadline = time.monotonic() + timeout
        while not self._done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("Forceful shutdown not finished properly",
                            extra=fields(error="shutdown timed out"))
                return 1
            try:
                event = self.events.get(timeout=min(remaining, _SIGNAL_POLL))
            except queue.Empty:
                continue
            if event in ("quit", "terminated", "interrupt"):
                log.warning("[handleForcefulShutdown] received stop signal",
                            extra=fields(**{"stop-signal": event}))
                log.warning("Forceful shutdown not finished properly",
                            extra=fields(error=f"forced exit with stop signal: {event}"))
                return 1
        return self._finished(code_if_clean)

    def _finished(self, code: int) -> int:
        log.info("All workers stopped.", extra=self._log_fields())
        log.info("All executor providers shut down.", extra=self._log_fields())
        log.info("Can exit now!", extra=self._log_fields())
        return code

    def close(self) -> None:
        """Release what outlives serving (the journal keeps records of unfinished jobs)."""
        if self.metrics_server is not None:
            self.metrics_server.stop()
        if self.journal is not None:
            self.journal.close()
        if self.clients is not None:
            self.clients.close()

    def execute(self) -> int:
        self.install_signals()
        try:
            self.start()
            # Everything built so far (imports, config, clients) lives as long as the process:
            # out of the collector's sight, the full collections that job garbage triggers
            # do not walk it again and again.
            gc.freeze()
            return self.serve()
        finally:
            self.close()


_GO_TO_SIGNAL = {"terminated": "SIGTERM", "interrupt": "SIGINT", "quit": "SIGQUIT"}


def _system_id(config_path: Path) -> str:
    # An unwritable config dir: a random id is used for this run.
    with contextlib.suppress(OSError):
        config_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return load_system_id(config_path.parent)
