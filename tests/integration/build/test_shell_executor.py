"""The shell executor on its own: process groups, kill escalation, output streams, `--user`."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from runnerfleet.executors import BuildContext, get_provider
from runnerfleet.executors.shell import ProcessOutcome, ShellExecutorProvider, run_script, shell_command
from runnerfleet.trace import TraceBuffer
from tests.integration.build.helpers import live_group_members, runner_config, wait_for_file

pytestmark = pytest.mark.integration


class Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def _run(script: str, *, timeout: float | None,
         graceful_kill_timeout: float = 5.0) -> tuple[ProcessOutcome, Sink, Sink]:
    out, err = Sink(), Sink()
    outcome = run_script(["bash"], script.encode(), cwd=None, env={"PATH": os.environ["PATH"]},
                         stdout=out, stderr=err, timeout=timeout, cancel_event=threading.Event(),
                         graceful_kill_timeout=graceful_kill_timeout)
    return outcome, out, err


def test_the_shell_provider_is_registered_and_shared() -> None:
    provider = get_provider("shell")
    assert provider is not None and provider.shared and provider.features().shared
    assert provider.default_shell() == "bash"
    assert get_provider("no-such-executor") is None


def test_exit_status_and_streams_are_reported_like_go() -> None:
    outcome, out, err = _run("echo out; echo err >&2; exit 7\n", timeout=None)
    assert (outcome.exit_code, outcome.status) == (7, "exit status 7")
    assert out.data == b"out\n" and err.data == b"err\n"


def test_a_process_killed_by_a_signal_reports_the_signal() -> None:
    outcome, _, _ = _run("kill -KILL $$\n", timeout=None)
    assert (outcome.exit_code, outcome.status) == (-1, "signal: killed")


def test_a_big_script_is_fed_whole_while_output_flows() -> None:
    lines = "".join(f"echo line-{i}\n" for i in range(20000))
    outcome, out, _ = _run(lines, timeout=None)
    assert outcome.exit_code == 0
    assert out.data.count(b"\n") == 20000 and out.data.endswith(b"line-19999\n")


def test_timeout_kills_background_children_holding_the_output(tmp_path: Path) -> None:
    marker = tmp_path / "pgid"
    script = f'echo "$$" > {marker}\nsleep 1000 &\n(sleep 1000; echo never) &\nexit 0\n'
    outcome, out, _ = _run(script, timeout=1.0, graceful_kill_timeout=5.0)
    pgid = int(wait_for_file(marker))
    assert outcome.timed_out
    assert b"never" not in out.data
    assert live_group_members(pgid) == []


def test_a_missing_shell_is_a_start_failure() -> None:
    out, err = Sink(), Sink()
    outcome = run_script(["/nonexistent/bash"], b"true\n", cwd=None, env={}, stdout=out, stderr=err,
                         timeout=None, cancel_event=threading.Event())
    assert outcome.exit_code is None
    assert outcome.error.startswith("failed to start process: ")


def test_user_commands_go_through_su_like_gitlab_runner() -> None:
    assert shell_command("bash", None) == ["bash", "-l"]
    assert shell_command("sh", "ci") == ["su", "-s", "/bin/sh", "ci", "-c", "sh -l"]


def _nobody() -> str | None:
    if os.geteuid() != 0 or shutil.which("su") is None:
        return None
    try:
        return pwd.getpwnam("nobody").pw_name
    except KeyError:
        return None


@pytest.mark.skipif(_nobody() is None, reason="needs root, su and a 'nobody' account to switch users")
def test_run_user_runs_scripts_as_that_user() -> None:
    # World-traversable dirs: pytest's own tmp dirs are private to root.
    workdir = Path(tempfile.mkdtemp(prefix="runnerfleet-user-"))
    try:
        workdir.chmod(0o777)
        trace = TraceBuffer(timestamps=False)
        executor = ShellExecutorProvider(environ={"PATH": os.environ["PATH"]}).create()
        env = executor.prepare(BuildContext(runner=runner_config(), trace=trace, job_id=1,
                                            working_directory=workdir, user="nobody"))
        result = executor.run("step_script", 'id -un; mkdir -p "$1" 2>/dev/null; echo done\n',
                              timeout=30, cancel_event=threading.Event())
        executor.cleanup()
        log = trace.bytes_since(0).decode()
        assert result.ok, log
        assert env.builds_dir == str(workdir.resolve() / "builds")
        assert "\nnobody\n" in log and "done\n" in log
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _gone_soon(pid: int, patience: float = 10.0) -> bool:
    deadline = time.monotonic() + patience
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_setsid_helper_that_keeps_the_output_open_is_stopped_too(tmp_path: Path) -> None:
    marker = tmp_path / "helper"
    script = f"setsid sh -c 'echo $$ > {marker}; exec sleep 1000' &\nexit 0\n"
    # The timeout leaves the helper time to start even on a loaded 2-core machine.
    outcome, _, _ = _run(script, timeout=3.0, graceful_kill_timeout=5.0)
    helper = int(wait_for_file(marker))
    assert outcome.timed_out
    # A killed process closes its files (our EOF) a moment before the kernel marks it dead.
    assert _gone_soon(helper)


@pytest.mark.skipif(_nobody() is None, reason="needs root, su and a 'nobody' account to switch users")
def test_run_user_jobs_leave_no_processes_after_a_timeout() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="runnerfleet-user-"))
    try:
        workdir.chmod(0o777)
        marker = workdir / "pids"
        script = (f"sleep 1000 & echo $! >> {marker}\n(sleep 1000; echo never) & echo $! >> {marker}\n"
                  f"echo $$ >> {marker}\nsleep 1000\n")
        outcome, out, _ = _run_as("nobody", script, cwd=str(workdir))
        assert outcome.timed_out
        pids = [int(line) for line in marker.read_text().split()]
        assert len(pids) == 3 and all(_gone_soon(pid) for pid in pids)
        assert b"never" not in out.data
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_as(user: str, script: str, cwd: str) -> tuple[ProcessOutcome, Sink, Sink]:
    out, err = Sink(), Sink()
    outcome = run_script(shell_command("bash", user), script.encode(), cwd=cwd,
                         env={"PATH": os.environ["PATH"]}, stdout=out, stderr=err, timeout=2.0,
                         cancel_event=threading.Event(), graceful_kill_timeout=5.0)
    return outcome, out, err
