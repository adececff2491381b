"""exec's in-process workers against a real coordinator whose job requests keep failing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runnerfleet.coordinator.hooks import Fault
from runnerfleet.coordinator.server import CoordinatorServer
from runnerfleet.errors import RunnerfleetError
from runnerfleet.exec.workers import Workers, runner_config


def test_job_requests_that_keep_failing_stop_exec_with_the_answer(tmp_path: Path) -> None:
    with CoordinatorServer(tmp_path / "coordinator", poll_interval=0.02) as server:
        app = server.app
        assert app is not None
        _runner, token = app.store.create_runner(
            "instance_type", "authenticated_user",
            {"description": "exec", "tag_list": [], "run_untagged": True}, token_expires_at=None)
        app.faults.add(Fault(method="POST", path="/api/v4/jobs/request", status=500, headers={},
                             body='{"message":"500 Internal Server Error"}',
                             content_type="application/json", count=10**6))
        # exec's bound is 10 s; a shorter one keeps the test short (same code path).
        workers = Workers(tmp_path, persistent_failure=1.0)
        workers.start(runner_config(server.url, token, "shell", None), 2)
        try:
            deadline = time.monotonic() + 30
            while workers.error is None and time.monotonic() < deadline:
                time.sleep(0.05)
            with pytest.raises(RunnerfleetError) as raised:
                workers.check()
        finally:
            workers.stop()
            workers.join()
    assert str(raised.value).startswith(
        "exec: the coordinator answered 500 to the runner's job request for ")
