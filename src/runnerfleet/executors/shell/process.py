"""Runs one script in its own process group, streams its output, and kills the whole group on demand.

Like gitlab-runner's `helpers/process`: the process starts in a new session (so it leads its own
process group), a stop sends SIGTERM to the whole group, waits up to the graceful kill timeout,
then SIGKILL, then waits the force kill timeout. Groups the script spread into (`su`, `setsid`)
are signalled too (see `groups`). One thread multiplexes stdin, stdout, stderr and the
process's exit with a selector: no helper threads or interpreters per stage.

The script reaches the shell on stdin from an in-memory file where Linux has one: bash reads a
pipe one byte at a time (so that it never swallows input meant for the commands it starts),
but a seekable stdin in blocks. The shell sees the same bytes either way.

The run is over when the shell has exited *and* every copy of its stdout/stderr is closed: a
background process that keeps the job's output open keeps the stage running (as in
gitlab-runner) until it exits, or until a timeout or cancel kills the group.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from runnerfleet.executors.shell.groups import job_process_groups, pipe_links
from runnerfleet.executors.signals import go_signal_name

GRACEFUL_KILL_TIMEOUT = 600.0
FORCE_KILL_TIMEOUT = 10.0
# How often a waiting run looks at the cancel event; bounds the cancel latency.
POLL_INTERVAL = 0.05
_READ_SIZE = 64 * 1024



class OutputSink(Protocol):
    def write(self, data: bytes) -> int: ...


@dataclass(frozen=True)
class ProcessOutcome:
    """How a script run ended.

    `exit_code`: the exit status (-1 when killed by a signal, None when it could not be reaped or
    never started); `status`: Go's text for it ("exit status 3", "signal: killed"); `error`: why
    it could not run or be stopped; `timed_out`/`canceled`: why it was killed, if it was.
    """

    exit_code: int | None
    status: str = ""
    error: str = ""
    timed_out: bool = False
    canceled: bool = False


def go_status(returncode: int) -> tuple[int, str]:
    """(exit code, status text) as Go's exec reports a process's end."""
    if returncode >= 0:
        # gitlab-runner normalises exit codes to signed 32-bit integers.
        code = (returncode + 2**31) % 2**32 - 2**31
        return code, f"exit status {code}"
    return -1, f"signal: {go_signal_name(-returncode)}"


def _signal_groups(groups: set[int], signum: int) -> None:
    for pgid in sorted(groups):
        # A group outlives its leader while any member is alive; once empty there is nothing to do.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)


def run_script(
    argv: Sequence[str],
    script: bytes,
    *,
    cwd: str | None,
    env: Mapping[str, str],
    stdout: OutputSink,
    stderr: OutputSink,
    timeout: float | None,
    cancel_event: threading.Event,
    graceful_kill_timeout: float = GRACEFUL_KILL_TIMEOUT,
    force_kill_timeout: float = FORCE_KILL_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    on_start: Callable[[int], None] | None = None,
    executable: str | None = None,
) -> ProcessOutcome:
    """Run `argv` with `script` on stdin in a new process group until it ends or must be stopped.

    `executable`: the program's path when already known (`argv[0]` is what the program sees).
    """
    script_file = _script_file(script)
    try:
        proc = subprocess.Popen(
            list(argv), executable=executable, stdin=subprocess.PIPE if script_file is None else script_file,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd, env=dict(env), start_new_session=True, close_fds=True,
        )
    except OSError as exc:
        return ProcessOutcome(None, error=f"failed to start process: {exc.strerror or exc}")
    finally:
        if script_file is not None:
            os.close(script_file)  # the shell has its own copy as fd 0
    if on_start is not None:
        on_start(proc.pid)
    assert proc.stdout is not None and proc.stderr is not None
    groups = {proc.pid}
    selector = selectors.DefaultSelector()
    # Wakes the loop the moment the shell exits (no polling of its status).
    exit_fd = _pidfd(proc.pid)
    if exit_fd is not None:
        selector.register(exit_fd, selectors.EVENT_READ)
    sinks: dict[int, OutputSink] = {proc.stdout.fileno(): stdout, proc.stderr.fileno(): stderr}
    for fd in sinks:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    links = pipe_links(list(sinks))

    def stop(signum: int) -> None:
        # Looked up at each step: `su` and `setsid` put job processes into groups of their own.
        groups.update(job_process_groups(proc.pid, links))
        _signal_groups(groups, signum)
    stdin_fd: int | None = None
    pending = memoryview(script if script_file is None else b"")
    if proc.stdin is not None:
        stdin_fd = proc.stdin.fileno()
        os.set_blocking(stdin_fd, False)
        if pending:
            selector.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
            stdin_fd = None

    deadline = None if timeout is None else clock() + max(timeout, 0.0)
    phase = "running"  # then "terminating" (SIGTERM sent), "killing" (SIGKILL sent)
    phase_deadline = 0.0
    timed_out = canceled = False
    gave_up = False

    def close_stdin() -> None:
        nonlocal stdin_fd
        if stdin_fd is not None:
            with contextlib.suppress(KeyError):
                selector.unregister(stdin_fd)
            proc.stdin.close()  # type: ignore[union-attr]
            stdin_fd = None

    try:
        while sinks or proc.poll() is None:
            now = clock()
            if phase == "running":
                if cancel_event.is_set():
                    canceled = True
                elif deadline is not None and now >= deadline:
                    timed_out = True
                if canceled or timed_out:
                    stop(signal.SIGTERM)
                    phase, phase_deadline = "terminating", now + graceful_kill_timeout
                    close_stdin()
            elif phase == "terminating" and now >= phase_deadline:
                stop(signal.SIGKILL)
                phase, phase_deadline = "killing", now + force_kill_timeout
            elif phase == "killing" and now >= phase_deadline:
                gave_up = True
                break

            wait = POLL_INTERVAL
            if phase == "running" and deadline is not None:
                wait = min(wait, max(deadline - now, 0.0))
            elif phase != "running":
                wait = min(wait, max(phase_deadline - now, 0.0))
            if not sinks and exit_fd is None:
                # Output is closed but the shell is still running: wait for it directly.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=wait)
                continue
            for key, _ in selector.select(timeout=wait):
                fd = int(key.fd)
                if fd == exit_fd:
                    # The shell ended (the loop's condition reaps it); output may still flow
                    # from processes it left behind.
                    selector.unregister(fd)
                    continue
                if fd == stdin_fd:
                    try:
                        written = os.write(fd, pending[:_READ_SIZE])
                    except BlockingIOError:
                        continue
                    except (BrokenPipeError, OSError):
                        close_stdin()  # the shell stopped reading; its exit status tells why
                        continue
                    pending = pending[written:]
                    if not pending:
                        close_stdin()
                    continue
                try:
                    data = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    sinks[fd].write(data)
                else:
                    selector.unregister(fd)
                    del sinks[fd]
    finally:
        selector.close()
        if exit_fd is not None:
            os.close(exit_fd)
        close_stdin()
        proc.stdout.close()
        proc.stderr.close()

    if gave_up:
        return ProcessOutcome(None, error=f"failed to kill process PID={proc.pid}, likely process is dormant",
                              timed_out=timed_out, canceled=canceled)
    code, status = go_status(proc.returncode)
    return ProcessOutcome(code, status=status, timed_out=timed_out, canceled=canceled)


def _script_file(script: bytes) -> int | None:
    """An in-memory file holding `script`, positioned at its start; None where there is none."""
    if not script or not hasattr(os, "memfd_create"):
        return None
    try:
        fd = os.memfd_create("runnerfleet-script", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        view = memoryview(script)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        return None
    return fd


def _pidfd(pid: int) -> int | None:
    """A descriptor that turns readable when `pid` exits (Linux 5.3+); None where there is none."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None
