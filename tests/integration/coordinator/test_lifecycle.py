"""Runner-token endpoints: verify, unregister runner/manager, token reset, router discovery."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.fixtures.coordinator import RunningCoordinator

INFO: dict[str, Any] = {
    "name": "gitlab-runner", "version": "19.4.0", "revision": "d79f3e7b", "platform": "linux",
    "architecture": "amd64", "executor": "docker", "shell": "bash",
    "features": {"cancel_gracefully": True, "variables": True},
    "config": {"gpus": ""}, "labels": {"region": "eu-west"},
}


def _verify(api: httpx.Client, token: str, **body: Any) -> httpx.Response:
    return api.post("/runners/verify", json={"token": token, **body},
                    headers={"RUNNER-TOKEN": token})


def test_verify_answers_registration_details_and_creates_the_system_manager(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    created = coordinator.create_runner()
    r = _verify(api, created["token"], system_id="s_0a1b2c3d4e5f", info=INFO)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"id": created["id"], "token": created["token"], "token_expires_at": None}

    managers = admin.get(f"/runners/{created['id']}/managers").json()
    assert [m["system_id"] for m in managers] == ["s_0a1b2c3d4e5f"]
    m = managers[0]
    assert (m["version"], m["revision"], m["platform"], m["architecture"]) == (
        "19.4.0", "d79f3e7b", "linux", "amd64")
    assert m["ip_address"] == "127.0.0.1" and m["status"] == "online"
    assert m["contacted_at"] is not None

    details = admin.get(f"/runners/{created['id']}").json()
    assert details["online"] is True and details["status"] == "online"
    assert details["version"] == "19.4.0"
    assert details["contacted_at"] is not None


def test_verify_without_system_id_uses_the_legacy_manager_once(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    created = coordinator.create_runner()
    assert _verify(api, created["token"]).status_code == 200
    assert _verify(api, created["token"], info=INFO).status_code == 200
    managers = admin.get(f"/runners/{created['id']}/managers").json()
    assert [m["system_id"] for m in managers] == ["<legacy>"]
    assert managers[0]["version"] == "19.4.0"


def test_verify_with_unknown_token_is_forbidden_and_missing_token_is_400(
    api: httpx.Client,
) -> None:
    r = _verify(api, "glrt-t1_unknownunknownunknown")
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})
    r = api.post("/runners/verify", json={"system_id": "s_0a1b2c3d4e5f"})
    assert (r.status_code, r.json()) == (400, {"error": "token is missing"})


def test_delete_manager_removes_only_that_host(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    created = coordinator.create_runner()
    token = created["token"]
    _verify(api, token, system_id="s_aaaaaaaaaaaa")
    _verify(api, token, system_id="s_bbbbbbbbbbbb")

    r = api.request("DELETE", "/runners/managers",
                    json={"token": token, "system_id": "s_aaaaaaaaaaaa"})
    assert r.status_code == 204 and r.content == b""
    managers = admin.get(f"/runners/{created['id']}/managers").json()
    assert [m["system_id"] for m in managers] == ["s_bbbbbbbbbbbb"]
    assert _verify(api, token).status_code == 200


def test_delete_manager_error_answers(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    r = api.request("DELETE", "/runners/managers",
                    json={"token": token, "system_id": "s_nonexistent0"})
    # GitLab calls not_found!('Runner manager not found'), which appends "Not Found".
    assert (r.status_code, r.json()) == (
        404, {"message": "404 Runner manager not found Not Found"})
    r = api.request("DELETE", "/runners/managers", json={"token": token})
    assert (r.status_code, r.json()) == (400, {"error": "system_id is missing"})
    r = api.request("DELETE", "/runners/managers",
                    json={"token": "t1_nottherightonenotright", "system_id": "s_x"})
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})


def test_delete_runner_removes_runner_and_managers(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    created = coordinator.create_runner()
    _verify(api, created["token"], system_id="s_aaaaaaaaaaaa")
    r = api.request("DELETE", "/runners", json={"token": created["token"]})
    assert r.status_code == 204 and r.content == b""
    assert _verify(api, created["token"]).status_code == 403
    r = admin.get(f"/runners/{created['id']}/managers")
    assert (r.status_code, r.json()) == (404, {"message": "404 Runner Not Found"})
    r = api.request("DELETE", "/runners", json={"token": created["token"]})
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})


def test_reset_token_kills_the_old_token_at_once(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    old = coordinator.create_runner()["token"]
    r = api.post("/runners/reset_authentication_token", json={"token": old})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"token", "token_expires_at"}
    assert body["token"].startswith("glrt-t1_") and body["token"] != old
    assert _verify(api, old).status_code == 403
    assert _verify(api, body["token"]).status_code == 200
    r = api.post("/runners/reset_authentication_token", json={"token": old})
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})


def test_reset_token_with_pat(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    created = coordinator.create_runner()
    r = admin.post(f"/runners/{created['id']}/reset_authentication_token")
    assert r.status_code == 201
    new = r.json()["token"]
    assert new != created["token"]
    assert _verify(api, created["token"]).status_code == 403
    assert _verify(api, new).status_code == 200

    r = api.post(f"/runners/{created['id']}/reset_authentication_token")
    assert (r.status_code, r.json()) == (401, {"message": "401 Unauthorized"})
    r = admin.post("/runners/424242/reset_authentication_token")
    assert (r.status_code, r.json()) == (404, {"message": "404 Runner Not Found"})


def test_legacy_runner_can_be_verified_and_unregistered(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = api.post("/runners", json={"token": coordinator.registration_token}).json()["token"]
    assert _verify(api, token, system_id="s_cccccccccccc").status_code == 200
    assert api.request("DELETE", "/runners", json={"token": token}).status_code == 204
    assert _verify(api, token).status_code == 403


def test_router_discovery_is_not_implemented_for_valid_runners(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    r = api.get("/runners/router/discovery", headers={"Runner-Token": token})
    assert r.status_code == 501
    assert r.json() == {
        "message": "Job Router is not available. Please contact your administrator."}
    r = api.get("/runners/router/discovery", headers={"Runner-Token": "nope"})
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})


def test_token_expiration_interval_applies_to_created_and_reset_tokens(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    with coordinator._admin() as c:
        assert c.put("/-/settings", json={"runner_token_expiration_interval": 7200}).is_success
    created = coordinator.create_runner()
    assert created["token_expires_at"] is not None
    r = api.post("/runners/reset_authentication_token", json={"token": created["token"]})
    assert r.json()["token_expires_at"] is not None
    with coordinator._admin() as c:
        r = c.put("/-/settings", json={"runner_token_expiration_interval": None})
        assert r.json()["runner_token_expiration_interval"] is None
    assert coordinator.create_runner()["token_expires_at"] is None


def test_expired_token_no_longer_authenticates(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    with coordinator._admin() as c:
        assert c.put("/-/settings", json={"runner_token_expiration_interval": 1}).is_success
    created = coordinator.create_runner()
    expires = datetime.strptime(created["token_expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(max(0.0, expires.replace(tzinfo=UTC).timestamp() - time.time()) + 0.2)
    r = _verify(api, created["token"])
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})
