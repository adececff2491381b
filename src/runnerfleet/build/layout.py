"""Where a job lives and what it sees: project dir (GIT_CLONE_PATH rules), variables, BuildInfo.

Engine spec §5.4 (directory layout) and §5.6 (variable order), after the executor has chosen the
builds and cache dirs.
"""

from __future__ import annotations

import posixpath
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from runnerfleet.build.settings import BuildSettings, go_quote
from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import ExecutorEnvironment
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.job import JobPayload, JobVariables
from runnerfleet.shells import BuildInfo, predefined_variables, project_dir, short_token, tmp_dir


@dataclass(frozen=True)
class JobLayout:
    """The job's directories and complete variable list (precedence order, not yet expanded)."""

    builds_dir: str
    cache_dir: str
    project_dir: str
    tmp_dir: str
    variables: JobVariables

    def masked_values(self) -> list[str]:
        """Values to hide in the log: masked variables after expansion, as gitlab-runner masks them."""
        return masked_values(self.variables)


def expanded_value(variables: JobVariables, key: str) -> str:
    """`variables.expanded().get(key)` without expanding every other variable."""
    variable = variables.find(key)
    if variable is None:
        return ""
    return variable.value if variable.raw else variables.expand(variable.value)


def masked_values(variables: JobVariables) -> list[str]:
    """The expanded values of the masked variables (only those are expanded)."""
    return [v.value if v.raw else variables.expand(v.value) for v in variables if v.masked]


def _read_pem(path: str) -> str:
    # Best effort: GitLab's TLS material is only passed on to jobs when the runner can read it.
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _variables(
    payload: JobPayload,
    runner: RunnerConfig,
    env: ExecutorEnvironment,
    *,
    project: str,
    concurrent_id: int,
    concurrent_project_id: int,
    feature_flags: Mapping[str, bool],
) -> JobVariables:
    cert, key = _read_pem(runner.tls_cert_file), _read_pem(runner.tls_key_file)
    return predefined_variables(
        payload,
        runner_token=runner.token,
        builds_dir=env.builds_dir,
        project_dir=project,
        tmp_dir=tmp_dir(project),
        concurrent_id=concurrent_id,
        concurrent_project_id=concurrent_project_id,
        shared=env.shared,
        feature_flags=feature_flags,
        environment=runner.job_environment,
        tls_ca_file=_read_pem(runner.tls_ca_file),
        tls_cert_file=cert if cert and key else "",
        tls_key_file=key if cert and key else "",
    )


def job_layout(
    payload: JobPayload,
    runner: RunnerConfig,
    env: ExecutorEnvironment,
    settings: BuildSettings,
    *,
    concurrent_id: int,
    concurrent_project_id: int,
    feature_flags: Mapping[str, bool],
) -> JobLayout:
    """Directories and variables of the job; BuildError (runner_configuration_error) when unusable."""
    config_error = FailureReason.RUNNER_CONFIGURATION_ERROR
    if not env.builds_dir:
        raise BuildError("the builds_dir is not configured", failure_reason=config_error)
    if not env.cache_dir:
        raise BuildError("the cache_dir is not configured", failure_reason=config_error)

    def variables_for(project: str) -> JobVariables:
        return _variables(payload, runner, env, project=project, concurrent_id=concurrent_id,
                          concurrent_project_id=concurrent_project_id, feature_flags=feature_flags)

    # GIT_CLONE_PATH may use $CI_BUILDS_DIR, so it is read from variables that already have it
    # (only when the job or the runner's `environment` sets it at all).
    declared = "GIT_CLONE_PATH" in payload.variables or any(
        entry.partition("=")[0] == "GIT_CLONE_PATH" for entry in runner.job_environment)
    clone_path = expanded_value(variables_for(env.builds_dir), "GIT_CLONE_PATH") if declared else ""
    if clone_path:
        if not env.custom_build_dir_enabled:
            raise BuildError("setting GIT_CLONE_PATH is not allowed, enable `custom_build_dir` feature",
                             failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
        if not posixpath.isabs(clone_path):
            # Go's filepath.Rel cannot relate a relative path to the absolute builds dir.
            raise BuildError(f"Rel: can't make {clone_path} relative to {env.builds_dir}",
                             failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
        rel = posixpath.relpath(posixpath.normpath(clone_path), posixpath.normpath(env.builds_dir))
        if rel.startswith(".."):
            raise BuildError(f"the GIT_CLONE_PATH={go_quote(clone_path)} has to be within "
                             f"{go_quote(env.builds_dir)}",
                             failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
        project = posixpath.normpath(clone_path)
    else:
        project = project_dir(env.builds_dir, short_token(runner.token), concurrent_project_id,
                              payload.git_info.repo_url, payload.job_info.project_id, env.shared,
                              settings.git_strategy)
    cache = posixpath.join(env.cache_dir, project_dir(
        "", "", 0, payload.git_info.repo_url, payload.job_info.project_id, False, settings.git_strategy))
    return JobLayout(builds_dir=env.builds_dir, cache_dir=cache, project_dir=project,
                     tmp_dir=tmp_dir(project), variables=variables_for(project))


def build_info(
    payload: JobPayload,
    runner: RunnerConfig,
    env: ExecutorEnvironment,
    layout: JobLayout,
    feature_flags: Mapping[str, bool],
) -> BuildInfo:
    """Script-generation inputs. Stage sections are written by the pipeline, not by the scripts."""
    return BuildInfo(
        payload=payload,
        project_dir=layout.project_dir,
        builds_dir=layout.builds_dir,
        variables=layout.variables,
        tmp_dir=layout.tmp_dir,
        shared=env.shared,
        pre_get_sources_script=runner.pre_get_sources_script,
        post_get_sources_script=runner.post_get_sources_script,
        pre_build_script=runner.pre_build_script,
        post_build_script=runner.post_build_script,
        clone_url=runner.clone_url,
        feature_flags=dict(feature_flags),
        trace_sections=False,
        debug_trace_disabled=runner.debug_trace_disabled,
        # Cache and artifact stages: the job's local cache dir and the runner's url/cache config.
        cache_dir=layout.cache_dir,
        runner=runner,
        runner_command=env.runner_command,
        runner_host=socket.gethostname() if env.names_runner_host else "",
        local_hostname=socket.gethostname() if env.in_process_stages else "",
        exact_shell=env.in_process_stages,
    )
