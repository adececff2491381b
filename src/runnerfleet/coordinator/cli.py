"""`runnerfleet coordinator`: run the local GitLab-compatible coordinator until signalled."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from runnerfleet.coordinator.jobs import JobOptions
from runnerfleet.coordinator.server import CoordinatorServer
from runnerfleet.errors import RunnerfleetError, UsageError

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_DATA_DIR = "./.runnerfleet-coordinator"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"runnerfleet coordinator: {message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="runnerfleet coordinator",
        description="Serve GitLab's runner API locally (SQLite state) for tests and quickstarts.",
    )
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 picks one)")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
                   help=f"state directory (default {DEFAULT_DATA_DIR})")
    p.add_argument("--tls-cert-file", metavar="FILE", help="serve HTTPS with this PEM certificate")
    p.add_argument("--tls-key-file", metavar="FILE", help="the PEM key of --tls-cert-file")
    p.add_argument("--rate-limit", type=int, default=0, metavar="N",
                   help="requests per period per client IP on /api/v4 (0 = off)")
    p.add_argument("--rate-limit-period", type=int, default=60, metavar="SECONDS",
                   help="rate-limit window in seconds (default 60)")
    p.add_argument("--url", metavar="URL", help="external URL to print (default derived)")
    p.add_argument("--log-requests", action="store_true",
                   help="log method, path and status of every request to stderr")
    defaults = JobOptions()
    p.add_argument("--long-poll-timeout", type=float, default=defaults.long_poll_timeout,
                   metavar="SECONDS",
                   help="hold /jobs/request while nothing changed, as Workhorse (default 50; 0 = off)")
    p.add_argument("--stuck-timeout", type=float, default=defaults.stuck_timeout,
                   metavar="SECONDS",
                   help="drop running jobs without any update for this long (default 3600)")
    p.add_argument("--job-timeout-slack", type=float, default=defaults.job_timeout_slack,
                   metavar="SECONDS",
                   help="drop running jobs this long past their timeout (default 900)")
    p.add_argument("--trace-update-interval", type=int, default=defaults.trace_update_interval,
                   metavar="SECONDS",
                   help="X-GitLab-Trace-Update-Interval on trace answers (default 3, GitLab's"
                        " value for a watched job; 60 when nobody watches)")
    p.add_argument("--trace-size-limit", type=int, default=defaults.trace_size_limit,
                   metavar="BYTES",
                   help="drop jobs whose log grows past this (default 104857600 = 100 MB)")
    return p


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(
            f"runnerfleet coordinator: --listen {value!r} is not HOST:PORT (e.g. 127.0.0.1:8080)"
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        host, port = parse_listen(args.listen)
        if args.rate_limit < 0 or args.rate_limit_period <= 0:
            raise UsageError(
                "runnerfleet coordinator: --rate-limit must be >= 0 and --rate-limit-period > 0"
            )
        if min(args.long_poll_timeout, args.trace_update_interval, args.trace_size_limit) < 0 or \
                min(args.stuck_timeout, args.job_timeout_slack) <= 0:
            raise UsageError(
                "runnerfleet coordinator: --long-poll-timeout, --trace-update-interval and"
                " --trace-size-limit must be >= 0; --stuck-timeout and --job-timeout-slack > 0"
            )
        job_options = JobOptions(
            long_poll_timeout=args.long_poll_timeout,
            stuck_timeout=args.stuck_timeout,
            job_timeout_slack=args.job_timeout_slack,
            trace_update_interval=args.trace_update_interval,
            trace_size_limit=args.trace_size_limit,
        )
        server = CoordinatorServer(
            Path(args.data_dir),
            host,
            port,
            tls_cert_file=args.tls_cert_file,
            tls_key_file=args.tls_key_file,
            rate_limit=args.rate_limit,
            rate_limit_period=args.rate_limit_period,
            public_url=args.url,
            log_requests=args.log_requests,
            job_options=job_options,
        )
        server.start()
    except RunnerfleetError as exc:
        print(str(exc), file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"runnerfleet coordinator listening on {server.url}")
    print(f"admin token (PRIVATE-TOKEN): {server.admin_token}")
    print(f"registration token: {server.registration_token}")
    print(f"state: {server.state_path}", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
    return 0
