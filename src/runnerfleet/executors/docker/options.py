"""`[runners.docker]` keys as Engine API container settings (HostConfig fields), validated.

One function per container role: build and helper containers share the job limits, services
use the `service_*`/`services_*` variants (engine spec §2.8). Problems are BuildErrors with
reason runner_configuration_error naming the key, e.g. `runners.docker.dns: "x" is not an IP`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from runnerfleet.config import DockerConfig, parse_size
from runnerfleet.executors.errors import BuildError, FailureReason

KEY = "runners.docker"


def config_error(key: str, message: str) -> BuildError:
    return BuildError(f"{KEY}.{key}: {message}", failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)


def _size(cfg: DockerConfig, key: str) -> int | None:
    value = getattr(cfg, key)
    if not value:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise config_error(key, str(exc)) from None


def _nano_cpus(cfg: DockerConfig, key: str) -> int | None:
    value = getattr(cfg, key)
    if not value:
        return None
    try:
        return int(Fraction(value) * 1_000_000_000)
    except (ValueError, ZeroDivisionError):
        raise config_error(key, f'expected a number of CPUs like "1.5", got {value!r}') from None


def _dns(cfg: DockerConfig) -> list[str]:
    for server in cfg.dns:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise config_error("dns", f'"{server}" is not an IP address') from None
    return list(cfg.dns)


def _devices(key: str, specs: Sequence[str]) -> list[dict[str, str]]:
    devices = []
    for spec in specs:
        parts = spec.split(":")
        if not parts[0].startswith("/") or len(parts) > 3:
            raise config_error(key, f'"{spec}" is not HOST[:CONTAINER[:PERMISSIONS]] with absolute paths')
        host = parts[0]
        inside = parts[1] if len(parts) > 1 and parts[1] else host
        perms = parts[2] if len(parts) > 2 else "rwm"
        devices.append({"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms})
    return devices


def _ulimits(cfg: DockerConfig) -> list[dict[str, Any]]:
    ulimits = []
    for name, value in cfg.ulimit.items():
        soft, _, hard = str(value).partition(":")
        try:
            ulimits.append({"Name": name, "Soft": int(soft), "Hard": int(hard or soft)})
        except ValueError:
            raise config_error(f"ulimit.{name}", f'expected "soft[:hard]" numbers, got {value!r}') from None
    return ulimits


def _log_config(cfg: DockerConfig) -> dict[str, Any] | None:
    if not cfg.log_options:
        return None
    bad = sorted(k for k in cfg.log_options if k not in ("env", "labels"))
    if bad:
        raise config_error("log_options", f"only env and labels are allowed, got {', '.join(bad)}")
    return {"Type": "json-file", "Config": dict(cfg.log_options)}


@dataclass(frozen=True)
class Mounts:
    """What a container mounts: `Binds` entries (host paths and named volumes) and tmpfs."""

    binds: tuple[str, ...] = ()
    tmpfs: Mapping[str, str] | None = None


def _common(cfg: DockerConfig) -> dict[str, Any]:
    host: dict[str, Any] = {
        "Dns": _dns(cfg) or None,
        "DnsSearch": list(cfg.dns_search) or None,
        "ExtraHosts": list(cfg.extra_hosts) or None,
        "ShmSize": cfg.shm_size or None,
        "UsernsMode": cfg.userns_mode or None,
        "IpcMode": cfg.ipcmode or None,
        "Sysctls": dict(cfg.sysctls) or None,
        "Ulimits": _ulimits(cfg) or None,
        "Runtime": cfg.runtime or None,
        "VolumesFrom": list(cfg.volumes_from) or None,
        "LogConfig": _log_config(cfg),
        "OomScoreAdj": cfg.oom_score_adjust or None,
        "GroupAdd": list(cfg.group_add or []) or None,
    }
    return host


def device_requests(key: str, value: str) -> list[dict[str, Any]] | None:
    """`gpus`/`service_gpus` as Engine API DeviceRequests, parsed as `docker run --gpus` does.

    `all` or a number, or CSV fields `count=N|all`, `device=ID[,ID]`, `driver=NAME`,
    `capabilities=CAP[,CAP]` (default capability: gpu).
    """
    if not value:
        return None
    request: dict[str, Any] = {"Driver": "", "Count": 0, "DeviceIDs": None, "Capabilities": None,
                               "Options": {}}
    fields = _csv_fields(value)
    for field in fields:
        name, sep, arg = field.partition("=")
        if not sep:
            name, arg = "count", field
        name = name.strip().lower()
        if name == "count":
            if arg == "all":
                request["Count"] = -1
            elif arg.isdigit():
                request["Count"] = int(arg)
            else:
                raise config_error(key, f'"{value}": count must be "all" or a number, got {arg!r}')
        elif name == "device":
            request["DeviceIDs"] = [d for d in arg.split(",") if d]
        elif name == "driver":
            request["Driver"] = arg
        elif name == "capabilities":
            request["Capabilities"] = [[c for c in arg.split(",") if c]]
        else:
            raise config_error(key, f'"{value}": unexpected field {name!r} (use all, a count, count=, '
                               "device=, driver= or capabilities=)")
    if request["Count"] and request["DeviceIDs"]:
        raise config_error(key, f'"{value}": use either a count or device IDs, not both')
    if request["Capabilities"] is None:
        request["Capabilities"] = [["gpu"]]
    return [request]


def _csv_fields(value: str) -> list[str]:
    """Comma-separated fields where a quoted field may hold commas (`"device=0,1"`)."""
    import csv

    return [f for f in next(csv.reader([value])) if f]


def gpu_explanation(key: str, value: str, daemon_message: str) -> str | None:
    """A clear line when the daemon cannot give a container the GPUs that `key` asks for."""
    if value and "could not select device driver" in daemon_message:
        return (f'{KEY}.{key} = "{value}": this docker daemon has no GPU device driver (install the '
                f"NVIDIA container toolkit on the daemon's host, or remove {KEY}.{key}). "
                f"Daemon said: {daemon_message}")
    return None


def build_host_config(cfg: DockerConfig, mounts: Mounts, *, network_mode: str, links: Sequence[str],
                      helper: bool) -> dict[str, Any]:
    """HostConfig of the build container (and, without pid_mode/tmpfs, of the helper container)."""
    host = _common(cfg)
    host.update({
        "Binds": list(mounts.binds) or None,
        "Memory": _size(cfg, "memory"),
        "MemorySwap": _size(cfg, "memory_swap"),
        "MemoryReservation": _size(cfg, "memory_reservation"),
        "NanoCpus": _nano_cpus(cfg, "cpus"),
        "CpusetCpus": cfg.cpuset_cpus or None,
        "CpusetMems": cfg.cpuset_mems or None,
        "CpuShares": cfg.cpu_shares or None,
        "CgroupParent": cfg.cgroup_parent or None,
        "OomKillDisable": True if cfg.oom_kill_disable else None,
        "Privileged": True if cfg.privileged else None,
        "CapAdd": list(cfg.cap_add or []) or None,
        "CapDrop": list(cfg.cap_drop or []) or None,
        "SecurityOpt": list(cfg.security_opt or []) or None,
        "Devices": _devices("devices", cfg.devices or []) or None,
        "DeviceCgroupRules": list(cfg.device_cgroup_rules) or None,
        "NetworkMode": network_mode or None,
        "Links": list(links) or None,
    })
    if not helper:
        host["DeviceRequests"] = device_requests("gpus", cfg.gpus)
        host["PidMode"] = cfg.pid_mode or None
        host["Tmpfs"] = dict(mounts.tmpfs or cfg.tmpfs) or None
    return {k: v for k, v in host.items() if v is not None}


def service_host_config(cfg: DockerConfig, mounts: Mounts, *, network_mode: str, image: str,
                        privileged: bool) -> dict[str, Any]:
    """HostConfig of a service container (`service_*` limits, `services_*` options)."""
    from runnerfleet.executors.docker.images import glob_match

    devices: list[str] = []
    for pattern, specs in cfg.services_devices.items():
        if glob_match(pattern, image):
            devices.extend(specs)
    host = _common(cfg)
    host.update({
        "Binds": list(mounts.binds) or None,
        "Memory": _size(cfg, "service_memory"),
        "MemorySwap": _size(cfg, "service_memory_swap"),
        "MemoryReservation": _size(cfg, "service_memory_reservation"),
        "NanoCpus": _nano_cpus(cfg, "service_cpus"),
        "CpusetCpus": cfg.service_cpuset_cpus or None,
        "CpuShares": cfg.service_cpu_shares or None,
        "CgroupParent": cfg.service_cgroup_parent or None,
        "Privileged": True if privileged else None,
        "SecurityOpt": list(cfg.services_security_opt or []) or None,
        "Devices": _devices("services_devices", devices) or None,
        "Tmpfs": dict(cfg.services_tmpfs) or None,
        "NetworkMode": network_mode or None,
        "DeviceRequests": device_requests("service_gpus", cfg.service_gpus),
    })
    return {k: v for k, v in host.items() if v is not None}


def privileged_explanation(daemon_message: str) -> str | None:
    """A clear line when the daemon refused a privileged container (missing host capabilities)."""
    lowered = daemon_message.lower()
    if "operation not permitted" in lowered and ("caps" in lowered or "capabilit" in lowered):
        return (f"{KEY}.privileged = true: this docker daemon cannot start privileged containers "
                "(the host does not grant every capability); set privileged = false or use cap_add "
                f"for the capabilities the job needs. Daemon said: {daemon_message}")
    return None
