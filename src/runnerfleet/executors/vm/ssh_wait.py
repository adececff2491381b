"""Waiting for a freshly started VM to answer SSH, bounded by a deadline."""

from __future__ import annotations

import time

from runnerfleet.errors import RunnerfleetError
from runnerfleet.executors.ssh import SshClient, SshConnectError, SshOptions, SshTarget
from runnerfleet.executors.ssh.client import RETRY_INTERVAL

DEFAULT_SSH_WAIT = 120.0


class VmNotResponding(RunnerfleetError):
    """A VM did not open SSH in time (the preparation is retried, like gitlab-runner's)."""


def _go_duration(seconds: float) -> str:
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def wait_for_ssh(vm: str, target: SshTarget, options: SshOptions, timeout: float,
                 *, section: str = "runners.ssh") -> SshClient:
    """A client logged in to the VM that has run `exit` there (gitlab-runner's verifyMachine).

    Connection failures are retried until `timeout` seconds passed; a refused host key or login
    fails at once (BuildError from the SSH layer).
    """
    deadline = time.monotonic() + timeout
    retry = min(options.retry_interval, RETRY_INTERVAL)
    client = SshClient(target, SshOptions(
        connect_retries=1, retry_interval=retry, connect_timeout=options.connect_timeout,
        keepalive_interval=options.keepalive_interval, keepalive_count_max=options.keepalive_count_max,
        kill_wait=options.kill_wait), section=section)
    try:
        client.connect(deadline=deadline)
        outcome, _ = client.capture("exit", timeout=max(deadline - time.monotonic(), 1.0))
    except SshConnectError as exc:
        client.close()
        raise VmNotResponding(f"VM {vm} did not answer SSH on {target.address} within "
                              f"{_go_duration(timeout)}: {exc}") from None
    except BaseException:
        client.close()
        raise
    if outcome.exit_code != 0:
        client.close()
        raise VmNotResponding(f"VM {vm} answered SSH on {target.address} but `exit` failed: "
                              f"{outcome.error or outcome.status}")
    return client
