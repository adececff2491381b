"""The `VBoxManage` command line: the subcommands runnerfleet uses, with VirtualBox's texts and exit codes.

Errors look like VBoxManage's (glue/errorprint.cpp): `VBoxManage: error: <text>`, then `Details:`
and `Context:` lines, exit status 1; usage errors exit with 2 (RTEXITCODE_SYNTAX).
"""

from __future__ import annotations

from pathlib import Path

from tests.vboxsim import guest, render
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
from tests.vboxsim.state import Machine, NatRule, SharedFolder, Snapshot, Store

PROGRESS = "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"

# (code name, value, component, interface) of the COM errors the simulator reports.
OBJECT_NOT_FOUND = ("VBOX_E_OBJECT_NOT_FOUND", "0x80bb0001", "VirtualBoxWrap", "IVirtualBox")
INVALID_VM_STATE = ("VBOX_E_INVALID_VM_STATE", "0x80bb0002", "SessionMachine", "IMachine")
FILE_ERROR = ("VBOX_E_FILE_ERROR", "0x80bb0004", "MachineWrap", "IMachine")
INVALID_OBJECT_STATE = ("VBOX_E_INVALID_OBJECT_STATE", "0x80bb0007", "MachineWrap", "IMachine")
INVALID_ARG = ("E_INVALIDARG", "0x80070057", "NATEngineWrap", "INATEngine")
CONSOLE_STATE = ("VBOX_E_INVALID_VM_STATE", "0x80bb0002", "ConsoleWrap", "IConsole")


def com_error(message: str, code: tuple[str, str, str, str], context: str) -> Failure:
    name, value, component, interface = code
    return Failure(f"VBoxManage: error: {message}\n"
                   f"VBoxManage: error: Details: code {name} ({value}), component {component}, "
                   f"interface {interface}, callee nsISupports\n"
                   f'VBoxManage: error: Context: "{context}" at line 1 of file VBoxManageSim.cpp\n', 1)


def syntax(message: str) -> Failure:
    return Failure(f"VBoxManage: error: {message}\n", status=2)


def find(store: Store, name: str) -> Machine:
    machine = store.find(name)
    if machine is None:
        raise com_error(f"Could not find a registered machine named '{name}'", OBJECT_NOT_FOUND,
                        "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())")
    refresh(machine, _shut_down)
    return machine


def _the_machine(store: Store, positional: list[str]) -> Machine:
    """The machine a command naming exactly one takes."""
    if len(positional) != 1:
        raise syntax("Incorrect number of parameters")
    return find(store, positional[0])


def _shut_down(exit_code: int | None) -> str:
    """A machine whose guest ended by itself: powered off inside, or crashed."""
    return "poweroff" if exit_code == 0 else "aborted"


def options(args: list[str], flags: set[str], valued: set[str]) -> tuple[list[str], dict[str, str]]:
    """(positional arguments, options); `--opt value` and `--opt=value` both work, as with RTGetOpt."""
    return parse_options(args, flags, valued,
                         missing_value=lambda key: syntax(f"{key}: The option requires a value"),
                         unknown_option=lambda arg: syntax(f"Unknown option: {arg}"))


# -- commands ----------------------------------------------------------------------------------------

def cmd_list(store: Store, args: list[str]) -> str:
    positional, opts = options(args, {"--long", "-l", "--sorted", "-s"}, set())
    if not positional:
        raise syntax("Missing subcommand for 'list' command.")
    what = positional[0]
    long = "--long" in opts or "-l" in opts
    for machine in store.machines:
        refresh(machine, _shut_down)
    if what in ("vms", "runningvms"):
        machines = store.machines if what == "vms" else [m for m in store.machines if m.state == "running"]
        if long:
            return "".join(render.vm_info_human(m) for m in machines)
        return "".join(render.vm_compact(m) for m in machines)
    if what == "systemproperties":
        return render.system_properties(store)
    if what == "hdds":
        return ""
    raise syntax(f"Unknown subcommand '{what}' for 'list' command.")


def cmd_showvminfo(store: Store, args: list[str]) -> str:
    positional, opts = options(args, {"--machinereadable", "--details"}, {"--log"})
    machine = _the_machine(store, positional)
    return render.vm_info_machine(machine) if "--machinereadable" in opts else render.vm_info_human(machine)


