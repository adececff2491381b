"""Jobs run one after another, as a runner does: GitLab holds each log with that job's secrets masked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runnerfleet.gitlab import GitLabClient, request_job, runner_info
from runnerfleet.job import JobPayload
from runnerfleet.trace import STDOUT, STREAM_WORK, TraceBuffer, TraceStreamer
from tests.fixtures.coordinator import RunningCoordinator


@pytest.fixture
def client(coordinator: RunningCoordinator) -> Iterator[GitLabClient]:
    client = GitLabClient(coordinator.url)
    yield client
    client.close()


def _run_job(client: GitLabClient, runner_token: str, secrets_seen: list[str]) -> tuple[int, list[str]]:
    """Take the next job, set its log up as the service and the Build do, print every secret seen
    so far (the previous jobs' ones included) and send the log; (job id, this job's masked values)."""
    info = runner_info(executor="shell", shell="bash", features={"trace_checksum": True, "trace_size": True})
    got = request_job(client, runner_token, system_id="s_0123456789ab", info=info, last_update=None)
    assert got.payload is not None
    payload: dict[str, Any] = got.payload
    job = JobPayload.from_json(payload)
    masked = [v.value for v in job.variables if v.masked]
    with TraceBuffer(masked=masked, timestamps=False) as log:
        log.set_token_mask_prefixes(job.features.token_mask_prefixes)
        log.set_masked(masked)
        out = log.stream(STREAM_WORK, STDOUT)
        for secret in [*secrets_seen, *masked]:
            # Split in two writes: masking must hold across write boundaries.
            out.write(b"value: " + secret[:5].encode())
            out.write(secret[5:].encode() + b"\n")
        streamer = TraceStreamer(client, job.id, job.token, log, info=info, on_cancel=lambda kind: None)
        streamer.finish("success")
        assert streamer.final_result is not None and streamer.final_result.accepted
    return job.id, masked


def test_each_job_log_in_gitlab_masks_its_own_secrets_and_not_the_previous_jobs(
    coordinator: RunningCoordinator, client: GitLabClient
) -> None:
    runner = coordinator.create_runner(run_untagged=True, description="masking")
    with httpx.Client(base_url=coordinator.url, trust_env=False,
                      headers={"PRIVATE-TOKEN": coordinator.admin_token}) as admin:
        for i in range(3):
            password = {"key": "DEPLOY_PASSWORD", "value": f"deploy-pw-of-job-{i}", "masked": True}
            spec = {"script": ["echo"], "variables": [password]}
            assert admin.post("/-/jobs", json=spec).status_code == 201
        seen: list[str] = []
        jobs: list[tuple[int, list[str], list[str]]] = []
        for _ in range(3):
            before = list(seen)
            job_id, masked = _run_job(client, runner["token"], before)
            jobs.append((job_id, masked, before))
            seen += [m for m in masked if m not in seen]
        traces = {job_id: admin.get(f"/-/jobs/{job_id}").json()["trace"] for job_id, _, _ in jobs}
    for job_id, masked, previous in jobs:
        trace = traces[job_id]
        assert len(masked) >= 2  # its job token (CI_JOB_TOKEN and friends) and DEPLOY_PASSWORD
        for secret in masked:
            assert secret not in trace
        # Every line of this job's own values is masked whole; the earlier jobs' values are not
        # this job's secrets: their job tokens keep the prefix (the `glcbt-` token rule of every
        # job), their passwords are plain text.
        assert trace.count("value: [MASKED]\n") == len(masked)
        for secret in previous:
            if secret in masked:
                continue
            if secret.startswith("glcbt-"):
                assert "value: glcbt-[MASKED]\n" in trace
            else:
                assert f"value: {secret}\n" in trace
        assert trace.count("\n") == len(previous) + len(masked)
