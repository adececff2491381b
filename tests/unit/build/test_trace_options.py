"""The TraceBuffer settings the service loop creates a job's buffer with."""

from __future__ import annotations

from runnerfleet.build import trace_buffer_options
from runnerfleet.config import RunnerConfig
from runnerfleet.trace import TraceBuffer


def test_defaults_are_gitlab_runners() -> None:
    options = trace_buffer_options(RunnerConfig())
    assert options == {"masked": [], "token_mask_prefixes": [], "mask_all_default_tokens": True,
                       "timestamps": True, "output_limit": 4096 * 1024}


def test_runner_and_payload_settings_are_applied() -> None:
    runner = RunnerConfig(output_limit=64, feature_flags={"FF_MASK_ALL_DEFAULT_TOKENS": False})
    raw = {
        "variables": [{"key": "FF_TIMESTAMPS", "value": "false"},
                      {"key": "PART", "value": "abc"},
                      {"key": "SECRET", "value": "$PART-def", "masked": True},
                      {"key": "BROKEN", "value": 3, "masked": True}],
        "features": {"token_mask_prefixes": ["acme-", 7]},
    }
    options = trace_buffer_options(runner, raw)
    assert options == {"masked": ["abc-def"], "token_mask_prefixes": ["acme-"],
                       "mask_all_default_tokens": False, "timestamps": False, "output_limit": 64 * 1024}


def test_the_options_build_a_buffer_that_masks_the_payloads_secrets() -> None:
    raw = {"variables": [{"key": "SECRET", "value": "hunter2hunter2", "masked": True}]}
    with TraceBuffer(**trace_buffer_options(RunnerConfig(), raw)) as trace:
        trace.write(b"pw=hunter2hunter2\n")
        trace.finish()
        assert b"hunter2" not in trace.bytes_since(0)
