"""Who this runner says it is: its own version and the gitlab-runner version it is compatible with."""

from __future__ import annotations

import os
import sys

NAME = "runnerfleet"
VERSION = "0.1.0"
# GitLab gates features and upgrade hints on the runner version it is told; runnerfleet follows
# gitlab-runner's behaviour at this release, so that is the version it reports in `info.version`.
COMPATIBLE_GITLAB_RUNNER_VERSION = "19.4.0"
REVISION = "rf" + VERSION.replace(".", "")

_GO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "i686": "386",
    "armv7l": "arm",
    "armv6l": "arm",
    "s390x": "s390x",
    "ppc64le": "ppc64le",
    "riscv64": "riscv64",
}


def go_platform() -> str:
    """The OS name as Go's GOOS spells it (`linux`, `darwin`, ...)."""
    return sys.platform if sys.platform != "win32" else "windows"


def go_arch() -> str:
    """The CPU architecture as Go's GOARCH spells it (`amd64`, `arm64`, ...)."""
    # os.uname(): what platform.machine() reads, without importing platform (~3 ms per start).
    machine = os.uname().machine.lower()
    return _GO_ARCH.get(machine, machine)


def python_version() -> str:
    """`3.11.7`: the interpreter's major.minor.micro (what platform.python_version() gives for
    a final release)."""
    return ".".join(str(part) for part in sys.version_info[:3])


def user_agent() -> str:
    """gitlab-runner's User-Agent shape, with runnerfleet named where gitlab-runner puts its branch."""
    py = python_version()
    return (
        f"gitlab-runner {COMPATIBLE_GITLAB_RUNNER_VERSION} "
        f"({NAME} {VERSION}; python{py}; {go_platform()}/{go_arch()})"
    )


def version_text() -> str:
    """What `runnerfleet --version` prints, in gitlab-runner's layout."""
    return "\n".join(
        [
            f"Version:      {VERSION} (gitlab-runner {COMPATIBLE_GITLAB_RUNNER_VERSION} compatible)",
            f"Git revision: {REVISION}",
            "Git branch:   main",
            f"Python:       {python_version()}",
            f"OS/Arch:      {go_platform()}/{go_arch()}",
        ]
    )
