"""gitlab-runner's feature flags, their defaults, and how a job resolves them (engine spec §5.6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runnerfleet.job import JobVariables

# (name, default) in gitlab-runner 19.4's order (helpers/featureflags/flags.go).
FEATURE_FLAG_DEFAULTS: tuple[tuple[str, bool], ...] = (
    ("FF_TEST_FEATURE", False),
    ("FF_NETWORK_PER_BUILD", False),
    ("FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY", False),
    ("FF_USE_DIRECT_DOWNLOAD", True),
    ("FF_USE_FASTZIP", True),
    ("FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR", False),
    ("FF_ENABLE_BASH_EXIT_CODE_CHECK", False),
    ("FF_USE_WINDOWS_LEGACY_PROCESS_STRATEGY", False),
    ("FF_USE_LEGACY_BASH_EVAL", False),
    ("FF_USE_POWERSHELL_PATH_RESOLVER", False),
    ("FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL", False),
    ("FF_SCRIPT_SECTIONS", False),
    ("FF_ENABLE_JOB_CLEANUP", False),
    ("FF_KUBERNETES_HONOR_ENTRYPOINT", False),
    ("FF_POSIXLY_CORRECT_ESCAPES", False),
    ("FF_RESOLVE_FULL_TLS_CHAIN", False),
    ("FF_DISABLE_POWERSHELL_STDIN", False),
    ("FF_USE_POD_ACTIVE_DEADLINE_SECONDS", True),
    ("FF_USE_ADVANCED_POD_SPEC_CONFIGURATION", False),
    ("FF_SECRET_RESOLVING_FAILS_IF_MISSING", True),
    ("FF_PRINT_POD_EVENTS", False),
    ("FF_USE_GIT_BUNDLE_URIS", True),
    ("FF_USE_GIT_NATIVE_CLONE", False),
    ("FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR", False),
    ("FF_USE_INIT_WITH_DOCKER_EXECUTOR", False),
    ("FF_LOG_IMAGES_CONFIGURED_FOR_JOB", False),
    ("FF_USE_DOCKER_AUTOSCALER_DIAL_STDIO", True),
    ("FF_CLEAN_UP_FAILED_CACHE_EXTRACT", False),
    ("FF_USE_WINDOWS_JOB_OBJECT", False),
    ("FF_TIMESTAMPS", True),
    ("FF_DISABLE_AUTOMATIC_TOKEN_ROTATION", False),
    ("FF_USE_LEGACY_GCS_CACHE_ADAPTER", False),
    ("FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR", False),
    ("FF_USE_LEGACY_S3_CACHE_ADAPTER", False),
    ("FF_GIT_URLS_WITHOUT_TOKENS", False),
    ("FF_WAIT_FOR_POD_TO_BE_REACHABLE", False),
    ("FF_MASK_ALL_DEFAULT_TOKENS", True),
    ("FF_EXPORT_HIGH_CARDINALITY_METRICS", False),
    ("FF_USE_FLEETING_ACQUIRE_HEARTBEATS", False),
    ("FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY", True),
    ("FF_USE_ADAPTIVE_REQUEST_CONCURRENCY", True),
    ("FF_USE_GITALY_CORRELATION_ID", True),
    ("FF_USE_GIT_PROACTIVE_AUTH", False),
    ("FF_HASH_CACHE_KEYS", False),
    ("FF_ENABLE_JOB_INPUTS_INTERPOLATION", True),
    ("FF_USE_JOB_ROUTER", False),
    ("FF_SCRIPT_TO_STEP_MIGRATION", False),
    ("FF_USE_PARALLEL_CACHE_TRANSFER", False),
    ("FF_USE_PARALLEL_ARTIFACT_TRANSFER", False),
    ("FF_CONCRETE", False),
    ("FF_SUSPENDABLE_ENVIRONMENTS", False),
    ("FF_USE_NATIVE_CONTAINER_STOP", False),
)
DEFAULTS: dict[str, bool] = dict(FEATURE_FLAG_DEFAULTS)

_TRUE = frozenset(("1", "t", "T", "TRUE", "true", "True"))
_FALSE = frozenset(("0", "f", "F", "FALSE", "false", "False"))


def parse_go_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool: the exact spellings it accepts, None for anything else."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


@dataclass(frozen=True)
class ResolvedFlags:
    """Every known flag's value for one job, and the setting errors found on the way."""

    values: dict[str, bool]
    errors: list[str] = field(default_factory=list)

    def on(self, name: str) -> bool:
        return self.values.get(name, False)

    def differing(self) -> list[str]:
        """`FF_X:true` for every flag whose value differs from its default (the header line)."""
        return [f"{name}:{'true' if self.values[name] else 'false'}"
                for name, default in FEATURE_FLAG_DEFAULTS if self.values[name] != default]


def resolve_feature_flags(
    runner_flags: Mapping[str, bool],
    variables: JobVariables,
    overrides: Mapping[str, bool] | None = None,
) -> ResolvedFlags:
    """Resolve each flag: `[runners.feature_flags]` > `overrides` > variable (expanded) > default.

    `variables` are the job's expanded variables (runner `environment` entries included); a value
    Go's ParseBool rejects keeps the default and yields a warning line, as in gitlab-runner.
    Unknown `FF_*` names are ignored: gitlab-runner only resolves the flags it knows.
    """
    values: dict[str, bool] = {}
    errors: list[str] = []
    # One pass over the variables (the last of a name wins, as `find`) instead of one scan per
    # known flag: this runs twice per job with ~60 variables and ~30 flags.
    flag_variables = {v.key: v for v in variables if v.key.startswith("FF_")}
    for name, default in FEATURE_FLAG_DEFAULTS:
        if name in runner_flags:
            values[name] = bool(runner_flags[name])
            continue
        if overrides is not None and name in overrides:
            values[name] = bool(overrides[name])
            continue
        variable = flag_variables.get(name)
        if variable is None:
            values[name] = default
            continue
        parsed = parse_go_bool(variable.value)
        if parsed is None:
            errors.append(f"{name}: could not parse feature flag, expected bool, got {variable.value}")
            values[name] = default
        else:
            values[name] = parsed
    return ResolvedFlags(values, errors)