def cmd_createvm(store: Store, args: list[str]) -> str:
    _, opts = options(args, {"--register"}, {"--name", "--ostype", "--basefolder", "--uuid", "--groups"})
    name = opts.get("--name")
    if not name:
        raise syntax("Parameter --name is required")
    machine = store.new_machine(name, opts.get("--basefolder"), opts.get("--ostype", "Other"))
    if Path(machine.settings_file).exists():
        raise com_error(f"Machine settings file '{machine.settings_file}' already exists", FILE_ERROR,
                        "CreateMachine(...)")
    Path(machine.folder).mkdir(parents=True, exist_ok=True)
    Path(machine.settings_file).write_text(f"<!-- vboxsim machine {machine.uuid} -->\n")
    if "--register" in opts:
        store.machines.append(machine)
    return (f"Virtual machine '{name}' is created{' and registered' if '--register' in opts else ''}.\n"
            f"UUID: {machine.uuid}\nSettings file: '{machine.settings_file}'\n")


def _nat_rule(machine: Machine, spec: str) -> NatRule:
    parts = spec.split(",")
    if len(parts) != 6 or parts[1] not in ("tcp", "udp") or not parts[3].isdigit() or not parts[5].isdigit():
        raise syntax(f"Invalid NAT rule: {spec}")
    name = parts[0] or f"{parts[1]}_{parts[3]}_{parts[5]}"
    for rule in machine.nat_rules:
        if rule.name == name:
            raise com_error("A NAT rule of this name already exists", INVALID_ARG,
                            "AddRedirect(Bstr(strName).raw(), a_proto, Bstr(strHostIp).raw(), ...)")
        if rule.host_ip == parts[2] and rule.host_port == int(parts[3]) and rule.proto == parts[1]:
            raise com_error("A NAT rule for this host port and this host IP already exists", INVALID_ARG,
                            "AddRedirect(Bstr(strName).raw(), a_proto, Bstr(strHostIp).raw(), ...)")
    return NatRule(name, parts[1], parts[2], int(parts[3]), parts[4], int(parts[5]))


def cmd_modifyvm(store: Store, args: list[str]) -> str:
    positional, opts = options(args, set(), {"--natpf1", "--memory", "--ostype"})
    machine = _the_machine(store, positional)
    if machine.state == "running":
        raise com_error(f"The machine '{machine.name}' is already locked for a session (or being unlocked)",
                        INVALID_OBJECT_STATE, "LockMachine(a->session, LockType_Write)")
    if "--natpf1" in opts:
        spec = opts["--natpf1"]
        if spec.startswith("delete"):
            name = spec.split(None, 1)[1] if " " in spec else ""
            if not any(r.name == name for r in machine.nat_rules):
                raise com_error("Invalid argument value", INVALID_ARG,
                                "RemoveRedirect(Bstr(ValueUnion.psz).raw())")
            machine.nat_rules = [r for r in machine.nat_rules if r.name != name]
        else:
            machine.nat_rules.append(_nat_rule(machine, spec))
    if "--memory" in opts:
        machine.memory = int(opts["--memory"])
    if "--ostype" in opts:
        machine.ostype = opts["--ostype"]
    return ""


def cmd_setextradata(store: Store, args: list[str]) -> str:
    if len(args) not in (2, 3):
        raise syntax("Incorrect number of parameters")
    machine = find(store, args[0])
    if len(args) == 2 or args[2] == "":
        machine.extradata.pop(args[1], None)
    else:
        machine.extradata[args[1]] = args[2]
    return ""


def cmd_getextradata(store: Store, args: list[str]) -> str:
    if len(args) != 2:
        raise syntax("Incorrect number of parameters")
    value = find(store, args[0]).extradata.get(args[1])
    return "No value set!\n" if value is None else f"Value: {value}\n"


