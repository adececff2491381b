"""Grape-style parameter declaration, coercion and the exact 400 messages Grape gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off"}


class InvalidParams(Exception):
    """One or more parameters failed; `message` is Grape's joined text for `{"error": ...}`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(", ".join(errors))


class InvalidValue(Exception):
    """Raised by a coercer when a value cannot be converted ("<param> is invalid")."""


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise InvalidValue


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidValue
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise InvalidValue from None
    raise InvalidValue


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InvalidValue


def to_comma_list(value: Any) -> list[str]:
    """GitLab's CommaSeparatedToArray: strings split on commas, blanks dropped."""
    items = value if isinstance(value, list) else [value]
    result: list[str] = []
    for item in items:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise InvalidValue
        result.extend(part.strip() for part in str(item).split(",") if part.strip())
    return result


def to_hash(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise InvalidValue


Coercer = Callable[[Any], Any]
Bool: Coercer = to_bool
Int: Coercer = to_int
Str: Coercer = to_str
CommaList: Coercer = to_comma_list
Hash: Coercer = to_hash


@dataclass(frozen=True)
class P:
    """One declared parameter: `required`, a coercer and optionally the allowed values."""

    name: str
    type: Coercer = to_str
    required: bool = False
    values: Sequence[str] | None = None


def declared(
    raw: dict[str, Any],
    spec: Sequence[P],
    *,
    mutually_exclusive: Sequence[Sequence[str]] = (),
    at_least_one_of: Sequence[str] = (),
) -> dict[str, Any]:
    """Coerce `raw` by `spec`; only present parameters are returned (include_missing: false).

    Raises InvalidParams with Grape's messages in declaration order.
    """
    errors: list[str] = []
    out: dict[str, Any] = {}
    for p in spec:
        present = p.name in raw and raw[p.name] is not None
        if not present:
            if p.required:
                errors.append(f"{p.name} is missing")
            continue
        try:
            value = p.type(raw[p.name])
        except InvalidValue:
            errors.append(f"{p.name} is invalid")
            continue
        if p.values is not None and value not in p.values:
            errors.append(f"{p.name} does not have a valid value")
            continue
        out[p.name] = value
    for group in mutually_exclusive:
        given = [name for name in group if name in raw]
        if len(given) > 1:
            errors.append(f"{', '.join(given)} are mutually exclusive")
    if at_least_one_of and not any(name in raw for name in at_least_one_of):
        errors.append(
            f"{', '.join(at_least_one_of)} are missing, at least one parameter must be provided"
        )
    if errors:
        raise InvalidParams(errors)
    return out
