"""What one job created on the daemon, labelled, and its removal (also of orphans of killed runners).

Every container, network and per-job volume carries the job's unique label, so cleanup removes
them by label even when creation was interrupted half-way. Per-project cache volumes are kept.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from runnerfleet.executors.docker import labels as L
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError

log = logging.getLogger(__name__)


@dataclass
class JobResources:
    """Names and labels for one job's resources, and what has been made so far."""

    daemon: Daemon
    short_token: str
    job_id: int
    base_labels: Mapping[str, str]
    volume_keep: bool = False
    uid: str = field(default_factory=lambda: secrets.token_hex(4))
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    # A create call that failed may still have made its object (a timeout after the daemon
    # acted): only then must removal look the job's objects up by label.
    unsure: bool = False

    @contextlib.contextmanager
    def creating(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.unsure = True
            raise

    @property
    def prefix(self) -> str:
        return f"runnerfleet-{self.short_token}-job-{self.job_id}-{self.uid}"

    def labels(self, kind: str, **extra: str) -> dict[str, str]:
        return {**self.base_labels, L.MANAGED: "true", L.OWNER: L.owner(), L.HOSTNAME: L.hostname(),
                L.JOB_UID: self.uid, L.TYPE: kind, **extra}

    def remove_all(self) -> list[str]:
        """Remove every container, network and per-job volume of the job; the problems, if any."""
        problems: list[str] = []
        selector = {L.JOB_UID: self.uid}
        try:
            ids = set(self.containers)
            if self.unsure:
                ids |= {c["Id"] for c in self.daemon.containers(selector)}
        except DockerDaemonError as exc:
            problems.append(str(exc))
            ids = set(self.containers)
        for container in ids:
            try:
                self.daemon.remove_container(container, volumes=not self.volume_keep)
            except DockerDaemonError as exc:
                problems.append(str(exc))
        try:
            networks = set(self.networks)
            if self.unsure:
                networks |= {n["Id"] for n in self.daemon.networks(selector)}
        except DockerDaemonError as exc:
            problems.append(str(exc))
            networks = set(self.networks)
        for network in networks:
            try:
                self.daemon.remove_network(network)
            except DockerDaemonError as exc:
                problems.append(str(exc))
        try:
            volumes = set(self.volumes)
            if self.unsure:
                volumes |= {v["Name"] for v in self.daemon.volumes(selector)
                            if (v.get("Labels") or {}).get(L.TYPE) != L.CACHE}
        except DockerDaemonError as exc:
            problems.append(str(exc))
            volumes = set(self.volumes)
        for volume in volumes:
            try:
                self.daemon.remove_volume(volume)
            except DockerDaemonError as exc:
                problems.append(str(exc))
        self.containers.clear()
        self.networks.clear()
        self.volumes.clear()
        return problems


def remove_orphans(daemon: Daemon) -> int:
    """Remove containers, networks and job volumes left by runner processes of this machine that died."""
    removed = 0
    managed = {L.MANAGED: "true"}
    for container in daemon.containers(managed):
        if L.is_orphan(container.get("Labels") or {}):
            try:
                daemon.remove_container(container["Id"], volumes=True)
                removed += 1
            except DockerDaemonError as exc:
                log.warning("could not remove orphaned container %s: %s", container["Id"][:12], exc)
    for network in daemon.networks(managed):
        if L.is_orphan(network.get("Labels") or {}):
            try:
                daemon.remove_network(network["Id"])
                removed += 1
            except DockerDaemonError as exc:
                log.warning("could not remove orphaned network %s: %s", network["Name"], exc)
    for volume in daemon.volumes(managed):
        if L.is_orphan(volume.get("Labels") or {}):
            try:
                daemon.remove_volume(volume["Name"])
                removed += 1
            except DockerDaemonError as exc:
                log.warning("could not remove orphaned volume %s: %s", volume["Name"], exc)
    return removed
