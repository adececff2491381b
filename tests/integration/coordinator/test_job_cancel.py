"""Cancel and drop: `canceling` for graceful runner managers, `canceled` otherwise, then 403."""

from __future__ import annotations

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import (
    admin_post,
    enqueue,
    job,
    patch,
    put,
    request_job,
    take_job,
)


def test_graceful_cancel_goes_through_canceling_and_ends_canceled(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api, runner_features={"cancel_gracefully": True})
    r = admin_post(coordinator, f"/-/jobs/{p['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceling"
    r = patch(api, p, b"running after_script\n", 0)
    assert (r.status_code, r.headers["job-status"]) == (202, "canceling")
    r = put(api, p, state="running")
    assert (r.status_code, r.headers["job-status"]) == (200, "canceling")
    r = put(api, p, state="failed", failure_reason="unknown_failure")
    assert (r.status_code, r.headers["job-status"]) == (200, "canceled")
    assert job(coordinator, p["id"])["status"] == "canceled"
    r = patch(api, p, b"more", 21)
    assert r.status_code == 403 and r.headers["job-status"] == "canceled"


def test_cancel_without_cancel_gracefully_is_immediate(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api, runner_features={"cancel_gracefully": False})
    r = admin_post(coordinator, f"/-/jobs/{p['id']}/cancel")
    assert r.json()["status"] == "canceled"
    r = put(api, p, state="running")
    assert r.status_code == 403
    assert r.headers["job-status"] == "canceled"
    assert r.json() == {"message": "403 Forbidden - Job is not processing on runner"}
    r = patch(api, p, b"x", 0)
    assert (r.status_code, r.headers["job-status"]) == (403, "canceled")


def test_canceled_pending_job_is_never_handed_out(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    created = enqueue(coordinator)
    assert admin_post(coordinator, f"/-/jobs/{created['id']}/cancel").json()["status"] == "canceled"
    assert request_job(api, token).status_code == 204


def test_admin_drop_fails_the_job_with_the_reason(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    r = admin_post(coordinator, f"/-/jobs/{p['id']}/drop", failure_reason="runner_system_failure")
    assert (r.json()["status"], r.json()["failure_reason"]) == ("failed", "runner_system_failure")
    r = put(api, p, state="success")
    assert (r.status_code, r.headers["job-status"]) == (403, "failed")
    r = admin_post(coordinator, f"/-/jobs/{p['id']}/drop", failure_reason="no_such_reason")
    assert (r.status_code, r.json()) == (400, {"error": "failure_reason does not have a valid value"})
    r = admin_post(coordinator, "/-/jobs/424242/cancel")
    assert (r.status_code, r.json()) == (404, {"message": "404 Job Not Found"})
