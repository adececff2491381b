"""A simulated VM's hardware: a docker container whose ports are published as the NAT rules say.

Powering on runs the machine's disk image with its boot command (`vboxsim/boot` extra data, by
default sshd); each TCP NAT rule of NIC 1 becomes a published port, always on 127.0.0.1 (the
test world never listens elsewhere). Powering off kills the container but keeps it, like a disk
that keeps its changes; snapshots commit the container to an image.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.vboxsim.state import Machine

DEFAULT_BOOT = "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"
HOME_LABEL = "vboxsim.home"
VM_LABEL = "vboxsim.vm"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {args[0]} failed: {done.stderr.strip()}")
    return done


def container_name(machine: Machine) -> str:
    return f"vboxsim-{machine.uuid}"


def container_state(name: str) -> tuple[bool, int] | None:
    """(running, exit code) of a container, None when there is none."""
    if not name:
        return None
    done = docker("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name, check=False)
    if done.returncode != 0:
        return None
    running, code = done.stdout.split()
    return running == "true", int(code)


def _log(machine: Machine, line: str) -> None:
    logs = Path(machine.folder) / "Logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "VBox.log", "a") as handle:
        handle.write(line + "\n")


def _run_args(machine: Machine, home: Path, with_ports: bool) -> list[str]:
    args = ["run", "-d", "--name", container_name(machine), "--label", f"{HOME_LABEL}={home}",
            "--label", f"{VM_LABEL}={machine.uuid}"]
    if with_ports:
        for rule in machine.nat_rules:
            if rule.proto == "tcp":
                args += ["-p", f"127.0.0.1:{rule.host_port}:{rule.guest_port}/tcp"]
    for folder in machine.shared_folders:
        mount = folder.mountpoint or f"/media/sf_{folder.name}"
        args += ["-v", f"{folder.hostpath}:{mount}{':ro' if folder.readonly else ''}"]
    boot = machine.extradata.get("vboxsim/boot", DEFAULT_BOOT)
    return [*args, machine.image(), "sh", "-c", boot]


def power_on(machine: Machine, home: Path) -> None:
    """Boot the machine: a fresh container from its current disk, ports as its NAT rules say."""
    if machine.container:
        # The stopped container is the disk: keep its changes in an image the new container uses.
        if container_state(machine.container) is not None:
            image = f"vboxsim/{machine.uuid}:disk-{len(machine.owned_images)}"
            docker("commit", machine.container, image)
            machine.owned_images.append(image)
            machine.disk = image
            docker("rm", "-f", machine.container, check=False)
        machine.container = ""
    if not machine.image():
        raise RuntimeError(f"machine '{machine.name}' has no disk (set extra data vboxsim/image)")
    done = docker(*_run_args(machine, home, with_ports=True), check=False)
    if done.returncode != 0 and ("port is already allocated" in done.stderr
                                 or "address already in use" in done.stderr):
        # VirtualBox starts the VM anyway; only the NAT redirection fails (and is logged).
        _log(machine, f"NAT: failed to set up port forwarding: {done.stderr.strip()}")
        docker("rm", "-f", container_name(machine), check=False)
        done = docker(*_run_args(machine, home, with_ports=False), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the machine could not be powered on: {done.stderr.strip()}")
    machine.container = container_name(machine)


def ip_address(name: str) -> str:
    """The container's address on the docker bridge ("" when it has none)."""
    done = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def power_off(machine: Machine) -> None:
    """Pull the plug: the container stops at once and stays as the machine's disk."""
    if machine.container:
        docker("kill", machine.container, check=False)


def commit(machine: Machine, image: str) -> str:
    """The machine's current disk as an image (`image` names a new one when a container holds it)."""
    if machine.container and container_state(machine.container) is not None:
        docker("commit", machine.container, image)
        machine.owned_images.append(image)
        return image
    return machine.image()


def discard(machine: Machine) -> None:
    """Drop the container (the current state's changes) of a machine that is not running."""
    if machine.container:
        docker("rm", "-f", machine.container, check=False)
        machine.container = ""


def remove_image(image: str) -> None:
    docker("rmi", "-f", image, check=False)