def cmd_sharedfolder(store: Store, args: list[str]) -> str:
    if len(args) < 2 or args[0] != "add":
        raise syntax("Only 'sharedfolder add' is simulated")
    positional, opts = options(args[1:], {"--readonly", "--automount", "--transient"},
                               {"--name", "--hostpath", "--auto-mount-point"})
    machine = find(store, positional[0])
    name = opts.get("--name", "")
    if any(f.name == name for f in machine.shared_folders):
        raise com_error(f"Shared folder named '{name}' already exists", FILE_ERROR,
                        "CreateSharedFolder(...)")
    machine.shared_folders.append(SharedFolder(name, opts.get("--hostpath", ""), "--readonly" in opts,
                                               opts.get("--auto-mount-point", "")))
    return ""


def _find_snapshot(machine: Machine, name: str) -> Snapshot | None:
    for snap in machine.snapshots.values():
        if name in (snap.name, snap.uuid):
            return snap
    return None


def _machine_and_action(store: Store, args: list[str]) -> tuple[Machine, str]:
    """`<vm> <action> ...`: the machine and the action's word."""
    if len(args) < 2:
        raise syntax("Not enough parameters")
    return find(store, args[0]), args[1]


def cmd_snapshot(store: Store, args: list[str]) -> str:
    machine, action = _machine_and_action(store, args)
    if action == "list":
        _, opts = options(args[2:], {"--machinereadable", "--details"}, set())
        if machine.root_snapshot is None:
            # VBoxManage prints this on stdout and fails.
            raise Failure("", 1, stdout="This machine does not have any snapshots\n")
        root = machine.snapshots[machine.root_snapshot]
        if "--machinereadable" in opts:
            return render.snapshot_lines_machine(machine, root)
        return render.snapshot_list_human(machine)
    if action == "take":
        positional, opts = options(args[2:], {"--live", "--pause"}, {"--description", "--uniquename"})
        if not positional:
            raise syntax("Missing snapshot name")
        snap = take_snapshot(machine, positional[0], opts.get("--description", ""),
                             saved_state="saved", off_state="poweroff")
        return f"{PROGRESS}Snapshot taken. UUID: {snap.uuid}\n"
    if action in ("restore", "restorecurrent"):
        if action == "restorecurrent":
            target = machine.snapshots.get(machine.current_snapshot or "")
            if target is None:
                raise Failure("", 1, stdout="This machine does not have any snapshots\n")
        else:
            if len(args) != 3:
                raise syntax("Expecting snapshot name only")
            found = _find_snapshot(machine, args[2])
            if found is None:
                raise com_error(f"Could not find a snapshot named '{args[2]}'", OBJECT_NOT_FOUND,
                                "FindSnapshot(Bstr(a->argv[2]).raw(), pSnapshot.asOutParam())")
            target = found
        if machine.state == "running":
            raise com_error("Cannot delete the current state of the running machine (machine state: Running)",
                            INVALID_VM_STATE, "RestoreSnapshot(pSnapshot, pProgress.asOutParam())")
        restore_snapshot(machine, target)
        return f"Restoring snapshot '{target.name}' ({target.uuid})\n{PROGRESS}"
    raise syntax(f"Invalid parameter '{action}'")


def cmd_clonevm(store: Store, args: list[str]) -> str:
    positional, opts = options(args, {"--register"},
                               {"--name", "--mode", "--snapshot", "--options", "--basefolder", "--groups"})
    source = _the_machine(store, positional)
    name = opts.get("--name") or f"{source.name} Clone"
    clone = store.new_machine(name, opts.get("--basefolder"), source.ostype)
    if Path(clone.settings_file).exists():
        raise com_error(f"Machine settings file '{clone.settings_file}' already exists", FILE_ERROR,
                        "CreateMachine(Bstr(strSettingsFile).raw(), Bstr(pszTrgName).raw(), ...)")
    if "--snapshot" in opts:
        snap = _find_snapshot(source, opts["--snapshot"])
        if snap is None:
            raise com_error(f"Could not find a snapshot named '{opts['--snapshot']}'", OBJECT_NOT_FOUND,
                            "FindSnapshot(Bstr(pszSnapshotName).raw(), srcSnapshot.asOutParam())")
        clone.disk = snap.disk
    elif "link" in opts.get("--options", "").split(","):
        raise com_error("Linked clone can only be created from a snapshot", INVALID_ARG,
                        "CloneTo(trgMachine, mode, ComSafeArrayAsInParam(options), progress.asOutParam())")
    elif source.container and guest.container_state(source.container) is not None:
        # A full clone of a machine whose current state lives in its container.
        image = f"vboxsim/{clone.uuid}:full"
        guest.docker("commit", source.container, image)
        clone.owned_images.append(image)
        clone.disk = image
    else:
        clone.disk = source.image()
    clone.nat_rules = [NatRule(**vars(r)) for r in source.nat_rules]
    clone.extradata = dict(source.extradata)
    clone.shared_folders = [SharedFolder(**vars(f)) for f in source.shared_folders]
    clone.memory = source.memory
    Path(clone.folder).mkdir(parents=True, exist_ok=True)
    Path(clone.settings_file).write_text(f"<!-- vboxsim machine {clone.uuid} -->\n")
    if "--register" in opts:
        store.machines.append(clone)
    return f'{PROGRESS}Machine has been successfully cloned as "{name}"\n'


