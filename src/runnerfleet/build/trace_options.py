"""The TraceBuffer settings a job needs, for whoever creates the job's buffer (the service loop)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from runnerfleet.build.featureflags import resolve_feature_flags
from runnerfleet.config import RunnerConfig
from runnerfleet.job import JobVariables, Variable


class TraceBufferOptions(TypedDict):
    masked: list[str]
    token_mask_prefixes: list[str]
    mask_all_default_tokens: bool
    timestamps: bool
    output_limit: int


def trace_buffer_options(
    runner: RunnerConfig,
    raw_payload: Mapping[str, Any] | None = None,
    features: Mapping[str, bool] | None = None,
) -> TraceBufferOptions:
    """Keyword arguments for `TraceBuffer(**...)`: output limit (KiB → bytes), FF_TIMESTAMPS,
    FF_MASK_ALL_DEFAULT_TOKENS and the payload's masked values and token prefixes.

    Reads the raw payload leniently (a payload the Build will reject still gets what can be
    taken from it); the Build sets masking again itself before writing.
    """
    # Only masked values and FF_* variables matter here. While none of them holds a `$` to
    # expand (nearly always), they are taken as they are, without building and expanding the
    # whole variable list (the Build does that once, for the job itself).
    entries: list[tuple[str, str, bool, bool]] = []  # key, value, masked, raw
    for entry in runner.job_environment:
        key, sep, value = entry.partition("=")
        if sep and key:
            entries.append((key, value, False, False))
    raw = raw_payload or {}
    items = raw.get("variables")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            name, text = item.get("key"), item.get("value")
            if isinstance(name, str) and isinstance(text, str):
                entries.append((name, text, item.get("masked") is True, item.get("raw") is True))
    wanted = [e for e in entries if e[2] or e[0].startswith("FF_")]
    if any(not is_raw and "$" in value for _, value, _, is_raw in wanted):
        variables = JobVariables(Variable(key, value, masked=masked, raw=is_raw)
                                 for key, value, masked, is_raw in entries)
        expanded = variables.expanded()
        masked_values = [v.value for v in expanded if v.masked]
    else:
        expanded = JobVariables(Variable(key, value) for key, value, _, _ in wanted
                                if key.startswith("FF_"))
        masked_values = [value for _, value, masked, _ in wanted if masked]
    flags = resolve_feature_flags(runner.feature_flags, expanded, features)
    payload_features = raw.get("features")
    prefixes = payload_features.get("token_mask_prefixes") if isinstance(payload_features, dict) else None
    return TraceBufferOptions(
        masked=masked_values,
        token_mask_prefixes=[p for p in prefixes if isinstance(p, str)] if isinstance(prefixes, list) else [],
        mask_all_default_tokens=flags.on("FF_MASK_ALL_DEFAULT_TOKENS"),
        timestamps=flags.on("FF_TIMESTAMPS"),
        output_limit=runner.effective_output_limit * 1024,
    )
