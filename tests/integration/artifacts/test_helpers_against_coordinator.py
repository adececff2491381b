"""artifacts-uploader and artifacts-downloader, run as job scripts run them, against the coordinator."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from tests.integration.artifacts.helpers import Api, helper, zip_bytes
from tests.unit.artifacts.helpers import listing, tree

UNUSUAL = {
    "dist/with space.txt": "space",
    "dist/ünïcødé-файл.txt": "unicode",
    "dist/quote'\"$(touch pwned)`x`.txt": "shell",
    "dist/-dash": "dash",
    "dist/new\nline": "newline",
}


def _env(api: Api, job_id: int, token: str) -> dict[str, str]:
    return {"CI_SERVER_URL": api.url, "CI_JOB_TOKEN": token, "CI_JOB_ID": str(job_id)}


def test_uploaded_artifacts_come_back_identical_in_the_consuming_job(api: Api, tmp_path: Path) -> None:
    producer_dir = tmp_path / "producer"
    tree(producer_dir, {**UNUSUAL, "dist/app.js": "app", "dist/app.js.map": "map", "src/main.c": "c"})
    os.symlink("app.js", producer_dir / "dist" / "current.js")
    producer = api.take()
    up = helper(producer_dir, "artifacts-uploader", "--url", api.url, "--token", producer.token,
                "--id", str(producer.id), "--path", "dist/", "--exclude", "dist/*.map",
                "--name", "webapp-dist", "--expire-in", "1 week")
    assert up.code == 0, up.output
    assert "dist/: found 8 matching artifact files and directories" in up.output
    assert "dist/*.map: excluded 1 files" in up.output
    assert "Uploading artifacts to coordinator... 201 Created" in up.output
    assert f"id={producer.id}" in up.output and producer.token not in up.output
    api.finish(producer)

    consumer = api.take(dependencies=[producer.id])
    dependency = consumer.payload["dependencies"][0]
    assert dependency["artifacts_file"]["filename"] == "webapp-dist.zip"
    consumer_dir = tmp_path / "consumer"
    consumer_dir.mkdir()
    down = helper(consumer_dir, "artifacts-downloader", "--url", api.url, "--token", dependency["token"],
                  "--id", str(producer.id), env={"FF_USE_DIRECT_DOWNLOAD": "true"})
    assert down.code == 0, down.output
    assert "Downloading artifacts from coordinator... ok" in down.output
    expected = {k: v for k, v in listing(producer_dir).items()
                if k.startswith("dist") and k != "dist/app.js.map"}
    assert listing(consumer_dir) == expected
    assert not (consumer_dir / "pwned").exists() and not (producer_dir / "pwned").exists()


def test_credentials_come_from_the_job_environment(api: Api, tmp_path: Path) -> None:
    tree(tmp_path, {"out.txt": "x"})
    job = api.take()
    up = helper(tmp_path, "artifacts-uploader", "--path", "out.txt", env=_env(api, job.id, job.token))
    assert up.code == 0, up.output
    assert [a["filename"] for a in api.artifacts(job.id)] == ["artifacts.zip"]


def test_reports_are_uploaded_as_gzip_with_their_type(api: Api, tmp_path: Path) -> None:
    tree(tmp_path, {"reports/junit.xml": "<testsuite/>"})
    job = api.take()
    up = helper(tmp_path, "artifacts-uploader", "--path", "reports/junit.xml", "--name", "junit.xml",
                "--artifact-format", "gzip", "--artifact-type", "junit", "--expire-in", "never",
                env=_env(api, job.id, job.token))
    assert up.code == 0, up.output
    assert 'Uploading artifacts as "junit" to coordinator... 201 Created' in up.output
    [stored] = api.artifacts(job.id)
    assert (stored["file_type"], stored["file_format"], stored["filename"], stored["expire_at"]) == (
        "junit", "gzip", "junit.xml.gz", None)


def test_too_large_fails_at_once_with_a_clear_line(api: Api, tmp_path: Path) -> None:
    api.settings(max_artifacts_size=1)
    tree(tmp_path, {"big.bin": os.urandom(2 * 1024 * 1024)})
    job = api.take()
    up = helper(tmp_path, "artifacts-uploader", "--path", "big.bin", env=_env(api, job.id, job.token))
    assert up.code == 1
    assert (f"ERROR: Uploading artifacts to coordinator... POST {api.url}/api/v4/jobs/{job.id}/artifacts: "
            "413 Request Entity Too Large (file size has reached maximum size limit)") in up.output
    assert "FATAL: too large: the artifacts archive is larger than GitLab accepts" in up.output
    assert "Retrying" not in up.output
    assert api.artifacts(job.id) == []


def test_server_errors_are_retried_with_a_fresh_archive_each_time(api: Api, tmp_path: Path) -> None:
    tree(tmp_path, {"out/a.txt": "a"})
    job = api.take()
    api.fault("POST", f"/api/v4/jobs/{job.id}/artifacts", 502, count=2)
    up = helper(tmp_path, "artifacts-uploader", "--path", "out", env=_env(api, job.id, job.token))
    assert up.code == 0, up.output
    assert up.output.count("WARNING: Retrying...") == 2
    assert "Uploading artifacts to coordinator... 201 Created" in up.output
    assert len(api.artifacts(job.id)) == 1


def test_forbidden_upload_is_not_retried(api: Api, tmp_path: Path) -> None:
    tree(tmp_path, {"a.txt": "a"})
    job = api.take()
    up = helper(tmp_path, "artifacts-uploader", "--path", "a.txt", env=_env(api, job.id, "glcbt-wrongtoken"))
    assert up.code == 1
    assert "FATAL: permission denied" in up.output and "Retrying" not in up.output
    assert "glcbt-wrongtoken" not in up.output


def test_missing_artifacts_fail_the_download_with_gitlab_runners_message(api: Api, tmp_path: Path) -> None:
    producer = api.take()
    api.finish(producer)
    consumer = api.take()
    down = helper(tmp_path, "artifacts-downloader", "--url", api.url, "--token", consumer.token,
                  "--id", str(producer.id))
    assert down.code == 1
    assert "ERROR: Downloading artifacts from coordinator... not found" in down.output
    assert "FATAL: file does not exist" in down.output
    assert "Retrying" not in down.output
    unauthorized = helper(tmp_path, "artifacts-downloader", "--url", api.url, "--token", "glcbt-nope",
                          "--id", str(producer.id))
    assert unauthorized.code == 1 and "FATAL: permission denied" in unauthorized.output


def test_a_corrupt_archive_from_the_server_fails_clearly_and_extracts_nothing(
        api: Api, tmp_path: Path) -> None:
    producer = api.take()
    good = zip_bytes({"inside.txt": b"x" * 5000})
    assert api.upload_bytes(producer, good[: len(good) // 2]).status_code == 201
    api.finish(producer)
    consumer = api.take(dependencies=[producer.id])
    build = tmp_path / "builds" / "project"
    build.mkdir(parents=True)
    down = helper(build, "artifacts-downloader", "--url", api.url, "--token", consumer.token,
                  "--id", str(producer.id))
    assert down.code == 1
    assert "FATAL: artifacts" in down.output and "not a valid zip archive" in down.output
    assert listing(tmp_path / "builds") == {"project": "dir"}


def test_an_archive_with_parent_entries_is_refused_before_anything_is_written(
        api: Api, tmp_path: Path) -> None:
    producer = api.take()
    evil = zip_bytes({"ok.txt": b"fine", "../../escaped.txt": b"evil"})
    assert api.upload_bytes(producer, evil).status_code == 201
    api.finish(producer)
    consumer = api.take(dependencies=[producer.id])
    sandbox = tmp_path / "sandbox"
    build = sandbox / "builds" / "project"
    build.mkdir(parents=True)
    down = helper(build, "artifacts-downloader", "--url", api.url, "--token", consumer.token,
                  "--id", str(producer.id))
    assert down.code == 1
    assert "entry '../../escaped.txt' points outside the extraction directory" in down.output
    assert listing(sandbox) == {"builds": "dir", "builds/project": "dir"}


def test_transient_download_failures_are_retried(api: Api, tmp_path: Path) -> None:
    producer = api.take()
    assert api.upload_bytes(producer, zip_bytes({"r.txt": b"r"})).status_code == 201
    api.finish(producer)
    consumer = api.take(dependencies=[producer.id])
    api.fault("GET", f"/api/v4/jobs/{producer.id}/artifacts", 500, count=1)
    down = helper(tmp_path, "artifacts-downloader", "--url", api.url, "--token", consumer.token,
                  "--id", str(producer.id))
    assert down.code == 0, down.output
    assert "WARNING: Downloading artifacts from coordinator... failed" in down.output
    assert down.output.count("WARNING: Retrying...") == 1
    assert (tmp_path / "r.txt").read_text() == "r"


def test_gzip_report_bytes_are_what_gitlab_parses(api: Api, tmp_path: Path) -> None:
    tree(tmp_path, {"cover.xml": "<coverage/>"})
    job = api.take()
    assert helper(tmp_path, "artifacts-uploader", "--path", "cover.xml", "--artifact-format", "gzip",
                  "--artifact-type", "cobertura", env=_env(api, job.id, job.token)).code == 0
    [stored] = api.artifacts(job.id)
    path = Path(api.coordinator.data_dir) / "artifacts" / str(job.id)
    [blob] = [p for p in path.iterdir() if p.name.startswith("cobertura-")]
    assert gzip.decompress(blob.read_bytes()) == b"<coverage/>"
    assert stored["size"] == blob.stat().st_size
