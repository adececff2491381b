"""register/run-single flag specs follow gitlab-runner's long:/env: struct tags."""

from __future__ import annotations

import pytest

from runnerfleet.config import FlagSpec, runner_flag_specs


def _by_long() -> dict[str, FlagSpec]:
    return {spec.long: spec for spec in runner_flag_specs()}


@pytest.mark.parametrize(
    ("long", "env", "key_path", "kind"),
    [
        ("docker-image", "DOCKER_IMAGE", ("docker", "image"), "str"),
        ("docker-privileged", "DOCKER_PRIVILEGED", ("docker", "privileged"), "bool"),
        ("docker-volumes", "DOCKER_VOLUMES", ("docker", "volumes"), "list"),
        ("docker-pull-policy", "DOCKER_PULL_POLICY", ("docker", "pull_policy"), "list"),
        ("docker-tlsverify", "DOCKER_TLS_VERIFY", ("docker", "tls_verify"), "bool"),
        ("docker-memory", "DOCKER_MEMORY", ("docker", "memory"), "str"),
        ("docker-shm-size", "DOCKER_SHM_SIZE", ("docker", "shm_size"), "int"),
        ("docker-sysctls", "DOCKER_SYSCTLS", ("docker", "sysctls"), "map"),
        ("ssh-host", "SSH_HOST", ("ssh", "host"), "str"),
        ("ssh-port", "SSH_PORT", ("ssh", "port"), "str"),
        ("ssh-identity-file", "SSH_IDENTITY_FILE", ("ssh", "identity_file"), "str"),
        ("virtualbox-base-name", "VIRTUALBOX_BASE_NAME", ("virtualbox", "base_name"), "str"),
        ("builds-dir", "RUNNER_BUILDS_DIR", ("builds_dir",), "str"),
        ("tls-ca-file", "CI_SERVER_TLS_CA_FILE", ("tls-ca-file",), "str"),
        ("env", "RUNNER_ENV", ("environment",), "list"),
        ("limit", "RUNNER_LIMIT", ("limit",), "int"),
        ("feature-flags", "FEATURE_FLAGS", ("feature_flags",), "map"),
        ("prepare-timeout", "RUNNER_PREPARE_TIMEOUT", ("prepare_timeout",), "duration"),
        ("unhealthy-interval", None, ("unhealthy_interval",), "duration"),
        ("cache-s3-bucket-name", "CACHE_S3_BUCKET_NAME", ("cache", "s3", "BucketName"), "str"),
        ("cache-gcs-credentials-file", "GOOGLE_APPLICATION_CREDENTIALS",
         ("cache", "gcs", "CredentialsFile"), "str"),
        ("cache-shared", "CACHE_SHARED", ("cache", "Shared"), "bool"),
        ("custom_build_dir-enabled", "CUSTOM_BUILD_DIR_ENABLED", ("custom_build_dir", "enabled"),
         "bool"),
    ],
)
def test_flag_names_env_and_paths(long: str, env: str | None, key_path: tuple[str, ...],
                                  kind: str) -> None:
    spec = _by_long()[long]
    assert (spec.env, spec.key_path, spec.kind) == (env, key_path, kind)
    assert spec.help and spec.short is None


def test_flags_the_cli_defines_itself_are_not_generated() -> None:
    specs = _by_long()
    for own in ("name", "description", "url", "token", "executor", "id", "token-obtained-at"):
        assert own not in specs
    assert all(not spec.long.startswith("-") for spec in specs.values())
    assert len(specs) == len(runner_flag_specs())  # no duplicates
