"""restore_cache and archive_cache(_on_failure) script bodies (engine spec §5.7).

For each cache entry with paths or `untracked`: the key (default `<job name>/<ref>`), its
policy, then `cache-extractor` (with each fallback key — `fallback_keys`, then
CACHE_FALLBACK_KEY unless it ends in `-protected` — tried in turn after a failure) or
`cache-archiver`, each guarded by the helper's availability. Failures only print warnings;
the job never fails for its cache. Remote URLs are signed here, in the runner process.
"""

from __future__ import annotations

import json

from runnerfleet.cache.adapter import CacheURLs, remote_urls
from runnerfleet.cache.keys import CacheKey, KeyError_, cache_key, default_key
from runnerfleet.job.payload import Cache
from runnerfleet.shells.build_info import BuildInfo
from runnerfleet.shells.errors import ShellScriptError
from runnerfleet.shells.helper_guard import guard, runner_command, short_token, when_matches
from runnerfleet.shells.writer import ShellWriter

POLICIES = ("pull", "push", "pull-push")
CACHE_ENV_FILE = "gitlab_runner_cache_env"
DEFAULT_REQUEST_TIMEOUT = 10


def _helper_args(cache: Cache) -> list[str]:
    args: list[str] = []
    for path in cache.paths:
        args += ["--path", path]
    if cache.untracked:
        args.append("--untracked")
    return args


def _request_timeout(build: BuildInfo) -> int:
    value = build.setting("CACHE_REQUEST_TIMEOUT").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_REQUEST_TIMEOUT


def _policy(build: BuildInfo, cache: Cache, key: CacheKey) -> str:
    policy = build.expanded().expand(cache.policy or "pull-push") or "pull-push"
    if policy not in POLICIES:
        raise ShellScriptError(f"unknown cache policy {policy!r} for {key.human}: "
                               "use pull, push or pull-push")
    return policy


class _Keys:
    """Key derivation for one build (warnings go into the script)."""

    def __init__(self, build: BuildInfo, w: ShellWriter) -> None:
        self.build = build
        self.w = w
        self.hash_keys = bool(build.feature_flags.get("FF_HASH_CACHE_KEYS", False))
        self._remote_warned: set[str] = set()

    def make(self, user_key: str, verb: str) -> CacheKey | None:
        payload = self.build.payload
        raw = (self.build.expanded().expand(user_key) if user_key
               else default_key(payload.job_info.name, payload.git_info.ref))
        try:
            key, warning = cache_key(raw, cache_dir=self.build.cache_dir, project_dir=self.build.project_dir,
                                     hash_keys=self.hash_keys)
        except KeyError_ as exc:
            self.w.notice(f"Skipping cache {verb} due to {exc}")
            return None
        if warning:
            self.w.warning(warning)
        return key

    def remote(self, key: CacheKey, metadata: dict[str, str] | None = None) -> CacheURLs | None:
        build = self.build
        timeout = build.payload.runner_info.timeout if build.payload.runner_info.timeout > 0 else 7200
        urls, warning = remote_urls(build.runner.cache if build.runner else None,
                                    short_token=short_token(build),
                                    project_id=build.payload.job_info.project_id, key=key.hashed,
                                    sharded=self.hash_keys, timeout=timeout, metadata=metadata)
        if warning and warning not in self._remote_warned:
            self._remote_warned.add(warning)
            self.w.warning(warning)
        return urls


# -- restore ----------------------------------------------------------------------------------------
def _extract_commands(w: ShellWriter, build: BuildInfo, keys: _Keys, chain: list[CacheKey],
                      cache: Cache) -> None:
    key, rest = chain[0], chain[1:]
    args = ["cache-extractor", "--file", key.archive_file, "--timeout", str(_request_timeout(build))]
    w.notice(f"Checking cache for {key.human}...")
    urls = keys.remote(key)
    if urls is not None:
        args += ["--url", urls.get, "--head-url", urls.head]
    w.if_cmd(" ".join(w.q(a) for a in [runner_command(build), *args]))
    w.notice("Successfully extracted cache")
    w.else_()
    w.warning("Failed to extract cache")
    if build.feature_flags.get("FF_CLEAN_UP_FAILED_CACHE_EXTRACT", False):
        for path in cache.paths:
            w.echo(f"Removing {path}")
            w.rm_dir(path)
    if rest:
        _extract_commands(w, build, keys, rest, cache)
    w.end_if()


