"""Changing a deployed runner: tags and concurrency take effect through a reload (same process,
same token, same runner in GitLab); a unit change restarts the service only after the running job
finished (SIGQUIT drain). Both jobs that ran through the changes succeed."""

from __future__ import annotations

import json
from typing import Any

from coordinator_api import Coordinator
from testinfra.host import Host


def stages(report: dict[str, Any], host: Host) -> dict[str, Any]:
    return dict(report[str(host.backend.get_hostname())])


def finished(coordinator: Coordinator, job_id: int) -> dict[str, Any]:
    job = coordinator.wait_for(job_id, {"success", "failed", "canceled"})
    return {k: job[k] for k in ("status", "failure_reason", "trace")}


def test_the_reload_kept_the_process_and_the_job_that_was_running(
    host: Host, report: dict[str, Any], coordinator: Coordinator
) -> None:
    seen = stages(report, host)
    assert seen["reloaded"]["service"]["MainPID"] == seen["deployed"]["service"]["MainPID"]
    assert seen["reloaded"]["service"]["NRestarts"] == seen["deployed"]["service"]["NRestarts"]
    job = finished(coordinator, seen["job_reload"])
    assert job["status"] == "success", json.dumps(job)
    assert "survived the reload" in job["trace"]


def test_concurrency_changed_in_the_running_service(host: Host, report: dict[str, Any]) -> None:
    seen = stages(report, host)
    assert (seen["deployed"]["concurrent"], seen["reloaded"]["concurrent"]) == (1, 2)
    assert "concurrent = 2" in host.file("/etc/gitlab-runner/config.toml").content_string.splitlines()
    # the same process loaded the configuration again (SIGHUP) while the first job ran
    pid = stages(report, host)["deployed"]["service"]["MainPID"]
    log = host.check_output(f"journalctl _PID={pid} --no-pager -o cat")
    assert log.count("Configuration loaded") >= 2


def test_no_re_registration_and_the_same_token(
    host: Host, report: dict[str, Any], coordinator: Coordinator
) -> None:
    seen = stages(report, host)
    fingerprints = {seen[s]["token_fingerprint"] for s in ("deployed", "reloaded", "restarted")}
    ids = {tuple(seen[s]["runner_ids"]) for s in ("deployed", "reloaded", "restarted")}
    assert len(fingerprints) == 1 and len(ids) == 1
    name = str(host.backend.get_hostname())
    mine = [r for r in coordinator.runners() if r.get("description") == f"{name} shell"]
    assert [r["id"] for r in mine] == list(ids.pop())


def test_gitlab_has_the_new_tags(host: Host, report: dict[str, Any], coordinator: Coordinator) -> None:
    name = str(host.backend.get_hostname())
    runner_id = stages(report, host)["deployed"]["runner_ids"][0]
    assert sorted(coordinator.runner(runner_id)["tag_list"]) == sorted(["molecule", "release-2", name])


def test_the_restart_waited_for_the_running_job(
    host: Host, report: dict[str, Any], coordinator: Coordinator
) -> None:
    seen = stages(report, host)
    assert seen["restarted"]["service"]["MainPID"] != seen["reloaded"]["service"]["MainPID"]
    assert "TimeoutStopSec=900" in host.file("/etc/systemd/system/runnerfleet.service").content_string
    job = finished(coordinator, seen["job_restart"])
    assert job["status"] == "success", json.dumps(job)
    assert "the service is deactivating" in job["trace"] and "survived the restart" in job["trace"]
    assert host.service("runnerfleet").is_running
