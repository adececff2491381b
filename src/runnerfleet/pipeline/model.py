"""The validated pipeline: `Pipeline(stages, jobs)` of `JobSpec`s, one field per CI keyword."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runnerfleet.pipeline.expressions import Expression

DEFAULT_STAGES = ("build", "test", "deploy")
JOB_WHEN = ("on_success", "on_failure", "always", "manual", "delayed")
RULE_WHEN = ("on_success", "on_failure", "always", "never", "manual", "delayed")


@dataclass(frozen=True)
class Variable:
    """A `variables:` entry; `expand: false` makes it raw (the runner does not expand `$...`)."""

    value: str
    description: str | None = None
    raw: bool = False


@dataclass(frozen=True)
class Need:
    """One `needs:` item."""

    job: str
    artifacts: bool = True
    optional: bool = False


@dataclass(frozen=True)
class Changes:
    """`rules:changes` / `only:changes`: globs, compared with `compare_to` when given."""

    paths: tuple[str, ...]
    compare_to: str | None = None


@dataclass(frozen=True)
class Rule:
    """One `rules:` item: all given clauses must hold for the rule to match."""

    if_: Expression | None = None
    changes: Changes | None = None
    exists: tuple[str, ...] | None = None
    when: str | None = None
    allow_failure: bool | None = None
    variables: dict[str, Variable] = field(default_factory=dict)
    start_in: str | None = None
    needs: tuple[Need, ...] | None = None
    interruptible: bool | None = None


@dataclass(frozen=True)
class Policy:
    """`only:`/`except:` (refs, variables expressions, changes)."""

    refs: tuple[str, ...] | None = None
    variables: tuple[Expression, ...] | None = None
    changes: Changes | None = None


@dataclass
class JobSpec:
    """A job after `extends`, `default:` inheritance and validation (before rules are evaluated)."""

    name: str
    stage: str = "test"
    script: list[str] = field(default_factory=list)
    before_script: list[str] | None = None
    after_script: list[str] | None = None
    image: dict[str, Any] | None = None
    services: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Variable] = field(default_factory=dict)
    artifacts: dict[str, Any] | None = None
    cache: list[dict[str, Any]] = field(default_factory=list)
    dependencies: list[str] | None = None
    needs: list[Need] | None = None
    rules: list[Rule] | None = None
    only: Policy | None = None
    except_: Policy | None = None
    when: str = "on_success"
    start_in: str | None = None
    allow_failure: bool | None = None
    allow_failure_exit_codes: list[int] = field(default_factory=list)
    retry: dict[str, Any] | None = None
    timeout: int | None = None
    parallel: int | None = None
    matrix: list[dict[str, list[str]]] | None = None
    tags: list[str] = field(default_factory=list)
    interruptible: bool | None = None
    resource_group: str | None = None
    environment: Any = None
    coverage: str | None = None
    inherit_variables: bool | list[str] = True


@dataclass
class Pipeline:
    """Stages in order (with .pre and .post) and every visible job."""

    stages: list[str]
    jobs: list[JobSpec]
    variables: dict[str, Variable] = field(default_factory=dict)
    workflow_rules: list[Rule] | None = None
    workflow_name: str | None = None

    def job(self, name: str) -> JobSpec | None:
        return next((j for j in self.jobs if j.name == name), None)
