"""The `prlctl` command line: the subcommands runnerfleet uses, with Parallels' texts and a failure status."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.vboxsim import guest
from tests.vboxsim.core import (
    Command,
    Dialect,
    Failure,
    parse_options,
    refresh,
    remove_machine,
    restore_snapshot,
    take_snapshot,
)
from tests.vboxsim.state import Machine, Store, locked_store

VERSION = "prlctl version 19.4.1 (55996)"
FAILURE = 255
LEASE_TIME = 1800
NOT_FOUND = "The virtual machine could not be found."


def failed(line: str) -> Failure:
    """A failed command: its one stderr line (prlctl exits with 255)."""
    return Failure(line + "\n", FAILURE)


def leases_file(root: Path) -> Path:
    """Parallels' DHCP lease file of the shared network, in the simulated installation."""
    return root / "parallels_dhcp_leases"


def find(store: Store, name: str, action: str = "get VM config") -> Machine:
    machine = store.find(name.strip("{}"))
    if machine is None:
        raise failed(f"Failed to {action}: {NOT_FOUND}")
    refresh(machine, _shut_down)
    return machine


def _shut_down(exit_code: int | None) -> str:
    """A VM whose guest ended by itself was shut down inside."""
    return "stopped"


def new_machine(store: Store, name: str, *, template: bool = False) -> Machine:
    machine = store.new_machine(name, str(store.root / "Parallels"))
    machine.folder = str(Path(machine.folder).with_suffix(".pvm"))
    machine.state = "stopped"
    machine.template = template
    # Parallels' MACs start with its OUI 00:1C:42; the rest comes from the VM's UUID.
    machine.mac = "001C42" + machine.uuid.replace("-", "")[:6].upper()
    return machine


def flags(args: list[str], booleans: set[str], valued: set[str]) -> tuple[list[str], dict[str, str]]:
    """(positional arguments, options): `-o value` (no `-o=value`); any other `-x` fails."""
    return parse_options(
        args, booleans, valued, option_prefix="-", inline_values=False,
        missing_value=lambda key: failed(f"Failed to parse the command line: {key} requires a value"),
        unknown_option=lambda arg: failed(
            f"Failed to parse the command line: unrecognized option '{arg}'"))


# -- output formats ------------------------------------------------------------------------------

def ip_of(machine: Machine) -> str:
    return guest.ip_address(machine.container) if machine.state == "running" and machine.container else ""


def info(machine: Machine) -> str:
    """`prlctl list -i`: the VM's configuration; net0's line carries `mac=` as gitlab-runner parses it."""
    return (f"INFO\nID: {{{machine.uuid}}}\nName: {machine.name}\nDescription: \nType: VM\n"
            f"State: {machine.state}\nOS: debian\nTemplate: {'yes' if machine.template else 'no'}\n"
            f"Home path: {machine.folder}/config.pvs\nGuest tools: state=installed\n"
            f"Hardware:\n  cpu cpus=2 VT-x accl=high mode=64\n  memory {machine.memory}Mb\n"
            f"  hdd0 (+) sata:0 image='{machine.folder}/harddisk.hdd' type=expanded\n"
            f"  net0 (+) type=shared mac={machine.mac} card=virtio\n")


def table(machines: list[Machine]) -> str:
    out = f"{'UUID':<40}{'STATUS':<13}{'IP_ADDR':<16}NAME\n"
    for m in machines:
        out += f"{'{' + m.uuid + '}':<40}{m.state:<13}{ip_of(m) or '-':<16}{m.name}\n"
    return out


def snapshot_list(machine: Machine) -> str:
    """`prlctl snapshot-list`: parent and id columns, ` *` marking the current snapshot."""
    out = f"{'PARENT_SNAPSHOT_ID':<40}SNAPSHOT_ID\n"
    for snap in machine.snapshots.values():
        parent = "{" + snap.parent + "}" if snap.parent else ""
        mark = "*" if snap.uuid == machine.current_snapshot else " "
        out += f"{parent:<39} {mark}{{{snap.uuid}}}\n"
    return out


# -- commands ------------------------------------------------------------------------------------

