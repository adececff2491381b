"""The simulator's registry on disk: machines, their NAT rules, snapshots and disks, under one lock.

Everything lives in the CLI's home (VBoxManage's `$VBOXSIM_HOME`, default `~/.vboxsim`; prlctl's
`$PRLSIM_HOME`): `state.json` holds the registered
machines, `VirtualBox VMs/<name>/<name>.vbox` marks each machine folder (as VirtualBox keeps its
settings file there). Each command takes an exclusive lock for its whole run, as VBoxSVC
serialises changes to the machines it manages.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def now_text() -> str:
    """VirtualBox's RTTimeSpecToString form: 2024-01-31T12:34:56.123000000Z."""
    stamp = datetime.now(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond * 1000:09d}Z"


@dataclass
class NatRule:
    name: str
    proto: str  # "tcp" or "udp"
    host_ip: str
    host_port: int
    guest_ip: str
    guest_port: int

    def csv(self) -> str:
        return f"{self.name},{self.proto},{self.host_ip},{self.host_port},{self.guest_ip},{self.guest_port}"


@dataclass
class Snapshot:
    uuid: str
    name: str
    description: str
    parent: str | None
    disk: str  # the docker image holding the disk at that point
    state: str  # the machine state a restore returns to ("saved" when taken while running)
    children: list[str] = field(default_factory=list)


@dataclass
class SharedFolder:
    name: str
    hostpath: str
    readonly: bool
    mountpoint: str


@dataclass
class Machine:
    uuid: str
    name: str
    folder: str
    ostype: str = "Other"
    state: str = "poweroff"
    state_since: str = field(default_factory=now_text)
    disk: str = ""  # image of the current state while no container holds it
    container: str = ""  # the container that is (or was) this machine's running instance
    nat_rules: list[NatRule] = field(default_factory=list)
    extradata: dict[str, str] = field(default_factory=dict)
    shared_folders: list[SharedFolder] = field(default_factory=list)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    root_snapshot: str | None = None
    current_snapshot: str | None = None
    owned_images: list[str] = field(default_factory=list)
    memory: int = 1024
    # Parallels (tests/prlsim shares this registry): a template VM, and net0's MAC (12 hex digits).
    template: bool = False
    mac: str = ""

    @property
    def settings_file(self) -> str:
        return str(Path(self.folder) / f"{self.name}.vbox")

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.state_since = state, now_text()

    def image(self) -> str:
        return self.disk or self.extradata.get("vboxsim/image", "")

    @staticmethod
    def from_json(data: dict[str, Any]) -> Machine:
        data = dict(data)
        data["nat_rules"] = [NatRule(**r) for r in data.get("nat_rules", [])]
        data["shared_folders"] = [SharedFolder(**f) for f in data.get("shared_folders", [])]
        data["snapshots"] = {k: Snapshot(**s) for k, s in data.get("snapshots", {}).items()}
        return Machine(**data)


class Store:
    """All registered machines, in registration order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.machines: list[Machine] = []

    @property
    def machine_folder(self) -> Path:
        return self.root / "VirtualBox VMs"

    def load(self) -> None:
        path = self.root / "state.json"
        if path.exists():
            data = json.loads(path.read_text())
            self.machines = [Machine.from_json(m) for m in data.get("machines", [])]

    def save(self) -> None:
        path = self.root / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"machines": [asdict(m) for m in self.machines]}, indent=1))
        tmp.replace(path)

    def find(self, name_or_uuid: str) -> Machine | None:
        for machine in self.machines:
            if name_or_uuid in (machine.uuid, machine.name):
                return machine
        return None

    def new_machine(self, name: str, base_folder: str | None, ostype: str = "Other") -> Machine:
        folder = Path(base_folder) if base_folder else self.machine_folder
        return Machine(uuid=str(uuid.uuid4()), name=name, folder=str(folder / name), ostype=ostype)

    def image_in_use(self, image: str, *, besides: Machine) -> bool:
        """True when another machine's disk or snapshot still uses `image` (linked clones)."""
        for machine in self.machines:
            if machine is besides:
                continue
            if machine.disk == image or any(s.disk == image for s in machine.snapshots.values()):
                return True
        return False


@contextlib.contextmanager
def locked_store(root: Path) -> Iterator[Store]:
    """The registry under `root` (a dialect's home), locked until the block ends, then saved."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = Store(root)
        store.load()
        try:
            yield store
        finally:
            store.save()
