"""Where config.toml lives, its certs directory, and the runner system ID file next to it."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import string
from collections.abc import Mapping
from pathlib import Path

SYSTEM_ID_FILE = ".runner_system_id"
_SYSTEM_ID = re.compile(r"^[sr]_[0-9a-zA-Z]{12}$")
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def default_config_path(*, uid: int | None = None, home: str | None = None,
                        cwd: str | None = None) -> Path:
    """root → /etc/gitlab-runner/config.toml; user with a home → ~/.gitlab-runner/config.toml;
    otherwise ./config.toml. Arguments default to the current process."""
    uid = os.geteuid() if uid is None else uid
    if uid == 0:
        return Path("/etc/gitlab-runner/config.toml")
    if home is None:
        home = os.environ.get("HOME") or ""
    if home:
        return Path(home) / ".gitlab-runner" / "config.toml"
    base = Path(cwd) if cwd is not None else Path.cwd()
    return base / "config.toml"


def resolve_config_path(cli_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    """`-c/--config`, else env CONFIG_FILE, else the default path."""
    if cli_value:
        return Path(cli_value)
    env = os.environ if env is None else env
    if env.get("CONFIG_FILE"):
        return Path(env["CONFIG_FILE"])
    return default_config_path(home=env.get("HOME") or "")


def certs_dir(config_path: str | os.PathLike[str]) -> Path:
    """`<config dir>/certs`: extra CA files named after the GitLab host."""
    return Path(config_path).parent / "certs"


def _machine_id() -> str | None:
    for name in _MACHINE_ID_FILES:
        try:
            value = Path(name).read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return None


def _new_system_id() -> str:
    machine_id = _machine_id()
    if machine_id:
        digest = hmac.new(machine_id.encode(), b"gitlab-runner", hashlib.sha256).hexdigest()
        return "s_" + digest[:12]
    alphabet = string.ascii_letters + string.digits
    return "r_" + "".join(secrets.choice(alphabet) for _ in range(12))


def load_system_id(config_dir: Path) -> str:
    """The ID in `<config_dir>/.runner_system_id`, created (mode 0600) if missing or invalid.
    A failed write is tolerated: the new ID is still returned."""
    path = Path(config_dir) / SYSTEM_ID_FILE
    try:
        current = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        current = ""
    if _SYSTEM_ID.match(current):
        return current
    system_id = _new_system_id()
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(system_id)
    return system_id