def cmd_list(store: Store, args: list[str]) -> str:
    positional, opts = flags(args, {"--no-header", "-a", "--all", "-f", "--full", "--json", "-j", "-t",
                                    "--template"}, {"--output", "-o", "-i", "--info"})
    for machine in store.machines:
        refresh(machine, _shut_down)
    target = opts.get("-i") or opts.get("--info")
    if target is not None:
        return info(find(store, target))
    if positional:
        machines = [find(store, positional[0])]
    elif "-t" in opts or "--template" in opts:
        machines = [m for m in store.machines if m.template]
    else:
        machines = [m for m in store.machines if not m.template
                    and ("-a" in opts or "--all" in opts or m.state == "running")]
    if "--json" in opts or "-j" in opts:
        return json.dumps([{"uuid": "{" + m.uuid + "}", "status": m.state, "ip_configured": ip_of(m) or "-",
                            "name": m.name} for m in machines], indent=4) + "\n"
    output = opts.get("--output") or opts.get("-o")
    if output:
        fields = output.split(",")
        values = {"status": lambda m: m.state, "name": lambda m: m.name, "uuid": lambda m: "{" + m.uuid + "}"}
        lines = [" ".join(values[f](m) for f in fields if f in values) for m in machines]
        header = "" if "--no-header" in opts else " ".join(f.upper() for f in fields) + "\n"
        return header + "".join(line + "\n" for line in lines)
    return table(machines)


def cmd_clone(store: Store, args: list[str]) -> str:
    positional, opts = flags(args, {"--template", "--linked"}, {"--name", "--dst"})
    if len(positional) != 1 or "--name" not in opts:
        raise failed("Failed to parse the command line: clone <vm> --name <new name>")
    source = find(store, positional[0])
    name = opts["--name"]
    if store.find(name) is not None:
        raise failed(f"Failed to clone the VM: The virtual machine with the name \"{name}\" already exists.")
    clone = new_machine(store, name, template="--template" in opts)
    clone.ostype = source.ostype
    clone.extradata = dict(source.extradata)
    clone.disk = guest.commit(source, f"vboxsim/{source.uuid}:clone-{clone.uuid[:8]}")
    store.machines.append(clone)
    kind = "VM template" if clone.template else "VM"
    return f"Clone the {source.name} VM to the {kind} {name}...\nThe VM has been successfully cloned.\n"


def cmd_create(store: Store, args: list[str]) -> str:
    positional, opts = flags(args, set(), {"--ostemplate", "-t", "--distribution", "-d", "--dst"})
    if len(positional) != 1:
        raise failed("Failed to parse the command line: create <name>")
    name = positional[0]
    if store.find(name) is not None:
        raise failed(f"Failed to create the VM: The virtual machine with the name \"{name}\" "
                      "already exists.")
    machine = new_machine(store, name)
    template_name = opts.get("--ostemplate") or opts.get("-t")
    if template_name:
        template = find(store, template_name, "create the VM")
        if not template.template:
            raise failed(f"Failed to create the VM: \"{template.name}\" is not a template.")
        machine.extradata = dict(template.extradata)
        machine.disk = template.image()
    store.machines.append(machine)
    return "Creating the virtual machine...\nThe VM has been successfully created.\n"


def _write_lease(store: Store, machine: Machine) -> None:
    """What Parallels' DHCP server records when the guest asks for an address."""
    ip = guest.ip_address(machine.container)
    if not ip:
        return
    path = leases_file(store.root)
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if not line.startswith(f"{ip}=")]
    expiry = int(time.time()) + LEASE_TIME
    mac = machine.mac.lower()
    lines.append(f'{ip}="{expiry},{LEASE_TIME},{mac},ff{mac[6:]}000100011c25b9ff{mac}"')
    path.write_text("".join(line + "\n" for line in lines))


def cmd_start(store: Store, args: list[str]) -> str:
    if len(args) != 1:
        raise failed("Failed to parse the command line: start <vm>")
    machine = find(store, args[0], "start the VM")
    if machine.template:
        raise failed("Failed to start the VM: The operation cannot be performed on a template.")
    if machine.state == "running":
        raise failed(f"Failed to start the VM: The virtual machine \"{machine.name}\" is already running.")
    try:
        guest.power_on(machine, store.root)
    except RuntimeError as error:
        raise failed(f"Failed to start the VM: {error}") from None
    machine.set_state("running")
    _write_lease(store, machine)
    return "Starting the VM...\nThe VM has been successfully started.\n"


def cmd_stop(store: Store, args: list[str]) -> str:
    positional, _ = flags(args, {"--kill", "--acpi", "--noforce", "--drop-state"}, set())
    if len(positional) != 1:
        raise failed("Failed to parse the command line: stop <vm> [--kill]")
    machine = find(store, positional[0], "stop the VM")
    if machine.state == "stopped":
        raise failed(f"Failed to stop the VM: The virtual machine \"{machine.name}\" is not running.")
    if machine.state == "suspended":
        # A suspended VM's memory state is dropped: the disk stays as it was.
        machine.set_state("stopped")
        return "Stopping the VM...\nThe VM has been successfully stopped.\n"
    guest.power_off(machine)
    machine.set_state("stopped")
    return "Stopping the VM...\nThe VM has been successfully stopped.\n"


