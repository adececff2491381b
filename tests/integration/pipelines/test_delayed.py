"""`when: delayed` jobs wait as `scheduled` until `start_in` passed (or play), across restarts."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from tests.integration.pipelines.conftest import Fleet, wait_until


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_delayed_job_is_scheduled_start_in_after_its_stage_and_then_runs(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
build:
  stage: build
  script: [echo build]
later:
  stage: deploy
  when: delayed
  start_in: 3 seconds
  script: [echo later ran]
"""})
    pid = fleet.create().json()["id"]
    assert fleet.jobs(pid)["later"]["status"] == "created"
    assert fleet.jobs(pid)["later"]["scheduled_at"] is None
    fleet.start_runner()
    later = wait_until("the delayed job to be scheduled",
                       lambda: (j := fleet.jobs(pid)["later"])["status"] == "scheduled" and j)
    build = fleet.jobs(pid)["build"]
    assert build["status"] == "success"
    # The delay counts from when the job could run (its stage's turn), as GitLab's does.
    assert _epoch(later["scheduled_at"]) >= _epoch(build["finished_at"]) + 3 - 0.01
    assert fleet.pipeline(pid)["status"] == "scheduled"
    assert fleet.finished(pid)["status"] == "success"
    done = fleet.jobs(pid)["later"]
    assert done["status"] == "success" and done["scheduled_at"] is None
    assert _epoch(done["started_at"]) >= _epoch(later["scheduled_at"])
    assert "later ran" in fleet.trace(done["id"])


def _scheduled(fleet: Fleet, name: str, start_in: str, script: str) -> tuple[int, dict[str, Any]]:
    """A pipeline of one delayed job, and that job (already `scheduled`)."""
    fleet.push({".gitlab-ci.yml": f"{name}:\n  when: delayed\n  start_in: {start_in}\n"
                                  f"  script: [{script}]\n"})
    pid = int(fleet.create().json()["id"])
    job = fleet.jobs(pid)[name]
    assert job["status"] == "scheduled"
    return pid, job


def test_play_starts_a_scheduled_job_now_and_unplayable_jobs_answer_400(fleet: Fleet) -> None:
    pid, nightly = _scheduled(fleet, "nightly", "1 week", "echo played early")
    assert _epoch(nightly["scheduled_at"]) > time.time() + 6 * 86400
    played = fleet.post(f"jobs/{nightly['id']}/play")
    assert played.status_code == 200, played.text
    assert played.json()["status"] == "pending" and played.json()["scheduled_at"] is None
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "success"
    assert "played early" in fleet.trace(nightly["id"])
    again = fleet.post(f"jobs/{nightly['id']}/play")
    assert again.status_code == 400
    assert again.json() == {"message": "400 Bad request - Unplayable Job"}


def test_scheduled_job_is_enqueued_by_a_restarted_coordinator(fleet: Fleet) -> None:
    pid, later = _scheduled(fleet, "later", "2 seconds", "echo after restart")
    fleet.coordinator.stop()
    # Let the due time pass while no coordinator runs.
    wait_until("the due time to pass", lambda: time.time() > _epoch(later["scheduled_at"]) + 0.5)
    fleet.restart_coordinator()
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "success"
    assert "after restart" in fleet.trace(later["id"])


def test_canceling_a_scheduled_job_keeps_it_from_running(fleet: Fleet) -> None:
    pid, later = _scheduled(fleet, "later", "1 hour", "echo never")
    canceled = fleet.post(f"jobs/{later['id']}/cancel")
    assert canceled.status_code == 201
    assert canceled.json()["status"] == "canceled" and canceled.json()["scheduled_at"] is None
    assert fleet.pipeline(pid)["status"] == "canceled"
