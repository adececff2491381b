"""The job payload GitLab sends in the 201 of `/jobs/request` (`Ci::BuildRunnerPresenter`)."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from typing import Any

from runnerfleet.coordinator.entities import iso_time
from runnerfleet.coordinator.job_store import Job, Project
from runnerfleet.coordinator.store import Runner
from runnerfleet.version import VERSION as _VERSION

# `Enums::Ci::CommitStatus.failure_reasons` keys, announced in `features.failure_reasons`.
FAILURE_REASONS = (
    "unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure",
    "runner_system_failure", "missing_dependency_failure", "runner_unsupported",
    "stale_schedule", "job_execution_timeout", "archived_failure", "unmet_prerequisites",
    "scheduler_failure", "data_integrity_failure", "forward_deployment_failure", "user_blocked",
    "project_deleted", "ci_quota_exceeded", "pipeline_loop_detected", "no_matching_runner",
    "trace_size_exceeded", "builds_disabled", "environment_creation_failure",
    "deployment_rejected", "failed_outdated_deployment_job", "protected_environment_failure",
    "insufficient_bridge_permissions", "downstream_bridge_project_not_found",
    "invalid_bridge_trigger", "upstream_bridge_project_not_found",
    "insufficient_upstream_permissions", "bridge_pipeline_is_child_pipeline",
    "downstream_pipeline_creation_failed", "secrets_provider_not_found",
    "reached_max_descendant_pipelines_depth", "ip_restriction_failure",
    "reached_max_pipeline_hierarchy_size", "reached_downstream_pipeline_trigger_rate_limit",
    "job_execution_server_timeout", "stuck_pending_with_matching_runners",
    "stuck_pending_no_matching_runners", "no_updates_running", "no_updates_canceling",
    "server_timeout_running", "server_timeout_canceling", "runner_configuration_error",
    "runner_external_dependency_failure", "runner_interrupted", "job_router_failure",
    "job_token_expired",
)
CI_USER = "gitlab-ci-token"
SERVER_NAME = "GitLab"
# The GitLab version the coordinator claims in CI_SERVER_VERSION.
SERVER_VERSION = "18.4.0"


def slug(value: str) -> str:
    """GitLab's `*_SLUG`: lowercase, non-alphanumerics → `-`, at most 63, no edge dashes."""
    return re.sub(r"[^a-z0-9]", "-", value.lower())[:63].strip("-")


def variable(key: str, value: str, *, public: bool = True, masked: bool = False,
             file: bool = False, raw: bool = False) -> dict[str, Any]:
    """`to_runner_variable`: `file`/`raw` only when true."""
    item: dict[str, Any] = {"key": key, "value": value, "public": public, "masked": masked}
    if file:
        item["file"] = True
    if raw:
        item["raw"] = True
    return item


def repo_url(external_url: str, project: Project, token: str) -> str:
    parts = urllib.parse.urlsplit(external_url)
    root = parts.path.rstrip("/")
    return f"{parts.scheme}://{CI_USER}:{token}@{parts.netloc}{root}/{project.full_path}.git"


def refspecs(job: Job, depth: int) -> list[str]:
    specs = [f"+refs/pipelines/{job.pipeline_id}:refs/pipelines/{job.pipeline_id}"]
    if depth > 0:
        if job.ref_type == "tag":
            specs.append(f"+refs/tags/{job.ref}:refs/tags/{job.ref}")
        else:
            specs.append(f"+refs/heads/{job.ref}:refs/remotes/origin/{job.ref}")
    else:
        specs += ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
    return specs


def git_depth(job: Job) -> int:
    """The job's GIT_DEPTH variable if set, else the project default (`git_depth`, 20)."""
    for item in job.spec.get("variables") or []:
        if item.get("key") == "GIT_DEPTH" and str(item.get("value", "")).isdigit():
            return int(item["value"])
    return int(job.spec.get("git_depth", 20))


