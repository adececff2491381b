"""Registry credentials for image pulls: which source has credentials for an image, in gitlab-runner's order.

gitlab-runner's `helpers/docker/auth`: the sources are read in this order and the first one that
names a registry path keeps it:
1. `DOCKER_AUTH_CONFIG` (a job variable, else the runner's `environment`), source `$DOCKER_AUTH_CONFIG`;
2. the runner user's `~/.docker/config.json` (else `~/.dockercfg`), source: that file's path;
3. the job payload's `credentials` of type `registry`, source `job payload (GitLab Registry)`.
An image uses the entry of the longest registry path that is a prefix of its own path (an
image without a registry host is on `docker.io`). Passwords only ever go to the daemon's pull
call; errors name the source and the registry, never a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.errors import RunnerfleetError
from runnerfleet.job.payload import Credentials

DEFAULT_REGISTRY = "docker.io"
SOURCE_VARIABLE = "$DOCKER_AUTH_CONFIG"
SOURCE_PAYLOAD = "job payload (GitLab Registry)"
_SCHEME = re.compile(r"(?i)^https?://")


class AuthConfigError(RunnerfleetError):
    """A credentials source could not be read (names the source and what is wrong, never a secret)."""


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one registry path and where they came from."""

    registry: str
    source: str
    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)

    def for_daemon(self) -> dict[str, str]:
        """The Engine API's X-Registry-Auth fields."""
        auth = {"serveraddress": self.registry}
        if self.username:
            auth["username"] = self.username
        if self.password:
            auth["password"] = self.password
        if self.identity_token:
            auth["identitytoken"] = self.identity_token
        if self.registry_token:
            auth["registrytoken"] = self.registry_token
        return auth


def registry_path(reference: str) -> str:
    """The normalized registry path of a credentials key (`https://host/v1/` -> `host`, tag dropped)."""
    if _SCHEME.match(reference):
        host = _SCHEME.sub("", reference).split("/", 1)[0].lower()
        return DEFAULT_REGISTRY if host == f"index.{DEFAULT_REGISTRY}" else host
    path = reference.rstrip("/")
    tag, slash = path.rfind(":"), path.rfind("/")
    if slash != -1 and tag > slash:
        path = path[:tag]
    return _lower_host(path)


def image_path(image: str) -> str:
    """The path credentials are looked up for: registry host + repository, without tag or digest."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    last = name[slash + 1:].split(":", 1)[0]
    path = name[:slash + 1] + last
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        path = f"{DEFAULT_REGISTRY}/{path}"
    elif first == f"index.{DEFAULT_REGISTRY}":
        path = path.removeprefix("index.")
    return _lower_host(path)


def registry_host(image: str) -> str:
    """The registry an image is pulled from (`docker.io` for Docker Hub images)."""
    return image_path(image).split("/", 1)[0]


def _lower_host(path: str) -> str:
    host, sep, rest = path.partition("/")
    return host.lower() + sep + rest


def _entry(registry: str, source: str, raw: Any) -> RegistryAuth:
    if not isinstance(raw, dict):
        raise AuthConfigError(f"{source}: the entry for {registry} is not an object")
    username, password = str(raw.get("username") or ""), str(raw.get("password") or "")
    encoded = raw.get("auth")
    if encoded:
        bad = AuthConfigError(f'{source}: the "auth" of {registry} is not base64 of "user:password"')
        try:
            decoded = base64.b64decode(str(encoded), validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise bad from None
        user, sep, secret = decoded.partition(":")
        if not sep:
            raise bad
        username, password = user, secret
    return RegistryAuth(registry_path(registry), source, username, password,
                        str(raw.get("identitytoken") or ""), str(raw.get("registrytoken") or ""))


def parse_auth_config(text: str, source: str) -> list[RegistryAuth]:
    """Entries of a docker config (`{"auths": {...}}`, or the legacy `.dockercfg` map)."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise AuthConfigError(f"{source}: not valid JSON ({exc.msg} at {where})") from None
    if not isinstance(data, dict):
        raise AuthConfigError(f'{source}: expected an object with "auths"')
    auths = data.get("auths", data if "auths" not in data and _legacy(data) else {})
    if not isinstance(auths, dict):
        raise AuthConfigError(f'{source}: "auths" is not an object')
    entries = {registry: _entry(registry, source, raw) for registry, raw in auths.items()}
    # Credential helper programs (docker-credential-<name>) add to and override `auths`, as in
    # the docker CLI's config loading that gitlab-runner uses.
    store = data.get("credsStore")
    if isinstance(store, str) and store:
        for registry, username in _helper(store, source, "list", "").items():
            entries[registry] = _helper_get(store, source, registry, str(username))
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict):
        for registry, helper in helpers.items():
            entries[registry] = _helper_get(str(helper), source, registry, "")
    return list(entries.values())


