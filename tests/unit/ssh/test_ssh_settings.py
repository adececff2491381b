"""[runners.ssh] resolution, the remote command line and host key refusal lines."""

from __future__ import annotations

import os

import pytest

from runnerfleet.config import SshConfig
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.ssh import parse_port, remote_command, ssh_target
from runnerfleet.executors.ssh.hostkeys import host_key_error


def test_defaults_are_gitlab_runners_root_at_localhost_port_22_with_strict_checking() -> None:
    target = ssh_target(SshConfig())
    assert (target.host, target.port, target.user, target.password) == ("localhost", 22, "root", "")
    assert target.strict is True
    assert target.known_hosts_file == os.path.join(os.path.expanduser("~"), ".ssh", "known_hosts")


def test_only_an_explicit_true_disables_strict_checking() -> None:
    assert ssh_target(SshConfig(disable_strict_host_key_checking=False)).strict is True
    assert ssh_target(SshConfig(disable_strict_host_key_checking=True)).strict is False


def test_vm_executors_override_host_and_port() -> None:
    target = ssh_target(SshConfig(host="ignored", port="2222", user="vagrant"), host="127.0.0.1", port=40022)
    assert (target.host, target.port, target.user) == ("127.0.0.1", 40022, "vagrant")


@pytest.mark.parametrize("value", ["0", "65536", "ssh", "22x", "-1"])
def test_a_port_that_is_not_a_tcp_port_is_a_configuration_error_naming_the_key(value: str) -> None:
    with pytest.raises(BuildError) as caught:
        parse_port(value, "runners.ssh.port")
    assert caught.value.failure_reason == FailureReason.RUNNER_CONFIGURATION_ERROR
    assert str(caught.value) == f'runners.ssh.port: "{value}" is not a port number (1-65535)'


def test_missing_ssh_table_names_the_table_to_add() -> None:
    with pytest.raises(BuildError) as caught:
        ssh_target(None, section="runners.ssh")
    assert str(caught.value).startswith("missing SSH configuration: add a [runners.ssh] table")


def test_stage_command_is_a_login_shell_like_gitlab_runner() -> None:
    assert remote_command("bash") == "bash -l"
    assert remote_command("sh") == "sh -l"
    assert remote_command("bash", "deploy") == "su -s /bin/bash deploy -c 'bash -l'"


def test_unknown_key_on_port_22_suggests_keyscan_without_a_port() -> None:
    target = ssh_target(SshConfig(host="build.example.com", known_hosts_file="/etc/rf/known_hosts"))
    error = host_key_error(target, changed=False, fingerprint="")
    assert str(error) == ('ssh: the host key of build.example.com:22 is not known: trust it with '
                          '"ssh-keyscan build.example.com >> /etc/rf/known_hosts" (compare the fingerprint '
                          'first), or set disable_strict_host_key_checking = true in [runners.ssh]')
    assert error.failure_reason == FailureReason.RUNNER_SYSTEM_FAILURE
