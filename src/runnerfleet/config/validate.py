"""Decode parsed config.toml data into the typed model, collecting every problem and warning."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from fractions import Fraction
from typing import Any

from runnerfleet.config.durations import Duration
from runnerfleet.config.schema import Config, RunnerConfig, toml_fields
from runnerfleet.config.sizes import is_size

_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)

# Keys users copy from wrong documentation: schema path (no indexes) -> hint.
UNKNOWN_KEY_HINTS: dict[tuple[str, ...], str] = {
    ("runners", "docker", "cache"): "use [runners.cache]",
    ("runners", "docker", "helper_image_opts"): "gitlab-runner has no such table",
    ("runners", "tls_verify"): (
        "tls_verify belongs to [runners.docker] (the Docker daemon); "
        "for GitLab's certificate set tls-ca-file"
    ),
    ("runners", "docker", "services", "image"): "the key is name",
}

SHELL_ENV_WARNING = (
    "[runners.shell.env] is a runnerfleet extension: its variables are added to every job, "
    "but gitlab-runner itself rejects this table (shell is a string there); the portable form "
    'is environment = ["KEY=value"] under [[runners]]'
)

_ENV_REF = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+)")


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """`$VAR` and `${VAR}` replaced from `env` (unset → empty), like Go's os.ExpandEnv."""
    return _ENV_REF.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def describe(value: Any, *, secret: bool = False) -> str:
    """How a found TOML value is named in a message (secrets masked)."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            return "an array of tables"
        return "an array"
    if secret:
        return "***"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


class _Context:
    def __init__(self, display: str, env: Mapping[str, str]) -> None:
        self.display = display
        self.env = env
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.shell_env_seen = False

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{self.display}: {path}: {text}")

    def warn(self, path: str, text: str) -> None:
        self.warnings.append(f"{self.display}: {path}: {text}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _expect(ctx: _Context, path: str, what: str, value: Any, secret: bool) -> None:
    ctx.problem(path, f"expected {what}, got {describe(value, secret=secret)}")


def _string_list(ctx: _Context, path: str, value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _expect(ctx, path, 'an array of strings like ["a", "b"]', value, False)
        return None
    return list(value)


def _string_map(ctx: _Context, path: str, value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        _expect(ctx, path, "a table of strings", value, False)
        return None
    result: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, str):
            result[k] = v
        else:
            _expect(ctx, _join(path, k), "a string", v, False)
    return result


def _convert(ctx: _Context, meta: Mapping[str, Any], value: Any, path: str,
             schema_path: tuple[str, ...]) -> tuple[bool, Any]:
    """(ok, converted value) for one key; problems are recorded in ctx."""
    kind = meta["kind"]
    secret = bool(meta["secret"])
    if kind in ("str", "opt_str"):
        if isinstance(value, str):
            return True, value
        _expect(ctx, path, "a string", value, secret)
    elif kind in ("int", "opt_int"):
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        _expect(ctx, path, "an integer", value, secret)
    elif kind in ("bool", "opt_bool"):
        if isinstance(value, bool):
            return True, value
        _expect(ctx, path, "true or false", value, secret)
    elif kind == "duration":
        if isinstance(value, int) and not isinstance(value, bool):
            return True, Duration.from_nanoseconds(value)  # Go decodes integers as nanoseconds
        if isinstance(value, str):
            try:
                return True, Duration.parse(value)
            except ValueError:
                pass
        _expect(ctx, path, 'a duration like "90s", "15m0s" or "1h30m"', value, secret)
    elif kind == "datetime":
        if isinstance(value, datetime):
            stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
            stamp = stamp.astimezone(UTC)
            return True, None if stamp == _ZERO_TIME else stamp
        _expect(ctx, path, "a TOML datetime like 2025-01-01T00:00:00Z", value, secret)
    elif kind == "size":
        if isinstance(value, str) and (value == "" or is_size(value)):
            return True, value
        _expect(ctx, path, 'a size like "4g"', value, secret)
    elif kind == "rational":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, str(value)
        if isinstance(value, str):
            try:
                if value:
                    Fraction(value)
                return True, value
            except (ValueError, ZeroDivisionError):
                pass
        _expect(ctx, path, 'a number of CPUs like "1.5" or 2', value, secret)
    elif kind == "port":
        if isinstance(value, int) and not isinstance(value, bool):
            return True, str(value)
        if isinstance(value, str):
            return True, value
        _expect(ctx, path, 'a port like "22"', value, secret)
    elif kind == "list":
        result = _string_list(ctx, path, value)
        return result is not None, result
    elif kind == "str_or_list":
        if isinstance(value, str):
            return True, [value]
        result = _string_list(ctx, path, value)
        return result is not None, result
    elif kind == "map":
        smap = _string_map(ctx, path, value)
        return smap is not None, smap
    elif kind == "bool_map":
        if not isinstance(value, Mapping):
            _expect(ctx, path, "a table of NAME = true/false", value, secret)
            return False, None
        flags: dict[str, bool] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                flags[k] = v
            else:
                _expect(ctx, _join(path, k), "true or false", v, False)
        return True, flags
    elif kind == "list_map":
        if not isinstance(value, Mapping):
            _expect(ctx, path, "a table of string arrays", value, secret)
            return False, None
        lmap: dict[str, list[str]] = {}
        for k, v in value.items():
            items = _string_list(ctx, _join(path, k), v)
            if items is not None:
                lmap[k] = items
        return True, lmap
    elif kind in ("table", "opt_table"):
        if isinstance(value, Mapping):
            return True, decode_table(ctx, meta["cls"], value, path, schema_path)
        _expect(ctx, path, f"a table [{'.'.join(schema_path)}]", value, secret)
    elif kind == "table_array":
        return _convert_table_array(ctx, meta, value, path, schema_path)
    elif kind == "raw":
        return True, value
    else:  # pragma: no cover - schema error
        raise AssertionError(f"unknown kind {kind}")
    return False, None


def _convert_table_array(ctx: _Context, meta: Mapping[str, Any], value: Any, path: str,
                         schema_path: tuple[str, ...]) -> tuple[bool, Any]:
    header = ".".join(schema_path)
    if isinstance(value, Mapping):
        hint = " (the key is name, not image)" if "image" in value else ""
        ctx.problem(path, (
            f"expected an array of tables: write [[{header}]] with name = \"<image>\" for each "
            f"entry, got a single table [{header}]{hint}"
        ))
        return False, None
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        _expect(ctx, path, f"an array of tables [[{header}]]", value, False)
        return False, None
    items = []
    for i, item in enumerate(value):
        decoded = decode_table(ctx, meta["cls"], item, f"{path}[{i}]", schema_path)
        if isinstance(decoded, RunnerConfig):
            decoded.index = i
        items.append(decoded)
    return True, items


def decode_table(ctx: _Context, cls: type, data: Mapping[str, Any], path: str,
                 schema_path: tuple[str, ...]) -> Any:
    """An instance of `cls` from one TOML table; unknown keys warned about, problems recorded."""
    values: dict[str, Any] = {}
    known = {f.metadata["toml"]: f for f in toml_fields(cls)}
    data = dict(data)
    if cls is RunnerConfig and isinstance(data.get("shell"), Mapping):
        values["shell_env"] = _shell_table(ctx, data.pop("shell"), _join(path, "shell"))
    for toml_key, value in data.items():
        key_path = _join(path, toml_key)
        sub_schema = (*schema_path, toml_key)
        f = known.get(toml_key)
        if f is None:
            hint = UNKNOWN_KEY_HINTS.get(sub_schema)
            ctx.warn(key_path, "unknown key, ignored" + (f" ({hint})" if hint else ""))
            continue
        ok, converted = _convert(ctx, f.metadata, value, key_path, sub_schema)
        if ok:
            values[f.name] = converted
    return cls(**values)


def _shell_table(ctx: _Context, table: Mapping[str, Any], path: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for k, v in table.items():
        if k != "env":
            ctx.problem(_join(path, k), (
                'expected shell to be a string like "bash"; gitlab-runner has no [runners.shell] '
                'table (for job variables use environment = ["KEY=value"] under [[runners]])'
            ))
            continue
        smap = _string_map(ctx, _join(path, "env"), v)
        if smap is not None:
            env.update(smap)
    if "env" in table:
        ctx.shell_env_seen = True
    return env


def _runner_checks(ctx: _Context, runner: RunnerConfig) -> None:
    path = f"runners[{runner.index}]"
    runner.url = expand_env(runner.url, ctx.env)
    runner.token = expand_env(runner.token, ctx.env)
    if runner.url.rstrip("/").endswith("/ci"):
        base = runner.url.rstrip("/")[: -len("/ci")] + "/"
        ctx.warn(f"{path}.url", f"the /ci suffix is deprecated; use the GitLab base URL {base}")
    if not runner.token.strip():
        ctx.warn(f"{path}.token", "empty; this runner is skipped when polling for jobs")


def decode_config(data: Mapping[str, Any], *, display: str,
                  env: Mapping[str, str] | None = None) -> tuple[Config, list[str], list[str]]:
    """(typed config, problems, warnings) for a whole parsed config.toml."""
    ctx = _Context(display, os.environ if env is None else env)
    config: Config = decode_table(ctx, Config, data, "", ())
    for runner in config.runners:
        _runner_checks(ctx, runner)
    if ctx.shell_env_seen:
        ctx.warnings.append(f"{display}: {SHELL_ENV_WARNING}")
    if config.sentry_dsn is None and ctx.env.get("SENTRY_DSN"):
        config.sentry_dsn = ctx.env["SENTRY_DSN"]
    return config, ctx.problems, ctx.warnings


def decode_runner(data: Mapping[str, Any], index: int, *, display: str,
                  env: Mapping[str, str] | None = None) -> tuple[RunnerConfig, list[str], list[str]]:
    """Decode one `[[runners]]` table as entry `index` (used before adding an entry)."""
    ctx = _Context(display, os.environ if env is None else env)
    runner: RunnerConfig = decode_table(ctx, RunnerConfig, data, f"runners[{index}]", ("runners",))
    runner.index = index
    _runner_checks(ctx, runner)
    return runner, ctx.problems, ctx.warnings

