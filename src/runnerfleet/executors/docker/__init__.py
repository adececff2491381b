"""The docker executor: job stages in a build container and a helper container on a docker daemon."""

from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError, Endpoint
from runnerfleet.executors.docker.executor import (
    HELPER_IMAGE,
    DockerExecutor,
    KillTimeouts,
    detect_shell_command,
    is_helper_stage,
)
from runnerfleet.executors.docker.provider import DockerExecutorProvider

__all__ = [
    "HELPER_IMAGE",
    "Daemon",
    "DockerDaemonError",
    "DockerExecutor",
    "DockerExecutorProvider",
    "Endpoint",
    "KillTimeouts",
    "detect_shell_command",
    "is_helper_stage",
]
