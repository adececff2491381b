"""The host port that reaches a VM's SSH: its `guestssh` NAT rule, found or created on a free port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

from runnerfleet.executors.virtualbox.vboxmanage import VBoxManage, VBoxManageError

PortSource = Callable[[], int]
ALLOCATION_ATTEMPTS = 100


def free_loopback_port() -> int:
    """A port the kernel considers free on 127.0.0.1 right now (gitlab-runner listens on :0 too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ensure_ssh_forward(vbox: VBoxManage, vm: str, guest_port: int,
                       source: PortSource = free_loopback_port) -> int:
    """The host port of `vm`'s `guestssh` rule; the VM must be powered off.

    An existing rule is kept unless its port is also forwarded by another VM (clones inherit their
    base's rules) or taken on this host; then it is replaced. A new port is one the kernel calls
    free and no registered VM forwards.
    """
    current = vbox.ssh_port(vm)
    used = vbox.forwarded_host_ports()
    if current is not None:
        if used.count(current) <= 1 and port_is_free(current):
            return current
        vbox.delete_ssh_forward(vm)
        used.remove(current)
    for _ in range(ALLOCATION_ATTEMPTS):
        port = source()
        if port in used:
            continue
        with contextlib.suppress(VBoxManageError):
            vbox.add_ssh_forward(vm, port, guest_port)
            return port
        used.append(port)
    raise VBoxManageError(f"no free host port for the SSH forward of VM {vm} after "
                          f"{ALLOCATION_ATTEMPTS} attempts")
