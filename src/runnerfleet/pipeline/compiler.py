"""`compile()`: the jobs GitLab would create for a .gitlab-ci.yml and each one's runner payload."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.pipeline.entries import load_pipeline
from runnerfleet.pipeline.errors import PipelineError
from runnerfleet.pipeline.model import JobSpec, Need, Pipeline, Rule, Variable
from runnerfleet.pipeline.rules import Context, first_match, only_except_allows
from runnerfleet.pipeline.variables import as_mapping, expand, predefined

DEFAULT_TIMEOUT = 3600

# Ci::JobArtifact DEFAULT_FILE_NAMES and FILE_FORMAT_ADAPTERS for the report types runners upload.
_REPORTS: dict[str, tuple[str, str]] = {
    "junit": ("junit.xml", "gzip"), "dotenv": (".env", "gzip"), "metrics": ("metrics.txt", "gzip"),
    "cobertura": ("cobertura-coverage.xml", "gzip"), "jacoco": ("jacoco.xml", "gzip"),
    "cyclonedx": ("gl-sbom.cdx.json", "gzip"), "annotations": ("gl-annotations.json", "gzip"),
    "terraform": ("tfplan.json", "raw"), "requirements": ("requirements.json", "raw"),
    "codequality": ("gl-code-quality-report.json", "raw"), "sast": ("gl-sast-report.json", "raw"),
    "secret_detection": ("gl-secret-detection-report.json", "raw"),
    "dependency_scanning": ("gl-dependency-scanning-report.json", "raw"),
    "container_scanning": ("gl-container-scanning-report.json", "raw"),
    "dast": ("gl-dast-report.json", "raw"), "accessibility": ("gl-accessibility.json", "raw"),
    "browser_performance": ("browser-performance.json", "raw"),
    "load_performance": ("load-performance.json", "raw"), "lsif": ("lsif.json", "zip"),
}


@dataclass
class CompiledJob:
    """One job GitLab would create, with its runner payload fields."""

    name: str
    stage: str
    when: str
    allow_failure: bool
    needs: list[Need] | None
    dependencies: list[str]
    payload: dict[str, Any]
    start_in: str | None = None
    retry: dict[str, Any] | None = None
    interruptible: bool | None = None
    resource_group: str | None = None
    allow_failure_exit_codes: list[int] = field(default_factory=list)


@dataclass
class CompiledPipeline:
    """The created jobs in stage order, or none with `filtered_out` when workflow:rules said no."""

    stages: list[str]
    jobs: list[CompiledJob]
    name: str | None = None
    filtered_out: bool = False

    def job(self, name: str) -> CompiledJob | None:
        return next((j for j in self.jobs if j.name == name), None)


def _var_items(variables: Mapping[str, Variable]) -> list[dict[str, Any]]:
    out = []
    for key, var in variables.items():
        item: dict[str, Any] = {"key": key, "value": var.value, "public": True, "masked": False}
        if var.raw:
            item["raw"] = True
        out.append(item)
    return out


def _plain(values: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v, "public": True, "masked": False} for k, v in values.items()]


def _image_payload(image: dict[str, Any]) -> dict[str, Any]:
    entrypoint = image.get("entrypoint")
    policy = image.get("pull_policy")
    out: dict[str, Any] = {"name": image["name"],
                           "entrypoint": entrypoint if isinstance(entrypoint, list) else None,
                           "ports": image.get("ports") or [],
                           "pull_policy": [policy] if isinstance(policy, str) else policy}
    opts = {k: image[k] for k in ("docker", "kubernetes") if k in image}
    if opts:
        out["executor_opts"] = opts
    return out


def _service_payload(service: dict[str, Any]) -> dict[str, Any]:
    out = _image_payload(service)
    out["alias"] = service.get("alias")
    command = service.get("command")
    out["command"] = command if isinstance(command, list) else None
    variables = service.get("variables") or {}
    out["variables"] = _plain({str(k): str(v) for k, v in variables.items()})
    return out


def _artifacts_payload(artifacts: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if not artifacts:
        return None
    out: list[dict[str, Any]] = []
    expire_in = artifacts.get("expire_in")
    if artifacts.get("paths") or artifacts.get("untracked"):
        entry: dict[str, Any] = {"name": artifacts.get("name"),
                                 "untracked": bool(artifacts.get("untracked", False)),
                                 "paths": artifacts.get("paths", []),
                                 "when": artifacts.get("when") or "on_success",
                                 "expire_in": expire_in, "artifact_type": "archive",
                                 "artifact_format": "zip"}
        if artifacts.get("exclude"):
            entry["exclude"] = artifacts["exclude"]
        out.append(entry)
    for kind, paths in (artifacts.get("reports") or {}).items():
        if kind == "coverage_report" and isinstance(paths, dict):
            kind, paths = str(paths.get("coverage_format")), [paths.get("path")]
        name, fmt = _REPORTS.get(kind, (f"gl-{kind}-report.json", "raw"))
        out.append({"name": name, "paths": paths if isinstance(paths, list) else [paths],
                    "when": "always", "expire_in": expire_in, "artifact_type": kind,
                    "artifact_format": fmt})
    return out or None


def _cache_payload(caches: list[dict[str, Any]], variables: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for cache in caches:
        key = cache.get("key", "default")
        if isinstance(key, dict):
            # GitLab keys on the last commits of `files`; without the repository history here the
            # key is the prefix (or "default"), as GitLab does when no file exists.
            prefix = key.get("prefix")
            key = f"{prefix}-default" if prefix else "default"
        out.append({"key": str(key), "untracked": bool(cache.get("untracked", False)),
                    "policy": cache.get("policy", "pull-push"), "paths": cache.get("paths", []),
                    "when": cache.get("when") or "on_success",
                    "fallback_keys": cache.get("fallback_keys", [])})
    del variables
    return out


def _instances(job: JobSpec) -> list[tuple[str, dict[str, str]]]:
    """`parallel: N` → `job 1/N`…; `parallel:matrix` → `job: [a, b]` with the row's variables."""
    if job.parallel and job.parallel > 1:
        return [(f"{job.name} {i}/{job.parallel}",
                 {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(job.parallel)})
                for i in range(1, job.parallel + 1)]
    if job.matrix:
        rows: list[dict[str, str]] = []
        for entry in job.matrix:
            keys = list(entry)
            for combo in itertools.product(*(entry[k] for k in keys)):
                rows.append(dict(zip(keys, combo, strict=True)))
        total = len(rows)
        return [(f"{job.name}: [{', '.join(row.values())}]",
                 {**row, "CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(total)})
                for i, row in enumerate(rows, 1)]
    return [(job.name, {})]


def _global_vars(pipeline: Pipeline, job: JobSpec) -> dict[str, Variable]:
    inherit = job.inherit_variables
    if inherit is True:
        return dict(pipeline.variables)
    if inherit is False:
        return {}
    return {k: v for k, v in pipeline.variables.items() if k in inherit}


def compile(
    config: str | Path,
    *,
    variables: Mapping[str, str] | None = None,
    ref: str = "main",
    sha: str = "0" * 40,
    source: str = "push",
    tag: bool = False,
    default_branch: str = "main",
    before_sha: str = "0" * 40,
    files: Iterable[str] | None = None,
    changed_files: Iterable[str] | None = None,
    root: Path | None = None,
) -> CompiledPipeline:
    """Compile `config` (YAML text, or the path of a .gitlab-ci.yml whose folder is the project
    root) into the jobs GitLab would create for this ref and pipeline source.

    `files`: the repository's files (for `exists`); `changed_files`: the push's changed files (for
    `changes`; None = no diff, where GitLab treats `changes` as true). `variables` are pipeline
    variables: visible to rules and above every YAML variable.
    """
    if isinstance(config, Path):
        root = root or config.parent
        text = config.read_text(encoding="utf-8")
    else:
        text = config
    pipeline = load_pipeline(text, root=root)
    user = dict(variables or {})
    pre = predefined(ref=ref, sha=sha, source=source, tag=tag, default_branch=default_branch,
                     before_sha=before_sha)
    ctx_files = frozenset(files) if files is not None else None
    if ctx_files is None and root is not None:
        ctx_files = frozenset(str(p.relative_to(root)) for p in root.rglob("*")
                              if p.is_file() and ".git" not in p.parts)
    changed = frozenset(changed_files) if changed_files is not None else None

    def context(values: Mapping[str, str]) -> Context:
        return Context(values, ref, tag, source, ctx_files, changed)

    global_vars = dict(pipeline.variables)
    if pipeline.workflow_rules is not None:
        base = {**pre, **as_mapping(_var_items(global_vars)), **user}
        rule = first_match(pipeline.workflow_rules, context(base))
        if rule is None or rule.when == "never":
            return CompiledPipeline(pipeline.stages, [], pipeline.workflow_name, filtered_out=True)
        global_vars.update(rule.variables)
    pipeline.variables = global_vars

    created: list[tuple[JobSpec, Rule | None]] = []
    for job in pipeline.jobs:
        job_vars = {**_global_vars(pipeline, job), **job.variables}
        seen = {**pre, "CI_JOB_NAME": job.name, "CI_JOB_STAGE": job.stage,
                **as_mapping(_var_items(job_vars)), **user}
        if job.rules is not None:
            rule = first_match(job.rules, context(seen))
            if rule is None or rule.when == "never":
                continue
            created.append((job, rule))
        elif only_except_allows(job.only, job.except_, context(seen)):
            created.append((job, None))

    names = {j.name for j, _ in created}
    instances = {j.name: [n for n, _ in _instances(j)] for j, _ in created}
    out: list[CompiledJob] = []
    for job, rule in sorted(created, key=lambda c: pipeline.stages.index(c[0].stage)):
        when = (rule.when if rule and rule.when else None) or job.when
        if rule is not None and rule.allow_failure is not None:
            allow_failure = rule.allow_failure
        elif job.allow_failure is not None:
            allow_failure = job.allow_failure
        else:
            # A job-level `when: manual` may fail by default; a rules `when: manual` may not.
            allow_failure = when == "manual" and not (rule and rule.when == "manual")
        needs = list(rule.needs) if rule and rule.needs is not None else job.needs
        kept_needs: list[Need] | None = None
        if needs is not None:
            kept_needs = []
            for need in needs:
                if need.job not in names:
                    if need.optional:
                        continue
                    raise PipelineError(
                        f"'{job.name}' job needs '{need.job}' job, but '{need.job}' does not exist "
                        "in the pipeline. This might be because of the only, except, or rules "
                        "keywords. To need a job that sometimes does not exist in the pipeline, use "
                        "needs:optional.")
                kept_needs.extend(Need(n, need.artifacts, need.optional) for n in instances[need.job])
        if job.dependencies is not None:
            dependencies = [n for d in job.dependencies if d in instances for n in instances[d]]
        elif kept_needs is not None:
            dependencies = [n.job for n in kept_needs if n.artifacts]
        else:
            mine = pipeline.stages.index(job.stage)
            dependencies = [n for other, _ in created
                            if pipeline.stages.index(other.stage) < mine
                            for n in instances[other.name]]
        timeout = job.timeout or DEFAULT_TIMEOUT
        for name, extra in _instances(job):
            items = [*_plain(pre), *_plain({"CI_JOB_NAME": name, "CI_JOB_STAGE": job.stage}),
                     *_var_items(_global_vars(pipeline, job)), *_var_items(job.variables),
                     *_plain(extra), *(_var_items(rule.variables) if rule else []), *_plain(user)]
            items = expand(items)
            steps = [{"name": "script", "script": [*(job.before_script or []), *job.script],
                      "timeout": timeout, "when": "on_success", "allow_failure": False}]
            if job.after_script:
                steps.append({"name": "after_script", "script": job.after_script,
                              "timeout": timeout, "when": "always", "allow_failure": True})
            payload = {
                "name": name, "stage": job.stage, "tags": job.tags, "timeout": timeout,
                "variables": items, "steps": steps,
                "image": _image_payload(job.image) if job.image else None,
                "services": [_service_payload(s) for s in job.services],
                "artifacts": _artifacts_payload(job.artifacts),
                "cache": _cache_payload(job.cache, as_mapping(items)),
                "dependencies": dependencies,
            }
            out.append(CompiledJob(
                name=name, stage=job.stage, when=when, allow_failure=allow_failure,
                needs=kept_needs, dependencies=dependencies, payload=payload,
                start_in=(rule.start_in if rule and rule.start_in else job.start_in)
                if when == "delayed" else None,
                retry=job.retry,
                interruptible=rule.interruptible if rule and rule.interruptible is not None
                else job.interruptible,
                resource_group=job.resource_group,
                allow_failure_exit_codes=job.allow_failure_exit_codes))
    return CompiledPipeline(pipeline.stages, out, pipeline.workflow_name)
