"""One GitLab API client per GitLab URL and TLS files, shared by all runners and jobs using them.

Each client counts its answers for `gitlab_runner_api_request_statuses_total`: the transport is
wrapped so that every HTTP exchange (including the job calls of runnerfleet.gitlab.jobs) reports
method, endpoint, status and time to a callback. The runner label is found from the token header:
the runner token itself, or the job token of a job this process runs (see `JobTokens`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from runnerfleet.config import RunnerConfig, certs_dir, shorten_token
from runnerfleet.gitlab import GitLabClient, TLSSettings

if TYPE_CHECKING:
    import httpx  # for annotations only: httpx is first imported by runnerfleet.gitlab

Observer = Callable[[str, str, str, int, float], None]
"""(runner short token, endpoint, method, status, seconds) of one answered API call."""

# gitlab-runner's endpoint labels (network/api_requests_collector.go).
_ENDPOINTS = (
    ("POST", re.compile(r"/api/v4/jobs/request$"), "request_job"),
    ("PUT", re.compile(r"/api/v4/jobs/\d+$"), "update_job"),
    ("PATCH", re.compile(r"/api/v4/jobs/\d+/trace$"), "patch_trace"),
    ("POST", re.compile(r"/api/v4/runners/reset_authentication_token$"), "reset_token"),
)


def endpoint_label(method: str, url: str) -> str | None:
    path = urlsplit(url).path
    for want, pattern, label in _ENDPOINTS:
        if method == want and pattern.search(path):
            return label
    return None


class JobTokens:
    """Which runner a job token belongs to, for metric labels (job calls carry no runner token)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[str, str] = {}

    def add(self, job_token: str, runner_short: str) -> None:
        with self._lock:
            self._runners[job_token] = runner_short

    def remove(self, job_token: str) -> None:
        with self._lock:
            self._runners.pop(job_token, None)

    def runner_for(self, job_token: str) -> str:
        with self._lock:
            return self._runners.get(job_token, "")


class _ObservedTransport:
    """Delegates to the client's transport and reports every answered exchange."""

    def __init__(self, inner: Any, observe: Callable[[str, str, Mapping[str, str], int, float],
                                                     None]) -> None:
        self._inner = inner
        self._observe = observe

    def send(self, method: str, url: str, *, headers: Mapping[str, str], content: bytes | None,
             params: Mapping[str, str] | None) -> httpx.Response:
        started = time.monotonic()
        response: httpx.Response = self._inner.send(method, url, headers=headers, content=content,
                                                    params=params)
        self._observe(method, url, headers, response.status_code, time.monotonic() - started)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ObservedClient(GitLabClient):
    """A GitLabClient whose answers go to an observer callback (optional)."""

    def __init__(self, url: str, *, tls: TLSSettings, job_tokens: JobTokens,
                 observer: Observer | None = None) -> None:
        super().__init__(url, tls=tls)
        self._job_tokens = job_tokens
        self._observer = observer
        if observer is not None:
            # The transport is where every call of this client (and of gitlab.jobs) goes through.
            self._transport = _ObservedTransport(self._transport, self._report)  # type: ignore[assignment]

    def _report(self, method: str, url: str, headers: Mapping[str, str], status: int,
                seconds: float) -> None:
        label = endpoint_label(method, url)
        if label is None or self._observer is None:
            return
        runner_token = headers.get("RUNNER-TOKEN")
        if runner_token:
            runner = shorten_token(runner_token)
        else:
            runner = self._job_tokens.runner_for(headers.get("JOB-TOKEN", ""))
        self._observer(runner, label, method, status, seconds)


TLSKey = tuple[str, str, str, str, str]


class ClientPool:
    """Clients by (URL, CA file, certificate, key, certs dir), created on first use, kept open."""

    def __init__(self, config_path: Path, *, observer: Observer | None = None) -> None:
        self.config_path = config_path
        self.job_tokens = JobTokens()
        self._observer = observer
        self._lock = threading.Lock()
        self._clients: dict[TLSKey, GitLabClient] = {}

    def for_runner(self, runner: RunnerConfig) -> GitLabClient:
        return self.get(runner.url, ca_file=runner.tls_ca_file, cert_file=runner.tls_cert_file,
                        key_file=runner.tls_key_file)

    def get(self, url: str, *, ca_file: str = "", cert_file: str = "", key_file: str = "",
            certs: str | None = None) -> GitLabClient:
        """The shared client; raises TransportError/TLSVerificationError for unusable settings."""
        certs = certs if certs is not None else str(certs_dir(self.config_path))
        key = (url, ca_file, cert_file, key_file, certs)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                tls = TLSSettings(ca_file=ca_file or None, cert_file=cert_file or None,
                                  key_file=key_file or None, certs_dir=Path(certs))
                client = ObservedClient(url, tls=tls, job_tokens=self.job_tokens,
                                        observer=self._observer)
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
