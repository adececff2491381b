"""The `listen_address` HTTP server: `/metrics` (Prometheus text) and `/debug/jobs/list`.

Metric names and labels are gitlab-runner's (commands/multi.go, builds_helper.go,
health_helper.go, network/api_requests_collector.go, helpers/prometheus/*, common/version.go).
prometheus-client is imported here only, when the server starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runnerfleet import version
from runnerfleet.config import Config, shorten_token
from runnerfleet.config.durations import go_duration_string
from runnerfleet.errors import RunnerfleetError
from runnerfleet.service.metrics import ServiceMetrics
from runnerfleet.service.slots import BuildSlots

log = logging.getLogger("runnerfleet.service")

DEFAULT_METRICS_PORT = 9252


def listen_address(config_value: str, flag_value: str | None) -> str:
    """`--listen-address`/LISTEN_ADDRESS wins over the config; a missing port means 9252."""
    address = (flag_value or config_value or "").strip()
    if not address:
        return ""
    host, sep, port = address.rpartition(":")
    if not sep or (address.startswith("[") and address.endswith("]")):
        return f"{address}:{DEFAULT_METRICS_PORT}"
    if not port.isdigit():
        raise RunnerfleetError(f'listen_address "{address}": the port must be a number '
                               "(host:port, e.g. 127.0.0.1:9252)")
    return f"{host}:{port}"


@dataclass
class MetricsSources:
    """Where the numbers come from at scrape time."""

    metrics: ServiceMetrics
    slots: BuildSlots
    config: Callable[[], Config]
    system_id: str
    process_state: Callable[[], str]


class RunnerCollector:
    """A prometheus-client collector reading the service's state on every scrape."""

    def __init__(self, sources: MetricsSources) -> None:
        self.s = sources

    def describe(self) -> list[Any]:
        return []  # unchecked collector: families are produced at scrape time

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        s = self.s
        m = s.metrics.snapshot()
        config = s.config()
        sid = s.system_id

        info = GaugeMetricFamily(
            "gitlab_runner_version_info",
            "A metric with a constant '1' value labeled by different build stats fields.",
            labels=["name", "version", "revision", "branch", "go_version", "built_at", "os",
                    "architecture"])
        info.add_metric([version.NAME, version.COMPATIBLE_GITLAB_RUNNER_VERSION, version.REVISION,
                         "main", "python" + _python(), "", version.go_platform(),
                         version.go_arch()], 1)
        yield info

        concurrent = GaugeMetricFamily("gitlab_runner_concurrent",
                                       "The current value of concurrent setting")
        concurrent.add_metric([], config.concurrent)
        yield concurrent
        limit = GaugeMetricFamily("gitlab_runner_limit", "The current value of concurrent setting",
                                  labels=["runner", "runner_name", "system_id"])
        for runner in config.runners:
            limit.add_metric([runner.short_token, runner.name, sid], runner.limit)
        yield limit

        jobs = GaugeMetricFamily("gitlab_runner_jobs", "The current number of running builds.",
                                 labels=["runner", "runner_name", "system_id", "state", "stage",
                                         "executor_stage"])
        counts: dict[tuple[str, ...], int] = {}
        counters = s.slots.counters()
        for token, counter in counters.items():
            counts[(shorten_token(token), counter.name, sid, "idle", "idle", "idle")] = 0
        for job in s.slots.jobs():
            key: tuple[str, ...] = (job.runner.short_token, job.runner.name, sid, job.state, job.stage(), "")
            counts[key] = counts.get(key, 0) + 1
        for labels, value in counts.items():
            jobs.add_metric(list(labels), value)
        yield jobs

        rc_labels = ["runner", "system_id"]
        families: dict[str, Any] = {
            "requests": GaugeMetricFamily("gitlab_runner_request_concurrency",
                                          "The current number of concurrent requests for a new job",
                                          labels=rc_labels),
            "exceeded": CounterMetricFamily(
                "gitlab_runner_request_concurrency_exceeded_total",
                "Count of excess requests above the configured request_concurrency limit",
                labels=rc_labels),
            "hard_limit": GaugeMetricFamily("gitlab_runner_request_concurrency_hard_limit",
                                            "Configured request_concurrency limit",
                                            labels=rc_labels),
            "adaptive_limit": GaugeMetricFamily("gitlab_runner_request_concurrency_adaptive_limit",
                                                "Computed adaptive request concurrency limit",
                                                labels=rc_labels),
            "used_limit": GaugeMetricFamily("gitlab_runner_request_concurrency_used_limit",
                                            "Used request concurrency limit", labels=rc_labels),
        }
        for token, counter in counters.items():
            for attr, family in families.items():
                family.add_metric([shorten_token(token), sid], float(getattr(counter, attr)))
        yield from families.values()

        yield _counter(CounterMetricFamily, "gitlab_runner_jobs_total", "Total number of handled jobs",
                       ["runner", "runner_name", "system_id"], m.jobs_total)
        yield _counter(CounterMetricFamily, "gitlab_runner_failed_jobs_total",
                       "Total number of failed jobs",
                       ["runner", "runner_name", "failure_reason", "mode"], m.failed_jobs)
        yield _histogram(HistogramMetricFamily, "gitlab_runner_job_duration_seconds",
                         "Histogram of job durations", ["runner", "runner_name", "system_id", "mode"],
                         m.job_durations)
        yield _histogram(HistogramMetricFamily, "gitlab_runner_job_stage_duration_seconds",
                         "Histogram of each job stage duration",
                         ["runner", "runner_name", "system_id", "stage"], m.stage_durations)
        yield _counter(CounterMetricFamily, "gitlab_runner_api_request_statuses_total",
                       "The total number of API requests made by GitLab Runner, partitioned by "
                       "runner, system_id, endpoint, status and method.",
                       ["runner", "system_id", "endpoint", "status", "method"], m.api_statuses)
        yield _histogram(HistogramMetricFamily, "gitlab_runner_api_request_duration_seconds",
                         "Latency histogram of API requests made by GitLab Runner, partitioned by "
                         "runner, system_id, endpoint, status_class and method.",
                         ["runner", "system_id", "endpoint", "status_class", "method"],
                         m.api_durations)
        errors = CounterMetricFamily("gitlab_runner_errors_total", "The number of caught errors.",
                                     labels=["level"])
        for level, value in m.errors.items():
            errors.add_metric([level], value)
        yield errors
        runner_labels = ["runner", "runner_name", "system_id"]
        yield _counter(CounterMetricFamily, "gitlab_runner_worker_feeds_total",
                       "Total number of times that runner worker is fed to the main loop",
                       runner_labels, m.feeds)
        yield _counter(CounterMetricFamily, "gitlab_runner_worker_feed_failures_total",
                       "Total number of times that runner worker feeding have failed",
                       runner_labels, m.feed_failures)
        slots = GaugeMetricFamily("gitlab_runner_worker_slots_number",
                                  "Current number of runner worker slots")
        slots.add_metric([], m.worker_slots)
        yield slots
        ops = CounterMetricFamily("gitlab_runner_worker_slot_operations_total",
                                  "Total number of runner workers slot operations (starting and "
                                  "stopping slots)", labels=["operation"])
        for op, value in m.slot_operations.items():
            ops.add_metric([op], value)
        yield ops
        yield _counter(CounterMetricFamily, "gitlab_runner_worker_processing_failures_total",
                       "Total number of failures when processing runner worker",
                       ["failure_type", *runner_labels], m.processing_failures)
        yield _counter(CounterMetricFamily, "gitlab_runner_worker_health_check_failures_total",
                       "Total number of runner worker health check failures", runner_labels,
                       m.health_failures)
        state = GaugeMetricFamily("gitlab_runner_process_state",
                                  "Current state of the runner process", labels=["state"])
        current = s.process_state()
        for name in ("starting", "running", "graceful-shutdown", "forceful-shutdown"):
            state.add_metric([name], 1 if name == current else 0)
        yield state


