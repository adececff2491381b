"""Shared steps: a coordinator with runners and running jobs, and the helper commands run against it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.coordinator import RunningCoordinator

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
FEATURES = {"artifacts": True, "upload_multiple_artifacts": True, "upload_raw_artifacts": True,
            "artifacts_exclude": True, "cache": True, "fallback_cache_keys": True, "variables": True,
            "multi_build_steps": True, "return_exit_code": True, "trace_checksum": True, "trace_size": True}


@dataclass
class Taken:
    """A job a runner took: its id, token and payload."""

    id: int
    token: str
    payload: dict[str, Any]


class Api:
    """The coordinator as runners and admins see it."""

    def __init__(self, coordinator: RunningCoordinator) -> None:
        self.coordinator = coordinator
        self.url = coordinator.url
        self.admin = httpx.Client(base_url=coordinator.url, trust_env=False, timeout=60,
                                  headers={"PRIVATE-TOKEN": coordinator.admin_token})
        self.api = httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False, timeout=60)
        self.runner_token = str(coordinator.create_runner(run_untagged=True)["token"])

    def enqueue(self, **body: Any) -> int:
        body.setdefault("script", ["true"])
        r = self.admin.post("/-/jobs", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def take(self, **body: Any) -> Taken:
        """Enqueue a job and take it as the runner (it is then running)."""
        job_id = self.enqueue(**body)
        r = self.api.post("/jobs/request", json={"token": self.runner_token,
                                                 "info": {"features": FEATURES}})
        assert r.status_code == 201, r.text
        payload = r.json()
        assert payload["id"] == job_id
        return Taken(job_id, payload["token"], payload)

    def finish(self, taken: Taken, state: str = "success") -> None:
        r = self.api.put(f"/jobs/{taken.id}", json={"token": taken.token, "state": state})
        assert r.status_code == 200, r.text

    def settings(self, **values: Any) -> None:
        r = self.admin.put("/-/artifacts/settings", json=values)
        assert r.status_code == 200, r.text

    def artifacts(self, job_id: int) -> list[dict[str, Any]]:
        r = self.admin.get(f"/-/jobs/{job_id}/artifacts")
        assert r.status_code == 200, r.text
        return list(r.json())

    def fault(self, method: str, path: str, status: int, count: int = 1) -> None:
        r = self.admin.post("/-/faults", json={"method": method, "path": path, "status": status,
                                               "count": count, "body": '{"message":"injected"}'})
        assert r.status_code == 201, r.text

    def upload_bytes(self, taken: Taken, data: bytes, filename: str = "artifacts.zip",
                     **query: str) -> httpx.Response:
        """POST the bytes as the multipart `file` part, chunked like the uploader sends it."""
        boundary = "rfboundary123"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Any:
            yield head
            for i in range(0, len(data), 1 << 16):
                yield data[i:i + (1 << 16)]
            yield tail

        return self.api.post(f"/jobs/{taken.id}/artifacts", params=query, content=body(),
                             headers={"JOB-TOKEN": taken.token,
                                      "Content-Type": f"multipart/form-data; boundary={boundary}"})

    def close(self) -> None:
        self.admin.close()
        self.api.close()


@dataclass
class Ran:
    code: int
    output: str


def helper(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """Run `python -m runnerfleet <helper> ...` in `cwd` as a job script would."""
    full = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full.update(env or {})
    result = subprocess.run([sys.executable, "-m", "runnerfleet", *args], cwd=cwd, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    return Ran(result.returncode, _ANSI.sub("", result.stdout))


def zip_bytes(files: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
