"""Artifacts end to end: shell-executor jobs from the coordinator upload and consume each other's files."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.artifacts.helpers import Api, Taken
from tests.integration.artifacts.pipeline import Runner

PRODUCE = [
    "mkdir -p dist/sub",
    "echo 'bundle' > dist/app.js",
    "echo 'map' > dist/app.js.map",
    "printf 'spaces' > 'dist/sub/file with spaces.txt'",
    "printf 'unicode' > dist/sub/ünïcødé.txt",
    "ln -s app.js dist/current.js",
]


def test_the_second_job_gets_the_first_jobs_artifacts(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    producer = runner.run(*PRODUCE, name="build", artifacts=[
        {"name": "webapp-dist", "paths": ["dist/"], "exclude": ["dist/**/*.map"], "when": "on_success",
         "expire_in": "1 week", "artifact_type": "archive", "artifact_format": "zip"}])
    assert producer.state == "success", producer.log
    assert "Uploading artifacts for successful job" in producer.log
    assert "Uploading artifacts..." in producer.log
    assert "dist/: found 6 matching artifact files and directories" in producer.log
    assert "dist/**/*.map: excluded 1 files" in producer.log
    assert 'Uploading artifacts as "archive" to coordinator... 201 Created' in producer.log
    assert producer.taken.token not in producer.log

    consumer = runner.run(
        "cat dist/app.js", "cat 'dist/sub/file with spaces.txt'; echo", "readlink dist/current.js",
        "test ! -e dist/app.js.map && echo 'map excluded'",
        name="test", dependencies=[producer.taken.id])
    assert consumer.state == "success", consumer.log
    assert f"Downloading artifacts for build ({producer.taken.id})..." in consumer.log
    assert "Downloading artifacts from coordinator... ok" in consumer.log
    for line in ("bundle", "spaces", "app.js", "map excluded"):
        assert f"\n{line}\n" in consumer.log
    # The download happens before the user script.
    assert consumer.log.index("Downloading artifacts") < consumer.log.index("$ cat dist/app.js")


def test_on_failure_artifacts_are_uploaded_only_when_the_job_fails(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    artifacts = [{"paths": ["good.txt"], "when": "on_success", "name": "good"},
                 {"paths": ["debug.log"], "when": "on_failure", "name": "debug"}]
    failed = runner.run("echo ok > good.txt", "echo trace > debug.log", "exit 3", artifacts=artifacts)
    assert (failed.state, failed.result.failure_reason, failed.result.exit_code) == (
        "failed", "script_failure", 3)
    assert "Uploading artifacts for failed job" in failed.log
    assert [a["filename"] for a in api.artifacts(failed.taken.id)] == ["debug.zip"]

    passed = runner.run("echo ok > good.txt", "echo trace > debug.log", artifacts=artifacts)
    assert passed.state == "success", passed.log
    assert [a["filename"] for a in api.artifacts(passed.taken.id)] == ["good.zip"]


def test_an_artifact_over_the_limit_fails_the_job_with_a_clear_line(api: Api, tmp_path: Path) -> None:
    api.settings(max_artifacts_size=1)
    runner = Runner(api, tmp_path / "runner")
    ran = runner.run("head -c 3000000 /dev/urandom > big.bin", artifacts=[{"paths": ["big.bin"]}])
    assert ran.state == "failed"
    assert "413 Request Entity Too Large (file size has reached maximum size limit)" in ran.log
    assert "FATAL: too large: the artifacts archive is larger than GitLab accepts" in ran.log
    assert "ERROR: Job failed: exit status 1" in ran.log
    assert api.artifacts(ran.taken.id) == []


def test_artifacts_that_expired_after_assignment_fail_the_job_before_its_script(
        api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    producer = runner.run("echo x > out.txt", name="build",
                          artifacts=[{"paths": ["out.txt"], "expire_in": "2 sec"}])
    assert producer.state == "success", producer.log

    def wait_for_expiry(consumer: Taken) -> None:
        assert consumer.payload["dependencies"][0]["artifacts_file"]["filename"] == "artifacts.zip"
        deadline = time.monotonic() + 60
        while not api.artifacts(producer.taken.id)[0]["expired"]:
            assert time.monotonic() < deadline, "the artifact never expired"
            time.sleep(0.2)

    consumer = runner.run("echo 'script ran'", dependencies=[producer.taken.id], after_take=wait_for_expiry)
    assert consumer.state == "failed"
    assert "ERROR: Downloading artifacts from coordinator... not found" in consumer.log
    assert "FATAL: file does not exist" in consumer.log
    assert "script ran" not in consumer.log


def test_the_sh_shell_runs_the_same_cache_and_artifact_stages(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner", shell="sh")
    body = {"cache": [{"key": "k", "paths": ["vendor/"]}], "artifacts": [{"paths": ["vendor/"]}]}
    first = runner.run("mkdir -p vendor", "echo v1 > vendor/v.txt", name="build", **body)
    assert first.state == "success", first.log
    assert "Using Shell (sh) executor..." in first.log
    assert "Created cache" in first.log and "201 Created" in first.log
    second = runner.run("cat vendor/v.txt", dependencies=[first.taken.id], **body)
    assert second.state == "success", second.log
    assert "Successfully extracted cache" in second.log
    assert "Downloading artifacts from coordinator... ok" in second.log
