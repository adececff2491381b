"""VBoxManage's output formats, as its sources print them (VBoxManageInfo.cpp, VBoxManageList.cpp).

`showvminfo` in its human form pads labels with `%-28s `; `--machinereadable` prints `key="value"`
lines; NAT rules are `NIC 1 Rule(N):   name = ..., host port = ...` and `Forwarding(N)="csv"`.
"""

from __future__ import annotations

from tests.vboxsim.state import Machine, Snapshot, Store

OSTYPES = {"Debian_64": "Debian (64-bit)", "Ubuntu_64": "Ubuntu (64-bit)", "Other": "Other/Unknown"}
STATE_NAMES = {"poweroff": "powered off", "running": "running", "saved": "saved", "aborted": "aborted",
               "paused": "paused"}
VERSION = "7.0.14r161095"


def _h(label: str, value: str) -> str:
    return f"{label:<28} {value}\n"


def _mac(machine: Machine) -> str:
    return "080027" + machine.uuid.replace("-", "")[:6].upper()


def _snapshot_lines_human(machine: Machine, snap: Snapshot, prefix: str) -> str:
    mark = " *" if snap.uuid == machine.current_snapshot else ""
    out = f"   {prefix}Name: {snap.name} (UUID: {snap.uuid}){mark}\n"
    if snap.description:
        out += f"   {prefix}Description: {snap.description}\n"
    for child in snap.children:
        out += _snapshot_lines_human(machine, machine.snapshots[child], prefix + "   ")
    return out


def snapshot_lines_machine(machine: Machine, snap: Snapshot, suffix: str = "") -> str:
    out = f'SnapshotName{suffix}="{snap.name}"\nSnapshotUUID{suffix}="{snap.uuid}"\n'
    if snap.description:
        out += f'SnapshotDescription{suffix}="{snap.description}"\n'
    if snap.uuid == machine.current_snapshot:
        out += (f'CurrentSnapshotName="{snap.name}"\nCurrentSnapshotUUID="{snap.uuid}"\n'
                f'CurrentSnapshotNode="SnapshotName{suffix}"\n')
    for index, child in enumerate(snap.children, start=1):
        out += snapshot_lines_machine(machine, machine.snapshots[child], f"{suffix}-{index}")
    return out


def snapshot_list_human(machine: Machine) -> str:
    assert machine.root_snapshot is not None
    return _snapshot_lines_human(machine, machine.snapshots[machine.root_snapshot], "")


def vm_info_human(machine: Machine) -> str:
    folder = machine.folder
    out = _h("Name:", machine.name)
    out += _h("Encryption:", "disabled")
    out += _h("Groups:", "/")
    out += _h("Guest OS:", OSTYPES.get(machine.ostype, machine.ostype))
    out += _h("UUID:", machine.uuid)
    out += _h("Config file:", machine.settings_file)
    out += _h("Snapshot folder:", f"{folder}/Snapshots")
    out += _h("Log folder:", f"{folder}/Logs")
    out += _h("Memory size:", f"{machine.memory}MB")
    out += _h("State:", f"{STATE_NAMES.get(machine.state, machine.state)} (since {machine.state_since})")
    out += _h("NIC 1:", f"MAC: {_mac(machine)}, Attachment: NAT, Cable connected: on, "
                        "Trace: off (file: none), Type: 82540EM, Reported speed: 0 Mbps, "
                        "Boot priority: 0, Promisc Policy: deny, Bandwidth group: none")
    out += "NIC 1 Settings:  MTU: 0, Socket (send: 64, receive: 64), TCP Window (send:64, receive: 64)\n"
    for index, rule in enumerate(machine.nat_rules):
        out += (f"NIC 1 Rule({index}):   name = {rule.name}, protocol = {rule.proto}, "
                f"host ip = {rule.host_ip}, host port = {rule.host_port}, "
                f"guest ip = {rule.guest_ip}, guest port = {rule.guest_port}\n")
    for nic in range(2, 9):
        out += _h(f"NIC {nic}:", "disabled")
    out += "\nShared folders:"
    if machine.shared_folders:
        out += "\n\n"
        for folder_ in machine.shared_folders:
            access = "readonly" if folder_.readonly else "writable"
            out += f"Name: '{folder_.name}', Host path: '{folder_.hostpath}' (machine mapping), {access}\n"
    else:
        out += "<none>\n"
    if machine.root_snapshot is not None:
        out += "\nSnapshots:\n\n" + snapshot_list_human(machine)
    return out + "\n"


def vm_info_machine(machine: Machine) -> str:
    folder = machine.folder
    out = (f'name="{machine.name}"\ngroups="/"\nostype="{OSTYPES.get(machine.ostype, machine.ostype)}"\n'
           f'UUID="{machine.uuid}"\nCfgFile="{machine.settings_file}"\nSnapFldr="{folder}/Snapshots"\n'
           f'LogFldr="{folder}/Logs"\nmemory={machine.memory}\n'
           f'VMState="{machine.state}"\nVMStateChangeTime="{machine.state_since}"\n')
    out += (f'natnet1="nat"\nmacaddress1="{_mac(machine)}"\ncableconnected1="on"\nnic1="nat"\n'
            'nictype1="82540EM"\nnicspeed1="0"\nmtu="0"\nsockSnd="64"\nsockRcv="64"\ntcpWndSnd="64"\n'
            'tcpWndRcv="64"\n')
    for index, rule in enumerate(machine.nat_rules):
        out += f'Forwarding({index})="{rule.csv()}"\n'
    for nic in range(2, 9):
        out += f'nic{nic}="none"\n'
    for index, shared in enumerate(machine.shared_folders, start=1):
        out += (f'SharedFolderNameMachineMapping{index}="{shared.name}"\n'
                f'SharedFolderPathMachineMapping{index}="{shared.hostpath}"\n')
    if machine.root_snapshot is not None:
        out += snapshot_lines_machine(machine, machine.snapshots[machine.root_snapshot])
    return out


def vm_compact(machine: Machine) -> str:
    return f'"{machine.name}" {{{machine.uuid}}}\n'


def system_properties(store: Store) -> str:
    return (f"API version:                     7_0\n"
            f"Minimum guest RAM size:          4 Megabytes\n"
            f"Maximum guest RAM size:          2097152 Megabytes\n"
            f"Default machine folder:          {store.machine_folder}\n"
            f"VRDE auth library:               VBoxAuth\n"
            f"Log history count:               3\n")