def cmd_startvm(store: Store, args: list[str]) -> str:
    positional, opts = options(args, set(), {"--type", "--putenv"})
    if not positional:
        raise syntax("at least one VM name or uuid required")
    session_type = opts.get("--type", "gui").lower()
    out = ""
    for name in positional:
        machine = find(store, name)
        if session_type not in ("gui", "headless", "sdl", "separate"):
            raise com_error(f"Invalid session type: '{session_type}'", INVALID_ARG,
                            "LaunchVMProcess(a->session, sessionType.raw(), ...)")
        if machine.state == "running":
            raise com_error(f"The machine '{machine.name}' is already locked by a session (or being locked "
                            "or unlocked)", INVALID_OBJECT_STATE,
                            "LaunchVMProcess(a->session, sessionType.raw(), ...)")
        out += f'Waiting for VM "{name}" to power on...\n'
        guest.power_on(machine, store.root)
        machine.set_state("running")
        out += f'VM "{name}" has been successfully started.\n'
    return out


def cmd_controlvm(store: Store, args: list[str]) -> str:
    machine, action = _machine_and_action(store, args)
    if machine.state != "running":
        raise Failure(f"VBoxManage: error: Machine '{args[0]}' is not currently running.\n", 1)
    if action in ("poweroff", "acpipowerbutton"):
        guest.power_off(machine)
        machine.set_state("poweroff")
        return PROGRESS if action == "poweroff" else ""
    raise syntax(f"Invalid parameter '{action}'")


def cmd_unregistervm(store: Store, args: list[str]) -> str:
    positional, opts = options(args, {"--delete", "--delete-all"}, set())
    machine = _the_machine(store, positional)
    if machine.state == "running":
        raise com_error(f"Cannot unregister the machine '{machine.name}' while it is locked",
                        INVALID_OBJECT_STATE, "Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ...)")
    delete = "--delete" in opts or "--delete-all" in opts
    remove_machine(store, machine, delete_files=delete)
    return PROGRESS if delete else ""


COMMANDS: dict[str, Command] = {
    "list": cmd_list,
    "showvminfo": cmd_showvminfo,
    "createvm": cmd_createvm,
    "modifyvm": cmd_modifyvm,
    "setextradata": cmd_setextradata,
    "getextradata": cmd_getextradata,
    "sharedfolder": cmd_sharedfolder,
    "snapshot": cmd_snapshot,
    "clonevm": cmd_clonevm,
    "startvm": cmd_startvm,
    "controlvm": cmd_controlvm,
    "unregistervm": cmd_unregistervm,
}


DIALECT = Dialect(
    home_variable="VBOXSIM_HOME", default_home=".vboxsim",
    version=render.VERSION, version_args=(("--version",), ("-v",), ("-version",)),
    usage=Failure("Usage: VBoxManage <command> [options]\n", 2),
    unknown_command=lambda name: Failure(f"VBoxManage: error: Invalid command '{name}'\n", 2),
    commands=COMMANDS,
    guest_error=lambda error: Failure(f"VBoxManage: error: {error}\n", 1),
)


def main(argv: list[str]) -> int:
    return DIALECT.main(argv)
