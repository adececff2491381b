# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""config.toml edits for the runner_config module on the engine's round-trip ConfigFile.

Only keys whose value differs are written, so comments, unknown keys, formatting and the fields
the runner owns (id, token and its timestamps, written by registration and token rotation) stay
as the file has them. Secret values are masked for diffs with the engine's own schema and
statement scanner.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runnerfleet.config import ConfigFile

# Written by registration and by token rotation; a task never changes them behind the runner.
RUNNER_OWNED = ("id", "token", "token_obtained_at", "token_expires_at")
# Set through their own module options, not through `settings`.
OWN_OPTIONS = ("name", "url", "executor", *RUNNER_OWNED)
_MISSING = object()
# gitlab-runner writes a token without expiry as Go's zero time.
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@\"']*:)[^@\s\"']+@")
_SECRET_ENV = re.compile(
    r"(?P<name>\b[A-Za-z_][A-Za-z0-9_]*(?:PASSWORD|PASSWD|TOKEN|SECRET|_KEY)[A-Za-z0-9_]*=)"
    r"[^\"'\s]+", re.IGNORECASE)


class EditProblem(Exception):
    """A task that cannot be carried out on this file; `str()` is the module's one-line msg."""


def secret_keys() -> frozenset[str]:
    """TOML key names the engine's schema marks secret (token, password, S3/GCS/Azure keys)."""
    from runnerfleet.config import Config  # pylint: disable=import-outside-toplevel
    from runnerfleet.config.schema import toml_fields  # pylint: disable=import-outside-toplevel

    found: set[str] = set()
    seen: set[type] = set()
    pending: list[type] = [Config]
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for f in toml_fields(cls):
            if f.metadata.get("secret"):
                found.add(f.metadata["toml"])
            if f.metadata.get("cls") is not None:
                pending.append(f.metadata["cls"])
    return frozenset(found)


