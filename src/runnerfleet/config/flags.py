"""`register`/`run-single` flag specs generated from the schema, like gitlab-runner's struct tags."""

from __future__ import annotations

from dataclasses import dataclass

from runnerfleet.config.schema import RunnerConfig, toml_fields

_FLAG_KIND = {
    "str": "str", "opt_str": "str", "size": "str", "rational": "str", "port": "str",
    "int": "int", "opt_int": "int", "bool": "bool", "opt_bool": "bool", "float": "float",
    "list": "list", "str_or_list": "list", "duration": "duration",
    "map": "map", "bool_map": "map", "list_map": "map",
}
_SECTION_KINDS = {"table", "opt_table"}


@dataclass(frozen=True)
class FlagSpec:
    """One command-line flag: `--<long>` (no dashes stored), its env variable and TOML path."""

    long: str
    env: str | None
    key_path: tuple[str, ...]
    kind: str  # str, int, bool, float, list (repeatable), duration, map (repeatable KEY=VALUE)
    help: str
    short: str | None = None


def _walk(cls: type, prefix: str, path: tuple[str, ...], out: list[FlagSpec]) -> None:
    for f in toml_fields(cls):
        meta = f.metadata
        long = meta["long"]
        if long is None:
            continue  # gitlab-runner has no flag for it (or the CLI defines it itself)
        sub_path = (*path, meta["toml"])
        if meta["kind"] in _SECTION_KINDS:
            _walk(meta["cls"], f"{prefix}{long}-", sub_path, out)
            continue
        out.append(FlagSpec(long=prefix + long, env=meta["env"], key_path=sub_path,
                            kind=_FLAG_KIND[meta["kind"]], help=meta["help"]))


def runner_flag_specs() -> list[FlagSpec]:
    """Flags for every `[[runners]]` key gitlab-runner exposes, minus those the CLI owns
    (name/description, url, token, executor, id and token timestamps have no spec here)."""
    out: list[FlagSpec] = []
    _walk(RunnerConfig, "", (), out)
    return out
