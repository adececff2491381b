"""The typed runner calls against the local coordinator: what GitLab receives and what we return."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from runnerfleet import version
from runnerfleet.errors import ApiError
from runnerfleet.gitlab import GitLabClient, RunnerRegistration, runner_info
from runnerfleet.gitlab.info import FEATURE_KEYS
from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.client.helpers import api_requests

SYSTEM_ID = "s_0123456789ab"


def client_for(coordinator: RunningCoordinator) -> GitLabClient:
    return GitLabClient(coordinator.url, env={})


def test_register_with_registration_token_returns_id_and_token(
    coordinator: RunningCoordinator,
) -> None:
    with client_for(coordinator) as client:
        reg = client.register_runner(
            coordinator.registration_token, description="ci-box", tag_list=["docker", "linux"],
            info=runner_info(),
        )
    assert isinstance(reg, RunnerRegistration)
    assert reg.id > 0 and reg.token
    assert reg.token_expires_at is None or reg.token_expires_at.tzinfo is not None
    [entry] = api_requests(coordinator.requests_log(), "POST", "runners")
    assert entry["status"] == 201


def test_register_body_is_shaped_like_gitlab_runners(coordinator: RunningCoordinator) -> None:
    with client_for(coordinator) as client:
        client.register_runner(coordinator.registration_token, tag_list=["a", "b"],
                               maximum_timeout=3600, info=runner_info())
    [entry] = api_requests(coordinator.requests_log(), "POST", "runners")
    body = entry["json"]
    # Empty strings and a zero timeout are left out; the three booleans are always sent.
    assert set(body) == {"token", "tag_list", "run_untagged", "locked", "paused",
                         "maximum_timeout", "info"}
    assert body["tag_list"] == "a,b"
    assert (body["run_untagged"], body["locked"], body["paused"]) == (False, True, False)
    assert entry["headers"]["content-type"] == "application/json"
    assert entry["headers"]["accept"] == "application/json"


def test_wrong_registration_token_says_to_check_it(coordinator: RunningCoordinator) -> None:
    secret = "GR1348941wrongwrongwrong"
    with client_for(coordinator) as client, pytest.raises(ApiError) as err:
        client.register_runner(secret, run_untagged=True)
    assert err.value.status == 403
    assert err.value.endpoint.endswith("/api/v4/runners")
    message = str(err.value)
    assert "check the registration token" in message and "403" in message
    assert secret not in message and "\n" not in message


def test_disabled_registration_tokens_point_to_glrt_tokens(
    coordinator: RunningCoordinator,
) -> None:
    coordinator.inject_fault(path="/api/v4/runners", status=410,
                             body=json.dumps({"message": "410 Gone - runner registration "
                                              "disallowed"}))
    with client_for(coordinator) as client, pytest.raises(ApiError) as err:
        client.register_runner(coordinator.registration_token, run_untagged=True)
    assert err.value.status == 410
    assert err.value.api_message == "410 Gone - runner registration disallowed"
    assert "glrt-" in str(err.value) and "disabled" in str(err.value)


def test_validation_errors_are_flattened_field_by_field(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(
        path="/api/v4/runners", status=400,
        body=json.dumps({"message": {"tags_list": ["can not be empty when runner is not "
                                                   "allowed to pick untagged jobs"],
                                     "maximum_timeout": ["needs to be at least 10 minutes",
                                                         "is invalid"]}}),
    )
    with client_for(coordinator) as client, pytest.raises(ApiError) as err:
        client.register_runner(coordinator.registration_token)
    assert err.value.status == 400
    assert err.value.api_message == (
        "tags_list: can not be empty when runner is not allowed to pick untagged jobs, "
        "maximum_timeout: needs to be at least 10 minutes; is invalid"
    )


def test_success_status_without_json_is_reported_as_such(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(path="/api/v4/runners", status=201, body="<html>hi</html>",
                             content_type="text/html")
    with client_for(coordinator) as client, pytest.raises(ApiError) as err:
        client.register_runner(coordinator.registration_token, run_untagged=True)
    assert "not with JSON" in str(err.value) and "text/html" in str(err.value)


def test_created_runner_verifies_with_full_info_and_system_id(
    coordinator: RunningCoordinator,
) -> None:
    info = runner_info(executor="shell", shell="bash", features={"variables": True})
    with client_for(coordinator) as client:
        created = client.create_runner(coordinator.admin_token, description="made by test",
                                       tag_list=["x"])
        assert created.token.startswith("glrt-")
        verified = client.verify_runner(created.token, system_id=SYSTEM_ID, info=info)
    assert verified.id == created.id and verified.token == created.token
    [entry] = api_requests(coordinator.requests_log(), "POST", "runners/verify")
    assert entry["json"]["system_id"] == SYSTEM_ID
    sent = entry["json"]["info"]
    assert sent["name"] == "runnerfleet"
    assert sent["version"] == version.COMPATIBLE_GITLAB_RUNNER_VERSION
    assert sent["revision"] == version.REVISION
    assert set(sent["features"]) == set(FEATURE_KEYS)
    assert sent["config"] == {"gpus": ""} and sent["executor"] == "shell"
    # The runner token travels in the body and in the RUNNER-TOKEN header (masked in the log).
    assert entry["headers"].get("runner-token")


def test_every_call_sends_the_user_agent_and_a_fresh_request_id(
    coordinator: RunningCoordinator,
) -> None:
    with client_for(coordinator) as client:
        created = client.create_runner(coordinator.admin_token)
        client.verify_runner(created.token, system_id=SYSTEM_ID)
        client.verify_runner(created.token, system_id=SYSTEM_ID)
    entries = [e for e in coordinator.requests_log() if e["path"].startswith("/api/v4/")]
    ids = [e["headers"]["x-request-id"] for e in entries[-3:]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 3
    assert {e["headers"]["user-agent"] for e in entries[-3:]} == {version.user_agent()}


def test_unknown_runner_token_fails_verify_with_403(coordinator: RunningCoordinator) -> None:
    token = "glrt-t1_doesnotexist1234567"
    with client_for(coordinator) as client, pytest.raises(ApiError) as err:
        client.verify_runner(token, system_id=SYSTEM_ID)
    assert err.value.status == 403
    assert token not in str(err.value)
    assert "doesnotex" in str(err.value)  # the shortened token names the runner


def test_gitlab_16_plain_200_verify_answer_is_accepted(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(path="/api/v4/runners/verify", status=200, body="200",
                             content_type="text/plain")
    with client_for(coordinator) as client:
        reg = client.verify_runner("t1_legacy-runner-token-abc", system_id=SYSTEM_ID)
    assert reg == RunnerRegistration(id=0, token="t1_legacy-runner-token-abc",
                                     token_expires_at=None)


def test_unregistered_runner_no_longer_verifies(coordinator: RunningCoordinator) -> None:
    with client_for(coordinator) as client:
        reg = client.register_runner(coordinator.registration_token, run_untagged=True)
        client.unregister_runner(reg.token)
        with pytest.raises(ApiError) as err:
            client.verify_runner(reg.token, system_id=SYSTEM_ID)
    assert err.value.status == 403
    [entry] = api_requests(coordinator.requests_log(), "DELETE", "runners")
    assert entry["status"] == 204


def test_unregistering_a_manager_keeps_the_runner(coordinator: RunningCoordinator) -> None:
    with client_for(coordinator) as client:
        created = client.create_runner(coordinator.admin_token)
        client.verify_runner(created.token, system_id=SYSTEM_ID)
        client.unregister_runner_manager(created.token, SYSTEM_ID)
        with pytest.raises(ApiError) as err:
            client.unregister_runner_manager(created.token, SYSTEM_ID)
        assert client.verify_runner(created.token, system_id=SYSTEM_ID).id == created.id
    assert err.value.status == 404
    assert SYSTEM_ID in str(err.value)


def test_reset_token_issues_a_new_token_and_kills_the_old(coordinator: RunningCoordinator) -> None:
    with client_for(coordinator) as client:
        created = client.create_runner(coordinator.admin_token)
        reset = client.reset_token(created.token)
        assert reset.token and reset.token != created.token
        assert reset.token_expires_at is None or isinstance(reset.token_expires_at, datetime)
        assert client.verify_runner(reset.token, system_id=SYSTEM_ID).id == created.id
        with pytest.raises(ApiError) as err:
            client.verify_runner(created.token, system_id=SYSTEM_ID)
    assert err.value.status == 403


def test_reset_token_with_pat(coordinator: RunningCoordinator) -> None:
    with client_for(coordinator) as client:
        created = client.create_runner(coordinator.admin_token)
        reset = client.reset_token_with_pat(created.id, coordinator.admin_token)
        assert reset.token != created.token
        assert client.verify_runner(reset.token, system_id=SYSTEM_ID).id == created.id
        with pytest.raises(ApiError) as err:
            client.reset_token_with_pat(created.id, "glpat-notavalidtoken12345")
    assert err.value.status == 401
    assert "personal access token" in str(err.value)
    assert "glpat-notavalidtoken12345" not in str(err.value)


def test_create_runner_with_bad_pat_is_401(coordinator: RunningCoordinator) -> None:
    with client_for(coordinator) as client, pytest.raises(ApiError) as err:
        client.create_runner("glpat-bogusbogusbogus123")
    assert err.value.status == 401
    assert "check the personal access token" in str(err.value)
