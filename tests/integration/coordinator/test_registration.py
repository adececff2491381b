"""Creating runners: legacy `POST /runners` and `POST /user/runners`, answered as GitLab does."""

from __future__ import annotations

import re

import httpx

from tests.fixtures.coordinator import RunningCoordinator

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _set(coordinator: RunningCoordinator, **settings: object) -> None:
    with coordinator._admin() as c:
        r = c.put("/-/settings", json=settings)
        assert r.status_code == 200, r.text


# -- legacy registration ---------------------------------------------------------------------


def test_register_with_instance_token_creates_instance_runner(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    r = api.post("/runners", json={
        "token": coordinator.registration_token, "description": "legacy", "tag_list": "a, b,",
        "run_untagged": False, "locked": True, "access_level": "ref_protected",
        "maximum_timeout": 3600, "paused": True, "info": {"name": "gitlab-runner"},
    })
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    assert ULID.match(r.headers["x-request-id"])
    body = r.json()
    assert set(body) == {"id", "token", "token_expires_at"}
    assert body["token"].startswith("t1_") and len(body["token"]) > 20
    assert body["token_expires_at"] is None

    details = admin.get(f"/runners/{body['id']}").json()
    assert details["runner_type"] == "instance_type" and details["is_shared"] is True
    assert details["description"] == "legacy"
    assert details["tag_list"] == ["a", "b"]
    assert details["run_untagged"] is False and details["locked"] is True
    assert details["access_level"] == "ref_protected"
    assert details["maximum_timeout"] == 3600
    assert details["paused"] is True and details["active"] is False
    assert details["name"] == "gitlab-runner"


def test_register_accepts_tag_list_as_array_and_maintainer_note_alias(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    r = api.post("/runners", json={"token": coordinator.registration_token,
                                   "tag_list": ["x", "y,z"], "maintainer_note": "old name"})
    assert r.status_code == 201
    details = admin.get(f"/runners/{r.json()['id']}").json()
    assert details["tag_list"] == ["x", "y", "z"]
    assert details["maintenance_note"] == "old name"
    assert details["active"] is True and details["run_untagged"] is True


def test_register_with_unknown_or_empty_token_is_forbidden(api: httpx.Client) -> None:
    for token in ("GR1348941wrongwrongwrong", ""):
        r = api.post("/runners", json={"token": token})
        assert r.status_code == 403
        assert r.json() == {"message": "403 Forbidden - invalid token supplied"}
        assert r.headers["content-type"] == "application/json"


def test_register_without_token_is_a_grape_missing_parameter(api: httpx.Client) -> None:
    r = api.post("/runners", json={"description": "x"})
    assert r.status_code == 400
    assert r.json() == {"error": "token is missing"}


def test_register_without_tags_and_without_untagged_jobs_is_a_validation_error(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    r = api.post("/runners", json={"token": coordinator.registration_token,
                                   "run_untagged": False})
    assert r.status_code == 400
    assert r.json() == {"message": {
        "tags_list": ["can not be empty when runner is not allowed to pick untagged jobs"]}}


def test_register_with_short_maximum_timeout_is_a_validation_error(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    r = api.post("/runners", json={"token": coordinator.registration_token,
                                   "maximum_timeout": 599})
    assert r.status_code == 400
    assert r.json() == {"message": {"maximum_timeout": ["needs to be at least 10 minutes"]}}


def test_register_with_bad_access_level_or_types_names_the_parameter(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.registration_token
    r = api.post("/runners", json={"token": token, "access_level": "everything"})
    assert (r.status_code, r.json()) == (400, {"error": "access_level does not have a valid value"})
    r = api.post("/runners", json={"token": token, "maximum_timeout": "soon"})
    assert (r.status_code, r.json()) == (400, {"error": "maximum_timeout is invalid"})
    r = api.post("/runners", json={"token": token, "locked": "maybe"})
    assert (r.status_code, r.json()) == (400, {"error": "locked is invalid"})


def test_register_refuses_mutually_exclusive_aliases(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.registration_token
    r = api.post("/runners", json={"token": token, "paused": True, "active": True})
    assert (r.status_code, r.json()) == (400, {"error": "active, paused are mutually exclusive"})
    r = api.post("/runners", json={"token": token, "maintainer_note": "a",
                                   "maintenance_note": "b"})
    assert r.status_code == 400
    assert r.json() == {"error": "maintainer_note, maintenance_note are mutually exclusive"}


def test_register_accepts_form_encoded_parameters(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    r = api.post("/runners", data={"token": coordinator.registration_token, "tag_list": "f"})
    assert r.status_code == 201
    assert r.json()["token"].startswith("t1_")


def test_register_is_gone_when_registration_tokens_are_disabled(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    _set(coordinator, allow_runner_registration_token=False)
    for token in (coordinator.registration_token, "anything-else"):
        r = api.post("/runners", json={"token": token})
        assert r.status_code == 410
        assert r.json() == {"message": "410 Gone - runner registration disallowed"}
    r = api.post("/runners", json={"token": ""})
    assert r.json() == {"message": "403 Forbidden - invalid token supplied"}

    _set(coordinator, allow_runner_registration_token=True)
    assert api.post("/runners", json={"token": coordinator.registration_token}).status_code == 201


def test_malformed_json_body_is_a_400(coordinator: RunningCoordinator, api: httpx.Client) -> None:
    r = api.post("/runners", content=b"{not json",
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": "message body does not match declared format"}


# -- POST /user/runners ------------------------------------------------------------------------


def test_create_runner_with_pat_returns_glrt_token(
    coordinator: RunningCoordinator, admin: httpx.Client
) -> None:
    r = admin.post("/user/runners", json={"runner_type": "instance_type", "description": "new",
                                          "tag_list": "docker,linux", "paused": True})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"id", "token", "token_expires_at"}
    assert body["token"].startswith("glrt-t1_")
    details = admin.get(f"/runners/{body['id']}").json()
    assert details["tag_list"] == ["docker", "linux"]
    assert details["paused"] is True
    assert details["status"] == "never_contacted"
    assert admin.get(f"/runners/{body['id']}/managers").json() == []


def test_create_runner_accepts_bearer_authorization(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    r = api.post("/user/runners", json={"runner_type": "instance_type"},
                 headers={"Authorization": f"Bearer {coordinator.admin_token}"})
    assert r.status_code == 201


def test_create_runner_without_or_with_bad_pat_is_unauthorized(api: httpx.Client) -> None:
    r = api.post("/user/runners", json={"runner_type": "instance_type"})
    assert (r.status_code, r.json()) == (401, {"message": "401 Unauthorized"})
    r = api.post("/user/runners", json={"runner_type": "instance_type"},
                 headers={"PRIVATE-TOKEN": "glpat-not-a-real-token-xx"})
    assert (r.status_code, r.json()) == (401, {"message": "401 Unauthorized"})


def test_create_runner_validates_runner_type(admin: httpx.Client) -> None:
    r = admin.post("/user/runners", json={})
    assert (r.status_code, r.json()) == (400, {"error": "runner_type is missing"})
    r = admin.post("/user/runners", json={"runner_type": "shared"})
    assert (r.status_code, r.json()) == (400, {"error": "runner_type does not have a valid value"})


def test_create_group_or_project_runner_needs_an_existing_scope(admin: httpx.Client) -> None:
    r = admin.post("/user/runners", json={"runner_type": "group_type"})
    assert (r.status_code, r.json()) == (400, {"error": "group_id is missing"})
    r = admin.post("/user/runners", json={"runner_type": "project_type"})
    assert (r.status_code, r.json()) == (400, {"error": "project_id is missing"})
    r = admin.post("/user/runners", json={"runner_type": "group_type", "group_id": 999})
    assert (r.status_code, r.json()) == (400, {"message": "400 Bad request - Missing/invalid group"})
    r = admin.post("/user/runners", json={"runner_type": "project_type", "project_id": 999})
    assert r.status_code == 400
    assert r.json() == {"message": "400 Bad request - Missing/invalid project"}


def test_create_runner_reports_model_validation_as_a_sentence(admin: httpx.Client) -> None:
    r = admin.post("/user/runners", json={"runner_type": "instance_type", "run_untagged": False,
                                          "maximum_timeout": 60})
    assert r.status_code == 400
    assert r.json() == {"message": "400 Bad request - Tags list can not be empty when runner is "
                                   "not allowed to pick untagged jobs and Maximum timeout needs "
                                   "to be at least 10 minutes"}


def test_token_expiration_interval_setting_sets_token_expires_at(
    coordinator: RunningCoordinator, admin: httpx.Client
) -> None:
    _set(coordinator, runner_token_expiration_interval=7200)
    body = admin.post("/user/runners", json={"runner_type": "instance_type"}).json()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["token_expires_at"])
