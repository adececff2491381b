"""Job options this runner does not support: the reasons a received job is failed at once.

gitlab-runner checks each job right after receiving it (commands/multi.go `requestJob`:
`UnsupportedOptions` and `ValidateStepsJobRequest`, common/spec/spec.go): before `PUT running`,
the reasons are written to the job's log, one line each, and the job fails with
`runner_system_failure` and exit code 3. Checked on the raw payload, so the wording and the
order of the checks stay gitlab-runner's whatever the payload parser makes of the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EXIT_CODE = 3  # common/trace.go ExitCodeUnsupportedOptions
FAILURE_REASON = "runner_system_failure"

# `image.executor_opts` / `services[].executor_opts`: the executors and their keys.
SUPPORTED_EXECUTOR_OPTIONS: dict[str, tuple[str, ...]] = {
    "docker": ("platform", "user"),
    "kubernetes": ("user",),
}


def _go_list(items: list[str]) -> str:
    """Go's `%v` of a []string: `[a b]`."""
    return "[" + " ".join(items) + "]"


def _options_error(options: Mapping[str, Any], supported: list[str], executor: str) -> str | None:
    unsupported = [key for key in options if key not in supported]
    if not unsupported:
        return None
    return (f'Unsupported "image" options {_go_list(unsupported)} for "{executor}"; '
            f"supported options are {_go_list(sorted(supported))}")


def _image_problems(image: Any) -> list[str]:
    if not isinstance(image, Mapping):
        return []
    opts = image.get("executor_opts")
    if not isinstance(opts, Mapping):
        return []
    problems: list[str] = []
    top = _options_error(opts, list(SUPPORTED_EXECUTOR_OPTIONS), "executor_opts")
    if top:
        problems.append(top)
    for executor, keys in SUPPORTED_EXECUTOR_OPTIONS.items():
        sub = opts.get(executor)
        if isinstance(sub, Mapping):
            error = _options_error(sub, list(keys), f"{executor} executor")
            if error:
                problems.append(error)
    return problems


def _steps_problem(payload: Mapping[str, Any]) -> str | None:
    """`ValidateStepsJobRequest`: `run` excludes `script` steps and a STEPS variable."""
    if not payload.get("run"):
        return None
    steps = payload.get("steps")
    if isinstance(steps, list) and any(isinstance(s, Mapping) and s.get("script")
                                       for s in steps):
        return "the `run` and `script` keywords cannot be used together"
    variables = payload.get("variables")
    if isinstance(variables, list) and any(
            isinstance(v, Mapping) and v.get("key") == "STEPS" and v.get("value")
            for v in variables):
        return "the `run` keyword requires the exclusive use of the variable STEPS"
    return None


def unsupported_options(payload: Mapping[str, Any]) -> list[str]:
    """One line per reason the job cannot run here (empty: nothing unsupported)."""
    problems = _image_problems(payload.get("image"))
    services = payload.get("services")
    if isinstance(services, list):
        for service in services:
            problems += _image_problems(service)
    steps = _steps_problem(payload)
    if steps:
        problems.append(steps)
    return problems
