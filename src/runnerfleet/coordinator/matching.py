"""Which runner may take which job: scope, tags, protected refs, and the features a job needs."""

from __future__ import annotations

from typing import Any

from runnerfleet.coordinator.job_store import Job, Project
from runnerfleet.coordinator.store import Runner

_SCRIPT_STEPS = ("script", "after_script")


def serves_project(runner: Runner, project: Project) -> bool:
    """Instance runners serve every project; group runners their groups' (and subgroups');
    project runners the projects they are assigned to."""
    if runner.runner_type == "instance_type":
        return True
    if runner.runner_type == "group_type":
        return any(g in runner.group_ids for g in project.group_ids)
    return project.id in runner.project_ids


def matches(runner: Runner, job: Job, project: Project) -> bool:
    """`Ci::Runner#matches_build?` plus scope; pausing is checked by the caller."""
    if not serves_project(runner, project):
        return False
    if job.tag_list:
        if not set(job.tag_list) <= set(runner.tag_list):
            return False
    elif not runner.run_untagged:
        return False
    return not (runner.access_level == "ref_protected" and not job.protected)


def required_features(spec: dict[str, Any]) -> list[str]:
    """Runner features the job cannot run without (`Ci::Build::RUNNER_FEATURES`)."""
    needed: list[str] = list(spec.get("required_features") or [])
    artifacts = spec.get("artifacts") or []
    if any(a.get("artifact_type", "archive") != "archive" for a in artifacts):
        needed.append("upload_multiple_artifacts")
    if any(a.get("exclude") for a in artifacts):
        needed.append("artifacts_exclude")
    if any(s.get("name") not in _SCRIPT_STEPS for s in spec.get("steps") or []):
        needed.append("multi_build_steps")
    if any(c.get("fallback_keys") for c in spec.get("cache") or []):
        needed.append("fallback_cache_keys")
    if spec.get("allow_failure_exit_codes"):
        needed.append("return_exit_code")
    if spec.get("secrets"):
        needed.append("vault_secrets")
    return list(dict.fromkeys(needed))


def unsupported(spec: dict[str, Any], features: dict[str, Any]) -> list[str]:
    """Required features the runner did not advertise as true."""
    return [f for f in required_features(spec) if features.get(f) is not True]