def _remover(action: str, done: str, *, delete_files: bool) -> Callable[[Store, list[str]], str]:
    """`delete` (the VM and its files) and `unregister` (only the registration) of a stopped VM."""
    def command(store: Store, args: list[str]) -> str:
        verb = action.split()[0]
        if len(args) != 1:
            raise failed(f"Failed to parse the command line: {verb} <vm>")
        machine = find(store, args[0], f"{verb} the VM")
        if machine.state == "running":
            raise failed(f"Failed to {verb} the VM: The virtual machine \"{machine.name}\" is running.")
        remove_machine(store, machine, delete_files=delete_files)
        return f"{action} the VM...\nThe VM has been successfully {done}.\n"
    return command


cmd_delete = _remover("Removing", "removed", delete_files=True)
cmd_unregister = _remover("Unregistering", "unregistered", delete_files=False)


def cmd_snapshot(store: Store, args: list[str]) -> str:
    positional, opts = flags(args, set(), {"--name", "-n", "--description", "-d"})
    if len(positional) != 1:
        raise failed("Failed to parse the command line: snapshot <vm> [--name <name>]")
    machine = find(store, positional[0], "create the snapshot")
    snap = take_snapshot(machine, opts.get("--name") or opts.get("-n") or "Snapshot",
                         opts.get("--description", ""), saved_state="suspended", off_state="stopped")
    return f"Creating the snapshot...\nThe snapshot with id {{{snap.uuid}}} has been successfully created.\n"


def cmd_snapshot_list(store: Store, args: list[str]) -> str:
    positional, _ = flags(args, {"--tree", "-t"}, {"--id", "-i"})
    if len(positional) != 1:
        raise failed("Failed to parse the command line: snapshot-list <vm>")
    return snapshot_list(find(store, positional[0], "get the snapshot list"))


def cmd_snapshot_switch(store: Store, args: list[str]) -> str:
    positional, opts = flags(args, {"--skip-resume"}, {"--id", "-i"})
    snap_id = (opts.get("--id") or opts.get("-i") or "").strip("{}")
    if len(positional) != 1 or not snap_id:
        raise failed("Failed to parse the command line: snapshot-switch <vm> --id <snapshot id>")
    machine = find(store, positional[0], "switch to the snapshot")
    snap = machine.snapshots.get(snap_id)
    if snap is None:
        raise failed("Failed to switch to the snapshot: The snapshot could not be found.")
    restore_snapshot(machine, snap)
    return "Switch to the snapshot...\nThe VM has been successfully switched.\n"


COMMANDS: dict[str, Command] = {
    "list": cmd_list,
    "clone": cmd_clone,
    "create": cmd_create,
    "start": cmd_start,
    "stop": cmd_stop,
    "delete": cmd_delete,
    "unregister": cmd_unregister,
    "snapshot": cmd_snapshot,
    "snapshot-list": cmd_snapshot_list,
    "snapshot-switch": cmd_snapshot_switch,
}


def cmd_exec(args: list[str]) -> int:
    """`prlctl exec <vm> <command...>`: the command's output and exit status (docker exec)."""
    if len(args) < 2:
        raise failed("Failed to parse the command line: exec <vm> <command>")
    with locked_store(DIALECT.home()) as store:
        machine = find(store, args[0])
    if machine.state != "running":
        raise failed(f"Failed to execute the command: The virtual machine \"{machine.name}\" is not "
                     "running.")
    # Without the lock: a command in the guest may run long, other prlctl calls go on meanwhile.
    # The guest runs the words as one command line of its shell (so `exit 0` works, as gitlab-runner uses it).
    done = subprocess.run(["docker", "exec", machine.container, "sh", "-c", " ".join(args[1:])],
                          capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


DIALECT = Dialect(
    home_variable="PRLSIM_HOME", default_home=".prlsim",
    version=VERSION, version_args=(("--version",), ("-V",)),
    usage=Failure("Usage: prlctl <command> [options]\n", FAILURE),
    unknown_command=lambda name: failed(
        f"Failed to parse the command line: unknown command '{name}'"),
    commands=COMMANDS,
    unlocked={"exec": cmd_exec},
)


def main(argv: list[str]) -> int:
    return DIALECT.main(argv)
