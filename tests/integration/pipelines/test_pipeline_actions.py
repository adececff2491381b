"""`POST /pipelines/:id/cancel` and `/retry`: GitLab's answers and job status transitions."""

from __future__ import annotations

from pathlib import Path

from tests.integration.pipelines.conftest import Fleet, wait_until


def test_cancel_stops_the_running_job_through_its_runner_and_cancels_waiting_ones(
        fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
stages: [build, test, deploy]
slow:
  stage: build
  script: [echo slow started, sleep 300, echo slow finished]
nightly:
  stage: build
  when: delayed
  start_in: 1 hour
  script: [echo never]
test:
  stage: test
  script: [echo never]
release:
  stage: build
  when: manual
  script: [echo never]
"""})
    pid = fleet.create().json()["id"]
    fleet.start_runner()
    slow = fleet.jobs(pid)["slow"]["id"]
    wait_until("the slow job to run", lambda: "slow started" in fleet.trace(slow))
    answer = fleet.post(f"pipelines/{pid}/cancel")
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == pid
    assert answer.json()["status"] in ("canceling", "canceled")
    assert fleet.finished(pid)["status"] == "canceled"
    status = {n: j["status"] for n, j in fleet.jobs(pid).items()}
    # CANCELABLE_STATUSES: a manual job is not canceled with its pipeline.
    assert status == {"slow": "canceled", "nightly": "canceled", "test": "canceled",
                      "release": "manual"}
    assert "slow finished" not in fleet.trace(slow)
    again = fleet.post(f"pipelines/{pid}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "canceled"


def test_retry_recreates_failed_jobs_resets_skipped_ones_and_runs_the_pipeline_again(
        fleet: Fleet, tmp_path: Path) -> None:
    marker = tmp_path / "second-attempt"
    fleet.push({".gitlab-ci.yml": f"""
stages: [build, test, deploy]
ok:
  stage: build
  script: [echo ok]
flaky:
  stage: build
  script: ['test -f {marker} || {{ touch {marker}; exit 1; }}']
test:
  stage: test
  script: [echo tested]
cleanup:
  stage: deploy
  when: on_failure
  script: [echo cleanup]
"""})
    pid = fleet.create().json()["id"]
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "failed"
    first = fleet.jobs(pid)
    assert {n: j["status"] for n, j in first.items()} == {
        "ok": "success", "flaky": "failed", "test": "skipped", "cleanup": "success"}
    answer = fleet.post(f"pipelines/{pid}/retry")
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == pid
    assert answer.json()["status"] in ("pending", "running")
    assert fleet.finished(pid)["status"] == "success"
    second = fleet.jobs(pid)
    assert second["flaky"]["id"] != first["flaky"]["id"]
    assert second["ok"]["id"] == first["ok"]["id"]
    assert {n: j["status"] for n, j in second.items()} == {
        "ok": "success", "flaky": "success", "test": "success", "cleanup": "success"}
    every = fleet.api.get(f"/api/v4/projects/{fleet.project_id}/pipelines/{pid}/jobs",
                          params={"include_retried": "true"}).json()
    flaky = [(j["status"], j["retried"]) for j in every if j["name"] == "flaky"]
    assert sorted(flaky) == [("failed", True), ("success", False)]
    assert "tested" in fleet.trace(second["test"]["id"])


def test_retry_after_cancel_runs_the_canceled_jobs(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
build:
  stage: build
  script: [echo build]
deploy:
  stage: deploy
  script: [echo deployed]
"""})
    pid = fleet.create().json()["id"]
    assert fleet.post(f"pipelines/{pid}/cancel").json()["status"] == "canceled"
    assert {n: j["status"] for n, j in fleet.jobs(pid).items()} == {
        "build": "canceled", "deploy": "canceled"}
    assert fleet.post(f"pipelines/{pid}/retry").status_code == 201
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "success"
    assert "deployed" in fleet.trace(fleet.jobs(pid)["deploy"]["id"])


def test_cancel_and_retry_of_an_unknown_pipeline_answer_404(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": "build:\n  script: [echo]\n"})
    assert fleet.post("pipelines/999/cancel").status_code == 404
    assert fleet.post("pipelines/999/retry").status_code == 404
    anonymous = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/pipelines/1/cancel",
                               headers={"PRIVATE-TOKEN": ""})
    assert anonymous.status_code == 401
