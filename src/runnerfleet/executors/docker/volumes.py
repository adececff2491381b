"""`volumes` entries as mounts: bind mounts, named volumes, and per-project cache volumes.

gitlab-runner's `executors/docker/internal/volumes`: `"/path"` is a cache volume — a named volume
per project kept between jobs (its "caching of Docker containers"), a host directory under
`cache_dir` when that is set, or a per-job temporary volume with `disable_cache`;
`"src:dst[:mode]"` is a bind mount (absolute `src`) or a named volume.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from runnerfleet.executors.docker.options import config_error

_MODES = {"ro", "rw", "z", "Z", "shared", "rshared", "slave", "rslave", "private", "rprivate",
          "nocopy", "consistent", "cached", "delegated"}


@dataclass(frozen=True)
class VolumeSpec:
    """One `volumes` entry: `source` empty for a cache volume, `mode` like "ro"."""

    destination: str
    source: str = ""
    mode: str = ""

    @property
    def is_cache(self) -> bool:
        return not self.source

    @property
    def is_bind(self) -> bool:
        return self.source.startswith("/")


def parse_volume(spec: str, index: int) -> VolumeSpec:
    parts = spec.split(":")
    key = f"volumes[{index}]"
    if len(parts) == 1:
        destination, source, mode = parts[0], "", ""
    elif len(parts) == 2:
        source, destination, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        source, destination, mode = parts
    else:
        raise config_error(key, f'"{spec}" is not "/path" or "source:/destination[:mode]"')
    if not destination.startswith("/"):
        raise config_error(key, f'"{spec}": the destination must be an absolute path')
    if len(parts) > 1 and not source:
        raise config_error(key, f'"{spec}": the source is empty')
    for m in filter(None, mode.split(",")):
        if m not in _MODES:
            raise config_error(key, f'"{spec}": unknown mode "{m}"')
    return VolumeSpec(destination=os.path.normpath(destination), source=source, mode=mode)


def cache_key(destination: str) -> str:
    return hashlib.md5(destination.encode()).hexdigest()


def _unique_name(short_token: str, project_id: int, concurrent: int | None) -> str:
    # gitlab-runner's unique name has the concurrency slot: concurrent jobs of one project never
    # share a kept builds dir.
    slot = "" if concurrent is None else f"-concurrent-{concurrent}"
    return f"runnerfleet-{short_token}-project-{project_id}{slot}"


def cache_volume_name(short_token: str, project_id: int, destination: str, *,
                      concurrent: int | None = None) -> str:
    """The per-project named volume for a `"/path"` entry (the same for every job of the project,
    or of its concurrency slot with `concurrent`)."""
    return f"{_unique_name(short_token, project_id, concurrent)}-cache-{cache_key(destination)}"


def cache_host_dir(cache_dir: str, short_token: str, project_id: int, destination: str, *,
                   concurrent: int | None = None) -> str:
    return os.path.join(cache_dir, _unique_name(short_token, project_id, concurrent), cache_key(destination))


def bind(source: str, destination: str, mode: str = "") -> str:
    return f"{source}:{destination}" + (f":{mode}" if mode else "")
