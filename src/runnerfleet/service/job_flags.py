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

_DEBUG_NAMES = ("CI_DEBUG_TRACE", "CI_DEBUG_SERVICES")
_DYNAMIC_FORCE_SEND = "FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL"


def _values(payload: Mapping[str, Any], runner: RunnerConfig,
            names: tuple[str, ...]) -> dict[str, str]:
    """The value of each of `names` that is set, from one pass over the runner `environment`
    and then the job's variables (the last one of a name wins)."""
    found: dict[str, str] = {}
    for entry in runner.job_environment:
        key, sep, text = entry.partition("=")
        if sep and key in names:
            found[key] = text
    variables = payload.get("variables")
    if isinstance(variables, list):
        for item in variables:
            if isinstance(item, Mapping):
                name = item.get("key")
                if isinstance(name, str) and name in names:
                    given = item.get("value")
                    if isinstance(given, str):
                        found[name] = given
    return found


def _flag(values: Mapping[str, str], runner: RunnerConfig, name: str) -> bool:
    from runnerfleet.build.featureflags import DEFAULTS, parse_go_bool

    if name in runner.feature_flags:
        return bool(runner.feature_flags[name])
    text = values.get(name)
    parsed = parse_go_bool(text) if text is not None else None
    return DEFAULTS.get(name, False) if parsed is None else parsed


def _debug(values: Mapping[str, str], runner: RunnerConfig) -> bool:
    from runnerfleet.build.featureflags import parse_go_bool

    if runner.debug_trace_disabled:
        return False
    return any(parse_go_bool(values.get(name) or "") is True for name in _DEBUG_NAMES)


def feature_flag(payload: Mapping[str, Any], runner: RunnerConfig, name: str) -> bool:
    return _flag(_values(payload, runner, (name,)), runner, name)


def debug_trace(payload: Mapping[str, Any], runner: RunnerConfig) -> bool:
    """CI_DEBUG_TRACE / CI_DEBUG_SERVICES asked for (and not disabled by the runner)."""
    return _debug(_values(payload, runner, _DEBUG_NAMES), runner)


def streamer_flags(payload: Mapping[str, Any], runner: RunnerConfig) -> tuple[bool, bool]:
    """(FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL, debug trace) from one pass over the variables."""
    values = _values(payload, runner, (_DYNAMIC_FORCE_SEND, *_DEBUG_NAMES))
    return _flag(values, runner, _DYNAMIC_FORCE_SEND), _debug(values, runner)


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
