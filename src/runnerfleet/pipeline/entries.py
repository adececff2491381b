"""Validate the merged configuration hash and build the `Pipeline`, with GitLab's lint wording.

Messages follow `Gitlab::Ci::Config::Entry::*` and `Gitlab::Config::Entry::Validators`: the
entry's location (`jobs:build:script`) then the problem (`config should be ...`).
"""

from __future__ import annotations

from typing import Any

from runnerfleet.pipeline.durations import parse_duration
from runnerfleet.pipeline.errors import PipelineError
from runnerfleet.pipeline.expressions import Expression, ExpressionError, parse_expression
from runnerfleet.pipeline.loader import RESERVED_KEYS, load_config
from runnerfleet.pipeline.model import (
    DEFAULT_STAGES,
    JOB_WHEN,
    RULE_WHEN,
    Changes,
    JobSpec,
    Need,
    Pipeline,
    Policy,
    Rule,
    Variable,
)

JOB_KEYS = (
    "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
    "dast_configuration", "dependencies", "environment", "except", "extends", "hooks", "id_tokens",
    "identity", "image", "inherit", "interruptible", "manual_confirmation", "needs", "only", "pages",
    "parallel", "release", "resource_group", "retry", "rules", "run", "script", "secrets",
    "services", "stage", "start_in", "tags", "timeout", "trigger", "variables", "when",
)
DEFAULT_KEYS = ("after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens",
                "image", "interruptible", "retry", "services", "tags", "timeout")
LEGACY_GLOBAL_KEYS = ("image", "services", "cache", "before_script", "after_script")
IMAGE_KEYS = ("name", "entrypoint", "ports", "docker", "kubernetes", "pull_policy")
SERVICE_KEYS = (*IMAGE_KEYS, "alias", "command", "variables")
ARTIFACTS_KEYS = ("name", "untracked", "paths", "reports", "when", "expire_in", "expose_as",
                  "exclude", "public", "access")
CACHE_KEYS = ("key", "untracked", "paths", "policy", "when", "fallback_keys", "unprotect")
RULE_KEYS = ("if", "changes", "exists", "when", "allow_failure", "variables", "start_in", "needs",
             "interruptible")
NEED_KEYS = ("job", "artifacts", "optional", "parallel", "pipeline", "project", "ref")
POLICY_KEYS = ("refs", "variables", "changes", "kubernetes")
CACHE_POLICIES = ("pull-push", "push", "pull")
ARTIFACT_WHEN = ("on_success", "on_failure", "always")
MAX_NESTING = 10


class Problems:
    """Collects lint lines; GitLab reports every entry problem, then the first logical one."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)


def _unknown(config: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    return [str(k) for k in config if k not in allowed]


def _flatten_script(value: Any, depth: int = 0) -> list[str] | None:
    """A string or nested array of strings (up to 10 levels) as one list of lines, else None."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or depth >= MAX_NESTING:
        return None
    out: list[str] = []
    for item in value:
        lines = _flatten_script(item, depth + 1)
        if lines is None:
            return None
        out.extend(lines)
    return out


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _string_or_strings(value: Any) -> list[str] | None:
    return [value] if isinstance(value, str) else _strings(value)


