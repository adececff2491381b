"""Job settings the service needs before the Build parses the payload (trace and streamer setup).

The TraceBuffer must be built before the first byte of the job log, so `FF_TIMESTAMPS` and
`FF_MASK_ALL_DEFAULT_TOKENS` are read here from the raw payload with gitlab-runner's precedence:
`[runners.feature_flags]`, then a job variable (runner `environment` before the job's own, the
job's winning), then the default. A payload too malformed to read keeps the defaults; the Build
reports what is wrong with it. runnerfleet.build is imported when a job needs it, not before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerfleet.config import RunnerConfig


def _variable(payload: Mapping[str, Any], runner: RunnerConfig, name: str) -> str | None:
    value: str | None = None
    for entry in runner.job_environment:
        key, sep, text = entry.partition("=")
        if sep and key == name:
            value = text
    variables = payload.get("variables")
    if isinstance(variables, list):
        for item in variables:
            if isinstance(item, Mapping) and item.get("key") == name:
                given = item.get("value")
                if isinstance(given, str):
                    value = given
    return value


def feature_flag(payload: Mapping[str, Any], runner: RunnerConfig, name: str) -> bool:
    from runnerfleet.build.featureflags import DEFAULTS, parse_go_bool

    if name in runner.feature_flags:
        return bool(runner.feature_flags[name])
    text = _variable(payload, runner, name)
    parsed = parse_go_bool(text) if text is not None else None
    return DEFAULTS.get(name, False) if parsed is None else parsed


def debug_trace(payload: Mapping[str, Any], runner: RunnerConfig) -> bool:
    """CI_DEBUG_TRACE / CI_DEBUG_SERVICES asked for (and not disabled by the runner)."""
    from runnerfleet.build.featureflags import parse_go_bool

    if runner.debug_trace_disabled:
        return False
    return any(parse_go_bool(_variable(payload, runner, name) or "") is True
               for name in ("CI_DEBUG_TRACE", "CI_DEBUG_SERVICES"))


def job_id_and_token(payload: Mapping[str, Any]) -> tuple[int, str] | None:
    """The job's id and token, the least the runner needs to report anything about it."""
    job_id = payload.get("id")
    token = payload.get("token")
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not isinstance(token, str):
        return None
    if not token:
        return None
    return job_id, token


def project_id(payload: Mapping[str, Any]) -> int:
    info = payload.get("job_info")
    value = info.get("project_id") if isinstance(info, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def job_url(payload: Mapping[str, Any]) -> str:
    """CI_JOB_URL from the payload's variables (what gitlab-runner logs and lists)."""
    variables = payload.get("variables")
    if isinstance(variables, list):
        for item in variables:
            if isinstance(item, Mapping) and item.get("key") == "CI_JOB_URL":
                value = item.get("value")
                if isinstance(value, str):
                    return value
    return ""
