"""Pipelines from `.gitlab-ci.yml`: create the jobs, advance them by stage and `needs` as GitLab does.

A compiled job is a row of `jobs` with a `ci` column (when, allow_failure, needs, stage index,
start_in, retried). It waits in `created` until its stage (or its needs) allow, then becomes
`pending` through the shared queue, `manual` (waits for play), `scheduled` (`when: delayed`: due
at `scheduled_at`, enqueued by the scheduler thread or by play) or `skipped`. Advancement runs
when a pipeline is created and whenever one of its jobs reaches a final status
(`JobStore.finish_listeners`).
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.cache.filekeys import resolve_cache_keys
from runnerfleet.coordinator import repos
from runnerfleet.coordinator.job_store import FINISHED, Job, Project, job_from_row
from runnerfleet.coordinator.jobs import JobService
from runnerfleet.coordinator.store import from_row
from runnerfleet.errors import RunnerfleetError
from runnerfleet.pipeline import CompiledJob, CompiledPipeline, PipelineError, compile
from runnerfleet.pipeline.durations import parse_duration
from runnerfleet.pipeline.variables import predefined

CONFIG_PATH = ".gitlab-ci.yml"
# Statuses after which a job no longer holds back the jobs after it.
_DONE = (*FINISHED, "skipped")
# `Ci::HasStatus::CANCELABLE_STATUSES`: what a pipeline cancel cancels (manual jobs stay).
CANCELABLE = ("created", "waiting_for_resource", "preparing", "pending", "running", "scheduled")
# The scheduler looks at least this often (seconds): it also notices the coordinator closing.
_SCHEDULER_TICK = 1.0


class PipelineCreateError(RunnerfleetError):
    """GitLab's `{"message": {"base": [...]}}` errors of pipeline creation."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class PipelineRow:
    id: int
    project_id: int
    ref: str
    sha: str | None
    source: str
    stages: list[str]
    created_at: float


@dataclass
class CiJob:
    """A pipeline job with its CI attributes."""

    job: Job
    when: str
    allow_failure: bool
    needs: list[str] | None
    stage_idx: int
    retried: bool
    start_in: str | None = None
    scheduled_at: float | None = None


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=120,
                          check=False)


def _tree_files(repo: Path, sha: str) -> list[str]:
    """The paths of the files (blobs, symlinks included) in commit `sha`."""
    listed = _git(repo, "ls-tree", "-r", "-z", sha)
    out: list[str] = []
    for entry in listed.stdout.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, path = entry.partition("\t")
        if path and meta.split(" ")[1:2] == ["blob"]:
            out.append(path)
    return out


def _job_status(ci: CiJob) -> str:
    """The status a job contributes to GitLab's composite status (`ignored` = may fail)."""
    status = ci.job.status
    if status in ("failed", "canceled") and ci.allow_failure:
        return "success_with_warnings"
    if status == "manual" and ci.allow_failure:
        return "ignored"
    return status


def composite_status(jobs: list[CiJob]) -> str:
    """`Gitlab::Ci::Status::Composite` over the latest (not retried) jobs."""
    statuses = {_job_status(c) for c in jobs if not c.retried}

    def only(*allowed: str) -> bool:
        return statuses <= set(allowed)

    if not statuses or only("skipped", "ignored"):
        return "skipped"
    if only("success", "skipped", "success_with_warnings", "ignored"):
        return "success"
    if only("created", "success_with_warnings", "ignored"):
        return "created"
    if "canceling" in statuses:
        return "canceling"
    if only("canceled", "success", "skipped", "success_with_warnings", "ignored"):
        return "canceled"
    if only("pending", "created", "skipped", "success_with_warnings", "ignored"):
        return "pending"
    if statuses & {"running", "pending"}:
        return "running"
    if "manual" in statuses:
        return "manual"
    if "scheduled" in statuses:
        return "scheduled"
    if "created" in statuses:
        return "running"
    return "failed"


