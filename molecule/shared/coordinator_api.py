"""The coordinator (GitLab) as the molecule verifiers see it: projects, jobs and runners over HTTP.

scripts/molecule.sh starts `runnerfleet coordinator` on the docker bridge address and exports
RUNNERFLEET_MOLECULE_URL and RUNNERFLEET_MOLECULE_PAT (the admin personal access token).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

FINISHED = {"success", "failed", "canceled"}
# Generous: a job on a freshly started runner waits for its next job request.
JOB_DEADLINE_SECONDS = 180.0


class Coordinator:
    def __init__(self) -> None:
        self.url = os.environ["RUNNERFLEET_MOLECULE_URL"].rstrip("/")
        self.pat = os.environ["RUNNERFLEET_MOLECULE_PAT"]
        # Talk to it directly, whatever proxy the environment names.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"PRIVATE-TOKEN": self.pat, "Content-Type": "application/json"})
        with self.opener.open(request, timeout=30) as answer:
            text = answer.read().decode()
        return json.loads(text) if text else None

    def project_with_commit(self, path: str, files: dict[str, str]) -> str:
        """A project whose main branch has one commit with `files`; returns its path."""
        try:
            created = self.call("POST", "/-/projects", {"path": path})
        except urllib.error.HTTPError as error:
            if error.code != 400:  # 400: taken by an earlier verify run of this scenario
                raise
            return path
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for name, text in files.items():
                (work / name).write_text(text)
            git = ["git", "-C", tmp, "-c", "user.name=molecule", "-c", "user.email=molecule@localhost"]
            subprocess.run(["git", "init", "-q", "-b", "main", tmp], check=True)
            subprocess.run([*git, "add", "."], check=True)
            subprocess.run([*git, "commit", "-q", "-m", "molecule"], check=True)
            subprocess.run([*git, "push", "-q", created["repo_dir"], "main"], check=True)
        return path

    def enqueue(self, **job: Any) -> int:
        return int(self.call("POST", "/-/jobs", job)["id"])

    def job(self, job_id: int) -> dict[str, Any]:
        return dict(self.call("GET", f"/-/jobs/{job_id}"))

    def wait_for(self, job_id: int, statuses: set[str]) -> dict[str, Any]:
        """The job once its status is one of `statuses` (or the last seen, at the deadline)."""
        deadline = time.monotonic() + JOB_DEADLINE_SECONDS
        job = self.job(job_id)
        while job["status"] not in statuses and time.monotonic() < deadline:
            time.sleep(1)
            job = self.job(job_id)
        return job

    def runners(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/v4/runners/all?per_page=100"))

    def runner(self, runner_id: int) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/v4/runners/{runner_id}"))