def _helper(name: str, source: str, action: str, stdin: str) -> dict[str, Any]:
    """Run `docker-credential-<name> <action>`; its JSON answer."""
    if not name or name != os.path.basename(name) or name in (".", ".."):
        raise AuthConfigError(f'{source}: credential helper "{name}" must be a plain name (no path)')
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run([program, action], input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuthConfigError(f"{source}: credential helper {program} {action}: {exc}") from None
    if done.returncode != 0:
        # Helpers print a message (never the secret) on failure; "credentials not found" included.
        reason = (done.stdout.strip() or done.stderr.strip() or f"exit status {done.returncode}")
        raise AuthConfigError(f"{source}: credential helper {program} {action}: {reason.splitlines()[0]}")
    try:
        answer = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise AuthConfigError(f"{source}: credential helper {program} {action} did not answer JSON") from None
    if not isinstance(answer, dict):
        raise AuthConfigError(f"{source}: credential helper {program} {action} did not answer an object")
    return answer


def _helper_get(name: str, source: str, registry: str, username: str) -> RegistryAuth:
    answer = _helper(name, source, "get", registry)
    user, secret = str(answer.get("Username") or username), str(answer.get("Secret") or "")
    if user == "<token>":  # the credential helper protocol's marker for an identity token
        return RegistryAuth(registry_path(registry), source, identity_token=secret)
    return RegistryAuth(registry_path(registry), source, user, secret)


def _legacy(data: Mapping[str, Any]) -> bool:
    return bool(data) and all(isinstance(v, dict) and ("auth" in v or "username" in v) for v in data.values())


def home_config(home: Path | None = None) -> tuple[str, str] | None:
    """(path, text) of the runner user's docker config: ~/.docker/config.json, else ~/.dockercfg."""
    base = home if home is not None else Path(os.environ.get("HOME") or Path.home())
    for path in (base / ".docker" / "config.json", base / ".dockercfg"):
        try:
            return str(path), path.read_text()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise AuthConfigError(f"{path}: {exc.strerror or exc}") from None
    return None


def resolve(docker_auth_config: str, credentials: Sequence[Credentials],
            home: Path | None = None) -> tuple[dict[str, RegistryAuth], list[str]]:
    """Every registry path with its credentials (the first source naming a path keeps it), and
    the problems of sources that could not be read (gitlab-runner skips those sources too)."""
    sources: list[list[RegistryAuth]] = []
    problems: list[str] = []
    try:
        sources.append(parse_auth_config(docker_auth_config, SOURCE_VARIABLE))
    except AuthConfigError as exc:
        problems.append(str(exc))
    try:
        found = home_config(home)
        if found is not None:
            sources.append(parse_auth_config(found[1], found[0]))
    except AuthConfigError as exc:
        problems.append(str(exc))
    sources.append([RegistryAuth(registry_path(c.url), SOURCE_PAYLOAD, c.username, c.password)
                    for c in credentials if c.type == "registry" and c.url])
    resolved: dict[str, RegistryAuth] = {}
    for entries in sources:
        for entry in entries:
            resolved.setdefault(entry.registry, entry)
    return resolved, problems


def for_image(image: str, resolved: Mapping[str, RegistryAuth]) -> RegistryAuth | None:
    """The credentials of the longest registry path that contains `image`, if any."""
    path = image_path(image)
    while path:
        if path in resolved:
            return resolved[path]
        path = path.rpartition("/")[0]
    return None
