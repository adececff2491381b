"""Job settings read from variables (GIT_STRATEGY, *_ATTEMPTS, AFTER_SCRIPT_IGNORE_ERRORS, ...), §5.6.

Unparseable values fall back to their defaults and produce one warning line each, worded as
gitlab-runner's `common/build_settings.go` words them; the pipeline prints them all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runnerfleet.build.featureflags import parse_go_bool
from runnerfleet.config.durations import Duration, go_duration_string
from runnerfleet.job import JobVariables

MIN_ATTEMPTS, MAX_ATTEMPTS = 1, 10
AFTER_SCRIPT_TIMEOUT = 300.0
_GO_INT = re.compile(r"^[+-]?[0-9]+$")


def go_quote(text: str) -> str:
    """Go's `%q` of a string, for the ASCII/UTF-8 text variables usually hold."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _go_bool_text(value: bool) -> str:
    return "true" if value else "false"


@dataclass
class BuildSettings:
    """The settings the pipeline acts on, plus every setting error as one warning line."""

    git_strategy: str = "clone"
    git_submodule_strategy: str = "none"
    git_clone_path: str = ""
    git_checkout: bool = True
    git_lfs_skip_smudge: bool = False
    git_submodule_force_https: bool = False
    git_submodule_depth: int = 0
    ci_debug_trace: bool = False
    ci_debug_services: bool = False
    get_sources_attempts: int = 1
    artifact_download_attempts: int = 1
    restore_cache_attempts: int = 1
    executor_job_section_attempts: int = 1
    secrets_retrieval_attempts: int = 1
    after_script_ignore_errors: bool = True
    cache_request_timeout: int = 10
    errors: list[str] = field(default_factory=list)


def _bool(variables: JobVariables, name: str, default: bool, errors: list[str]) -> bool:
    raw = variables.get(name)
    if raw == "":
        return default
    parsed = parse_go_bool(raw)
    if parsed is None:
        errors.append(f"{name}: expected bool got {go_quote(raw)}, "
                      f"using default value: {_go_bool_text(default)}")
        return default
    return parsed


def _int(variables: JobVariables, name: str, default: int, errors: list[str]) -> int:
    raw = variables.get(name)
    if raw == "":
        return default
    if not _GO_INT.match(raw) or not -(2**63) <= int(raw) < 2**63:
        errors.append(f"{name}: expected int got {go_quote(raw)}, using default value: {default}")
        return default
    return int(raw)


def clamp_attempts(value: int, name: str, errors: list[str]) -> int:
    """Attempts outside [1, 10] are clamped, with gitlab-runner's warning."""
    clamped = max(MIN_ATTEMPTS, min(MAX_ATTEMPTS, value))
    if clamped != value:
        errors.append(f"{name}: number of attempts out of the range [{MIN_ATTEMPTS}, {MAX_ATTEMPTS}], "
                      f"clamping to: {clamped}")
    return clamped


