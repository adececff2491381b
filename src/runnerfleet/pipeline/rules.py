"""Whether a job (or the pipeline) is created: `rules:`, `only:`/`except:`, `workflow:rules`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runnerfleet.pipeline.expressions import compile_pattern
from runnerfleet.pipeline.model import Changes, Policy, Rule

_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass(frozen=True)
class Context:
    """What rules look at: variables, the ref, the repository's files and the changed files."""

    variables: Mapping[str, str]
    ref: str
    tag: bool
    source: str
    files: frozenset[str] | None
    changed: frozenset[str] | None


def _expand(text: str, variables: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), text)


def _glob(pattern: str, paths: Iterable[str]) -> bool:
    # Ruby File.fnmatch? with PATHNAME|DOTMATCH|EXTGLOB; `**/` spans directories.
    regex = _glob_regex(pattern.lstrip("/"))
    return any(regex.fullmatch(p) for p in paths)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "{":
            end = pattern.find("}", i)
            if end < 0:
                out, i = out + re.escape("{"), i + 1
            else:
                choices = pattern[i + 1:end].split(",")
                out, i = out + "(?:" + "|".join(re.escape(c) for c in choices) + ")", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def changes_match(changes: Changes, ctx: Context) -> bool:
    # GitLab: with no push diff to compare (new branch, web, schedule) changes are true.
    if ctx.changed is None:
        return True
    return any(_glob(_expand(p, ctx.variables), ctx.changed) for p in changes.paths)


def exists_match(patterns: Iterable[str], ctx: Context) -> bool:
    if ctx.files is None:
        return False
    return any(_glob(_expand(p, ctx.variables), ctx.files) for p in patterns)


def first_match(rules: list[Rule], ctx: Context) -> Rule | None:
    """The first rule whose clauses all hold (`Gitlab::Ci::Build::Rules#evaluate`)."""
    for rule in rules:
        if rule.if_ is not None and not rule.if_.evaluate(ctx.variables):
            continue
        if rule.changes is not None and not changes_match(rule.changes, ctx):
            continue
        if rule.exists is not None and not exists_match(rule.exists, ctx):
            continue
        return rule
    return None


# `only:`/`except:` refs keywords → pipeline sources (`Build::Policy::Refs`).
_SOURCES = {
    "api": ("api",), "external": ("external",), "pipelines": ("pipeline", "parent_pipeline"),
    "pushes": ("push",), "schedules": ("schedule",), "triggers": ("trigger",), "web": ("web",),
    "merge_requests": ("merge_request_event",), "chat": ("chat",),
    "external_pull_requests": ("external_pull_request_event",),
}


def _ref_matches(pattern: str, ctx: Context) -> bool:
    pattern = pattern.split("@", 1)[0] if not pattern.startswith("/") or "/@" in pattern else pattern
    if pattern == "branches":
        return not ctx.tag and ctx.source not in ("merge_request_event",)
    if pattern == "tags":
        return ctx.tag
    if pattern in _SOURCES:
        return ctx.source in _SOURCES[pattern]
    found = re.fullmatch(r"/(.+)/([ismU]*)", pattern)
    if found:
        return compile_pattern(found.group(1), found.group(2)).search(ctx.ref) is not None
    return pattern == ctx.ref


def _policy_matches(policy: Policy, ctx: Context, *, satisfy: str) -> bool:
    checks: list[bool] = []
    if policy.refs is not None:
        checks.append(any(_ref_matches(r, ctx) for r in policy.refs))
    if policy.variables is not None:
        checks.append(any(e.evaluate(ctx.variables) for e in policy.variables))
    if policy.changes is not None:
        checks.append(changes_match(policy.changes, ctx))
    if not checks:
        return satisfy == "only"
    return all(checks) if satisfy == "only" else any(checks)


DEFAULT_ONLY = Policy(refs=("branches", "tags"))


def only_except_allows(only: Policy | None, except_: Policy | None, ctx: Context) -> bool:
    """`only` (default: branches and tags) must all hold; any `except` clause excludes."""
    only = only if only is not None and only.refs is not None else \
        Policy(refs=DEFAULT_ONLY.refs, variables=only.variables if only else None,
               changes=only.changes if only else None)
    if not _policy_matches(only, ctx, satisfy="only"):
        return False
    return not (except_ is not None and _policy_matches(except_, ctx, satisfy="except"))
