"""Service containers: definitions from config and job, aliases, start, and the health wait.

Engine spec §2.9 and gitlab-runner's `executors/docker/services`: `[[runners.docker.services]]`
come first, then the job's; each service is reachable by its aliases (explicit ones plus two
derived from the image name: `group__image` and `group-image`), through the per-build network
or legacy links. The health wait probes the image's exposed ports from a helper container on the
service's network; a service that does not answer is a warning, never a job failure.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.config import DockerConfig
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.job import JobPayload
from runnerfleet.trace import TraceBuffer

_ALIAS_CHARS = re.compile(r"[^a-zA-Z0-9_.-]")
_WAIT_POLL = 0.1  # how often the health wait looks at the job's cancel signal and deadline


@dataclass(frozen=True)
class ServiceSpec:
    """One service to start: image, aliases, overrides and its own variables."""

    name: str
    aliases: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    environment: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    from_job: bool = False


@dataclass
class StartedService:
    spec: ServiceSpec
    container: str
    name: str
    ports: list[str] = field(default_factory=list)


def default_aliases(image: str) -> list[str]:
    """gitlab-runner's aliases from an image name: the path without tag, `/` as `__` and as `-`."""
    base = image.split("@", 1)[0]
    slash = base.rfind("/")
    colon = base.rfind(":")
    if colon > slash:
        base = base[:colon]
    aliases = [base.replace("/", "__"), base.replace("/", "-")]
    return [a for i, a in enumerate(aliases) if a and a not in aliases[:i]]


def service_specs(cfg: DockerConfig, payload: JobPayload | None,
                  expand: Callable[[str], str]) -> list[ServiceSpec]:
    specs: list[ServiceSpec] = []
    for svc in cfg.services:
        specs.append(ServiceSpec(
            name=expand(svc.name), aliases=tuple(svc.aliases),
            entrypoint=None if svc.entrypoint is None else tuple(svc.entrypoint),
            command=None if svc.command is None else tuple(svc.command),
            environment=tuple(svc.environment)))
    for image in payload.services if payload is not None else []:
        specs.append(ServiceSpec(
            name=expand(image.name), aliases=tuple(image.aliases),
            entrypoint=tuple(image.entrypoint) if image.entrypoint else None,
            command=tuple(image.command) if image.command else None,
            environment=tuple(f"{v.key}={v.value}" for v in image.variables.expanded()),
            ports=tuple(p.number for p in image.ports), from_job=True))
    return specs


def all_aliases(spec: ServiceSpec) -> list[str]:
    aliases = [*spec.aliases, *default_aliases(spec.name)]
    out: list[str] = []
    for alias in aliases:
        clean = _ALIAS_CHARS.sub("-", alias)
        if clean and clean not in out:
            out.append(clean)
    return out


def exposed_ports(image_data: dict[str, Any], extra: Sequence[int]) -> list[str]:
    """`6379/tcp`-style ports the image exposes, plus the job's `ports`, TCP only."""
    exposed = ((image_data.get("Config") or {}).get("ExposedPorts") or {}).keys()
    ports = [p for p in exposed if p.endswith("/tcp")]
    ports += [f"{n}/tcp" for n in extra if f"{n}/tcp" not in ports]
    return ports


def _probe_script(address: str, ports: Sequence[str], timeout: int) -> str:
    numbers = " ".join(p.split("/")[0] for p in ports)
    # Any port that accepts a connection means the service is up (gitlab-runner's health-check).
    return (f"end=$(( $(date +%s) + {timeout} )); "
            f"while [ $(date +%s) -lt $end ]; do for p in {numbers}; do "
            f"if (exec 3<>/dev/tcp/{address}/$p) 2>/dev/null; then exit 0; fi; done; sleep 0.1; done; "
            f"echo \"no port of {address} answered ({numbers})\" >&2; exit 1")


def _address(daemon: Daemon, container: str, network: str) -> str:
    settings = daemon.inspect_container(container).get("NetworkSettings") or {}
    networks = settings.get("Networks") or {}
    entry = networks.get(network) if network else None
    if entry is None and networks:
        entry = next(iter(networks.values()))
    return str((entry or {}).get("IPAddress") or settings.get("IPAddress") or "")


def wait_for_services(
    daemon: Daemon,
    services: Sequence[StartedService],
    *,
    helper_image: str,
    network: str,
    timeout: int,
    trace: TraceBuffer,
    make_container: Callable[[StartedService, dict[str, Any]], str],
    cancel_event: threading.Event | None = None,
    deadline: float | None = None,
) -> None:
    """Probe every service with exposed ports in parallel; print a warning for each that failed.

    Raises BuildError as soon as `cancel_event` is set (job canceled) or the monotonic `deadline`
    passes (prepare or job timeout): the probe containers are the job's and go with its cleanup.
    """
    if timeout < 0:
        return
    # Probe threads create their containers under this lock and not after `stopped`: once the
    # wait gives up, every probe container that exists is in the job's resources, so the job's
    # cleanup removes it (a probe created after the cleanup would be left behind).
    probes = _Probes()
    threads = []
    for service in services:
        if not service.ports:
            continue
        thread = threading.Thread(target=_wait_one, daemon=True, args=(
            daemon, service, helper_image, network, timeout, trace, make_container, probes))
        threads.append(thread)
    if not threads:
        return
    trace.println(f"Waiting for services to be up and running (timeout {timeout} seconds)...")
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + timeout + 60
    for thread in threads:
        while thread.is_alive() and time.monotonic() < give_up:
            if cancel_event is not None and cancel_event.is_set():
                probes.stop()
                raise BuildError("canceled while waiting for services",
                                 failure_reason=FailureReason.JOB_CANCELED)
            if deadline is not None and time.monotonic() >= deadline:
                probes.stop()
                raise BuildError("prepare timeout: the job's time ran out while waiting for services",
                                 failure_reason=FailureReason.JOB_EXECUTION_TIMEOUT)
            thread.join(_WAIT_POLL)
    probes.stop()  # probes still running past `give_up` report nothing more


class _Probes:
    """Whether the health wait still wants probes, and the lock their creation holds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopped = False

    def stop(self) -> None:
        with self.lock:
            self.stopped = True


def _wait_one(daemon: Daemon, service: StartedService, helper_image: str, network: str, timeout: int,
              trace: TraceBuffer, make_container: Callable[[StartedService, dict[str, Any]], str],
              probes: _Probes) -> None:
    error = ""
    probe_logs = ""
    try:
        address = _address(daemon, service.container, network)
        if not address:
            raise DockerDaemonError(f"service {service.name} has no IP address")
        with probes.lock:
            if probes.stopped:
                return
            probe = make_container(service, {
                "Image": helper_image,
                "Entrypoint": ["bash", "-c"],
                "Cmd": [_probe_script(address, service.ports, timeout)],
            })
        daemon.start(probe)
        code = daemon.wait(probe, timeout=timeout + 30)
        if code != 0:
            probe_logs = daemon.logs(probe)
            reason = probe_logs.strip() or f"exit code {code}"
            error = f'service "{service.spec.name}" health check: {reason}'
    except DockerDaemonError as exc:
        error = f"service \"{service.spec.name}\" health check: {exc}"
    if not error or probes.stopped:  # a wait given up (cancel, timeout) reports nothing more
        return
    try:
        service_logs = daemon.logs(service.container)
    except DockerDaemonError as exc:
        service_logs = str(exc)
    lines = [f"*** WARNING: Service {service.name} probably didn't start properly.", "",
             "Health check error:", error, "", "Service container logs:",
             *service_logs.rstrip().splitlines(), "", "*********"]
    trace.warning("\n".join(lines))