def _fallbacks(w: ShellWriter, build: BuildInfo, keys: _Keys, cache: Cache) -> list[CacheKey]:
    variables = build.expanded()
    chain: list[CacheKey] = []
    for raw in cache.fallback_keys:
        expanded = variables.expand(raw)
        if expanded and (key := keys.make(expanded, "extraction")) is not None:
            chain.append(key)
    fallback = variables.get("CACHE_FALLBACK_KEY")
    if fallback:
        if fallback.rstrip(". ").endswith("-protected"):
            w.warning(f'CACHE_FALLBACK_KEY "{fallback}" not allowed to end in "-protected"')
        elif (key := keys.make(fallback, "extraction")) is not None:
            chain.append(key)
    return chain


def write_restore(w: ShellWriter, build: BuildInfo) -> bool:
    """The restore_cache body; False when no cache entry has anything to restore."""
    keys = _Keys(build, w)
    work = False
    for cache in build.payload.cache:
        if not _helper_args(cache):
            continue
        work = True
        key = keys.make(cache.key, "extraction")
        if key is None:
            continue
        if _policy(build, cache, key) == "push":
            w.notice(f"Not downloading cache {key.human} due to policy")
            continue
        chain = [key, *_fallbacks(w, build, keys, cache)]

        def body(chain: list[CacheKey] = chain, cache: Cache = cache) -> None:
            _extract_commands(w, build, keys, chain, cache)

        guard(w, build, "Extracting cache", body)
    return work


# -- archive ----------------------------------------------------------------------------------------
def write_archive(w: ShellWriter, build: BuildInfo, on_success: bool) -> bool:
    """The archive_cache body for a successful (or failed) job; False when nothing is to be saved."""
    keys = _Keys(build, w)
    work = False
    env_file = f"{build.tmp_dir.rstrip('/')}/{CACHE_ENV_FILE}"
    for cache in build.payload.cache:
        if not when_matches(cache.when, on_success):
            continue
        helper_args = _helper_args(cache)
        if not helper_args:
            continue
        work = True
        key = keys.make(cache.key, "archiving")
        if key is None:
            continue
        if _policy(build, cache, key) == "pull":
            w.notice(f"Not uploading cache {key.human} due to policy")
            continue
        metadata = {"cachekey": key.human}
        args = ["cache-archiver", "--file", key.archive_file, "--timeout", str(_request_timeout(build))]
        limit = build.runner.cache.max_uploaded_archive_size if build.runner is not None else 0
        if limit > 0:
            args += ["--max-uploaded-archive-size", str(limit)]
        args += helper_args
        urls = keys.remote(key, metadata)
        if urls is not None:
            args += ["--url", urls.put]
            for name, value in urls.put_headers.items():
                args += ["--header", f"{name}: {value}"]
            args += ["--check-url", urls.head]

        def body(key: CacheKey = key, args: list[str] = args, metadata: dict[str, str] = metadata) -> None:
            w.notice(f"Creating cache {key.human}...")
            # The metadata travels in an env file, as gitlab-runner passes it to its helper.
            w.mkdir(build.tmp_dir)
            w.write_file(env_file, f"CACHE_METADATA={json.dumps(metadata, separators=(',', ':'))}\n")
            command = [runner_command(build), *args, "--env-file", env_file]
            w.if_cmd(" ".join(w.q(a) for a in command))
            w.notice("Created cache")
            w.else_()
            w.warning("Failed to create cache")
            w.end_if()
            w.rm_file(env_file)

        guard(w, build, "Creating cache", body)
    return work
