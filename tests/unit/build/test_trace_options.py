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


def test_without_references_masked_values_and_flags_are_taken_as_sent_and_the_last_one_wins() -> None:
    runner = RunnerConfig(environment=["FF_TIMESTAMPS=false", "PLAIN=x"])
    raw = {"variables": [{"key": "TOKEN", "value": "s3cret-value", "masked": True},
                         {"key": "FF_TIMESTAMPS", "value": "true"},
                         {"key": "RAWSECRET", "value": "keep$literal", "masked": True, "raw": True},
                         {"key": "OTHER", "value": "$PLAIN"}]}
    options = trace_buffer_options(runner, raw)
    assert options["masked"] == ["s3cret-value", "keep$literal"]
    assert options["timestamps"] is True


def test_a_flag_given_by_reference_is_expanded_before_it_is_read() -> None:
    raw = {"variables": [{"key": "OFF", "value": "false"},
                         {"key": "FF_TIMESTAMPS", "value": "${OFF}"}]}
    assert trace_buffer_options(RunnerConfig(), raw)["timestamps"] is False