def _scalar(value: Any) -> str | None:
    """A variable value as GitLab stores it: strings and numbers only."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def parse_variables(value: Any, where: str, problems: Problems, *, allow_description: bool
                    ) -> dict[str, Variable]:
    if value is None:
        return {}
    bad = f"{where} config should be a hash of key value pairs, value can be a hash"
    if not isinstance(value, dict):
        problems.add(bad)
        return {}
    out: dict[str, Variable] = {}
    for key, raw in value.items():
        if isinstance(raw, dict):
            allowed = ("value", "description", "expand", "options") if allow_description \
                else ("value", "expand")
            unknown = _unknown(raw, allowed)
            if unknown:
                problems.add(f"{where}:{key} config uses invalid data keys: {', '.join(unknown)}")
                continue
            text = _scalar(raw.get("value", ""))
            if text is None or not isinstance(raw.get("expand", True), bool):
                problems.add(bad)
                continue
            description = raw.get("description")
            out[str(key)] = Variable(text, description if isinstance(description, str) else None,
                                     raw=raw.get("expand", True) is False)
        else:
            text = _scalar(raw)
            if text is None:
                problems.add(bad)
                continue
            out[str(key)] = Variable(text)
    return out


def _image(value: Any, where: str, problems: Problems, allowed: tuple[str, ...] = IMAGE_KEYS
           ) -> dict[str, Any] | None:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        problems.add(f"{where} config should be a hash or a string")
        return None
    unknown = _unknown(value, allowed)
    if unknown:
        problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}")
        return None
    if not isinstance(value.get("name"), str):
        problems.add(f"{where} config missing required keys: name")
        return None
    return dict(value)


def _services(value: Any, where: str, problems: Problems) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(f"{where} config should be a array")
        return []
    out = []
    for i, item in enumerate(value):
        service = _image(item, f"{where}:service", problems, SERVICE_KEYS) if isinstance(item, dict) \
            else _image(item, f"{where}:service", problems)
        if service is not None:
            out.append(service)
        del i
    return out


def _artifacts(value: Any, where: str, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        problems.add(f"{where} config should be a hash")
        return None
    unknown = _unknown(value, ARTIFACTS_KEYS)
    if unknown:
        problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}")
        return None
    ok = True
    if "name" in value and not isinstance(value["name"], str):
        problems.add(f"{where} name should be a string")
        ok = False
    for key in ("paths", "exclude"):
        if key in value and _strings(value[key]) is None:
            problems.add(f"{where} {key} should be an array of strings")
            ok = False
    if "untracked" in value and not isinstance(value["untracked"], bool):
        problems.add(f"{where} untracked should be a boolean value")
        ok = False
    if value.get("when") is not None and value["when"] not in ARTIFACT_WHEN:
        problems.add(f"{where} when should be one of: {', '.join(ARTIFACT_WHEN)}")
        ok = False
    if value.get("expire_in") is not None and value["expire_in"] != "never" and \
            parse_duration(value["expire_in"]) is None:
        problems.add(f"{where} expire in should be a duration")
        ok = False
    if "reports" in value and not isinstance(value["reports"], dict):
        problems.add(f"{where}:reports config should be a hash")
        ok = False
    return dict(value) if ok else None


def _one_cache(value: Any, where: str, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        problems.add(f"{where} config should be a hash")
        return None
    unknown = _unknown(value, CACHE_KEYS)
    if unknown:
        problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}")
        return None
    key = value.get("key", "default")
    if isinstance(key, dict):
        bad = _unknown(key, ("files", "prefix"))
        if bad:
            problems.add(f"{where}:key config contains unknown keys: {', '.join(bad)}")
            return None
        if _strings(key.get("files")) is None:
            problems.add(f"{where}:key:files config should be an array of strings")
            return None
    elif not isinstance(key, str | int) or isinstance(key, bool):
        problems.add(f"{where}:key config should be a hash, a string or a symbol")
        return None
    policy = value.get("policy", "pull-push")
    if not isinstance(policy, str) or (policy not in CACHE_POLICIES and "$" not in policy):
        problems.add(f"{where} policy should be a variable or one of: pull-push, push, pull")
        return None
    if value.get("when") is not None and value["when"] not in ARTIFACT_WHEN:
        problems.add(f"{where} when should be one of: {', '.join(ARTIFACT_WHEN)}")
        return None
    if "paths" in value and _strings(value["paths"]) is None:
        problems.add(f"{where}:paths config should be an array of strings")
        return None
    if "fallback_keys" in value and _strings(value["fallback_keys"]) is None:
        problems.add(f"{where} fallback keys should be an array of strings")
        return None
    return dict(value)


def _cache(value: Any, where: str, problems: Problems) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > 4:
        problems.add(f"{where} config no more than 4 caches can be created")
        return []
    return [c for c in (_one_cache(i, where, problems) for i in items) if c is not None]


def _changes(value: Any, where: str, problems: Problems) -> Changes | None:
    if isinstance(value, dict):
        unknown = _unknown(value, ("paths", "compare_to"))
        paths = _strings(value.get("paths"))
        if unknown or paths is None:
            problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}" if unknown
                         else f"{where}:paths config should be an array of strings")
            return None
        compare = value.get("compare_to")
        return Changes(tuple(paths), compare if isinstance(compare, str) else None)
    paths = _strings(value)
    if paths is None:
        problems.add(f"{where} config should be an array of strings or a hash")
        return None
    return Changes(tuple(paths))


def _needs(value: Any, where: str, problems: Problems) -> list[Need] | None:
    items = value if isinstance(value, list) else [value]
    out: list[Need] = []
    for item in items:
        if isinstance(item, str):
            out.append(Need(item))
        elif isinstance(item, dict) and isinstance(item.get("job"), str):
            unknown = _unknown(item, NEED_KEYS)
            if unknown:
                problems.add(f"{where}:need config contains unknown keys: {', '.join(unknown)}")
                return None
            out.append(Need(item["job"], item.get("artifacts", True) is not False,
                            item.get("optional", False) is True))
        elif isinstance(item, dict) and "pipeline" in item:
            continue  # cross-pipeline artifacts: nothing to order here
        else:
            problems.add(f"{where}:need config must be a string or a hash")
            return None
    return out


def _expression(text: Any, where: str, problems: Problems) -> Expression | None:
    try:
        return parse_expression(text)
    except ExpressionError:
        problems.add(f"{where} invalid expression syntax")
        return None


def parse_rules(value: Any, where: str, problems: Problems, *, workflow: bool = False
                ) -> list[Rule] | None:
    if not isinstance(value, list):
        problems.add(f"{where} config should be an array of hashes")
        return None
    out: list[Rule] = []
    allowed = ("if", "changes", "exists", "when", "variables") if workflow else RULE_KEYS
    for item in value:
        here = f"{where}:rule"
        if isinstance(item, list):
            problems.add(f"{here} config should be a hash")
            continue
        if not isinstance(item, dict):
            problems.add(f"{here} config should be a hash")
            continue
        unknown = _unknown(item, allowed)
        if unknown:
            problems.add(f"{here} config contains unknown keys: {', '.join(unknown)}")
            continue
        when = item.get("when")
        if when is not None and when not in (("always", "never") if workflow else RULE_WHEN):
            problems.add(f"{here} when unknown value: {when}")
            continue
        if_ = _expression(item["if"], here, problems) if "if" in item else None
        changes = _changes(item["changes"], f"{here}:changes", problems) if "changes" in item \
            else None
        exists = None
        if "exists" in item:
            raw_exists = item["exists"]
            if isinstance(raw_exists, dict):
                raw_exists = raw_exists.get("paths")
            exists_list = _string_or_strings(raw_exists)
            if exists_list is None:
                problems.add(f"{here} exists should be an array of strings")
                continue
            exists = tuple(exists_list)
        allow_failure = item.get("allow_failure")
        if allow_failure is not None and not isinstance(allow_failure, bool):
            problems.add(f"{here} allow_failure should be a boolean value")
            continue
        needs = _needs(item["needs"], f"{here}:needs", problems) if "needs" in item else None
        out.append(Rule(if_=if_, changes=changes, exists=exists, when=when,
                        allow_failure=allow_failure,
                        variables=parse_variables(item.get("variables"), f"{here}:variables",
                                                  problems, allow_description=False),
                        start_in=item.get("start_in"),
                        needs=tuple(needs) if needs is not None else None,
                        interruptible=item.get("interruptible")))
    return out


def _policy(value: Any, where: str, problems: Problems) -> Policy | None:
    refs = _string_or_strings(value)
    if refs is not None:
        return Policy(refs=tuple(refs))
    if not isinstance(value, dict):
        problems.add(f"{where} config should be an array of strings or regular expressions using re2 "
                     "syntax")
        return None
    unknown = _unknown(value, POLICY_KEYS)
    if unknown:
        problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}")
        return None
    policy_refs = _string_or_strings(value["refs"]) if "refs" in value else None
    expressions: list[Expression] = []
    for text in _string_or_strings(value.get("variables", [])) or []:
        parsed = _expression(text, f"{where}:variables", problems)
        if parsed is not None:
            expressions.append(parsed)
    changes = _changes(value["changes"], f"{where}:changes", problems) if "changes" in value else None
    return Policy(refs=tuple(policy_refs) if policy_refs is not None else None,
                  variables=tuple(expressions) if "variables" in value else None, changes=changes)


def _matrix(value: Any, where: str, problems: Problems) -> list[dict[str, list[str]]] | None:
    if not isinstance(value, list) or not value:
        problems.add(f"{where}:matrix config should be an array of hashes")
        return None
    out: list[dict[str, list[str]]] = []
    total = 0
    for item in value:
        if not isinstance(item, dict):
            problems.add(f"{where}:matrix config should be an array of hashes")
            return None
        row: dict[str, list[str]] = {}
        count = 1
        for key, raw in item.items():
            values = [raw] if not isinstance(raw, list) else raw
            texts = [_scalar(v) for v in values]
            if any(t is None for t in texts):
                problems.add(f"{where}:matrix:variables config should be an array of strings")
                return None
            row[str(key)] = [t for t in texts if t is not None]
            count *= len(row[str(key)])
        total += count
        out.append(row)
    if total > 200:
        problems.add(f"{where}:matrix config generates too many jobs (maximum is 200)")
        return None
    return out


def _job(name: str, config: dict[str, Any], default: dict[str, Any], problems: Problems) -> JobSpec:
    where = f"jobs:{name}"
    unknown = _unknown(config, JOB_KEYS)
    if unknown:
        problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}")
    inherit = config.get("inherit", {})
    inherit_default: bool | list[str] = True
    inherit_variables: bool | list[str] = True
    if isinstance(inherit, dict):
        inherit_default = inherit.get("default", True)
        inherit_variables = inherit.get("variables", True)
    # `default:` fills keys the job does not set; `inherit:default` may limit which.
    merged = dict(config)
    for key, value in default.items():
        wanted = inherit_default if isinstance(inherit_default, bool) else key in inherit_default
        if wanted and key not in merged:
            merged[key] = value
    job = JobSpec(name=name, inherit_variables=inherit_variables)
    for key in ("script", "before_script", "after_script"):
        if key in merged:
            lines = _flatten_script(merged[key])
            if lines is None:
                problems.add(f"{where}:{key} config should be a string or a nested array of strings "
                             f"up to {MAX_NESTING} levels deep")
            elif key == "script":
                job.script = lines
            else:
                setattr(job, key, lines)
    stage = merged.get("stage", "test")
    if isinstance(stage, str):
        job.stage = stage
    else:
        problems.add(f"{where}:stage config should be a string")
    if "image" in merged:
        job.image = _image(merged["image"], f"{where}:image", problems)
    job.services = _services(merged.get("services"), f"{where}:services", problems)
    job.variables = parse_variables(merged.get("variables"), f"{where}:variables", problems,
                                    allow_description=False)
    if merged.get("artifacts") is not None:
        job.artifacts = _artifacts(merged["artifacts"], f"{where}:artifacts", problems)
    job.cache = _cache(merged.get("cache"), f"{where}:cache", problems)
    if "dependencies" in merged:
        deps = _strings(merged["dependencies"])
        if deps is None:
            problems.add(f"{where} dependencies should be an array of strings")
        job.dependencies = deps
    if "needs" in merged:
        job.needs = _needs(merged["needs"], f"{where}:needs", problems)
    if "rules" in merged:
        if "only" in merged or "except" in merged:
            # Entry::Job: `validates :config, mutually_exclusive_keys: %i[rules only]` etc.
            problems.add(f"{where} config key may not be used with `rules`: "
                         + ", ".join(k for k in ("only", "except") if k in merged))
        job.rules = parse_rules(merged["rules"], f"{where}:rules", problems)
    if "only" in merged:
        job.only = _policy(merged["only"], f"{where}:only", problems)
    if "except" in merged:
        job.except_ = _policy(merged["except"], f"{where}:except", problems)
    when = merged.get("when", "on_success")
    if when not in JOB_WHEN:
        problems.add(f"{where} when should be one of: {', '.join(JOB_WHEN)}")
    else:
        job.when = when
    if when == "delayed":
        start_in = merged.get("start_in")
        seconds = parse_duration(start_in) if isinstance(start_in, str | int) else None
        if start_in is None:
            problems.add(f"{where} start in can't be blank")
        elif seconds is None or seconds > 7 * 86400:
            problems.add(f"{where} start in should be a duration up to 1 week" if seconds
                         else f"{where} start in should be a duration")
        job.start_in = str(start_in) if start_in is not None else None
    elif "start_in" in merged and not any(r.when == "delayed" for r in job.rules or []):
        problems.add(f"{where} start in must be blank")
    allow_failure = merged.get("allow_failure")
    if isinstance(allow_failure, bool):
        job.allow_failure = allow_failure
    elif isinstance(allow_failure, dict) and set(allow_failure) == {"exit_codes"}:
        codes = allow_failure["exit_codes"]
        codes = [codes] if isinstance(codes, int) else codes
        if isinstance(codes, list) and all(isinstance(c, int) and not isinstance(c, bool)
                                           for c in codes):
            job.allow_failure_exit_codes = list(codes)
        else:
            problems.add(f"{where}:allow_failure exit codes should be an array of integers or an "
                         "integer")
    elif allow_failure is not None:
        problems.add(f"{where} allow failure should be a hash or a boolean value")
    if "retry" in merged:
        job.retry = _retry(merged["retry"], f"{where}:retry", problems)
    if "timeout" in merged:
        seconds = parse_duration(merged["timeout"]) if isinstance(merged["timeout"], str | int) \
            else None
        if seconds is None:
            problems.add(f"{where}:timeout config should be a duration")
        job.timeout = seconds
    if "parallel" in merged:
        parallel = merged["parallel"]
        if isinstance(parallel, int) and not isinstance(parallel, bool):
            if not 1 <= parallel <= 200:
                problems.add(f"{where}:parallel config must be less than or equal to 200"
                             if parallel > 200 else
                             f"{where}:parallel config must be greater than or equal to 1")
            else:
                job.parallel = parallel
        elif isinstance(parallel, dict) and set(parallel) == {"matrix"}:
            job.matrix = _matrix(parallel["matrix"], f"{where}:parallel", problems)
        else:
            problems.add(f"{where}:parallel config should be an integer or a hash")
    if "tags" in merged:
        tags = _strings(merged["tags"])
        if tags is None:
            problems.add(f"{where}:tags config should be an array of strings")
        else:
            job.tags = tags
    if "interruptible" in merged:
        if isinstance(merged["interruptible"], bool):
            job.interruptible = merged["interruptible"]
        else:
            problems.add(f"{where}:interruptible config should be a boolean value")
    if "resource_group" in merged:
        if isinstance(merged["resource_group"], str):
            job.resource_group = merged["resource_group"]
        else:
            problems.add(f"{where} resource group should be a string")
    job.environment = merged.get("environment")
    coverage = merged.get("coverage")
    job.coverage = coverage if isinstance(coverage, str) else None
    return job


def _retry(value: Any, where: str, problems: Problems) -> dict[str, Any] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 2:
            problems.add(f"{where} config must be less than or equal to 2" if value > 2
                         else f"{where} config must be greater than or equal to 0")
            return None
        return {"max": value}
    if isinstance(value, dict):
        unknown = _unknown(value, ("max", "when", "exit_codes"))
        if unknown:
            problems.add(f"{where} config contains unknown keys: {', '.join(unknown)}")
            return None
        out = dict(value)
        if "when" in out and isinstance(out["when"], str):
            out["when"] = [out["when"]]
        if "exit_codes" in out and isinstance(out["exit_codes"], int):
            out["exit_codes"] = [out["exit_codes"]]
        return out
    problems.add(f"{where} config has to be either an integer or a hash")
    return None


def _stages(config: dict[str, Any], problems: Problems) -> list[str]:
    declared = config.get("stages", list(DEFAULT_STAGES))
    if _strings(declared) is None:
        problems.add("stages config should be an array of strings")
        declared = list(DEFAULT_STAGES)
    # `Config::EdgeStagesInjector`: .pre first and .post last, whatever the file says.
    middle = [s for s in declared if s not in (".pre", ".post")]
    return [".pre", *dict.fromkeys(middle), ".post"]


def build_pipeline(config: dict[str, Any]) -> Pipeline:
    """Validate `config` (a merged hash) into a Pipeline; PipelineError lists every problem."""
    problems = Problems()
    stages = _stages(config, problems)
    default = config.get("default", {})
    if not isinstance(default, dict):
        problems.add("default config should be a hash")
        default = {}
    unknown = _unknown(default, DEFAULT_KEYS)
    if unknown:
        problems.add(f"default config contains unknown keys: {', '.join(unknown)}")
    # Top-level image/services/cache/before_script/after_script are the old spelling of default.
    default = {**{k: config[k] for k in LEGACY_GLOBAL_KEYS if k in config}, **default}
    variables = parse_variables(config.get("variables"), "variables", problems, allow_description=True)
    workflow_rules = None
    workflow_name = None
    workflow = config.get("workflow")
    if workflow is not None:
        if not isinstance(workflow, dict):
            problems.add("workflow config should be a hash")
        else:
            bad = _unknown(workflow, ("rules", "name", "auto_cancel"))
            if bad:
                problems.add(f"workflow config contains unknown keys: {', '.join(bad)}")
            if "rules" in workflow:
                workflow_rules = parse_rules(workflow["rules"], "workflow:rules", problems,
                                             workflow=True)
            name = workflow.get("name")
            workflow_name = name if isinstance(name, str) else None
    jobs: list[JobSpec] = []
    visible = 0
    for name, value in config.items():
        if name in RESERVED_KEYS:
            continue
        if name.startswith("."):
            continue  # hidden job: a template only
        if not isinstance(value, dict) or not ({"script", "run", "trigger"} & value.keys()):
            problems.add(f"jobs {name} config should implement the script:, run:, or trigger: keyword")
            continue
        visible += 1
        if "trigger" in value:
            problems.add(f"jobs:{name} trigger: downstream pipelines are not supported by runnerfleet")
            continue
        jobs.append(_job(name, value, default, problems))
    if not visible and not any(not k.startswith(".") and k not in RESERVED_KEYS for k in config):
        problems.add("jobs config should contain at least one visible job")
    if problems.lines:
        raise PipelineError(problems.lines)
    pipeline = Pipeline(stages=stages, jobs=jobs, variables=variables, workflow_rules=workflow_rules,
                        workflow_name=workflow_name)
    _logical_checks(pipeline)
    return pipeline


def _logical_checks(pipeline: Pipeline) -> None:
    """`YamlProcessor#validate_job!`: stage, dependencies, needs (first failure), then cycles."""
    by_name = {j.name: j for j in pipeline.jobs}

    def index(name: str) -> int | None:
        job = by_name.get(name)
        return pipeline.stages.index(job.stage) if job and job.stage in pipeline.stages else None

    for job in pipeline.jobs:
        if job.stage not in pipeline.stages:
            raise PipelineError(f"{job.name} job: chosen stage {job.stage} does not exist; available "
                                f"stages are {', '.join(pipeline.stages)}")
        checks = [("dependency", d) for d in job.dependencies or []]
        checks += [("need", n.job) for n in job.needs or []]
        for kind, other in checks:
            if other not in by_name:
                raise PipelineError(f"{job.name} job: undefined {kind}: {other}")
            mine, theirs = index(job.name), index(other)
            if theirs is None or mine is None or theirs > mine:
                raise PipelineError(f"{job.name} job: {kind} {other} is not defined in current or "
                                    "prior stages")
    # `YamlProcessor::Dag.check_circular_dependencies!`
    graph = {j.name: [n.job for n in j.needs or []] for j in pipeline.jobs}
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for child in graph.get(node, []):
            if state.get(child) == 1:
                raise PipelineError("The pipeline has circular dependencies")
            if child not in state:
                visit(child)
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)


def load_pipeline(text: str, *, root: Any = None) -> Pipeline:
    """Load and validate `text` (includes read under `root`, a Path) into a Pipeline."""
    return build_pipeline(load_config(text, root=root))
