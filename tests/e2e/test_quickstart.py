"""The README's main command: scripts/quickstart.sh runs a real multi-stage pipeline end to end."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_quickstart_runs_the_demo_pipeline_and_leaves_the_coordinator_running(
        tmp_path: Path) -> None:
    work = tmp_path / "quickstart"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(RUNNERFLEET_SKIP_SETUP="1", RUNNERFLEET_WORK=str(work),
               RUNNERFLEET_PORT=str(_free_port()), HOME=str(tmp_path))
    try:
        done = subprocess.run(["bash", "scripts/quickstart.sh"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert re.search(r"pipeline \d+: success", out), out
        jobs = dict(re.findall(r"^   (build|unit|lint|deploy) +\S+ +(\w+)", out, re.M))
        assert jobs == {"build": "success", "unit": "success", "lint": "success",
                        "deploy": "success"}, out
        assert "the secret is [MASKED]" in out and "quickstart-secret-42" not in out
        assert stat.S_IMODE((work / "config.toml").stat().st_mode) == 0o600
        url = re.search(r"The coordinator keeps running at (\S+) ", out)
        assert url is not None, out
        # Still serving: a runner token check answers (403 for a token it does not know).
        alive = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X",
                                "POST", "-d", "token=glrt-unknown",
                                f"{url.group(1)}/api/v4/runners/verify"],
                               capture_output=True, text=True, check=False)
        assert alive.stdout == "403", alive.stdout + alive.stderr
    finally:
        pid_file = work / "coordinator.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