def predefined_variables(job: Job, project: Project, runner: Runner,
                         external_url: str) -> list[dict[str, Any]]:
    server = urllib.parse.urlsplit(external_url)
    port = server.port or (443 if server.scheme == "https" else 80)
    host = server.hostname or "127.0.0.1"
    project_url = f"{external_url}/{project.full_path}"
    commit: dict[str, str] = job.spec.get("commit") or {}
    sha = job.sha or ""
    v = [
        variable("CI_PIPELINE_ID", str(job.pipeline_id)),
        variable("CI_PIPELINE_URL", f"{project_url}/-/pipelines/{job.pipeline_id}"),
        variable("CI_JOB_ID", str(job.id)),
        variable("CI_JOB_URL", f"{project_url}/-/jobs/{job.id}"),
        variable("CI_JOB_TOKEN", job.token, public=False, masked=True),
        variable("CI_JOB_STARTED_AT", iso_time(job.started_at or time.time()) or ""),
        variable("CI_REGISTRY_USER", CI_USER),
        variable("CI_REGISTRY_PASSWORD", job.token, public=False, masked=True),
        variable("CI_REPOSITORY_URL", repo_url(external_url, project, job.token), public=False),
        variable("CI_DEPENDENCY_PROXY_USER", CI_USER),
        variable("CI_DEPENDENCY_PROXY_PASSWORD", job.token, public=False, masked=True),
        variable("CI_JOB_NAME", job.name),
        variable("CI_JOB_NAME_SLUG", slug(job.name)),
        variable("CI_JOB_STAGE", job.stage),
        variable("CI_NODE_TOTAL", "1"),
        variable("CI", "true"),
        variable("GITLAB_CI", "true"),
        variable("CI_SERVER_URL", external_url),
        variable("CI_SERVER_HOST", host),
        variable("CI_SERVER_PORT", str(port)),
        variable("CI_SERVER_PROTOCOL", server.scheme),
        variable("CI_SERVER_SHELL_SSH_HOST", host),
        variable("CI_SERVER_SHELL_SSH_PORT", "22"),
        variable("CI_SERVER_NAME", SERVER_NAME),
        variable("CI_SERVER_VERSION", SERVER_VERSION),
        variable("CI_SERVER_VERSION_MAJOR", SERVER_VERSION.split(".")[0]),
        variable("CI_SERVER_VERSION_MINOR", SERVER_VERSION.split(".")[1]),
        variable("CI_SERVER_VERSION_PATCH", SERVER_VERSION.split(".")[2]),
        variable("CI_SERVER_REVISION", f"runnerfleet-{_VERSION}"),
        variable("GITLAB_FEATURES", ""),
        variable("CI_API_V4_URL", f"{external_url}/api/v4"),
        variable("CI_API_GRAPHQL_URL", f"{external_url}/api/graphql"),
        variable("CI_PROJECT_CONFIG_PATH", ".gitlab-ci.yml"),
        variable("CI_CONFIG_PATH", ".gitlab-ci.yml"),
        variable("CI_PROJECT_ID", str(project.id)),
        variable("CI_PROJECT_NAME", project.name),
        variable("CI_PROJECT_TITLE", project.name),
        variable("CI_PROJECT_DESCRIPTION", ""),
        variable("CI_PROJECT_PATH", project.full_path),
        variable("CI_PROJECT_PATH_SLUG", slug(project.full_path)),
        variable("CI_PROJECT_NAMESPACE", project.namespace),
        variable("CI_PROJECT_NAMESPACE_ID", str(project.group_id or "")),
        variable("CI_PROJECT_NAMESPACE_SLUG", slug(project.namespace)),
        variable("CI_PROJECT_ROOT_NAMESPACE", project.full_path.split("/")[0]),
        variable("CI_PROJECT_URL", project_url),
        variable("CI_PROJECT_VISIBILITY", "private"),
        variable("CI_PROJECT_REPOSITORY_LANGUAGES", ""),
        variable("CI_PROJECT_CLASSIFICATION_LABEL", ""),
        variable("CI_DEFAULT_BRANCH", "main"),
        variable("CI_DEFAULT_BRANCH_SLUG", "main"),
        variable("CI_PIPELINE_IID", str(job.pipeline_id)),
        variable("CI_PIPELINE_SOURCE", "push"),
        variable("CI_PIPELINE_CREATED_AT", iso_time(job.created_at) or ""),
        variable("CI_COMMIT_SHA", sha),
        variable("CI_COMMIT_SHORT_SHA", sha[:8]),
        variable("CI_COMMIT_BEFORE_SHA", job.before_sha),
        variable("CI_COMMIT_REF_NAME", job.ref),
        variable("CI_COMMIT_REF_SLUG", slug(job.ref)),
    ]
    if job.ref_type == "tag":
        v.append(variable("CI_COMMIT_TAG", job.ref))
        v.append(variable("CI_COMMIT_TAG_MESSAGE", ""))
    else:
        v.append(variable("CI_COMMIT_BRANCH", job.ref))
    v += [
        variable("CI_COMMIT_REF_PROTECTED", "true" if job.protected else "false"),
        variable("CI_COMMIT_MESSAGE", commit.get("message", "")),
        variable("CI_COMMIT_TITLE", commit.get("title", "")),
        variable("CI_COMMIT_DESCRIPTION", commit.get("description", "")),
        variable("CI_COMMIT_TIMESTAMP", commit.get("timestamp", "")),
        variable("CI_COMMIT_AUTHOR", commit.get("author", "")),
        variable("GITLAB_USER_ID", "1"),
        variable("GITLAB_USER_EMAIL", "admin@example.com"),
        variable("GITLAB_USER_LOGIN", "root"),
        variable("GITLAB_USER_NAME", "Administrator"),
        variable("CI_RUNNER_ID", str(runner.id)),
        variable("CI_RUNNER_DESCRIPTION", runner.description or ""),
        variable("CI_RUNNER_TAGS", json.dumps(runner.tag_list)),
    ]
    return v