def select_jobs(compiled: CompiledPipeline, names: Collection[str]) -> list[CompiledJob]:
    """The named jobs and every job their `needs` reach; an unknown name is an error."""
    by_name = {j.name: j for j in compiled.jobs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise PipelineCreateError([f"{n}: no such job in the pipeline" for n in unknown])
    keep: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(n.job for n in by_name[name].needs or [])
    out = [j for j in compiled.jobs if j.name in keep]
    for job in out:
        # Artifacts only come from jobs that are in this pipeline.
        job.dependencies = [d for d in job.dependencies if d in keep]
        job.payload["dependencies"] = job.dependencies
    return out


class PipelineService:
    """Creates pipelines from a project's repository and advances their jobs."""

    def __init__(self, jobs: JobService) -> None:
        self.service = jobs
        self.store = jobs.store
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        jobs.jobs.finish_listeners.append(self._on_finish)
        # Due times live in SQLite: a restarted coordinator enqueues what came due meanwhile.
        self._scheduler = threading.Thread(target=self._schedule_loop, daemon=True,
                                           name="coordinator-delayed-jobs")
        self._scheduler.start()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._scheduler.join(timeout=10)

    # -- reading -------------------------------------------------------------------------------

    def pipeline(self, pipeline_id: int, project_id: int | None = None) -> PipelineRow | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM pipelines WHERE id = ?", (pipeline_id,)).fetchone()
        if row is None or (project_id is not None and row["project_id"] != project_id):
            return None
        pipeline = from_row(PipelineRow, row, json_columns=("stages",))
        pipeline.source = pipeline.source or "api"
        pipeline.stages = pipeline.stages or []
        return pipeline

    def pipelines(self, project_id: int) -> list[PipelineRow]:
        with self.store.transaction() as db:
            ids = [r["id"] for r in db.execute(
                "SELECT id FROM pipelines WHERE project_id = ? ORDER BY id DESC", (project_id,))]
        return [p for i in ids if (p := self.pipeline(i)) is not None]

    def ci_jobs(self, pipeline_id: int) -> list[CiJob]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM jobs WHERE pipeline_id = ? ORDER BY id",
                              (pipeline_id,)).fetchall()
        out: list[CiJob] = []
        for row in rows:
            job = job_from_row(row)
            ci = json.loads(row["ci"]) if row["ci"] else {}
            out.append(CiJob(job, ci.get("when", "on_success"), bool(ci.get("allow_failure")),
                             ci.get("needs"), int(ci.get("stage_idx", 0)),
                             bool(ci.get("retried")), ci.get("start_in"), row["scheduled_at"]))
        return out

    def ci_job(self, job_id: int) -> CiJob | None:
        job = self.service.jobs.job_by_id(job_id)
        if job is None:
            return None
        return next((c for c in self.ci_jobs(job.pipeline_id) if c.job.id == job_id), None)

    def status(self, pipeline_id: int) -> str:
        return composite_status(self.ci_jobs(pipeline_id))

    # -- creation ------------------------------------------------------------------------------

    def create(self, project: Project, ref: str, variables: Mapping[str, str],
               masked: set[str] | None = None, source: str = "api",
               only: Collection[str] | None = None) -> PipelineRow:
        """`Ci::CreatePipelineService`: compile the ref's `.gitlab-ci.yml` and create its jobs.

        `only` (for `runnerfleet exec JOB...`) keeps those jobs and, transitively, their needs.
        """
        repo = self.service.repo_dir(project)
        resolved = repos.resolve(repo, ref)
        if resolved is None:
            raise PipelineCreateError(["Reference not found"])
        sha, ref_type = resolved
        compiled = self._compile(repo, sha, ref, ref_type == "tag", source, variables)
        if compiled.filtered_out or not compiled.jobs:
            raise PipelineCreateError(
                ["Pipeline will not run for the selected trigger. The rules configuration"
                 " prevented any jobs from being added to the pipeline."])
        if only is not None:
            compiled.jobs = select_jobs(compiled, only)
        commit = repos.commit_info(repo, sha)
        own = set(predefined(ref=ref, sha=sha, source=source, tag=ref_type == "tag",
                             default_branch="main", before_sha=repos.ZERO_SHA))
        now = time.time()
        with self._lock:
            with self.store.transaction() as db:
                cur = db.execute(
                    "INSERT INTO pipelines (project_id, ref, sha, created_at, source, stages)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (project.id, ref, sha, now, source, json.dumps(compiled.stages)))
                pipeline_id = int(cur.lastrowid or 0)
            repos.update_ref(repo, f"refs/pipelines/{pipeline_id}", sha)
            ids: dict[str, int] = {}
            for cj in compiled.jobs:
                payload = cj.payload
                items = [dict(v, masked=True) if masked and v["key"] in masked else v
                         for v in payload["variables"] if v["key"] not in own]
                spec: dict[str, Any] = {
                    "variables": items, "steps": payload["steps"],
                    "services": payload["services"],
                    "cache": resolve_cache_keys(payload["cache"], repo, sha),
                    "commit": commit,
                    "dependency_names": cj.dependencies,
                }
                if payload.get("image"):
                    spec["image"] = payload["image"]
                if payload.get("artifacts"):
                    spec["artifacts"] = payload["artifacts"]
                if cj.allow_failure_exit_codes:
                    spec["allow_failure_exit_codes"] = cj.allow_failure_exit_codes
                ci = {"when": cj.when, "allow_failure": cj.allow_failure,
                      "needs": None if cj.needs is None else [n.job for n in cj.needs],
                      "stage_idx": compiled.stages.index(cj.stage), "retried": False,
                      "start_in": cj.start_in}
                ids[cj.name] = self._insert(project, pipeline_id, {
                    "name": cj.name, "stage": cj.stage, "ref": ref, "ref_type": ref_type,
                    "protected": False, "sha": sha, "before_sha": repos.ZERO_SHA,
                    "tag_list": list(payload.get("tags") or []),
                    "timeout": int(payload.get("timeout") or 3600), "spec": spec}, ci)
            self.advance(pipeline_id)
        row = self.pipeline(pipeline_id)
        assert row is not None
        return row

    @staticmethod
    def _compile(repo: Path, sha: str, ref: str, tag: bool, source: str,
                 variables: Mapping[str, str]) -> CompiledPipeline:
        shown = _git(repo, "show", f"{sha}:{CONFIG_PATH}")
        if shown.returncode != 0:
            raise PipelineCreateError(["Missing CI config file"])
        text = shown.stdout.decode("utf-8", "replace")
        # `rules:exists` needs the file names only: the commit's listing, not its contents.
        files = _tree_files(repo, sha)
        try:
            if "include" not in text:
                return compile(text, variables=variables, ref=ref, sha=sha, source=source,
                               tag=tag, files=files)
            archive = _git(repo, "archive", "--format=tar", sha)
            with tempfile.TemporaryDirectory(prefix="runnerfleet-pipeline-") as tmp:
                # The tree on disk serves `include: local`.
                with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                    tar.extractall(tmp, filter="data")
                return compile(text, variables=variables, ref=ref, sha=sha, source=source,
                               tag=tag, files=files, root=Path(tmp))
        except PipelineError as exc:
            raise PipelineCreateError(exc.problems) from None

    def _insert(self, project: Project, pipeline_id: int, fields: dict[str, Any],
                ci: dict[str, Any]) -> int:
        from runnerfleet.coordinator import tokens

        now = time.time()
        token = "glcbt-" + tokens.random_token(24)
        values = {**fields, "tag_list": json.dumps(fields["tag_list"]),
                  "spec": json.dumps(fields["spec"]), "protected": int(fields["protected"]),
                  "pipeline_id": pipeline_id, "project_id": project.id, "token": token,
                  "token_sha256": tokens.hash_token(token), "status": "created",
                  "created_at": now, "updated_at": now, "ci": json.dumps(ci)}
        with self.store.transaction() as db:
            cur = db.execute(
                f"INSERT INTO jobs ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                list(values.values()))
            return int(cur.lastrowid or 0)

    # -- advancement ---------------------------------------------------------------------------

    def _set_status(self, job_id: int, status: str, from_status: str,
                    scheduled_at: float | None = None) -> bool:
        """One transition; `scheduled_at` is set entering `scheduled`, cleared leaving it."""
        now = time.time()
        finished = now if status in (*FINISHED, "skipped") else None
        with self.store.transaction() as db:
            cur = db.execute("UPDATE jobs SET status = ?, updated_at = ?, finished_at = ?,"
                             " scheduled_at = ? WHERE id = ? AND status = ?",
                             (status, now, finished, scheduled_at, job_id, from_status))
            return cur.rowcount == 1

    def _schedule(self, ci: CiJob) -> bool:
        """created → scheduled, due `start_in` from now (GitLab counts from when it could run)."""
        delay = parse_duration(ci.start_in) if ci.start_in else None
        if self._set_status(ci.job.id, "scheduled", "created", time.time() + (delay or 0)):
            self._wake.set()
            return True
        return False

    def _enqueue(self, ci: CiJob, latest: dict[str, CiJob],
                 woken: list[Job] | None = None) -> None:
        """created/manual/scheduled → pending: dependencies resolved to job ids; runners woken
        now, or later by the caller when it collects the jobs in `woken`."""
        spec = dict(ci.job.spec)
        spec["dependencies"] = [latest[n].job.id for n in spec.get("dependency_names") or []
                                if n in latest]
        self.service.jobs.update_job(ci.job.id, spec=spec)
        if self._set_status(ci.job.id, "pending", ci.job.status):
            job = self.service.jobs.job_by_id(ci.job.id)
            if job is not None:
                if woken is None:
                    self._wake_runners([job])
                else:
                    woken.append(job)

    def _wake_runners(self, jobs: list[Job]) -> None:
        """Tick the queues of the runners that may take `jobs`, all of them pending by now: a
        runner woken per job would find the next one not there yet and go back to waiting."""
        for job in jobs:
            project = self.service.jobs.project_by_id(job.project_id)
            if project is not None:
                self.service.tick_matching(job, project)

    def advance(self, pipeline_id: int) -> None:
        """Move every `created` job whose stage or needs are complete on, until nothing moves."""
        with self._lock:
            woken: list[Job] = []
            while self._advance_once(pipeline_id, woken):
                pass
            self._wake_runners(woken)

    def _advance_once(self, pipeline_id: int, woken: list[Job]) -> bool:
        jobs = [c for c in self.ci_jobs(pipeline_id) if not c.retried]
        latest = {c.job.name: c for c in jobs}

        def complete(c: CiJob) -> bool:
            # A manual job that may fail does not hold the pipeline back (GitLab's "ignored").
            return c.job.status in _DONE or (c.job.status == "manual" and c.allow_failure)

        def failed(c: CiJob) -> bool:
            return (c.job.status == "failed" and not c.allow_failure) or c.job.status == "canceled"

        moved = False
        for ci in jobs:
            if ci.job.status != "created":
                continue
            if ci.needs is not None:
                upstream = [latest[n] for n in ci.needs if n in latest]
            else:
                upstream = [c for c in jobs if c.stage_idx < ci.stage_idx]
            if not all(complete(c) for c in upstream):
                continue
            any_failed = any(failed(c) for c in upstream)
            if ci.when == "always":
                run = True
            elif ci.when == "on_failure":
                run = any_failed
            else:
                run = not any_failed
            if not run:
                moved |= self._set_status(ci.job.id, "skipped", "created")
            elif ci.when == "manual":
                moved |= self._set_status(ci.job.id, "manual", "created")
            elif ci.when == "delayed":
                moved |= self._schedule(ci)
            else:
                self._enqueue(ci, latest, woken)
                moved = True
        return moved

    # -- delayed jobs --------------------------------------------------------------------------

    def enqueue_due(self, now: float | None = None) -> float | None:
        """`Ci::BuildScheduleWorker`: scheduled jobs whose time came → pending. Returns the
        next due time, if any job is still scheduled."""
        now = time.time() if now is None else now
        with self.store.transaction() as db:
            due = db.execute("SELECT id FROM jobs WHERE status = 'scheduled' AND scheduled_at <= ?"
                             " ORDER BY scheduled_at, id", (now,)).fetchall()
        for row in due:
            ci = self.ci_job(row["id"])
            if ci is not None and ci.job.status == "scheduled":
                self._start_scheduled(ci)
        with self.store.transaction() as db:
            nxt = db.execute("SELECT MIN(scheduled_at) FROM jobs WHERE status = 'scheduled'"
                             ).fetchone()[0]
        return None if nxt is None else float(nxt)

    def _start_scheduled(self, ci: CiJob) -> None:
        with self._lock:
            latest = {c.job.name: c for c in self.ci_jobs(ci.job.pipeline_id) if not c.retried}
            self._enqueue(ci, latest)

    def _stopping(self) -> bool:
        # The JobService's stop event is set when the coordinator closes; `close()` sets ours.
        return self._closed.is_set() or self.service._stop.is_set()

    def _schedule_loop(self) -> None:
        while not self._stopping():
            try:
                nxt = self.enqueue_due()
            except Exception:  # the store may be closing; the next round retries
                if self._stopping():
                    return
                nxt = None
            wait = _SCHEDULER_TICK if nxt is None else min(max(nxt - time.time(), 0.0),
                                                            _SCHEDULER_TICK)
            self._wake.wait(wait)
            self._wake.clear()

    def _on_finish(self, job: Job) -> None:
        with self.store.transaction() as db:
            row = db.execute("SELECT ci FROM jobs WHERE id = ?", (job.id,)).fetchone()
        if row is not None and row["ci"]:
            self.advance(job.pipeline_id)

    # -- actions -------------------------------------------------------------------------------

    def cancel(self, ci: CiJob) -> Job:
        if ci.job.status in ("created", "manual", "scheduled"):
            self._set_status(ci.job.id, "canceled", ci.job.status)
            self.advance(ci.job.pipeline_id)
            job = self.service.jobs.job_by_id(ci.job.id)
            assert job is not None
            return job
        return self.service.cancel(ci.job)

    def play(self, ci: CiJob) -> Job | None:
        """A `manual` or `scheduled` job → pending now; None when it is not playable."""
        if ci.job.status not in ("manual", "scheduled"):
            return None
        with self._lock:
            latest = {c.job.name: c for c in self.ci_jobs(ci.job.pipeline_id) if not c.retried}
            self._enqueue(ci, latest)
        return self.service.jobs.job_by_id(ci.job.id)

    def retry(self, ci: CiJob) -> Job | None:
        """A finished job's copy as a new job; skipped jobs after it are re-evaluated."""
        if ci.job.status not in FINISHED or ci.retried:
            return None
        with self._lock:
            new_id = self._clone(ci)
            with self.store.transaction() as db:
                # ResetSkippedJobsService: jobs skipped because of this one get another chance.
                self._reset_skipped(db, ci.job.pipeline_id)
            # RetryJobService enqueues the copy at once (`enqueue_immediately`), even an action.
            latest = {c.job.name: c for c in self.ci_jobs(ci.job.pipeline_id) if not c.retried}
            self._enqueue(latest[ci.job.name], latest)
            self.advance(ci.job.pipeline_id)
        return self.service.jobs.job_by_id(new_id)

    def _clone(self, ci: CiJob) -> int:
        """`Ci::CloneJobService`: the old job marked retried, a `created` copy inserted."""
        with self.store.transaction() as db:
            row = db.execute("SELECT ci FROM jobs WHERE id = ?", (ci.job.id,)).fetchone()
            attrs = json.loads(row["ci"])
            db.execute("UPDATE jobs SET ci = ? WHERE id = ?",
                       (json.dumps({**attrs, "retried": True}), ci.job.id))
        project = self.service.jobs.project_by_id(ci.job.project_id)
        assert project is not None
        old = ci.job
        spec = {k: v for k, v in old.spec.items() if k != "dependencies"}
        return self._insert(project, old.pipeline_id, {
            "name": old.name, "stage": old.stage, "ref": old.ref, "ref_type": old.ref_type,
            "protected": old.protected, "sha": old.sha, "before_sha": old.before_sha,
            "tag_list": old.tag_list, "timeout": old.timeout, "spec": spec},
            {**attrs, "retried": False})

    @staticmethod
    def _reset_skipped(db: sqlite3.Connection, pipeline_id: int) -> None:
        db.execute("UPDATE jobs SET status = 'created', finished_at = NULL"
                   " WHERE pipeline_id = ? AND status = 'skipped'", (pipeline_id,))

    def cancel_pipeline(self, pipeline_id: int) -> None:
        """`Ci::CancelPipelineService`: every cancelable job (not `manual`) is canceled; running
        ones through the runner (`canceling` and the trace's `Job-Status`, when it can)."""
        with self._lock:
            jobs = [c for c in self.ci_jobs(pipeline_id)
                    if not c.retried and c.job.status in CANCELABLE]
            # Jobs that have not started first, so that nothing new starts meanwhile.
            for ci in sorted(jobs, key=lambda c: c.job.status in ("pending", "running")):
                if ci.job.status in ("created", "scheduled"):
                    self._set_status(ci.job.id, "canceled", ci.job.status)
                else:
                    self.service.cancel(ci.job)

    def retry_pipeline(self, pipeline_id: int) -> None:
        """`Ci::RetryPipelineService`: the latest failed or canceled jobs are cloned as `created`
        jobs, skipped ones reset, and the pipeline processed again from its first stage."""
        with self._lock:
            for ci in self.ci_jobs(pipeline_id):
                if not ci.retried and ci.job.status in ("failed", "canceled"):
                    self._clone(ci)
            with self.store.transaction() as db:
                self._reset_skipped(db, pipeline_id)
            self.advance(pipeline_id)
