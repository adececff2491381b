"""runner module in-process against the real local coordinator: identity, updates, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ansible_collections.runnerfleet.gitlab.plugins.modules import runner

from runnerfleet.errors import ApiError
from runnerfleet.gitlab import GitLabClient
from tests.fixtures.coordinator import RunningCoordinator
from tests.unit.plugins.collection import run_module

SYSTEM_ID = "s_0123456789ab"


def pat_args(coordinator: RunningCoordinator, **given: Any) -> dict[str, Any]:
    return {"api_url": coordinator.url, "api_token": coordinator.admin_token,
            "identity": "host1/shell", **given}


def admin(coordinator: RunningCoordinator) -> httpx.Client:
    return httpx.Client(base_url=coordinator.url + "/api/v4",
                        headers={"PRIVATE-TOKEN": coordinator.admin_token}, trust_env=False)


def runners_in_gitlab(coordinator: RunningCoordinator) -> list[dict[str, Any]]:
    with admin(coordinator) as c:
        return [c.get(f"/runners/{r['id']}").json() for r in c.get("/runners/all").json()]


def token_is_valid(coordinator: RunningCoordinator, token: str) -> bool:
    with GitLabClient(coordinator.url, env={}) as client:
        try:
            client.verify_runner(token, system_id=SYSTEM_ID)
        except ApiError as error:
            assert error.status == 403
            return False
    return True


@pytest.mark.parametrize(("given", "message"), [
    ({"api_url": None}, "api_url is required"),
    ({"identity": None}, "identity is required with api_token"),
    ({"identity": "a\nb"}, "identity must be one line"),
    ({"state": "absent", "absent_scope": "manager"}, "absent_scope=manager needs token"),
    ({"state": "paused", "paused": False}, "paused=false contradicts state=paused"),
    ({"runner_type": "group"}, "runner_type=group needs group"),
    ({"maximum_timeout": 60}, "maximum_timeout must be at least 600 seconds"),
    ({"api_token": None}, "state=present needs api_token (a personal access token) or "
                          "registration_token"),
    ({"tags": "a", "access_level": "everyone"}, "value of access_level must be one of"),
])
def test_unusable_options_fail_with_one_line_naming_them_before_gitlab_is_asked(
    capsys: pytest.CaptureFixture[str], given: dict[str, Any], message: str
) -> None:
    args = {"api_url": "http://127.0.0.1:9", "api_token": "glpat-x", "identity": "h", **given}
    result = run_module(runner.main, {k: v for k, v in args.items() if v is not None}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    assert "\n" not in result["msg"]


def test_create_returns_a_working_token_once_then_finds_the_runner_by_identity(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_module(runner.main, pat_args(coordinator, description="host1 shell",
                                               tags=["shell", "linux"], run_untagged=False),
                         capsys)
    again = run_module(runner.main, pat_args(coordinator, description="host1 shell",
                                             tags=["linux", "shell"], run_untagged=False),
                       capsys)
    assert created["changed"] is True
    assert created["runner"]["token"].startswith("glrt-")
    assert token_is_valid(coordinator, created["runner"]["token"])
    assert again["changed"] is False
    assert again["id"] == created["id"]
    assert "token" not in again["runner"]
    [record] = runners_in_gitlab(coordinator)
    assert record["maintenance_note"] == "runnerfleet-identity: host1/shell"
    assert sorted(record["tag_list"]) == ["linux", "shell"] and record["run_untagged"] is False


def test_a_renamed_description_updates_the_same_runner_and_keeps_its_token(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_module(runner.main, pat_args(coordinator, description="old", tags=["a"]),
                         capsys)
    renamed = run_module(runner.main, pat_args(coordinator, description="new"), capsys,
                         diff=True)
    assert renamed["changed"] is True and renamed["id"] == created["id"]
    assert renamed["diff"]["before"]["description"] == "old"
    assert renamed["diff"]["after"]["description"] == "new"
    [record] = runners_in_gitlab(coordinator)
    assert (record["description"], record["tag_list"]) == ("new", ["a"])
    assert token_is_valid(coordinator, created["runner"]["token"])


def test_the_users_maintenance_note_sits_above_the_identity_line(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner.main, pat_args(coordinator, maintenance_note="rack 4"), capsys)
    result = run_module(runner.main, pat_args(coordinator, maintenance_note="rack 5"), capsys)
    assert result["changed"] is True and result["runner"]["maintenance_note"] == "rack 5"
    [record] = runners_in_gitlab(coordinator)
    assert record["maintenance_note"] == "rack 5\nrunnerfleet-identity: host1/shell"


def test_state_paused_pauses_and_present_with_paused_false_resumes(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner.main, pat_args(coordinator), capsys)
    paused = run_module(runner.main, pat_args(coordinator, state="paused"), capsys)
    resumed = run_module(runner.main, pat_args(coordinator, paused=False), capsys)
    assert paused["changed"] is True and paused["runner"]["paused"] is True
    assert resumed["changed"] is True and resumed["runner"]["paused"] is False


def test_check_mode_creates_nothing(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner.main, pat_args(coordinator, tags=["a"]), capsys, check=True)
    assert result["changed"] is True and result["id"] is None
    assert runners_in_gitlab(coordinator) == []


def test_a_runner_of_another_type_with_the_same_identity_is_an_error(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner.main, pat_args(coordinator), capsys)
    result = run_module(runner.main, pat_args(coordinator, runner_type="group", group="5"),
                        capsys)
    assert result["failed"] is True
    assert "is a instance_type runner, not group_type" in result["msg"]


def test_a_group_path_gitlab_does_not_know_is_named_in_the_error(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner.main, pat_args(coordinator, runner_type="group",
                                              group="team/platform"), capsys)
    assert result["failed"] is True
    assert "GitLab has no group with the path 'team/platform'" in result["msg"]


def test_absent_deletes_the_runner_once(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_module(runner.main, pat_args(coordinator), capsys)
    gone = run_module(runner.main, pat_args(coordinator, state="absent"), capsys)
    again = run_module(runner.main, pat_args(coordinator, state="absent"), capsys)
    assert gone["changed"] is True and again["changed"] is False
    assert runners_in_gitlab(coordinator) == []
    assert not token_is_valid(coordinator, created["runner"]["token"])


def test_absent_manager_removes_only_this_hosts_manager(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_module(runner.main, pat_args(coordinator), capsys)
    token = created["runner"]["token"]
    assert token_is_valid(coordinator, token)  # the host's first contact creates its manager
    args = pat_args(coordinator, state="absent", absent_scope="manager", token=token,
                    system_id=SYSTEM_ID)
    removed = run_module(runner.main, args, capsys)
    again = run_module(runner.main, args, capsys)
    assert removed["changed"] is True and again["changed"] is False
    with admin(coordinator) as c:
        assert c.get(f"/runners/{created['id']}/managers").json() == []
    assert len(runners_in_gitlab(coordinator)) == 1


def test_reset_token_returns_a_new_token_and_the_old_one_stops_working(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_module(runner.main, pat_args(coordinator), capsys)
    reset = run_module(runner.main, pat_args(coordinator, reset_token=True), capsys)
    assert reset["changed"] is True and reset["id"] == created["id"]
    assert token_is_valid(coordinator, reset["runner"]["token"])
    assert not token_is_valid(coordinator, created["runner"]["token"])


def test_legacy_registration_keeps_a_runner_whose_token_still_works(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    with admin(coordinator) as c:
        c.put(coordinator.url + "/-/settings", json={"allow_runner_registration_token": True})
    args = {"api_url": coordinator.url, "registration_token": coordinator.registration_token,
            "description": "legacy", "tags": ["old"]}
    registered = run_module(runner.main, args, capsys)
    token = registered["runner"]["token"]
    assert registered["changed"] is True and token_is_valid(coordinator, token)
    kept = run_module(runner.main, {**args, "token": token, "system_id": SYSTEM_ID}, capsys)
    assert kept["changed"] is False and kept["id"] == registered["id"]
    assert len(runners_in_gitlab(coordinator)) == 1
    removed = run_module(runner.main, {"api_url": coordinator.url, "state": "absent",
                                       "token": token}, capsys)
    assert removed["changed"] is True and not token_is_valid(coordinator, token)


def test_disabled_registration_tokens_end_with_gitlabs_hint(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    with admin(coordinator) as c:
        c.put(coordinator.url + "/-/settings", json={"allow_runner_registration_token": False})
    result = run_module(runner.main, {"api_url": coordinator.url,
                                      "registration_token": coordinator.registration_token},
                        capsys)
    assert result["failed"] is True
    assert "410" in result["msg"] and "registration tokens are disabled" in result["msg"]
    assert coordinator.registration_token not in result["msg"]


def test_unreachable_gitlab_is_one_line_without_secrets(
    capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner.main, {"api_url": "http://127.0.0.1:9",
                                      "api_token": "glpat-NeverShowMe", "identity": "h"}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("GET http://127.0.0.1:9/api/v4/runners/all: cannot connect")
    assert "\n" not in result["msg"] and "NeverShowMe" not in str(result)


def test_a_bad_ca_file_is_named(coordinator: RunningCoordinator, tmp_path: Any,
                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    result = run_module(runner.main, pat_args(coordinator, api_url=coordinator.url.replace(
        "http://", "https://"), ca_file=str(bad)), capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(f"CA file {bad} is not a valid PEM certificate file")


def test_a_429_storm_ends_with_the_engines_rate_limit_message(
    coordinator: RunningCoordinator, capsys: pytest.CaptureFixture[str]
) -> None:
    coordinator.inject_fault(method="GET", path="/api/v4/runners/all", status=429, count=5,
                             headers={"RateLimit-ResetTime": "Mon, 02 Jan 2006 15:04:05 GMT"},
                             body='{"message":"Retry later"}')
    result = run_module(runner.main, pat_args(coordinator), capsys)
    assert result["failed"] is True
    assert "rate limit" in result["msg"]
    assert "\n" not in result["msg"] and coordinator.admin_token not in str(result)
