"""BuildInfo: everything a stage script needs to know about the job and the runner."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from runnerfleet.config import RunnerConfig
from runnerfleet.job.payload import JobPayload
from runnerfleet.job.variables import JobVariables
from runnerfleet.shells.layout import tmp_dir as default_tmp_dir

GIT_STRATEGIES = ("fetch", "clone", "none", "empty")


@dataclass
class BuildInfo:
    """Inputs of script generation.

    `variables` is the complete list in precedence order (see `predefined_variables`), not yet
    expanded. `project_dir` and `tmp_dir` must be absolute: scripts `cd` around and git needs
    absolute include paths. `trace_sections` defaults to what GitLab announced in the payload.

    Cache and artifact stages also need `cache_dir` (the job's local cache dir,
    `<cache_dir>/<namespace>/<project>`; empty disables the cache with gitlab-runner's notice),
    `runner` (its `url`, `[runners.cache]` and `[runners.artifact]`; without it the artifact
    URL falls back to CI_SERVER_URL) and `runner_command`, the helper the scripts call where
    the job runs: None means this runnerfleet's own executable (shell executor), "" means the
    executor has none ("... is not supported by this executor.").
    """

    payload: JobPayload
    project_dir: str
    builds_dir: str
    variables: JobVariables
    tmp_dir: str = ""
    shared: bool = True
    pre_get_sources_script: str = ""
    post_get_sources_script: str = ""
    pre_build_script: str = ""
    post_build_script: str = ""
    clone_url: str = ""
    feature_flags: Mapping[str, bool] = field(default_factory=dict)
    trace_sections: bool | None = None
    debug_trace_disabled: bool = False
    job_status: str = "running"
    cache_dir: str = ""
    runner: RunnerConfig | None = None
    runner_command: str | None = None
    # prepare_script: "Running on $(hostname) via <runner_host>..." when set (docker, ssh,
    # virtualbox: the scripts run elsewhere), "Running on $(hostname)..." otherwise.
    runner_host: str = ""
    # The scripts run on this host as the runner's user: `$(hostname)` is known without a fork.
    local_hostname: str = ""
    # The script is run by exactly `shell` (no fallback to sh): bash needs no pipefail probe.
    exact_shell: bool = False
    _expanded: tuple[JobVariables, int, JobVariables] | None = field(default=None, init=False, repr=False,
                                                              compare=False)

    def __post_init__(self) -> None:
        if not self.tmp_dir:
            self.tmp_dir = default_tmp_dir(self.project_dir)
        for name in ("project_dir", "tmp_dir"):
            if not posixpath.isabs(getattr(self, name)):
                raise ValueError(f"BuildInfo.{name} must be an absolute path, got {getattr(self, name)!r}")
        if self.trace_sections is None:
            self.trace_sections = self.payload.features.trace_sections

    def expanded(self) -> JobVariables:
        """`variables` expanded; computed once (again only if the list was replaced or grew).

        Shared between callers: copy it before changing it.
        """
        cached = self._expanded
        variables = self.variables
        if cached is None or cached[0] is not variables or cached[1] != len(variables):
            cached = self._expanded = (variables, len(variables), variables.expanded())
        return cached[2]

    def setting(self, key: str, default: str = "") -> str:
        """A job setting read from the (expanded) variables, `default` when unset or empty."""
        return self.expanded().get(key) or default

    def flag(self, key: str, default: bool) -> bool:
        """A boolean job setting; unparseable values fall back to `default`."""
        value = self.setting(key).strip().lower()
        if value in ("1", "t", "true", "yes", "on"):
            return True
        if value in ("0", "f", "false", "no", "off"):
            return False
        return default

    def git_strategy(self) -> tuple[str, str | None]:
        """GIT_STRATEGY and, for an invalid value, the warning to print."""
        default = "fetch" if self.payload.allow_git_fetch else "clone"
        value = self.setting("GIT_STRATEGY")
        if not value:
            return default, None
        if value not in GIT_STRATEGIES:
            return default, f"WARNING: invalid GIT_STRATEGY {value!r}, using {default!r}"
        return value, None
