"""Admin runner REST API with the PAT: list, show, update, delete, managers; unknown routes."""

from __future__ import annotations

import httpx

from tests.fixtures.coordinator import RunningCoordinator

LIST_KEYS = {"id", "description", "ip_address", "active", "paused", "is_shared", "runner_type",
             "name", "online", "status"}


def test_list_all_runners_with_gitlab_shape_and_pagination_headers(
    coordinator: RunningCoordinator, admin: httpx.Client
) -> None:
    ids = [coordinator.create_runner(description=f"r{i}")["id"] for i in range(3)]
    r = admin.get("/runners/all", params={"per_page": 2})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert (r.headers["x-total"], r.headers["x-page"], r.headers["x-per-page"]) == ("3", "1", "2")
    assert r.headers["x-next-page"] == "2" and r.headers["x-total-pages"] == "2"
    first = r.json()
    assert [x["id"] for x in first] == ids[:2]
    assert set(first[0]) >= LIST_KEYS
    assert first[0]["is_shared"] is True and first[0]["runner_type"] == "instance_type"
    assert first[0]["status"] == "never_contacted" and first[0]["online"] is False
    second = admin.get("/runners/all", params={"per_page": 2, "page": 2}).json()
    assert [x["id"] for x in second] == ids[2:]


def test_list_filters_by_paused_and_tags(
    coordinator: RunningCoordinator, admin: httpx.Client
) -> None:
    a = coordinator.create_runner(tag_list="docker,linux")["id"]
    b = coordinator.create_runner(paused=True)["id"]
    assert [x["id"] for x in admin.get("/runners/all", params={"paused": True}).json()] == [b]
    tagged = admin.get("/runners/all", params={"tag_list": "docker"}).json()
    assert [x["id"] for x in tagged] == [a]
    r = admin.get("/runners/all", params={"type": "cloud_type"})
    assert (r.status_code, r.json()) == (400, {"error": "type does not have a valid value"})


def test_owned_runner_list_excludes_instance_runners(
    coordinator: RunningCoordinator, admin: httpx.Client
) -> None:
    coordinator.create_runner()
    r = admin.get("/runners")
    assert r.status_code == 200 and r.json() == []
    assert r.headers["x-total"] == "0"


def test_admin_endpoints_need_the_pat(coordinator: RunningCoordinator, api: httpx.Client) -> None:
    runner_id = coordinator.create_runner()["id"]
    for method, path in (("GET", "/runners/all"), ("GET", "/runners"),
                         ("GET", f"/runners/{runner_id}"), ("PUT", f"/runners/{runner_id}"),
                         ("DELETE", f"/runners/{runner_id}"),
                         ("GET", f"/runners/{runner_id}/managers")):
        r = api.request(method, path)
        assert (r.status_code, r.json()) == (401, {"message": "401 Unauthorized"}), path


def test_update_runner_attributes(coordinator: RunningCoordinator, admin: httpx.Client) -> None:
    runner_id = coordinator.create_runner()["id"]
    r = admin.put(f"/runners/{runner_id}", json={
        "description": "edited", "paused": True, "tag_list": ["a", "b"], "run_untagged": False,
        "locked": True, "access_level": "ref_protected", "maximum_timeout": 7200,
        "maintenance_note": "note"})
    assert r.status_code == 200
    body = r.json()
    assert body["description"] == "edited"
    assert body["paused"] is True and body["active"] is False
    assert body["tag_list"] == ["a", "b"] and body["run_untagged"] is False
    assert body["locked"] is True and body["access_level"] == "ref_protected"
    assert body["maximum_timeout"] == 7200 and body["maintenance_note"] == "note"
    assert admin.get(f"/runners/{runner_id}").json() == body


def test_update_runner_validation_answers(
    coordinator: RunningCoordinator, admin: httpx.Client
) -> None:
    runner_id = coordinator.create_runner()["id"]
    r = admin.put(f"/runners/{runner_id}", json={"run_untagged": False})
    assert r.status_code == 400
    assert r.json() == {"message": {
        "tags_list": ["can not be empty when runner is not allowed to pick untagged jobs"]}}
    r = admin.put(f"/runners/{runner_id}", json={})
    assert r.status_code == 400
    assert r.json()["error"].endswith("are missing, at least one parameter must be provided")
    r = admin.put(f"/runners/{runner_id}", json={"maximum_timeout": 10})
    assert r.json() == {"message": {"maximum_timeout": ["needs to be at least 10 minutes"]}}


def test_show_update_delete_unknown_runner_is_404(admin: httpx.Client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = admin.request(method, "/runners/999", json={"description": "x"})
        assert (r.status_code, r.json()) == (404, {"message": "404 Runner Not Found"})
    r = admin.get("/runners/abc")
    assert (r.status_code, r.json()) == (400, {"error": "id is invalid"})


def test_delete_runner_by_id(coordinator: RunningCoordinator, admin: httpx.Client,
                             api: httpx.Client) -> None:
    created = coordinator.create_runner()
    r = admin.delete(f"/runners/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    assert admin.get(f"/runners/{created['id']}").status_code == 404
    r = api.post("/runners/verify", json={"token": created["token"]})
    assert r.status_code == 403


def test_unknown_route_is_grape_404(api: httpx.Client) -> None:
    for method, path in (("GET", "/nothing/here"), ("POST", "/runners/verify/extra"),
                         ("PATCH", "/runners")):
        r = api.request(method, path)
        assert r.status_code == 404
        assert r.json() == {"error": "404 Not Found"}
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-request-id"]
