"""Which base VM a job gets: the configured one, or the job's `image:` when `allowed_images` permits it."""

from __future__ import annotations

import re

from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.trace import TraceBuffer


def compile_allowed_images(patterns: list[str], key: str) -> list[re.Pattern[str]]:
    """The `allowed_images` regexps (unanchored, like Go's MatchString); config error naming `key`."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise BuildError(f"{key}: invalid regexp pattern in allowed_images parameter: {pattern} ({exc})",
                             failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR) from None
    return compiled


def select_base_vm(default: str, image: str, allowed: list[re.Pattern[str]], trace: TraceBuffer) -> str:
    """gitlab-runner's GetBaseName: the base VM to clone for a job whose (expanded) image is `image`."""
    if not image or image == default:
        return default
    if not allowed:
        # Without allowed_images a job's image is ignored (older configs), but the user is told.
        trace.warning(f'No allowed_images configuration found for "{image}", using image "{default}"')
        return default
    for pattern in allowed:
        if pattern.search(image):
            return image
    trace.println("")
    trace.error(f'The "{image}" image is not present on list of allowed images')
    for pattern in allowed:
        trace.println(f"- {pattern.pattern}")
    trace.println("")
    trace.println("Please check runner's configuration")
    raise BuildError("invalid image", failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
