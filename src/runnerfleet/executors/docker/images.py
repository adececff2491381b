"""Which images a job may use and how they are obtained: allowed lists, pull policies, pulling.

gitlab-runner's `executors/docker/internal/pull`: a policy list is tried in order (the next
policy is a fallback when one fails); `always` pulls, `if-not-present` uses a local image and
pulls only when there is none, `never` uses a local image or fails. A job may ask for policies
only from `allowed_pull_policies` (default: the runner's `pull_policy`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runnerfleet.executors.docker.auth import RegistryAuth, registry_host
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.trace import TraceBuffer

POLICIES = ("always", "if-not-present", "never")
RESTRICTING_DOCS = ("https://docs.gitlab.com/runner/configuration/advanced-configuration.html"
                    "#restricting-docker-images-and-services")


def _config_error(message: str) -> BuildError:
    return BuildError(message, failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A doublestar glob as a regex: `**` crosses `/`, `*` and `?` do not; `[...]`, `{a,b}`."""
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, name: str) -> bool:
    try:
        return _glob_regex(pattern).match(name) is not None
    except re.error:
        return pattern == name


def check_allowed(kind: str, name: str, allowed: Sequence[str], trace: TraceBuffer) -> None:
    """Fail when `allowed` (doublestar globs) is set and no pattern matches the job's `name`."""
    if not allowed or any(glob_match(p, name) for p in allowed):
        return
    key = "allowed_images" if kind == "image" else "allowed_services"
    trace.error(f'The "{name}" {kind} is not present on list of {key.replace("_", " ")}:')
    for pattern in allowed:
        trace.println(f"- {pattern}")
    trace.println(f"Please check runner's configuration: {RESTRICTING_DOCS}")
    raise _config_error(f'invalid {kind} "{name}": not allowed by runners.docker.{key} '
                        f"({', '.join(allowed)})")


def pull_policies(job_policies: Sequence[str], runner_policies: Sequence[str],
                  allowed: Sequence[str], image: str) -> list[str]:
    """The policies to use for `image`: the job's if any, else the runner's; checked against allowed."""
    configured = list(runner_policies) or ["always"]
    for policy in configured:
        if policy not in POLICIES:
            raise _config_error(f'runners.docker.pull_policy: unsupported pull policy "{policy}" '
                                f"(use {', '.join(POLICIES)})")
    allowed_list = list(allowed) or configured
    if job_policies:
        chosen, source = list(job_policies), "GitLab pipeline config"
    else:
        chosen, source = configured, "Runner config"
    bad = [p for p in chosen if p not in allowed_list]
    if bad:
        raise _config_error(f'failed to pull image "{image}": pull_policy ([{" ".join(chosen)}]) defined in '
                            f"{source} is not one of the allowed_pull_policies "
                            f"([{' '.join(allowed_list)}])")
    return chosen


@dataclass(frozen=True)
class PulledImage:
    name: str
    id: str
    data: dict[str, Any]


def obtain(daemon: Daemon, name: str, policies: Sequence[str], trace: TraceBuffer,
           auth: RegistryAuth | None = None) -> PulledImage:
    """Have `name` on the daemon per `policies`; raises BuildError(image_pull_failure) naming both.

    `auth`: the registry credentials for `name` (gitlab-runner names their source before pulling).
    """
    errors: list[str] = []
    for policy in policies:
        if policy in ("if-not-present", "never"):
            local = daemon.image(name)
            if local is not None:
                trace.println(f'Using locally found image version due to "{policy}" pull policy')
                return _using(name, local, trace)
            if policy == "never":
                errors.append(f'image "{name}" is not present on the docker daemon and the pull policy '
                              'is "never"')
                continue
        if auth is not None:
            trace.println(f"Authenticating with credentials from {auth.source}")
        trace.println(f"Pulling docker image {name} ...")
        try:
            daemon.pull(name, auth.for_daemon() if auth is not None else None)
        except DockerDaemonError as exc:
            credentials = f"credentials from {auth.source}" if auth is not None else "no credentials"
            errors.append(f"{exc} (registry {registry_host(name)}, {credentials})")
            if len(policies) > 1:
                trace.warning(f"Failed to pull image with policy \"{policy}\": {exc}")
            continue
        pulled = daemon.image(name)
        if pulled is not None:
            return _using(name, pulled, trace)
        errors.append(f'image "{name}" is not on the docker daemon after pulling it')
    raise BuildError(f'failed to pull image "{name}" with specified policies [{" ".join(policies)}]: '
                     + "; ".join(errors), failure_reason=FailureReason.IMAGE_PULL_FAILURE)


def _using(name: str, data: dict[str, Any], trace: TraceBuffer) -> PulledImage:
    image_id = str(data.get("Id", ""))
    digests = data.get("RepoDigests") or []
    digest = f" with digest {digests[0]}" if digests else ""
    trace.println(f"Using docker image {image_id} for {name}{digest} ...")
    return PulledImage(name, image_id, data)
