"""gitlab-runner style flags on argparse: long names, env var fallbacks, `--flag=true|false` booleans."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runnerfleet.config import Duration, FlagSpec
from runnerfleet.errors import UsageError

_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off"}


@dataclass(frozen=True)
class Flag:
    """One command-line flag: `--long`, optional `-s`, optional env var, and how to read its text."""

    long: str
    help: str
    kind: str = "str"  # str | int | bool | float | list | duration | map
    env: str | None = None
    short: str | None = None
    default: Any = None
    key_path: tuple[str, ...] = ()
    metavar: str | None = None
    aliases: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: FlagSpec) -> Flag:
        return cls(
            long=spec.long,
            help=spec.help,
            kind=spec.kind,
            env=spec.env,
            short=spec.short,
            key_path=tuple(spec.key_path),
        )

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")


def parse_bool(text: str, *, name: str = "") -> bool:
    """Go's strconv.ParseBool plus yes/no; anything else is a usage error naming the flag."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    where = f"--{name}: " if name else ""
    raise UsageError(f'{where}expected true or false, got "{text}"')


def add_flags(parser: argparse.ArgumentParser, flags: Iterable[Flag]) -> None:
    """Declare the flags; defaults stay None so that "not given" is distinguishable from a value."""
    for flag in flags:
        names = [f"--{flag.long}", *(f"--{a}" for a in flag.aliases)]
        names += [f"-{flag.short}"] if flag.short else []
        env_note = f" [${flag.env}]" if flag.env else ""
        help_text = (flag.help or "").replace("%", "%%") + env_note
        if flag.kind == "bool":
            parser.add_argument(*names, dest=flag.dest, nargs="?", const="true", default=None,
                                metavar="true|false", help=help_text)
        elif flag.kind in ("list", "map"):
            parser.add_argument(*names, dest=flag.dest, action="append", default=None,
                                metavar=flag.metavar or ("KEY=VALUE" if flag.kind == "map" else None),
                                help=help_text)
        else:
            parser.add_argument(*names, dest=flag.dest, default=None, metavar=flag.metavar,
                                help=help_text)


def add_command(subparsers: Any, name: str, flags: Iterable[Flag],
                handler: Callable[[argparse.Namespace], int], *, summary: str,
                description: str) -> argparse.ArgumentParser:
    """Declare subcommand `name` (`summary` in the command list) with its flags; `handler` runs it."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=summary, description=description)
    add_flags(parser, flags)
    parser.set_defaults(handler=handler)
    return parser


def resolve(
    ns: argparse.Namespace, flags: Iterable[Flag], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Flag values converted to their kinds, from the command line or else the env var.

    Only flags that were given (on the line or in the environment) appear in the result, so
    callers can tell "set to the default" from "not set", as gitlab-runner's register does.
    """
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    for flag in flags:
        raw = getattr(ns, flag.dest, None)
        if raw is None and flag.env and environ.get(flag.env, "") != "":
            text = environ[flag.env]
            raw = [p.strip() for p in text.split(",") if p.strip()] if flag.kind in ("list", "map") else text
        if raw is None:
            if flag.default is not None:
                values[flag.dest] = flag.default
            continue
        values[flag.dest] = convert(flag, raw)
    return values


def convert(flag: Flag, raw: Any) -> Any:
    """Turn flag text into the flag's kind, with a usage error that names the flag."""
    try:
        if flag.kind == "bool":
            return parse_bool(str(raw), name=flag.long)
        if flag.kind == "int":
            return int(str(raw), 10)
        if flag.kind == "float":
            return float(str(raw))
        if flag.kind == "duration":
            return Duration.parse(str(raw))
        if flag.kind == "list":
            return [str(x) for x in raw]
        if flag.kind == "map":
            result: dict[str, str] = {}
            for item in raw:
                key, sep, value = str(item).partition("=")
                if not sep:
                    raise ValueError(f'expected KEY=VALUE, got "{item}"')
                result[key] = value
            return result
        return str(raw)
    except UsageError:
        raise
    except ValueError as exc:
        raise UsageError(f"--{flag.long}: {exc}") from None


def nest(values: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """{("docker", "image"): "x"} → {"docker": {"image": "x"}} for the config model."""
    tree: dict[str, Any] = {}
    for path, value in values.items():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree
