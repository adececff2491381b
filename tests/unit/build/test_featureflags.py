"""Feature flag resolution: [runners.feature_flags] > service overrides > variable > default."""

from __future__ import annotations

from runnerfleet.build import FEATURE_FLAG_DEFAULTS, resolve_feature_flags
from runnerfleet.job import JobVariables, Variable


def _vars(**values: str) -> JobVariables:
    return JobVariables(Variable(k, v) for k, v in values.items())


def test_defaults_apply_when_nothing_is_set() -> None:
    flags = resolve_feature_flags({}, _vars())
    assert flags.values == dict(FEATURE_FLAG_DEFAULTS)
    assert flags.on("FF_TIMESTAMPS") and flags.on("FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY")
    assert not flags.on("FF_SCRIPT_SECTIONS")
    assert flags.differing() == [] and flags.errors == []


def test_a_job_variable_overrides_the_default() -> None:
    flags = resolve_feature_flags({}, _vars(FF_SCRIPT_SECTIONS="true", FF_TIMESTAMPS="0"))
    assert flags.on("FF_SCRIPT_SECTIONS") and not flags.on("FF_TIMESTAMPS")
    assert flags.differing() == ["FF_SCRIPT_SECTIONS:true", "FF_TIMESTAMPS:false"]


def test_the_runners_feature_flags_table_beats_the_job_variable() -> None:
    flags = resolve_feature_flags({"FF_SCRIPT_SECTIONS": False}, _vars(FF_SCRIPT_SECTIONS="true"))
    assert not flags.on("FF_SCRIPT_SECTIONS")


def test_service_overrides_sit_between_the_runner_table_and_variables() -> None:
    overrides = {"FF_SCRIPT_SECTIONS": True, "FF_TIMESTAMPS": False}
    flags = resolve_feature_flags({"FF_TIMESTAMPS": True}, _vars(FF_SCRIPT_SECTIONS="false"), overrides)
    assert flags.on("FF_SCRIPT_SECTIONS") and flags.on("FF_TIMESTAMPS")


def test_the_last_variable_of_a_name_wins() -> None:
    # Runner `environment` entries come before job variables in the list.
    variables = JobVariables([Variable("FF_SCRIPT_SECTIONS", "true"),
                              Variable("FF_SCRIPT_SECTIONS", "false")])
    assert not resolve_feature_flags({}, variables).on("FF_SCRIPT_SECTIONS")


def test_an_unparseable_value_keeps_the_default_with_a_warning() -> None:
    flags = resolve_feature_flags({}, _vars(FF_TIMESTAMPS="yes"))
    assert flags.on("FF_TIMESTAMPS")
    assert flags.errors == ["FF_TIMESTAMPS: could not parse feature flag, expected bool, got yes"]


def test_unknown_flag_names_are_not_resolved() -> None:
    flags = resolve_feature_flags({"FF_NOT_A_FLAG": True}, _vars(FF_ALSO_NOT="true"))
    assert "FF_NOT_A_FLAG" not in flags.values and "FF_ALSO_NOT" not in flags.values
