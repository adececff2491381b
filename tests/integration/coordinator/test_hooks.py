"""Test hooks: injected faults, the request log with masked secrets, and admin settings."""

from __future__ import annotations

import httpx

from tests.fixtures.coordinator import RunningCoordinator


def test_fault_answers_exactly_count_times_then_the_real_answer_returns(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    coordinator.inject_fault(path="/api/v4/runners/verify", status=503, count=2,
                             headers={"Retry-After": "7"}, body='{"message":"down"}')
    for _ in range(2):
        r = api.post("/runners/verify", json={"token": token})
        assert r.status_code == 503
        assert r.json() == {"message": "down"}
        assert r.headers["retry-after"] == "7"
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-request-id"]
    assert api.post("/runners/verify", json={"token": token}).status_code == 200


def test_fault_matches_method_and_path_only(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    coordinator.inject_fault(method="DELETE", path="/api/v4/runners", status=500,
                             body="boom", content_type="text/plain")
    assert api.post("/runners", json={"token": coordinator.registration_token}).status_code == 201
    r = api.request("DELETE", "/runners", json={"token": "x"})
    assert (r.status_code, r.text, r.headers["content-type"]) == (500, "boom", "text/plain")


def test_faults_can_be_cleared(coordinator: RunningCoordinator, api: httpx.Client) -> None:
    coordinator.inject_fault(path="/api/v4/runners", status=429, count=5)
    with coordinator._admin() as c:
        r = c.delete("/-/faults")
        assert r.status_code == 204
    assert api.post("/runners", json={"token": coordinator.registration_token}).status_code == 201


def test_hooks_need_the_admin_pat(coordinator: RunningCoordinator) -> None:
    with httpx.Client(base_url=coordinator.url, trust_env=False) as c:
        for method, path in (("POST", "/-/faults"), ("DELETE", "/-/faults"),
                             ("GET", "/-/requests"), ("PUT", "/-/settings")):
            r = c.request(method, path, json={})
            assert (r.status_code, r.json()) == (401, {"message": "401 Unauthorized"})


def test_request_log_lists_api_requests_oldest_first_with_secrets_masked(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    created = coordinator.create_runner()
    token = created["token"]
    api.post("/runners/verify", json={"token": token, "system_id": "s_0a1b2c3d4e5f",
                                      "info": {"session": {"authorization": "Bearer secret"}}},
             headers={"RUNNER-TOKEN": token, "JOB-TOKEN": "glcbt-abcdefghijklmnopqrstuvwxyz"})
    api.get("/nowhere")
    log = coordinator.requests_log()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/api/v4/user/runners", 201),
        ("POST", "/api/v4/runners/verify", 200),
        ("GET", "/api/v4/nowhere", 404),
    ]
    verify = log[1]
    assert verify["json"]["system_id"] == "s_0a1b2c3d4e5f"
    assert verify["time"].endswith("Z")
    text = str(log)
    assert token not in text and coordinator.admin_token not in text
    assert "glcbt-abcdefghijklmnopqrstuvwxyz" not in text and "Bearer secret" not in text
    assert verify["json"]["token"] != token and verify["json"]["token"]
    assert verify["headers"]["runner-token"] == verify["json"]["token"]
    assert log[0]["headers"]["private-token"] != coordinator.admin_token
    assert log[2]["json"] is None


def test_request_log_records_faulted_answers(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    coordinator.inject_fault(path="/api/v4/jobs/request", status=500)
    api.post("/jobs/request", json={"token": "t"})
    log = coordinator.requests_log()
    assert [(e["path"], e["status"]) for e in log] == [("/api/v4/jobs/request", 500)]


def test_settings_read_and_update(coordinator: RunningCoordinator) -> None:
    with coordinator._admin() as c:
        before = c.get("/-/settings").json()
        assert before["allow_runner_registration_token"] is True
        r = c.put("/-/settings", json={"allow_runner_registration_token": False})
        assert r.status_code == 200
        assert r.json()["allow_runner_registration_token"] is False
        r = c.put("/-/settings", json={"allow_runner_registration_token": "perhaps"})
        assert (r.status_code, r.json()) == (400, {
            "error": "allow_runner_registration_token is invalid"})
        assert coordinator.admin_token not in c.get("/-/settings").text
