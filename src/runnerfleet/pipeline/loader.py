"""Load a .gitlab-ci.yml into one plain hash: `include: local`, then `extends`, then `!reference`.

The order is GitLab's (`Gitlab::Ci::Config#build_config`): included files are merged under the
main file, `extends` is expanded on the result, and `!reference` tags are resolved last, so a
reference may point at keys that arrived through an include or a parent.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from runnerfleet.pipeline.errors import PipelineError
from runnerfleet.pipeline.yamlload import Reference, parse_yaml

MAX_INCLUDE_DEPTH = 100  # GitLab: "Maximum of 100 nested includes are allowed!"
MAX_EXTENDS_NESTING = 10  # GitLab `Config::Extendable::Entry::MAX_NESTING_LEVELS`
MAX_REFERENCE_DEPTH = 10  # GitLab `Config::Yaml::Tags::Reference` nesting limit


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Rails `deep_merge`: hashes merge key by key, anything else (arrays too) is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _as_mapping(data: Any, name: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        # GitLab `Config::Yaml` raises this when the document is not a hash.
        raise PipelineError("Invalid configuration format" if name == "" else
                            f"Included file `{name}` does not have valid YAML syntax!")
    return {str(k): v for k, v in data.items()}


class _Includes:
    """Expands `include:` entries relative to the project root, refusing cycles."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def expand(self, config: dict[str, Any], chain: tuple[str, ...]) -> dict[str, Any]:
        raw = config.pop("include", None)
        if raw is None:
            return config
        merged: dict[str, Any] = {}
        for location in self._locations(raw):
            for rel in self._resolve(location):
                if rel in chain:
                    raise PipelineError(
                        f"Included file `{rel}` includes itself: " + " → ".join((*chain, rel)))
                if len(chain) > MAX_INCLUDE_DEPTH:
                    raise PipelineError(f"Maximum of {MAX_INCLUDE_DEPTH} nested includes are allowed!")
                merged = deep_merge(merged, self._load(rel, chain))
        # The including file wins over what it includes.
        return deep_merge(merged, config)

    def _locations(self, raw: Any) -> list[str]:
        items = raw if isinstance(raw, list) else [raw]
        out: list[str] = []
        for item in items:
            if isinstance(item, str):
                if "://" in item:
                    raise PipelineError(f"Include `{item}`: remote includes are not supported "
                                        "by runnerfleet; vendor the file and use include: local")
                out.append(item)
            elif isinstance(item, dict) and isinstance(item.get("local"), str):
                unknown = sorted(set(item) - {"local", "rules", "inputs"})
                if unknown:
                    raise PipelineError("include config contains unknown keys: " + ", ".join(unknown))
                out.append(item["local"])
            elif isinstance(item, dict) and item.keys() & {"remote", "template", "project", "component"}:
                kind = sorted(item.keys() & {"remote", "template", "project", "component"})[0]
                raise PipelineError(f"Include `{kind}: ...` is not supported by runnerfleet (only "
                                    "include: local); vendor the file into the project")
            else:
                # GitLab `Config::External::Mapper::Verifier`/`Matcher` wording.
                raise PipelineError(f"Include `{item}` needs to match exactly one accessor!")
        return out

    def _resolve(self, location: str) -> list[str]:
        rel = location.lstrip("/")
        if not rel.endswith((".yml", ".yaml")):
            raise PipelineError(f"Included file `{location}` does not have YAML extension!")
        if self.root is None:
            raise PipelineError(f"Local file `{location}` does not exist! (no project root: pass "
                                "a path, not text, to compile)")
        if any(ch in rel for ch in "*?["):
            found = sorted(os.path.relpath(p, self.root)
                           for p in glob.glob(str(self.root / rel), recursive=True))
            if not found:
                raise PipelineError(f"Included file `{location}` does not exist!")
            return found
        if not (self.root / rel).is_file():
            raise PipelineError(f"Local file `{rel}` does not exist!")
        return [rel]

    def _load(self, rel: str, chain: tuple[str, ...]) -> dict[str, Any]:
        assert self.root is not None
        text = (self.root / rel).read_text(encoding="utf-8")
        try:
            data = parse_yaml(text, rel)
        except PipelineError:
            raise PipelineError(f"Included file `{rel}` does not have valid YAML syntax!") from None
        return self.expand(_as_mapping(data, rel), (*chain, rel))


# Keys of the root that are never jobs (`Entry::Root` reserved keys).
RESERVED_KEYS = frozenset({
    "default", "include", "before_script", "image", "services", "after_script", "variables",
    "stages", "cache", "workflow", "spec",
})


def _expand_extends(config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    done: dict[str, dict[str, Any]] = {}

    def resolve(key: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if key in done:
            return done[key]
        entry = out[key]
        if not isinstance(entry, dict) or "extends" not in entry:
            return entry if isinstance(entry, dict) else {}
        parents = entry["extends"]
        if isinstance(parents, str):
            parents = [parents]
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise PipelineError(f"{key}: invalid base hash in `extends`")
        if len(stack) > MAX_EXTENDS_NESTING:
            raise PipelineError(f"{stack[0]}: nesting too deep in `extends`")
        merged: dict[str, Any] = {}
        for parent in parents:
            if parent in stack or parent == key:
                raise PipelineError(f"{key}: circular dependency detected in `extends`")
            if parent not in out:
                raise PipelineError(f"{key}: unknown key in `extends` ({parent})")
            if not isinstance(out[parent], dict):
                raise PipelineError(f"{key}: invalid base hash in `extends` ({parent})")
            merged = deep_merge(merged, resolve(parent, (*stack, key)))
        result = deep_merge(merged, {k: v for k, v in entry.items() if k != "extends"})
        done[key] = result
        return result

    for key in list(out):
        if isinstance(out[key], dict) and "extends" in out[key]:
            out[key] = resolve(key, ())
    return out


def _resolve_references(config: dict[str, Any]) -> Any:
    def lookup(ref: Reference, depth: int, seen: tuple[Reference, ...]) -> Any:
        if ref in seen:
            raise PipelineError(f"{ref} is part of a circular chain")
        if depth > MAX_REFERENCE_DEPTH:
            raise PipelineError(f"{ref} is nested too deeply")
        node: Any = config
        for part in ref.path:
            if not isinstance(node, dict) or part not in node:
                raise PipelineError(f"{ref} could not be found")
            node = node[part]
        return walk(node, depth + 1, (*seen, ref))

    def walk(node: Any, depth: int, seen: tuple[Reference, ...]) -> Any:
        if isinstance(node, Reference):
            return lookup(node, depth, seen)
        if isinstance(node, dict):
            return {k: walk(v, depth, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, depth, seen) for v in node]
        return node

    return walk(config, 0, ())


def load_config(text: str, *, root: Path | None = None, name: str = ".gitlab-ci.yml") -> dict[str, Any]:
    """The merged configuration hash of `text` (a .gitlab-ci.yml), includes read under `root`."""
    if not text.strip():
        raise PipelineError("Please provide content of .gitlab-ci.yml")
    data = parse_yaml(text, "<unknown>")
    config = _as_mapping(data, "")
    config = _Includes(root).expand(config, (name,))
    config = _expand_extends(config)
    resolved: dict[str, Any] = _resolve_references(config)
    return resolved