def job_variables(job: Job) -> list[dict[str, Any]]:
    out = []
    for item in job.spec.get("variables") or []:
        out.append(variable(
            str(item["key"]), str(item.get("value", "")),
            public=bool(item.get("public", True)), masked=bool(item.get("masked", False)),
            file=bool(item.get("file", False)), raw=bool(item.get("raw", False)),
        ))
    return out


def _dependency(dep: Job, token: str, artifacts_file: dict[str, Any] | None) -> dict[str, Any]:
    """One `dependencies` entry; the token to download with is the running job's own."""
    entry: dict[str, Any] = {"id": dep.id, "name": dep.name, "token": token}
    if artifacts_file is not None:
        entry["artifacts_file"] = artifacts_file
    return entry


def build_payload(job: Job, project: Project, runner: Runner, external_url: str,
                  dependencies: list[Job], queue_size: int,
                  session_url: str | None = None,
                  artifacts_files: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The complete 201 body for `job` as assigned to `runner`.

    `artifacts_files` maps dependency job ids to their downloadable archive (`filename`, `size`);
    a dependency without one gets no `artifacts_file`, as GitLab's Dependency entity.
    """
    spec = job.spec
    depth = git_depth(job)
    timeout = min(job.timeout, runner.maximum_timeout) if runner.maximum_timeout else job.timeout
    features: dict[str, Any] = {
        "trace_sections": True,
        "token_mask_prefixes": [],
        "failure_reasons": list(FAILURE_REASONS),
    }
    features.update(spec.get("features") or {})
    payload: dict[str, Any] = {
        "id": job.id,
        "token": job.token,
        "allow_git_fetch": bool(spec.get("allow_git_fetch", True)),
        "job_info": {
            "id": job.id,
            "name": job.name,
            "stage": job.stage,
            "project_id": project.id,
            "project_name": project.name,
            "project_full_path": project.full_path,
            "namespace_id": project.group_id,
            "root_namespace_id": project.group_ids[-1] if project.group_ids else None,
            "organization_id": 1,
            "instance_id": "",
            "instance_uuid": "",
            "user_id": 1,
            "scoped_user_id": None,
            "time_in_queue_seconds": round(max(0.0, (job.started_at or time.time())
                                               - job.created_at), 3),
            "project_jobs_running_on_instance_runners_count":
                "0" if runner.runner_type == "instance_type" else "+Inf",
            "queue_size": queue_size,
            "queue_depth": 1,
        },
        "git_info": {
            "repo_url": repo_url(external_url, project, job.token),
            "repo_object_format": "sha1",
            "ref": job.ref,
            "sha": job.sha or "",
            "before_sha": job.before_sha,
            "ref_type": job.ref_type,
            "refspecs": refspecs(job, depth),
            "depth": depth,
            "protected": job.protected,
        },
        "runner_info": {"uuid": "", "timeout": timeout, "runner_session_url": session_url},
        "variables": predefined_variables(job, project, runner, external_url)
        + job_variables(job),
        "steps": spec.get("steps") or [],
        "hooks": spec.get("hooks") or [],
        "image": spec.get("image"),
        "services": spec.get("services") or [],
        "artifacts": spec.get("artifacts"),
        "cache": spec.get("cache") or [],
        "credentials": [],
        "features": features,
        "dependencies": [_dependency(d, job.token, (artifacts_files or {}).get(d.id))
                         for d in dependencies],
    }
    payload.update(spec.get("payload_overrides") or {})
    return payload
