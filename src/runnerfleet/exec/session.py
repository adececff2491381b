"""One `runnerfleet exec` run: coordinator, published tree, pipeline, workers, logs, summary."""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from runnerfleet.coordinator.job_store import FINISHED, Project
from runnerfleet.coordinator.jobs import JobOptions
from runnerfleet.coordinator.pipelines import CONFIG_PATH, CiJob, PipelineCreateError
from runnerfleet.coordinator.server import CoordinatorServer
from runnerfleet.errors import RunnerfleetError
from runnerfleet.exec import workspace
from runnerfleet.exec.output import LogPrinter, Row, summary
from runnerfleet.exec.workers import Workers, runner_config
from runnerfleet.pipeline import PipelineError, compile

log = logging.getLogger("runnerfleet.exec")

_WAITING = ("created", "pending", "running", "canceling", "scheduled")
# How often the logs of running jobs are printed; a finished job wakes the loop at once.
_LOG_INTERVAL = 0.1
# What the workers import when they take their first job; warmed up while git and the
# coordinator start (their subprocesses leave the interpreter free).
# httpcore: what httpx imports when the workers' client is created (~50 ms).
_WARM_UP = ("httpcore", "runnerfleet.build.pipeline", "runnerfleet.shells.stages",
            "runnerfleet.job.payload", "runnerfleet.cache.adapter",
            "runnerfleet.executors.registry")


# GitLab drops a running job that sent nothing for an hour (its stuck-jobs worker). exec's
# runner is in this process and sends at least every 30 s while a job runs (the trace's force
# send), so a job it never received (an answer lost on its way) fails after 90 s instead of
# holding exec for an hour.
_JOB_OPTIONS = JobOptions(stuck_timeout=90.0)


@dataclass
class ExecOptions:
    cwd: Path
    jobs: list[str] = field(default_factory=list)
    executor: str = "shell"
    variables: dict[str, str] = field(default_factory=dict)
    uncommitted: bool = False
    # Jobs run at once; None: as many as the DAG allows (GitLab with enough runners), up to
    # `default_concurrency()`.
    concurrent: int | None = None
    image: str | None = None
    colour: bool = False
    # `when: delayed` jobs start at once instead of `start_in` after they could run.
    skip_delays: bool = False


