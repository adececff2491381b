"""Parse YAML text as GitLab does: anchors, merge keys and `!reference [job, key, ...]` tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from runnerfleet.pipeline.errors import PipelineError


@dataclass(frozen=True)
class Reference:
    """An unresolved `!reference [job, key, ...]`: resolved after includes and `extends`."""

    path: tuple[str, ...]

    def __str__(self) -> str:
        # GitLab shows the tag as written, e.g. !reference [".setup", "script"].
        return "!reference [" + ", ".join(f'"{p}"' for p in self.path) + "]"


class _Loader(yaml.SafeLoader):
    """SafeLoader plus GitLab's one custom tag."""


def _construct_reference(loader: yaml.SafeLoader, node: yaml.Node) -> Reference:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!reference should be an array of strings", node.start_mark)
    items = loader.construct_sequence(node)
    if not items or not all(isinstance(i, str) for i in items):
        raise yaml.constructor.ConstructorError(
            None, None, "!reference should be an array of strings", node.start_mark)
    return Reference(tuple(items))


_Loader.add_constructor("!reference", _construct_reference)


def _format_yaml_error(exc: yaml.YAMLError, name: str) -> str:
    # GitLab passes Psych's message through: "(<file>): <problem> <context> at line L column C".
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        words = " ".join(w for w in (exc.problem, exc.context) if w)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        return f"({name}): {words}{where}"
    return f"({name}): {exc}"


def parse_yaml(text: str, name: str = "<unknown>") -> Any:
    """The YAML document in `text`, or PipelineError with the parser's message."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise PipelineError(_format_yaml_error(exc, name)) from None
