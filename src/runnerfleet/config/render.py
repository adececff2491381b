"""Render values and new `[[runners]]` entries the way gitlab-runner's TOML encoder writes them."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from runnerfleet.config.durations import Duration
from runnerfleet.config.schema import RunnerConfig, toml_fields

GLOBAL_HEADER = (
    "concurrent = 1\n"
    "check_interval = 0\n"
    'connection_max_age = "15m0s"\n'
    "shutdown_timeout = 0\n"
    "\n"
    "[session_server]\n"
    "  session_timeout = 1800\n"
)

_INDENT = "  "
_TABLE_KINDS = {"table", "opt_table", "table_array", "map", "bool_map", "list_map"}
_ZERO: dict[str, Any] = {"str": "", "int": 0, "bool": False, "datetime": None, "size": "",
                         "rational": "", "port": ""}
# Executor name -> the executor sections gitlab-runner keeps for it at register time.
_SECTIONS = ("docker", "ssh", "virtualbox", "parallels", "kubernetes", "custom", "machine")
_KEEP = {
    "docker": {"docker"}, "docker-windows": {"docker"}, "docker-autoscaler": {"docker"},
    "docker+machine": {"docker", "machine"}, "ssh": {"ssh"}, "virtualbox": {"ssh", "virtualbox"},
    "parallels": {"ssh", "parallels"}, "kubernetes": {"kubernetes"}, "custom": {"custom"},
}


def _quote(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_key(key: str) -> str:
    """A bare key when possible, else a quoted one."""
    if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
        return key
    return _quote(key)


def render_datetime(value: datetime | None) -> str:
    """RFC 3339 in UTC with `Z`, fraction only when non-zero; None → Go's zero time."""
    if value is None:
        return "0001-01-01T00:00:00Z"
    stamp = value.astimezone(UTC) if value.tzinfo else value
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
    if stamp.microsecond:
        text += "." + f"{stamp.microsecond:06d}".rstrip("0")
    return text + "Z"


def render_value(value: Any) -> str:
    """A TOML value as gitlab-runner's encoder writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Duration):
        return _quote(value.go_string)
    if isinstance(value, datetime):
        return render_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return render_datetime(None)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{render_key(k)} = {render_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _header(path: tuple[str, ...], array: bool) -> str:
    name = ".".join(render_key(p) for p in path)
    indent = _INDENT * (len(path) - 1)
    return f"{indent}[[{name}]]" if array else f"{indent}[{name}]"


def _kv(path: tuple[str, ...], key: str, value: Any) -> str:
    return f"{_INDENT * len(path)}{render_key(key)} = {render_value(value)}"


def _is_empty(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(v is None for v in value.values())
    return value in ("", False, None) or (isinstance(value, list | dict) and not value)


def _render_map(path: tuple[str, ...], values: Mapping[str, Any], lines: list[str]) -> None:
    """A Go map: plain keys sorted first, then sub-tables sorted."""
    direct = sorted(k for k, v in values.items() if not isinstance(v, Mapping))
    subs = sorted(k for k, v in values.items() if isinstance(v, Mapping))
    for k in direct:
        if values[k] is not None:
            lines.append(_kv(path, k, values[k]))
    for k in subs:
        lines.append(_header((*path, k), False))
        _render_map((*path, k), values[k], lines)


def render_struct(cls: type, path: tuple[str, ...], values: Mapping[str, Any],
                  lines: list[str]) -> None:
    """Keys of one schema table in gitlab-runner's order: plain keys first, then sub-tables."""
    fields = toml_fields(cls)
    for f in fields:
        meta = f.metadata
        name = meta["toml"]
        value = values.get(name)
        is_table = meta["kind"] in _TABLE_KINDS or (meta["kind"] == "raw"
                                                    and isinstance(value, Mapping))
        if is_table:
            continue
        if name not in values or value is None:
            if meta["go"] == "always" and meta["kind"] in _ZERO:
                lines.append(_kv(path, name, _ZERO[meta["kind"]]))
            continue
        if meta["go"] == "omitempty" and _is_empty(value):
            continue
        if meta["go"] == "omitzero" and isinstance(value, int | float) and value == 0:
            continue
        if meta["kind"] in ("rational", "port") and isinstance(value, int | float):
            value = str(value)  # strings in gitlab-runner's schema
        if meta["kind"] == "str_or_list" and isinstance(value, str):
            value = [value]
        if meta["kind"] == "duration" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # left as written; validation reports it
                value = Duration.parse(value)
        lines.append(_kv(path, name, value))
    for f in fields:
        meta = f.metadata
        name = meta["toml"]
        value = values.get(name)
        if value is None:
            continue
        kind = meta["kind"]
        sub = (*path, name)
        if kind == "table_array" and isinstance(value, list):
            for item in value:
                lines.append("")
                lines.append(_header(sub, True))
                render_struct(meta["cls"], sub, item if isinstance(item, Mapping) else {}, lines)
        elif kind in ("table", "opt_table") and isinstance(value, Mapping):
            if meta["go"] == "omitempty" and _is_empty(value):
                continue
            lines.append(_header(sub, False))
            render_struct(meta["cls"], sub, value, lines)
        elif kind in ("map", "bool_map", "list_map", "raw") and isinstance(value, Mapping):
            if meta["go"] == "omitempty" and not value:
                continue
            lines.append(_header(sub, False))
            _render_map(sub, value, lines)
        elif kind in _TABLE_KINDS:
            lines.append(_kv(path, name, value))  # wrong type: written so validation names it


def normalize_runner_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """What gitlab-runner keeps at register: only the executor's sections, a full cache block."""
    result = dict(values)
    keep = _KEEP.get(str(result.get("executor", "")), set())
    for section in _SECTIONS:
        if section not in keep:
            result.pop(section, None)
    cache = result.get("cache")
    cache = dict(cache) if isinstance(cache, Mapping) else {}
    for backend in ("s3", "gcs", "azure"):
        cache.setdefault(backend, {})
    result["cache"] = cache
    return result


def render_runner(values: Mapping[str, Any]) -> str:
    """One `[[runners]]` entry, newline-terminated, as gitlab-runner writes a registered runner."""
    lines = ["[[runners]]"]
    render_struct(RunnerConfig, ("runners",), normalize_runner_values(values), lines)
    return "\n".join(lines) + "\n"


def render_table_block(cls: type | None, path: tuple[str, ...], values: Mapping[str, Any]) -> str:
    """A new sub-table (header + keys + its own sub-tables) at `path`, Go-indented."""
    lines = [_header(path, False)]
    if cls is None:
        _render_map(path, values, lines)
    else:
        render_struct(cls, path, values, lines)
    return "\n".join(lines) + "\n"


def render_array_item(cls: type, path: tuple[str, ...], values: Mapping[str, Any]) -> str:
    lines = [_header(path, True)]
    render_struct(cls, path, values, lines)
    return "\n".join(lines) + "\n"
