"""Pipeline variables: the predefined CI_* set and GitLab's expansion of `$VAR` references."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)|%(\w+)%")


def ref_slug(ref: str) -> str:
    """CI_COMMIT_REF_SLUG: lowercased, non-alphanumerics to `-`, 63 bytes, no edge dashes."""
    return re.sub(r"[^a-z0-9]", "-", ref.lower())[:63].strip("-")


def predefined(*, ref: str, sha: str, source: str, tag: bool, default_branch: str,
               before_sha: str) -> dict[str, str]:
    out = {
        "CI": "true", "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": source,
        "CI_COMMIT_REF_NAME": ref, "CI_COMMIT_REF_SLUG": ref_slug(ref), "CI_COMMIT_SHA": sha,
        "CI_COMMIT_SHORT_SHA": sha[:8], "CI_COMMIT_BEFORE_SHA": before_sha,
        "CI_DEFAULT_BRANCH": default_branch,
    }
    out["CI_COMMIT_TAG" if tag else "CI_COMMIT_BRANCH"] = ref
    return out


def expand(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expand references between non-raw values (last definition wins; unknown left as written)."""
    values = {i["key"]: i for i in items}

    def resolve(text: str, seen: frozenset[str]) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group() == "$$":
                return "$$"
            name = match.group(1) or match.group(2) or match.group(3)
            item = values.get(name)
            if item is None or name in seen:
                return match.group()
            if item.get("raw"):
                return str(item["value"])
            return resolve(str(item["value"]), seen | {name})
        return _REF.sub(one, text)

    return [i if i.get("raw") else {**i, "value": resolve(str(i["value"]), frozenset({i["key"]}))}
            for i in items]


def as_mapping(items: list[dict[str, Any]]) -> Mapping[str, str]:
    return {i["key"]: str(i["value"]) for i in items}