def mask_secrets(text: str, extra: Iterable[str] = ()) -> str:
    """config.toml text fit for a diff: secret keys masked (tokens shortened as gitlab-runner
    does), URL passwords and secret-looking `NAME=value` entries as `***`, and every `extra`
    value replaced."""
    from runnerfleet.config.tomlscan import scan  # pylint: disable=import-outside-toplevel
    from runnerfleet.tokens import shorten_token  # pylint: disable=import-outside-toplevel

    names = secret_keys()
    try:
        statements = scan(text)
    except (ValueError, IndexError):
        statements = []
    for stmt in reversed(statements):
        if stmt.kind != "kv" or not stmt.key or stmt.key[-1] not in names:
            continue
        raw = text[stmt.value_start:stmt.value_end]
        try:
            value = tomllib.loads("v = " + raw)["v"]
        except tomllib.TOMLDecodeError:
            value = ""
        if isinstance(value, str) and not value:
            continue  # an empty secret says nothing and shows the key is unset
        shown = f'"{shorten_token(value)}…"' if stmt.key[-1] == "token" and isinstance(
            value, str) and len(value) > 9 else '"***"'
        text = text[:stmt.value_start] + shown + text[stmt.value_end:]
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", text)
    text = _SECRET_ENV.sub(lambda m: m.group("name") + "***", text)
    for value in sorted((v for v in extra if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def secret_values(values: Any, names: frozenset[str]) -> list[str]:
    """String values under secret keys (at any depth) and URL passwords in `values`."""
    found: list[str] = []
    if isinstance(values, Mapping):
        for key, value in values.items():
            if key in names and isinstance(value, str) and value:
                found.append(value)
            else:
                found.extend(secret_values(value, names))
    elif isinstance(values, list):
        for item in values:
            found.extend(secret_values(item, names))
    elif isinstance(values, str):
        match = re.search(r"://[^/\s:@]*:([^@\s]+)@", values)
        if match:
            found.append(match.group(1))
    return found


def changed_values(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `wanted` that differs from `current` (None deletes a key that is there)."""
    out: dict[str, Any] = {}
    for key, value in wanted.items():
        have = current.get(key, _MISSING)
        if value is None:
            if have is not _MISSING:
                out[key] = None
        elif isinstance(value, Mapping) and isinstance(have, Mapping):
            sub = changed_values(have, value)
            if sub:
                out[key] = sub
        elif have is _MISSING or have != value:
            out[key] = value
    return out


def key_paths(values: Mapping[str, Any], prefix: str) -> list[str]:
    """`prefix.key.sub` for every leaf of a nested change set."""
    paths: list[str] = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and value:
            paths.extend(key_paths(value, path))
        else:
            paths.append(path)
    return paths


def parse_timestamp(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 time (as the runner module returns it) for a TOML datetime key."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise EditProblem(f"{option}: {value!r} is not an ISO-8601 time like 2026-09-01T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ConfigEdit:
    """The edits of one task on one ConfigFile, and what they changed."""

    def __init__(self, config: ConfigFile) -> None:
        self.config = config
        self.changed_keys: list[str] = []
        self.token_kept = False

    def _data(self) -> dict[str, Any]:
        return tomllib.loads(self.config.dumps()) if self.config.dumps().strip() else {}

    def find(self, name: str) -> int | None:
        """Index of the `[[runners]]` entry named `name`; an error when several have it."""
        matches = [r.index for r in self.config.config.runners if r.name == name]
        if len(matches) > 1:
            raise EditProblem(
                f"{self.config.path}: {len(matches)} [[runners]] entries are named {name!r} "
                f"(runners[{'], runners['.join(map(str, matches))}]); names must be unique for "
                "runner_config to know which one to edit")
        return matches[0] if matches else None

    def set_globals(self, values: Mapping[str, Any]) -> None:
        current = {k: v for k, v in self._data().items() if k != "runners"}
        changes = changed_values(current, values)
        for key, value in changes.items():
            self.config.set_global(key, value)
        self.changed_keys.extend(key_paths(changes, ""))

    def remove_runner(self, name: str) -> bool:
        index = self.find(name)
        if index is None:
            return False
        self.config.remove_runner(index)
        self.changed_keys.append(f"runners[{index}]")
        return True

    def set_runner(self, name: str, head: Mapping[str, Any], settings: Mapping[str, Any],
                   owned: Mapping[str, Any], overwrite_token: bool) -> int:
        """Add or update entry `name`: `head` (url, executor) and `settings` where they differ;
        `owned` (token, id, token_expires_at) only on a new entry, an entry without a token, or
        with overwrite_token for a token that differs."""
        index = self.find(name)
        given = {k: v for k, v in head.items() if v is not None}
        if index is None:
            if not owned.get("token"):
                raise EditProblem(
                    f"runner {name!r} is not in {self.config.path} yet: token is required to add "
                    "it (the token that runnerfleet.gitlab.runner returned; with reset_token=true "
                    "there if it is lost)")
            entry = {"name": name, **given, "id": owned.get("id") or 0,
                     "token": owned["token"],
                     "token_obtained_at": datetime.now(UTC).replace(microsecond=0),
                     "token_expires_at": owned.get("token_expires_at"), **settings}
            self.config.add_runner(entry)
            index = len(self.config.config.runners) - 1
            self.changed_keys.append(f"runners[{index}]")
            return index
        current = self._data()["runners"][index]
        changes = changed_values(current, {**given, **settings})
        token = owned.get("token")
        disk_token = current.get("token") or ""
        if token and token != disk_token:
            if not disk_token or overwrite_token:
                changes.update({
                    "token": token,
                    "token_obtained_at": datetime.now(UTC).replace(microsecond=0),
                    "token_expires_at": owned.get("token_expires_at") or GO_ZERO_TIME,
                })
                if owned.get("id"):
                    changes["id"] = owned["id"]
            else:
                self.token_kept = True  # the runner rotated it; the file's token is the live one
        if owned.get("id") and not current.get("id") and "id" not in changes:
            changes["id"] = owned["id"]
        if changes:
            self.config.update_runner(index, changes)
            self.changed_keys.extend(key_paths(changes, f"runners[{index}]"))
        return index
