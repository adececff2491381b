"""The job's variable list in gitlab-runner's precedence order (engine spec §5.6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from runnerfleet.job.payload import JobPayload
from runnerfleet.job.variables import JobVariables, Variable
from runnerfleet.shells.layout import short_token
from runnerfleet.version import COMPATIBLE_GITLAB_RUNNER_VERSION, REVISION, go_arch, go_platform


def _public(key: str, value: str) -> Variable:
    return Variable(key, value, public=True)


def predefined_variables(
    payload: JobPayload,
    *,
    runner_token: str,
    builds_dir: str,
    project_dir: str,
    tmp_dir: str,
    concurrent_id: int,
    concurrent_project_id: int,
    shared: bool,
    feature_flags: Mapping[str, bool] | None = None,
    environment: Sequence[str] = (),
    tls_ca_file: str = "",
    tls_cert_file: str = "",
    tls_key_file: str = "",
) -> JobVariables:
    """Every variable of the job, later entries winning on duplicate keys.

    `feature_flags` are the resolved `FF_*` values; `environment` the runner's `KEY=VALUE` entries;
    `shared` is true for shell/ssh (builds dir shared between jobs), false for docker/virtualbox.
    TLS arguments are PEM contents, passed on as file variables.
    """
    result = JobVariables()
    for name, enabled in sorted((feature_flags or {}).items()):
        result.append(_public(name, "true" if enabled else "false"))
    if payload.image is not None and payload.image.name:
        result.append(_public("CI_JOB_IMAGE", payload.variables.expand(payload.image.name)))
    result.append(_public("CI_RUNNER_SHORT_TOKEN", short_token(runner_token)))
    for entry in environment:
        key, sep, value = entry.partition("=")
        if sep and key:
            result.append(_public(key, value))
    result.extend(
        [
            _public("CI_BUILDS_DIR", builds_dir),
            _public("CI_PROJECT_DIR", project_dir),
            _public("CI_CONCURRENT_ID", str(concurrent_id)),
            _public("CI_CONCURRENT_PROJECT_ID", str(concurrent_project_id)),
            _public("CI_SERVER", "yes"),
            _public("CI_JOB_STATUS", "running"),
            _public("CI_JOB_TIMEOUT", str(payload.runner_info.timeout)),
        ]
    )
    for key, pem in (
        ("CI_SERVER_TLS_CA_FILE", tls_ca_file),
        ("CI_SERVER_TLS_CERT_FILE", tls_cert_file),
        ("CI_SERVER_TLS_KEY_FILE", tls_key_file),
    ):
        if pem:
            result.append(Variable(key, pem, public=True, file=True))
    # Feature flags come only from step 1 (resolved there), never raw from the payload.
    result.extend(v for v in payload.variables if not v.key.startswith("FF_"))
    result.append(_public("CI_SHARED_ENVIRONMENT" if shared else "CI_DISPOSABLE_ENVIRONMENT", "true"))
    result.extend(
        [
            _public("CI_RUNNER_VERSION", COMPATIBLE_GITLAB_RUNNER_VERSION),
            _public("CI_RUNNER_REVISION", REVISION),
            _public("CI_RUNNER_EXECUTABLE_ARCH", f"{go_platform()}/{go_arch()}"),
            _public("RUNNER_TEMP_PROJECT_DIR", tmp_dir),
        ]
    )
    return result
