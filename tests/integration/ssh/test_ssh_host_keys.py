"""Host key checking: strict by default against known_hosts, a refusal says how to trust the key."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from tests.integration.build.helpers import World, payload, run_job
from tests.integration.ssh.sshd import KeyPair, SshdContainer
from tests.integration.ssh.test_ssh_jobs import provider, ssh_runner

pytestmark = pytest.mark.integration


def offered_key(message: str, sshd: SshdContainer) -> str:
    """The "<algorithm> key <fingerprint>" named in `message`, checked to be one of the server's keys."""
    offered = message.split("(the server offers ", 1)[1].split(")", 1)[0]
    keys = sshd.exec("cat /etc/ssh/ssh_host_*_key.pub").splitlines()
    server_keys = {f"{k.split()[0]} key {asyncssh.import_public_key(k).get_fingerprint()}" for k in keys}
    assert offered in server_keys
    return offered


def test_an_unknown_host_key_fails_with_the_command_that_trusts_it(
    world: World, sshd: SshdContainer, key: KeyPair, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "empty_known_hosts"
    known_hosts.write_text("")
    runner = ssh_runner(sshd, identity_file=str(key.private_path), known_hosts_file=str(known_hosts))
    result, log = run_job(world, payload(world, ["echo never"]), runner=runner, provider=provider())
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    message = result.message or ""
    assert message == (
        f"ssh: the host key of 127.0.0.1:{sshd.port} is not known (the server offers "
        f"{offered_key(message, sshd)}): trust it with "
        f"\"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known_hosts}\" (compare the fingerprint first), "
        "or set disable_strict_host_key_checking = true in [runners.ssh]")
    assert "echo never" not in log and "Will be retried" not in log


def test_strict_checking_is_the_default_and_uses_the_configured_known_hosts_file(
    world: World, sshd: SshdContainer, key: KeyPair, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "missing_known_hosts"
    runner = ssh_runner(sshd, identity_file=str(key.private_path), known_hosts_file=str(known_hosts))
    assert runner.ssh.disable_strict_host_key_checking is None
    result, _ = run_job(world, payload(world, ["true"]), runner=runner, provider=provider())
    assert result.failure_reason == "runner_system_failure"
    assert "is not known" in (result.message or "")

    # The command from the message makes the key trusted.
    known_hosts.write_text(sshd.host_key_line + "\n")
    result, log = run_job(world, payload(world, ["echo trusted-now"],
                                         variables=[{"key": "GIT_STRATEGY", "value": "none"}]),
                          runner=runner, provider=provider())
    assert result.state == "success", log
    assert "trusted-now\n" in log


def test_a_changed_host_key_is_refused_with_how_to_replace_the_entry(
    world: World, sshd: SshdContainer, key: KeyPair, tmp_path: Path
) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {other}\n")
    runner = ssh_runner(sshd, identity_file=str(key.private_path), known_hosts_file=str(known_hosts))
    result, _ = run_job(world, payload(world, ["true"]), runner=runner, provider=provider())
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    message = result.message or ""
    assert message == (
        f"ssh: the host key of 127.0.0.1:{sshd.port} does not match the one in {known_hosts} (the server "
        f"offers {offered_key(message, sshd)}): if the server was reinstalled, remove the old entry "
        f"with \"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {known_hosts}\" and add the new one with "
        f"\"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known_hosts}\"")


def test_disabled_strict_checking_accepts_an_unknown_key(
    world: World, sshd: SshdContainer, key: KeyPair, tmp_path: Path
) -> None:
    runner = ssh_runner(sshd, identity_file=str(key.private_path),
                        known_hosts_file=str(tmp_path / "missing_known_hosts"),
                        disable_strict_host_key_checking=True)
    result, log = run_job(world, payload(world, ["echo accepted"],
                                         variables=[{"key": "GIT_STRATEGY", "value": "none"}]),
                          runner=runner, provider=provider())
    assert result.state == "success", log
    assert "accepted\n" in log
