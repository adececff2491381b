"""Projects, pipelines and jobs in the coordinator's SQLite state."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.coordinator import tokens
from runnerfleet.coordinator.store import Store, from_row

# Job statuses in which the job token works (GitLab's "executing" statuses).
EXECUTING = ("running", "canceling")
FINISHED = ("success", "failed", "canceled")
_PAGE = 16  # pending jobs read at a time while a runner picks one
# Columns of `jobs` stored as JSON text and as 0/1 (what `from_row` decodes for a `Job`).
JOB_JSON_COLUMNS = ("tag_list", "spec", "pending_state", "updates")
JOB_BOOL_COLUMNS = ("protected", "debug_trace")


@dataclass
class Project:
    id: int
    name: str
    full_path: str
    group_id: int | None
    group_ids: list[int] = field(default_factory=list)  # its group and every ancestor

    @property
    def namespace(self) -> str:
        return self.full_path.rpartition("/")[0]


@dataclass
class Job:
    id: int
    pipeline_id: int
    project_id: int
    name: str
    stage: str
    ref: str
    ref_type: str
    protected: bool
    sha: str | None
    before_sha: str
    tag_list: list[str]
    timeout: int
    spec: dict[str, Any]
    token: str
    status: str
    failure_reason: str | None
    exit_code: int | None
    runner_id: int | None
    runner_manager_id: int | None
    system_xid: str | None
    debug_trace: bool
    output_checksum: str | None
    output_bytesize: int | None
    pending_state: dict[str, Any] | None
    pending_state_at: float | None
    updates: list[str]
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float


def job_from_row(row: sqlite3.Row) -> Job:
    """The Job of a `jobs` row (`SELECT *`)."""
    return from_row(Job, row, json_columns=JOB_JSON_COLUMNS, bool_columns=JOB_BOOL_COLUMNS)


class JobStore:
    """Job-side tables of `Store`; every method is one transaction on the shared connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Called with each job that reached a final status (pipelines advance on it).
        self.finish_listeners: list[Callable[[Job], None]] = []

    # -- projects ----------------------------------------------------------------------------

    def _project(self, db: sqlite3.Connection, row: sqlite3.Row) -> Project:
        chain: list[int] = []
        group_id = row["group_id"]
        while group_id is not None:
            chain.append(group_id)
            parent = db.execute("SELECT parent_id FROM groups WHERE id = ?", (group_id,)).fetchone()
            group_id = parent["parent_id"] if parent else None
        return Project(row["id"], row["name"], row["full_path"], row["group_id"], chain)

    def project_by_path(self, full_path: str) -> Project | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM projects WHERE full_path = ?", (full_path,)).fetchone()
            return None if row is None else self._project(db, row)

    def project_by_id(self, project_id: int) -> Project | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
            return None if row is None else self._project(db, row)

    def create_project(self, full_path: str) -> Project | None:
        """Create the project and any missing groups of its namespace; None if it exists."""
        now = time.time()
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM projects WHERE full_path = ?", (full_path,)).fetchone():
                return None
            parts = full_path.split("/")
            parent: int | None = None
            for depth in range(1, len(parts)):
                group_path = "/".join(parts[:depth])
                row = db.execute("SELECT id FROM groups WHERE full_path = ?",
                                 (group_path,)).fetchone()
                if row is None:
                    cur = db.execute(
                        "INSERT INTO groups (name, path, parent_id, created_at, full_path)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (parts[depth - 1], parts[depth - 1], parent, now, group_path),
                    )
                    parent = int(cur.lastrowid or 0)
                else:
                    parent = int(row["id"])
            cur = db.execute(
                "INSERT INTO projects (name, path, group_id, created_at, full_path)"
                " VALUES (?, ?, ?, ?, ?)",
                (parts[-1], parts[-1], parent, now, full_path),
            )
            row = db.execute("SELECT * FROM projects WHERE id = ?", (cur.lastrowid,)).fetchone()
            return self._project(db, row)

    # -- jobs --------------------------------------------------------------------------------

    def create_job(self, project: Project, fields: dict[str, Any]) -> Job:
        """Insert a pending job in a new pipeline; `fields` are job columns (spec as a dict)."""
        now = time.time()
        token = "glcbt-" + tokens.random_token(24)
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO pipelines (project_id, ref, sha, created_at) VALUES (?, ?, ?, ?)",
                (project.id, fields["ref"], fields["sha"], now),
            )
            values = {
                **fields,
                "tag_list": json.dumps(fields["tag_list"]),
                "spec": json.dumps(fields["spec"]),
                "protected": int(fields["protected"]),
                "pipeline_id": cur.lastrowid,
                "project_id": project.id,
                "token": token,
                "token_sha256": tokens.hash_token(token),
                "status": "pending",
                "created_at": now,
                "updated_at": now,
            }
            cur = db.execute(
                f"INSERT INTO jobs ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                list(values.values()),
            )
            job = self.job_by_id(int(cur.lastrowid or 0))
        assert job is not None
        return job

    def job_by_id(self, job_id: int) -> Job | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else job_from_row(row)

    def job_by_token(self, token: str) -> Job | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE token_sha256 = ?",
                             (tokens.hash_token(token),)).fetchone()
        return None if row is None else job_from_row(row)

    def jobs(self, status: str | None = None) -> list[Job]:
        with self.store.transaction() as db:
            if status is None:
                rows = db.execute("SELECT * FROM jobs ORDER BY id").fetchall()
            else:
                rows = db.execute("SELECT * FROM jobs WHERE status = ? ORDER BY id",
                                  (status,)).fetchall()
        return [job_from_row(r) for r in rows]

    def update_job(self, job_id: int, **changes: Any) -> Job:
        values = {
            k: (json.dumps(v) if k in ("pending_state", "updates", "spec", "tag_list")
                and v is not None else int(v) if isinstance(v, bool) else v)
            for k, v in changes.items()
        }
        with self.store.transaction() as db:
            if values:
                db.execute(
                    f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                    [*values.values(), job_id],
                )
            job = self.job_by_id(job_id)
        assert job is not None
        return job

    def record_update(self, job_id: int, state: str, *, touch: bool = False) -> None:
        """Remember a PUT state the runner sent (admin `updates` list); `touch`: the job was
        heard from (its `updated_at`), in the same transaction."""
        with self.store.transaction() as db:
            # json_insert appends in SQL: no decode/encode round trip of the list in Python.
            if touch:
                db.execute("UPDATE jobs SET updates = json_insert(updates, '$[#]', ?),"
                           " updated_at = ? WHERE id = ?", (state, time.time(), job_id))
            else:
                db.execute("UPDATE jobs SET updates = json_insert(updates, '$[#]', ?)"
                           " WHERE id = ?", (state, job_id))

    def pending_jobs(self) -> list[Job]:
        """The queue, oldest first."""
        return self.jobs("pending")

    def iter_pending(self) -> Iterator[Job]:
        """The queue, oldest first, each job decoded only when the caller gets to it (a runner's
        pick usually takes the first one, and a long queue must not cost every request)."""
        after = 0
        while True:
            # Pages through the (status, id) index; each page is its own short transaction.
            with self.store.transaction() as db:
                rows = db.execute("SELECT * FROM jobs WHERE status = 'pending' AND id > ?"
                                  " ORDER BY id LIMIT ?", (after, _PAGE)).fetchall()
            for row in rows:
                yield job_from_row(row)
            if len(rows) < _PAGE:
                return
            after = rows[-1]["id"]

    def runner_exists(self, runner_id: int) -> bool:
        """Whether the runner row is still there (it may be deleted while its jobs run)."""
        with self.store.transaction() as db:
            return db.execute("SELECT 1 FROM runners WHERE id = ?", (runner_id,)).fetchone() \
                is not None

    def pending_count(self) -> int:
        with self.store.transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'pending'")
                       .fetchone()[0])

    def assign(self, job_id: int, runner_id: int, manager_id: int | None,
               system_xid: str | None) -> Job | None:
        """pending → running for this runner; None when another runner won the race."""
        now = time.time()
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE jobs SET status = 'running', runner_id = ?, runner_manager_id = ?,"
                " system_xid = ?, started_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                (runner_id, manager_id, system_xid, now, now, job_id),
            )
            if cur.rowcount != 1:
                return None
            return self.job_by_id(job_id)

    def finish(self, job_id: int, status: str, *, failure_reason: str | None = None,
               exit_code: int | None = None, from_statuses: tuple[str, ...]) -> Job | None:
        """Move a job to a final status if it is in one of `from_statuses`."""
        now = time.time()
        with self.store.transaction() as db:
            marks = ", ".join("?" for _ in from_statuses)
            cur = db.execute(
                f"UPDATE jobs SET status = ?, failure_reason = ?, exit_code = ?, finished_at = ?,"
                f" updated_at = ? WHERE id = ? AND status IN ({marks})",
                (status, failure_reason, exit_code, now, now, job_id, *from_statuses),
            )
            if cur.rowcount != 1:
                return None
            job = self.job_by_id(job_id)
        assert job is not None
        for listener in self.finish_listeners:
            listener(job)
        return job

    def touch(self, job_id: int) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (time.time(), job_id))
