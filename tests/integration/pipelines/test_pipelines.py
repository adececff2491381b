"""Pipelines created with GitLab's REST API advance stage by stage and by `needs` on a shell runner."""

from __future__ import annotations

from tests.integration.pipelines.conftest import Fleet, wait_until

STAGES = """
stages: [build, test, deploy]
build:
  stage: build
  script: [mkdir -p out, echo built-$GREETING > out/a.txt, "echo BUILD $(date +%s%N)"]
  artifacts: {paths: [out/]}
test:
  stage: test
  script: [cat out/a.txt, "echo TEST $(date +%s%N)"]
deploy:
  stage: deploy
  script: ["echo DEPLOY $(date +%s%N)"]
"""


def _stamp(trace: str, word: str) -> int:
    line = next(x for x in trace.splitlines() if f"{word} " in x and "echo" not in x)
    return int(line.rsplit(" ", 1)[-1].strip())


def test_stages_run_in_order_and_artifacts_reach_the_next_stage(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": STAGES})
    created = fleet.create(variables=[{"key": "GREETING", "value": "hi"}])
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["status"] == "pending"
    jobs = fleet.jobs(pid)
    assert (jobs["build"]["status"], jobs["test"]["status"], jobs["deploy"]["status"]) == (
        "pending", "created", "created")
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "success"
    jobs = fleet.jobs(pid)
    assert {n: j["status"] for n, j in jobs.items()} == {
        "build": "success", "test": "success", "deploy": "success"}
    traces = {n: fleet.trace(j["id"]) for n, j in jobs.items()}
    assert "built-hi" in traces["test"]
    assert _stamp(traces["build"], "BUILD") < _stamp(traces["test"], "TEST") < _stamp(
        traces["deploy"], "DEPLOY")
    listed = fleet.api.get(f"/api/v4/projects/{fleet.project_id}/pipelines").json()
    assert [p["id"] for p in listed] == [pid] and listed[0]["status"] == "success"


def test_needs_start_a_job_before_its_stage_and_failure_runs_on_failure_jobs(
        fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
stages: [build, test, deploy]
slow:
  stage: build
  script: [exit 1]
fast:
  stage: build
  script: [echo fast]
dag:
  stage: test
  needs: [fast]
  script: [echo dag ran]
after:
  stage: test
  script: [echo never]
cleanup:
  stage: deploy
  when: on_failure
  script: [echo cleaning up]
always:
  stage: deploy
  when: always
  script: [echo always]
"""})
    pid = fleet.create().json()["id"]
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "failed"
    status = {n: j["status"] for n, j in fleet.jobs(pid).items()}
    assert status == {"slow": "failed", "fast": "success", "dag": "success", "after": "skipped",
                      "cleanup": "success", "always": "success"}


def test_allow_failure_jobs_do_not_block_the_pipeline(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
flaky:
  stage: build
  allow_failure: true
  script: [exit 3]
test:
  stage: test
  script: [echo ok]
"""})
    pid = fleet.create().json()["id"]
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "success"
    jobs = fleet.jobs(pid)
    assert jobs["flaky"]["status"] == "failed" and jobs["flaky"]["allow_failure"] is True
    assert jobs["test"]["status"] == "success"


def test_manual_job_waits_for_play_and_then_runs(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
build:
  stage: build
  script: [echo build]
release:
  stage: deploy
  when: manual
  allow_failure: false
  script: [echo released]
"""})
    pid = fleet.create().json()["id"]
    fleet.start_runner()
    wait_until("the manual job to wait", lambda: fleet.jobs(pid)["release"]["status"] == "manual")
    assert fleet.pipeline(pid)["status"] == "manual"
    release = fleet.jobs(pid)["release"]["id"]
    played = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/jobs/{release}/play")
    assert played.status_code == 200 and played.json()["status"] == "pending"
    assert fleet.finished(pid)["status"] == "success"
    assert "released" in fleet.trace(release)
    again = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/jobs/{release}/play")
    assert again.status_code == 400
    assert again.json() == {"message": "400 Bad request - Unplayable Job"}


def test_retry_replaces_a_failed_job_and_cancel_stops_a_waiting_one(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
build:
  stage: build
  script: ['test -f /nonexistent-$CI_JOB_ID-marker || exit 1']
deploy:
  stage: deploy
  script: [echo deploy]
"""})
    pid = fleet.create().json()["id"]
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "failed"
    old = fleet.jobs(pid)["build"]
    assert fleet.jobs(pid)["deploy"]["status"] == "skipped"
    retried = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/jobs/{old['id']}/retry")
    assert retried.status_code == 201 and retried.json()["id"] != old["id"]
    assert fleet.finished(pid)["status"] == "failed"
    listed = fleet.api.get(f"/api/v4/projects/{fleet.project_id}/pipelines/{pid}/jobs",
                           params={"include_retried": "true"}).json()
    assert [j["name"] for j in listed].count("build") == 2
    deploy = fleet.jobs(pid)["deploy"]
    assert deploy["status"] == "skipped"
    denied = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/jobs/{old['id']}/retry")
    assert denied.status_code == 403


def test_malformed_ci_file_answers_gitlab_lint_error(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": "build:\n  script: [echo\n  stage: [\n"})
    answer = fleet.create()
    assert answer.status_code == 400
    problems = answer.json()["message"]["base"]
    assert problems and all(isinstance(p, str) and p for p in problems)
    # Psych's message, as GitLab shows it: no file name, the line and column of the problem.
    assert problems[0].startswith("(<unknown>): ") and "line 3" in problems[0], problems
    assert fleet.api.get(f"/api/v4/projects/{fleet.project_id}/pipelines").json() == []


def test_unknown_key_and_missing_ref_are_reported(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": "build:\n  script: [echo]\n  scirpt: [x]\n"})
    answer = fleet.create()
    assert answer.status_code == 400
    assert any("scirpt" in p for p in answer.json()["message"]["base"])
    missing = fleet.create(ref="nope")
    assert missing.status_code == 400
    assert missing.json() == {"message": {"base": ["Reference not found"]}}
    anonymous = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/pipeline",
                               json={"ref": "main"}, headers={"PRIVATE-TOKEN": ""})
    assert anonymous.status_code == 401


def test_canceling_a_waiting_job_cancels_the_pipeline_once_the_rest_finished(
        fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": """
build:
  stage: build
  script: [echo build]
deploy:
  stage: deploy
  script: [echo deploy]
"""})
    pid = fleet.create().json()["id"]
    deploy = fleet.jobs(pid)["deploy"]["id"]
    canceled = fleet.api.post(f"/api/v4/projects/{fleet.project_id}/jobs/{deploy}/cancel")
    assert canceled.status_code == 201 and canceled.json()["status"] == "canceled"
    fleet.start_runner()
    assert fleet.finished(pid)["status"] == "canceled"
    assert fleet.jobs(pid)["build"]["status"] == "success"
    assert "deploy" not in fleet.trace(deploy)


def test_unknown_project_pipeline_and_job_answer_404(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": "build:\n  script: [echo]\n"})
    base = f"/api/v4/projects/{fleet.project_id}"
    assert fleet.api.get("/api/v4/projects/999/pipelines").json() == {
        "message": "404 Project Not Found"}
    assert fleet.api.get(f"{base}/pipelines/999").status_code == 404
    assert fleet.api.get(f"{base}/jobs/999/trace").status_code == 404
    by_path = fleet.api.get("/api/v4/projects/demo%2Fapp/pipelines")
    assert by_path.status_code == 200 and by_path.json() == []
