"""Cache keys as gitlab-runner derives them: default, sanitised or hashed key, archive path, object name.

A key is the `cache:key` value with job variables expanded, or `<job name>/<git ref>` when empty.
Without FF_HASH_CACHE_KEYS it is sanitised (URL-decoded `%2F`/`%2E`, backslashes to `/`, `..`
resolved inside a virtual root, trailing whitespace trimmed) and a change is reported as a
warning; with the flag it is used as is and SHA-256 hashed for the file and object names.
The local archive is `<cache dir>/<key>/cache.zip`, passed relative to the project dir.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass

ARCHIVE_NAME = "cache.zip"


class KeyError_(ValueError):
    """The key cannot be used (empty, or not sanitisable); the cache entry is skipped."""


@dataclass(frozen=True)
class CacheKey:
    human: str  # what the log shows
    hashed: str  # what names files and objects (== human unless keys are hashed)
    archive_file: str  # relative to the project dir


def sanitize(key: str) -> str:
    """gitlab-runner's cachekey.Sanitize; KeyError_ when nothing usable remains."""
    if key == "":
        return ""
    normal = (key.replace("%2f", "/").replace("%2F", "/").replace("%2e", ".").replace("%2E", ".")
              .replace("\\", "/"))
    cleaned = posixpath.normpath("/" + normal)
    # normpath keeps a leading "//"; Go's path.Clean does not.
    cleaned = "/" + cleaned.lstrip("/")
    parts = cleaned[1:].split("/")
    while parts:
        parts[-1] = parts[-1].rstrip()
        if parts[-1]:
            break
        parts.pop()
    result = "/".join(parts)
    if not result:
        raise KeyError_(f"cache key {key!r} could not be sanitized")
    return result


def default_key(job_name: str, ref: str) -> str:
    """`<job name>/<git ref>` cleaned like Go's path.Join("/", name, ref)[1:]."""
    return posixpath.normpath(posixpath.join("/", job_name, ref)).lstrip("/")


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cache_key(raw: str, *, cache_dir: str, project_dir: str, hash_keys: bool) -> tuple[CacheKey | None, str]:
    """(key, warning) for an expanded raw key; (None, warning) when the entry must be skipped.

    KeyError_ for an empty key (gitlab-runner: "Skipping cache ... due to empty cache key").
    """
    if not cache_dir:
        raise KeyError_("unset cache directory")
    warning = ""
    if hash_keys:
        human = raw
    else:
        try:
            human = sanitize(raw)
        except KeyError_ as exc:
            warning, human = str(exc), ""
        else:
            if human != raw:
                warning = f"cache key {_go_quote(raw)} sanitized to {_go_quote(human)}"
    if not human:
        if warning:
            return None, warning
        raise KeyError_("empty cache key")
    hashed = hashlib.sha256(human.encode()).hexdigest() if hash_keys else human
    archive = posixpath.relpath(posixpath.join(cache_dir, hashed, ARCHIVE_NAME), project_dir)
    return CacheKey(human, hashed, archive), warning


def object_name(*, path: str, shared: bool, short_token: str, project_id: int, key: str,
                sharded: bool) -> str | None:
    """`[<Path>/][runner/<token>/]project/<id>/[<2 hex>/]<key>`; None when the key escapes its prefix."""
    namespace = "" if shared else posixpath.join("runner", short_token)
    base = posixpath.normpath(posixpath.join(path or ".", namespace or ".", "project", str(project_id)))
    if sharded:
        if len(key) < 2:
            return None
        full = posixpath.normpath(posixpath.join(base, key[:2], key))
    else:
        full = posixpath.normpath(posixpath.join(base, key))
    if not full.startswith(base + "/"):
        return None
    return full.lstrip("/")
