"""Labels on every container, network and volume a job creates, and who owns them (orphan detection).

Like gitlab-runner's `com.gitlab.gitlab-runner.*` labels, with runnerfleet's own prefix. The
`owner` label names the runner process (boot id, PID, process start time): a resource whose owner
process no longer runs on this machine is an orphan of a killed runner.
"""

from __future__ import annotations

import os
import socket
from functools import cache

PREFIX = "com.runnerfleet"
MANAGED = f"{PREFIX}.managed"
OWNER = f"{PREFIX}.owner"
HOSTNAME = f"{PREFIX}.hostname"
TYPE = f"{PREFIX}.type"
JOB_UID = f"{PREFIX}.job.uid"
JOB_ID = f"{PREFIX}.job.id"
JOB_URL = f"{PREFIX}.job.url"
JOB_SHA = f"{PREFIX}.job.sha"
JOB_REF = f"{PREFIX}.job.ref"
PROJECT_ID = f"{PREFIX}.project.id"
PIPELINE_ID = f"{PREFIX}.pipeline.id"
RUNNER_TOKEN = f"{PREFIX}.runner.short_token"
SERVICE = f"{PREFIX}.service"
DESTINATION = f"{PREFIX}.destination"

# Resource types; `cache` volumes outlive jobs on purpose and are never orphans.
BUILD, HELPER, SERVICE_TYPE, WAIT, NETWORK, BUILDS_VOLUME, JOB_VOLUME, CACHE = (
    "build", "helper", "service", "wait-for-service", "network", "builds", "job-volume", "cache")


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


@cache
def owner() -> str:
    """This process's owner value: `<boot id>:<pid>:<start time>`."""
    pid = os.getpid()
    return f"{_boot_id()}:{pid}:{_start_time(pid) or '0'}"


@cache
def hostname() -> str:
    return socket.gethostname()


def is_orphan(labels: dict[str, str]) -> bool:
    """True when the resource was made by a runner process of this machine that no longer runs."""
    if labels.get(TYPE) == CACHE:
        return False
    value = labels.get(OWNER, "")
    boot, _, rest = value.partition(":")
    pid_text, _, started = rest.partition(":")
    if not pid_text.isdigit():
        return False
    if boot != _boot_id():
        # Another machine sharing this daemon, or this machine before a reboot.
        return labels.get(HOSTNAME) == hostname()
    if value == owner():
        return False
    return _start_time(int(pid_text)) != started
