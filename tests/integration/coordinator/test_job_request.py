"""`POST /jobs/request`: queue value, paused runners, matching, features, atomic assignment."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import (
    create_project,
    enqueue,
    job,
    request_job,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_unknown_runner_token_is_forbidden(api: httpx.Client) -> None:
    r = request_job(api, "glrt-t1_not-a-runner-token")
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})
    r = api.post("/jobs/request", json={})
    assert (r.status_code, r.json()) == (400, {"error": "token is missing"})


def test_no_job_answers_204_with_queue_value_and_the_same_value_is_echoed(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    first = request_job(api, token)
    assert first.status_code == 204 and first.content == b""
    value = first.headers["x-gitlab-last-update"]
    assert HEX32.match(value)
    again = request_job(api, token, last_update=value)
    assert again.status_code == 204
    assert again.headers["x-gitlab-last-update"] == value
    assert "gitlab-ci-builds-polling" not in again.headers  # long polling is off here

    created = enqueue(coordinator)
    taken = request_job(api, token, last_update=value)
    assert taken.status_code == 201
    assert taken.json()["id"] == created["id"]
    after = request_job(api, token, last_update=value)
    assert after.status_code == 204
    assert after.headers["x-gitlab-last-update"] != value  # the enqueue ticked the queue


def test_paused_runner_gets_204_with_queue_value_and_no_job(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    runner = coordinator.create_runner(paused=True)
    created = enqueue(coordinator)
    r = request_job(api, runner["token"])
    assert r.status_code == 204
    assert HEX32.match(r.headers["x-gitlab-last-update"])
    assert job(coordinator, created["id"])["status"] == "pending"


def test_request_records_the_runner_manager_and_its_features(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    runner = coordinator.create_runner()
    request_job(api, runner["token"], system_id="s_abcdefabcdef")
    managers = admin.get(f"/runners/{runner['id']}/managers").json()
    assert [m["system_id"] for m in managers] == ["s_abcdefabcdef"]
    assert managers[0]["version"] == "19.4.0"
    details = admin.get(f"/runners/{runner['id']}").json()
    assert details["status"] == "online" and details["contacted_at"] is not None


def test_oldest_pending_job_is_handed_out_first(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    ids = [enqueue(coordinator, name=f"job{i}")["id"] for i in range(3)]
    got = [request_job(api, token).json()["id"] for _ in range(3)]
    assert got == ids
    assert request_job(api, token).status_code == 204


def test_tags_must_be_a_subset_of_the_runner_tags(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    linux = coordinator.create_runner(tag_list="linux")["token"]
    both = coordinator.create_runner(tag_list="docker,linux")["token"]
    tagged = enqueue(coordinator, tags=["docker", "linux"])
    assert request_job(api, linux).status_code == 204
    r = request_job(api, both)
    assert r.status_code == 201 and r.json()["id"] == tagged["id"]


def test_untagged_jobs_need_run_untagged(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    strict = coordinator.create_runner(tag_list="docker", run_untagged=False)["token"]
    relaxed = coordinator.create_runner(tag_list="docker")["token"]
    untagged = enqueue(coordinator)
    assert request_job(api, strict).status_code == 204
    r = request_job(api, relaxed)
    assert r.status_code == 201 and r.json()["id"] == untagged["id"]


def test_untagged_runner_does_not_take_tagged_jobs(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    created = enqueue(coordinator, tags=["gpu"])
    assert request_job(api, token).status_code == 204
    assert job(coordinator, created["id"])["status"] == "pending"


def test_ref_protected_runner_takes_only_protected_refs(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner(access_level="ref_protected")["token"]
    enqueue(coordinator, name="unprotected")
    protected = enqueue(coordinator, name="protected", protected=True)
    r = request_job(api, token)
    assert r.status_code == 201 and r.json()["id"] == protected["id"]
    assert r.json()["git_info"]["protected"] is True
    assert request_job(api, token).status_code == 204


def test_project_and_group_runners_serve_only_their_projects(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    mine = create_project(coordinator, "team/sub/app")
    other = create_project(coordinator, "elsewhere/tool")
    project_runner = coordinator.create_runner(runner_type="project_type",
                                               project_id=mine["id"])["token"]
    team = create_project(coordinator, "team/lib")
    # The group runner belongs to "team/sub"'s parent group "team" (namespace of team/lib).
    group_runner = coordinator.create_runner(runner_type="group_type",
                                             group_id=team["namespace_id"])["token"]
    foreign = enqueue(coordinator, project="elsewhere/tool")
    assert request_job(api, project_runner).status_code == 204
    assert request_job(api, group_runner).status_code == 204
    own = enqueue(coordinator, project="team/sub/app")
    r = request_job(api, project_runner)
    assert r.status_code == 201 and r.json()["id"] == own["id"]
    sub = enqueue(coordinator, project="team/sub/app")
    r = request_job(api, group_runner)  # subgroup projects belong to the group too
    assert r.status_code == 201 and r.json()["id"] == sub["id"]
    assert job(coordinator, foreign["id"])["status"] == "pending"
    assert other["path"] == "elsewhere/tool"


def test_job_needing_an_unadvertised_feature_is_dropped_as_runner_unsupported(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    reports = enqueue(coordinator, artifacts=[{"name": "junit.xml", "paths": ["r.xml"],
                                               "when": "always", "artifact_type": "junit",
                                               "artifact_format": "gzip"}])
    plain = enqueue(coordinator)
    r = request_job(api, token, features={"upload_multiple_artifacts": False})
    assert r.status_code == 201 and r.json()["id"] == plain["id"]
    dropped = job(coordinator, reports["id"])
    assert (dropped["status"], dropped["failure_reason"]) == ("failed", "runner_unsupported")


def test_ten_concurrent_requesters_get_one_job_exactly_once(
    coordinator: RunningCoordinator,
) -> None:
    runners = [coordinator.create_runner() for _ in range(10)]
    created = enqueue(coordinator)

    def ask(token: str) -> httpx.Response:
        with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False,
                          timeout=30) as c:
            return request_job(c, token)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(ask, [r["token"] for r in runners]))
    winners = [i for i, r in enumerate(answers) if r.status_code == 201]
    assert len(winners) == 1
    assert {r.status_code for r in answers} <= {201, 204, 409}
    for r in answers:
        if r.status_code == 409:
            assert r.json() == {"message": "409 Conflict"}
    assert answers[winners[0]].json()["id"] == created["id"]
    assert job(coordinator, created["id"])["runner_id"] == runners[winners[0]]["id"]


def test_many_concurrent_requesters_share_many_jobs_without_duplicates(
    coordinator: RunningCoordinator,
) -> None:
    runners = [coordinator.create_runner() for _ in range(10)]
    ids = {enqueue(coordinator, name=f"j{i}")["id"] for i in range(20)}

    def drain(token: str) -> list[int]:
        taken: list[int] = []
        with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False,
                          timeout=30) as c:
            while True:
                r = request_job(c, token)
                if r.status_code == 201:
                    taken.append(r.json()["id"])
                elif r.status_code == 204:
                    return taken

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(drain, [r["token"] for r in runners]))
    flat = [i for taken in results for i in taken]
    assert sorted(flat) == sorted(ids)  # every job handed out once, none twice
