"""The identity marker in maintenance_note and the attribute comparison of the runner module."""

from __future__ import annotations

from typing import Any

from ansible_collections.runnerfleet.gitlab.plugins.module_utils.runner_record import (
    attribute_changes,
    compose_note,
    desired_attributes,
    identity_problem,
    note_problem,
    public_view,
    split_note,
)


def params(**given: Any) -> dict[str, Any]:
    base = {k: None for k in ("description", "tags", "run_untagged", "locked", "access_level",
                              "maximum_timeout", "paused", "maintenance_note")}
    return {**base, "state": "present", **given}


def test_identity_is_the_last_line_of_the_note_and_reads_back() -> None:
    note = compose_note("rack 4, ask ops", "host1/docker")
    assert note == "rack 4, ask ops\nrunnerfleet-identity: host1/docker"
    assert split_note(note) == ("rack 4, ask ops", "host1/docker")


def test_a_note_without_user_text_is_only_the_identity_line() -> None:
    assert compose_note("", "h") == "runnerfleet-identity: h"
    assert split_note("runnerfleet-identity: h") == ("", "h")


def test_a_note_someone_wrote_by_hand_has_no_identity() -> None:
    assert split_note("runner of team A") == ("runner of team A", None)
    assert split_note(None) == ("", None)


def test_identity_text_in_the_middle_of_a_note_is_not_an_identity() -> None:
    note = "runnerfleet-identity: old\nmoved to new host"
    assert split_note(note)[1] is None


def test_identity_must_be_one_stripped_line() -> None:
    assert identity_problem("host1/shell") is None
    assert identity_problem("") == "identity must not be empty"
    assert identity_problem("a\nb") == "identity must be one line"
    assert identity_problem(" a") == "identity must not start or end with spaces"
    assert "at most 255" in (identity_problem("x" * 256) or "")


def test_a_note_too_long_for_gitlab_is_refused_before_asking_gitlab() -> None:
    problem = note_problem("n" * 1020, "host1")
    assert problem is not None
    assert "1024" in problem and "maintenance_note" in problem
    assert note_problem("short", "host1") is None


def test_only_the_options_the_task_sets_are_wanted() -> None:
    wanted = desired_attributes(params(tags=["b", "a", "b"]), "h1", "runnerfleet-identity: h1")
    assert wanted == {"tag_list": ["a", "b"], "maintenance_note": "runnerfleet-identity: h1"}


def test_state_paused_wants_the_runner_paused() -> None:
    assert desired_attributes(params(state="paused"), "h1", None)["paused"] is True


def test_a_task_without_maintenance_note_keeps_the_current_user_text() -> None:
    current = "call Bob\nrunnerfleet-identity: h1"
    assert desired_attributes(params(), "h1", current)["maintenance_note"] == current


def test_tags_in_another_order_are_no_change() -> None:
    current = {"tag_list": ["shell", "linux"], "description": "d", "paused": False}
    wanted = {"tag_list": ["linux", "shell"], "paused": False}
    assert attribute_changes(current, wanted) == {}


def test_only_differing_attributes_are_sent() -> None:
    current = {"tag_list": ["a"], "description": "d", "locked": False,
               "maintenance_note": None}
    wanted = {"tag_list": ["a", "c"], "description": "d", "locked": False,
              "maintenance_note": "runnerfleet-identity: h"}
    assert attribute_changes(current, wanted) == {
        "tag_list": ["a", "c"], "maintenance_note": "runnerfleet-identity: h"}


def test_the_reported_runner_has_no_token_and_the_note_without_identity() -> None:
    view = public_view({"id": 3, "token": "glrt-secret", "tag_list": ["b", "a"],
                        "maintenance_note": "x\nrunnerfleet-identity: h"})
    assert "token" not in view
    assert view["tags"] == ["a", "b"]
    assert (view["maintenance_note"], view["identity"]) == ("x", "h")
