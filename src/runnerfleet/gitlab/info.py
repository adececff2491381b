"""The `info` object gitlab-runner sends on register, verify and job requests (API spec §2.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerfleet import version

# Every key of gitlab-runner's FeaturesInfo: GitLab reads absent keys as false, but gitlab-runner
# always sends them all, and so do we (API spec §2.3).
FEATURE_KEYS: tuple[str, ...] = (
    "variables",
    "image",
    "services",
    "artifacts",
    "cache",
    "fallback_cache_keys",
    "shared",
    "upload_multiple_artifacts",
    "upload_raw_artifacts",
    "session",
    "terminal",
    "refspecs",
    "masking",
    "proxy",
    "raw_variables",
    "artifacts_exclude",
    "multi_build_steps",
    "trace_reset",
    "trace_checksum",
    "trace_size",
    "vault_secrets",
    "cancelable",
    "return_exit_code",
    "service_variables",
    "service_multiple_aliases",
    "image_executor_opts",
    "service_executor_opts",
    "cancel_gracefully",
    "native_steps_integration",
    "two_phase_job_commit",
    "job_inputs",
)


def runner_info(
    executor: str = "",
    shell: str = "",
    features: Mapping[str, bool] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """gitlab-runner's `info` object for this runner; unknown feature names raise ValueError."""
    given = dict(features or {})
    unknown = sorted(set(given) - set(FEATURE_KEYS))
    if unknown:
        raise ValueError(f"unknown runner feature(s): {', '.join(unknown)}")
    info: dict[str, Any] = {
        "name": version.NAME,
        "version": version.COMPATIBLE_GITLAB_RUNNER_VERSION,
        "revision": version.REVISION,
        "platform": version.go_platform(),
        "architecture": version.go_arch(),
    }
    # gitlab-runner marks these `omitempty`: an empty executor/shell is not sent at all.
    if executor:
        info["executor"] = executor
    if shell:
        info["shell"] = shell
    info["features"] = {key: bool(given.get(key, False)) for key in FEATURE_KEYS}
    info["config"] = {"gpus": ""}
    if labels:
        info["labels"] = dict(labels)
    return info
