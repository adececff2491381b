"""`when: delayed` jobs wait as `scheduled` until `start_in` passed (or play), across restarts."""

from __future__ import annotations

import time
from datetime import datetime

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


def test_play_starts_a_scheduled_job_now_and_unplayable_jobs_answer_400(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
nightly:
  when: delayed
  start_in: 1 week
  script: [echo played early]
"""})
    pid = fleet.create().json()["id"]
    nightly = fleet.jobs(pid)["nightly"]
    assert nightly["status"] == "scheduled"
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
    fleet.push({".gitlab-ci.yml": """
later:
  when: delayed
  start_in: 2 seconds
  script: [echo after restart]
"""})
    pid = fleet.create().json()["id"]
    later = fleet.jobs(pid)["later"]
    assert later["status"] == "scheduled"
    fleet.coordinator.stop()
    # Let the due time pass while no coordinator runs.
    wait_until("the due time to pass", lambda: time.time() > _epoch(later["scheduled_at"]) + 0.5)
    fleet.restart_coordinator()
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "success"
    assert "after restart" in fleet.trace(later["id"])


def test_canceling_a_scheduled_job_keeps_it_from_running(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
later:
  when: delayed
  start_in: 1 hour
  script: [echo never]
"""})
    pid = fleet.create().json()["id"]
    later = fleet.jobs(pid)["later"]
    canceled = fleet.post(f"jobs/{later['id']}/cancel")
    assert canceled.status_code == 201
    assert canceled.json()["status"] == "canceled" and canceled.json()["scheduled_at"] is None
    assert fleet.pipeline(pid)["status"] == "canceled"
