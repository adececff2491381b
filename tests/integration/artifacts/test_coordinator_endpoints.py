"""The coordinator's artifact endpoints answer as GitLab does (coordinator-api §10)."""

from __future__ import annotations

import time

from tests.integration.artifacts.helpers import Api, zip_bytes


def test_upload_answers_201_with_body_201_and_is_idempotent_for_the_same_content(api: Api) -> None:
    job = api.take()
    data = zip_bytes({"a.txt": b"a"})
    first = api.upload_bytes(job, data, artifact_type="archive", artifact_format="zip", expire_in="1 week")
    assert (first.status_code, first.text) == (201, "201")
    again = api.upload_bytes(job, data, artifact_type="archive", artifact_format="zip")
    assert (again.status_code, again.text) == (201, "201")
    stored = api.artifacts(job.id)
    assert [(a["file_type"], a["file_format"], a["filename"], a["size"]) for a in stored] == [
        ("archive", "zip", "artifacts.zip", len(data))]
    assert 6.9 * 86400 < stored[0]["expire_at"] - time.time() <= 7 * 86400


def test_a_different_artifact_of_the_same_type_is_refused(api: Api) -> None:
    job = api.take()
    assert api.upload_bytes(job, zip_bytes({"a": b"1"})).status_code == 201
    other = api.upload_bytes(job, zip_bytes({"a": b"2"}))
    assert other.status_code == 400
    assert other.json() == {"message": "another artifact of the same type already exists"}
    report = api.upload_bytes(job, b"<testsuite/>", "junit.xml.gz", artifact_type="junit",
                              artifact_format="gzip")
    assert report.status_code == 201


def test_bad_parameters_and_a_missing_file_are_400(api: Api) -> None:
    job = api.take()
    bad_type = api.upload_bytes(job, b"x", artifact_type="nonsense")
    assert bad_type.status_code == 400
    assert bad_type.json() == {"error": "artifact_type does not have a valid value"}
    bad_format = api.upload_bytes(job, b"x", artifact_format="rar")
    assert bad_format.status_code == 400
    no_file = api.api.post(f"/jobs/{job.id}/artifacts", headers={"JOB-TOKEN": job.token},
                           files={"other": ("x.txt", b"x")})
    assert (no_file.status_code, no_file.json()) == (400, {"error": "file is missing"})


def test_an_upload_over_the_limit_is_413_and_nothing_is_kept(api: Api) -> None:
    api.settings(max_artifacts_size=1)
    job = api.take()
    too_big = api.upload_bytes(job, b"\0" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert too_big.json() == {"message": "file size has reached maximum size limit"}
    assert api.artifacts(job.id) == []
    # The connection and the job are still usable afterwards.
    assert api.upload_bytes(job, b"\0" * 1000).status_code == 201


def test_upload_needs_the_running_jobs_own_token(api: Api) -> None:
    job = api.take()
    wrong = api.api.post(f"/jobs/{job.id}/artifacts", headers={"JOB-TOKEN": "glcbt-wrong"},
                         files={"file": ("a.zip", b"x")})
    assert (wrong.status_code, wrong.json()) == (403, {"message": "403 Forbidden"})
    api.finish(job)
    late = api.upload_bytes(job, b"x")
    assert late.status_code == 403
    assert late.headers["Job-Status"] == "success"


def test_download_streams_the_archive_to_a_running_job_of_the_project(api: Api) -> None:
    producer = api.take()
    data = zip_bytes({"dist/app.js": b"console.log(1)"})
    assert api.upload_bytes(producer, data, "webapp.zip").status_code == 201
    api.finish(producer)
    consumer = api.take(dependencies=[producer.id])
    assert consumer.payload["dependencies"] == [{
        "id": producer.id, "name": "job", "token": consumer.token,
        "artifacts_file": {"filename": "webapp.zip", "size": len(data)}}]
    r = api.api.get(f"/jobs/{producer.id}/artifacts", params={"direct_download": "true"},
                    headers={"JOB-TOKEN": consumer.token})
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["Content-Disposition"] == 'attachment; filename="webapp.zip"'


def test_download_answers_401_403_and_404_like_gitlab(api: Api) -> None:
    producer = api.take()
    assert api.upload_bytes(producer, zip_bytes({"a": b"a"})).status_code == 201
    api.finish(producer)
    nobody = api.api.get(f"/jobs/{producer.id}/artifacts", headers={"JOB-TOKEN": "glcbt-unknown"})
    assert (nobody.status_code, nobody.json()) == (401, {"message": "401 Unauthorized"})
    stale = api.api.get(f"/jobs/{producer.id}/artifacts", headers={"JOB-TOKEN": producer.token})
    assert stale.status_code == 401  # the producer's token died with its job

    r = api.admin.post("/-/projects", json={"path": "other/project"})
    assert r.status_code == 201, r.text
    stranger = api.take(project="other/project")
    cross = api.api.get(f"/jobs/{producer.id}/artifacts", headers={"JOB-TOKEN": stranger.token})
    assert (cross.status_code, cross.json()) == (403, {"message": "403 Forbidden"})

    empty = api.take()
    api.finish(empty)
    consumer = api.take(dependencies=[empty.id])
    assert "artifacts_file" not in consumer.payload["dependencies"][0]
    missing = api.api.get(f"/jobs/{empty.id}/artifacts", headers={"JOB-TOKEN": consumer.token})
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Not Found"})


def test_expired_artifacts_are_gone_and_jobs_needing_them_are_dropped(api: Api) -> None:
    producer = api.take()
    assert api.upload_bytes(producer, zip_bytes({"a": b"a"}), expire_in="1 sec").status_code == 201
    api.finish(producer)
    consumer = api.take(dependencies=[producer.id])  # assigned while the artifacts still exist
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not api.artifacts(producer.id)[0]["expired"]:
        time.sleep(0.2)
    gone = api.api.get(f"/jobs/{producer.id}/artifacts", headers={"JOB-TOKEN": consumer.token})
    assert gone.status_code == 404

    late_id = api.enqueue(dependencies=[producer.id])
    r = api.api.post("/jobs/request", json={"token": api.runner_token, "info": {"features": {}}})
    assert r.status_code == 204
    late = api.admin.get(f"/-/jobs/{late_id}").json()
    assert (late["status"], late["failure_reason"]) == ("failed", "missing_dependency_failure")
