"""The SSH executor and the SSH layer VM executors share (asyncssh on a private event loop thread)."""

from runnerfleet.executors.ssh.client import RemoteOutcome, SshClient, SshConnectError, SshOptions
from runnerfleet.executors.ssh.executor import SshExecutor, SshExecutorProvider
from runnerfleet.executors.ssh.remote_job import RemoteJob
from runnerfleet.executors.ssh.settings import SshTarget, parse_port, ssh_target
from runnerfleet.executors.ssh.stage import remote_command, remote_dirs, remote_shell, run_stage

__all__ = [
    "RemoteJob",
    "RemoteOutcome",
    "SshClient",
    "SshConnectError",
    "SshExecutor",
    "SshExecutorProvider",
    "SshOptions",
    "SshTarget",
    "parse_port",
    "remote_command",
    "remote_dirs",
    "remote_shell",
    "run_stage",
    "ssh_target",
]
