"""`install`, `uninstall`, `start`, `stop`, `restart`, `status`: the runner as a systemd service."""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import sys
from pathlib import Path
from typing import Any

from runnerfleet.cli.context import CONFIG_FLAG, load_config
from runnerfleet.cli.flags import Flag, add_command, resolve
from runnerfleet.errors import UsageError
from runnerfleet.systemd.control import Manager, control, install, status, uninstall
from runnerfleet.systemd.unit import ServiceSpec, spec_problem

# gitlab-runner names its service gitlab-runner; runnerfleet's role and unit are runnerfleet.
DEFAULT_SERVICE = "runnerfleet"

COMMON = [
    Flag("service", "Specify service name to use", short="n", default=DEFAULT_SERVICE),
    Flag("user-service", "Manage a systemd user unit (no root needed)", kind="bool"),
]
INSTALL = [
    *COMMON,
    CONFIG_FLAG,
    Flag("working-directory", "Specify custom root directory where all data are stored",
         short="d"),
    Flag("syslog", "Setup system logging integration (journald already has it on systemd)",
         kind="bool"),
    Flag("user", "Specify user-name to run jobs as (the service runs as root)", short="u"),
    Flag("init-user", "Specify user-name the whole service runs as", short="i"),
]
_SUMMARIES = {
    "install": "install service", "uninstall": "uninstall service", "start": "start service",
    "stop": "stop service", "restart": "restart service", "status": "get status of a service",
}


def add_parser(subparsers: Any) -> None:
    add_command(subparsers, "install", INSTALL, run_install, summary=_SUMMARIES["install"],
                description="Write a systemd unit that runs `runnerfleet run` (graceful SIGQUIT "
                "stop, SIGHUP reload), reload systemd and enable it.")
    for name in ("uninstall", "start", "stop", "restart", "status"):
        add_command(subparsers, name, COMMON, run_control, summary=_SUMMARIES[name],
                    description=f"{_SUMMARIES[name].capitalize()} (systemctl).")


def _manager(values: dict[str, Any]) -> Manager:
    return Manager.for_user() if values.get("user_service") else Manager()


def _executable() -> str:
    """This runnerfleet's absolute path, as the unit's ExecStart needs it."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "runnerfleet"
    found = argv0 if os.sep in argv0 else shutil.which(argv0)
    if found and os.path.basename(found) == "runnerfleet" and os.access(found, os.X_OK):
        return os.path.abspath(found)
    beside = Path(sys.executable).parent / "runnerfleet"
    if os.access(beside, os.X_OK):
        return str(beside)
    raise UsageError("cannot find the runnerfleet executable to put in the unit; run install "
                     "through the runnerfleet command")


def run_install(ns: argparse.Namespace) -> int:
    values = resolve(ns, INSTALL)
    user, init_user = values.get("user"), values.get("init_user")
    if user and init_user:
        raise UsageError("--user and --init-user cannot be used together: --user runs jobs as "
                         "that user, --init-user runs the whole service as it")
    if os.geteuid() == 0 and not values.get("user_service") and not (user or init_user):
        raise UsageError("installing as root needs --user (the user jobs run as) or --init-user "
                         "(the user the whole service runs as)")
    config_flag = values.get("config")
    if init_user and not config_flag:
        try:
            home = pwd.getpwnam(init_user).pw_dir
        except KeyError:
            raise UsageError(f"--init-user {init_user}: no such user") from None
        config_flag = str(Path(home) / "config.toml")
    config = load_config(config_flag, creating=True)
    if not config.exists:
        config.save()  # gitlab-runner writes an empty config.toml (0600) on install
    spec = ServiceSpec(
        name=values["service"], executable=_executable(),
        config_file=str(Path(config.path).resolve()),
        working_directory=str(Path(values.get("working_directory") or os.getcwd()).resolve()),
        user=init_user, job_user=user, managed_by="runnerfleet install")
    problem = spec_problem(spec)
    if problem:
        raise UsageError(problem)
    manager = _manager(values)
    unit = install(manager, spec)
    print(f"{spec.name}: installed {unit.path} (enabled; start it with `runnerfleet start"
          f"{'' if spec.name == DEFAULT_SERVICE else ' -n ' + spec.name}`)")
    return 0


def run_control(ns: argparse.Namespace) -> int:
    values = resolve(ns, COMMON)
    name, manager = values["service"], _manager(values)
    if ns.command == "uninstall":
        uninstall(manager, name)
    elif ns.command == "status":
        state = status(manager, name)
        if state == "running":
            print(f"{name}: Service is running")
            return 0
        print(f"{name}: Service has stopped" if state == "stopped" else
              f"{name}: the service is not installed (runnerfleet install -n {name})",
              file=sys.stderr)
        return 1
    else:
        control(manager, ns.command, name)
    return 0
