"""Strict host key checking: the known_hosts policy for a connection and the line that explains a refusal."""

from __future__ import annotations

import ipaddress
import shlex

import asyncssh

from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.ssh.settings import SshTarget


def load_known_hosts(path: str) -> asyncssh.SSHKnownHosts:
    """The trusted keys from `path`; a missing or unreadable file trusts nothing (the error says so)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        text = ""
    return asyncssh.import_known_hosts(text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def has_entry(known: asyncssh.SSHKnownHosts, target: SshTarget) -> bool:
    """True when known_hosts names keys for this host and port (so a refusal means a changed key)."""
    addr = target.host if _is_ip(target.host) else ""
    trusted, trusted_cas, *_ = known.match(target.host, addr, target.port)
    return bool(trusted or trusted_cas)


def _keyscan(target: SshTarget) -> str:
    port = f"-p {target.port} " if target.port != 22 else ""
    return f"ssh-keyscan {port}{shlex.quote(target.host)} >> {shlex.quote(target.known_hosts_file)}"


def _known_hosts_name(target: SshTarget) -> str:
    return target.host if target.port == 22 else f"[{target.host}]:{target.port}"


def host_key_error(target: SshTarget, *, changed: bool, fingerprint: str) -> BuildError:
    """One line: which key was refused and how to trust it (or why not to)."""
    seen = f" (the server offers {fingerprint})" if fingerprint else ""
    if changed:
        message = (f"ssh: the host key of {target.address} does not match the one in "
                   f"{target.known_hosts_file}{seen}: if the server was reinstalled, remove the old entry "
                   f"with \"ssh-keygen -R '{_known_hosts_name(target)}' -f "
                   f"{shlex.quote(target.known_hosts_file)}\" and add the new one with "
                   f"\"{_keyscan(target)}\"")
    else:
        message = (f"ssh: the host key of {target.address} is not known{seen}: trust it with "
                   f"\"{_keyscan(target)}\" (compare the fingerprint first), or set "
                   f"disable_strict_host_key_checking = true in [runners.ssh]")
    # Retrying cannot help: the key stays unknown until someone trusts it.
    return BuildError(message, failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE)