def read_settings(
    variables: JobVariables,
    *,
    allow_git_fetch: bool,
    git_depth: int,
    debug_trace_disabled: bool,
) -> BuildSettings:
    """Settings from the job's expanded variables, in gitlab-runner's validation order."""
    errors: list[str] = []
    s = BuildSettings()
    s.ci_debug_services = _bool(variables, "CI_DEBUG_SERVICES", False, errors)
    s.ci_debug_trace = _bool(variables, "CI_DEBUG_TRACE", False, errors)
    s.git_clone_path = variables.get("GIT_CLONE_PATH")

    default_strategy = "fetch" if allow_git_fetch else "clone"
    strategy = variables.get("GIT_STRATEGY")
    if strategy in ("clone", "fetch", "none", "empty"):
        s.git_strategy = strategy
    else:
        s.git_strategy = default_strategy
        if strategy:
            errors.append(f"GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' got "
                          f"{go_quote(strategy)}, using default value '{default_strategy}'")

    s.git_checkout = _bool(variables, "GIT_CHECKOUT", True, errors)
    submodules = variables.get("GIT_SUBMODULE_STRATEGY")
    if submodules in ("none", "normal", "recursive", ""):
        s.git_submodule_strategy = submodules or "none"
    else:
        s.git_submodule_strategy = "invalid"
        errors.append(f"GIT_SUBMODULE_STRATEGY: expected either 'normal', 'recursive' or 'none' got "
                      f"{go_quote(submodules)}")
    s.git_submodule_depth = _int(variables, "GIT_SUBMODULE_DEPTH", git_depth, errors)
    s.git_lfs_skip_smudge = _bool(variables, "GIT_LFS_SKIP_SMUDGE", False, errors)
    s.git_submodule_force_https = _bool(variables, "GIT_SUBMODULE_FORCE_HTTPS", False, errors)

    s.get_sources_attempts = _int(variables, "GET_SOURCES_ATTEMPTS", 1, errors)
    s.artifact_download_attempts = _int(variables, "ARTIFACT_DOWNLOAD_ATTEMPTS", 1, errors)
    s.restore_cache_attempts = _int(variables, "RESTORE_CACHE_ATTEMPTS", 1, errors)
    s.executor_job_section_attempts = _int(variables, "EXECUTOR_JOB_SECTION_ATTEMPTS", 1, errors)
    s.secrets_retrieval_attempts = _int(variables, "SECRETS_RETRIEVAL_ATTEMPTS", 1, errors)
    s.after_script_ignore_errors = _bool(variables, "AFTER_SCRIPT_IGNORE_ERRORS", True, errors)
    s.cache_request_timeout = _int(variables, "CACHE_REQUEST_TIMEOUT", 10, errors)

    if debug_trace_disabled:
        if s.ci_debug_trace:
            errors.append("CI_DEBUG_TRACE: usage is disabled on this Runner")
        if s.ci_debug_services:
            errors.append("CI_DEBUG_SERVICES: usage is disabled on this Runner")
        s.ci_debug_trace = s.ci_debug_services = False

    s.executor_job_section_attempts = clamp_attempts(
        s.executor_job_section_attempts, "EXECUTOR_JOB_SECTION_ATTEMPTS", errors)
    s.get_sources_attempts = clamp_attempts(s.get_sources_attempts, "GET_SOURCES_ATTEMPTS", errors)
    s.artifact_download_attempts = clamp_attempts(
        s.artifact_download_attempts, "ARTIFACT_DOWNLOAD_ATTEMPTS", errors)
    s.restore_cache_attempts = clamp_attempts(s.restore_cache_attempts, "RESTORE_CACHE_ATTEMPTS", errors)
    s.secrets_retrieval_attempts = clamp_attempts(
        s.secrets_retrieval_attempts, "SECRETS_RETRIEVAL_ATTEMPTS", errors)
    s.errors = errors
    return s


def stage_timeout(
    variables: JobVariables, name: str, default: float, job_remaining: float | None
) -> tuple[float, str | None]:
    """Seconds for RUNNER_SCRIPT_TIMEOUT / RUNNER_AFTER_SCRIPT_TIMEOUT (0 = none) and a warning.

    Malformed or negative values and values longer than the remaining job time keep the default
    (the job deadline still applies), each with gitlab-runner's warning.
    """
    raw = variables.get(name)
    if raw.strip() == "":
        return default, None
    try:
        duration = Duration.parse(raw)
    except ValueError:
        return default, f"Ignoring malformed {name} timeout: {raw}"
    seconds = duration.seconds
    if seconds < 0:
        return default, f"Ignoring relative {name} timeout: {raw}"
    if job_remaining is not None and seconds > job_remaining:
        return default, f"{name} timeout: {raw} is longer than job timeout. Setting to job timeout"
    if seconds != 0:
        return seconds, None
    return default, None


def go_seconds_text(seconds: float) -> str:
    """A duration in Go's `String()` form (`2h0m0s`, `1s`, `1.5s`)."""
    return go_duration_string(round(seconds * 1_000_000_000))