def _python() -> str:
    import platform

    return platform.python_version()


def _counter(cls: Any, name: str, doc: str, labels: list[str], data: Any) -> Any:
    family = cls(name, doc, labels=labels)
    for key, value in data.items():
        family.add_metric(list(key), value)
    return family


def _histogram(cls: Any, name: str, doc: str, labels: list[str], data: Any) -> Any:
    family = cls(name, doc, labels=labels)
    for key, hist in data.items():
        buckets = [(_bound(b), float(c)) for b, c in zip(hist.buckets, hist.counts, strict=True)]
        buckets.append(("+Inf", float(hist.count)))
        family.add_metric(list(key), buckets, hist.total)
    return family


def _bound(value: float) -> str:
    return repr(float(value))


def jobs_list(slots: BuildSlots) -> str:
    """`/debug/jobs/list` body in gitlab-runner's version-2 format."""
    lines = []
    now = time.monotonic()
    for job in slots.jobs():
        duration = go_duration_string(int((now - job.started) * 1_000_000_000))
        lines.append(f"url={job.url} state={job.state} stage={job.stage()} executor_stage= "
                     f"duration={duration}\n")
    return "".join(lines)


class MetricsServer:
    """A small threaded HTTP server on `listen_address` (started once, like gitlab-runner's)."""

    def __init__(self, address: str, sources: MetricsSources) -> None:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.process_collector import ProcessCollector

        registry = CollectorRegistry(auto_describe=False)
        registry.register(RunnerCollector(sources))
        ProcessCollector(registry=registry)
        host, _, port = address.rpartition(":")
        host = host.strip("[]")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry),
                               "text/plain; version=0.0.4; charset=utf-8")
                elif path == "/debug/jobs/list":
                    self._send(200, jobs_list(sources.slots).encode(), "text/plain",
                               {"X-List-Version": "2"})
                elif path == "/debug/process/state":
                    self._send(200, (sources.process_state() + "\n").encode(), "text/plain")
                else:
                    self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")

            def do_HEAD(self) -> None:
                self.do_GET()

            def _send(self, status: int, body: bytes, ctype: str,
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # scrapes are not worth a log line each

        try:
            self.httpd = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
        except OSError as error:
            raise RunnerfleetError(f"Failed to create listener for metrics server on {address}: "
                                   f"{error.strerror or error}; free the port or change "
                                   "listen_address / --listen-address") from None
        self.httpd.daemon_threads = True
        self.address = f"{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
