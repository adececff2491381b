"""The simulator core both CLIs share: machine lookup, options, snapshots, removal, command dispatch.

`tests/vboxsim/cli.py` (VBoxManage) and `tests/prlsim/cli.py` (prlctl) are dialects of it: they
bring their subcommands, their wording and exit statuses (a `Dialect`), and their state names;
what a command does to the registry (state.py) and to the guests (guest.py) is done here once.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.vboxsim import guest
from tests.vboxsim.state import Machine, Snapshot, Store, locked_store


class Failure(Exception):
    """A failed command: its stderr text, its exit status, and what it printed on stdout first."""

    def __init__(self, text: str, status: int, stdout: str = "") -> None:
        super().__init__(text)
        self.text, self.status, self.stdout = text, status, stdout


def parse_options(
    args: list[str],
    flags: set[str],
    valued: set[str],
    *,
    missing_value: Callable[[str], Failure],
    unknown_option: Callable[[str], Failure],
    option_prefix: str = "--",
    inline_values: bool = True,
) -> tuple[list[str], dict[str, str]]:
    """(positional arguments, options): `--opt value`, and `--opt=value` with `inline_values`;
    an argument starting with `option_prefix` that is no known option fails."""
    positional: list[str] = []
    found: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        key, eq, inline = arg.partition("=") if inline_values else (arg, "", "")
        if key in valued:
            if eq:
                found[key] = inline
            elif i + 1 < len(args):
                found[key] = args[i + 1]
                i += 1
            else:
                raise missing_value(key)
        elif arg in flags:
            found[arg] = ""
        elif arg.startswith(option_prefix):
            raise unknown_option(arg)
        else:
            positional.append(arg)
        i += 1
    return positional, found


def refresh(machine: Machine, shut_down: Callable[[int | None], str]) -> None:
    """A running machine whose container stopped by itself was shut down inside: its state
    becomes `shut_down(the container's exit code, None when it is gone)`."""
    if machine.state == "running":
        state = guest.container_state(machine.container)
        if state is None or not state[0]:
            machine.set_state(shut_down(None if state is None else state[1]))


def take_snapshot(machine: Machine, name: str, description: str, *, saved_state: str,
                  off_state: str, snap_id: str | None = None) -> Snapshot:
    """A snapshot of the machine's current disk, now the current one; a restore returns to
    `saved_state` when it was taken while running, `off_state` otherwise."""
    snap_id = snap_id or str(uuid.uuid4())
    disk = guest.commit(machine, f"vboxsim/{machine.uuid}:{snap_id}")
    state = saved_state if machine.state == "running" else off_state
    snap = Snapshot(snap_id, name, description, machine.current_snapshot, disk, state)
    machine.snapshots[snap_id] = snap
    if machine.current_snapshot is None:
        machine.root_snapshot = snap_id
    else:
        machine.snapshots[machine.current_snapshot].children.append(snap_id)
    machine.current_snapshot = snap_id
    return snap


def restore_snapshot(machine: Machine, snap: Snapshot) -> None:
    """The machine back at `snap`: its disk and the state it was taken in; a running machine is
    powered off first (the current state's changes are dropped)."""
    if machine.state == "running":
        guest.power_off(machine)
    guest.discard(machine)
    machine.disk = snap.disk
    machine.current_snapshot = snap.uuid
    machine.set_state(snap.state)


def remove_machine(store: Store, machine: Machine, *, delete_files: bool) -> None:
    """Unregister the machine (its container, its running instance, goes with it); with
    `delete_files` also its folder and the images no other machine still uses (linked clones)."""
    store.machines.remove(machine)
    guest.discard(machine)
    if delete_files:
        for image in machine.owned_images:
            if not store.image_in_use(image, besides=machine):
                guest.remove_image(image)
        shutil.rmtree(machine.folder, ignore_errors=True)


Command = Callable[[Store, list[str]], str]


@dataclass(frozen=True)
class Dialect:
    """One CLI's words around the shared core."""

    home_variable: str  # the environment variable naming the registry's folder
    default_home: str  # below the user's home when the variable is unset
    version: str
    version_args: tuple[tuple[str, ...], ...]
    usage: Failure  # no arguments at all
    unknown_command: Callable[[str], Failure]
    commands: dict[str, Command]
    # Commands that run outside the registry's lock (their own status, e.g. a long guest command).
    unlocked: dict[str, Callable[[list[str]], int]] = field(default_factory=dict)
    # How a guest failure (RuntimeError) nobody turned into a Failure is reported, if at all.
    guest_error: Callable[[RuntimeError], Failure] | None = None

    def home(self) -> Path:
        return Path(os.environ.get(self.home_variable) or Path.home() / self.default_home)

    def main(self, argv: list[str]) -> int:
        """Run one command line: its output on stdout, a failure's text on stderr; the status."""
        if tuple(argv) in self.version_args:
            sys.stdout.write(self.version + "\n")
            return 0
        try:
            if not argv:
                raise self.usage
            if argv[0] in self.unlocked:
                return self.unlocked[argv[0]](argv[1:])
            command = self.commands.get(argv[0])
            if command is None:
                raise self.unknown_command(argv[0])
            try:
                with locked_store(self.home()) as store:
                    sys.stdout.write(command(store, argv[1:]))
            except RuntimeError as error:
                if self.guest_error is None:
                    raise
                raise self.guest_error(error) from None
        except Failure as failure:
            sys.stdout.write(failure.stdout)
            sys.stderr.write(failure.text)
            return failure.status
        return 0
