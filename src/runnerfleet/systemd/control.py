"""gitlab-runner's service commands on systemd: install, uninstall, start, stop, restart, status.

`install` writes the unit (`unit.render_unit`: `runnerfleet run --config ... --working-directory
... --service NAME [--user U]`, graceful SIGQUIT stop, SIGHUP reload), reloads systemd and
enables it, as gitlab-runner's kardianos/service backend does; the other commands are the
matching `systemctl` calls. Only systemd is supported: elsewhere every command says so in one
line instead of guessing at another init system.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runnerfleet.errors import RunnerfleetError
from runnerfleet.systemd.unit import UNIT_MODE, PlannedFile, ServiceSpec, apply, differs, plan

SYSTEM_UNIT_DIR = "/etc/systemd/system"
SYSTEMD_RUNTIME = "/run/systemd/system"


class ServiceError(RunnerfleetError):
    """A service command that could not do its work; one line saying what to do."""


@dataclass(frozen=True)
class Manager:
    """Where units live and how systemctl is called (system or `--user-service` units)."""

    unit_dir: str = SYSTEM_UNIT_DIR
    user_service: bool = False
    systemctl: str = "systemctl"
    runtime_dir: str = SYSTEMD_RUNTIME

    @classmethod
    def for_user(cls) -> Manager:
        home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return cls(unit_dir=str(Path(home) / "systemd" / "user"), user_service=True)

    def check_systemd(self) -> None:
        if not os.path.isdir(self.runtime_dir):
            raise ServiceError(
                f"service commands need systemd, and it is not running here ({self.runtime_dir} "
                "does not exist); start `runnerfleet run` from your init system instead")

    def unit_path(self, name: str) -> str:
        return os.path.join(self.unit_dir, f"{name}.service")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [self.systemctl, *(["--user"] if self.user_service else []), *args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        except FileNotFoundError:
            raise ServiceError(f"{self.systemctl} not found; service commands need systemd") from None
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise ServiceError(f"{' '.join(argv)} failed: {detail[-1] if detail else done.returncode}")
        return done


def install(manager: Manager, spec: ServiceSpec) -> PlannedFile:
    """Write the unit (0644), reload systemd and enable the service; the unit file planned."""
    manager.check_systemd()
    unit, _dropin, _env = plan(spec, manager.unit_dir, manager.unit_dir, {}, present=True)
    assert unit.mode == UNIT_MODE
    if differs(unit):
        try:
            apply(unit)
        except OSError as exc:
            raise ServiceError(f"{unit.path}: cannot write the unit: {exc.strerror or exc}; "
                               "run as root (or pass --user-service)") from None
    manager.run("daemon-reload")
    manager.run("enable", f"{spec.name}.service")
    return unit


def uninstall(manager: Manager, name: str) -> None:
    """Disable the service, remove its unit and reload systemd (a running service keeps running
    until it is stopped, as with gitlab-runner)."""
    manager.check_systemd()
    path = manager.unit_path(name)
    if not os.path.exists(path):
        raise ServiceError(f"{path} does not exist: service {name} is not installed")
    manager.run("disable", f"{name}.service")
    os.unlink(path)
    manager.run("daemon-reload")


def control(manager: Manager, action: str, name: str) -> None:
    """`start`, `stop` or `restart` the service."""
    manager.check_systemd()
    manager.run(action, f"{name}.service")


def status(manager: Manager, name: str) -> str:
    """`running`, `stopped`, or `not installed` (systemd knows no such unit)."""
    manager.check_systemd()
    if manager.run("is-active", "--quiet", f"{name}.service", check=False).returncode == 0:
        return "running"
    shown = manager.run("show", "-p", "LoadState", "--value", f"{name}.service", check=False)
    return "not installed" if shown.stdout.strip() == "not-found" else "stopped"
