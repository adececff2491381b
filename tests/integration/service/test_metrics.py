"""`listen_address`: gitlab-runner's Prometheus metrics and /debug/jobs/list."""

from __future__ import annotations

import re
import signal

import httpx

from runnerfleet.tokens import shorten_token
from tests.integration.service.conftest import World, free_port, wait_until


def _scrape(address: str) -> str:
    response = httpx.get(f"http://{address}/metrics", trust_env=False, timeout=10)
    assert response.status_code == 200
    return response.text


def test_metrics_endpoint_serves_gitlab_runner_metric_names(world: World) -> None:
    token = world.admin.create_runner()
    world.write_config({"name": "metered", "token": token, "limit": 3}, concurrent=2)
    address = f"127.0.0.1:{free_port()}"
    runner = world.run("--listen-address", address)
    runner.wait_line(f"Metrics server listening.*address={address}")
    ok = world.admin.enqueue("echo fine")
    bad = world.admin.enqueue("exit 4")
    assert world.admin.finished(ok)["status"] == "success"
    assert world.admin.finished(bad)["status"] == "failed"
    short = shorten_token(token)
    text = wait_until("both jobs counted", lambda: (
        t if 'gitlab_runner_failed_jobs_total{' in (t := _scrape(address))
        and re.search(r'gitlab_runner_jobs_total\{[^}]*\} 2\.0', t) else None))
    assert re.search(r'gitlab_runner_version_info\{[^}]*name="runnerfleet"[^}]*\} 1\.0', text)
    assert "gitlab_runner_concurrent 2.0" in text
    assert f'gitlab_runner_limit{{runner="{short}",runner_name="metered",system_id="' in text
    assert re.search(r'gitlab_runner_jobs\{[^}]*state="idle"[^}]*\} 0\.0', text)
    assert re.search(r'gitlab_runner_api_request_statuses_total\{endpoint="request_job",'
                     r'method="post",runner="' + short + r'",status="201",system_id="[^"]+"\} 2\.0',
                     text)
    assert re.search(r'gitlab_runner_api_request_statuses_total\{endpoint="update_job",'
                     r'method="put",runner="' + short + r'",status="200"', text)
    assert re.search(r'gitlab_runner_api_request_statuses_total\{endpoint="patch_trace"', text)
    assert re.search(r'gitlab_runner_failed_jobs_total\{failure_reason="script_failure",'
                     r'mode="traditional",runner="' + short + r'",runner_name="metered"\} 1\.0', text)
    assert re.search(r'gitlab_runner_job_duration_seconds_bucket\{le="30\.0",mode="traditional",'
                     r'runner="' + short + '"', text)
    assert re.search(r'gitlab_runner_errors_total\{level="warning"\} \d', text)
    assert "gitlab_runner_request_concurrency_used_limit{" in text
    assert "gitlab_runner_worker_slots_number 2.0" in text
    assert token not in text
    jobs = httpx.get(f"http://{address}/debug/jobs/list", trust_env=False, timeout=10)
    assert jobs.status_code == 200 and jobs.headers["X-List-Version"] == "2"
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_request_concurrency_caps_simultaneous_job_requests(world: World) -> None:
    # Long polling holds each request up to 2 s: with 4 workers and request_concurrency = 1,
    # the other workers find the request slot taken instead of asking GitLab again.
    token = world.admin.create_runner()
    world.write_config({"name": "rc", "token": token, "request_concurrency": 1}, concurrent=4,
                       check_interval=1)
    address = f"127.0.0.1:{free_port()}"
    runner = world.run("--listen-address", address)
    runner.wait_line("Metrics server listening")

    def exceeded() -> float:
        match = re.search(r"gitlab_runner_request_concurrency_exceeded_total\{[^}]*\} (\S+)",
                          _scrape(address))
        return float(match.group(1)) if match else 0.0

    wait_until("a worker to find the request slot taken", lambda: exceeded() >= 1)
    text = _scrape(address)
    assert re.search(r"gitlab_runner_request_concurrency_hard_limit\{[^}]*\} 1\.0", text)
    assert re.search(r"gitlab_runner_request_concurrency\{[^}]*\} [01]\.0", text)
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_without_listen_address_metrics_are_off(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run("--syslog")
    runner.wait_line("listen_address not defined, metrics & debug endpoints disabled")
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_running_job_is_labelled_with_gitlab_runners_stage_name_and_stages_are_timed(
        world: World) -> None:
    world.write_config({"name": "staged", "token": world.admin.create_runner()})
    address = f"127.0.0.1:{free_port()}"
    runner = world.run("--listen-address", address)
    gate = world.tmp / "gate"
    job_id = world.admin.enqueue("echo waiting", f"while [ ! -e {gate} ]; do sleep 0.05; done")
    world.wait_log("waiting")
    text = _scrape(address)
    assert re.search(r'gitlab_runner_jobs\{executor_stage="",runner="[^"]+",runner_name="staged",'
                     r'stage="step_script",state="running",system_id="[^"]+"\} 1\.0', text), text
    gate.touch()
    assert world.admin.finished(job_id)["status"] == "success"
    text = wait_until("the job's stages timed", lambda: (
        t if 'stage="cleanup_file_variables"' in (t := _scrape(address)) else None))
    for stage in ("prepare_executor", "prepare_script", "get_sources", "step_script"):
        assert re.search(r'gitlab_runner_job_stage_duration_seconds_count\{runner="[^"]+",'
                         r'runner_name="staged",stage="' + stage + r'",system_id="[^"]+"\} 1\.0',
                         text), stage
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