def list_jobs(options: ExecOptions, out: TextIO) -> int:
    """Print the jobs of the working tree's `.gitlab-ci.yml` (name, stage, when, needs)."""
    root = workspace.toplevel(options.cwd)
    config = root / CONFIG_PATH
    if not config.is_file():
        raise RunnerfleetError(f"exec: {config} does not exist; add a .gitlab-ci.yml")
    try:
        compiled = compile(config, variables=options.variables, ref=workspace.branch(root),
                           source="push")
    except PipelineError as exc:
        raise RunnerfleetError("\n".join(f"{config}: {p}" for p in exc.problems)) from None
    rows = [("JOB", "STAGE", "WHEN", "ALLOW FAILURE", "NEEDS")]
    for job in compiled.jobs:
        needs = "-" if job.needs is None else ",".join(n.job for n in job.needs) or "[]"
        rows.append((job.name, job.stage, job.when, str(job.allow_failure).lower(), needs))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        out.write("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() + "\n")
    return 0


def _project_path(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", root.name).lstrip(".-") or "project"
    return f"local/{name}"


def run_exec(options: ExecOptions, out: TextIO) -> int:
    """Run the pipeline; 1 when a job that may not fail failed (or was canceled), else 0."""
    warm = threading.Thread(target=_warm_up, args=(options.executor,), name="exec-warm-up",
                            daemon=True)
    warm.start()
    root = workspace.toplevel(options.cwd)
    with _state_dir() as tmp:
        state = Path(tmp)
        # No 0.5 s wait for serve_forever's next poll when exec is done.
        server = CoordinatorServer(state / "coordinator", poll_interval=0.02,
                                   default_project=False, job_options=_JOB_OPTIONS)
        workers = Workers(state)
        starter = _Starter(server, _project_path(root), workers)
        try:
            # The coordinator starts (SQLite schema, bare repositories) while git snapshots
            # the tree: both mostly wait on git processes.
            starter.start()
            try:
                sha = workspace.snapshot(root, uncommitted=options.uncommitted)
                ref = workspace.branch(root)
            finally:
                starter.join()
            project = starter.result()
            app = server.app
            assert app is not None
            workspace.publish(root, sha, app.jobs.repo_dir(project), ref)
            try:
                pipeline = app.pipelines.create(project, ref, options.variables, source="push",
                                                only=options.jobs or None)
            except PipelineCreateError as exc:
                raise RunnerfleetError("\n".join(f"{root / CONFIG_PATH}: {p}"
                                                 for p in exc.problems)) from None
            jobs = app.pipelines.ci_jobs(pipeline.id)
            tags = sorted({t for c in jobs for t in c.job.tag_list})
            # An instance runner created as `POST /user/runners` would (in-process, no HTTP).
            _runner, token = app.store.create_runner(
                "instance_type", "authenticated_user",
                {"description": "runnerfleet exec", "tag_list": tags, "run_untagged": True},
                token_expires_at=None)
            runner = runner_config(server.url, token, options.executor, options.image,
                                   repos_root=app.jobs.repos_root)
            finished = threading.Event()
            app.jobs.jobs.finish_listeners.append(lambda _job: finished.set())
            warm.join()
            workers.start(runner, options.concurrent or min(len(jobs), default_concurrency()))
            printer = LogPrinter(out, [c.job.name for c in jobs], colour=options.colour)
            final = _follow(app, pipeline.id, printer, set(options.jobs), options.skip_delays,
                            finished, workers)
        finally:
            workers.stop()
            server.stop()
            workers.join()
    rows = [Row(c.job.name, c.job.stage, c.job.status,
                (c.job.finished_at - c.job.started_at)
                if c.job.started_at and c.job.finished_at else None, c.allow_failure)
            for c in final]
    summary(out, rows)
    broken = [c for c in final if c.job.status in ("failed", "canceled") and not c.allow_failure]
    return 1 if broken else 0


@contextmanager
def _state_dir() -> Iterator[str]:
    """exec's temporary state (coordinator, builds). A detached `rm -rf` removes it, so that
    exec ends without waiting for the builds' git files to go (hundreds of files for 10 jobs:
    50-300 ms); the jobs and their processes are over by then."""
    path = tempfile.mkdtemp(prefix="runnerfleet-exec-")
    try:
        yield path
    finally:
        try:
            subprocess.Popen(["rm", "-rf", "--", path], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        except OSError:
            shutil.rmtree(path, ignore_errors=True)


class _Starter(threading.Thread):
    """Starts the coordinator and creates the exec project in a thread; `result()` in the
    caller's thread returns the project or raises what went wrong."""

    def __init__(self, server: CoordinatorServer, project_path: str, workers: Workers) -> None:
        super().__init__(name="exec-coordinator-start", daemon=True)
        self.server = server
        self.project_path = project_path
        self.workers = workers
        self._project: Project | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            app = self.server.start().app
            assert app is not None
            # The client's set-up is CPU; the project's bare repository waits on git.
            client = threading.Thread(target=self.workers.prepare, args=(self.server.url,),
                                      name="exec-client", daemon=True)
            client.start()
            self._project = app.jobs.ensure_project(self.project_path)
            client.join()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> Project:
        if self._error is not None:
            raise self._error
        assert self._project is not None
        return self._project


def default_concurrency() -> int:
    """At most this many jobs at once unless --concurrent says otherwise: shell jobs mostly wait
    on processes, so a few per CPU keep the DAG's parallelism without a thread per job."""
    return max(8, 4 * (os.cpu_count() or 1))


def _read_from(path: Path, offset: int) -> bytes:
    """A job log's bytes after `offset` (only the new part, however long the log grows)."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b""


def _warm_up(executor: str) -> None:
    try:
        for module in (*_WARM_UP, f"runnerfleet.executors.{executor}"):
            importlib.import_module(module)
    except Exception:  # the workers import the same again and report what fails there
        log.debug("exec: warm-up import failed", exc_info=True)


def _follow(app: object, pipeline_id: int, printer: LogPrinter, named: set[str],
            skip_delays: bool, finished: threading.Event, workers: Workers) -> list[CiJob]:
    """Print logs as they grow until no job waits or runs; play manual jobs named on the CLI
    and, with `skip_delays`, scheduled ones (the coordinator's scheduler starts them when due)."""
    from runnerfleet.coordinator.app import Coordinator

    assert isinstance(app, Coordinator)
    done: set[int] = set()
    announced: set[int] = set()
    while True:
        workers.check()
        jobs = [c for c in app.pipelines.ci_jobs(pipeline_id) if not c.retried]
        for ci in jobs:
            if ci.job.status == "manual" and ci.job.name in named:
                app.pipelines.play(ci)
            if ci.job.status == "scheduled":
                if skip_delays:
                    app.pipelines.play(ci)
                elif ci.job.id not in announced and ci.scheduled_at is not None:
                    announced.add(ci.job.id)
                    due = time.strftime("%H:%M:%S", time.localtime(ci.scheduled_at))
                    printer.note(ci.job.name, f"delayed (start_in: {ci.start_in}): starts at "
                                 f"{due}; --skip-delays starts delayed jobs at once")
                continue
            if ci.job.id in done or ci.job.status in ("created", "manual", "skipped"):
                continue
            final = ci.job.status in FINISHED
            new = _read_from(app.jobs.traces.path(ci.job.id), printer.offset(ci.job.id))
            printer.feed(ci.job.id, ci.job.name, new, final=final)
            if final:
                done.add(ci.job.id)
        if not any(c.job.status in _WAITING for c in jobs) and not any(
                c.job.status == "manual" and c.job.name in named for c in jobs):
            return jobs
        finished.wait(_LOG_INTERVAL)
        finished.clear()
